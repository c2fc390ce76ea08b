// Cost of the Lua <-> C++ async bridge.
//
// await_round_trip: a script calls tern.host.nop() in a loop; nop is a C++ coroutine
// that completes at once. One call = Lua -> C function -> co_spawn on the io_context
// -> yield the Lua coroutine -> completion -> lua_resume -> result pushed back to Lua.
// Bound: 5 us per round trip (the Scripting issue's target).
// sleep_zero: the same through tern.sleep(0) (a yield to the event loop, no timer).
// plain_c_call: tern.now(), a C function that does not wait: the floor under both.
// lua_tool_call: C++ (standing in for the agent loop) invokes a tern.tool whose run
// function returns {} (parameters: an empty object schema): schema check, a new Lua
// coroutine, JSON -> Lua -> JSON, completion back to the C++ coroutine. Bound: 5 us.
// agent_lua_tool / agent_cpp_tool: a tern::agent::agent (scripted model: 10 turns of
// 10 calls, then an answer) calling that Lua tool, and the same agent calling a C++
// function tool with the same schema. The difference per call is what calling a Lua
// tool from an agent costs (bound: 5 us); the totals include the agent loop's own work
// per call (model turn, messages, events, records).
#include <tern/agent/agent.hpp>
#include <tern/agent/scripted_model.hpp>
#include <tern/scripting/script.hpp>

#include <boost/asio/io_context.hpp>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace {

namespace ts = tern::scripting;

constexpr double bound_us = 5.0;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct timing {
  double wall_us = -1;  // per call, timed inside the script (state creation not counted)
  double cpu_us = -1;   // per call, process CPU time over the whole run (includes setup)
};

// Runs `body` (one call per loop turn) n times inside a script.
timing us_per_call(const char* body, int n) {
  boost::asio::io_context io;
  ts::script_options opts;
  opts.args = {std::to_string(n)};
  opts.host_functions["nop"] = [](boost::json::value) -> boost::asio::awaitable<tern::result<boost::json::value>> {
    co_return boost::json::value();
  };
  const std::string source = fmt::format(R"(
    local n = tonumber(tern.args[1])
    local t0 = tern.now()
    for i = 1, n do {} end
    return (tern.now() - t0) / n * 1e6
  )", body);
  auto s = ts::script::from_string(io.get_executor(), source, "bench.lua", opts);
  if (!s) return {};
  timing t;
  (*s)->start([&](tern::result<boost::json::value> r) {
    if (r) t.wall_us = r->to_number<double>();
  });
  const double c0 = cpu_seconds();
  io.run();
  t.cpu_us = (cpu_seconds() - c0) / n * 1e6;
  return t;
}

void report(benchmark::State& state, double wall, double cpu, int runs) {
  // The CPU figure is the cost; the wall one also counts time the process waited for
  // a core (it equals the CPU figure on an idle machine).
  state.counters["cpu_us_per_call"] = cpu / runs;
  state.counters["wall_us_per_call"] = wall / runs;
  state.counters["bound_us"] = bound_us;
  state.counters["cpu_ratio_to_bound"] = cpu / runs / bound_us;
}

void run(benchmark::State& state, const char* body) {
  constexpr int n = 20000;
  double wall = 0, cpu = 0;
  int runs = 0;
  for (auto _ : state) {
    auto t = us_per_call(body, n);
    wall += t.wall_us;
    cpu += t.cpu_us;
    ++runs;
  }
  report(state, wall, cpu, runs);
}

// Invokes the script's tool n times from a C++ coroutine; us per call (wall and CPU).
timing tool_call_us(int n) {
  boost::asio::io_context io;
  std::shared_ptr<ts::script> self;
  double wall_us = -1;
  ts::script_options opts;
  opts.host_functions["loop"] = [&](boost::json::value) -> boost::asio::awaitable<tern::result<boost::json::value>> {
    const auto& tool = self->tools().at(0);
    const tern::tools::invoke_context ctx;
    const boost::json::value args = boost::json::object{};
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auto out = co_await tool->invoke(args, ctx);
      if (!out.ok()) co_return tern::fail(tern::errc::internal, out.error().message);
    }
    wall_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
    co_return boost::json::value();
  };
  auto s = ts::script::from_string(io.get_executor(), R"(
    tern.tool{ name = "noop", parameters = { type = "object" }, run = function(args) return {} end }
    return tern.host.loop()
  )", "bench_tool.lua", opts);
  if (!s) return {};
  self = *s;
  bool ok = false;
  self->start([&](tern::result<boost::json::value> r) { ok = r.has_value(); });
  const double c0 = cpu_seconds();
  io.run();
  timing t;
  t.cpu_us = (cpu_seconds() - c0) / n * 1e6;
  t.wall_us = ok ? wall_us : -1;
  return t;
}

void lua_tool_call(benchmark::State& state) {
  double wall = 0, cpu = 0;
  int runs = 0;
  for (auto _ : state) {
    auto t = tool_call_us(20000);
    wall += t.wall_us;
    cpu += t.cpu_us;
    ++runs;
  }
  report(state, wall, cpu, runs);
}

// Runs the agent n_runs times from inside a script (so its Lua tool is alive); per
// tool call: wall us inside the loop, CPU us over the loop.
constexpr int turns_per_run = 10;
constexpr int calls_per_turn = 10;

timing agent_call_us(bool lua, int n_runs) {
  boost::asio::io_context io;
  std::shared_ptr<ts::script> self;
  timing t;
  ts::script_options opts;
  opts.host_functions["loop"] = [&](boost::json::value) -> boost::asio::awaitable<tern::result<boost::json::value>> {
    namespace ta = tern::agent;
    tern::tools::tool_ptr tool = self->tools().at(0);
    if (!lua) {
      auto cpp = tern::tools::make_function_tool(
          tool->spec(), tern::tools::sync_tool_fn([](const boost::json::value&) -> tern::tools::tool_outcome {
            return boost::json::value(boost::json::object{});
          }));
      if (!cpp) co_return cpp.error();
      tool = *cpp;
    }
    ta::agent_settings settings;
    settings.limits.max_steps = turns_per_run + 1;
    settings.limits.max_tool_calls = turns_per_run * calls_per_turn;
    std::vector<ta::scripted_model::turn> turns;
    for (int i = 0; i < turns_per_run; ++i) {
      std::vector<ta::tool_call> calls;
      for (int j = 0; j < calls_per_turn; ++j) calls.push_back({fmt::format("c{}_{}", i, j), "noop", {}});
      turns.push_back(ta::scripted_model::turn::calls(std::move(calls)));
    }
    turns.push_back(ta::scripted_model::turn::answer("done"));
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < n_runs; ++r) {
      ta::agent a(std::make_shared<ta::scripted_model>(turns), {tool}, settings);
      ta::run_result res = co_await a.run("call noop");
      if (res.reason != ta::stop_reason::answered) co_return tern::fail(tern::errc::internal, res.error);
    }
    const double n_calls = static_cast<double>(n_runs) * turns_per_run * calls_per_turn;
    t.wall_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n_calls;
    t.cpu_us = (cpu_seconds() - c0) * 1e6 / n_calls;
    co_return boost::json::value();
  };
  auto s = ts::script::from_string(io.get_executor(), R"(
    tern.tool{ name = "noop", parameters = { type = "object" }, run = function(args) return {} end }
    return tern.host.loop()
  )", "bench_agent.lua", opts);
  if (!s) return {};
  self = *s;
  bool ok = false;
  self->start([&](tern::result<boost::json::value> r) { ok = r.has_value(); });
  io.run();
  return ok ? t : timing{};
}

// Both variants in each iteration, so the difference is taken under the same load.
void agent_tool_call(benchmark::State& state) {
  double lua_cpu = 0, cpp_cpu = 0, lua_wall = 0, cpp_wall = 0;
  int runs = 0;
  for (auto _ : state) {
    auto l = agent_call_us(true, 50);
    auto c = agent_call_us(false, 50);
    lua_cpu += l.cpu_us;
    cpp_cpu += c.cpu_us;
    lua_wall += l.wall_us;
    cpp_wall += c.wall_us;
    ++runs;
  }
  state.counters["lua_cpu_us_per_call"] = lua_cpu / runs;
  state.counters["cpp_cpu_us_per_call"] = cpp_cpu / runs;
  state.counters["lua_wall_us_per_call"] = lua_wall / runs;
  state.counters["cpp_wall_us_per_call"] = cpp_wall / runs;
  state.counters["lua_added_cpu_us"] = (lua_cpu - cpp_cpu) / runs;
  state.counters["bound_us"] = bound_us;
  state.counters["added_ratio_to_bound"] = (lua_cpu - cpp_cpu) / runs / bound_us;
}

void await_round_trip(benchmark::State& state) { run(state, "tern.host.nop()"); }
void sleep_zero(benchmark::State& state) { run(state, "tern.sleep(0)"); }
void plain_c_call(benchmark::State& state) { run(state, "tern.now()"); }

BENCHMARK(await_round_trip)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(sleep_zero)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(lua_tool_call)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(agent_tool_call)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(plain_c_call)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
