#include <tern/travel/agent_tools.hpp>

#include <tern/core/json.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace tern::travel {

namespace bj = boost::json;
namespace asio = boost::asio;
using tools::tool_error;
using tools::tool_error_kind;
using tools::tool_outcome;

namespace {

bj::object schema(std::string_view text) { return json::parse(text)->as_object(); }

// One HTTP exchange with the travel API, as a tool outcome.
asio::awaitable<tool_outcome> call_api(tools::http_client& client, std::string method, std::string url,
                                       std::string body, const tools::invoke_context& ctx) {
  std::vector<tools::http_header> headers;
  if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
  const bool has_key = !ctx.idempotency_key.empty() && method == "POST";
  if (has_key) headers.push_back({"Idempotency-Key", ctx.idempotency_key});
  tools::http_request req(std::move(method), std::move(url), std::move(body), std::move(headers));
  req.timeout = ctx.timeout;
  if (has_key) req.idempotent = true;  // safe to retry: the server replays the first answer
  auto res = co_await client.request(std::move(req));
  if (!res) co_return tool_error::from_error(res.error(), res.error().code() == errc::timeout ||
                                                              res.error().code() == errc::transport);
  auto doc = json::parse(res->body);
  if (res->status >= 400) {
    std::string msg = fmt::format("HTTP {}", res->status);
    if (doc && doc->is_object())
      if (const auto* e = doc->as_object().if_contains("error"); e && e->is_object())
        if (const auto* m = e->as_object().if_contains("message"); m && m->is_string())
          msg += ": " + std::string(m->get_string());
    const bool retryable = res->status == 429 || res->status >= 500;
    co_return tool_error{tool_error_kind::http_status, std::move(msg), retryable, res->status, {}};
  }
  if (!doc) co_return tool_error{tool_error_kind::bad_response, doc.error().describe(), false, 0, {}};
  co_return std::move(*doc);
}

std::string query_of(const bj::object& args, std::initializer_list<std::pair<const char*, const char*>> map) {
  std::string q;
  for (const auto& [arg, param] : map) {
    const auto* v = args.if_contains(arg);
    if (!v) continue;
    std::string text = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
    q += fmt::format("{}{}={}", q.empty() ? "?" : "&", param, tools::percent_encode(text));
  }
  return q;
}

}  // namespace

result<std::vector<tools::tool_ptr>> make_travel_tools(std::shared_ptr<tools::http_client> client,
                                                       std::string base_url) {
  std::vector<tools::tool_ptr> out;
  auto add = [&](std::string name, std::string desc, std::string_view params, auto build) -> result<void> {
    auto t = tools::make_function_tool(
        {name, std::move(desc), schema(params)},
        tools::async_tool_fn([client, base_url, build](bj::value args, const tools::invoke_context& ctx)
                                 -> asio::awaitable<tool_outcome> {
          auto [method, path, body] = build(args.as_object());
          co_return co_await call_api(*client, method, base_url + path, body, ctx);
        }));
    if (!t) return std::move(t).error().at("tool " + name);
    out.push_back(std::move(*t));
    return tern::ok();
  };
  using req = std::tuple<std::string, std::string, std::string>;
  TERN_CHECK(add("search_flights", "One-way economy flights between two airports on a date, cheapest first.",
                 R"({"type":"object","required":["from","to","date"],"properties":{
                    "from":{"type":"string","description":"IATA code, e.g. BOS"},
                    "to":{"type":"string","description":"IATA code, e.g. GIG"},
                    "date":{"type":"string","description":"YYYY-MM-DD"},
                    "passengers":{"type":"integer","minimum":1,"maximum":9},
                    "max_price":{"type":"integer","description":"per passenger, USD"},
                    "limit":{"type":"integer","minimum":1,"maximum":50}}})",
                 [](const bj::object& a) {
                   return req{"GET", "/flights" + query_of(a, {{"from", "from"}, {"to", "to"}, {"date", "date"},
                                                               {"passengers", "passengers"}, {"max_price", "max_price"},
                                                               {"limit", "limit"}}), ""};
                 }));
  TERN_CHECK(add("search_hotels", "Hotels with a free room for a stay, cheapest total first.",
                 R"({"type":"object","required":["city","check_in","check_out"],"properties":{
                    "city":{"type":"string"},"check_in":{"type":"string"},"check_out":{"type":"string"},
                    "guests":{"type":"integer","minimum":1,"maximum":16},
                    "max_price":{"type":"integer","description":"per night, USD"},
                    "limit":{"type":"integer","minimum":1,"maximum":50}}})",
                 [](const bj::object& a) {
                   return req{"GET", "/hotels" + query_of(a, {{"city", "city"}, {"check_in", "check_in"},
                                                              {"check_out", "check_out"}, {"guests", "guests"},
                                                              {"max_price", "max_price"}, {"limit", "limit"}}), ""};
                 }));
  TERN_CHECK(add("book_flight", "Books seats on a flight for the named passengers. Side effect: charges the traveller.",
                 R"({"type":"object","required":["flight_id","passengers"],"properties":{
                    "flight_id":{"type":"string"},
                    "passengers":{"type":"array","minItems":1,"maxItems":9,"items":{"type":"string"}}}})",
                 [](const bj::object& a) {
                   bj::array names;
                   for (const auto& p : a.at("passengers").as_array()) names.push_back(bj::object{{"name", p}});
                   bj::object body{{"type", "flight"}, {"flight_id", a.at("flight_id")}, {"passengers", std::move(names)}};
                   return req{"POST", "/bookings", json::serialize(body)};
                 }));
  TERN_CHECK(add("book_hotel", "Books a hotel room for a stay. Side effect: charges the traveller.",
                 R"({"type":"object","required":["hotel_id","check_in","check_out","guests","guest_name"],"properties":{
                    "hotel_id":{"type":"string"},"check_in":{"type":"string"},"check_out":{"type":"string"},
                    "guests":{"type":"integer","minimum":1,"maximum":16},"guest_name":{"type":"string"},
                    "room_type":{"type":"string"}}})",
                 [](const bj::object& a) {
                   bj::object body{{"type", "hotel"}};
                   for (const auto& kv : a) body[kv.key()] = kv.value();
                   return req{"POST", "/bookings", json::serialize(body)};
                 }));
  TERN_CHECK(add("get_booking", "The current state of a booking.",
                 R"({"type":"object","required":["booking_id"],"properties":{"booking_id":{"type":"string"}}})",
                 [](const bj::object& a) {
                   return req{"GET", "/bookings/" + tools::percent_encode(a.at("booking_id").as_string()), ""};
                 }));
  return out;
}

}  // namespace tern::travel
