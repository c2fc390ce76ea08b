// Cost of the Lua <-> C++ async bridge.
//
// await_round_trip: a script calls tern.host.nop() in a loop; nop is a C++ coroutine
// that completes at once. One call = Lua -> C function -> co_spawn on the io_context
// -> yield the Lua coroutine -> completion -> lua_resume -> result pushed back to Lua.
// Bound: 5 us per round trip (the Scripting issue's target).
// sleep_zero: the same through tern.sleep(0) (a steady_timer that expires at once).
// plain_c_call: tern.now(), a C function that does not wait: the floor under both.
#include <tern/scripting/script.hpp>

#include <boost/asio/io_context.hpp>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

namespace {

namespace ts = tern::scripting;

constexpr double bound_us = 5.0;

// Runs `body` (one call per loop turn) n times inside a script; returns us per call,
// timed inside the script so that creating the state is not counted.
double us_per_call(const char* body, int n) {
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
  if (!s) return -1;
  double us = -1;
  (*s)->start([&](tern::result<boost::json::value> r) {
    if (r) us = r->to_number<double>();
  });
  io.run();
  return us;
}

void run(benchmark::State& state, const char* body) {
  constexpr int n = 20000;
  double total = 0;
  int runs = 0;
  for (auto _ : state) {
    total += us_per_call(body, n);
    ++runs;
  }
  const double us = total / runs;
  state.counters["us_per_call"] = us;
  state.counters["bound_us"] = bound_us;
  state.counters["ratio_to_bound"] = us / bound_us;
}

void await_round_trip(benchmark::State& state) { run(state, "tern.host.nop()"); }
void sleep_zero(benchmark::State& state) { run(state, "tern.sleep(0)"); }
void plain_c_call(benchmark::State& state) { run(state, "tern.now()"); }

BENCHMARK(await_round_trip)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(sleep_zero)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(plain_c_call)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
