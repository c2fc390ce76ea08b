// The async bridge: scripts and their coroutines share one io_context; awaiting
// yields the coroutine and the completion resumes it.
#include "lua_test_support.hpp"

#include <tern/core/clock.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

using tern::test::run_lua;
namespace ts = tern::scripting;
namespace asio = boost::asio;

TEST_CASE("async: three workflows run concurrently in one process") {
  asio::io_context io;
  // Each waits 0.1 + 0.1 * k seconds in three steps; run one after the other they
  // would take 0.9 s, together about 0.3 s (the slowest).
  const char* source = R"(
    local k = tonumber(tern.args[1])
    local steps = {}
    for i = 1, 3 do
      tern.sleep((0.1 + 0.1 * k) / 3)
      steps[#steps + 1] = i * k
    end
    return { id = k, steps = steps }
  )";
  std::vector<std::shared_ptr<ts::script>> scripts;
  std::vector<std::optional<tern::result<boost::json::value>>> results(3);
  for (int k = 0; k < 3; ++k) {
    ts::script_options opts;
    opts.args = {std::to_string(k)};
    auto s = ts::script::from_string(io.get_executor(), source, "flow" + std::to_string(k) + ".lua", opts);
    REQUIRE(s);
    scripts.push_back(*s);
  }
  tern::stopwatch sw;
  for (int k = 0; k < 3; ++k) scripts[k]->start([&results, k](auto r) { results[k].emplace(std::move(r)); });
  io.run();
  const double elapsed = sw.elapsed_s();
  for (int k = 0; k < 3; ++k) {
    REQUIRE(results[k]);
    REQUIRE(results[k]->has_value());
    CHECK(results[k]->value().at("id") == k);
    CHECK(results[k]->value().at("steps") == boost::json::array{k, 2 * k, 3 * k});
  }
  CHECK(elapsed >= 0.29);
  CHECK(elapsed < 0.6);  // the sum would be 0.9 s
}

TEST_CASE("async: tern.parallel returns results in argument order") {
  auto out = run_lua(R"(
    local order = {}
    local r = tern.parallel(
      function() tern.sleep(0.03) order[#order + 1] = "a" return "A" end,
      function() tern.sleep(0.01) order[#order + 1] = "b" return "B" end,
      function() order[#order + 1] = "c" return "C", "ignored" end,
      function() end)
    return { results = { r[1], r[2], r[3] }, n = #r, fourth = r[4] == nil, order = order }
  )");
  REQUIRE(out.ok());
  CHECK(out.json() == boost::json::parse(
                          R"({"results":["A","B","C"],"n":3,"fourth":true,"order":["c","b","a"]})"));
}

TEST_CASE("async: a failing tern.parallel function cancels the rest and raises its error") {
  auto out = run_lua(R"(
    finished = {}
    local t0 = tern.now()
    local ok, err = pcall(tern.parallel,
      function() tern.sleep(5) finished[#finished + 1] = "slow" end,
      function() tern.sleep(0.02) error("boom") end,
      function() tern.sleep(5) finished[#finished + 1] = "slower" end)
    tern.sleep(0.05)  -- the cancelled ones must not wake up meanwhile
    return { ok = ok, err = err, finished = #finished, fast = (tern.now() - t0) < 2 }
  )");
  REQUIRE(out.ok());
  CHECK(out.json().at("ok") == false);
  CHECK(out.json().at("finished") == 0);
  CHECK(out.json().at("fast") == true);
  const std::string err(out.json().at("err").as_string());
  CHECK_THAT(err, Catch::Contains("tern.parallel: function #2 failed: inline.lua:6: boom"));
}

TEST_CASE("async: an uncaught tern.parallel error ends the script with it") {
  auto out = run_lua("tern.parallel(function() tern.sleep(0.01) end, function() local x = nil; return x.y end)");
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.message(), Catch::Contains("function #2 failed: inline.lua:1: attempt to index a nil value"));
}

TEST_CASE("async: tern.parallel nests, and to-be-closed variables of cancelled functions close") {
  auto out = run_lua(R"(
    closed = 0
    local function guard() return setmetatable({}, { __close = function() closed = closed + 1 end }) end
    local r = tern.parallel(
      function() return tern.parallel(function() tern.sleep(0.01) return 1 end, function() return 2 end) end,
      function() return 3 end)
    local ok = pcall(tern.parallel,
      function() local g <close> = guard() tern.sleep(5) end,
      function() error("stop") end)
    return { r[1][1], r[1][2], r[2], closed }
  )");
  REQUIRE(out.ok());
  CHECK(out.json() == boost::json::array{1, 2, 3, 1});
}

TEST_CASE("async: awaiting where Lua cannot yield is a clear error") {
  auto out = run_lua("coroutine.wrap(function() tern.sleep(0) end)()");
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.message(), Catch::Contains("inline.lua:1: tern.sleep cannot wait here"));

  auto sorted = run_lua("table.sort({2, 1}, function(a, b) tern.sleep(0) return a < b end)");
  REQUIRE_FALSE(sorted.ok());
  CHECK_THAT(sorted.message(), Catch::Contains("tern.sleep cannot wait here"));

  auto bare = run_lua("coroutine.yield()");
  REQUIRE_FALSE(bare.ok());
  CHECK_THAT(bare.message(), Catch::Contains("coroutine.yield() outside a coroutine"));
}

TEST_CASE("async: host functions are awaitable from Lua, errors become Lua errors") {
  ts::script_options opts;
  opts.host_functions["add"] = [](boost::json::value v) -> asio::awaitable<tern::result<boost::json::value>> {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
    co_return boost::json::value(v.at("a").as_int64() + v.at("b").as_int64());
  };
  opts.host_functions["fail"] = [](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    co_return tern::fail(tern::errc::not_found, "no such booking").at("booking 17");
  };
  opts.host_functions["throws"] = [](boost::json::value) -> asio::awaitable<tern::result<boost::json::value>> {
    throw std::runtime_error("C++ exception text");
    co_return boost::json::value();
  };
  auto out = run_lua(R"(
    local sum = tern.host.add({ a = 2, b = 40 })
    local ok1, e1 = pcall(function() return tern.host.fail() end)
    local ok2, e2 = pcall(function() return tern.host.throws(1) end)
    local both = tern.parallel(function() return tern.host.add({ a = 1, b = 1 }) end,
                               function() return tern.host.add({ a = 2, b = 2 }) end)
    return { sum = sum, e1 = e1, e2 = e2, both = both }
  )", opts);
  REQUIRE(out.ok());
  CHECK(out.json().at("sum") == 42);
  CHECK(out.json().at("e1") == "inline.lua:3: booking 17: no such booking");
  CHECK(out.json().at("e2") == "inline.lua:4: C++ exception text");
  CHECK(out.json().at("both") == boost::json::array{2, 4});
}

TEST_CASE("async: cancel stops a waiting script and its parallel functions") {
  asio::io_context io;
  auto s = ts::script::from_string(io.get_executor(),
                                   "tern.parallel(function() tern.sleep(10) end, function() tern.sleep(10) end)",
                                   "waits.lua");
  REQUIRE(s);
  std::optional<tern::result<boost::json::value>> r;
  (*s)->start([&](auto v) { r.emplace(std::move(v)); });
  asio::steady_timer t(io, std::chrono::milliseconds(20));
  t.async_wait([&](auto) { (*s)->cancel(); });
  tern::stopwatch sw;
  io.run();
  CHECK(sw.elapsed_s() < 5);
  REQUIRE(r);
  REQUIRE_FALSE(r->has_value());
  CHECK(r->error().code() == tern::errc::cancelled);
}

TEST_CASE("async: run() is an awaitable, and cancelling it cancels the script") {
  asio::io_context io;
  auto quick = ts::script::from_string(io.get_executor(), "tern.sleep(0.01) return 'done'", "quick.lua");
  auto slow = ts::script::from_string(io.get_executor(), "tern.sleep(10) return 'late'", "slow.lua");
  REQUIRE(quick);
  REQUIRE(slow);
  std::optional<tern::result<boost::json::value>> a, b;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { a.emplace(co_await (*quick)->run()); }, asio::detached);
  asio::cancellation_signal stop;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { b.emplace(co_await (*slow)->run()); },
                 asio::bind_cancellation_slot(stop.slot(), asio::detached));
  asio::steady_timer t(io, std::chrono::milliseconds(30));
  t.async_wait([&](auto) { stop.emit(asio::cancellation_type::terminal); });
  io.run();
  REQUIRE(a);
  REQUIRE(a->has_value());
  CHECK(**a == "done");
  REQUIRE(b);
  REQUIRE_FALSE(b->has_value());
  CHECK(b->error().code() == tern::errc::cancelled);
}

TEST_CASE("async: many coroutines across many scripts") {
  asio::io_context io;
  std::vector<std::shared_ptr<ts::script>> scripts;
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    auto s = ts::script::from_string(io.get_executor(), R"(
      local fs = {}
      for i = 1, 50 do fs[i] = function() tern.sleep(0.001 * (i % 5)) return i end end
      local r = tern.parallel(table.unpack(fs))
      local sum = 0
      for i = 1, 50 do sum = sum + r[i] end
      return sum
    )", "many.lua");
    REQUIRE(s);
    scripts.push_back(*s);
    (*s)->start([&done](auto r) {
      REQUIRE(r.has_value());
      CHECK(*r == 1275);
      ++done;
    });
  }
  io.run();
  CHECK(done == 20);
}

TEST_CASE("async: a script cannot resume or close the host's own coroutines") {
  auto out = run_lua(R"(
    local me = coroutine.running()
    local ok1, e1 = pcall(tern.parallel, function() return coroutine.resume(me) end)
    local ok2, e2 = pcall(tern.parallel, function() return coroutine.close(me) end)
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local co = coroutine.create(function() coroutine.yield(1) end)
    coroutine.resume(co)
    return { ok1, e1, ok2, e2, gen() + gen() + gen(), coroutine.close(co) }
  )");
  REQUIRE(out.ok());
  const auto& a = out.json().as_array();
  CHECK(a[0] == false);
  CHECK_THAT(std::string(a[1].as_string()), Catch::Contains("coroutine.resume: this coroutine belongs to the host"));
  CHECK(a[2] == false);
  CHECK_THAT(std::string(a[3].as_string()), Catch::Contains("coroutine.close: this coroutine belongs to the host"));
  CHECK(a[4] == 6);
  CHECK(a[5] == true);
}

TEST_CASE("async: after a failed tern.parallel the next one still works") {
  auto out = run_lua(R"(
    for round = 1, 3 do
      pcall(tern.parallel, function() tern.sleep(0.001) end, function() error("x") end)
    end
    local r = tern.parallel(function() tern.sleep(0.001) return 1 end, function() return 2 end)
    return r[1] + r[2]
  )");
  REQUIRE(out.ok());
  CHECK(out.json() == 3);
}
