// The travel API's HTTP server: Boost.Beast over Asio coroutines, one
// coroutine per connection, a deadline on every read and write, limits on
// header and body size, keep-alive, graceful stop.
//
//   boost::asio::io_context io;
//   TERN_TRY(auto srv, tern::travel::server::start(io, {.port = 0}));
//   fmt::print("listening on http://{}:{}\n", srv->host(), srv->port());
//   io.run();   // returns after srv->stop() once open connections have finished
//
// Hostile clients (malformed HTTP, oversized headers or bodies, slowloris)
// get a 4xx and/or a closed connection; they cannot stall other clients.
#pragma once

#include <tern/core/result.hpp>
#include <tern/travel/api.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace tern::travel {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port; see server::port()
  std::string db_path = ":memory:";
  std::uint64_t seed = 42;
  std::chrono::milliseconds io_timeout{10000};  // per request read and per response write
  std::size_t header_limit = 16 * 1024;         // bytes; larger gets 431
  std::size_t body_limit = 256 * 1024;          // bytes; larger gets 413
  std::size_t max_connections = 512;            // beyond this, new connections are closed at once
};

class server {
 public:
  // Opens the database, binds and starts accepting on `io` (which may be run
  // by several threads). Errors: bad host, port in use, database errors.
  // The server must be destroyed before `io`.
  static result<std::unique_ptr<server>> start(boost::asio::io_context& io, const server_options& options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  const std::string& host() const noexcept;
  std::uint16_t port() const noexcept;  // the bound port (never 0)

  // Graceful stop: closes the listener, lets requests in progress finish,
  // closes idle keep-alive connections. Thread-safe, idempotent.
  void stop();

  struct impl;

 private:
  explicit server(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

}  // namespace tern::travel
