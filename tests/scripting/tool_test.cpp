// tern.tool: tools written in Lua, called from Lua and from C++ (as an agent would).
#include "lua_test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using tern::test::run_lua;
namespace ts = tern::scripting;
namespace tt = tern::tools;
namespace asio = boost::asio;

namespace {
const char* tools_source = R"(
  local add = tern.tool{
    name = "add",
    description = "Adds two integers.",
    parameters = { type = "object", properties = { a = { type = "integer" }, b = { type = "integer" } },
                   required = { "a", "b" } },
    run = function(args)
      tern.sleep(0.001)   -- a tool body may wait
      return { sum = args.a + args.b }
    end,
  }
  local broken = tern.tool{
    name = "broken",
    parameters = { type = "object" },
    run = function(args)
      local booking = nil
      return booking.id   -- line 17: a Lua error inside a tool
    end,
  }
)";
}  // namespace

TEST_CASE("tools: a Lua tool is called from Lua, with schema checks and tool errors") {
  auto out = run_lua(std::string(tools_source) + R"(
    local r = add:call({ a = 2, b = 40 })
    local ok1, e1 = pcall(function() return add:call({ a = "two" }) end)
    local ok2, e2 = pcall(function() return broken:call({}) end)
    return { sum = r.sum, name = add.name, description = add.description, e1 = e1, e2 = e2,
             params = tern.json.encode(add.parameters) }
  )");
  REQUIRE(out.ok());
  const auto& j = out.json();
  CHECK(j.at("sum") == 42);
  CHECK(j.at("name") == "add");
  CHECK(j.at("description") == "Adds two integers.");
  CHECK_THAT(std::string(j.at("e1").as_string()), Catch::Contains("tool 'add' failed (invalid-arguments)"));
  CHECK_THAT(std::string(j.at("e2").as_string()), Catch::Contains("tool 'broken' failed (failed)"));
  CHECK_THAT(std::string(j.at("e2").as_string()), Catch::Contains("inline.lua:17: attempt to index a nil value"));
  CHECK(j.at("params") ==
        R"({"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"],"type":"object"})");
}

TEST_CASE("tools: C++ invokes the script's tools while the script waits, errors are tool errors") {
  asio::io_context io;
  std::shared_ptr<ts::script> self;
  std::vector<tt::tool_outcome> outcomes;
  ts::script_options opts;
  // Stands in for the agent loop: calls the Lua tools with model-made arguments.
  opts.host_functions["agent"] = [&](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    // Named arguments: GCC 12 destroys some temporaries of a co_await expression twice.
    const auto& tools = self->tools();
    REQUIRE(tools.size() == 2);
    const tt::invoke_context ctx;
    const boost::json::value good = boost::json::parse(R"({"a":20,"b":22})");
    const boost::json::value bad = boost::json::parse(R"({"a":1})");
    const boost::json::value empty = boost::json::object{};
    outcomes.push_back(co_await tools[0]->invoke(good, ctx));
    outcomes.push_back(co_await tools[0]->invoke(bad, ctx));
    outcomes.push_back(co_await tools[1]->invoke(empty, ctx));
    co_return boost::json::value(static_cast<std::int64_t>(outcomes.size()));
  };
  auto s = ts::script::from_string(io.get_executor(), std::string(tools_source) + "return tern.host.agent()",
                                   "inline.lua", opts);
  REQUIRE(s);
  self = *s;
  std::optional<tern::result<boost::json::value>> r;
  self->start([&](auto v) { r.emplace(std::move(v)); });
  io.run();
  REQUIRE(r);
  REQUIRE(r->has_value());
  CHECK(**r == 3);
  REQUIRE(outcomes.size() == 3);
  REQUIRE(outcomes[0].ok());
  CHECK(outcomes[0].value() == boost::json::parse(R"({"sum":42})"));
  REQUIRE_FALSE(outcomes[1].ok());
  CHECK(outcomes[1].error().kind == tt::tool_error_kind::invalid_arguments);
  REQUIRE_FALSE(outcomes[2].ok());
  CHECK(outcomes[2].error().kind == tt::tool_error_kind::failed);
  CHECK(outcomes[2].error().tool == "broken");
  CHECK_THAT(outcomes[2].error().message, Catch::Contains("inline.lua:17: attempt to index a nil value"));

  // The script has ended: its tools report that instead of touching a closed state.
  std::optional<tt::tool_outcome> late;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    const tt::invoke_context ctx;
    const boost::json::value args = boost::json::parse(R"({"a":1,"b":2})");
    late.emplace(co_await self->tools()[0]->invoke(args, ctx));
  }, asio::detached);
  io.restart();
  io.run();
  REQUIRE(late);
  REQUIRE_FALSE(late->ok());
  CHECK_THAT(late->error().message, Catch::Contains("has ended"));
}

TEST_CASE("tools: bad tool definitions are clear errors") {
  struct bad {
    const char* code;
    const char* expected;
  };
  const bad cases[] = {
      {"tern.tool{ parameters = {}, run = print }", "tern.tool: 'name' must be a string"},
      {"tern.tool{ name = 'x', run = print }", "'parameters' must be a table"},
      {"tern.tool{ name = 'x', parameters = {} }", "'run' must be a function"},
      {"tern.tool{ name = 'bad name!', parameters = {}, run = print }", "tern.tool 'bad name!':"},
      {"tern.tool{ name = 'x', parameters = { type = 'object', properties = { f = print } }, run = print }",
       "at /properties/f: cannot encode a function"},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    auto out = run_lua(c.code);
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.message(), Catch::Contains(c.expected));
  }
}

TEST_CASE("tools: an instruction limit hit inside a tool ends the script and fails the call") {
  asio::io_context io;
  std::shared_ptr<ts::script> self;
  std::optional<tt::tool_outcome> outcome;
  ts::script_options opts;
  opts.limits.max_instructions = 1'000'000;
  opts.host_functions["agent"] = [&](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    const tt::invoke_context ctx;
    const boost::json::value args = boost::json::object{};
    outcome.emplace(co_await self->tools()[0]->invoke(args, ctx));
    co_return boost::json::value();
  };
  auto s = ts::script::from_string(io.get_executor(), R"(
    tern.tool{ name = "spin", parameters = { type = "object" }, run = function() while true do end end }
    return tern.host.agent()
  )", "spin.lua", opts);
  REQUIRE(s);
  self = *s;
  std::optional<tern::result<boost::json::value>> r;
  self->start([&](auto v) { r.emplace(std::move(v)); });
  io.run();
  REQUIRE(r);
  REQUIRE_FALSE(r->has_value());
  CHECK_THAT(r->error().describe(), Catch::Contains("spin.lua:2: instruction limit"));
  REQUIRE(outcome);
  REQUIRE_FALSE(outcome->ok());
  CHECK_THAT(outcome->error().message, Catch::Contains("instruction limit"));
}

TEST_CASE("tools: an agent on another executor and thread can call a Lua tool") {
  asio::io_context script_io, agent_io;
  std::shared_ptr<ts::script> self;
  std::atomic<bool> agent_done{false};
  std::atomic<std::thread::id> ran_on{};
  ts::script_options opts;
  opts.host_functions["finished"] = [&](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    co_return boost::json::value(agent_done.load());
  };
  opts.host_functions["where"] = [&](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    ran_on = std::this_thread::get_id();
    co_return boost::json::value();
  };
  auto s = ts::script::from_string(script_io.get_executor(), R"(
    tern.tool{ name = "double", parameters = { type = "object" },
               run = function(args) tern.host.where() return { v = 2 * args.x } end }
    repeat tern.sleep(0.002) until tern.host.finished()
    return "script done"
  )", "threads.lua", opts);
  REQUIRE(s);
  self = *s;
  std::optional<tern::result<boost::json::value>> r;
  self->start([&](auto v) { r.emplace(std::move(v)); });
  while (self->tools().empty()) script_io.run_one();  // the tool exists before another thread looks
  std::thread script_thread([&] { script_io.run(); });
  const std::thread::id script_thread_id = script_thread.get_id();

  std::vector<tt::tool_outcome> outcomes;
  asio::co_spawn(agent_io, [&]() -> asio::awaitable<void> {
    const tt::invoke_context ctx;
    for (int x = 1; x <= 3; ++x) {
      const boost::json::value args = boost::json::object{{"x", x}};
      outcomes.push_back(co_await self->tools().at(0)->invoke(args, ctx));
    }
    agent_done = true;
  }, asio::detached);
  agent_io.run();
  script_thread.join();

  REQUIRE(outcomes.size() == 3);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(outcomes[i].ok());
    CHECK(outcomes[i].value().at("v") == 2 * (i + 1));
  }
  CHECK(ran_on.load() == script_thread_id);  // the Lua function ran on the script's thread
  REQUIRE(r);
  REQUIRE(r->has_value());
  CHECK(**r == "script done");
}
