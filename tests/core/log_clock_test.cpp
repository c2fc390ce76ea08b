#include <tern/core/clock.hpp>
#include <tern/core/log.hpp>

#include <catch2/catch.hpp>

#include <thread>

TEST_CASE("log: levels parse by name and filter") {
  using tern::log::level;
  CHECK(tern::log::parse_level("debug") == level::debug);
  CHECK(tern::log::parse_level("off") == level::off);
  CHECK_FALSE(tern::log::parse_level("loud"));

  const auto before = tern::log::current_level();
  CHECK(before == level::warn);  // quiet by default
  tern::log::set_level(level::error);
  CHECK(tern::log::current_level() == level::error);
  tern::log::set_level(before);
}

TEST_CASE("clock: the stopwatch is monotonic and measures sleeps") {
  tern::stopwatch sw;
  const auto t0 = tern::now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(tern::now_ns() > t0);
  CHECK(sw.elapsed_ms() >= 5.0);
  CHECK(sw.elapsed_us() >= 5000.0);
}
