// A real HTTP/1.1 server on an ephemeral 127.0.0.1 port for the tests,
// with per-connection control so it can misbehave on purpose: answer nothing,
// drip bytes, reset the connection, send oversized or malformed replies, or
// serve requests normally (keep-alive) through a request -> response function.
//
//   tern::test::loopback_server server(tern::test::loopback_server::serve(
//       [](const tern::test::test_request& r) { return tern::test::test_response{200, R"({"ok":true})"}; }));
//   co_await client.request({"GET", server.url("/x")});
//
// The server runs its own io_context on its own thread, so a handler that
// sleeps or stalls never blocks the client under test. Plain TCP, or TLS with
// a certificate from make_test_certificate().
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::test {

namespace asio = boost::asio;

struct test_request {
  std::string method;
  std::string target;  // "/path?query"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// Not an aggregate: aggregate temporaries inside co_await break GCC 12 (see http_request).
struct test_response {
  test_response(int status_ = 200, std::string body_ = {}, std::vector<std::pair<std::string, std::string>> headers_ = {})
      : status(status_), body(std::move(body_)), headers(std::move(headers_)) {}

  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type defaults to application/json
  bool close = false;                                       // send Connection: close and close after
  bool chunked = false;                                     // Transfer-Encoding: chunked
};

class server_connection {
 public:
  struct impl;
  explicit server_connection(std::unique_ptr<impl> p);
  ~server_connection();

  // The next request, or nullopt when the client closed, sent garbage or
  // stayed silent for 10 s.
  asio::awaitable<std::optional<test_request>> read_request();
  // Writes a whole response; false when the client is gone.
  asio::awaitable<bool> respond(const test_response& response);
  // Writes bytes as they are (a hand-made response, a partial one).
  asio::awaitable<bool> write_raw(std::string_view bytes);
  asio::awaitable<void> sleep(std::chrono::milliseconds d);
  // Abortive close: the client sees a connection reset (RST).
  void reset();
  void close();
  int index() const noexcept;  // 0 for the server's first connection

 private:
  std::unique_ptr<impl> impl_;
};

using connection_handler = std::function<asio::awaitable<void>(server_connection&)>;
using request_handler = std::function<test_response(const test_request&)>;

struct tls_identity {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed certificate (EC P-256, valid for a day) whose subjectAltName
// lists the given DNS names and IP addresses; the certificate is its own CA.
tls_identity make_test_certificate(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips);

class loopback_server {
 public:
  explicit loopback_server(connection_handler handler, std::optional<tls_identity> tls = std::nullopt);
  ~loopback_server();
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  // A handler that answers each request on a connection with fn (keep-alive).
  static connection_handler serve(request_handler fn);

  unsigned short port() const noexcept;
  // "http://127.0.0.1:PORT" + path (https with TLS).
  std::string url(std::string_view path = "/") const;
  int n_connections() const noexcept;
  int n_requests() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tern::test
