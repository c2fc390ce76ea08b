// The travel API over real sockets: every endpoint through a Beast client,
// hostile clients, concurrent bookings, and the executable as a child process.
#include <tern/core/json.hpp>
#include <tern/travel/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <csignal>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A server on an ephemeral loopback port, run by a few threads.
struct running_server {
  explicit running_server(tern::travel::server_options o = {}, int n_threads = 4) {
    auto s = tern::travel::server::start(io, o);
    REQUIRE(s.has_value());
    srv = std::move(s).value();
    for (int i = 0; i < n_threads; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~running_server() {
    srv->stop();
    for (auto& t : threads) t.join();
    srv.reset();
  }
  std::uint16_t port() const { return srv->port(); }

  asio::io_context io;
  std::unique_ptr<tern::travel::server> srv;
  std::vector<std::thread> threads;
};

struct reply {
  int status = 0;
  std::string body;
  std::string replayed;  // the Idempotent-Replayed header
  bool keep_alive = false;
};

// A plain blocking Beast client: one request on a fresh connection.
reply request(std::uint16_t port, http::verb method, const std::string& target, const std::string& body = "",
              const std::string& idempotency_key = "") {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!idempotency_key.empty()) req.set("Idempotency-Key", idempotency_key);
  if (method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(method == http::verb::head);  // a HEAD response has a length but no body
  http::read(stream, buffer, parser);
  auto res = parser.release();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  reply r{static_cast<int>(res.result_int()), res.body(), {}, res.keep_alive()};
  if (auto it = res.find("Idempotent-Replayed"); it != res.end()) r.replayed = std::string(it->value());
  return r;
}

bj::value json_of(const reply& r) {
  INFO(r.body);
  auto v = tern::json::parse(r.body);
  REQUIRE(v.has_value());
  return std::move(v).value();
}

std::string error_code_of(const reply& r) {
  auto v = json_of(r);
  return std::string(v.at("error").at("code").as_string());
}

// Sends raw bytes, then reads until the server closes or `wait` passes.
struct raw_result {
  std::string received;
  bool closed = false;  // the server closed the connection
};
raw_result raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait,
                        bool half_close = false) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  raw_result out;
  beast::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);  // the server may close before reading it all
  if (half_close) s.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> buf;
  std::function<void()> read_more = [&] {
    s.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t n) {
      out.received.append(buf.data(), n);
      if (e) {
        out.closed = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  io.run_for(wait);
  return out;
}

int status_of(const std::string& raw) {
  if (raw.size() < 12 || raw.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stoi(raw.substr(9, 3));
}

std::string flight_booking(std::string_view id, int n) {
  bj::array passengers;
  for (int i = 0; i < n; ++i) passengers.push_back(bj::object{{"name", "Traveller " + std::to_string(i + 1)}});
  return tern::json::serialize(bj::object{{"type", "flight"}, {"flight_id", id}, {"passengers", std::move(passengers)}});
}

const std::string k_search = "/flights?from=BOS&to=GIG&date=2027-01-15&passengers=1";

}  // namespace

TEST_CASE("travel server: every endpoint over HTTP") {
  running_server s;
  CHECK(request(s.port(), http::verb::get, "/health").status == 200);
  auto doc = json_of(request(s.port(), http::verb::get, "/openapi.json"));
  CHECK(doc.at("servers").at(0).at("url").as_string() == "http://127.0.0.1:" + std::to_string(s.port()));
  CHECK(request(s.port(), http::verb::get, "/airports").status == 200);
  auto flights = json_of(request(s.port(), http::verb::get, k_search)).at("flights").as_array();
  REQUIRE(!flights.empty());
  const std::string fid(flights[0].at("id").as_string());
  CHECK(request(s.port(), http::verb::get, "/flights/" + fid).status == 200);
  auto hotels = json_of(request(s.port(), http::verb::get,
                                "/hotels?city=Salvador&check_in=2027-02-01&check_out=2027-02-04&guests=2"))
                    .at("hotels")
                    .as_array();
  REQUIRE(!hotels.empty());
  const std::string hid(hotels[0].at("id").as_string());
  CHECK(request(s.port(), http::verb::get, "/hotels/" + hid).status == 200);

  auto fb = request(s.port(), http::verb::post, "/bookings", flight_booking(fid, 2), "k-flight");
  REQUIRE(fb.status == 201);
  auto hb = request(s.port(), http::verb::post, "/bookings",
                    R"({"type":"hotel","hotel_id":")" + hid +
                        R"(","check_in":"2027-02-01","check_out":"2027-02-04","guests":2,"guest_name":"Ana Silva"})");
  REQUIRE(hb.status == 201);
  const std::string hbid(json_of(hb).at("booking_id").as_string());
  CHECK(json_of(request(s.port(), http::verb::get, "/bookings/" + hbid)).at("type").as_string() == "hotel");
  auto cancelled = request(s.port(), http::verb::post, "/bookings/" + hbid + "/cancel");
  REQUIRE(cancelled.status == 200);
  CHECK(json_of(cancelled).at("status").as_string() == "cancelled");
  // HEAD is answered like GET, without a body.
  CHECK(request(s.port(), http::verb::head, "/health").status == 200);
}

TEST_CASE("travel server: the same Idempotency-Key sent twice books once") {
  running_server s;
  const std::string fid = "FL-BOS-GIG-20270115-1";
  const auto seats = json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64();
  // Both retries race each other as well.
  std::vector<reply> replies(8);
  std::vector<std::thread> clients;
  for (auto& r : replies)
    clients.emplace_back([&] { r = request(s.port(), http::verb::post, "/bookings", flight_booking(fid, 1), "retry-me"); });
  for (auto& t : clients) t.join();
  int fresh = 0;
  for (const auto& r : replies) {
    REQUIRE(r.status == 201);
    CHECK(r.body == replies[0].body);
    if (r.replayed != "true") ++fresh;
  }
  CHECK(fresh == 1);
  CHECK(json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64() == seats - 1);
}

TEST_CASE("travel server: 32 concurrent bookings of the last 10 seats") {
  running_server s({}, 4);
  const std::string fid = "FL-BOS-GIG-20270115-1";
  auto seats = json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64();
  REQUIRE(seats >= 10);
  while (seats > 10) {  // sell down to the last 10 seats
    const int n = static_cast<int>(std::min<std::int64_t>(seats - 10, 9));
    REQUIRE(request(s.port(), http::verb::post, "/bookings", flight_booking(fid, n)).status == 201);
    seats -= n;
  }
  REQUIRE(json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64() == 10);

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<reply> replies(32);
  std::vector<std::thread> clients;
  std::atomic<bool> negative_seen{false};
  std::thread watcher([&] {  // polls availability while the race runs
    while (!go) std::this_thread::yield();
    for (int i = 0; i < 20; ++i)
      if (json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64() < 0)
        negative_seen = true;
  });
  for (std::size_t i = 0; i < replies.size(); ++i)
    clients.emplace_back([&, i] {
      ++ready;
      while (!go) std::this_thread::yield();
      replies[i] = request(s.port(), http::verb::post, "/bookings", flight_booking(fid, 1));
    });
  while (ready < 32) std::this_thread::yield();
  go = true;
  for (auto& t : clients) t.join();
  watcher.join();
  int ok = 0, sold_out = 0;
  std::set<std::string> ids;
  for (const auto& r : replies) {
    if (r.status == 201) {
      ++ok;
      ids.insert(std::string(json_of(r).at("booking_id").as_string()));
    } else if (r.status == 409 && error_code_of(r) == "sold_out") {
      ++sold_out;
    }
  }
  CHECK(ok == 10);
  CHECK(sold_out == 22);
  CHECK(ids.size() == 10);
  CHECK(!negative_seen);
  CHECK(json_of(request(s.port(), http::verb::get, "/flights/" + fid)).at("seats_available").as_int64() == 0);
}

TEST_CASE("travel server: keep-alive serves several requests on one connection") {
  running_server s;
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()));
  beast::flat_buffer buffer;
  for (int i = 0; i < 5; ++i) {
    http::request<http::string_body> req{http::verb::get, "/health", 11};
    req.set(http::field::host, "x");
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    CHECK(res.result_int() == 200);
    CHECK(res.keep_alive());
  }
}

TEST_CASE("travel server: malformed HTTP, huge headers and huge bodies get a 4xx and a close") {
  tern::travel::server_options o;
  o.header_limit = 4096;
  o.body_limit = 8192;
  running_server s(o);
  auto garbage = raw_exchange(s.port(), "\x01\x02 hello there\r\n\r\n", 3s);
  CHECK(status_of(garbage.received) == 400);
  CHECK(garbage.closed);
  auto bad_version = raw_exchange(s.port(), "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 3s);
  CHECK(status_of(bad_version.received) == 400);
  auto bad_length = raw_exchange(s.port(), "POST /bookings HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 3s);
  CHECK(status_of(bad_length.received) == 400);
  auto huge_header =
      raw_exchange(s.port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 3s);
  CHECK(status_of(huge_header.received) == 431);
  CHECK(huge_header.closed);
  auto huge_body = raw_exchange(s.port(),
                                "POST /bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 1000000\r\n\r\n" + std::string(20000, '{'),
                                3s);
  CHECK(status_of(huge_body.received) == 413);
  CHECK(huge_body.closed);
  auto chunked_huge = raw_exchange(s.port(),
                                   "POST /bookings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "4000\r\n" + std::string(0x4000, 'x') + "\r\n0\r\n\r\n",
                                   3s);
  CHECK(status_of(chunked_huge.received) == 413);
  auto invalid_json = raw_exchange(s.port(),
                                   "POST /bookings HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"type\":",
                                   3s);
  CHECK(status_of(invalid_json.received) == 400);
  CHECK(invalid_json.received.find("invalid_json") != std::string::npos);
  auto long_target = raw_exchange(s.port(), "GET /flights?from=" + std::string(10000, 'B') + " HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  CHECK(status_of(long_target.received) == 431);
  auto many_headers = raw_exchange(s.port(), "GET /health HTTP/1.1\r\n" + [] {
    std::string h;
    for (int i = 0; i < 1000; ++i) h += "X-" + std::to_string(i) + ": y\r\n";
    return h;
  }() + "\r\n", 3s);
  CHECK(status_of(many_headers.received) == 431);
  // Expect: 100-continue is honoured, then the request is answered.
  const std::string body = flight_booking("FL-BOS-GIG-20270115-1", 1);
  auto expect = raw_exchange(s.port(),
                             "POST /bookings HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                             3s);
  CHECK(expect.received.rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  CHECK(expect.received.find("HTTP/1.1 201 Created") != std::string::npos);
  // A request cut off mid-headers by the client: no crash, the server just closes.
  auto truncated = raw_exchange(s.port(), "GET /health HTTP/1.1\r\nHo", 3s, true);
  CHECK(truncated.closed);
  // Still serving.
  CHECK(request(s.port(), http::verb::get, "/health").status == 200);
}

TEST_CASE("travel server: a slow client is dropped after the timeout without blocking others") {
  tern::travel::server_options o;
  o.io_timeout = 400ms;
  running_server s(o, 1);  // one thread: the slow client must not hold it
  asio::io_context io;
  tcp::socket slow(io);
  slow.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()));
  asio::write(slow, asio::buffer(std::string("GET /health HTTP/1.1\r\nHost: x\r\n")));  // never finishes
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) CHECK(request(s.port(), http::verb::get, "/health").status == 200);
  CHECK(std::chrono::steady_clock::now() - start < 400ms);  // served while the slow one waits
  // The slow connection is closed once its deadline passes.
  std::array<char, 256> buf;
  beast::error_code ec;
  bool closed = false;
  std::function<void()> read_more = [&] {
    slow.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t) {
      if (e) {
        closed = true;
        ec = e;
        return;
      }
      read_more();
    });
  };
  read_more();
  io.run_for(3s);
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  // An idle keep-alive connection is dropped the same way.
  auto idle = raw_exchange(s.port(), "", 3s);
  CHECK(idle.closed);
}

TEST_CASE("travel server: connections over the limit are closed, and service resumes") {
  tern::travel::server_options o;
  o.max_connections = 3;
  running_server s(o, 2);
  asio::io_context io;
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(io);
    held.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()));
  }
  std::this_thread::sleep_for(100ms);  // let the server accept them
  auto refused = raw_exchange(s.port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  CHECK(refused.closed);
  CHECK(refused.received.empty());
  for (auto& h : held) h.close();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {  // the server notices the closes asynchronously
    auto r = raw_exchange(s.port(), "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3s);
    served = status_of(r.received) == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("travel server: stop() closes idle connections and finishes") {
  auto s = std::make_unique<running_server>();
  const auto port = s->port();
  asio::io_context io;
  tcp::socket idle(io);
  idle.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const auto start = std::chrono::steady_clock::now();
  s.reset();  // stop + join: must not wait for the idle client's timeout
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  beast::error_code ec;
  tcp::socket again(io);
  again.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  CHECK(ec);  // no longer listening
}

TEST_CASE("travel server: start reports a bad host and a busy port") {
  asio::io_context io;
  tern::travel::server_options o;
  o.host = "not-an-ip";
  CHECK(!tern::travel::server::start(io, o).has_value());
  running_server first;
  tern::travel::server_options same;
  same.port = first.port();
  auto second = tern::travel::server::start(io, same);
  REQUIRE(!second.has_value());
  CHECK(second.error().describe().find(std::to_string(first.port())) != std::string::npos);
}

#ifdef TERN_TRAVEL_API_EXE
TEST_CASE("travel server: tern-travel-api runs as a child, answers /health and exits 0 on SIGTERM") {
  for (int sig : {SIGTERM, SIGINT}) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(TERN_TRAVEL_API_EXE, TERN_TRAVEL_API_EXE, "--host", "127.0.0.1", "--port", "0", "--db", ":memory:",
              "--seed", "42", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // The first stdout line, with a deadline.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    INFO(line);
    const std::string prefix = "listening on http://127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    const int port = std::stoi(line.substr(prefix.size()));
    REQUIRE(port > 0);
    auto health = request(static_cast<std::uint16_t>(port), http::verb::get, "/health");
    CHECK(health.status == 200);
    CHECK(request(static_cast<std::uint16_t>(port), http::verb::post, "/bookings", flight_booking("FL-BOS-GIG-20270115-1", 1))
              .status == 201);
    REQUIRE(::kill(pid, sig) == 0);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 100 && done == 0; ++i) {
      done = ::waitpid(pid, &status, WNOHANG);
      if (done == 0) std::this_thread::sleep_for(50ms);
    }
    if (done == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("tern-travel-api did not exit within 5 s of the signal");
    }
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}
#endif
