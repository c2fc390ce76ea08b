// The HTTP layer: an acceptor coroutine and one coroutine per connection,
// each on its own strand. Every read and write has a deadline (a slow or
// silent client is dropped when it passes), headers and bodies have limits,
// and a parse failure is answered with a 4xx and the connection closed.
#include <tern/travel/server.hpp>

#include "handler.hpp"

#include <tern/core/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <atomic>
#include <exception>
#include <tuple>
#include <list>
#include <mutex>

namespace tern::travel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Per-connection state the server can reach to stop it.
struct connection {
  explicit connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool busy = false;  // handling or answering a request (on the strand)
};

http::response<http::string_body> to_beast(http_response&& r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "tern-travel-api");
  res.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(r.body.size());
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::io_context& ctx, server_options o) : io(ctx), options(std::move(o)), acceptor(asio::make_strand(ctx)) {}

  asio::io_context& io;
  server_options options;
  std::unique_ptr<api> handler;
  tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards connections
  std::list<std::weak_ptr<connection>> connections;
  std::atomic<std::size_t> n_open{0};

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(std::shared_ptr<connection> c);
  void stop();
};

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), use_tuple);  // a strand per connection
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) break;
      log::warn("travel api: accept: {}", ec.message());
      continue;  // e.g. too many open files: keep serving the connections we have
    }
    if (n_open >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto c = std::make_shared<connection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      connections.remove_if([](const std::weak_ptr<connection>& w) { return w.expired(); });
      connections.push_back(c);
    }
    ++n_open;
    auto ex = c->stream.get_executor();
    asio::co_spawn(ex, session(std::move(c)), asio::detached);
  }
}

asio::awaitable<void> server::impl::session(std::shared_ptr<connection> c) {
  auto self = shared_from_this();
  struct open_count {
    std::atomic<std::size_t>& n;
    ~open_count() { --n; }
  } count{n_open};
  beast::flat_buffer buffer;
  buffer.max_size(options.header_limit + options.body_limit + 4096);
  for (;;) {
    if (stopping) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    c->stream.expires_after(options.io_timeout);
    auto [ec, n] = co_await http::async_read_header(c->stream, buffer, parser, use_tuple);
    if (!ec && !parser.is_done()) {
      // RFC 9110 10.1.1: a client that sent "Expect: 100-continue" waits for
      // this before sending the body (curl does, for bodies over 1 KiB).
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        std::tie(ec, n) = co_await http::async_write(c->stream, go_on, use_tuple);
      }
      if (!ec) std::tie(ec, n) = co_await http::async_read(c->stream, buffer, parser, use_tuple);
    }
    if (ec) {
      // A clean close, a timeout or a stop: nothing to answer.
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof)
        break;
      int status = 400;
      std::string code = "bad_request";
      std::string message = fmt::format("malformed HTTP request: {}", ec.message());
      if (ec == http::error::header_limit) {
        status = 431;
        code = "headers_too_large";
        message = fmt::format("request headers exceed {} bytes", options.header_limit);
      } else if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
        status = 413;
        code = "payload_too_large";
        message = fmt::format("request body exceeds {} bytes", options.body_limit);
      }
      auto res = to_beast(detail::error_response(status, code, message), 11, false, false);
      c->busy = true;
      c->stream.expires_after(options.io_timeout);
      co_await http::async_write(c->stream, res, use_tuple);
      break;
    }
    c->busy = true;
    auto& req = parser.get();
    http_request in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.body = std::move(req.body());
    if (auto it = req.find("Idempotency-Key"); it != req.end()) in.idempotency_key = std::string(it->value());
    if (auto it = req.find(http::field::content_type); it != req.end()) in.content_type = std::string(it->value());
    const bool head = req.method() == http::verb::head;
    const bool keep_alive = req.keep_alive() && !stopping;
    http_response out;
    try {
      out = handler->handle(in);
    } catch (const std::exception& e) {
      // handle() does not throw by contract; if it ever does, that is our bug:
      // report it and answer 500 instead of taking the server down.
      log::error("travel api: {} {}: unexpected exception: {}", in.method, in.target, e.what());
      out = detail::error_response(500, "internal", "internal error");
    }
    auto res = to_beast(std::move(out), req.version(), keep_alive, head);
    c->stream.expires_after(options.io_timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, res, use_tuple);
    c->busy = false;
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c->stream.close();
}

void server::impl::stop() {
  if (stopping.exchange(true)) return;
  auto self = shared_from_this();
  asio::post(acceptor.get_executor(), [self] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
  });
  std::lock_guard lock(mu);
  for (auto& w : connections) {
    if (auto c = w.lock()) {
      // On the connection's strand: an idle connection (waiting for a
      // request) is cancelled now; a busy one finishes its response first.
      asio::post(c->stream.get_executor(), [c] {
        if (!c->busy) c->stream.cancel();
      });
    }
  }
}

server::server(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
server::~server() {
  if (impl_) impl_->stop();
}

const std::string& server::host() const noexcept { return impl_->options.host; }
std::uint16_t server::port() const noexcept { return impl_->bound_port; }
void server::stop() { impl_->stop(); }

result<std::unique_ptr<server>> server::start(asio::io_context& io, const server_options& options) {
  auto p = std::make_shared<impl>(io, options);
  TERN_TRY(p->handler, api::open({.db_path = options.db_path, .seed = options.seed}));
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return fail(errc::invalid_argument, fmt::format("not an IP address: '{}'", options.host)).at("--host");
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = fmt::format("{}:{}", options.host, options.port);
  p->acceptor.open(endpoint.protocol(), ec);
  if (!ec) p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) p->acceptor.bind(endpoint, ec);
  if (!ec) p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(errc::io_error, ec.message()).at(where);
  p->bound_port = p->acceptor.local_endpoint(ec).port();
  if (ec) return fail(errc::io_error, ec.message()).at(where);
  p->handler->set_base_url(address.is_v6() ? fmt::format("http://[{}]:{}", options.host, p->bound_port)
                                           : fmt::format("http://{}:{}", options.host, p->bound_port));
  asio::co_spawn(p->acceptor.get_executor(), p->accept_loop(), asio::detached);
  return std::unique_ptr<server>(new server(std::move(p)));
}

}  // namespace tern::travel
