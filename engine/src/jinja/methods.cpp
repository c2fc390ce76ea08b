// Attribute and item access, Python methods of str/dict/list, slicing,
// iteration and the global functions. Everything a template can reach is
// listed here: there is no reflection, so no interpreter internal is
// reachable (names starting with "__" are refused outright).
#include "jinja/evaluator.hpp"
#include "jinja/strings.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace tern::engine::jinja {
namespace {

bool is_safe_dict_method(std::string_view n) { return n == "get" || n == "items" || n == "keys" || n == "values" || n == "copy"; }
bool is_unsafe_dict_method(std::string_view n) {
  return n == "clear" || n == "pop" || n == "popitem" || n == "setdefault" || n == "update" || n == "fromkeys";
}
bool is_str_method(std::string_view n) {
  static constexpr std::string_view names[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                               "replace", "lower", "upper", "title", "capitalize", "find", "rfind",
                                               "count", "join", "splitlines", "isdigit", "isalpha", "isalnum", "isspace",
                                               "islower", "isupper", "index", "casefold", "swapcase"};
  return std::find(std::begin(names), std::end(names), n) != std::end(names);
}
bool is_list_method(std::string_view n) { return n == "index" || n == "count"; }

value bound_method(const value& self, const std::string& name) {
  auto fn = std::make_shared<function>();
  fn->name = name;
  fn->call = [self, name](evaluator& ev, call_args& args, source_pos pos) {
    value result;
    call_method(ev, self, name, args, pos, result);
    return result;
  };
  return value(std::shared_ptr<const function>(std::move(fn)));
}

[[noreturn]] void refuse_dunder(const std::string& name, source_pos pos) {
  throw template_error(errc::invalid_argument, pos,
                       fmt::format("access to attribute '{}' is not allowed in the sandbox", name));
}

const std::string& arg_string(const call_args& a, std::size_t i, std::string_view name, std::string_view method,
                              source_pos pos) {
  const value* v = a.get(i, name);
  if (!v || !v->is_string())
    throw_runtime(pos, fmt::format("{}() argument '{}' must be str, not {}", method, name, v ? type_name(*v) : "nothing"));
  return v->as_string();
}

std::int64_t python_index(std::int64_t i, std::size_t n) { return i < 0 ? i + static_cast<std::int64_t>(n) : i; }

// Python's slice index adjustment for a sequence of length n.
std::vector<std::size_t> slice_indices(const value& start_v, const value& stop_v, const value& step_v, std::size_t n,
                                       source_pos pos) {
  auto as_int = [&](const value& v) -> std::int64_t {
    if (v.is_int()) return v.as_int();
    if (v.is_bool()) return v.as_bool();
    throw_runtime(pos, fmt::format("slice indices must be integers or None, not {}", type_name(v)));
  };
  const std::int64_t len = static_cast<std::int64_t>(n);
  const std::int64_t step = step_v.is_none() ? 1 : as_int(step_v);
  if (step == 0) throw_runtime(pos, "slice step cannot be zero");
  const std::int64_t lower = step > 0 ? 0 : -1;
  const std::int64_t upper = step > 0 ? len : len - 1;
  auto adjust = [&](const value& v, std::int64_t dflt) {
    if (v.is_none()) return dflt;
    std::int64_t i = as_int(v);
    if (i < 0) i += len;
    return std::clamp(i, lower, upper);
  };
  const std::int64_t start = adjust(start_v, step > 0 ? lower : upper);
  const std::int64_t stop = adjust(stop_v, step > 0 ? upper : lower);
  std::vector<std::size_t> out;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(static_cast<std::size_t>(i));
  return out;
}

bool str_method(evaluator& ev, const std::string& s, const std::string& name, call_args& a, source_pos pos,
                value& out) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const value* chars = a.get(0, "chars");
    const bool left = name != "rstrip", right = name != "lstrip";
    if (chars && !chars->is_none() && !chars->is_string())
      throw_runtime(pos, fmt::format("{} arg must be None or str", name));
    out = value(py_strip(s, chars && chars->is_string() ? &chars->as_string() : nullptr, left, right));
    return true;
  }
  if (name == "split" || name == "rsplit") {
    const value* sep = a.get(0, "sep");
    const value* maxsplit = a.get(1, "maxsplit");
    const std::int64_t limit = maxsplit && maxsplit->is_int() ? maxsplit->as_int() : -1;
    if (sep && !sep->is_none() && !sep->is_string()) throw_runtime(pos, "must be str or None");
    std::vector<std::string> parts;
    if (sep && sep->is_string()) {
      if (sep->as_string().empty()) throw_runtime(pos, "empty separator");
      parts = py_split(s, sep->as_string(), limit, name == "rsplit");
    } else {
      parts = py_split_whitespace(s, limit, name == "rsplit");
    }
    ev.charge_iterations(parts.size(), pos);
    array r;
    r.reserve(parts.size());
    for (auto& p : parts) r.emplace_back(std::move(p));
    out = value(std::move(r));
    return true;
  }
  if (name == "startswith" || name == "endswith") {
    const value* arg = a.get(0, "prefix");
    if (!arg) throw_runtime(pos, fmt::format("{}() takes at least 1 argument", name));
    auto test = [&](const value& p) {
      if (!p.is_string())
        throw_runtime(pos, fmt::format("{} first arg must be str or a tuple of str, not {}", name, type_name(p)));
      const auto& x = p.as_string();
      if (x.size() > s.size()) return false;
      return name == "startswith" ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    bool r = false;
    if (arg->is_array()) {
      for (const auto& p : arg->as_array()) r = r || test(p);
    } else {
      r = test(*arg);
    }
    out = value(r);
    return true;
  }
  if (name == "replace") {
    const auto& from = arg_string(a, 0, "old", name, pos);
    const auto& to = arg_string(a, 1, "new", name, pos);
    const value* count = a.get(2, "count");
    const std::int64_t n = count && count->is_int() ? count->as_int() : -1;
    std::string r = py_replace(s, from, to, n, ev.settings().max_output_bytes);
    ev.check_size(r.size(), pos);
    out = value(std::move(r));
    return true;
  }
  if (name == "lower" || name == "casefold") { out = value(ascii_lower(s)); return true; }
  if (name == "upper") { out = value(ascii_upper(s)); return true; }
  if (name == "title") { out = value(py_title(s)); return true; }
  if (name == "capitalize") { out = value(py_capitalize(s)); return true; }
  if (name == "swapcase") {
    std::string r = s;
    for (char& c : r) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    out = value(std::move(r));
    return true;
  }
  if (name == "find" || name == "rfind" || name == "index") {
    const auto& sub = arg_string(a, 0, "sub", name, pos);
    const auto at = name == "rfind" ? s.rfind(sub) : s.find(sub);
    if (at == std::string::npos) {
      if (name == "index") throw_runtime(pos, "substring not found");
      out = value(-1);
    } else {
      out = value(static_cast<std::int64_t>(utf8_length(std::string_view(s).substr(0, at))));
    }
    return true;
  }
  if (name == "count") {
    const auto& sub = arg_string(a, 0, "sub", name, pos);
    std::int64_t n = 0;
    if (sub.empty()) {
      n = static_cast<std::int64_t>(utf8_length(s)) + 1;
    } else {
      for (auto at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
    }
    out = value(n);
    return true;
  }
  if (name == "join") {
    const value* items = a.get(0, "iterable");
    if (!items) throw_runtime(pos, "join() takes exactly one argument");
    std::string r;
    bool first = true;
    for (const auto& item : iterate(*items, pos)) {
      if (!item.is_string())
        throw_runtime(pos, fmt::format("sequence item: expected str instance, {} found", type_name(item)));
      if (!first) r += s;
      first = false;
      r += item.as_string();
      ev.check_size(r.size(), pos);
    }
    out = value(std::move(r));
    return true;
  }
  if (name == "splitlines") {
    array r;
    for (auto& line : py_splitlines(s)) r.emplace_back(std::move(line));
    out = value(std::move(r));
    return true;
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    out = value(py_is_class(s, name));
    return true;
  }
  return false;
}

}  // namespace

value get_attribute(evaluator& ev, const value& obj, const std::string& name, source_pos pos) {
  (void)ev;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') refuse_dunder(name, pos);
  switch (obj.type()) {
    case value::kind::object: {
      if (is_safe_dict_method(name)) return bound_method(obj, name);
      if (is_unsafe_dict_method(name)) return value();
      const value* v = obj.as_object().find(name);
      return v ? *v : value();
    }
    case value::kind::name_space: {
      const value* v = obj.as_namespace()->find(name);
      return v ? *v : value();
    }
    case value::kind::string: return is_str_method(name) ? bound_method(obj, name) : value();
    case value::kind::array: return is_list_method(name) ? bound_method(obj, name) : value();
    default: return value();
  }
}

value get_item(evaluator& ev, const value& obj, const value& key, source_pos pos) {
  switch (obj.type()) {
    case value::kind::array:
      if (key.is_int() || key.is_bool()) {
        const auto& a = obj.as_array();
        const std::int64_t i = python_index(key.is_int() ? key.as_int() : key.as_bool(), a.size());
        if (i < 0 || i >= static_cast<std::int64_t>(a.size())) return value();
        return a[static_cast<std::size_t>(i)];
      }
      break;
    case value::kind::string:
      if (key.is_int() || key.is_bool()) {
        const auto cps = utf8_decode(obj.as_string());
        const std::int64_t i = python_index(key.is_int() ? key.as_int() : key.as_bool(), cps.size());
        if (i < 0 || i >= static_cast<std::int64_t>(cps.size())) return value();
        std::string r;
        utf8_append(r, cps[static_cast<std::size_t>(i)]);
        return value(std::move(r));
      }
      break;
    case value::kind::object:
      if (key.is_string()) {
        if (const value* v = obj.as_object().find(key.as_string())) return *v;
      }
      break;
    case value::kind::name_space:
      if (key.is_string()) {
        if (const value* v = obj.as_namespace()->find(key.as_string())) return *v;
      }
      break;
    default: break;
  }
  // Jinja2 falls back to the attribute of that name.
  if (key.is_string() && !(key.as_string().size() >= 2 && key.as_string().compare(0, 2, "__") == 0))
    return get_attribute(ev, obj, key.as_string(), pos);
  return value();
}

bool call_method(evaluator& ev, const value& self, const std::string& name, call_args& args, source_pos pos,
                 value& result) {
  if (name == "__slice__") {
    const value& start = args.positional[0];
    const value& stop = args.positional[1];
    const value& step = args.positional[2];
    if (self.is_array()) {
      const auto& a = self.as_array();
      array r;
      for (std::size_t i : slice_indices(start, stop, step, a.size(), pos)) r.push_back(a[i]);
      result = value(std::move(r));
      return true;
    }
    if (self.is_string()) {
      const auto cps = utf8_decode(self.as_string());
      std::string r;
      for (std::size_t i : slice_indices(start, stop, step, cps.size(), pos)) utf8_append(r, cps[i]);
      result = value(std::move(r));
      return true;
    }
    if (self.is_undefined()) throw_runtime(pos, "cannot slice an undefined value");
    throw_runtime(pos, fmt::format("'{}' object is not subscriptable", type_name(self)));
  }
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') refuse_dunder(name, pos);
  if (self.is_string() && is_str_method(name)) {
    if (str_method(ev, self.as_string(), name, args, pos, result)) return true;
  }
  if (self.is_object() && is_safe_dict_method(name)) {
    const object& o = self.as_object();
    if (name == "get") {
      const value* key = args.get(0, "key");
      if (!key) throw_runtime(pos, "get() takes at least 1 argument");
      const value* dflt = args.get(1, "default");
      const value* v = key->is_string() ? o.find(key->as_string()) : nullptr;
      result = v ? *v : (dflt ? *dflt : value(nullptr));
      return true;
    }
    if (name == "copy") {
      result = self;
      return true;
    }
    array r;
    r.reserve(o.entries.size());
    for (const auto& [k, v] : o.entries) {
      if (name == "keys") r.emplace_back(k);
      else if (name == "values") r.push_back(v);
      else r.emplace_back(array{value(k), v});
    }
    result = value(std::move(r));
    return true;
  }
  if (self.is_array() && is_list_method(name)) {
    const value* x = args.get(0, "value");
    if (!x) throw_runtime(pos, fmt::format("{}() takes exactly one argument", name));
    const auto& a = self.as_array();
    std::int64_t n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!equals(a[i], *x)) continue;
      if (name == "index") {
        result = value(static_cast<std::int64_t>(i));
        return true;
      }
      ++n;
    }
    if (name == "index") throw_runtime(pos, "list.index(x): x not in list");
    result = value(n);
    return true;
  }
  return false;
}

std::vector<value> iterate(const value& v, source_pos pos) {
  switch (v.type()) {
    case value::kind::array: return v.as_array();
    case value::kind::object: {
      std::vector<value> keys;
      keys.reserve(v.as_object().entries.size());
      for (const auto& [k, x] : v.as_object().entries) keys.emplace_back(k);
      return keys;
    }
    case value::kind::string: {
      std::vector<value> chars;
      for (std::uint32_t cp : utf8_decode(v.as_string())) {
        std::string c;
        utf8_append(c, cp);
        chars.emplace_back(std::move(c));
      }
      return chars;
    }
    case value::kind::undefined: return {};
    default: throw_runtime(pos, fmt::format("'{}' object is not iterable", type_name(v)));
  }
}

// --- globals ----------------------------------------------------------------
namespace {

value make_function(std::string name, std::function<value(evaluator&, call_args&, source_pos)> fn) {
  auto f = std::make_shared<function>();
  f->name = std::move(name);
  f->call = std::move(fn);
  return value(std::shared_ptr<const function>(std::move(f)));
}

std::int64_t int_arg(const value& v, source_pos pos, std::string_view fn) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  throw_runtime(pos, fmt::format("{}() expects integer arguments, got {}", fn, type_name(v)));
}

value global_range(evaluator& ev, call_args& a, source_pos pos) {
  std::int64_t start = 0, stop = 0, step = 1;
  const auto& p = a.positional;
  if (p.size() == 1) {
    stop = int_arg(p[0], pos, "range");
  } else if (p.size() == 2 || p.size() == 3) {
    start = int_arg(p[0], pos, "range");
    stop = int_arg(p[1], pos, "range");
    if (p.size() == 3) step = int_arg(p[2], pos, "range");
  } else {
    throw_runtime(pos, "range() expects 1 to 3 arguments");
  }
  if (step == 0) throw_runtime(pos, "range() arg 3 must not be zero");
  const double span = (static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step);
  const std::size_t n = span <= 0 ? 0 : static_cast<std::size_t>(std::ceil(span));
  if (static_cast<double>(n) > static_cast<double>(ev.settings().max_loop_iterations))
    throw_limit(pos, fmt::format("range() of {} items exceeds the loop limit of {}", n, ev.settings().max_loop_iterations));
  ev.charge_iterations(n, pos);
  array r;
  r.reserve(n);
  for (std::size_t i = 0; i < n; ++i) r.emplace_back(start + static_cast<std::int64_t>(i) * step);
  return value(std::move(r));
}

value global_namespace(evaluator& ev, call_args& a, source_pos pos) {
  auto fields = std::make_shared<object>();
  for (const auto& p : a.positional) {
    if (!p.is_object()) throw_runtime(pos, "namespace() takes only keyword arguments or a dict");
    for (const auto& [k, v] : p.as_object().entries) fields->set(k, v);
  }
  for (const auto& [k, v] : a.named) fields->set(k, v);
  ev.track_namespace(fields);
  return value(namespace_ref{std::move(fields)});
}

value global_dict(evaluator&, call_args& a, source_pos pos) {
  object o;
  for (const auto& p : a.positional) {
    if (!p.is_object()) throw_runtime(pos, "dict() takes only keyword arguments or a dict");
    for (const auto& [k, v] : p.as_object().entries) o.set(k, v);
  }
  for (const auto& [k, v] : a.named) o.set(k, v);
  return value(std::move(o));
}

value global_raise(evaluator&, call_args& a, source_pos pos) {
  const value* msg = a.get(0, "message");
  throw template_error(errc::invalid_argument, pos,
                       fmt::format("the template raised an exception: {}", msg ? to_str(*msg) : std::string()));
}

value global_strftime_now(evaluator& ev, call_args& a, source_pos pos) {
  const value* fmt_v = a.get(0, "format");
  if (!fmt_v || !fmt_v->is_string()) throw_runtime(pos, "strftime_now() expects a format string");
  const std::string& f = fmt_v->as_string();
  if (f.empty()) return value(std::string());
  std::string buf(f.size() * 4 + 64, '\0');
  for (int attempt = 0; attempt < 6; ++attempt) {
    const std::size_t n = std::strftime(buf.data(), buf.size(), f.c_str(), &ev.settings().now);
    if (n > 0) {
      buf.resize(n);
      return value(std::move(buf));
    }
    buf.resize(buf.size() * 4);
  }
  return value(std::string());
}

struct globals_table {
  std::vector<std::pair<std::string, value>> entries;
  globals_table() {
    entries.emplace_back("range", make_function("range", global_range));
    entries.emplace_back("namespace", make_function("namespace", global_namespace));
    entries.emplace_back("dict", make_function("dict", global_dict));
    entries.emplace_back("raise_exception", make_function("raise_exception", global_raise));
    entries.emplace_back("strftime_now", make_function("strftime_now", global_strftime_now));
  }
};

}  // namespace

const value* find_global(std::string_view name) {
  static const globals_table table;
  for (const auto& [k, v] : table.entries)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace tern::engine::jinja
