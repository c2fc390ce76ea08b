// Agent loop overhead per step, excluding model and tool time, and memory per
// idle agent. The model is scripted (instant replies, usage given so nothing
// is estimated), the tool a no-op function tool; every step is one model turn
// with one tool call, then a final answer.
//   overhead per step = (run wall time - model time) / steps
// "model time" is what the loop measured around model.complete (the scripted
// model copying the request it records). Tool time for a no-op tool is ~0,
// so spawning the call, the event and the bookkeeping count as overhead.
// Bound: 100 us per step (the Agent issue's target).
#include <tern/agent/agent.hpp>
#include <tern/agent/scripted_model.hpp>
#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <unistd.h>
#include <vector>

using namespace tern;
namespace asio = boost::asio;

namespace {

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

int main() {
  auto noop = *tools::make_function_tool(
      {"noop", "Does nothing.", json::parse(R"({"type":"object","properties":{"x":{"type":"integer"}}})")->as_object()},
      tools::sync_tool_fn([](const boost::json::value&) -> tools::tool_outcome { return boost::json::value(1); }));
  const int n_steps = 50;
  const int n_runs = 40;
  std::vector<double> per_step_us;
  for (int run = 0; run < n_runs; ++run) {
    std::vector<agent::scripted_model::turn> turns;
    for (int i = 0; i < n_steps; ++i) {
      auto r = agent::scripted_model::call({{"", "noop", {{"x", i}}}});
      r.usage = {100, 0, 10};
      turns.push_back(agent::scripted_model::turn::reply(std::move(r)));
    }
    auto last = agent::scripted_model::answer("done");
    last.usage = {100, 0, 10};
    turns.push_back(agent::scripted_model::turn::reply(last));
    auto model = std::make_shared<agent::scripted_model>(std::move(turns));
    agent::agent_settings s;
    s.limits.max_steps = n_steps + 1;
    s.limits.max_tool_calls = n_steps;
    agent::agent a(model, {noop}, s);
    asio::io_context io;
    agent::run_result r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r = co_await a.run("bench"); }, asio::detached);
    io.run();
    if (r.reason != agent::stop_reason::answered) {
      fmt::print(stderr, "bench run failed: {}\n", r.error);
      return 1;
    }
    per_step_us.push_back((r.wall_ms - r.model_ms) * 1000.0 / (n_steps + 1));
  }
  std::sort(per_step_us.begin(), per_step_us.end());
  const double median = per_step_us[per_step_us.size() / 2];
  fmt::print("agent loop overhead per step (median of {} runs of {} steps, model time excluded): {:.1f} us\n", n_runs,
             n_steps + 1, median);
  fmt::print("  bound 100 us per step; ratio {:.3f}\n", median / 100.0);

  const int n_agents = 10000;
  const long before = rss_bytes();
  std::vector<std::unique_ptr<agent::agent>> agents;
  auto model = std::make_shared<agent::scripted_model>(std::vector<agent::scripted_model::turn>{});
  agent::agent_settings s;
  s.instructions = "You book trips.";
  for (int i = 0; i < n_agents; ++i) agents.push_back(std::make_unique<agent::agent>(model, std::vector<tools::tool_ptr>{noop}, s));
  const long after = rss_bytes();
  fmt::print("memory per idle agent (1 tool, short instructions; {} agents): {:.0f} bytes\n", n_agents,
             static_cast<double>(after - before) / n_agents);
  return 0;
}
