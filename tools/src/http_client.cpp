// The HTTP client's Beast and OpenSSL code; the only file that includes them
// (apart from the URL helpers in url.cpp), to keep compile times down.
#include <tern/tools/http_client.hpp>

#include "url.hpp"

#include <tern/core/clock.hpp>
#include <tern/core/log.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <iomanip>
#include <random>
#include <sstream>
#include <unordered_map>

namespace tern::tools {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

milliseconds ms_until(mono_clock::time_point deadline) {
  auto d = std::chrono::duration_cast<milliseconds>(deadline - mono_clock::now());
  return d.count() > 0 ? d : milliseconds(0);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower((unsigned char)x) == std::tolower((unsigned char)y); });
}

bool is_connection_lost(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

struct connection {
  std::string key;  // "https://host:port"
  std::optional<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  mono_clock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }
};

struct host_pool {
  std::vector<std::unique_ptr<connection>> idle;  // most recently used last
  std::size_t n_open = 0;                         // idle + busy
  std::deque<std::shared_ptr<asio::steady_timer>> waiters;
};

// What one exchange on one connection produced.
struct exchange_result {
  std::optional<http_response> response;
  std::optional<tern::error> err;
  bool stale = false;       // a reused connection was found closed before any response byte
  bool retryable = false;   // a transport failure or timeout (not a limit or a malformed reply)
};

}  // namespace

struct http_client::impl : std::enable_shared_from_this<http_client::impl> {
  impl(asio::any_io_executor ex, http_client_options opts)
      : executor(std::move(ex)), options(std::move(opts)), tls_context(ssl::context::tls_client),
        rng(std::random_device{}()) {
    boost::system::error_code ec;
    tls_context.set_default_verify_paths(ec);
    if (ec) tls_setup_error = fmt::format("cannot load the system CA store: {}", ec.message());
    if (!options.ca_file.empty()) {
      tls_context.load_verify_file(options.ca_file, ec);
      if (ec) tls_setup_error = fmt::format("cannot load CA file '{}': {}", options.ca_file, ec.message());
    }
    tls_context.set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none, ec);
  }

  asio::any_io_executor executor;
  http_client_options options;
  ssl::context tls_context;
  std::string tls_setup_error;
  std::unordered_map<std::string, host_pool> pools;
  http_client_stats stats;
  std::mt19937_64 rng;

  void release(std::unique_ptr<connection> c, bool keep) {
    auto& p = pools[c->key];
    if (keep && p.idle.size() < options.max_idle_per_host) {
      c->idle_since = mono_clock::now();
      p.idle.push_back(std::move(c));
    } else {
      c->close();
      --p.n_open;
    }
    wake_one(p);
  }
  // A connection slot was reserved but no connection came of it.
  void release_slot(const std::string& key) {
    auto& p = pools[key];
    --p.n_open;
    wake_one(p);
  }
  static void wake_one(host_pool& p) {
    if (p.waiters.empty()) return;
    auto t = std::move(p.waiters.front());
    p.waiters.pop_front();
    t->cancel();
  }
  void drop_expired(host_pool& p) {
    auto now = mono_clock::now();
    auto keep_from = std::partition(p.idle.begin(), p.idle.end(),
                                    [&](const auto& c) { return now - c->idle_since >= options.idle_timeout; });
    for (auto it = p.idle.begin(); it != keep_from; ++it) {
      (*it)->close();
      --p.n_open;
    }
    p.idle.erase(p.idle.begin(), keep_from);
  }

  milliseconds backoff(int attempt) {
    auto d = options.retry.base_delay * (1ll << std::min(attempt - 1, 20));
    d = std::min<milliseconds>(d, options.retry.max_delay);
    if (options.retry.jitter && d.count() > 1) {
      std::uniform_int_distribution<long long> dist(d.count() / 2, d.count());
      d = milliseconds(dist(rng));
    }
    return d;
  }

  asio::awaitable<result<std::unique_ptr<connection>>> connect(const url_target& t, mono_clock::time_point deadline);
  asio::awaitable<result<std::pair<std::unique_ptr<connection>, bool>>> acquire(const url_target& t,
                                                                                 mono_clock::time_point deadline);
  asio::awaitable<exchange_result> exchange(connection& c, bool reused, const http_request& req, const url_target& t,
                                            mono_clock::time_point deadline, bool& keep_alive);
  asio::awaitable<exchange_result> send_once(const http_request& req, const url_target& t,
                                             mono_clock::time_point deadline);
  asio::awaitable<result<http_response>> run(http_request req);
};

namespace {

asio::awaitable<bool> was_cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

tern::error cancelled_error() { return fail(errc::cancelled, "request cancelled"); }

std::string describe_ec(const boost::system::error_code& ec) {
  // For TLS errors Asio's message is OpenSSL's reason ("certificate verify failed").
  return ec.message();
}

}  // namespace

asio::awaitable<result<std::unique_ptr<connection>>> http_client::impl::connect(const url_target& t,
                                                                                mono_clock::time_point deadline) {
  auto budget = std::min(options.connect_timeout, ms_until(deadline));
  auto connect_deadline = mono_clock::now() + budget;
  auto where = fmt::format("connect to {}:{}", t.host, t.port);
  if (t.tls && !tls_setup_error.empty()) co_return fail(errc::transport, tls_setup_error).at(where);

  tcp::resolver resolver(executor);
  asio::steady_timer timer(executor, budget);
  auto raced = co_await (resolver.async_resolve(t.host, t.port, use_tuple) || timer.async_wait(use_tuple));
  if (raced.index() == 1) {
    if (co_await was_cancelled()) co_return cancelled_error();
    co_return fail(errc::timeout, fmt::format("name resolution timed out after {} ms", budget.count())).at(where);
  }
  auto [rec, endpoints] = std::get<0>(std::move(raced));
  if (rec) {
    if (co_await was_cancelled()) co_return cancelled_error();
    co_return fail(errc::transport, fmt::format("cannot resolve host: {}", rec.message())).at(where);
  }

  auto c = std::make_unique<connection>();
  c->key = t.key;
  if (t.tls) c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, tls_context);
  else c->plain.emplace(executor);

  c->lowest().expires_after(ms_until(connect_deadline));
  auto [cec, ep] = co_await c->lowest().async_connect(endpoints, use_tuple);
  if (cec) {
    if (cec == beast::error::timeout)
      co_return fail(errc::timeout, fmt::format("connect timed out after {} ms", budget.count())).at(where);
    if (co_await was_cancelled()) co_return cancelled_error();
    co_return fail(errc::transport, cec.message()).at(where);
  }
  c->lowest().socket().set_option(tcp::no_delay(true));

  if (t.tls) {
    boost::system::error_code ip_ec;
    asio::ip::make_address(t.host, ip_ec);
    if (ip_ec && !SSL_set_tlsext_host_name(c->tls->native_handle(), t.host.c_str()))
      co_return fail(errc::transport, "cannot set TLS server name").at(where);
    if (options.verify_peer) c->tls->set_verify_callback(ssl::host_name_verification(t.host));
    c->lowest().expires_after(ms_until(connect_deadline));
    auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
      if (hec == beast::error::timeout)
        co_return fail(errc::timeout, fmt::format("TLS handshake timed out after {} ms", budget.count())).at(where);
      if (co_await was_cancelled()) co_return cancelled_error();
      co_return fail(errc::transport, "TLS handshake failed: " + describe_ec(hec)).at(where);
    }
  }
  ++stats.n_connects;
  co_return std::move(c);
}

asio::awaitable<result<std::pair<std::unique_ptr<connection>, bool>>> http_client::impl::acquire(
    const url_target& t, mono_clock::time_point deadline) {
  auto self = shared_from_this();
  for (;;) {
    auto& p = pools[t.key];
    drop_expired(p);
    if (!p.idle.empty()) {
      auto c = std::move(p.idle.back());
      p.idle.pop_back();
      co_return std::pair{std::move(c), true};
    }
    if (p.n_open < std::max<std::size_t>(options.max_connections_per_host, 1)) {
      ++p.n_open;
      auto c = co_await connect(t, deadline);
      if (!c) {
        release_slot(t.key);
        co_return std::move(c).error();
      }
      co_return std::pair{std::move(*c), false};
    }
    // The host is at its limit: wait for a release (which cancels our timer) or the deadline.
    auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
    p.waiters.push_back(timer);
    auto [ec] = co_await timer->async_wait(use_tuple);
    auto& again = pools[t.key];
    again.waiters.erase(std::remove(again.waiters.begin(), again.waiters.end(), timer), again.waiters.end());
    if (!ec)
      co_return fail(errc::timeout, fmt::format("no free connection to {} before the deadline ({} open)", t.key,
                                                again.n_open));
    if (co_await was_cancelled()) co_return cancelled_error();
  }
}

asio::awaitable<exchange_result> http_client::impl::exchange(connection& c, bool reused, const http_request& req,
                                                             const url_target& t, mono_clock::time_point deadline,
                                                             bool& keep_alive) {
  exchange_result out;
  keep_alive = false;
  auto where = fmt::format("{} {}", req.method, t.key + t.target);

  http::request<http::string_body> msg;
  msg.method_string(req.method);
  msg.target(t.target);
  msg.version(11);
  msg.set(http::field::host, t.host_header);
  msg.set(http::field::user_agent, options.user_agent);
  for (const auto& h : req.headers) {
    if (iequals(h.name, "host") || iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding")) continue;
    msg.insert(h.name, h.value);
  }
  msg.body() = req.body;
  msg.keep_alive(true);
  msg.prepare_payload();

  auto step_expiry = [&] { return std::min(options.read_timeout, ms_until(deadline)); };
  auto timeout_error = [&](std::string_view step) {
    if (ms_until(deadline).count() == 0)
      return fail(errc::timeout, fmt::format("no complete response before the request deadline ({})", step)).at(where);
    return fail(errc::timeout, fmt::format("server sent nothing for {} ms ({})", options.read_timeout.count(), step))
        .at(where);
  };
  auto map_error = [&](const boost::system::error_code& ec, std::string_view step) -> exchange_result {
    exchange_result r;
    if (ec == beast::error::timeout) {
      r.err = timeout_error(step);
      r.retryable = true;
    } else if (ec == http::error::body_limit) {
      r.err = fail(errc::limit_exceeded, fmt::format("response body larger than {} bytes", options.max_body_bytes)).at(where);
    } else if (ec == http::error::header_limit) {
      r.err = fail(errc::limit_exceeded, fmt::format("response header larger than {} bytes", options.max_header_bytes)).at(where);
    } else if (is_connection_lost(ec) || ec.category() == asio::error::get_system_category() ||
               ec.category() == asio::error::get_ssl_category()) {
      r.err = fail(errc::transport, fmt::format("connection lost while {}: {}", step, describe_ec(ec))).at(where);
      r.retryable = true;
    } else if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      r.err = fail(errc::bad_response, fmt::format("malformed HTTP response: {}", ec.message())).at(where);
    } else {
      r.err = fail(errc::transport, fmt::format("{}: {}", step, describe_ec(ec))).at(where);
      r.retryable = true;
    }
    return r;
  };

  ++stats.n_sent;
  if (reused) ++stats.n_reused;
  c.lowest().expires_after(step_expiry());
  boost::system::error_code wec;
  if (c.tls) std::tie(wec, std::ignore) = co_await http::async_write(*c.tls, msg, use_tuple);
  else std::tie(wec, std::ignore) = co_await http::async_write(*c.plain, msg, use_tuple);
  if (wec) {
    if (co_await was_cancelled()) {
      out.err = cancelled_error().at(where);
      co_return out;
    }
    out = map_error(wec, "sending the request");
    out.stale = reused && is_connection_lost(wec);
    co_return out;
  }

  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_bytes, UINT32_MAX)));
  parser.body_limit(options.max_body_bytes);
  if (req.method == "HEAD") parser.skip(true);

  c.lowest().expires_after(step_expiry());
  boost::system::error_code rec;
  if (c.tls) std::tie(rec, std::ignore) = co_await http::async_read_header(*c.tls, c.buffer, parser, use_tuple);
  else std::tie(rec, std::ignore) = co_await http::async_read_header(*c.plain, c.buffer, parser, use_tuple);
  while (!rec && !parser.is_done()) {
    if (ms_until(deadline).count() == 0) {
      rec = beast::error::timeout;
      break;
    }
    c.lowest().expires_after(step_expiry());
    if (c.tls) std::tie(rec, std::ignore) = co_await http::async_read_some(*c.tls, c.buffer, parser, use_tuple);
    else std::tie(rec, std::ignore) = co_await http::async_read_some(*c.plain, c.buffer, parser, use_tuple);
  }
  if (rec) {
    if (co_await was_cancelled()) {
      out.err = cancelled_error().at(where);
      co_return out;
    }
    out = map_error(rec, parser.is_header_done() ? "reading the response body" : "waiting for the response");
    out.stale = reused && !parser.got_some() && is_connection_lost(rec);
    co_return out;
  }
  c.lowest().expires_never();

  auto& res = parser.get();
  http_response r;
  r.status = static_cast<int>(res.result_int());
  r.reason = std::string(res.reason());
  for (const auto& f : res) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  r.body = std::move(res.body());
  r.url = t.url;
  keep_alive = res.keep_alive() && !parser.need_eof();
  out.response = std::move(r);
  co_return out;
}

asio::awaitable<exchange_result> http_client::impl::send_once(const http_request& req, const url_target& t,
                                                              mono_clock::time_point deadline) {
  // A pooled connection the server has closed meanwhile fails at once; that is
  // not a failure of this request, so it goes again on a fresh connection
  // (a bounded number of times: each stale connection leaves the pool).
  for (int n_stale = 0;; ++n_stale) {
    auto got = co_await acquire(t, deadline);
    if (!got) {
      exchange_result r;
      r.retryable = got.error().code() == errc::transport || got.error().code() == errc::timeout;
      r.err = std::move(got).error();
      co_return r;
    }
    auto [conn, reused] = std::move(*got);
    bool keep = false;
    auto r = co_await exchange(*conn, reused, req, t, deadline, keep);
    release(std::move(conn), keep && r.response.has_value());
    if (r.stale && n_stale < 4) continue;
    co_return r;
  }
}

namespace {

bool is_redirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

}  // namespace

asio::awaitable<result<http_response>> http_client::impl::run(http_request req) {
  auto self = shared_from_this();
  ++stats.n_requests;
  auto total = req.timeout.count() > 0 ? req.timeout : options.total_timeout;
  auto deadline = mono_clock::now() + total;
  bool idempotent = req.idempotent.value_or(is_idempotent_method(req.method));
  int n_attempts = 0;
  int n_redirects = 0;

  TERN_CO_TRY(auto target, parse_url_target(req.url));
  for (;;) {
    ++n_attempts;
    auto r = co_await send_once(req, target, deadline);
    if (r.err && r.err->code() == errc::cancelled) co_return std::move(*r.err);

    // Decide whether to go again, and after how long.
    std::optional<milliseconds> delay;
    bool can_retry = n_attempts < options.retry.max_attempts;
    if (r.err) {
      if (can_retry && r.retryable && idempotent && ms_until(deadline).count() > 0) delay = backoff(n_attempts);
      if (!delay) co_return std::move(*r.err).at(fmt::format("after {} attempt{}", n_attempts, n_attempts == 1 ? "" : "s"));
    } else {
      auto& res = *r.response;
      res.n_attempts = n_attempts;
      res.n_redirects = n_redirects;
      bool retry_status = res.status == 429 || res.status == 503 ||
                          (idempotent && (res.status == 500 || res.status == 502 || res.status == 504));
      if (can_retry && retry_status) {
        delay = backoff(n_attempts);
        if (auto* ra = res.header("Retry-After")) {
          if (auto parsed = parse_retry_after(*ra)) {
            delay = *parsed;
            if (*parsed > options.retry.max_retry_after) delay.reset();
          }
        }
        // Waiting past the deadline only to fail: hand the answer back now.
        if (delay && *delay >= ms_until(deadline)) delay.reset();
      }
      if (!delay) {
        if (is_redirect(res.status) && options.max_redirects > 0) {
          auto* location = res.header("Location");
          if (!location) co_return std::move(res);
          if (n_redirects >= options.max_redirects)
            co_return fail(errc::limit_exceeded, fmt::format("more than {} redirects (last to {})",
                                                             options.max_redirects, *location))
                .at(fmt::format("{} {}", req.method, req.url));
          TERN_CO_TRY(auto next_url, resolve_url(target.url, *location));
          TERN_CO_TRY(auto next, parse_url_target(next_url));
          ++n_redirects;
          if (res.status == 303 || ((res.status == 301 || res.status == 302) && req.method == "POST")) {
            req.method = req.method == "HEAD" ? "HEAD" : "GET";
            req.body.clear();
            std::erase_if(req.headers, [](const http_header& h) { return iequals(h.name, "content-type"); });
          }
          // Credentials are for the host they were given for.
          if (next.key != target.key)
            std::erase_if(req.headers, [](const http_header& h) {
              return iequals(h.name, "authorization") || iequals(h.name, "proxy-authorization") ||
                     iequals(h.name, "cookie");
            });
          target = std::move(next);
          --n_attempts;  // a redirect is not a retry
          continue;
        }
        co_return std::move(res);
      }
    }

    ++stats.n_retries;
    log::debug("http: retrying {} {} in {} ms (attempt {} of {})", req.method, target.url, delay->count(),
               n_attempts + 1, options.retry.max_attempts);
    asio::steady_timer timer(executor, std::min(*delay, ms_until(deadline)));
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec && co_await was_cancelled()) co_return cancelled_error().at(fmt::format("{} {}", req.method, req.url));
  }
}

http_client::http_client(asio::any_io_executor executor, http_client_options options)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options))) {}

http_client::~http_client() {
  if (impl_) close_idle();
}

asio::awaitable<result<http_response>> http_client::request(http_request req) {
  auto self = impl_;  // in-flight requests keep the pool alive
  // Failures are values here, cancellation included: an Asio operation started
  // after a cancellation must report it rather than throw.
  bool old_throw = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  auto r = co_await self->run(std::move(req));
  co_await asio::this_coro::throw_if_cancelled(old_throw);
  co_return r;
}

void http_client::close_idle() {
  for (auto& [key, p] : impl_->pools) {
    for (auto& c : p.idle) {
      c->close();
      --p.n_open;
    }
    p.idle.clear();
  }
}

std::size_t http_client::n_idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, p] : impl_->pools) n += p.idle.size();
  return n;
}

const http_client_stats& http_client::stats() const noexcept { return impl_->stats; }
const http_client_options& http_client::options() const noexcept { return impl_->options; }
asio::any_io_executor http_client::executor() const { return impl_->executor; }

const std::string* http_response::header(std::string_view name) const noexcept {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

bool is_idempotent_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return milliseconds(std::numeric_limits<int>::max());
    return milliseconds(std::stoll(std::string(value)) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (the only form senders must use).
  std::tm tm{};
  std::istringstream in{std::string(value)};
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S GMT");
  if (in.fail()) return std::nullopt;
  // HTTP-dates are wall-clock times; this is the one place a wall clock is right.
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto d = std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
  return d.count() > 0 ? d : milliseconds(0);
}

}  // namespace tern::tools
