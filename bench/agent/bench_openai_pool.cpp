// What keep-alive saves openai_compatible_model per request, over HTTP and HTTPS.
//
//   build/bench/bench_openai_pool [--requests 2000] [--concurrency 1]
//
// Measures: complete() against a loopback fake OpenAI server (the tests'
// loopback_server, its own thread: a fixed non-streamed chat.completion, and
// the same answer streamed as server-sent events) with the pool on (default
// options) and off (max_idle_connections = 0: a TCP connect, and for https a
// TLS handshake with a P-256 certificate, per request). Bound: the same
// requests without keep-alive; ratio = pooled time per request / unpooled
// (below 1 is what reuse saves). Prints requests/s, p50 and p99 latency.
#include <tern/agent/openai_model.hpp>
#include <tern/core/clock.hpp>

#include "loopback_server.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace tern::agent;

namespace {

struct run_stats {
  double us_per_request = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::uint64_t n_connects = 0;
  int n_failed = 0;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

const std::string k_completion = bj::serialize(bj::object{
    {"object", "chat.completion"},
    {"choices", bj::array{bj::object{{"index", 0},
                                     {"message", bj::object{{"role", "assistant"}, {"content", "Found 3 flights."}}},
                                     {"finish_reason", "stop"}}}},
    {"usage", bj::object{{"prompt_tokens", 120}, {"completion_tokens", 4}}}});

std::string events() {
  std::string out;
  for (const char* piece : {"Found ", "3 ", "flights."})
    out += "data: " +
           bj::serialize(bj::object{{"choices", bj::array{bj::object{{"index", 0}, {"delta", bj::object{{"content", piece}}}}}}}) +
           "\n\n";
  out += "data: " + bj::serialize(bj::object{{"choices", bj::array{bj::object{{"index", 0}, {"delta", bj::object{}}, {"finish_reason", "stop"}}}}}) + "\n\n";
  return out + "data: [DONE]\n\n";
}

tern::test::test_response answer(const tern::test::test_request& r) {
  if (r.body.find("\"stream\":true") == std::string::npos) return tern::test::test_response(200, k_completion);
  tern::test::test_response res(200, events(), {{"Content-Type", "text/event-stream"}});
  res.chunked = true;
  return res;
}

model_request request() {
  model_request req;
  req.messages = {message::system("You book trips."), message::user("Boston to Rio, 2 adults")};
  return req;
}

run_stats measure(const openai_model_options& o, int n_requests, int concurrency) {
  openai_compatible_model m(o);
  asio::io_context io;
  std::vector<double> latencies;
  int n_failed = 0;
  tern::stopwatch total;
  for (int w = 0; w < concurrency; ++w)
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < n_requests / concurrency; ++i) {
        tern::stopwatch sw;
        auto r = co_await m.complete(request());
        latencies.push_back(sw.elapsed_us());
        if (!r) {
          if (n_failed++ == 0) std::fprintf(stderr, "failed: %s\n", r.error().describe().c_str());
        }
      }
    }, asio::detached);
  io.run();
  run_stats s;
  s.us_per_request = total.elapsed_us() / static_cast<double>(latencies.size());
  s.p50_us = percentile(latencies, 0.5);
  s.p99_us = percentile(latencies, 0.99);
  s.n_connects = m.connection_stats().n_connects;
  s.n_failed = n_failed;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"openai_compatible_model: keep-alive versus a connection per request"};
  int n_requests = 2000;
  int concurrency = 1;
  app.add_option("--requests", n_requests, "requests per configuration")->check(CLI::Range(1, 1000000));
  app.add_option("--concurrency", concurrency, "concurrent complete() calls on one io_context thread")->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  const auto id = tern::test::make_test_certificate({"localhost"}, {"127.0.0.1"});
  const auto ca = std::filesystem::temp_directory_path() / fmt::format("tern-bench-openai-ca-{}.pem", ::getpid());
  std::ofstream(ca) << id.cert_pem;
  tern::test::loopback_server plain(tern::test::loopback_server::serve(answer));
  tern::test::loopback_server tls(tern::test::loopback_server::serve(answer), id);

  fmt::print("{} requests per row, concurrency {}; bound: the same requests with max_idle_connections = 0\n",
             n_requests, concurrency);
  fmt::print("{:<6} {:<9} {:>12} {:>10} {:>10} {:>9} | {:>12} {:>10} {:>9} | {:>6}\n", "scheme", "body", "pooled us/req",
             "p50 us", "p99 us", "connects", "unpooled us", "p99 us", "connects", "ratio");
  int n_failed = 0;
  for (const bool https : {false, true})
    for (const bool stream : {false, true}) {
      openai_model_options o;
      o.base_url = https ? tls.url("") : plain.url("");
      o.model = "bench";
      o.stream = stream;
      o.ca_file = ca.string();
      o.max_attempts = 1;
      const auto pooled = measure(o, n_requests, concurrency);
      o.max_idle_connections = 0;
      const auto unpooled = measure(o, n_requests, concurrency);
      n_failed += pooled.n_failed + unpooled.n_failed;
      fmt::print("{:<6} {:<9} {:>12.1f} {:>10.1f} {:>10.1f} {:>9} | {:>12.1f} {:>10.1f} {:>9} | {:>6.3f}\n",
                 https ? "https" : "http", stream ? "sse" : "json", pooled.us_per_request, pooled.p50_us, pooled.p99_us,
                 pooled.n_connects, unpooled.us_per_request, unpooled.p99_us, unpooled.n_connects,
                 pooled.us_per_request / unpooled.us_per_request);
    }
  std::filesystem::remove(ca);
  return n_failed == 0 ? 0 : 1;
}
