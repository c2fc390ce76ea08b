// Where tests find their data, and how they skip when it is absent.
//
// tests/data/ holds the small fixtures every clone has (origin noted in its
// README). ../shared/ (beside the checkout) holds the larger ones; a fresh
// user clone does not have it, so tests needing it skip with a reason:
//
//   TEST_CASE("loads stories260K") {
//     TERN_NEED_FIXTURE(path, "models/stories260K.gguf");   // tests/data, else ../shared
//     ...use path (a std::filesystem::path)...
//   }
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

namespace tern::test {

inline std::filesystem::path test_data(std::string_view relative) {
  return std::filesystem::path(TERN_TEST_DATA_DIR) / relative;
}

inline std::filesystem::path source_dir() { return std::filesystem::path(TERN_SOURCE_DIR); }
inline std::filesystem::path binary_dir() { return std::filesystem::path(TERN_BINARY_DIR); }

// The file under ../shared, or nullopt when it is not there.
inline std::optional<std::filesystem::path> shared_file(std::string_view relative) {
  auto path = std::filesystem::path(TERN_SHARED_DIR) / relative;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  return std::nullopt;
}

// A fixture by its path relative to tests/data/ or ../shared/ (same layout:
// "models/stories260K.gguf"): tests/data/ first, then ../shared/, else nullopt.
inline std::optional<std::filesystem::path> fixture(std::string_view relative) {
  std::error_code ec;
  auto local = test_data(relative);
  if (std::filesystem::exists(local, ec)) return local;
  return shared_file(relative);
}

// Prints the marker ctest turns into "skipped" (SKIP_REGULAR_EXPRESSION).
inline void report_skip(std::string_view reason) { std::cout << "TERN-SKIP: " << reason << std::endl; }

}  // namespace tern::test

// Like TERN_NEED_SHARED, but finds the file in tests/data/ first.
#define TERN_NEED_FIXTURE(var, relative)                                                        \
  auto var##_maybe = ::tern::test::fixture(relative);                                           \
  if (!var##_maybe) {                                                                           \
    ::tern::test::report_skip(std::string("needs ") + (relative) +                              \
                              " in tests/data or ../shared, and neither has it");               \
    return;                                                                                     \
  }                                                                                             \
  const std::filesystem::path var = *var##_maybe

#define TERN_NEED_SHARED(var, relative)                                                         \
  auto var##_maybe = ::tern::test::shared_file(relative);                                       \
  if (!var##_maybe) {                                                                           \
    ::tern::test::report_skip(std::string("needs ../shared/") + (relative) +                    \
                              ", which is absent (a fresh clone has no ../shared)");            \
    return;                                                                                     \
  }                                                                                             \
  const std::filesystem::path var = *var##_maybe
