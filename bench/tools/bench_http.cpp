// Tool-call throughput and latency against the travel API, beside wrk.
//
//   build/bench/bench_http --url http://127.0.0.1:PORT [--seconds 3] [--wrk /usr/bin/wrk]
//   (scripts/bench_tools.sh starts tern-travel-api and runs this)
//
// Measures: the searchFlights HttpTool (imported from the server's
// /openapi.json: argument validation, URL building, HTTP over the keep-alive
// pool, JSON parsing, projection) called by 1, 8 and 64 concurrent callers on
// one io_context thread, for --seconds each. Bound: wrk on the same URL with
// the same number of connections and one thread; ratio = tern calls/s divided
// by wrk requests/s (1.0 would be a tool call as cheap as wrk's bare GET).
#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>
#include <tern/tools/http_tool.hpp>
#include <tern/tools/openapi.hpp>
#include <tern/tools/tool_registry.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace tern::tools;

namespace {

struct run_stats {
  double calls_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::size_t n_ok = 0;
  std::size_t n_failed = 0;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

asio::awaitable<run_stats> run_tool(const tool& t, bj::value args, int concurrency, double seconds) {
  auto ex = co_await asio::this_coro::executor;
  auto deadline = tern::mono_clock::now() + std::chrono::duration_cast<tern::mono_clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<double> latencies;
  std::size_t n_failed = 0;
  int n_running = concurrency;
  asio::steady_timer done(ex, asio::steady_timer::time_point::max());
  tern::stopwatch total;
  for (int w = 0; w < concurrency; ++w) {
    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
      while (tern::mono_clock::now() < deadline) {
        tern::stopwatch sw;
        auto out = co_await t.invoke(args);
        if (out.ok()) latencies.push_back(sw.elapsed_ms());
        else {
          ++n_failed;
          if (n_failed == 1) fmt::print(stderr, "first failure: {}\n", tern::json::serialize(out.to_json()));
        }
      }
      if (--n_running == 0) done.cancel();
    }, asio::detached);
  }
  co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  run_stats s;
  s.n_ok = latencies.size();
  s.n_failed = n_failed;
  s.calls_per_s = static_cast<double>(s.n_ok) / total.elapsed_s();
  s.p50_ms = percentile(latencies, 0.50);
  s.p99_ms = percentile(latencies, 0.99);
  co_return s;
}

// wrk's figures for the same URL, or nullopt when wrk is absent or failed.
std::optional<run_stats> run_wrk(const std::string& wrk, const std::string& url, int connections, double seconds) {
  std::string cmd = fmt::format("{} -t1 -c{} -d{}s --latency '{}' 2>&1", wrk, connections, static_cast<int>(seconds), url);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  auto to_ms = [](double v, const std::string& unit) { return unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v; };
  run_stats s;
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) return std::nullopt;
  s.calls_per_s = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(50%\s+([0-9.]+)(us|ms|s))"))) s.p50_ms = to_ms(std::stod(m[1]), m[2]);
  if (std::regex_search(out, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) s.p99_ms = to_ms(std::stod(m[1]), m[2]);
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) s.n_failed = std::stoul(m[1]);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tool-call throughput and latency against the travel API, beside wrk"};
  std::string url;
  double seconds = 3;
  std::string wrk = "/usr/bin/wrk";
  std::vector<int> levels = {1, 8, 64};
  app.add_option("--url", url, "Base URL of a running tern-travel-api")->required();
  app.add_option("--seconds", seconds, "Seconds per concurrency level")->capture_default_str();
  app.add_option("--wrk", wrk, "wrk executable (empty: skip)")->capture_default_str();
  app.add_option("--concurrency", levels, "Concurrency levels")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  while (!url.empty() && url.back() == '/') url.pop_back();

  asio::io_context io(1);
  int rc = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    http_client_options o;
    o.max_connections_per_host = 64;
    o.max_idle_per_host = 64;
    auto client = std::make_shared<http_client>(io.get_executor(), o);
    auto doc = co_await client->request(http_request("GET", url + "/openapi.json"));
    if (!doc || doc->status != 200) {
      fmt::print(stderr, "cannot fetch {}/openapi.json: {}\n", url, doc ? fmt::format("HTTP {}", doc->status) : doc.error().describe());
      rc = 1;
      co_return;
    }
    auto spec = tern::json::parse(doc->body);
    openapi_options oo;
    oo.base_url = url;
    auto decls = spec ? openapi_tool_declarations(*spec, oo) : tern::result<std::vector<bj::value>>(spec.error());
    auto tools = spec ? import_openapi(*spec, client, oo) : tern::result<std::vector<tool_ptr>>(spec.error());
    if (!tools || !decls) {
      fmt::print(stderr, "OpenAPI import failed: {}\n", (tools ? decls.error() : tools.error()).describe());
      rc = 1;
      co_return;
    }
    tool_registry reg;
    for (auto& t : *tools) (void)reg.add(t);
    auto search = reg.find("searchFlights");
    if (!search) {
      fmt::print(stderr, "the API has no searchFlights operation\n");
      rc = 1;
      co_return;
    }
    bj::value args = bj::object{{"from", "BOS"}, {"to", "GIG"}, {"date", "2027-01-15"}};
    // The exact URL the tool calls, for wrk.
    std::string wrk_url;
    for (const auto& d : *decls)
      if (d.at("name") == "searchFlights")
        if (auto def = parse_http_tool_def(d))
          if (auto req = build_http_request(*def, args)) wrk_url = req->url;

    fmt::print("bench_http: searchFlights tool calls vs wrk on {} ({} s per level, one client thread)\n", wrk_url, seconds);
    fmt::print("{:>11} | {:>12} {:>9} {:>9} | {:>12} {:>9} {:>9} | {:>6}\n", "concurrency", "tern calls/s", "p50 ms",
               "p99 ms", "wrk req/s", "p50 ms", "p99 ms", "ratio");
    for (int c : levels) {
      auto s = co_await run_tool(*search, args, c, seconds);
      auto w = wrk.empty() ? std::nullopt : run_wrk(wrk, wrk_url, c, seconds);
      fmt::print("{:>11} | {:>12.0f} {:>9.3f} {:>9.3f} | {:>12} {:>9} {:>9} | {:>6}{}\n", c, s.calls_per_s, s.p50_ms, s.p99_ms,
                 w ? fmt::format("{:.0f}", w->calls_per_s) : "-", w ? fmt::format("{:.3f}", w->p50_ms) : "-",
                 w ? fmt::format("{:.3f}", w->p99_ms) : "-", w ? fmt::format("{:.2f}", s.calls_per_s / w->calls_per_s) : "-",
                 s.n_failed ? fmt::format("  ({} failed calls)", s.n_failed) : "");
    }
    fmt::print("connections opened: {}, requests sent: {}\n", client->stats().n_connects, client->stats().n_sent);
  }, [&](std::exception_ptr e) {
    if (e) {
      fmt::print(stderr, "bench_http: unexpected exception\n");
      rc = 1;
    }
  });
  io.run();
  return rc;
}
