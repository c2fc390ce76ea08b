// Jinja2's builtin filters and tests that chat templates use, plus
// transformers' tojson (json.dumps with ensure_ascii=False by default).
// Each follows the Jinja2 3.1 filter of the same name, including how it
// treats undefined input (mostly as "" or an empty sequence).
#include "jinja/evaluator.hpp"
#include "jinja/parser.hpp"
#include "jinja/strings.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace tern::engine::jinja {
namespace {

const value* arg(const call_args& a, std::size_t i, std::string_view name) { return a.get(i, name); }
bool arg_flag(const call_args& a, std::size_t i, std::string_view name) {
  const value* v = a.get(i, name);
  return v && truthy(*v);
}
std::string str_of(const value& v) { return to_str(v); }

// Jinja2's attribute getter: "a.b.0" looks up each part as an item.
value lookup_path(evaluator& ev, const value& item, const value& path, source_pos pos) {
  if (path.is_int()) return get_item(ev, item, path, pos);
  const std::string p = to_str(path);
  value cur = item;
  std::size_t start = 0;
  while (true) {
    const auto dot = p.find('.', start);
    std::string part = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    char* end = nullptr;
    const long long idx = std::strtoll(part.c_str(), &end, 10);
    if (!part.empty() && end && *end == '\0') cur = get_item(ev, cur, value(static_cast<std::int64_t>(idx)), pos);
    else cur = get_item(ev, cur, value(std::move(part)), pos);
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

value sort_key(const value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return value(ascii_lower(v.as_string()));
  return v;
}

// --- string filters --------------------------------------------------------
value f_trim(evaluator&, const value& in, call_args& a, source_pos pos) {
  const value* chars = arg(a, 0, "chars");
  if (chars && !chars->is_none() && !chars->is_string()) throw_runtime(pos, "trim: chars must be a string");
  return value(py_strip(str_of(in), chars && chars->is_string() ? &chars->as_string() : nullptr, true, true));
}
value f_lower(evaluator&, const value& in, call_args&, source_pos) { return value(ascii_lower(str_of(in))); }
value f_upper(evaluator&, const value& in, call_args&, source_pos) { return value(ascii_upper(str_of(in))); }
// Jinja2's title filter (not str.title): words are split at whitespace,
// '-', '(', '{', '[' and '<'; each word's first letter is upper-cased and the
// rest lower-cased.
value f_title(evaluator&, const value& in, call_args&, source_pos) {
  std::string out;
  bool word_start = true;
  for (std::uint32_t c : utf8_decode(str_of(in))) {
    const bool sep = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string one;
    utf8_append(one, c);
    out += sep ? one : (word_start ? ascii_upper(one) : ascii_lower(one));
    word_start = sep;
  }
  return value(std::move(out));
}
value f_capitalize(evaluator&, const value& in, call_args&, source_pos) { return value(py_capitalize(str_of(in))); }
value f_string(evaluator&, const value& in, call_args&, source_pos) { return value(str_of(in)); }
value f_safe(evaluator&, const value& in, call_args&, source_pos) { return in; }

value f_replace(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const value* from = arg(a, 0, "old");
  const value* to = arg(a, 1, "new");
  const value* count = arg(a, 2, "count");
  if (!from || !to) throw_runtime(pos, "replace: expects (old, new[, count])");
  std::string r = py_replace(str_of(in), str_of(*from), str_of(*to), count && count->is_int() ? count->as_int() : -1,
                             ev.settings().max_output_bytes);
  ev.check_size(r.size(), pos);
  return value(std::move(r));
}

value f_escape(evaluator&, const value& in, call_args&, source_pos) {
  std::string out;
  for (char c : str_of(in)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return value(std::move(out));
}

value f_center(evaluator&, const value& in, call_args& a, source_pos) {
  const value* w = arg(a, 0, "width");
  const std::string s = str_of(in);
  const std::int64_t width = w && w->is_int() ? std::min<std::int64_t>(w->as_int(), 1 << 20) : 80;
  const auto len = static_cast<std::int64_t>(utf8_length(s));
  if (width <= len) return value(s);
  const std::int64_t pad = width - len;
  // Python's str.center puts the extra space on the right when len is even... as CPython does:
  const std::int64_t left = pad / 2 + (pad & width & 1);
  return value(std::string(static_cast<std::size_t>(left), ' ') + s +
               std::string(static_cast<std::size_t>(pad - left), ' '));
}

value f_indent(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const value* w = arg(a, 0, "width");
  std::string ind;
  if (w && w->is_string()) ind = w->as_string();
  else ind.assign(static_cast<std::size_t>(std::clamp<std::int64_t>(w && w->is_int() ? w->as_int() : 4, 0, 1 << 16)), ' ');
  const bool first = arg_flag(a, 1, "first");
  const bool blank = arg_flag(a, 2, "blank");
  std::string s = str_of(in);
  s += '\n';  // Jinja2 appends a newline so splitlines keeps a trailing empty line
  auto lines = py_splitlines(s);
  std::string rv;
  if (blank) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i) rv += '\n' + ind;
      rv += lines[i];
    }
  } else if (!lines.empty()) {
    rv = lines[0];
    for (std::size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv += ind;
      rv += lines[i];
    }
  }
  if (first) rv = ind + rv;
  ev.check_size(rv.size(), pos);
  return value(std::move(rv));
}

value f_wordcount(evaluator&, const value& in, call_args&, source_pos) {
  return value(static_cast<std::int64_t>(py_split_whitespace(str_of(in), -1, false).size()));
}

value f_format(evaluator&, const value& in, call_args& a, source_pos pos) {
  const std::string f = str_of(in);
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (i + 1 >= f.size()) throw_runtime(pos, "format: incomplete format");
    const char c = f[++i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= a.positional.size()) throw_runtime(pos, "format: not enough arguments for format string");
    const value& v = a.positional[next++];
    if (c == 's') append_str(out, v);
    else if (c == 'r') append_repr(out, v);
    else if ((c == 'd' || c == 'i') && v.is_numeric()) out += std::to_string(static_cast<std::int64_t>(v.to_double()));
    else throw template_error(errc::unsupported, pos, fmt::format("format: conversion '%{}' is not supported", c));
  }
  return value(std::move(out));
}

// --- sequences -------------------------------------------------------------
value f_length(evaluator&, const value& in, call_args&, source_pos pos) {
  switch (in.type()) {
    case value::kind::string: return value(static_cast<std::int64_t>(utf8_length(in.as_string())));
    case value::kind::array: return value(static_cast<std::int64_t>(in.as_array().size()));
    case value::kind::object: return value(static_cast<std::int64_t>(in.as_object().entries.size()));
    case value::kind::name_space: return value(static_cast<std::int64_t>(in.as_namespace()->entries.size()));
    case value::kind::undefined: return value(0);
    default: throw_runtime(pos, fmt::format("object of type '{}' has no len()", type_name(in)));
  }
}

value f_list(evaluator&, const value& in, call_args&, source_pos pos) { return value(iterate(in, pos)); }

value f_first(evaluator&, const value& in, call_args&, source_pos pos) {
  auto items = iterate(in, pos);
  return items.empty() ? value() : items.front();
}

value f_last(evaluator&, const value& in, call_args&, source_pos pos) {
  auto items = iterate(in, pos);
  return items.empty() ? value() : items.back();
}

value f_reverse(evaluator&, const value& in, call_args&, source_pos pos) {
  if (in.is_string()) {
    auto cps = utf8_decode(in.as_string());
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) utf8_append(out, *it);
    return value(std::move(out));
  }
  auto items = iterate(in, pos);
  std::reverse(items.begin(), items.end());
  return value(std::move(items));
}

value f_items(evaluator&, const value& in, call_args&, source_pos pos) {
  if (in.is_undefined()) return value(array{});
  const object* o = in.is_object() ? &in.as_object() : (in.is_namespace() ? in.as_namespace().get() : nullptr);
  if (!o) throw_runtime(pos, fmt::format("items: expected a mapping, got {}", type_name(in)));
  array r;
  r.reserve(o->entries.size());
  for (const auto& [k, v] : o->entries) r.emplace_back(array{value(k), v});
  return value(std::move(r));
}

value f_join(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const value* sep = arg(a, 0, "d");
  const value* attribute = arg(a, 1, "attribute");
  const std::string d = sep ? str_of(*sep) : std::string();
  std::string out;
  bool first = true;
  for (const auto& item : iterate(in, pos)) {
    if (!first) out += d;
    first = false;
    append_str(out, attribute && !attribute->is_none() ? lookup_path(ev, item, *attribute, pos) : item);
    ev.check_size(out.size(), pos);
  }
  return value(std::move(out));
}

value f_sort(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const bool reverse = arg_flag(a, 0, "reverse");
  const bool case_sensitive = arg_flag(a, 1, "case_sensitive");
  const value* attribute = arg(a, 2, "attribute");
  auto items = iterate(in, pos);
  std::vector<std::pair<value, value>> keyed;
  keyed.reserve(items.size());
  for (auto& item : items) {
    value k = attribute && !attribute->is_none() ? lookup_path(ev, item, *attribute, pos) : item;
    keyed.emplace_back(sort_key(k, case_sensitive), std::move(item));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? compare(y.first, x.first, pos) < 0 : compare(x.first, y.first, pos) < 0;
  });
  array r;
  for (auto& [k, v] : keyed) r.push_back(std::move(v));
  return value(std::move(r));
}

value f_dictsort(evaluator&, const value& in, call_args& a, source_pos pos) {
  if (!in.is_object()) throw_runtime(pos, "dictsort: expected a mapping");
  const bool case_sensitive = arg_flag(a, 0, "case_sensitive");
  const value* by = arg(a, 1, "by");
  const bool by_value = by && by->is_string() && by->as_string() == "value";
  const bool reverse = arg_flag(a, 2, "reverse");
  std::vector<std::pair<std::string, value>> entries = in.as_object().entries;
  std::stable_sort(entries.begin(), entries.end(), [&](const auto& x, const auto& y) {
    const value kx = sort_key(by_value ? x.second : value(x.first), case_sensitive);
    const value ky = sort_key(by_value ? y.second : value(y.first), case_sensitive);
    return reverse ? compare(ky, kx, pos) < 0 : compare(kx, ky, pos) < 0;
  });
  array r;
  for (auto& [k, v] : entries) r.emplace_back(array{value(k), v});
  return value(std::move(r));
}

value f_unique(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const bool case_sensitive = arg_flag(a, 0, "case_sensitive");
  const value* attribute = arg(a, 1, "attribute");
  array r;
  std::vector<value> seen;
  for (auto& item : iterate(in, pos)) {
    value k = sort_key(attribute && !attribute->is_none() ? lookup_path(ev, item, *attribute, pos) : item, case_sensitive);
    if (std::any_of(seen.begin(), seen.end(), [&](const value& s) { return equals(s, k); })) continue;
    seen.push_back(std::move(k));
    r.push_back(std::move(item));
  }
  return value(std::move(r));
}

value min_max(evaluator& ev, const value& in, call_args& a, source_pos pos, bool want_max) {
  const bool case_sensitive = arg_flag(a, 0, "case_sensitive");
  const value* attribute = arg(a, 1, "attribute");
  value best, best_key;
  for (auto& item : iterate(in, pos)) {
    value k = sort_key(attribute && !attribute->is_none() ? lookup_path(ev, item, *attribute, pos) : item, case_sensitive);
    if (best.is_undefined() || (want_max ? compare(k, best_key, pos) > 0 : compare(k, best_key, pos) < 0)) {
      best = item;
      best_key = std::move(k);
    }
  }
  return best;
}
value f_max(evaluator& ev, const value& in, call_args& a, source_pos pos) { return min_max(ev, in, a, pos, true); }
value f_min(evaluator& ev, const value& in, call_args& a, source_pos pos) { return min_max(ev, in, a, pos, false); }

value f_sum(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const value* attribute = arg(a, 0, "attribute");
  const value* start = arg(a, 1, "start");
  value total = start ? *start : value(0);
  for (auto& item : iterate(in, pos)) {
    const value x = attribute && !attribute->is_none() ? lookup_path(ev, item, *attribute, pos) : item;
    if (!x.is_numeric() || !total.is_numeric()) throw_runtime(pos, fmt::format("sum: cannot add {}", type_name(x)));
    if ((total.is_int() || total.is_bool()) && (x.is_int() || x.is_bool())) {
      const std::int64_t t = total.is_bool() ? total.as_bool() : total.as_int();
      const std::int64_t y = x.is_bool() ? x.as_bool() : x.as_int();
      std::int64_t r;
      if (__builtin_add_overflow(t, y, &r)) throw_runtime(pos, "sum: integer overflow");
      total = value(r);
    } else {
      total = value(total.to_double() + x.to_double());
    }
  }
  return total;
}

// select / reject / selectattr / rejectattr / map
bool run_test(evaluator& ev, const value& item, const call_args& a, std::size_t first, source_pos pos) {
  if (a.positional.size() <= first) return truthy(item);
  const value& name = a.positional[first];
  if (!name.is_string()) throw_runtime(pos, "select: the test name must be a string");
  const test_fn t = find_test(name.as_string());
  if (!t) throw_runtime(pos, fmt::format("no test named '{}'", name.as_string()));
  call_args rest;
  rest.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(first) + 1, a.positional.end());
  rest.named = a.named;
  return t(ev, item, rest, pos);
}

value select_impl(evaluator& ev, const value& in, call_args& a, source_pos pos, bool keep, bool by_attr) {
  array r;
  for (auto& item : iterate(in, pos)) {
    value subject = item;
    if (by_attr) {
      if (a.positional.empty()) throw_runtime(pos, "selectattr: missing attribute name");
      subject = lookup_path(ev, item, a.positional[0], pos);
    }
    if (run_test(ev, subject, a, by_attr ? 1 : 0, pos) == keep) r.push_back(std::move(item));
  }
  return value(std::move(r));
}
value f_select(evaluator& ev, const value& in, call_args& a, source_pos pos) { return select_impl(ev, in, a, pos, true, false); }
value f_reject(evaluator& ev, const value& in, call_args& a, source_pos pos) { return select_impl(ev, in, a, pos, false, false); }
value f_selectattr(evaluator& ev, const value& in, call_args& a, source_pos pos) { return select_impl(ev, in, a, pos, true, true); }
value f_rejectattr(evaluator& ev, const value& in, call_args& a, source_pos pos) { return select_impl(ev, in, a, pos, false, true); }

value f_map(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  array r;
  const value* attribute = nullptr;
  for (const auto& [k, v] : a.named)
    if (k == "attribute") attribute = &v;
  if (attribute) {
    const value* dflt = nullptr;
    for (const auto& [k, v] : a.named)
      if (k == "default") dflt = &v;
    for (auto& item : iterate(in, pos)) {
      value x = lookup_path(ev, item, *attribute, pos);
      r.push_back(x.is_undefined() && dflt ? *dflt : std::move(x));
    }
    return value(std::move(r));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) throw_runtime(pos, "map: expects a filter name or attribute=");
  const filter_fn f = find_filter(a.positional[0].as_string());
  if (!f) throw_runtime(pos, fmt::format("no filter named '{}'", a.positional[0].as_string()));
  call_args rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.named = a.named;
  for (auto& item : iterate(in, pos)) {
    call_args copy = rest;
    r.push_back(f(ev, item, copy, pos));
  }
  return value(std::move(r));
}

value f_batch(evaluator&, const value& in, call_args& a, source_pos pos) {
  const value* n_v = arg(a, 0, "linecount");
  const value* fill = arg(a, 1, "fill_with");
  if (!n_v || !n_v->is_int() || n_v->as_int() <= 0) throw_runtime(pos, "batch: expects a positive count");
  const auto n = static_cast<std::size_t>(n_v->as_int());
  array r, cur;
  for (auto& item : iterate(in, pos)) {
    cur.push_back(std::move(item));
    if (cur.size() == n) {
      r.emplace_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none())
      while (cur.size() < n) cur.push_back(*fill);
    r.emplace_back(std::move(cur));
  }
  return value(std::move(r));
}

// --- values -----------------------------------------------------------------
value f_default(evaluator&, const value& in, call_args& a, source_pos) {
  const value* d = arg(a, 0, "default_value");
  const bool boolean = arg_flag(a, 1, "boolean");
  if (in.is_undefined() || (boolean && !truthy(in))) return d ? *d : value(std::string());
  return in;
}

value f_tojson(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  json_options o;
  o.ensure_ascii = arg_flag(a, 0, "ensure_ascii");
  const value* indent = arg(a, 1, "indent");
  if (indent && !indent->is_none()) {
    o.has_indent = true;
    if (indent->is_string()) o.indent = indent->as_string();
    else if (indent->is_int()) o.indent.assign(static_cast<std::size_t>(std::clamp<std::int64_t>(indent->as_int(), 0, 1 << 10)), ' ');
    else throw_runtime(pos, "tojson: indent must be an integer or a string");
    o.item_separator = ",";
  }
  const value* seps = arg(a, 2, "separators");
  if (seps && !seps->is_none()) {
    if (!seps->is_array() || seps->as_array().size() != 2 || !seps->as_array()[0].is_string() ||
        !seps->as_array()[1].is_string())
      throw_runtime(pos, "tojson: separators must be a pair of strings");
    o.item_separator = seps->as_array()[0].as_string();
    o.key_separator = seps->as_array()[1].as_string();
  }
  o.sort_keys = arg_flag(a, 3, "sort_keys");
  std::string out;
  append_json(out, in, o, pos);
  ev.check_size(out.size(), pos);
  return value(std::move(out));
}

value f_int(evaluator&, const value& in, call_args& a, source_pos) {
  const value* d = arg(a, 0, "default");
  const value dflt = d ? *d : value(0);
  if (in.is_int()) return in;
  if (in.is_bool()) return value(static_cast<std::int64_t>(in.as_bool()));
  if (in.is_double()) return std::isfinite(in.as_double()) ? value(static_cast<std::int64_t>(in.as_double())) : dflt;
  if (in.is_string()) {
    const std::string s = py_strip(in.as_string(), nullptr, true, true);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0' && errno == 0) return value(static_cast<std::int64_t>(v));
    const double dv = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(dv)) return value(static_cast<std::int64_t>(dv));
  }
  return dflt;
}

value f_float(evaluator&, const value& in, call_args& a, source_pos) {
  const value* d = arg(a, 0, "default");
  const value dflt = d ? *d : value(0.0);
  if (in.is_numeric()) return value(in.to_double());
  if (in.is_string()) {
    const std::string s = py_strip(in.as_string(), nullptr, true, true);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return value(v);
  }
  return dflt;
}

value f_abs(evaluator&, const value& in, call_args&, source_pos pos) {
  if (in.is_int()) {
    if (in.as_int() == INT64_MIN) throw_runtime(pos, "abs: integer overflow");
    return value(in.as_int() < 0 ? -in.as_int() : in.as_int());
  }
  if (in.is_bool()) return value(static_cast<std::int64_t>(in.as_bool()));
  if (in.is_double()) return value(std::fabs(in.as_double()));
  throw_runtime(pos, fmt::format("bad operand type for abs(): '{}'", type_name(in)));
}

value f_round(evaluator&, const value& in, call_args& a, source_pos pos) {
  if (!in.is_numeric()) throw_runtime(pos, fmt::format("round: expected a number, got {}", type_name(in)));
  const value* p = arg(a, 0, "precision");
  const value* m = arg(a, 1, "method");
  const std::int64_t precision = p && p->is_int() ? std::clamp<std::int64_t>(p->as_int(), -30, 30) : 0;
  const std::string method = m ? to_str(*m) : "common";
  if (method == "common" && (in.is_int() || in.is_bool())) {
    // Python's round(int, ndigits) stays an int.
    const std::int64_t v = in.is_int() ? in.as_int() : in.as_bool();
    if (precision >= 0) return value(v);
    const double p10 = std::pow(10.0, static_cast<double>(-precision));
    return value(static_cast<std::int64_t>(std::nearbyint(static_cast<double>(v) / p10) * p10));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = in.to_double() * scale;
  double r;
  if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else if (method == "common") r = std::nearbyint(x);  // Python's round() rounds half to even
  else throw_runtime(pos, "round: method must be 'common', 'ceil' or 'floor'");
  return value(r / scale);
}

value f_attr(evaluator& ev, const value& in, call_args& a, source_pos pos) {
  const value* name = arg(a, 0, "name");
  if (!name || !name->is_string()) throw_runtime(pos, "attr: expects an attribute name");
  return get_attribute(ev, in, name->as_string(), pos);
}

struct filter_entry {
  std::string_view name;
  filter_fn fn;
};

constexpr filter_entry filters[] = {
    {"abs", f_abs},         {"attr", f_attr},
    {"batch", f_batch},     {"capitalize", f_capitalize},
    {"center", f_center},   {"count", f_length},
    {"d", f_default},       {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape},
    {"escape", f_escape},   {"first", f_first},
    {"float", f_float},     {"format", f_format},
    {"indent", f_indent},   {"int", f_int},
    {"items", f_items},     {"join", f_join},
    {"last", f_last},       {"length", f_length},
    {"list", f_list},       {"lower", f_lower},
    {"map", f_map},         {"max", f_max},
    {"min", f_min},         {"reject", f_reject},
    {"rejectattr", f_rejectattr}, {"replace", f_replace},
    {"reverse", f_reverse}, {"round", f_round},
    {"safe", f_safe},       {"select", f_select},
    {"selectattr", f_selectattr}, {"sort", f_sort},
    {"string", f_string},   {"sum", f_sum},
    {"title", f_title},     {"tojson", f_tojson},
    {"trim", f_trim},       {"unique", f_unique},
    {"upper", f_upper},     {"wordcount", f_wordcount},
};

// --- tests ------------------------------------------------------------------
const value& test_arg(const call_args& a, std::string_view test, source_pos pos) {
  const value* v = a.get(0, "other");
  if (!v) throw_runtime(pos, fmt::format("test '{}' needs an argument", test));
  return *v;
}

bool t_defined(evaluator&, const value& v, call_args&, source_pos) { return !v.is_undefined(); }
bool t_undefined(evaluator&, const value& v, call_args&, source_pos) { return v.is_undefined(); }
bool t_none(evaluator&, const value& v, call_args&, source_pos) { return v.is_none(); }
bool t_boolean(evaluator&, const value& v, call_args&, source_pos) { return v.is_bool(); }
bool t_true(evaluator&, const value& v, call_args&, source_pos) { return v.is_bool() && v.as_bool(); }
bool t_false(evaluator&, const value& v, call_args&, source_pos) { return v.is_bool() && !v.as_bool(); }
bool t_integer(evaluator&, const value& v, call_args&, source_pos) { return v.is_int(); }
bool t_float(evaluator&, const value& v, call_args&, source_pos) { return v.is_double(); }
bool t_number(evaluator&, const value& v, call_args&, source_pos) { return v.is_numeric(); }
bool t_string(evaluator&, const value& v, call_args&, source_pos) { return v.is_string(); }
bool t_mapping(evaluator&, const value& v, call_args&, source_pos) { return v.is_object(); }
bool t_iterable(evaluator&, const value& v, call_args&, source_pos) {
  return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
}
bool t_sequence(evaluator&, const value& v, call_args&, source_pos) {
  return v.is_string() || v.is_array() || v.is_object() || v.is_undefined();
}
bool t_callable(evaluator&, const value& v, call_args&, source_pos) { return v.is_function(); }
bool t_lower(evaluator&, const value& v, call_args&, source_pos) { const auto s = to_str(v); return ascii_lower(s) == s; }
bool t_upper(evaluator&, const value& v, call_args&, source_pos) { const auto s = to_str(v); return ascii_upper(s) == s; }
bool t_escaped(evaluator&, const value&, call_args&, source_pos) { return false; }

std::int64_t int_operand(const value& v, source_pos pos, std::string_view test) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() && std::fabs(v.as_double()) < 9e18)
    return static_cast<std::int64_t>(v.as_double());
  throw_runtime(pos, fmt::format("test '{}' expects an integer, got {}", test, type_name(v)));
}
bool t_odd(evaluator&, const value& v, call_args&, source_pos pos) { return int_operand(v, pos, "odd") % 2 != 0; }
bool t_even(evaluator&, const value& v, call_args&, source_pos pos) { return int_operand(v, pos, "even") % 2 == 0; }
bool t_divisibleby(evaluator&, const value& v, call_args& a, source_pos pos) {
  const std::int64_t d = int_operand(test_arg(a, "divisibleby", pos), pos, "divisibleby");
  if (d == 0) throw_runtime(pos, "divisibleby: division by zero");
  return int_operand(v, pos, "divisibleby") % d == 0;
}
bool t_eq(evaluator&, const value& v, call_args& a, source_pos pos) { return equals(v, test_arg(a, "eq", pos)); }
bool t_ne(evaluator&, const value& v, call_args& a, source_pos pos) { return !equals(v, test_arg(a, "ne", pos)); }
bool t_lt(evaluator&, const value& v, call_args& a, source_pos pos) { return compare(v, test_arg(a, "lt", pos), pos) < 0; }
bool t_le(evaluator&, const value& v, call_args& a, source_pos pos) { return compare(v, test_arg(a, "le", pos), pos) <= 0; }
bool t_gt(evaluator&, const value& v, call_args& a, source_pos pos) { return compare(v, test_arg(a, "gt", pos), pos) > 0; }
bool t_ge(evaluator&, const value& v, call_args& a, source_pos pos) { return compare(v, test_arg(a, "ge", pos), pos) >= 0; }
bool t_sameas(evaluator&, const value& v, call_args& a, source_pos pos) {
  const value& o = test_arg(a, "sameas", pos);
  // Python identity: only singletons (None, True, False) are reliably "the same".
  if (v.is_none() || o.is_none()) return v.is_none() && o.is_none();
  if (v.is_bool() || o.is_bool()) return v.is_bool() && o.is_bool() && v.as_bool() == o.as_bool();
  return v.type() == o.type() && equals(v, o) && (v.is_array() || v.is_object() ? &v.as_array() == &o.as_array() : true);
}
bool t_in(evaluator&, const value& v, call_args& a, source_pos pos) {
  const value& seq = test_arg(a, "in", pos);
  if (seq.is_string()) return v.is_string() && seq.as_string().find(v.as_string()) != std::string::npos;
  if (seq.is_object()) return v.is_string() && seq.as_object().find(v.as_string());
  for (const auto& e : iterate(seq, pos))
    if (equals(e, v)) return true;
  return false;
}
bool t_filter(evaluator&, const value& v, call_args&, source_pos) { return v.is_string() && find_filter(v.as_string()); }
bool t_test(evaluator&, const value& v, call_args&, source_pos) { return v.is_string() && find_test(v.as_string()); }

struct test_entry {
  std::string_view name;
  test_fn fn;
};

constexpr test_entry tests[] = {
    {"!=", t_ne},           {"<", t_lt},          {"<=", t_le},         {"==", t_eq},
    {">", t_gt},            {">=", t_ge},         {"boolean", t_boolean}, {"callable", t_callable},
    {"defined", t_defined}, {"divisibleby", t_divisibleby}, {"eq", t_eq}, {"equalto", t_eq},
    {"escaped", t_escaped}, {"even", t_even},     {"false", t_false},   {"filter", t_filter},
    {"float", t_float},     {"ge", t_ge},         {"greaterthan", t_gt}, {"gt", t_gt},
    {"in", t_in},           {"integer", t_integer}, {"iterable", t_iterable}, {"le", t_le},
    {"lessthan", t_lt},     {"lower", t_lower},   {"lt", t_lt},         {"mapping", t_mapping},
    {"ne", t_ne},           {"none", t_none},     {"number", t_number}, {"odd", t_odd},
    {"sameas", t_sameas},   {"sequence", t_sequence}, {"string", t_string}, {"test", t_test},
    {"true", t_true},       {"undefined", t_undefined}, {"upper", t_upper},
};

}  // namespace

filter_fn find_filter(std::string_view name) {
  for (const auto& f : filters)
    if (f.name == name) return f.fn;
  return nullptr;
}

test_fn find_test(std::string_view name) {
  for (const auto& t : tests)
    if (t.name == name) return t.fn;
  return nullptr;
}

}  // namespace tern::engine::jinja
