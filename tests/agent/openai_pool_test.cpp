// Keep-alive connection reuse of openai_compatible_model, counted on the
// fake server's side (accepted connections) and by the model's own counters.
#include "openai_fake_server.hpp"

#include <boost/asio.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace std::chrono_literals;
using namespace tern::agent;
using namespace tern::test;

// n complete() calls started together on io, run until all have finished.
std::vector<tern::result<model_response>> run_concurrently(asio::io_context& io, model& m, int n) {
  std::vector<std::optional<tern::result<model_response>>> out(static_cast<std::size_t>(n));
  int left = n;
  for (auto& slot : out)
    asio::co_spawn(io, [&m, &slot, &left, &io]() -> asio::awaitable<void> {
      slot.emplace(co_await m.complete(travel_request()));
      if (--left == 0) io.stop();
    }, asio::detached);
  io.run_for(10s);
  io.restart();
  std::vector<tern::result<model_response>> results;
  for (auto& slot : out) {
    REQUIRE(slot.has_value());
    results.push_back(std::move(*slot));
  }
  return results;
}

std::string answer_of(const tern::result<model_response>& r) {
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  return r->reply.content;
}

}  // namespace

TEST_CASE("openai pool: sequential requests share one connection, streamed or not") {
  asio::io_context io;
  fake_server server;
  for (int i = 0; i < 5; ++i) server.script(keep_alive(answer_reply("answer " + std::to_string(i))));
  openai_compatible_model m(options_for(server));
  for (int i = 0; i < 5; ++i) CHECK(answer_of(run_complete(io, m, travel_request())) == "answer " + std::to_string(i));
  CHECK(server.n_connections() == 1);
  auto st = m.connection_stats();
  CHECK(st.n_connects == 1);
  CHECK(st.n_reused == 4);
  CHECK(st.n_idle == 1);

  // Server-sent events with chunked framing: the connection survives [DONE].
  for (int i = 0; i < 3; ++i)
    server.script(keep_alive(sse_reply({chunk_json(bj::object{{"content", "part "}}),
                                        chunk_json(bj::object{{"content", std::to_string(i)}}, "stop"), "[DONE]"},
                                       true)));
  auto o = options_for(server);
  o.stream = true;
  openai_compatible_model streaming(o);
  for (int i = 0; i < 3; ++i)
    CHECK(answer_of(run_complete(io, streaming, travel_request())) == "part " + std::to_string(i));
  CHECK(server.n_connections() == 2);  // one more: each model has its own pool
  CHECK(streaming.connection_stats().n_reused == 2);
  const auto got = server.received();
  REQUIRE(got.size() == 8);
  for (int i = 5; i < 8; ++i) CHECK(got[static_cast<std::size_t>(i)].connection == 1);

  m.close_idle();
  CHECK(m.connection_stats().n_idle == 0);
}

TEST_CASE("openai pool: a connection the server closes is not reused") {
  asio::io_context io;
  fake_server server;
  openai_compatible_model m(options_for(server));

  // Connection: close is honoured.
  server.script(answer_reply("closed after"));
  server.script(keep_alive(answer_reply("on a new connection")));
  CHECK(answer_of(run_complete(io, m, travel_request())) == "closed after");
  CHECK(m.connection_stats().n_idle == 0);
  CHECK(answer_of(run_complete(io, m, travel_request())) == "on a new connection");
  CHECK(server.n_connections() == 2);

  // Kept alive by its headers, then closed by the server while idle (its
  // keep-alive timeout): noticed before use, so nothing is sent on it.
  auto then_closed = keep_alive(answer_reply("then closed"));
  then_closed.close = true;
  server.script(then_closed);
  server.script(keep_alive(answer_reply("fresh")));
  CHECK(answer_of(run_complete(io, m, travel_request())) == "then closed");  // reuses connection 1
  std::this_thread::sleep_for(100ms);
  CHECK(answer_of(run_complete(io, m, travel_request())) == "fresh");
  CHECK(server.n_connections() == 3);
  CHECK(m.connection_stats().n_stale_retries == 0);
  CHECK(server.received().size() == 4);
}

TEST_CASE("openai pool: a reused connection that fails before any response byte is retried once") {
  asio::io_context io;
  fake_server server;
  auto o = options_for(server);
  o.max_attempts = 1;  // no status retries: only the stale-connection retry is in play
  openai_compatible_model m(o);
  server.script(keep_alive(answer_reply("one")));
  scripted_reply hang_up;  // reads the request, closes without a byte (the close raced the request)
  server.script(hang_up);
  server.script(keep_alive(answer_reply("two")));
  CHECK(answer_of(run_complete(io, m, travel_request())) == "one");
  CHECK(answer_of(run_complete(io, m, travel_request())) == "two");
  CHECK(server.n_connections() == 2);
  CHECK(server.received().size() == 3);
  CHECK(m.connection_stats().n_stale_retries == 1);

  // Only once: when the new connection fails too, that is the answer.
  server.script(hang_up);
  server.script(hang_up);
  auto r = run_complete(io, m, travel_request());
  REQUIRE(!r);
  CHECK(server.received().size() == 5);
  CHECK(m.connection_stats().n_stale_retries == 2);

  // A new connection that fails the same way is not retried.
  openai_compatible_model fresh(o);
  server.script(hang_up);
  auto f = run_complete(io, fresh, travel_request());
  REQUIRE(!f);
  CHECK(server.received().size() == 6);
  CHECK(fresh.connection_stats().n_stale_retries == 0);
}

TEST_CASE("openai pool: concurrent requests open several connections and all come back") {
  asio::io_context io;
  fake_server server;
  for (int i = 0; i < 8; ++i) server.script(keep_alive(answer_reply("ok")));
  openai_compatible_model m(options_for(server));
  for (const auto& r : run_concurrently(io, m, 4)) CHECK(answer_of(r) == "ok");
  CHECK(server.n_connections() == 4);
  CHECK(m.connection_stats().n_idle == 4);
  for (const auto& r : run_concurrently(io, m, 4)) CHECK(answer_of(r) == "ok");
  CHECK(server.n_connections() == 4);
  CHECK(m.connection_stats().n_reused == 4);

  // The idle cap keeps the most recently used; the rest are closed.
  for (int i = 0; i < 4; ++i) server.script(keep_alive(answer_reply("ok")));
  auto o = options_for(server);
  o.max_idle_connections = 2;
  openai_compatible_model capped(o);
  for (const auto& r : run_concurrently(io, capped, 4)) CHECK(answer_of(r) == "ok");
  CHECK(capped.connection_stats().n_idle == 2);
}

TEST_CASE("openai pool: complete() on several threads and io_contexts at once") {
  fake_server server;
  constexpr int n_threads = 3, n_each = 4;
  for (int i = 0; i < n_threads * n_each; ++i) server.script(keep_alive(answer_reply("ok")));
  openai_compatible_model m(options_for(server));
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<int> n_ok(n_threads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < n_threads; ++t) contexts.push_back(std::make_unique<asio::io_context>());
  for (int t = 0; t < n_threads; ++t)
    threads.emplace_back([&, t] {
      auto& io = *contexts[static_cast<std::size_t>(t)];
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < n_each; ++i)
          if (auto r = co_await m.complete(travel_request()); r && r->reply.content == "ok") ++n_ok[static_cast<std::size_t>(t)];
      }, asio::detached);
      io.run_for(20s);
    });
  for (auto& th : threads) th.join();
  for (int n : n_ok) CHECK(n == n_each);
  // Each context reuses its own connection.
  CHECK(server.n_connections() == n_threads);
  CHECK(m.connection_stats().n_idle == static_cast<std::size_t>(n_threads));
  // The contexts go first: their parked connections close with them.
  contexts.clear();
  CHECK(m.connection_stats().n_idle == 0);
}

TEST_CASE("openai pool: idle timeout, no keep-alive, and a model that outlives its io_context") {
  fake_server server;
  for (int i = 0; i < 6; ++i) server.script(keep_alive(answer_reply("ok")));
  auto o = options_for(server);
  o.idle_timeout = 50ms;
  openai_compatible_model short_lived(o);
  auto io = std::make_unique<asio::io_context>();
  CHECK(answer_of(run_complete(*io, short_lived, travel_request())) == "ok");
  std::this_thread::sleep_for(120ms);
  CHECK(answer_of(run_complete(*io, short_lived, travel_request())) == "ok");
  CHECK(short_lived.connection_stats().n_connects == 2);
  CHECK(server.n_connections() == 2);

  o = options_for(server);
  o.max_idle_connections = 0;
  openai_compatible_model unpooled(o);
  CHECK(answer_of(run_complete(*io, unpooled, travel_request())) == "ok");
  CHECK(answer_of(run_complete(*io, unpooled, travel_request())) == "ok");
  CHECK(unpooled.connection_stats().n_connects == 2);
  CHECK(unpooled.connection_stats().n_idle == 0);
  CHECK(server.received().at(3).headers.at("connection") == "close");

  // A parked connection, then the io_context is destroyed before the model.
  auto outliving = std::make_unique<openai_compatible_model>(options_for(server));
  CHECK(answer_of(run_complete(*io, *outliving, travel_request())) == "ok");
  CHECK(outliving->connection_stats().n_idle == 1);
  io.reset();
  CHECK(outliving->connection_stats().n_idle == 0);
  outliving.reset();
}
