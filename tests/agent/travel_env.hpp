// Test support for the agent tests: the travel API on an ephemeral loopback
// port with its bookings in a temporary SQLite file (so tests can count the
// stored bookings directly), an HTTP client, and the travel tools.
#pragma once

#include "temp_file.hpp"

#include <tern/agent/agent.hpp>
#include <tern/agent/scripted_model.hpp>
#include <tern/core/json.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/travel/agent_tools.hpp>
#include <tern/travel/server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace tern::test {

namespace asio = boost::asio;
namespace bj = boost::json;

struct travel_env {
  asio::io_context io;
  std::filesystem::path db = temp_path("travel", ".db");
  std::unique_ptr<travel::server> srv;
  std::shared_ptr<tools::http_client> client;
  std::vector<tools::tool_ptr> tools;
  std::string base;

  travel_env() {
    travel::server_options o;
    o.db_path = db.string();
    auto s = travel::server::start(io, o);
    REQUIRE(s);
    srv = std::move(*s);
    base = fmt::format("http://{}:{}", srv->host(), srv->port());
    client = std::make_shared<tools::http_client>(io.get_executor());
    auto t = travel::make_travel_tools(client, base);
    REQUIRE(t);
    tools = std::move(*t);
  }
  ~travel_env() {
    // Graceful stop: let the server close its connections, then destroy it before io.
    client->close_idle();
    srv->stop();
    io.restart();
    io.run_for(std::chrono::seconds(2));
    srv.reset();
    client.reset();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix, ec);
  }

  tools::tool_ptr tool(std::string_view name) const {
    for (const auto& t : tools)
      if (t->name() == name) return t;
    FAIL("no tool " << name);
    return nullptr;
  }

  // Runs body on the io_context until it finishes (the server keeps running
  // for the next drive; the io_context is stopped and restarted).
  // cancel_after: emits a terminal cancellation on the body after that long.
  void drive(std::function<asio::awaitable<void>()> body,
             std::optional<std::chrono::milliseconds> cancel_after = std::nullopt,
             asio::cancellation_signal* signal_out = nullptr) {
    asio::cancellation_signal signal;
    asio::cancellation_signal* sig = signal_out ? signal_out : &signal;
    bool done = false;
    asio::co_spawn(io, std::move(body),
                   asio::bind_cancellation_slot(sig->slot(), [&](std::exception_ptr e) {
                     done = true;
                     client->close_idle();
                     // Behind the events the run posted, so they are all delivered first.
                     asio::post(io, [this] { io.stop(); });
                     if (e) std::rethrow_exception(e);
                   }));
    std::optional<asio::steady_timer> timer;
    if (cancel_after) {
      timer.emplace(io, *cancel_after);
      timer->async_wait([&](boost::system::error_code ec) {
        if (!ec && !done) sig->emit(asio::cancellation_type::terminal);
      });
    }
    io.run();
    io.restart();
    REQUIRE(done);
  }

  agent::run_result run(const agent::agent& a, std::string task,
                        std::optional<std::chrono::milliseconds> cancel_after = std::nullopt) {
    agent::run_result out;
    drive([&]() -> asio::awaitable<void> { out = co_await a.run(task); }, cancel_after);
    return out;
  }

  // Bookings stored by the API, read straight from its SQLite file.
  int count_bookings(std::string_view kind = "", std::string_view status = "confirmed") const {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open_v2(db.string().c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::string sql = fmt::format("SELECT count(*) FROM bookings WHERE status='{}'", status);
    if (!kind.empty()) sql += fmt::format(" AND kind='{}'", kind);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
  }

  // The stored details (JSON) of every booking, in booking order.
  std::vector<bj::value> booking_details() const {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open_v2(db.string().c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, "SELECT details FROM bookings ORDER BY seq", -1, &st, nullptr) == SQLITE_OK);
    std::vector<bj::value> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      auto doc = json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      REQUIRE(doc);
      out.push_back(std::move(*doc));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  }
};

// A tool with the spec of `inner` whose body is `fn` (which may call inner).
using wrap_fn = std::function<asio::awaitable<tools::tool_outcome>(const tools::tool_ptr& inner, bj::value args,
                                                                    const tools::invoke_context& ctx)>;
inline tools::tool_ptr wrap(tools::tool_ptr inner, wrap_fn fn) {
  auto t = tools::make_function_tool(
      inner->spec(), tools::async_tool_fn([inner, fn](bj::value args, const tools::invoke_context& ctx) {
        return fn(inner, std::move(args), ctx);
      }));
  REQUIRE(t);
  return std::move(*t);
}

// Waits, then calls the inner tool.
inline tools::tool_ptr slow(tools::tool_ptr inner, std::chrono::milliseconds delay) {
  return wrap(std::move(inner), [delay](const tools::tool_ptr& in, bj::value args, const tools::invoke_context& ctx)
                                    -> asio::awaitable<tools::tool_outcome> {
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    co_await t.async_wait(asio::use_awaitable);
    co_return co_await in->invoke(std::move(args), ctx);
  });
}

inline std::vector<tools::tool_ptr> replace_tool(std::vector<tools::tool_ptr> tools, tools::tool_ptr t) {
  for (auto& x : tools)
    if (x->name() == t->name()) x = t;
  return tools;
}

inline agent::tool_call call(std::string id, std::string name, bj::object args) {
  return {std::move(id), std::move(name), std::move(args)};
}

// The JSON of a tool message answering call `id` in a request (null if none).
inline bj::value tool_result_in(const agent::model_request& req, std::string_view id) {
  for (const auto& m : req.messages)
    if (m.role == agent::role::tool && m.tool_call_id == id) return *json::parse(m.content);
  return nullptr;
}

// The flight search the scripted runs start with.
inline const bj::object k_search{{"from", "BOS"}, {"to", "GIG"}, {"date", "2027-03-10"}, {"passengers", 2}};

// A turn that books the cheapest flight found by call `search_id` for the passengers.
inline agent::scripted_model::turn book_cheapest(std::string search_id, std::string book_id,
                                                 std::vector<std::string> names = {"Ana Silva", "Bruno Costa"}) {
  using agent::scripted_model;
  return scripted_model::turn::react([=](const agent::model_request& req) -> result<agent::model_response> {
    auto found = tool_result_in(req, search_id);
    if (!found.is_object() || !found.as_object().contains("flights"))
      return fail(errc::bad_response, "no flights in the search result");
    bj::array pax;
    for (const auto& n : names) pax.emplace_back(n);
    const auto& f = found.at("flights").at(0).as_object();
    return scripted_model::call({call(book_id, "book_flight", {{"flight_id", f.at("id")}, {"passengers", pax}})});
  });
}

// What a completed "Boston to Rio, 5 nights, 2 adults" booking run (the
// booking script) must show: five steps, nine successful tool calls, two
// flights and one hotel stored by the API, the total within the budget.
inline void check_booked_trip(const travel_env& env, const agent::run_result& r, std::int64_t budget_usd) {
  INFO(r.error);
  REQUIRE(r.reason == agent::stop_reason::answered);
  CHECK(r.steps.size() == 5);
  CHECK(r.tool_calls.size() == 1 + 2 + 3 + 3);
  for (const auto& c : r.tool_calls) CHECK(c.ok);
  CHECK(env.count_bookings("flight") == 2);
  CHECK(env.count_bookings("hotel") == 1);
  std::int64_t total = 0;
  for (const auto& c : r.tool_calls)
    if (c.call.name == "book_flight" || c.call.name == "book_hotel") total += c.result.at("total_price").as_int64();
  CHECK(total > 0);
  CHECK(total <= budget_usd);
  CHECK_THAT(r.answer, Catch::Contains(fmt::format("within the {} USD budget", budget_usd)));
}

}  // namespace tern::test
