#include "jinja/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace tern::engine::jinja {

const value* object::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

value* object::find(std::string_view key) {
  for (auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void object::set(std::string key, value v) {
  if (value* slot = find(key)) {
    *slot = std::move(v);
    return;
  }
  entries.emplace_back(std::move(key), std::move(v));
}

const value* call_args::get(std::size_t i, std::string_view name) const {
  if (i < positional.size()) return &positional[i];
  for (const auto& [k, v] : named)
    if (k == name) return &v;
  return nullptr;
}

double value::to_double() const {
  switch (type()) {
    case kind::integer: return static_cast<double>(as_int());
    case kind::number: return as_double();
    case kind::boolean: return as_bool() ? 1.0 : 0.0;
    default: return 0.0;
  }
}

std::string_view type_name(const value& v) {
  switch (v.type()) {
    case value::kind::undefined: return "Undefined";
    case value::kind::none: return "NoneType";
    case value::kind::boolean: return "bool";
    case value::kind::integer: return "int";
    case value::kind::number: return "float";
    case value::kind::string: return "str";
    case value::kind::array: return "list";
    case value::kind::object: return "dict";
    case value::kind::function: return "function";
    case value::kind::name_space: return "Namespace";
  }
  return "?";
}

value from_json(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null: return value(nullptr);
    case boost::json::kind::bool_: return value(j.get_bool());
    case boost::json::kind::int64: return value(j.get_int64());
    case boost::json::kind::uint64: {
      const auto u = j.get_uint64();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return value(static_cast<std::int64_t>(u));
      return value(static_cast<double>(u));
    }
    case boost::json::kind::double_: return value(j.get_double());
    case boost::json::kind::string: return value(std::string_view(j.get_string()));
    case boost::json::kind::array: {
      array a;
      a.reserve(j.get_array().size());
      for (const auto& e : j.get_array()) a.push_back(from_json(e));
      return value(std::move(a));
    }
    case boost::json::kind::object: {
      object o;
      o.entries.reserve(j.get_object().size());
      for (const auto& kv : j.get_object()) o.entries.emplace_back(std::string(kv.key()), from_json(kv.value()));
      return value(std::move(o));
    }
  }
  return value();
}

bool truthy(const value& v) {
  switch (v.type()) {
    case value::kind::undefined:
    case value::kind::none: return false;
    case value::kind::boolean: return v.as_bool();
    case value::kind::integer: return v.as_int() != 0;
    case value::kind::number: return v.as_double() != 0.0;
    case value::kind::string: return !v.as_string().empty();
    case value::kind::array: return !v.as_array().empty();
    case value::kind::object: return !v.as_object().entries.empty();
    case value::kind::function:
    case value::kind::name_space: return true;
  }
  return false;
}

bool equals(const value& a, const value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_double() || b.is_double()) return a.to_double() == b.to_double();
    const auto ia = a.is_bool() ? std::int64_t{a.as_bool()} : a.as_int();
    const auto ib = b.is_bool() ? std::int64_t{b.as_bool()} : b.as_int();
    return ia == ib;
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value::kind::undefined:
    case value::kind::none: return true;
    case value::kind::string: return a.as_string() == b.as_string();
    case value::kind::array: {
      const auto& x = a.as_array();
      const auto& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!equals(x[i], y[i])) return false;
      return true;
    }
    case value::kind::object: {
      const auto& x = a.as_object();
      const auto& y = b.as_object();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    case value::kind::function: return &a.as_function() == &b.as_function();
    case value::kind::name_space: return a.as_namespace() == b.as_namespace();
    default: return false;
  }
}

int compare(const value& a, const value& b, source_pos pos) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
    const double x = a.to_double(), y = b.to_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (equals(x[i], y[i])) continue;
      return compare(x[i], y[i], pos);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_undefined() || b.is_undefined()) throw_runtime(pos, "cannot compare an undefined value");
  throw_runtime(pos, fmt::format("'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b)));
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  // Shortest round-trip digits, then laid out the way Python's repr does:
  // scientific when the decimal exponent is < -4 or >= 16, else positional
  // with at least one digit after the point.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  bool negative = false;
  if (!sci.empty() && sci[0] == '-') {
    negative = true;
    sci.remove_prefix(1);
  }
  const auto e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits += c;
  int exp = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (negative) out += '-';
  if (exp < -4 || exp >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    const int ae = exp < 0 ? -exp : exp;
    if (ae < 10) out += '0';
    out += std::to_string(ae);
    return;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return;
  }
  const auto n_int = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= n_int) {
    out += digits;
    out.append(n_int - digits.size(), '0');
    out += ".0";
  } else {
    out.append(digits, 0, n_int);
    out += '.';
    out.append(digits, n_int, std::string::npos);
  }
}

void append_str(std::string& out, const value& v) {
  switch (v.type()) {
    case value::kind::undefined: return;
    case value::kind::none: out += "None"; return;
    case value::kind::boolean: out += v.as_bool() ? "True" : "False"; return;
    case value::kind::integer: out += std::to_string(v.as_int()); return;
    case value::kind::number: append_double(out, v.as_double()); return;
    case value::kind::string: out += v.as_string(); return;
    case value::kind::function: out += "<function " + v.as_function().name + ">"; return;
    case value::kind::name_space: out += "<Namespace>"; return;
    default: append_repr(out, v); return;
  }
}

std::string to_str(const value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  append_str(out, v);
  return out;
}

namespace {

void append_py_string_repr(std::string& out, const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  for (std::uint32_t cp : utf8_decode(s)) {
    if (cp == '\\') out += "\\\\";
    else if (cp == static_cast<std::uint32_t>(quote)) (out += '\\') += quote;
    else if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) out += fmt::format("\\x{:02x}", cp);
    else if (cp == 0x2028 || cp == 0x2029) out += fmt::format("\\u{:04x}", cp);
    else utf8_append(out, cp);
  }
  out += quote;
}

}  // namespace

void append_repr(std::string& out, const value& v) {
  switch (v.type()) {
    case value::kind::string: append_py_string_repr(out, v.as_string()); return;
    case value::kind::undefined: return;
    case value::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, e);
      }
      out += ']';
      return;
    }
    case value::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.as_object().entries) {
        if (!first) out += ", ";
        first = false;
        append_py_string_repr(out, k);
        out += ": ";
        append_repr(out, e);
      }
      out += '}';
      return;
    }
    default: append_str(out, v); return;
  }
}

namespace {

void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (std::uint32_t cp : utf8_decode(s)) {
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp < 0x20) {
      out += fmt::format("\\u{:04x}", cp);
    } else if (ensure_ascii && cp > 0x7e) {
      if (cp >= 0x10000) {
        const std::uint32_t v = cp - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else {
        out += fmt::format("\\u{:04x}", cp);
      }
    } else {
      utf8_append(out, cp);
    }
  }
  out += '"';
}

void json_newline(std::string& out, const json_options& opts, int level) {
  out += '\n';
  for (int i = 0; i < level; ++i) out += opts.indent;
}

}  // namespace

void append_json(std::string& out, const value& v, const json_options& opts, source_pos pos, int depth) {
  if (depth > 512) throw_limit(pos, "tojson: value nested deeper than 512 levels");
  switch (v.type()) {
    case value::kind::none: out += "null"; return;
    case value::kind::boolean: out += v.as_bool() ? "true" : "false"; return;
    case value::kind::integer: out += std::to_string(v.as_int()); return;
    case value::kind::number: {
      const double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else append_double(out, d);
      return;
    }
    case value::kind::string: append_json_string(out, v.as_string(), opts.ensure_ascii); return;
    case value::kind::array: {
      const auto& a = v.as_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += opts.item_separator;
        if (opts.has_indent) json_newline(out, opts, depth + 1);
        append_json(out, a[i], opts, pos, depth + 1);
      }
      if (opts.has_indent) json_newline(out, opts, depth);
      out += ']';
      return;
    }
    case value::kind::object: {
      const auto& o = v.as_object();
      if (o.entries.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, value>*> items;
      items.reserve(o.entries.size());
      for (const auto& e : o.entries) items.push_back(&e);
      if (opts.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += opts.item_separator;
        if (opts.has_indent) json_newline(out, opts, depth + 1);
        append_json_string(out, items[i]->first, opts.ensure_ascii);
        out += opts.key_separator;
        append_json(out, items[i]->second, opts, pos, depth + 1);
      }
      if (opts.has_indent) json_newline(out, opts, depth);
      out += '}';
      return;
    }
    default:
      throw_runtime(pos, fmt::format("Object of type {} is not JSON serializable", type_name(v)));
  }
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

std::vector<std::uint32_t> utf8_decode(std::string_view s) {
  std::vector<std::uint32_t> cps;
  cps.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    std::size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; n = 2; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; n = 3; }
    else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; n = 4; }
    else { cps.push_back(0xfffd); ++i; continue; }
    if (i + n > s.size()) { cps.push_back(0xfffd); break; }
    bool ok = true;
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) { ok = false; break; }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) { cps.push_back(0xfffd); ++i; continue; }
    cps.push_back(cp);
    i += n;
  }
  return cps;
}

void utf8_append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace tern::engine::jinja
