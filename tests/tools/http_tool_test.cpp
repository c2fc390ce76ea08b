// HttpTool, ToolRegistry and OpenAPI import against a loopback JSON API.
#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>
#include <tern/tools/http_tool.hpp>
#include <tern/tools/openapi.hpp>
#include <tern/tools/tool_registry.hpp>

#include "async_test.hpp"
#include "loopback_server.hpp"

#include <catch2/catch.hpp>
#include <fixtures.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using namespace tern::tools;
using tern::test::loopback_server;
using tern::test::server_connection;
using tern::test::test_request;
using tern::test::test_response;

namespace {

bj::value parse(std::string_view text) {
  auto v = tern::json::parse(text);
  REQUIRE(v);
  return std::move(*v);
}

std::string show(const tool_outcome& o) { return tern::json::serialize(o.to_json()); }

// A small flight API; every request is recorded as "METHOD target body [auth]".
struct mini_api {
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
  loopback_server server{[log = log](server_connection& c) -> asio::awaitable<void> {
    while (auto r = co_await c.read_request()) {
      auto* auth = r->header("Authorization");
      auto* rid = r->header("X-Request-Id");
      log->push_back(r->method + " " + r->target + (r->body.empty() ? "" : " " + r->body) +
                     (auth ? " [" + *auth + "]" : "") + (rid ? " {" + *rid + "}" : ""));
      std::string path = r->target.substr(0, r->target.find('?'));
      test_response res(200, "{}");
      if (path == "/v1/flights") {
        std::string body = "[";
        for (int i = 0; i < 5; ++i)
          body += (i ? "," : "") + fmt::format(R"({{"id":"F{}","price":{}.5,"depart":"0{}:00","aircraft":"A320","seatmap":[1,2,3]}})", i, 100 + i, i);
        res.body = body + "]";
      } else if (path.rfind("/v1/flights/", 0) == 0) {
        std::string id = path.substr(12);
        if (id == "missing") res = test_response(404, R"({"error":"no such flight"})");
        else res.body = R"({"id":")" + id + R"(","price":99})";
      } else if (path == "/v1/bookings") {
        res = test_response(201, R"({"booking_id":"B1","echo":)" + r->body + "}");
      } else if (path == "/v1/invalid") {
        res.body = R"({"unterminated": )";
      } else if (path == "/v1/text") {
        res = test_response(200, "plain words", {{"Content-Type", "text/plain"}});
      } else if (path == "/v1/big") {
        std::string body = "[";
        for (int i = 0; i < 2000; ++i) body += (i ? "," : "") + fmt::format(R"({{"n":{},"pad":"{}"}})", i, std::string(40, 'x'));
        res.body = body + "]";
      } else if (path == "/v1/unavailable") {
        res = test_response(503, R"({"error":"maintenance"})");
      } else if (path == "/v1/hang") {
        co_await c.sleep(60s);
        co_return;
      } else if (path.rfind("/v1/bookings/", 0) == 0) {
        res.body = R"({"ok":true})";
      } else {
        res = test_response(404, "{}");
      }
      if (!co_await c.respond(res)) co_return;
    }
  }};
  std::string base() const { return server.url("/v1"); }
};

std::shared_ptr<http_client> make_client(asio::io_context& io) {
  http_client_options o;
  o.read_timeout = 2000ms;
  o.total_timeout = 5000ms;
  o.retry.base_delay = 5ms;
  o.retry.max_attempts = 2;
  return std::make_shared<http_client>(io.get_executor(), o);
}

}  // namespace

TEST_CASE("http tool: path, query, body, headers and auth are built from the arguments") {
  ::setenv("TERN_TEST_TOKEN", "s3cret", 1);
  auto def = parse_http_tool_def(parse(R"({
    "name": "book", "description": "Book.", "method": "post",
    "url": "http://127.0.0.1:1/v1/flights/{id}/book",
    "parameters": {"type":"object","properties":{
       "id":{"type":"string"},"cabin":{"type":"string"},"passengers":{"type":"array"},
       "currency":{"type":"string"},"rid":{"type":"string"}},"required":["id"]},
    "query": {"cur": "currency"},
    "header_args": {"X-Request-Id": "rid"},
    "headers": {"X-Client": "tern"},
    "auth": {"type": "bearer", "env": "TERN_TEST_TOKEN"}})"));
  REQUIRE(def);
  auto req = build_http_request(*def, parse(R"({"id":"a b/c","cabin":"eco","passengers":[{"name":"A"}],"currency":"€","rid":"r1"})"));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://127.0.0.1:1/v1/flights/a%20b%2Fc/book?cur=%E2%82%AC");
  CHECK(req->body == R"({"cabin":"eco","passengers":[{"name":"A"}]})");
  std::string headers;
  for (const auto& h : req->headers) headers += h.name + "=" + h.value + ";";
  CHECK(headers == "X-Request-Id=r1;Content-Type=application/json;X-Client=tern;Accept=application/json;Authorization=Bearer s3cret;");

  // GET: arguments not in the path go to the query; arrays repeat the key.
  auto get = parse_http_tool_def(parse(R"({"name":"s","url":"http://h/x","parameters":{"type":"object","properties":{
      "a":{"type":"array"},"b":{"type":"boolean"},"c":{"type":"number"}}}})"));
  REQUIRE(get);
  auto g = build_http_request(*get, parse(R"({"a":["x","y z"],"b":true,"c":2.5})"));
  REQUIRE(g);
  CHECK(g->url == "http://h/x?a=x&a=y%20z&b=true&c=2.5");
  CHECK(g->body.empty());

  // A missing credential names the variable, never a value.
  ::unsetenv("TERN_TEST_TOKEN");
  auto no_auth = build_http_request(*def, parse(R"({"id":"x"})"));
  REQUIRE_FALSE(no_auth);
  CHECK(no_auth.error().describe() == "environment variable TERN_TEST_TOKEN (credentials) is not set");
}

TEST_CASE("http tool: bad declarations are errors naming the key") {
  auto client = std::make_shared<http_client>(asio::system_executor());
  auto err = [&](std::string_view text) {
    auto t = make_http_tool(parse(text), client);
    REQUIRE_FALSE(t);
    return t.error().describe();
  };
  CHECK(err(R"({"name":"x","url":"http://h/{id}","parameters":{"type":"object","properties":{"id":{"type":"string"}}}})") ==
        "http tool 'x': path parameter '{id}' must be a required property of the schema");
  CHECK(err(R"({"name":"x","url":"http://h/a","query":{"q":"nope"}})") == "http tool 'x': 'nope' is bound but not a property of the schema");
  CHECK(err(R"({"name":"x","url":"http://h/a","query":[1]})") == "http tool 'x': /query/0: must be a string");
  CHECK(err(R"({"name":"x","url":"ftp://h/a"})") == "http tool 'x': URL 'ftp://h/a' must start with http:// or https://");
  CHECK(err(R"({"name":"x","url":"http://h/{a"})") == "http tool 'x': unclosed '{' at byte 9 of the URL");
  CHECK(err(R"({"name":"x","url":"http://h/a","auth":{"type":"magic"}})") == "http tool 'x': /auth/type: unknown auth type 'magic'");
  CHECK(err(R"({"url":"http://h/a"})") == "http tool '?': missing 'name'");
}

TEST_CASE("http tool: response projection keeps fields and caps the size") {
  auto doc = parse(R"({"data":[{"id":1,"price":{"amount":5,"cur":"EUR"},"junk":"x"},{"id":2,"price":{"amount":7}}]})");
  response_projection p;
  p.pointer = "/data";
  p.fields = {"id", "/price/amount"};
  auto r = project_response(doc, p);
  REQUIRE(r);
  CHECK(tern::json::serialize(*r) == R"([{"id":1,"price":{"amount":5}},{"id":2,"price":{"amount":7}}])");
  p.max_items = 1;
  CHECK(tern::json::serialize(*project_response(doc, p)) == R"({"items":[{"id":1,"price":{"amount":5}}],"n_items":2,"truncated":true})");
  p.pointer = "/nothing";
  auto bad = project_response(doc, p);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == tern::errc::bad_response);

  // A long string that cannot be cut by items becomes a bounded preview.
  response_projection small;
  small.max_bytes = 200;
  auto big = project_response(bj::value(bj::object{{"s", std::string(5000, 'y')}}), small);
  REQUIRE(big);
  CHECK(big->at("truncated") == true);
  CHECK(tern::json::serialize(*big).size() <= 200);
}

TEST_CASE("http tool: calls against a live API, with every failure as a structured error") {
  mini_api api;
  ::setenv("TERN_TEST_TOKEN", "tok", 1);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto client = make_client(io);
    auto decl = [&](std::string name, std::string method, std::string path, std::string extra = "") {
      return parse(R"({"name":")" + name + R"(","method":")" + method + R"(","url":")" + api.base() + path + "\"" + extra + "}");
    };
    auto flights = make_http_tool(decl("flights", "GET", "/flights", R"(,"parameters":{"type":"object","properties":{
        "from":{"type":"string","pattern":"^[A-Z]{3}$"}},"required":["from"]},
        "response":{"fields":["id","price"],"max_items":2})"), client);
    REQUIRE(flights);
    auto ok = co_await (*flights)->invoke(parse(R"({"from":"LHR"})"));
    CHECK(show(ok) == R"({"items":[{"id":"F0","price":100.5},{"id":"F1","price":101.5}],"n_items":5,"truncated":true})");

    // Invalid arguments: nothing is sent.
    std::size_t n_before = api.log->size();
    auto bad = co_await (*flights)->invoke(parse(R"({"from":"lhr"})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == tool_error_kind::invalid_arguments);
    CHECK(api.log->size() == n_before);

    auto one = make_http_tool(decl("flight", "GET", "/flights/{id}", R"(,"parameters":{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]})"), client);
    REQUIRE(one);
    auto missing = co_await (*one)->invoke(parse(R"({"id":"missing"})"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == tool_error_kind::http_status);
    CHECK(missing.error().http_status == 404);
    CHECK_FALSE(missing.error().retryable);
    CHECK(missing.error().message == R"(HTTP 404 Not Found: {"error":"no such flight"})");

    auto book = make_http_tool(decl("book", "POST", "/bookings", R"(,"parameters":{"type":"object","properties":{"flight":{"type":"string"}}},
        "auth":{"type":"bearer","env":"TERN_TEST_TOKEN"})"), client);
    REQUIRE(book);
    auto booked = co_await (*book)->invoke(parse(R"({"flight":"F1"})"));
    CHECK(show(booked) == R"({"booking_id":"B1","echo":{"flight":"F1"}})");
    CHECK(api.log->back() == R"(POST /v1/bookings {"flight":"F1"} [Bearer tok])");

    auto invalid = co_await (*make_http_tool(decl("invalid", "GET", "/invalid"), client))->invoke(bj::object{});
    REQUIRE_FALSE(invalid.ok());
    CHECK(invalid.error().kind == tool_error_kind::bad_response);
    CHECK(invalid.error().message.rfind("the response is not valid JSON: ", 0) == 0);

    auto text = co_await (*make_http_tool(decl("text", "GET", "/text"), client))->invoke(bj::object{});
    CHECK(show(text) == R"({"text":"plain words"})");

    auto big = co_await (*make_http_tool(decl("big", "GET", "/big", R"(,"response":{"max_bytes":4096})"), client))->invoke(bj::object{});
    REQUIRE(big.ok());
    CHECK(big.value().at("truncated") == true);
    CHECK(big.value().at("n_items") == 2000);
    CHECK(tern::json::serialize(big.value()).size() <= 4096);

    auto down = co_await (*make_http_tool(decl("down", "GET", "/unavailable"), client))->invoke(bj::object{});
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().kind == tool_error_kind::http_status);
    CHECK(down.error().retryable);

    tern::stopwatch sw;
    invoke_context short_deadline(300ms);
    auto hang = co_await (*make_http_tool(decl("hang", "GET", "/hang"), client))->invoke(bj::object{}, short_deadline);
    REQUIRE_FALSE(hang.ok());
    CHECK(hang.error().kind == tool_error_kind::timeout);
    CHECK(hang.error().retryable);
    CHECK(sw.elapsed_ms() < 2000);
    co_return true;
  });
}

TEST_CASE("registry: lists schemas, runs calls concurrently under a limit, bounds every call") {
  tool_registry reg(2000ms);
  auto in_flight = std::make_shared<int>(0);
  auto peak = std::make_shared<int>(0);
  auto sleeper = make_function_tool(
      {"sleep", "Sleeps ms.", parse(R"({"type":"object","properties":{"ms":{"type":"integer","minimum":0}},"required":["ms"]})").as_object()},
      [=](bj::value args, const invoke_context& ctx) -> asio::awaitable<tool_outcome> {
        *peak = std::max(*peak, ++*in_flight);
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(args.at("ms").as_int64()));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        --*in_flight;
        co_return bj::value(bj::object{{"slept", args.at("ms")}, {"id", ctx.call_id}});
      });
  REQUIRE(sleeper);
  REQUIRE(reg.add(*sleeper));
  auto again = reg.add(*sleeper);
  REQUIRE_FALSE(again);
  CHECK(again.error().describe() == "a tool named 'sleep' is already registered");
  CHECK(tern::json::serialize(reg.specs_json()) ==
        R"([{"name":"sleep","description":"Sleeps ms.","parameters":{"type":"object","properties":{"ms":{"type":"integer","minimum":0}},"required":["ms"]}}])");
  CHECK(reg.openai_tools_json().size() == 1);

  auto outcomes = tern::test::run_async([&](asio::io_context&) -> asio::awaitable<std::vector<tool_outcome>> {
    std::vector<tool_call> calls;
    for (int i = 0; i < 10; ++i) calls.emplace_back("c" + std::to_string(i), "sleep", bj::object{{"ms", 20}});
    calls.emplace_back("bad", "sleep", bj::object{{"ms", -1}});
    calls.emplace_back("unknown", "fly", bj::object{});
    calls.emplace_back("slow", "sleep", bj::object{{"ms", 5000}});
    co_return co_await reg.invoke_all(std::move(calls), 3, 300ms);
  });
  REQUIRE(outcomes.size() == 13);
  for (int i = 0; i < 10; ++i) CHECK(show(outcomes[i]) == R"({"slept":20,"id":"c)" + std::to_string(i) + R"("})");
  CHECK(*peak == 3);
  CHECK(outcomes[10].error().kind == tool_error_kind::invalid_arguments);
  CHECK(outcomes[11].error().kind == tool_error_kind::not_found);
  CHECK(outcomes[11].error().message == "no tool named 'fly' (available: sleep)");
  CHECK(outcomes[12].error().kind == tool_error_kind::timeout);
  CHECK(outcomes[12].error().message == "no result within 300 ms");
}

TEST_CASE("openapi: operations become tools with resolved schemas") {
  TERN_NEED_FIXTURE(path, "openapi/mini_travel.json");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = parse(ss.str());
  auto decls = openapi_tool_declarations(spec);
  REQUIRE(decls);
  REQUIRE(decls->size() == 4);
  const auto& search = (*decls)[0].as_object();
  CHECK(search.at("name") == "searchFlights");
  CHECK(search.at("url") == "http://127.0.0.1:9/v1/flights");
  CHECK(tern::json::serialize(search.at("parameters")) ==
        R"({"type":"object","properties":{"from":{"type":"string","pattern":"^[A-Z]{3}$"},"to":{"type":"string","pattern":"^[A-Z]{3}$"},"date":{"type":"string","format":"date"},"max_price":{"type":"number","minimum":0},"X-Request-Id":{"type":"string"}},"required":["from","to","date"]})");
  CHECK(tern::json::serialize(search.at("header_args")) == R"({"X-Request-Id":"X-Request-Id"})");
  CHECK(tern::json::serialize(search.at("response")) == R"({"fields":["id","price","depart"],"max_items":3})");
  const auto& get = (*decls)[1].as_object();
  CHECK(get.at("name") == "getFlight");
  CHECK(get.at("url") == "http://127.0.0.1:9/v1/flights/{flightId}");
  CHECK(tern::json::serialize(get.at("parameters")) ==
        R"({"type":"object","properties":{"flightId":{"type":"string","description":"The flight's id."}},"required":["flightId"]})");
  const auto& booking = (*decls)[2].as_object();
  CHECK(tern::json::serialize(booking.at("body")) == R"(["flight_id","passengers","note"])");
  CHECK(tern::json::serialize(booking.at("parameters").at("properties").at("passengers")) ==
        R"({"type":"array","minItems":1,"items":{"type":"object","properties":{"name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0}},"required":["name"]}})");
  const auto& notes = (*decls)[3].as_object();
  CHECK(notes.at("name") == "put_bookings_id_notes");
  CHECK(tern::json::serialize(notes.at("body")) == R"({"arg":"body"})");

  auto not3 = openapi_tool_declarations(parse(R"({"swagger":"2.0"})"));
  REQUIRE_FALSE(not3);
  CHECK(not3.error().code() == tern::errc::unsupported);
}

TEST_CASE("openapi: imported tools call the live API") {
  TERN_NEED_FIXTURE(path, "openapi/mini_travel.json");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = parse(ss.str());
  mini_api api;
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    openapi_options o;
    o.base_url = api.base();
    auto tools = import_openapi(spec, make_client(io), o);
    REQUIRE(tools);
    tool_registry reg;
    for (auto& t : *tools) REQUIRE(reg.add(t));

    auto s = co_await reg.invoke("searchFlights", parse(R"({"from":"LHR","to":"JFK","date":"2026-12-01","max_price":500,"X-Request-Id":"abc"})"));
    REQUIRE(s.ok());
    CHECK(s.value().at("n_items") == 5);
    CHECK(s.value().at("items").as_array().size() == 3);
    CHECK(tern::json::serialize(s.value().at("items").as_array()[0]) == R"({"id":"F0","price":100.5,"depart":"00:00"})");
    CHECK(api.log->back() == "GET /v1/flights?from=LHR&to=JFK&date=2026-12-01&max_price=500 {abc}");

    auto bad = co_await reg.invoke("searchFlights", parse(R"({"from":"LHR","to":"jfk"})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == tool_error_kind::invalid_arguments);
    CHECK(bad.error().message == "arguments: (root): missing required property 'date'; /to: must match the pattern \"^[A-Z]{3}$\"");

    auto g = co_await reg.invoke("getFlight", parse(R"({"flightId":"F 9"})"));
    CHECK(show(g) == R"({"id":"F%209","price":99})");  // the test server echoes the raw path
    CHECK(api.log->back() == "GET /v1/flights/F%209");

    auto b = co_await reg.invoke("createBooking", parse(R"({"flight_id":"F1","passengers":[{"name":"Ann","age":30}],"note":null})"));
    CHECK(show(b) == R"({"booking_id":"B1","echo":{"flight_id":"F1","passengers":[{"name":"Ann","age":30}],"note":null}})");
    auto nobody = co_await reg.invoke("createBooking", parse(R"({"flight_id":"F1","passengers":[]})"));
    REQUIRE_FALSE(nobody.ok());
    CHECK(nobody.error().message == "arguments: /passengers: must have at least 1 items");

    auto n = co_await reg.invoke("put_bookings_id_notes", parse(R"({"id":7,"body":["window seat"]})"));
    CHECK(show(n) == R"({"ok":true})");
    CHECK(api.log->back() == R"(PUT /v1/bookings/7/notes ["window seat"])");
    co_return true;
  });
}
