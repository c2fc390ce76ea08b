// Transport of openai_compatible_model: Beast HTTP/1.1 over TCP or TLS on
// keep-alive connections (pooled in openai_pool.cpp), the body read
// incrementally so server-sent events reach the caller as they arrive. Wire
// shapes live in openai_wire.cpp.
#include <tern/agent/openai_model.hpp>
#include <tern/core/json.hpp>

#include "openai_pool.hpp"
#include "openai_wire.hpp"

#include <tern/core/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

namespace tern::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct url_parts {
  bool tls = false;
  std::string host, port, target;  // target: the chat completions path
};

result<url_parts> parse_base_url(std::string_view u) {
  url_parts p;
  if (u.starts_with("https://")) {
    p.tls = true;
    u.remove_prefix(8);
  } else if (u.starts_with("http://")) {
    u.remove_prefix(7);
  } else {
    return fail(errc::invalid_argument, "base_url must start with http:// or https://");
  }
  const auto slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  std::string path(slash == std::string_view::npos ? std::string_view() : u.substr(slash));
  if (authority.empty()) return fail(errc::invalid_argument, "base_url has no host");
  std::string_view port;
  if (authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(errc::invalid_argument, "base_url has an unclosed '[' in its host");
    p.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    p.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (p.host.empty()) return fail(errc::invalid_argument, "base_url has no host");
  if (!port.empty()) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535)
      return fail(errc::invalid_argument, fmt::format("base_url has a bad port '{}'", port));
  }
  p.port = port.empty() ? (p.tls ? "443" : "80") : std::string(port);
  while (!path.empty() && path.back() == '/') path.pop_back();
  p.target = path.ends_with("/v1") ? path + "/chat/completions" : path + "/v1/chat/completions";
  return p;
}

std::optional<std::chrono::milliseconds> retry_after_seconds(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::uint64_t s = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (ec != std::errc() || end != v.data() + v.size() || s > 86400) return std::nullopt;
  return std::chrono::milliseconds(s * 1000);
}

bool retryable_status(int s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

struct attempt_outcome {
  result<model_response> response;
  int status = 0;
  std::optional<std::chrono::milliseconds> retry_after;
  bool stale = false;  // a reused connection was found closed before any response byte
};

// How long the end of a streamed body (the last chunk after [DONE]) is waited
// for before the connection is given up instead of being reused.
constexpr std::chrono::milliseconds done_drain_timeout{500};

bool connection_lost(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

// Cancellation comes back as errc::cancelled, never as an exception: every
// coroutine here turns Asio's throw-on-cancelled off first.
asio::awaitable<bool> is_cancelled() {
  co_await asio::this_coro::throw_if_cancelled(false);
  auto cs = co_await asio::this_coro::cancellation_state;
  co_return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

struct openai_compatible_model::impl {
  openai_model_options opts;
  std::optional<url_parts> url;
  std::optional<tern::error> config_error;
  std::optional<std::string> api_key;
  std::shared_ptr<ssl::context> tls;
  mutable detail::connection_pool pool;  // thread-safe; shared by const and non-const paths

  clock_type::time_point step_deadline(std::chrono::milliseconds step, clock_type::time_point deadline) const {
    return std::min(clock_type::now() + step, deadline);
  }

  // Not a coroutine, and fed plain copies: GCC 12 loses structured bindings
  // that live across a suspension.
  tern::error io_error(beast::error_code ec, std::string_view step, bool cancelled) const {
    if (cancelled) return error(errc::cancelled, fmt::format("cancelled while {}", step));
    if (ec == beast::error::timeout) return error(errc::timeout, fmt::format("timed out while {}", step));
    if (ec == http::error::body_limit)
      return error(errc::limit_exceeded,
                      fmt::format("response larger than max_response_bytes ({} bytes)", opts.max_response_bytes));
    if (ec == http::error::header_limit) return error(errc::limit_exceeded, "response headers too large");
    if (ec.category() == beast::error_code(http::error::end_of_stream).category())
      return error(errc::bad_response, fmt::format("malformed HTTP response while {}: {}", step, ec.message()));
    return error(errc::transport, fmt::format("{}: {}", step, ec.message()));
  }

  // Sends the request and reads the answer on an open connection. keep: the
  // connection may carry another request (the whole message was read, the
  // server did not ask to close, no bytes are left over).
  template <class Stream>
  asio::awaitable<attempt_outcome> exchange(Stream& s, bool reused, const std::string& body, const stream_callbacks& cb,
                                            clock_type::time_point deadline, bool& keep) const {
    co_await asio::this_coro::throw_if_cancelled(false);
    keep = false;
    auto& lowest = beast::get_lowest_layer(s);
    http::request<http::string_body> req{http::verb::post, url->target, 11};
    const bool default_port = url->port == (url->tls ? "443" : "80");
    req.set(http::field::host, default_port ? url->host : url->host + ":" + url->port);
    req.set(http::field::user_agent, "tern");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, opts.stream ? "text/event-stream" : "application/json");
    if (api_key) req.set(http::field::authorization, "Bearer " + *api_key);
    req.keep_alive(opts.max_idle_connections > 0);
    req.body() = body;
    req.prepare_payload();

    lowest.expires_at(step_deadline(opts.read_timeout, deadline));
    if (beast::error_code ec = std::get<0>(co_await http::async_write(s, req, use_tuple))) {
      const bool cancelled = co_await is_cancelled();
      attempt_outcome out{io_error(ec, "sending the request", cancelled)};
      out.stale = reused && !cancelled && connection_lost(ec);
      co_return out;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(opts.max_response_bytes);
    parser.header_limit(64u << 10);
    lowest.expires_at(step_deadline(opts.read_timeout, deadline));
    if (beast::error_code ec = std::get<0>(co_await http::async_read_header(s, buffer, parser, use_tuple))) {
      const bool cancelled = co_await is_cancelled();
      attempt_outcome out{io_error(ec, "reading the response header", cancelled)};
      out.stale = reused && !cancelled && !parser.got_some() && buffer.size() == 0 && connection_lost(ec);
      co_return out;
    }

    attempt_outcome out{fail(errc::internal, "unset")};
    out.status = static_cast<int>(parser.get().result_int());
    if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end())
      out.retry_after = retry_after_seconds(it->value());
    const auto content_type = parser.get()[http::field::content_type];
    const bool sse = out.status == 200 && content_type.starts_with("text/event-stream");

    detail::sse_assembler events(&cb);
    std::string whole;
    char chunk[16384];
    bool complete = true;  // the whole message was read
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      // After [DONE] only the message's framing (the last chunk) is left; it
      // is read, briefly, so the connection can be reused, never waited for.
      lowest.expires_at(step_deadline(events.done() ? done_drain_timeout : opts.read_timeout, deadline));
      beast::error_code ec = std::get<0>(co_await http::async_read(s, buffer, parser, use_tuple));
      if (ec == http::error::need_buffer) ec = {};
      if (ec && events.done()) {
        complete = false;
        break;
      }
      if (ec) {
        const bool cancelled = co_await is_cancelled();
        co_return attempt_outcome{io_error(ec, "reading the response body", cancelled)};
      }
      const std::string_view got(chunk, sizeof chunk - parser.get().body().size);
      if (events.done()) continue;  // whatever follows [DONE] is not part of the answer
      if (sse) {
        if (auto r = events.feed(got); !r) co_return attempt_outcome{std::move(r).error()};
        // A body that ends only when the server closes cannot leave a reusable connection.
        if (events.done() && (parser.need_eof() || !parser.get().keep_alive())) {
          complete = false;
          break;
        }
      } else {
        whole.append(got);
      }
    }
    const bool cancelled = co_await is_cancelled();
    keep = complete && !cancelled && parser.is_done() && parser.get().keep_alive() && !parser.need_eof() &&
           buffer.size() == 0;
    lowest.expires_never();
    if (out.status != 200) {
      auto e = error(errc::http_status, detail::openai_error_message(out.status, whole));
      if (out.retry_after) e = error(errc::http_status, fmt::format("{} (retry after {} s)", e.message(), out.retry_after->count() / 1000));
      out.response = std::move(e);
    } else if (sse) {
      out.response = events.finish();
    } else {
      out.response = detail::parse_openai_completion(whole);
    }
    co_return out;
  }

  // A new connection: resolve, TCP connect, and for https the TLS handshake
  // with certificate and host-name verification.
  asio::awaitable<result<std::unique_ptr<detail::pooled_connection>>> connect(clock_type::time_point deadline) const {
    using namespace asio::experimental::awaitable_operators;
    co_await asio::this_coro::throw_if_cancelled(false);
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, step_deadline(opts.connect_timeout, deadline));
    auto resolved = co_await (resolver.async_resolve(url->host, url->port, use_tuple) || timer.async_wait(use_tuple));
    if (resolved.index() == 1) {
      if (co_await is_cancelled()) co_return error(errc::cancelled, "cancelled while resolving the host");
      co_return error(errc::timeout, fmt::format("timed out resolving '{}'", url->host));
    }
    beast::error_code rec = std::get<0>(std::get<0>(resolved));
    tcp::resolver::results_type endpoints = std::get<1>(std::get<0>(resolved));
    if (rec) {
      const bool cancelled = co_await is_cancelled();
      co_return io_error(rec, fmt::format("resolving '{}'", url->host), cancelled);
    }

    beast::tcp_stream stream(ex);
    stream.expires_at(step_deadline(opts.connect_timeout, deadline));
    if (beast::error_code ec = std::get<0>(co_await stream.async_connect(endpoints, use_tuple))) {
      const bool cancelled = co_await is_cancelled();
      co_return io_error(ec, fmt::format("connecting to {}:{}", url->host, url->port), cancelled);
    }
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    if (!url->tls) {
      ++pool.n_connects;
      co_return std::make_unique<detail::pooled_connection>(std::move(stream));
    }
    auto c = std::make_unique<detail::pooled_connection>(std::move(stream), *tls);
    // Server Name Indication carries host names only (RFC 6066 section 3).
    beast::error_code not_ip;
    asio::ip::make_address(url->host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(c->tls->native_handle(), url->host.c_str()))
      co_return error(errc::transport, "cannot set the TLS server name");
    if (opts.verify_peer) c->tls->set_verify_callback(ssl::host_name_verification(url->host));
    c->lowest().expires_at(step_deadline(opts.connect_timeout, deadline));
    if (beast::error_code ec = std::get<0>(co_await c->tls->async_handshake(ssl::stream_base::client, use_tuple))) {
      const bool cancelled = co_await is_cancelled();
      co_return io_error(ec, fmt::format("TLS handshake with {}", url->host), cancelled);
    }
    ++pool.n_connects;
    co_return std::move(c);
  }

  // One HTTP exchange: on an idle pooled connection when there is one, else on
  // a new one. A pooled connection that turns out closed before any response
  // byte (the server dropped it while idle) costs one retry on a new
  // connection: the server never saw the request.
  asio::awaitable<attempt_outcome> attempt(const std::string& body, const stream_callbacks& cb,
                                           clock_type::time_point deadline) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto ex = co_await asio::this_coro::executor;
    const bool pooling = opts.max_idle_connections > 0;
    std::shared_ptr<detail::idle_shelf> shelf;
    if (pooling) shelf = detail::connection_pool::shelf_for(ex);
    for (bool fresh_only = false;; fresh_only = true) {
      std::unique_ptr<detail::pooled_connection> c;
      if (pooling && !fresh_only) c = pool.take(*shelf, ex, opts.idle_timeout);
      const bool reused = c != nullptr;
      if (!c) {
        auto made = co_await connect(deadline);
        if (!made) co_return attempt_outcome{std::move(made).error()};
        c = std::move(*made);
      }
      bool keep = false;
      attempt_outcome out{fail(errc::internal, "unset")};
      if (c->tls) out = co_await exchange(*c->tls, reused, body, cb, deadline, keep);
      else out = co_await exchange(*c->plain, reused, body, cb, deadline, keep);
      if (pooling && keep) pool.put(shelf, std::move(c), opts.max_idle_connections);
      else c->close();
      if (out.stale && !fresh_only) {
        ++pool.n_stale_retries;
        log::debug("openai: a pooled connection to {}:{} was closed by the server; retrying on a new one", url->host,
                   url->port);
        continue;
      }
      co_return out;
    }
  }
};

openai_compatible_model::openai_compatible_model(openai_model_options options)
    : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(options);
  auto& o = impl_->opts;
  if (auto u = parse_base_url(o.base_url); u) impl_->url = std::move(*u);
  else impl_->config_error = std::move(u).error().at("openai_model_options.base_url");
  if (!o.api_key_env.empty()) {
    if (const char* key = std::getenv(o.api_key_env.c_str()); key && *key) impl_->api_key = key;
    else if (!impl_->config_error)
      impl_->config_error = error(errc::invalid_argument,
                                  fmt::format("environment variable '{}' (the API key) is not set", o.api_key_env));
  }
  if (impl_->url && impl_->url->tls && !impl_->config_error) {
    impl_->tls = std::make_shared<ssl::context>(ssl::context::tls_client);
    beast::error_code ec;
    impl_->tls->set_default_verify_paths(ec);
    if (!o.ca_file.empty()) {
      impl_->tls->load_verify_file(o.ca_file, ec);
      if (ec) impl_->config_error = error(errc::invalid_argument, fmt::format("cannot load CA file: {}", ec.message())).at(o.ca_file);
    }
    impl_->tls->set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
  }
}

openai_compatible_model::~openai_compatible_model() = default;

std::string openai_compatible_model::name() const { return "openai:" + impl_->opts.model; }
std::int64_t openai_compatible_model::context_length() const { return impl_->opts.context_length; }

openai_connection_stats openai_compatible_model::connection_stats() const {
  const auto& p = impl_->pool;
  return {p.n_connects.load(), p.n_reused.load(), p.n_stale_retries.load(), p.n_idle()};
}

void openai_compatible_model::close_idle() { impl_->pool.close_idle(); }

boost::json::object openai_compatible_model::request_body(const model_request& request) const {
  return detail::openai_request_body(request, impl_->opts.model, impl_->opts.stream);
}

asio::awaitable<result<model_response>> openai_compatible_model::complete(model_request request) {
  co_await asio::this_coro::throw_if_cancelled(false);
  auto self = impl_;  // the model may be destroyed only after its requests; keep state for this one
  if (self->config_error) co_return *self->config_error;
  const auto& o = self->opts;
  const std::string body = json::serialize(request_body(request));
  const auto where = fmt::format("POST {}://{}:{}{}", self->url->tls ? "https" : "http", self->url->host,
                                 self->url->port, self->url->target);
  const auto deadline = clock_type::now() + o.total_timeout;
  auto ex = co_await asio::this_coro::executor;
  for (int attempt = 1;; ++attempt) {
    auto out = co_await self->attempt(body, request.stream, deadline);
    if (out.response) co_return std::move(out.response);
    if (!retryable_status(out.status) || attempt >= std::max(1, o.max_attempts))
      co_return std::move(out.response).error().at(where);
    auto delay = out.retry_after.value_or(o.retry_base_delay * (1 << std::min(attempt - 1, 10)));
    if (delay > o.max_retry_after || clock_type::now() + delay >= deadline)
      co_return std::move(out.response).error().at(where);
    asio::steady_timer wait(ex, delay);
    if (std::get<0>(co_await wait.async_wait(use_tuple)))
      co_return error(errc::cancelled, "cancelled while waiting to retry").at(where);
  }
}

}  // namespace tern::agent
