// Async HTTP/1.1 client: Beast over Asio coroutines, HTTPS through OpenSSL.
//
// - A keep-alive connection pool per host ("scheme://host:port") with a size
//   limit; a request that finds the host at its limit waits (bounded by its
//   deadline) for a connection to come back.
// - HTTPS with certificate and host-name verification against the system CA
//   store, plus an optional CA file (a private CA, a test certificate).
// - A timeout on every step: connect (DNS, TCP and TLS handshake), read (each
//   wait for bytes from the server: a silent server fails after read_timeout),
//   and total (the whole request, redirects and retries included: a server
//   that drips bytes forever fails after total_timeout).
// - Bounded redirects, a header-size and a body-size limit, chunked bodies.
// - Retries with exponential backoff and jitter for idempotent requests after
//   a transport failure or timeout, and for any request answered 429 or 503
//   (and 500/502/504 when idempotent), honouring Retry-After (seconds or HTTP-date).
// - Cancellation: cancelling the awaiting coroutine (Asio cancellation slot,
//   e.g. `co_await (client.request(r) || timer.async_wait(use_awaitable))`)
//   ends the request with errc::cancelled and closes its connection.
//
// Errors are values (tern::error): timeout, transport (refused, reset, TLS,
// DNS), limit_exceeded (body or header too large, too many redirects),
// bad_response (malformed HTTP), cancelled, invalid_argument (bad URL).
// A response with any status is a value, not an error: 404 and 500 come back
// as http_response (after retries for the retryable ones).
//
//   tern::tools::http_client client(io.get_executor());
//   auto r = co_await client.request({"GET", "http://127.0.0.1:8080/flights?from=LHR"});
//   if (r && r->status == 200) use(r->body);
//
// Thread safety: one client is used from one thread at a time (run its
// io_context on one thread, or call it through a strand); concurrent requests
// from many coroutines on that thread are the intended use. The client must
// outlive every request it started. Never blocks the io_context: DNS, connect,
// TLS and backoff sleeps are all asynchronous.
#pragma once

#include <tern/core/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::tools {

namespace asio = boost::asio;

struct http_header {
  std::string name;
  std::string value;
};

// Not an aggregate on purpose: GCC 12 destroys a brace-initialised aggregate
// temporary twice when it is an argument inside a co_await expression
// (`co_await client.request({.url = u})` double-frees). With constructors,
// `co_await client.request({"GET", url})` is safe and the broken form does not compile.
struct http_request {
  http_request() = default;
  http_request(std::string method_, std::string url_, std::string body_ = {}, std::vector<http_header> headers_ = {})
      : method(std::move(method_)), url(std::move(url_)), headers(std::move(headers_)), body(std::move(body_)) {}

  std::string method = "GET";
  std::string url;                    // absolute: http://host[:port]/path?query or https://...
  std::vector<http_header> headers;   // Host, Content-Length and User-Agent are set by the client
  std::string body;
  // Deadline for this request, retries and redirects included; zero = the
  // client's total_timeout.
  std::chrono::milliseconds timeout{0};
  // Overrides the method's idempotency (GET, HEAD, PUT, DELETE, OPTIONS, TRACE
  // are idempotent) for retry decisions: a POST with an idempotency key may set true.
  std::optional<bool> idempotent;
};

struct http_response {
  int status = 0;
  std::string reason;
  std::vector<http_header> headers;
  std::string body;
  std::string url;        // the URL that answered (after redirects)
  int n_attempts = 1;     // requests sent, retries included
  int n_redirects = 0;

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const noexcept;
};

struct retry_policy {
  int max_attempts = 3;                               // 1 = no retries
  std::chrono::milliseconds base_delay{100};          // delay before retry n: base * 2^(n-1), capped
  std::chrono::milliseconds max_delay{5000};
  // Jitter: each delay is drawn uniformly from [delay/2, delay]. Off only for tests.
  bool jitter = true;
  // A Retry-After longer than this is not waited for: the response is returned.
  std::chrono::milliseconds max_retry_after{30000};
};

struct http_client_options {
  std::chrono::milliseconds connect_timeout{10000};  // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds read_timeout{30000};     // longest wait for the next bytes
  std::chrono::milliseconds total_timeout{60000};    // default per-request deadline
  std::size_t max_body_bytes = 16u << 20;            // decoded body (chunked or not)
  std::size_t max_header_bytes = 64u << 10;
  int max_redirects = 5;                             // 0 = return 3xx responses as they are
  std::size_t max_connections_per_host = 16;         // open (idle + busy) connections per host
  std::size_t max_idle_per_host = 16;                // kept in the pool after use
  std::chrono::milliseconds idle_timeout{30000};     // pooled connections older than this are closed
  retry_policy retry;
  // TLS: system CA store always; ca_file (PEM) adds to it. verify_peer=false
  // disables certificate and host-name checks (never in production).
  std::string ca_file;
  bool verify_peer = true;
  std::string user_agent = "tern";
};

// Counters for tests and benchmarks.
struct http_client_stats {
  std::uint64_t n_requests = 0;      // request() calls
  std::uint64_t n_sent = 0;          // HTTP requests written (attempts and redirects)
  std::uint64_t n_connects = 0;      // new connections opened
  std::uint64_t n_reused = 0;        // requests sent on a pooled connection
  std::uint64_t n_retries = 0;
};

class http_client {
 public:
  // Errors at construction (an unreadable ca_file) are reported by every
  // request to an https URL, so the constructor itself cannot fail.
  explicit http_client(asio::any_io_executor executor, http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  asio::awaitable<result<http_response>> request(http_request req);

  // Closes every pooled idle connection.
  void close_idle();
  std::size_t n_idle_connections() const;
  const http_client_stats& stats() const noexcept;
  const http_client_options& options() const noexcept;
  asio::any_io_executor executor() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

// Percent-encodes s for use as one path segment or query value (RFC 3986:
// everything but unreserved characters A-Z a-z 0-9 - . _ ~ is encoded).
std::string percent_encode(std::string_view s);

// Whether a method is idempotent per RFC 9110 section 9.2.2.
bool is_idempotent_method(std::string_view method) noexcept;

// Parses Retry-After (delay-seconds or an HTTP-date, RFC 9110 section 10.2.3)
// into a delay from now; nullopt if it is neither. Dates in the past give 0.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace tern::tools
