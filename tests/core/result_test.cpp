#include <tern/core/result.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>

using tern::errc;
using tern::result;

namespace {
result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return tern::fail(errc::invalid_argument, std::string("not a digit: ") + c);
  return c - '0';
}

result<int> sum_digits(std::string_view s) {
  int total = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto d = parse_digit(s[i]);
    if (!d) return std::move(d).error().at("index " + std::to_string(i));
    total += *d;
  }
  return total;
}

result<int> twice_first(std::string_view s) {
  TERN_TRY(int first, parse_digit(s.at(0)));
  return first * 2;
}

result<void> check_even(int n) {
  if (n % 2) return tern::fail(errc::invalid_argument, "odd");
  return tern::ok();
}

result<int> half_if_even(int n) {
  TERN_CHECK(check_even(n));
  return n / 2;
}
}  // namespace

TEST_CASE("result: holds a value or an error") {
  auto good = sum_digits("123");
  REQUIRE(good);
  CHECK(*good == 6);
  CHECK(good.value_or(-1) == 6);

  auto bad = sum_digits("12x");
  REQUIRE_FALSE(bad);
  CHECK(bad.value_or(-1) == -1);
  CHECK(bad.error().code() == errc::invalid_argument);
  CHECK(bad.error().message() == "not a digit: x");
}

TEST_CASE("error: context frames print outermost first") {
  auto err = tern::fail(errc::parse_error, "bad magic").at("byte 0").at("model.gguf");
  CHECK(err.describe() == "model.gguf: byte 0: bad magic");
  CHECK(err.to_string() == "parse_error: model.gguf: byte 0: bad magic");
  REQUIRE(err.context().size() == 2);
  CHECK(err.context()[0] == "byte 0");
}

TEST_CASE("error: every code has a distinct stable name") {
  using enum tern::errc;
  const errc all[] = {invalid_argument, parse_error, io_error,  not_found,   unsupported,  limit_exceeded,
                      timeout,          cancelled,   transport, http_status, bad_response, internal};
  std::set<std::string_view> names;
  for (auto c : all) names.insert(tern::to_string(c));
  CHECK(names.size() == std::size(all));
  CHECK(tern::to_string(parse_error) == "parse_error");
}

TEST_CASE("result: TERN_TRY and TERN_CHECK propagate errors") {
  CHECK(*twice_first("4") == 8);
  CHECK_FALSE(twice_first("z"));
  CHECK(*half_if_even(8) == 4);
  auto odd = half_if_even(3);
  REQUIRE_FALSE(odd);
  CHECK(odd.error().message() == "odd");
}

TEST_CASE("result: move-only values and result<void>") {
  result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  REQUIRE(r);
  auto p = std::move(r).value();
  CHECK(*p == 7);

  result<void> fine = tern::ok();
  CHECK(fine);
  result<void> broken = tern::fail(errc::timeout, "slow");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code() == errc::timeout);
}
