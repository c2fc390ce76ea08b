// Values of the Jinja interpreter: JSON-like data plus the few things a
// template can create itself (undefined, functions, namespaces).
//
// Semantics follow Python as Jinja2 sees it, because chat templates are
// written against Jinja2 and transformers: truthiness, equality (1 == 1.0 ==
// True), str() and repr() of numbers and containers, json.dumps formatting.
// Strings are UTF-8; lengths, indexing and slicing count code points.
//
// Arrays and objects are shared and never mutated once built (the sandbox is
// immutable, like transformers' ImmutableSandboxedEnvironment); a namespace
// is the one mutable container (`{% set ns.x = ... %}`).
#pragma once

#include "jinja/error.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tern::engine::jinja {

class value;
class evaluator;

using array = std::vector<value>;

// Keys keep their insertion order (Python dicts do, and tojson relies on it).
struct object {
  std::vector<std::pair<std::string, value>> entries;

  const value* find(std::string_view key) const;
  value* find(std::string_view key);
  void set(std::string key, value v);
};

struct call_args {
  std::vector<value> positional;
  std::vector<std::pair<std::string, value>> named;

  // Positional argument i, else the named one, else nullptr.
  const value* get(std::size_t i, std::string_view name) const;
};

// A builtin, a bound method, a macro or `caller`.
struct function {
  std::string name;
  std::function<value(evaluator&, call_args&, source_pos)> call;
};

struct undefined_t {
  bool operator==(const undefined_t&) const = default;
};
struct namespace_ref {
  std::shared_ptr<object> fields;
};

class value {
 public:
  enum class kind : std::uint8_t { undefined, none, boolean, integer, number, string, array, object, function, name_space };

  value() = default;  // undefined
  value(std::nullptr_t) : v_(nullptr) {}
  value(bool b) : v_(b) {}
  value(int i) : v_(static_cast<std::int64_t>(i)) {}
  value(std::int64_t i) : v_(i) {}
  value(std::size_t i) : v_(static_cast<std::int64_t>(i)) {}
  value(double d) : v_(d) {}
  value(std::string s) : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(const char* s) : v_(std::string(s)) {}
  value(array a) : v_(std::make_shared<const array>(std::move(a))) {}
  value(object o) : v_(std::make_shared<const object>(std::move(o))) {}
  value(std::shared_ptr<const array> a) : v_(std::move(a)) {}
  value(std::shared_ptr<const object> o) : v_(std::move(o)) {}
  value(std::shared_ptr<const function> f) : v_(std::move(f)) {}
  value(namespace_ref n) : v_(std::move(n)) {}

  kind type() const noexcept { return static_cast<kind>(v_.index()); }
  bool is_undefined() const noexcept { return type() == kind::undefined; }
  bool is_none() const noexcept { return type() == kind::none; }
  bool is_bool() const noexcept { return type() == kind::boolean; }
  bool is_int() const noexcept { return type() == kind::integer; }
  bool is_double() const noexcept { return type() == kind::number; }
  // int, float or bool (Python's numbers.Number).
  bool is_numeric() const noexcept { return is_int() || is_double() || is_bool(); }
  bool is_string() const noexcept { return type() == kind::string; }
  bool is_array() const noexcept { return type() == kind::array; }
  bool is_object() const noexcept { return type() == kind::object; }
  bool is_function() const noexcept { return type() == kind::function; }
  bool is_namespace() const noexcept { return type() == kind::name_space; }

  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  // int/float/bool as a double.
  double to_double() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const array& as_array() const { return *std::get<std::shared_ptr<const array>>(v_); }
  const object& as_object() const { return *std::get<std::shared_ptr<const object>>(v_); }
  const function& as_function() const { return *std::get<std::shared_ptr<const function>>(v_); }
  const std::shared_ptr<object>& as_namespace() const { return std::get<namespace_ref>(v_).fields; }

 private:
  std::variant<undefined_t, std::nullptr_t, bool, std::int64_t, double, std::string, std::shared_ptr<const array>,
               std::shared_ptr<const object>, std::shared_ptr<const function>, namespace_ref>
      v_;
};

// Python's type name of a value, for messages ("str", "NoneType", "dict").
std::string_view type_name(const value& v);

value from_json(const boost::json::value& j);

bool truthy(const value& v);
// Python ==, deep for containers; undefined equals only undefined.
bool equals(const value& a, const value& b);
// Python ordering (<0, 0, >0); throws a runtime error for unorderable types.
int compare(const value& a, const value& b, source_pos pos);

// Python str(): what `{{ v }}` prints. Undefined prints as "".
std::string to_str(const value& v);
void append_str(std::string& out, const value& v);
// Python repr().
void append_repr(std::string& out, const value& v);
// Python float repr ("1.0", "1e+16", "0.0001").
void append_double(std::string& out, double d);

struct json_options {
  bool ensure_ascii = false;
  std::string indent;  // used when has_indent
  bool has_indent = false;
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// Python json.dumps(v, ...). Undefined, functions and namespaces are type errors.
void append_json(std::string& out, const value& v, const json_options& opts, source_pos pos, int depth = 0);

// UTF-8 helpers: code point count and byte offsets of code points.
std::size_t utf8_length(std::string_view s);
std::vector<std::uint32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, std::uint32_t cp);

}  // namespace tern::engine::jinja
