// tern.http_tool, tern.openapi, tern.mcp and tern.model{openai=...} from Lua, against
// real servers on loopback: the travel API, a small MCP server and a fake
// OpenAI-compatible server (the shared loopback_server).
#include "../agent/travel_env.hpp"
#include "loopback_server.hpp"
#include "lua_test_support.hpp"
#include "mcp_test_server.hpp"

#include <tern/scripting/script.hpp>

#include <atomic>
#include <fstream>

using namespace tern;
using namespace tern::test;
namespace ts = tern::scripting;

namespace {

result<bj::value> run_with_env(travel_env& env, const std::string& source, const std::string& name = "inline.lua",
                               std::optional<std::filesystem::path> file = std::nullopt) {
  ts::script_options opts;
  opts.args = {env.base};
  auto s = file ? ts::script::from_file(env.io.get_executor(), *file, opts)
                : ts::script::from_string(env.io.get_executor(), source, name, opts);
  REQUIRE(s);
  std::optional<result<bj::value>> out;
  env.drive([&]() -> asio::awaitable<void> {
    auto op = (*s)->run();
    result<bj::value> r = co_await std::move(op);
    out.emplace(std::move(r));
  });
  REQUIRE(out);
  return std::move(*out);
}

std::string str(const bj::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("lua http_tool: declared as data, called from Lua against the travel API") {
  travel_env env;
  auto r = run_with_env(env, R"(
    local api = tern.args[1]
    local search = tern.http_tool{
      name = "search_flights", description = "Flights, cheapest first.", method = "GET", url = api .. "/flights",
      parameters = { type = "object", required = { "from", "to", "date" }, properties = {
        from = { type = "string" }, to = { type = "string" }, date = { type = "string" },
        passengers = { type = "integer", minimum = 1 } } },
      response = { pointer = "/flights", fields = { "id", "price" }, max_items = 2 },
    }
    local get_flight = tern.http_tool{
      name = "get_flight", url = api .. "/flights/{flight_id}",
      parameters = { type = "object", required = { "flight_id" }, properties = { flight_id = { type = "string" } } },
    }
    local found = search:call{ from = "BOS", to = "GIG", date = "2027-03-10", passengers = 2 }
    local one = get_flight:call{ flight_id = found.items[1].id }
    local ok1, e1 = pcall(get_flight.call, get_flight, { flight_id = "FL-NOPE" })
    local ok2, e2 = pcall(search.call, search, { from = "BOS" })
    local ok3, e3 = pcall(tern.http_tool, { name = "bad", url = api .. "/flights/{id}", parameters = { type = "object" } })
    return { n = #found.items, total = found.n_items, first = found.items[1], one = one.id, e1 = e1, e2 = e2, e3 = e3,
             name = search.name, params = search.parameters.required }
  )");
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  CHECK(r->at("n") == 2);
  CHECK(r->at("total").as_int64() > 2);
  CHECK(r->at("first").as_object().size() == 2);  // projected to id and price
  CHECK(r->at("one") == r->at("first").at("id"));
  CHECK_THAT(str(r->at("e1")), Catch::Contains("tool 'get_flight' failed (http-status)"));
  CHECK_THAT(str(r->at("e2")), Catch::Contains("(invalid-arguments)"));
  CHECK_THAT(str(r->at("e3")), Catch::Contains("tern.http_tool"));
  CHECK_THAT(str(r->at("e3")), Catch::Contains("id"));
  CHECK(r->at("name") == "search_flights");
  CHECK(r->at("params") == bj::array{"from", "to", "date"});
}

TEST_CASE("lua openapi: tools from the travel API's /openapi.json, and from a file in the script's folder") {
  travel_env env;
  SECTION("over HTTP") {
    auto r = run_with_env(env, R"(
      local api = tern.openapi(tern.args[1] .. "/openapi.json")
      local only = tern.openapi(tern.args[1] .. "/openapi.json", { operations = { "getFlight" } })
      local names = {}
      for i, t in ipairs(api) do names[i] = t.name end
      local found = api.searchFlights:call{ from = "BOS", to = "GIG", date = "2027-03-10" }
      local ok, err = pcall(tern.openapi, tern.args[1] .. "/no-such-document")
      return { names = names, n_only = #only, first = found.flights[1].id, err = err }
    )");
    INFO((r ? std::string() : r.error().describe()));
    REQUIRE(r);
    const auto& names = r->at("names").as_array();
    CHECK(std::find(names.begin(), names.end(), bj::value("searchFlights")) != names.end());
    CHECK(std::find(names.begin(), names.end(), bj::value("createBooking")) != names.end());
    CHECK(r->at("n_only") == 1);
    CHECK(r->at("first").is_string());
    CHECK_THAT(str(r->at("err")), Catch::Contains("HTTP 404"));
  }
  SECTION("from a file, sandboxed to the script's folder") {
    // The document as the server serves it, saved beside a script.
    std::string doc;
    env.drive([&]() -> asio::awaitable<void> {
      tools::http_request req("GET", env.base + "/openapi.json");
      auto res = co_await env.client->request(std::move(req));
      REQUIRE(res);
      doc = res->body;
    });
    const auto dir = temp_path("lua-openapi", "");
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "travel.json") << doc;
    std::ofstream(dir / "flow.lua") << R"(
      local api = tern.openapi("travel.json", { base_url = tern.args[1] })
      local b = api.getFlight:call{ flight_id = api.searchFlights:call{ from = "BOS", to = "GIG", date = "2027-03-10" }.flights[1].id }
      local ok, err = pcall(tern.openapi, "/etc/passwd")
      return { id = b.id, err = err }
    )";
    auto r = run_with_env(env, "", "", dir / "flow.lua");
    std::filesystem::remove_all(dir);
    INFO((r ? std::string() : r.error().describe()));
    REQUIRE(r);
    CHECK(r->at("id").is_string());
    CHECK_THAT(str(r->at("err")), Catch::Contains("the sandbox reads OpenAPI files only from the script's folder"));
  }
}


TEST_CASE("lua mcp: an MCP server's tools, called from Lua and by a Lua agent") {
  mcp_test_server mcp;
  std::atomic<int>& n_calls = mcp.n_calls;
  auto out = run_lua(fmt::format(R"(
    local tools = tern.mcp("{}", {{ prefix = "srv_", timeout = 5 }})
    local direct = tools.srv_weather:call{{ city = "Lisbon" }}
    local ok, err = pcall(tools.srv_fail.call, tools.srv_fail, {{}})
    local r = tern.agent{{
      model = tern.model{{ script = {{
        {{ calls = {{ {{ id = "w", name = "srv_weather", arguments = {{ city = "Porto" }} }} }} }},
        function(req) return {{ answer = "It is " .. req.results.w.sky .. " in " .. req.results.w.city }} end }} }},
      tools = tools,
    }}:run("weather in Porto?")
    local bad_ok, bad = pcall(tern.mcp, "not a url")
    return {{ n = #tools, first = tools[1].name, direct = direct, err = err, answer = r.answer, bad = bad }}
  )", mcp.url()));
  INFO(out.message());
  REQUIRE(out.ok());
  const auto& j = out.json();
  CHECK(j.at("n") == 2);
  CHECK(j.at("first") == "srv_weather");
  CHECK(j.at("direct").at("sky") == "sunny");
  CHECK(j.at("direct").at("city") == "Lisbon");
  CHECK_THAT(str(j.at("err")), Catch::Contains("the sensor is broken"));
  CHECK(j.at("answer") == "It is sunny in Porto");
  CHECK_THAT(str(j.at("bad")), Catch::Contains("http:// or https://"));
  CHECK(n_calls == 3);
}

TEST_CASE("lua openai model: an agent on an OpenAI-compatible server") {
  std::atomic<int> n_requests{0};
  std::string last_body;
  std::mutex mu;
  loopback_server server(loopback_server::serve([&](const test_request& r) {
    ++n_requests;
    {
      std::lock_guard lock(mu);
      last_body = r.body;
    }
    auto req = json::parse(r.body);
    if (!req || r.target != "/v1/chat/completions") return test_response(404, R"({"error":{"message":"no"}})");
    const auto& msgs = req->at("messages").as_array();
    bj::object message{{"role", "assistant"}, {"content", ""}};
    std::string finish = "stop";
    if (msgs.back().at("role") == "tool") {
      message["content"] = "The sum is " + std::string(msgs.back().at("content").as_string());
    } else {
      message["tool_calls"] = bj::array{bj::object{
          {"id", "c1"}, {"type", "function"},
          {"function", bj::object{{"name", "add"}, {"arguments", R"({"a":2,"b":40})"}}}}};
      finish = "tool_calls";
    }
    bj::object body{{"id", "x"}, {"object", "chat.completion"}, {"model", req->at("model")},
                    {"choices", bj::array{bj::object{{"index", 0}, {"message", message}, {"finish_reason", finish}}}},
                    {"usage", bj::object{{"prompt_tokens", 12}, {"completion_tokens", 3}, {"total_tokens", 15}}}};
    return test_response(200, json::serialize(body));
  }));
  auto out = run_lua(fmt::format(R"(
    local add = tern.tool{{ name = "add", parameters = {{ type = "object", properties = {{ a = {{ type = "integer" }}, b = {{ type = "integer" }} }} }},
                           run = function(args) return args.a + args.b end }}
    local m = tern.model{{ openai = "{}", model = "fake-model", stream = false, timeout = 10 }}
    local r = tern.agent{{ model = m, tools = {{ add }}, instructions = "You add." }}:run("2 + 40?")
    return {{ name = m.name, answer = r.answer, prompt = r.usage.prompt_tokens, calls = #r.tool_calls }}
  )", server.url("")));
  INFO(out.message());
  REQUIRE(out.ok());
  const auto& j = out.json();
  CHECK(j.at("name") == "openai:fake-model");
  CHECK(j.at("answer") == "The sum is 42");
  CHECK(j.at("prompt") == 24);
  CHECK(j.at("calls") == 1);
  CHECK(n_requests == 2);
  std::lock_guard lock(mu);
  auto body = json::parse(last_body);
  REQUIRE(body);
  CHECK(body->at("model") == "fake-model");
  CHECK(body->at("tools").as_array().size() == 1);
}
