// tern.model and tern.agent: Lua scripts that define tools, models and agents and
// run them against the real travel API (in-process, loopback, bookings in a
// temporary SQLite file); C++ checks what the API stored.
#include "../agent/travel_env.hpp"
#include "fixtures.hpp"
#include "lua_test_support.hpp"

#include <tern/core/clock.hpp>
#include <tern/scripting/script.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

using namespace tern;
using namespace tern::test;
namespace ts = tern::scripting;

namespace {

// Runs a script on the travel env's io_context until it ends.
result<bj::value> run_on(travel_env& env, std::shared_ptr<ts::script> s) {
  std::optional<result<bj::value>> out;
  env.drive([&]() -> asio::awaitable<void> {
    auto op = s->run();
    result<bj::value> r = co_await std::move(op);
    out.emplace(std::move(r));
  });
  REQUIRE(out);
  return std::move(*out);
}

result<bj::value> run_source(travel_env& env, const std::string& source, ts::script_options opts = {}) {
  opts.args = {env.base};
  auto s = ts::script::from_string(env.io.get_executor(), source, "inline.lua", std::move(opts));
  REQUIRE(s);
  return run_on(env, *s);
}

const bj::object& call_record(const bj::value& run, std::string_view id) {
  for (const auto& c : run.at("tool_calls").as_array())
    if (c.at("call_id").as_string() == id) return c.as_object();
  FAIL("no call " << id);
  static bj::object none;
  return none;
}

const char* add_tool_source = R"(
  local add = tern.tool{
    name = "add", description = "Adds two integers.",
    parameters = { type = "object", properties = { a = { type = "integer" }, b = { type = "integer" } },
                   required = { "a", "b" } },
    run = function(args) return { sum = args.a + args.b } end,
  }
)";

}  // namespace

TEST_CASE("lua agent: the travel booking from a Lua script, checked in the travel API's store") {
  travel_env env;
  ts::script_options opts;
  opts.args = {env.base};
  auto s = ts::script::from_file(env.io.get_executor(), source_dir() / "examples/lua/travel_agent.lua", opts);
  REQUIRE(s);
  auto r = run_on(env, *s);
  INFO((r ? std::string() : r.error().describe()) << "\n" << (*s)->traceback());
  REQUIRE(r);
  const auto& out = r->as_object();
  CHECK(out.at("stop_reason") == "answered");
  CHECK(out.at("steps") == 5);
  CHECK(out.at("tool_calls") == 9);
  CHECK_THAT(std::string(out.at("answer").as_string()), Catch::Contains("within the 3000 USD budget"));
  CHECK(out.at("bookings").as_array().size() == 3);
  const std::int64_t total = out.at("total").as_int64();
  CHECK(total > 0);
  CHECK(total <= 3000);

  // What the API stored: two flight bookings of two seats each and one hotel stay.
  CHECK(env.count_bookings("flight") == 2);
  CHECK(env.count_bookings("hotel") == 1);
  for (const auto& d : env.booking_details()) {
    if (d.at("type") == "flight") CHECK(d.at("passengers").as_array().size() == 2);
    if (d.at("type") == "hotel") CHECK(d.at("guest_name") == "Ana Silva");
  }
}

TEST_CASE("lua agent: approve rejects, edits, and fails closed on a Lua error") {
  travel_env env;
  auto r = run_source(env, R"(
    local api = tern.openapi(tern.args[1] .. "/openapi.json")
    local model = tern.model{ script = {
      { calls = { { id = "s", name = "searchFlights",
                    arguments = { from = "BOS", to = "GIG", date = "2027-03-10", passengers = 2 } } } },
      function(req)
        local f = req.results.s.flights[1].id
        local pax = { { name = "Ana Silva" }, { name = "Bruno Costa" } }
        local calls = {}
        for _, id in ipairs({ "b1", "b2", "b3" }) do
          calls[#calls + 1] = { id = id, name = "createBooking", arguments = { type = "flight", flight_id = f, passengers = pax } }
        end
        return { calls = calls }
      end,
      function(req) return { answer = tern.json.encode({ b1 = req.results.b1, b3 = req.results.b3 }) } end,
    } }
    local seen = {}
    local agent = tern.agent{
      model = model, tools = api,
      policies = { createBooking = { side_effecting = true } },
      approve = function(call)
        seen[#seen + 1] = call.id .. ":" .. call.name .. ":" .. #call.arguments.passengers
        if call.id == "b1" then return false, "over budget" end
        if call.id == "b2" then
          local args = call.arguments
          args.passengers = { args.passengers[1] }
          return args
        end
        local booking = nil
        return booking.ok   -- line 30: a Lua error rejects the call
      end,
    }
    local r = agent:run("Book flights")
    table.sort(seen)
    return { run = r, seen = seen }
  )");
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  const auto& run = r->at("run");
  CHECK(run.at("stop_reason") == "answered");
  CHECK(r->at("seen") == bj::array{"b1:createBooking:2", "b2:createBooking:2", "b3:createBooking:2"});

  const auto& b1 = call_record(run, "b1");
  CHECK(b1.at("approval") == "rejected");
  CHECK(b1.at("ok") == false);
  CHECK_THAT(std::string(b1.at("error").at("message").as_string()), Catch::Contains("over budget"));
  const auto& b2 = call_record(run, "b2");
  CHECK(b2.at("approval") == "edited");
  CHECK(b2.at("ok") == true);
  CHECK(b2.at("arguments").at("passengers").as_array().size() == 1);
  CHECK(b2.at("original_arguments").at("passengers").as_array().size() == 2);
  const auto& b3 = call_record(run, "b3");
  CHECK(b3.at("approval") == "rejected");
  const std::string b3_msg(b3.at("error").at("message").as_string());
  CHECK_THAT(b3_msg, Catch::Contains("the approve function failed"));
  CHECK_THAT(b3_msg, Catch::Contains("inline.lua:30: attempt to index a nil value"));
  // The model was told why.
  const std::string answer(run.at("answer").as_string());
  CHECK_THAT(answer, Catch::Contains("over budget"));
  CHECK_THAT(answer, Catch::Contains("rejected"));

  // Only the edited call booked anything: one flight, one passenger.
  CHECK(env.count_bookings("flight") == 1);
  auto details = env.booking_details();
  REQUIRE(details.size() == 1);
  CHECK(details[0].at("passengers").as_array().size() == 1);
}

TEST_CASE("lua agent: on_event sees typed events; an on_event error stops the run and agent:run raises it") {
  travel_env env;
  auto r = run_source(env, std::string(add_tool_source) + R"(
    local types, finished = {}, nil
    local a = tern.agent{
      model = tern.model{ script = { { calls = { { name = "add", arguments = { a = 1, b = 2 } } } }, { answer = "3" } } },
      tools = { add },
      on_event = function(ev)
        types[#types + 1] = ev.type
        assert(type(ev.run_id) == "string" and type(ev.step) == "number" and type(ev.t_ms) == "number")
        if ev.type == "tool_call_finished" then finished = ev end
      end,
    }
    local r = a:run("add 1 and 2")
    local bad = tern.agent{
      model = tern.model{ script = { { calls = { { name = "add", arguments = { a = 1, b = 2 } } } }, { answer = "never" } } },
      tools = { add },
      on_event = function(ev) if ev.type == "tool_call_started" then error("stop here") end end,
    }
    local ok, err = pcall(bad.run, bad, "add again")
    return { answer = r.answer, types = types, finished = finished, ok = ok, err = err }
  )");
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  CHECK(r->at("answer") == "3");
  const auto& types = r->at("types").as_array();
  REQUIRE(types.size() >= 5);
  CHECK(types.front() == "run_started");
  CHECK(types.back() == "run_finished");
  CHECK(std::count(types.begin(), types.end(), bj::value("tool_call_finished")) == 1);
  CHECK(r->at("finished").at("tool") == "add");
  CHECK(r->at("finished").at("ok") == true);
  CHECK(r->at("finished").at("result").at("sum") == 3);
  CHECK(r->at("ok") == false);
  const std::string err(r->at("err").as_string());
  CHECK_THAT(err, Catch::Contains("agent:run: on_event failed"));
  CHECK_THAT(err, Catch::Contains("inline.lua:23: stop here"));
}

TEST_CASE("lua agent: a C++ agent calls the script's Lua tools; a Lua error is a tool error it sees") {
  travel_env env;
  std::shared_ptr<ts::script> self;
  agent::run_result run;
  ts::script_options opts;
  opts.host_functions["run_agent"] = [&](bj::value) -> asio::awaitable<result<bj::value>> {
    auto model = std::make_shared<agent::scripted_model>(std::vector<agent::scripted_model::turn>{
        agent::scripted_model::turn::calls({call("ok", "add", {{"a", 2}, {"b", 40}}), call("bad", "broken", {})}),
        agent::scripted_model::turn::react([](const agent::model_request& req) -> result<agent::model_response> {
          return agent::scripted_model::answer(json::serialize(tool_result_in(req, "bad")));
        })});
    agent::agent a(model, self->tools(), {});
    run = co_await a.run("use the Lua tools");
    co_return bj::value(static_cast<std::int64_t>(run.tool_calls.size()));
  };
  auto s = ts::script::from_string(env.io.get_executor(), std::string(add_tool_source) + R"(
    tern.tool{ name = "broken", parameters = { type = "object" },
               run = function(args) local t = nil return t.x end }   -- line 10
    return tern.host.run_agent()
  )", "tools.lua", opts);
  REQUIRE(s);
  self = *s;
  auto r = run_on(env, self);
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  CHECK(*r == 2);
  REQUIRE(run.reason == agent::stop_reason::answered);
  REQUIRE(run.tool_calls.size() == 2);
  CHECK(run.tool_calls[0].ok);
  CHECK(run.tool_calls[0].result.at("sum") == 42);
  CHECK_FALSE(run.tool_calls[1].ok);
  REQUIRE(run.tool_calls[1].error);
  CHECK(run.tool_calls[1].error->kind == tools::tool_error_kind::failed);
  CHECK_THAT(run.tool_calls[1].error->message, Catch::Contains("tools.lua:10: attempt to index a nil value"));
  // The model saw it as a structured observation.
  auto seen = json::parse(run.answer);
  REQUIRE(seen);
  CHECK(seen->at("error").at("kind") == "failed");
}

TEST_CASE("lua model: bad turns and failing turn functions are clear errors") {
  SECTION("a malformed turn is refused when the model is made") {
    auto out = run_lua(R"(
      local ok, e1 = pcall(tern.model, { script = { { answer = "x" }, { calls = { { arguments = {} } } } } })
      local ok2, e2 = pcall(tern.model, { script = { { answr = "typo" } } })
      local ok3, e3 = pcall(tern.model, { script = {}, openai = "http://x" })
      local ok4, e4 = pcall(tern.model, { path = "model.gguf" })
      local ok5, e5 = pcall(tern.model, { openai = "ftp://x" })
      return { e1, e2, e3, e4, e5 }
    )");
    REQUIRE(out.ok());
    const auto& e = out.json().as_array();
    CHECK_THAT(std::string(e[0].as_string()), Catch::Contains("tern.model script[2].calls[1]"));
    CHECK_THAT(std::string(e[0].as_string()), Catch::Contains("'name' (the tool) is required"));
    CHECK_THAT(std::string(e[1].as_string()), Catch::Contains("unknown key 'answr'"));
    CHECK_THAT(std::string(e[2].as_string()), Catch::Contains("exactly one of"));
    // Until agent::local_model lands the binding says so; after, the file is missing.
    CHECK_THAT(std::string(e[3].as_string()),
               Catch::Contains("not available in this build") || Catch::Contains("model.gguf"));
    CHECK_THAT(std::string(e[4].as_string()), Catch::Contains("http:// or https://"));
  }
  SECTION("a Lua error in a turn function stops the run with model_error and file:line") {
    auto out = run_lua(std::string(add_tool_source) + R"(
      local m = tern.model{ script = {
        { calls = { { name = "add", arguments = { a = 1, b = 1 } } } },
        function(req) error("no idea what to do") end,       -- line 11
      } }
      local r = tern.agent{ model = m, tools = { add } }:run("x")
      local r2 = tern.agent{ model = tern.model{ script = { function() return { answer = 42 } end } } }:run("y")
      local r3 = tern.agent{ model = tern.model{ script = { { answer = "once" } } } }
      local first, second = r3:run("a"), r3:run("b")
      return { r.stop_reason, r.error, r2.error, first.answer, second.stop_reason, second.error }
    )");
    REQUIRE(out.ok());
    const auto& e = out.json().as_array();
    CHECK(e[0] == "model_error");
    CHECK_THAT(std::string(e[1].as_string()), Catch::Contains("inline.lua:11: no idea what to do"));
    CHECK_THAT(std::string(e[2].as_string()), Catch::Contains("tern.model script[1] returned.answer: must be a string"));
    CHECK(e[3] == "once");
    CHECK(e[4] == "model_error");
    CHECK_THAT(std::string(e[5].as_string()), Catch::Contains("script exhausted"));
  }
  SECTION("a turn function cannot wait") {
    auto out = run_lua(R"(
      local r = tern.agent{ model = tern.model{ script = { function() tern.sleep(0.01) return { answer = "x" } end } } }:run("z")
      return r.error
    )");
    REQUIRE(out.ok());
    CHECK_THAT(std::string(out.json().as_string()), Catch::Contains("cannot wait here"));
  }
}

TEST_CASE("lua agent: settings are checked; budgets, per-tool limits and plan mode apply") {
  SECTION("bad settings") {
    auto out = run_lua(std::string(add_tool_source) + R"(
      local m = tern.model{ script = { { answer = "x" } } }
      local errors = {}
      for _, t in ipairs({ { tools = { add } }, { model = m, tools = { add, 42 } }, { model = m, budjet = {} },
                           { model = m, budget = { steps = -1 } }, { model = m, mode = "dream" },
                           { model = m, approve = "yes" }, { model = m, tools = { add }, policies = { add = { side_effecting = 1 } } },
                           { model = m, tools = { add }, policies = { ad = { side_effecting = true } } },
                           { model = m, tools = { add, add } } }) do
        local ok, err = pcall(tern.agent, t)
        errors[#errors + 1] = ok and "accepted" or err
      end
      return errors
    )");
    REQUIRE(out.ok());
    const auto& e = out.json().as_array();
    REQUIRE(e.size() == 9);
    CHECK_THAT(std::string(e[0].as_string()), Catch::Contains("'model' must be a tern.model"));
    CHECK_THAT(std::string(e[1].as_string()), Catch::Contains("tools[2] is a number, not a tool"));
    CHECK_THAT(std::string(e[2].as_string()), Catch::Contains("unknown key 'budjet'"));
    CHECK_THAT(std::string(e[3].as_string()), Catch::Contains("tern.agent.budget.steps: must be a non-negative number"));
    CHECK_THAT(std::string(e[4].as_string()), Catch::Contains("tern.agent.mode"));
    CHECK_THAT(std::string(e[5].as_string()), Catch::Contains("'approve' must be a function"));
    CHECK_THAT(std::string(e[6].as_string()), Catch::Contains("side_effecting: must be a boolean"));
    CHECK_THAT(std::string(e[7].as_string()), Catch::Contains("tern.agent.policies.ad: the agent has no tool of that name"));
    CHECK_THAT(std::string(e[8].as_string()), Catch::Contains("two tools are named 'add'"));
  }
  SECTION("budgets stop runs") {
    auto out = run_lua(std::string(add_tool_source) + R"(
      local function looping()
        local turns = {}
        for i = 1, 5 do turns[i] = { calls = { { name = "add", arguments = { a = i, b = i } } } } end
        return tern.model{ script = turns }
      end
      local steps = tern.agent{ model = looping(), tools = { add }, budget = { steps = 2 } }:run("x")
      local per = tern.agent{ model = looping(), tools = { add }, budget = { per_tool = { add = 1 } } }:run("x")
      return { steps.stop_reason, #steps.steps, per.stop_reason }
    )");
    REQUIRE(out.ok());
    CHECK(out.json() == bj::array{"max_steps", 2, "tool_call_limit"});
  }
  SECTION("plan mode") {
    auto out = run_lua(std::string(add_tool_source) + R"(
      local plan = tern.json.encode({ steps = { { description = "add the numbers", tool = "add" },
                                                { description = "answer" } } })
      local r = tern.agent{
        model = tern.model{ script = { { answer = plan },
                                       { calls = { { name = "add", arguments = { a = 2, b = 3 } } } },
                                       { answer = "5" } } },
        tools = { add }, mode = "plan",
      }:run("add 2 and 3")
      return { r.stop_reason, r.answer, #r.plan.steps, r.plan.steps[1].status }
    )");
    INFO(out.message());
    REQUIRE(out.ok());
    CHECK(out.json() == bj::array{"answered", "5", 2, "done"});
  }
}

TEST_CASE("lua agent: three agent runs in one script run concurrently") {
  auto out = run_lua(std::string(add_tool_source) + R"(
    local function agent_with_delay(seconds)
      return tern.agent{ model = tern.model{ script = {
        { calls = { { name = "add", arguments = { a = 1, b = 2 } } }, delay = seconds },
        { answer = "done", delay = seconds } } }, tools = { add } }
    end
    local t0 = tern.now()
    local r = tern.parallel(function() return agent_with_delay(0.3):run("a").answer end,
                            function() return agent_with_delay(0.3):run("b").answer end,
                            function() return agent_with_delay(0.3):run("c").answer end)
    return { r[1], r[2], r[3], tern.now() - t0 }
  )");
  INFO(out.message());
  REQUIRE(out.ok());
  const auto& a = out.json().as_array();
  CHECK(a[0] == "done");
  CHECK(a[1] == "done");
  CHECK(a[2] == "done");
  const double seconds = a[3].to_number<double>();
  CHECK(seconds >= 0.59);
  CHECK(seconds < 1.2);  // the sum would be 1.8 s; the slowest alone is 0.6 s
}

TEST_CASE("lua agent: approve may wait; cancelling the script stops a run in flight") {
  SECTION("approve waits on a timer") {
    auto out = run_lua(std::string(add_tool_source) + R"(
      local r = tern.agent{
        model = tern.model{ script = { { calls = { { name = "add", arguments = { a = 1, b = 2 } } } }, { answer = "ok" } } },
        tools = { add }, policies = { add = { side_effecting = true } },
        approve = function(call) tern.sleep(0.02) return true end,
      }:run("x")
      return { r.stop_reason, r.tool_calls[1].approval, r.tool_calls[1].result.sum }
    )");
    INFO(out.message());
    REQUIRE(out.ok());
    CHECK(out.json() == bj::array{"answered", "approved", 3});
  }
  SECTION("cancel") {
    asio::io_context io;
    auto s = ts::script::from_string(io.get_executor(), R"(
      local m = tern.model{ script = { { answer = "too late", delay = 30 } } }
      return tern.agent{ model = m }:run("wait")
    )", "slow.lua");
    REQUIRE(s);
    std::optional<result<bj::value>> out;
    (*s)->start([&](result<bj::value> r) { out.emplace(std::move(r)); });
    asio::steady_timer t(io, std::chrono::milliseconds(50));
    t.async_wait([&](boost::system::error_code) { (*s)->cancel(); });
    const auto t0 = now_ns();
    io.run();
    REQUIRE(out);
    CHECK_FALSE(*out);
    CHECK(out->error().code() == errc::cancelled);
    CHECK((now_ns() - t0) / 1e9 < 5.0);  // not the model's 30 s
  }
}

TEST_CASE("lua agent: a limit hit inside a callback ends the script cleanly") {
  ts::script_options opts;
  opts.limits.max_instructions = 2'000'000;
  opts.limits.max_memory_bytes = 32u << 20;
  SECTION("an endless on_event") {
    auto out = run_lua(R"(
      local a = tern.agent{ model = tern.model{ script = { { answer = "x" } } },
                            on_event = function(ev) while true do end end }
      return a:run("loop")
    )", opts);
    REQUIRE(out.value);
    REQUIRE_FALSE(out.ok());
    CHECK(out.code() == errc::limit_exceeded);
    CHECK_THAT(out.message(), Catch::Contains("instruction limit of 2000000 exceeded"));
  }
  SECTION("a memory bomb in a turn function") {
    auto out = run_lua(R"(
      local m = tern.model{ script = { function(req)
        local t = {}
        while true do t[#t + 1] = string.rep("x", 4096) .. #t end
      end } }
      local r = tern.agent{ model = m }:run("bomb")
      return r.stop_reason
    )", opts);
    REQUIRE(out.value);
    REQUIRE_FALSE(out.ok());
    CHECK(out.code() == errc::limit_exceeded);
    CHECK_THAT(out.message(), Catch::Contains("memory limit"));
  }
}

TEST_CASE("lua model: model:complete runs one model turn without an agent") {
  auto out = run_lua(std::string(add_tool_source) + R"(
    local m = tern.model{ script = {
      { answer = "hello", usage = { prompt_tokens = 7, completion_tokens = 1 } },
      { calls = { { id = "c", name = "add", arguments = { a = 1, b = 2 } } } } } }
    local r1 = m:complete{ system = "Be brief.", prompt = "Say hello", temperature = 0 }
    local r2 = m:complete{ messages = { { role = "user", content = "add 1 and 2" } }, tools = { add } }
    local ok1, e1 = pcall(m.complete, m, { promt = "typo" })
    local ok2, e2 = pcall(m.complete, m, { prompt = "again" })
    return { r1.content, r1.finish_reason, r1.usage.prompt_tokens, #r1.tool_calls,
             r2.tool_calls[1].name, r2.tool_calls[1].arguments.b, e1, e2 }
  )");
  INFO(out.message());
  REQUIRE(out.ok());
  const auto& a = out.json().as_array();
  CHECK(a[0] == "hello");
  CHECK(a[1] == "stop");
  CHECK(a[2] == 7);
  CHECK(a[3] == 0);
  CHECK(a[4] == "add");
  CHECK(a[5] == 2);
  CHECK_THAT(std::string(a[6].as_string()), Catch::Contains("unknown key 'promt'"));
  CHECK_THAT(std::string(a[7].as_string()), Catch::Contains("model:complete: ") );
  CHECK_THAT(std::string(a[7].as_string()), Catch::Contains("script exhausted"));
}

TEST_CASE("lua model: a local GGUF model (path =) answers model:complete and agent runs") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(template_path, "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  std::ifstream in(template_path);
  const std::string chat_template((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ts::script_options opts;
  opts.args = {model_path.string(), chat_template};
  auto out = run_lua(R"(
    local ok, missing = pcall(tern.model, { path = "/nonexistent/model.gguf" })
    local m = tern.model{ path = tern.args[1], chat_template = tern.args[2], threads = 1, context = 256,
                          max_tokens = 6, name = "stories" }
    local r = m:complete{ prompt = "Once upon a time", max_tokens = 5 }
    local run = tern.agent{ model = m, instructions = "Tell a story.", generation = { max_tokens = 6 } }:run("Once upon a time")
    return { ok = ok, missing = missing, name = m.name, ctx = m.context_length, content = r.content,
             completion = r.usage.completion_tokens, stop = run.stop_reason, answer = run.answer,
             run_tokens = run.usage.completion_tokens }
  )", opts);
  INFO(out.message());
  REQUIRE(out.ok());
  const auto& j = out.json();
  CHECK(j.at("ok") == false);
  CHECK_THAT(std::string(j.at("missing").as_string()), Catch::Contains("/nonexistent/model.gguf"));
  CHECK(j.at("name") == "stories");
  CHECK(j.at("ctx") == 256);
  CHECK(j.at("content").is_string());
  CHECK(j.at("completion").as_int64() >= 1);
  CHECK(j.at("completion").as_int64() <= 5);
  CHECK(j.at("stop") == "answered");
  CHECK(j.at("run_tokens").as_int64() <= 6);
}
