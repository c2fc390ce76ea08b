#include <tern/agent/scripted_model.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <optional>

using namespace tern;
using namespace tern::agent;
namespace asio = boost::asio;

namespace {
template <class T>
T run_sync(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await std::move(a); }, asio::detached);
  io.run();
  io.restart();
  REQUIRE(out);
  return std::move(*out);
}
}  // namespace

TEST_CASE("scripted model replays turns, records requests, fails when exhausted") {
  asio::io_context io;
  scripted_model m({scripted_model::turn::calls({{"c1", "search", {{"q", "x"}}}}),
                    scripted_model::turn::react([](const model_request& r) -> result<model_response> {
                      return scripted_model::answer("saw " + std::to_string(r.messages.size()));
                    })});
  model_request req;
  req.messages = {message::user("hi")};
  std::string streamed;
  req.stream.on_token = [&](std::string_view t) { streamed += t; };
  auto a = run_sync(io, m.complete(req));
  REQUIRE(a);
  CHECK(a->reply.tool_calls.size() == 1);
  CHECK(a->finish_reason == "tool_calls");
  CHECK(a->usage.prompt_tokens > 0);
  req.messages.push_back(a->reply);
  auto b = run_sync(io, m.complete(req));
  REQUIRE(b);
  CHECK(b->reply.content == "saw 2");
  CHECK(streamed == "saw 2");
  auto c = run_sync(io, m.complete(req));
  REQUIRE_FALSE(c);
  CHECK(c.error().code() == errc::limit_exceeded);
  CHECK_THAT(c.error().describe(), Catch::Contains("exhausted after 2 turns"));
  CHECK(m.n_requests() == 3);
  CHECK(m.requests()[1].messages.size() == 2);
}

TEST_CASE("scripted model delays are cancellable") {
  asio::io_context io;
  scripted_model m({scripted_model::turn::answer("late", std::chrono::seconds(10))});
  asio::cancellation_signal sig;
  std::optional<result<model_response>> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    model_request req;
    out = co_await m.complete(std::move(req));
  },
                 asio::bind_cancellation_slot(sig.slot(), asio::detached));
  asio::steady_timer t(io, std::chrono::milliseconds(20));
  t.async_wait([&](auto) { sig.emit(asio::cancellation_type::terminal); });
  const auto start = std::chrono::steady_clock::now();
  io.run();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  REQUIRE(out);
  REQUIRE_FALSE(*out);
  CHECK(out->error().code() == errc::cancelled);
}
