// Runs one coroutine to completion on a fresh io_context, for tests.
#pragma once

#include <catch2/catch.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace tern::test {

// Runs f(io) -> awaitable<T> on a fresh io_context on this thread. A test
// that has not finished within `limit` fails rather than hangs.
template <class F>
auto run_async(F&& f, std::chrono::seconds limit = std::chrono::seconds(30)) {
  boost::asio::io_context io;
  using awaitable_t = decltype(f(io));
  using T = typename awaitable_t::value_type;
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, f(io), [&](std::exception_ptr e, T v) {
    if (e) failure = e;
    else out.emplace(std::move(v));
  });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace tern::test
