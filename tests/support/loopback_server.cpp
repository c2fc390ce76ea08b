#include "loopback_server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <stdexcept>
#include <thread>

namespace tern::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
         });
}
}  // namespace

const std::string* test_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

struct server_connection::impl {
  std::optional<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  int index = 0;
  std::atomic<int>* n_requests = nullptr;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

server_connection::server_connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
server_connection::~server_connection() = default;
int server_connection::index() const noexcept { return impl_->index; }

asio::awaitable<std::optional<test_request>> server_connection::read_request() {
  http::request_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  impl_->lowest().expires_after(std::chrono::seconds(10));
  boost::system::error_code ec;
  if (impl_->tls) std::tie(ec, std::ignore) = co_await http::async_read(*impl_->tls, impl_->buffer, parser, use_tuple);
  else std::tie(ec, std::ignore) = co_await http::async_read(*impl_->plain, impl_->buffer, parser, use_tuple);
  if (ec) co_return std::nullopt;
  auto& m = parser.get();
  test_request r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  for (const auto& f : m) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.body = std::move(m.body());
  ++*impl_->n_requests;
  co_return r;
}

asio::awaitable<bool> server_connection::respond(const test_response& response) {
  http::response<http::string_body> m;
  m.version(11);
  m.result(static_cast<unsigned>(response.status));
  bool has_type = false;
  for (const auto& [k, v] : response.headers) {
    m.insert(k, v);
    has_type = has_type || iequals(k, "content-type");
  }
  if (!has_type) m.set(http::field::content_type, "application/json");
  m.body() = response.body;
  m.keep_alive(!response.close);
  if (response.chunked) m.chunked(true);
  else m.prepare_payload();
  impl_->lowest().expires_after(std::chrono::seconds(30));
  boost::system::error_code ec;
  if (impl_->tls) std::tie(ec, std::ignore) = co_await http::async_write(*impl_->tls, m, use_tuple);
  else std::tie(ec, std::ignore) = co_await http::async_write(*impl_->plain, m, use_tuple);
  if (!ec && response.close) close();
  co_return !ec;
}

asio::awaitable<bool> server_connection::write_raw(std::string_view bytes) {
  impl_->lowest().expires_after(std::chrono::seconds(30));
  boost::system::error_code ec;
  if (impl_->tls)
    std::tie(ec, std::ignore) = co_await asio::async_write(*impl_->tls, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  else
    std::tie(ec, std::ignore) = co_await asio::async_write(*impl_->plain, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  co_return !ec;
}

asio::awaitable<void> server_connection::sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_tuple);
}

void server_connection::reset() {
  boost::system::error_code ec;
  auto& s = impl_->lowest().socket();
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

void server_connection::close() {
  boost::system::error_code ec;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->lowest().socket().close(ec);
}

struct loopback_server::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls_context;
  connection_handler handler;
  std::atomic<int> n_connections{0};
  std::atomic<int> n_requests{0};
  unsigned short port = 0;
  std::thread thread;

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      auto c = std::make_unique<server_connection::impl>();
      c->index = n_connections++;
      c->n_requests = &n_requests;
      if (tls_context) {
        c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *tls_context);
      } else {
        c->plain.emplace(std::move(socket));
      }
      asio::co_spawn(io, run_connection(std::move(c)), asio::detached);
    }
  }

  asio::awaitable<void> run_connection(std::unique_ptr<server_connection::impl> c) {
    if (c->tls) {
      c->lowest().expires_after(std::chrono::seconds(10));
      auto [ec] = co_await c->tls->async_handshake(ssl::stream_base::server, use_tuple);
      if (ec) co_return;  // a client that refused our certificate
    }
    server_connection conn(std::move(c));
    try {
      co_await handler(conn);
    } catch (const std::exception&) {
      // A test handler's failure shows up in the client's result; the server carries on.
    }
  }
};

loopback_server::loopback_server(connection_handler handler, std::optional<tls_identity> tls)
    : impl_(std::make_shared<impl>()) {
  impl_->handler = std::move(handler);
  if (tls) {
    impl_->tls_context.emplace(ssl::context::tls_server);
    impl_->tls_context->use_certificate_chain(asio::buffer(tls->cert_pem));
    impl_->tls_context->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([p = impl_.get()] { p->io.run(); });
}

loopback_server::~loopback_server() {
  impl_->io.stop();
  impl_->thread.join();
}

connection_handler loopback_server::serve(request_handler fn) {
  return [fn = std::move(fn)](server_connection& c) -> asio::awaitable<void> {
    while (auto req = co_await c.read_request()) {
      auto res = fn(*req);
      if (!co_await c.respond(res) || res.close) co_return;
    }
  };
}

unsigned short loopback_server::port() const noexcept { return impl_->port; }
std::string loopback_server::url(std::string_view path) const {
  return std::string(impl_->tls_context ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port) +
         std::string(path);
}
int loopback_server::n_connections() const noexcept { return impl_->n_connections.load(); }
int loopback_server::n_requests() const noexcept { return impl_->n_requests.load(); }

tls_identity make_test_certificate(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EC key generation failed");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tern test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")}}) {
    if (value.empty()) continue;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) throw std::runtime_error("cannot build certificate extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());

  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  tls_identity id;
  id.cert_pem = to_pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
  id.key_pem = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return id;
}

}  // namespace tern::test
