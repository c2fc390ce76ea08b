// tern-travel-api: the travel API server for the example agents.
//
//   tern-travel-api [--host 127.0.0.1] [--port P] [--db FILE|:memory:] [--seed S]
//
// Port 0 picks a free port. The first line on stdout is
// "listening on http://HOST:PORT"; SIGINT or SIGTERM stops it gracefully
// (exit code 0).
#include <tern/core/log.hpp>
#include <tern/travel/server.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  tern::log::init_from_env();
  CLI::App app{"Tern travel API: a seeded flight and hotel catalogue with SQLite bookings"};
  tern::travel::server_options options;
  unsigned threads = 2;
  double timeout_s = 10;
  app.add_option("--host", options.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", options.port, "Port to listen on (0 picks a free one)")->capture_default_str();
  app.add_option("--db", options.db_path, "SQLite database file, or :memory:")->capture_default_str();
  app.add_option("--seed", options.seed, "Catalogue seed")->capture_default_str();
  app.add_option("--threads", threads, "I/O threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  app.add_option("--timeout", timeout_s, "Seconds allowed to read a request or write a response")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.io_timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));

  boost::asio::io_context io(static_cast<int>(threads));
  auto server = tern::travel::server::start(io, options);
  if (!server) {
    fmt::print(stderr, "tern-travel-api: {}\n", server.error().describe());
    return 1;
  }
  const std::string& host = (*server)->host();
  const bool v6 = host.find(':') != std::string::npos;
  fmt::print("listening on http://{}{}{}:{}\n", v6 ? "[" : "", host, v6 ? "]" : "", (*server)->port());
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) (*server)->stop();
  });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
