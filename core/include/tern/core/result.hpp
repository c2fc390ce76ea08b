// tern::result<T>: a value or a tern::error, never an exception.
//
//   tern::result<int> parse_port(std::string_view s);
//   auto port = parse_port(text);
//   if (!port) return std::move(port).error().at("option --port");
//   use(*port);
//
// TERN_TRY(var, expr) unwraps or returns the error from the enclosing function;
// TERN_CO_TRY does the same with co_return inside a coroutine.
// Accessing the value of an error result (or the error of a value) is our bug
// and trips TERN_ASSERT.
#pragma once

#include <tern/core/assert.hpp>
#include <tern/core/error.hpp>

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace tern {

template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported; use a pointer");

 public:
  using value_type = T;

  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(tern::error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design
  template <class U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, tern::error> &&
             !std::is_same_v<std::remove_cvref_t<U>, result>)
  result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<result*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  const tern::error& error() const& { return const_cast<result*>(this)->checked_error(); }
  tern::error& error() & { return checked_error(); }
  tern::error&& error() && { return std::move(checked_error()); }

 private:
  T& checked_value() {
    TERN_ASSERT(has_value(), "value() of an error result");
    return std::get<0>(v_);
  }
  tern::error& checked_error() {
    TERN_ASSERT(!has_value(), "error() of a value result");
    return std::get<1>(v_);
  }

  std::variant<T, tern::error> v_;
};

// result<void>: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(tern::error err) : err_(std::move(err)) {}  // NOLINT: implicit by design

  bool has_value() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const { TERN_ASSERT(has_value(), "value() of an error result"); }

  const tern::error& error() const& {
    TERN_ASSERT(!has_value(), "error() of a value result");
    return *err_;
  }
  tern::error& error() & {
    TERN_ASSERT(!has_value(), "error() of a value result");
    return *err_;
  }
  tern::error&& error() && {
    TERN_ASSERT(!has_value(), "error() of a value result");
    return std::move(*err_);
  }

 private:
  std::optional<tern::error> err_;
};

// A success value for result<void>: `return tern::ok();`
inline result<void> ok() { return {}; }

// Shorthand to build an error: `return tern::fail(errc::parse_error, "bad magic");`
inline tern::error fail(errc code, std::string message) { return error(code, std::move(message)); }

}  // namespace tern

#define TERN_CONCAT_INNER_(a, b) a##b
#define TERN_CONCAT_(a, b) TERN_CONCAT_INNER_(a, b)

// TERN_TRY(auto x, expr): evaluates expr (a result); on error returns the error
// from the enclosing function, else declares x with the moved value.
#define TERN_TRY(decl, expr) TERN_TRY_IMPL_(decl, expr, TERN_CONCAT_(tern_try_, __LINE__), return)
// TERN_CO_TRY: the same for coroutines (co_return).
#define TERN_CO_TRY(decl, expr) TERN_TRY_IMPL_(decl, expr, TERN_CONCAT_(tern_try_, __LINE__), co_return)
#define TERN_TRY_IMPL_(decl, expr, tmp, ret)   \
  auto tmp = (expr);                            \
  if (!tmp.has_value()) ret std::move(tmp).error(); \
  decl = std::move(tmp).value()

// TERN_CHECK(expr): for result<void>; returns the error if any.
#define TERN_CHECK(expr) TERN_CHECK_IMPL_(expr, TERN_CONCAT_(tern_check_, __LINE__), return)
#define TERN_CO_CHECK(expr) TERN_CHECK_IMPL_(expr, TERN_CONCAT_(tern_check_, __LINE__), co_return)
#define TERN_CHECK_IMPL_(expr, tmp, ret) \
  do {                                   \
    auto tmp = (expr);                   \
    if (!tmp.has_value()) ret std::move(tmp).error(); \
  } while (0)
