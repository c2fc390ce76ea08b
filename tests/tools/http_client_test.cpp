// The HTTP client against loopback servers that behave, and that misbehave on
// purpose. Each fault must end as the right error value within its timeout,
// and the same client must then still work.
#include <tern/core/clock.hpp>
#include <tern/tools/http_client.hpp>

#include "async_test.hpp"
#include "loopback_server.hpp"
#include "temp_file.hpp"

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace tern::tools;
using tern::errc;
using tern::test::loopback_server;
using tern::test::server_connection;
using tern::test::test_request;
using tern::test::test_response;

namespace {

http_client_options fast_options() {
  http_client_options o;
  o.connect_timeout = 2000ms;
  o.read_timeout = 2000ms;
  o.total_timeout = 5000ms;
  o.retry.base_delay = 10ms;
  o.retry.jitter = false;
  return o;
}

// A server whose every request gets {"path":TARGET,"n":COUNT}.
loopback_server echo_server() {
  auto n = std::make_shared<std::atomic<int>>(0);
  return loopback_server(loopback_server::serve([n](const test_request& r) {
    return test_response{200, R"({"path":")" + r.target + R"(","n":)" + std::to_string(++*n) + "}"};
  }));
}

// Issues one GET with `client` and then checks the client still works
// against a healthy server: the fault must not leave it broken.
asio::awaitable<void> expect_usable(http_client& client) {
  static loopback_server healthy = echo_server();
  auto r = co_await client.request({"GET", healthy.url("/after")});
  REQUIRE(r);
  CHECK(r->status == 200);
}

http_request with_timeout(std::string url, std::chrono::milliseconds timeout) {
  http_request r("GET", std::move(url));
  r.timeout = timeout;
  return r;
}

// co_spawn and the || operator need a default-constructible result type.
asio::awaitable<std::optional<tern::result<http_response>>> request_opt(http_client& c, http_request r) {
  co_return co_await c.request(std::move(r));
}

// A handler that reads the request, then never answers (for 60 s).
const tern::test::connection_handler silent = [](server_connection& c) -> asio::awaitable<void> {
  auto req = co_await c.read_request();
  if (req) co_await c.sleep(60s);
};

}  // namespace

TEST_CASE("http: GET and POST over one keep-alive connection") {
  loopback_server server(loopback_server::serve([](const test_request& r) {
    test_response res{200, R"({"method":")" + r.method + R"(","body":")" + r.body + "\"}"};
    if (auto* h = r.header("X-Test")) res.headers.push_back({"X-Echo", *h});
    if (r.target == "/chunked") res.chunked = true;
    return res;
  }));
  auto [stats, bodies] = tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<std::pair<http_client_stats, std::vector<std::string>>> {
    http_client client(io.get_executor(), fast_options());
    std::vector<std::string> bodies;
    // (Headers are pushed, not brace-initialised: GCC 12 miscompiles nested
    // braces of string literals inside a co_await expression.)
    http_request first("GET", server.url("/a"));
    first.headers.push_back({"X-Test", "yes"});
    auto a = co_await client.request(std::move(first));
    REQUIRE(a);
    CHECK(a->status == 200);
    REQUIRE(a->header("x-echo"));
    CHECK(*a->header("x-echo") == "yes");
    bodies.push_back(a->body);
    auto b = co_await client.request({"POST", server.url("/b"), "hello"});
    REQUIRE(b);
    bodies.push_back(b->body);
    auto c = co_await client.request({"GET", server.url("/chunked")});
    REQUIRE(c);
    CHECK(c->header("transfer-encoding"));
    bodies.push_back(c->body);
    CHECK(client.n_idle_connections() == 1);
    co_return std::pair{client.stats(), bodies};
  });
  CHECK(bodies == std::vector<std::string>{R"({"method":"GET","body":""})", R"({"method":"POST","body":"hello"})",
                                           R"({"method":"GET","body":""})"});
  CHECK(server.n_connections() == 1);
  CHECK(stats.n_connects == 1);
  CHECK(stats.n_reused == 2);
}

TEST_CASE("http fault: no response is a timeout after read_timeout, then the client still works") {
  loopback_server server(silent);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.read_timeout = 300ms;
    o.retry.max_attempts = 1;
    http_client client(io.get_executor(), o);
    tern::stopwatch sw;
    auto r = co_await client.request({"GET", server.url("/hang")});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::timeout);
    CHECK(r.error().describe().find("server sent nothing for 300 ms (waiting for the response)") != std::string::npos);
    CHECK(sw.elapsed_ms() >= 250);
    CHECK(sw.elapsed_ms() < 2000);
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http fault: a silent server is retried for GET, never past the total deadline") {
  loopback_server server(silent);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.read_timeout = 200ms;
    o.retry.max_attempts = 3;
    http_client client(io.get_executor(), o);
    auto r = co_await client.request({"GET", server.url("/hang")});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::timeout);
    CHECK(r.error().describe().rfind("after 3 attempts: ", 0) == 0);
    CHECK(server.n_requests() == 3);

    // A POST is not retried after it was sent.
    auto p = co_await client.request({"POST", server.url("/hang"), "{}"});
    REQUIRE_FALSE(p);
    CHECK(server.n_requests() == 4);

    // The request deadline bounds everything, retries included.
    tern::stopwatch sw;
    auto d = co_await client.request(with_timeout(server.url("/hang"), 300ms));
    REQUIRE_FALSE(d);
    CHECK(d.error().code() == errc::timeout);
    CHECK(sw.elapsed_ms() < 1500);
    co_return true;
  });
}

TEST_CASE("http fault: a slow drip is cut off by the total deadline") {
  loopback_server server([](server_connection& c) -> asio::awaitable<void> {
    if (!co_await c.read_request()) co_return;
    if (!co_await c.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")) co_return;
    for (int i = 0; i < 100000; ++i) {
      co_await c.sleep(20ms);
      if (!co_await c.write_raw("x")) co_return;
    }
  });
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.read_timeout = 1000ms;  // each byte comes well within this
    o.retry.max_attempts = 1;
    http_client client(io.get_executor(), o);
    tern::stopwatch sw;
    auto r = co_await client.request(with_timeout(server.url("/drip"), 500ms));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::timeout);
    CHECK(r.error().describe().find("no complete response before the request deadline (reading the response body)") !=
          std::string::npos);
    CHECK(sw.elapsed_ms() >= 450);
    CHECK(sw.elapsed_ms() < 2000);
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http fault: a connection reset is a transport error; GET retries and succeeds") {
  std::atomic<int> n{0};
  loopback_server server([&](server_connection& c) -> asio::awaitable<void> {
    while (auto req = co_await c.read_request()) {
      if (n++ == 0 || req->method == "POST") {
        c.reset();
        co_return;
      }
      co_await c.respond({200, "{}"});
    }
  });
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    auto r = co_await client.request({"GET", server.url("/x")});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->n_attempts == 2);
    CHECK(client.stats().n_retries == 1);

    auto p = co_await client.request({"POST", server.url("/x"), "{}"});
    REQUIRE_FALSE(p);
    CHECK(p.error().code() == errc::transport);
    CHECK(p.error().describe().find("connection lost while waiting for the response") != std::string::npos);
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http fault: 500 then success is retried for GET") {
  std::atomic<int> n{0};
  loopback_server server(loopback_server::serve([&](const test_request&) {
    return n++ < 2 ? test_response{500, R"({"error":"boom"})"} : test_response{200, R"({"ok":true})"};
  }));
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    auto r = co_await client.request({"GET", server.url("/flaky")});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == R"({"ok":true})");
    CHECK(r->n_attempts == 3);
    // With no attempts left the 500 itself comes back, as a response.
    n = 0;
    auto o = fast_options();
    o.retry.max_attempts = 1;
    http_client once(io.get_executor(), o);
    auto f = co_await once.request({"GET", server.url("/flaky")});
    REQUIRE(f);
    CHECK(f->status == 500);
    co_return true;
  });
}

TEST_CASE("http fault: 429 with Retry-After is honoured, even for POST") {
  std::atomic<int> n{0};
  loopback_server server(loopback_server::serve([&](const test_request& r) {
    if (r.target == "/long") return test_response{429, "{}", {{"Retry-After", "3600"}}};
    return n++ == 0 ? test_response{429, R"({"error":"slow down"})", {{"Retry-After", "1"}}}
                    : test_response{200, R"({"ok":true})"};
  }));
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    tern::stopwatch sw;
    auto r = co_await client.request({"POST", server.url("/book"), "{}"});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->n_attempts == 2);
    CHECK(sw.elapsed_ms() >= 950);  // waited the second the server asked for
    CHECK(sw.elapsed_ms() < 3000);

    // A Retry-After beyond the deadline is not waited for: the 429 comes back now.
    sw.reset();
    auto l = co_await client.request({"GET", server.url("/long")});
    REQUIRE(l);
    CHECK(l->status == 429);
    CHECK(l->n_attempts == 1);
    CHECK(sw.elapsed_ms() < 1000);
    co_return true;
  });
}

TEST_CASE("http fault: a 50 MB body hits the size cap, announced or chunked") {
  loopback_server server([](server_connection& c) -> asio::awaitable<void> {
    auto req = co_await c.read_request();
    if (!req) co_return;
    std::string chunk(64 << 10, 'x');
    if (req->target == "/length") {
      if (!co_await c.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n")) co_return;
      for (int i = 0; i < 800; ++i)
        if (!co_await c.write_raw(chunk)) co_return;
    } else {
      if (!co_await c.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) co_return;
      std::string framed = "10000\r\n" + chunk + "\r\n";
      for (int i = 0; i < 800; ++i)
        if (!co_await c.write_raw(framed)) co_return;
      co_await c.write_raw("0\r\n\r\n");
    }
  });
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.max_body_bytes = 1 << 20;
    http_client client(io.get_executor(), o);
    for (const char* path : {"/length", "/chunked"}) {
      tern::stopwatch sw;
      auto r = co_await client.request({"GET", server.url(path)});
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == errc::limit_exceeded);
      CHECK(r.error().describe().find("response body larger than 1048576 bytes") != std::string::npos);
      CHECK(sw.elapsed_ms() < 3000);
    }
    CHECK(client.stats().n_retries == 0);  // a limit is not worth retrying
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http fault: a redirect loop stops at max_redirects; good redirects are followed") {
  loopback_server server(loopback_server::serve([](const test_request& r) {
    if (r.target == "/a") return test_response{302, "", {{"Location", "/b"}}};
    if (r.target == "/b") return test_response{302, "", {{"Location", "/a"}}};
    if (r.target == "/old") return test_response{301, "", {{"Location", "new?x=1"}}};
    if (r.target == "/post") return test_response{303, "", {{"Location", "/done"}}};
    auto* auth = r.header("Authorization");
    return test_response{200, R"({"at":")" + r.target + R"(","method":")" + r.method + R"(","auth":)" +
                                  (auth ? "true" : "false") + "}"};
  }));
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    tern::stopwatch sw;
    auto loop = co_await client.request({"GET", server.url("/a")});
    REQUIRE_FALSE(loop);
    CHECK(loop.error().code() == errc::limit_exceeded);
    CHECK(loop.error().describe().find("more than 5 redirects") != std::string::npos);
    CHECK(server.n_requests() == 6);
    CHECK(sw.elapsed_ms() < 2000);

    http_request old("GET", server.url("/old"));
    old.headers.push_back({"Authorization", "Bearer t"});
    auto moved = co_await client.request(std::move(old));
    REQUIRE(moved);
    CHECK(moved->body == R"({"at":"/new?x=1","method":"GET","auth":true})");  // same host keeps credentials
    CHECK(moved->n_redirects == 1);
    CHECK(moved->url == server.url("/new?x=1"));

    auto post = co_await client.request({"POST", server.url("/post"), "{}"});
    REQUIRE(post);
    CHECK(post->body == R"({"at":"/done","method":"GET","auth":false})");
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http fault: a malformed status line is a bad_response") {
  loopback_server server([](server_connection& c) -> asio::awaitable<void> {
    if (co_await c.read_request()) co_await c.write_raw("HTTP/1.1 OK-ish\r\n\r\n");
    c.close();
  });
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    auto r = co_await client.request({"GET", server.url("/")});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::bad_response);
    CHECK(client.stats().n_retries == 0);
    co_return true;
  });
}

TEST_CASE("http fault: a refused connection is a transport error") {
  unsigned short port;
  {
    loopback_server closed(silent);
    port = closed.port();
  }
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.retry.max_attempts = 2;
    http_client client(io.get_executor(), o);
    auto r = co_await client.request({"GET", "http://127.0.0.1:" + std::to_string(port) + "/"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::transport);
    CHECK(r.error().describe().find("connect to 127.0.0.1:" + std::to_string(port)) != std::string::npos);
    co_return true;
  });
}

TEST_CASE("http: cancelling the awaiting coroutine ends the request at once") {
  using namespace asio::experimental::awaitable_operators;
  loopback_server server(silent);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    asio::steady_timer timer(io, 100ms);
    tern::stopwatch sw;
    auto raced = co_await (request_opt(client, {"GET", server.url("/hang")}) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    CHECK(raced.index() == 1);  // the timer won and the request was cancelled
    CHECK(sw.elapsed_ms() < 1000);
    // What the request itself reports when cancelled:
    asio::cancellation_signal signal;
    std::optional<tern::result<http_response>> got;
    asio::co_spawn(io, request_opt(client, {"GET", server.url("/hang")}),
                   asio::bind_cancellation_slot(signal.slot(),
                                                [&](std::exception_ptr, std::optional<tern::result<http_response>> r) {
                                                  got = std::move(r);
                                                }));
    asio::steady_timer t2(io, 100ms);
    co_await t2.async_wait(asio::use_awaitable);
    signal.emit(asio::cancellation_type::terminal);
    while (!got) {
      asio::steady_timer t3(io, 10ms);
      co_await t3.async_wait(asio::use_awaitable);
    }
    REQUIRE_FALSE(*got);
    CHECK(got->error().code() == errc::cancelled);
    co_await expect_usable(client);
    co_return true;
  });
}

TEST_CASE("http: the per-host pool limit queues requests instead of opening more connections") {
  loopback_server server([](server_connection& c) -> asio::awaitable<void> {
    while (auto req = co_await c.read_request()) {
      co_await c.sleep(30ms);
      if (!co_await c.respond({200, "{}"})) co_return;
    }
  });
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.max_connections_per_host = 2;
    auto client = std::make_shared<http_client>(io.get_executor(), o);
    auto n_ok = std::make_shared<int>(0);
    auto n_done = std::make_shared<int>(0);
    for (int i = 0; i < 8; ++i)
      asio::co_spawn(io, request_opt(*client, {"GET", server.url("/p")}),
                     [=](std::exception_ptr, std::optional<tern::result<http_response>> r) {
        *n_ok += r && *r && (*r)->status == 200;
        ++*n_done;
      });
    while (*n_done < 8) {
      asio::steady_timer t(io, 10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    CHECK(*n_ok == 8);
    CHECK(server.n_connections() == 2);
    CHECK(client->stats().n_connects == 2);
    co_return true;
  });
}

TEST_CASE("https: certificates are verified against the CA store, the CA file and the host name") {
  auto id = tern::test::make_test_certificate({"localhost"}, {"127.0.0.1"});
  tern::test::temp_file ca("test-ca", ".pem", id.cert_pem);
  loopback_server server(loopback_server::serve([](const test_request&) { return test_response{200, R"({"tls":true})"}; }), id);
  auto other = tern::test::make_test_certificate({"example.org"}, {});
  tern::test::temp_file other_ca("test-ca2", ".pem", other.cert_pem);
  loopback_server wrong_name(loopback_server::serve([](const test_request&) { return test_response{200, "{}"}; }), other);

  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto o = fast_options();
    o.retry.max_attempts = 1;
    http_client untrusting(io.get_executor(), o);
    auto r = co_await untrusting.request({"GET", server.url("/")});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::transport);
    CHECK(r.error().describe().find("certificate verify failed") != std::string::npos);

    o.ca_file = ca.string();
    http_client trusting(io.get_executor(), o);
    auto ok = co_await trusting.request({"GET", server.url("/")});
    REQUIRE(ok);
    CHECK(ok->body == R"({"tls":true})");
    auto again = co_await trusting.request({"GET", server.url("/")});
    REQUIRE(again);
    CHECK(trusting.stats().n_reused == 1);

    // Trusted CA, but the certificate is for another name.
    o.ca_file = other_ca.string();
    http_client mismatched(io.get_executor(), o);
    auto m = co_await mismatched.request({"GET", wrong_name.url("/")});
    REQUIRE_FALSE(m);
    CHECK(m.error().code() == errc::transport);

    o.ca_file = "/nonexistent/ca.pem";
    http_client broken(io.get_executor(), o);
    auto b = co_await broken.request({"GET", server.url("/")});
    REQUIRE_FALSE(b);
    CHECK(b.error().describe().find("cannot load CA file '/nonexistent/ca.pem'") != std::string::npos);
    co_return true;
  });
}

TEST_CASE("http: bad URLs are errors before anything is sent") {
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    http_client client(io.get_executor(), fast_options());
    auto a = co_await client.request({"GET", "not a url"});
    REQUIRE_FALSE(a);
    CHECK(a.error().code() == errc::invalid_argument);
    auto b = co_await client.request({"GET", "ftp://127.0.0.1/x"});
    REQUIRE_FALSE(b);
    CHECK(b.error().code() == errc::unsupported);
    CHECK(client.stats().n_sent == 0);
    co_return true;
  });
}

TEST_CASE("http helpers: percent-encoding, idempotency, Retry-After") {
  CHECK(percent_encode("a b/c?d=é~") == "a%20b%2Fc%3Fd%3D%C3%A9~");
  CHECK(percent_encode("LHR-2026_01.x") == "LHR-2026_01.x");
  CHECK(is_idempotent_method("GET"));
  CHECK(is_idempotent_method("PUT"));
  CHECK_FALSE(is_idempotent_method("POST"));
  CHECK_FALSE(is_idempotent_method("PATCH"));
  CHECK(parse_retry_after("2") == std::chrono::milliseconds(2000));
  CHECK(parse_retry_after(" 0 ") == std::chrono::milliseconds(0));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == std::chrono::milliseconds(0));  // in the past
  auto future = parse_retry_after("Fri, 31 Dec 2100 23:59:59 GMT");
  REQUIRE(future);
  CHECK(future->count() > 0);
  CHECK_FALSE(parse_retry_after("soon"));
  CHECK_FALSE(parse_retry_after("-1"));
}
