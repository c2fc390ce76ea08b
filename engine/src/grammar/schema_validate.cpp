// A JSON Schema validator for single values, used by the compiler to filter
// `enum`/`const` candidates (see schema_validate.hpp). It covers the assertion
// keywords of drafts 4 to 2020-12; what it cannot check is an error, never a pass.
#include "grammar/schema_validate.hpp"

#include "grammar/dfa.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <set>

namespace tern::engine::grammar_detail {
namespace bj = boost::json;

const char* format_regex(std::string_view f) {
  // Days per month; 29 February is allowed in every year (leap years are not checked).
  static const std::string date =
      "[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|[12][0-9]))";
  static const std::string time =
      "([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
  static const std::string date_time = date + "[Tt]" + time;
  static const std::string label = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?";
  static const std::string email =
      "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@" + label + "(\\." + label + ")*";
  static const std::string hostname = label + "(\\." + label + ")*";
  static const std::string octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  static const std::string ipv4 = octet + "\\." + octet + "\\." + octet + "\\." + octet;
  if (f == "date") return date.c_str();
  if (f == "time") return time.c_str();
  if (f == "date-time") return date_time.c_str();
  if (f == "email") return email.c_str();
  if (f == "uuid") return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  if (f == "hostname") return hostname.c_str();
  if (f == "ipv4") return ipv4.c_str();
  if (f == "uri") return "[A-Za-z][A-Za-z0-9+.-]*:[^ \\t\\n\\r\"<>\\\\^`{|}]*";
  if (f == "uri-reference") return "[^ \\t\\n\\r\"<>\\\\^`{|}]*";
  return nullptr;
}

bool is_standard_format(std::string_view f) {
  static const std::set<std::string_view> standard = {
      "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
      "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
      "relative-json-pointer", "regex"};
  return standard.count(f) > 0;
}

namespace {

bool is_integral(const bj::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  if (!v.is_double()) return false;
  double d = v.get_double();
  return std::isfinite(d) && d == std::floor(d);
}

double num(const bj::value& v) { return v.to_number<double>(); }

const char* type_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "boolean";
    case bj::kind::string: return "string";
    case bj::kind::array: return "array";
    case bj::kind::object: return "object";
    default: return "number";
  }
}

bool has_type(const bj::value& inst, std::string_view t) {
  std::string_view k = type_name(inst);
  if (t == k) return true;
  return t == "integer" && k == "number" && is_integral(inst);
}

size_t n_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

bool json_equal(const bj::value& a, const bj::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) return num(a) == num(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const bj::value& s = a.is_int64() ? a : b;
    const bj::value& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && uint64_t(s.get_int64()) == u.get_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!json_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      auto* other = y.if_contains(kv.key());
      if (!other || !json_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

instance_validator::instance_validator(const bj::value& root) : root_(root) {}
instance_validator::~instance_validator() = default;

result<bool> instance_validator::valid(const bj::value& schema, const bj::value& instance, const std::string& ptr) {
  return check(schema, instance, ptr, 0);
}

result<const bj::value*> instance_validator::resolve(std::string_view ref, const std::string& ptr) {
  auto where = [&] { return ptr.empty() ? std::string("schema root") : ptr; };
  if (ref.empty() || ref[0] != '#')
    return fail(errc::unsupported, fmt::format("'$ref' to '{}' is not supported (only local '#/...' references)", ref))
        .at(where());
  // URI fragment: percent-decoded, then a JSON pointer.
  std::string p;
  for (size_t i = 1; i < ref.size(); ++i) {
    auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1; };
    if (ref[i] == '%' && i + 2 < ref.size() && hex(ref[i + 1]) >= 0 && hex(ref[i + 2]) >= 0) {
      p += char(hex(ref[i + 1]) * 16 + hex(ref[i + 2]));
      i += 2;
    } else {
      p += ref[i];
    }
  }
  if (!p.empty() && p[0] != '/')
    return fail(errc::unsupported, fmt::format("'$ref' '{}' (an anchor) is not supported", ref)).at(where());
  boost::system::error_code ec;
  const bj::value* t = root_.find_pointer(p, ec);
  if (!t || ec) return fail(errc::invalid_argument, fmt::format("'$ref' '{}' points nowhere", ref)).at(where());
  return t;
}

result<bool> instance_validator::matches(std::string_view pattern, std::string_view text, const std::string& ptr) {
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) {
    auto re = parse_regex(pattern);
    if (!re) return std::move(re).error().at(ptr);
    auto d = compile_dfa(*re);
    if (!d) return std::move(d).error().at(ptr);
    it = patterns_.emplace(std::string(pattern), std::make_unique<dfa>(std::move(d).value())).first;
  }
  const dfa& d = *it->second;
  if (d.empty_language()) return false;
  int32_t q = d.start;
  for (char c : text) {
    q = d.step(q, uint8_t(c));
    if (q == dead) return false;
  }
  return d.accept[size_t(q)] != 0;
}

result<bool> instance_validator::check(const bj::value& schema, const bj::value& inst, const std::string& ptr,
                                       int depth) {
  if (depth > 256)
    return fail(errc::limit_exceeded, "schema nests too deeply while checking an 'enum'/'const' value (a '$ref' cycle?)")
        .at(ptr.empty() ? std::string("schema root") : ptr);
  if (schema.is_bool()) return schema.get_bool();
  if (!schema.is_object())
    return fail(errc::invalid_argument, "a schema must be an object or a boolean").at(ptr.empty() ? "schema root" : ptr);
  return check_object(schema.get_object(), inst, ptr, depth);
}

result<bool> instance_validator::check_object(const bj::object& s, const bj::value& inst, const std::string& ptr,
                                              int depth) {
  auto at = [&](std::string_view k) { return json::append_pointer(ptr, k); };
  auto unsupported = [&](std::string msg) -> tern::error {
    return tern::error(errc::unsupported, std::move(msg)).at(ptr.empty() ? std::string("schema root") : ptr);
  };
  auto sub = [&](const bj::value& sch, const bj::value& v, const std::string& p) { return check(sch, v, p, depth + 1); };

  for (const char* k : {"unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef"})
    if (auto* v = s.if_contains(k); v && !(v->is_bool() && v->get_bool()))
      return unsupported(fmt::format("'{}' is not supported", k));

  if (auto* r = s.if_contains("$ref"); r && r->is_string()) {
    TERN_TRY(const bj::value* t, resolve(std::string_view(r->get_string()), ptr));
    TERN_TRY(bool ok, check(*t, inst, std::string(r->get_string()).substr(1), depth + 1));
    if (!ok) return false;
  }
  if (auto* t = s.if_contains("type")) {
    bool ok = false;
    if (t->is_string()) ok = has_type(inst, std::string_view(t->get_string()));
    if (t->is_array())
      for (const auto& x : t->get_array())
        if (x.is_string() && has_type(inst, std::string_view(x.get_string()))) ok = true;
    if (!ok) return false;
  }
  if (auto* e = s.if_contains("enum"); e && e->is_array()) {
    bool ok = false;
    for (const auto& x : e->get_array())
      if (json_equal(x, inst)) ok = true;
    if (!ok) return false;
  }
  if (auto* c = s.if_contains("const"); c && !json_equal(*c, inst)) return false;

  for (const char* k : {"allOf", "$tern-unmerged"})
    if (auto* a = s.if_contains(k); a && a->is_array())
      for (size_t i = 0; i < a->get_array().size(); ++i) {
        TERN_TRY(bool ok, sub(a->get_array()[i], inst, json::append_pointer(at(k), i)));
        if (!ok) return false;
      }
  if (auto* a = s.if_contains("anyOf"); a && a->is_array()) {
    bool any = false;
    for (size_t i = 0; i < a->get_array().size() && !any; ++i) {
      TERN_TRY(bool ok, sub(a->get_array()[i], inst, json::append_pointer(at("anyOf"), i)));
      any = ok;
    }
    if (!any) return false;
  }
  if (auto* a = s.if_contains("oneOf"); a && a->is_array()) {
    size_t n = 0;
    for (size_t i = 0; i < a->get_array().size(); ++i) {
      TERN_TRY(bool ok, sub(a->get_array()[i], inst, json::append_pointer(at("oneOf"), i)));
      n += ok;
    }
    if (n != 1) return false;
  }
  if (auto* n = s.if_contains("not")) {
    TERN_TRY(bool ok, sub(*n, inst, at("not")));
    if (ok) return false;
  }
  if (auto* c = s.if_contains("if")) {
    TERN_TRY(bool cond, sub(*c, inst, at("if")));
    const char* branch = cond ? "then" : "else";
    if (auto* b = s.if_contains(branch)) {
      TERN_TRY(bool ok, sub(*b, inst, at(branch)));
      if (!ok) return false;
    }
  }

  if (inst.is_number()) {
    double x = num(inst);
    auto bound = [&](const char* k) -> const bj::value* {
      auto* v = s.if_contains(k);
      return v && v->is_number() ? v : nullptr;
    };
    if (auto* m = bound("multipleOf")) {
      double d = num(*m);
      if (d <= 0) return fail(errc::invalid_argument, "'multipleOf' must be positive").at(at("multipleOf"));
      if (is_integral(inst) && is_integral(*m) && std::fabs(x) < 9e15 && d < 9e15) {
        if (std::fmod(x, d) != 0) return false;
      } else {
        double q = x / d;
        if (!std::isfinite(q) || std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q))) return false;
      }
    }
    auto excl = [&](const char* k) {
      auto* v = s.if_contains(k);
      return v && v->is_bool() && v->get_bool();
    };
    if (auto* v = bound("minimum"); v && (excl("exclusiveMinimum") ? !(x > num(*v)) : !(x >= num(*v)))) return false;
    if (auto* v = bound("maximum"); v && (excl("exclusiveMaximum") ? !(x < num(*v)) : !(x <= num(*v)))) return false;
    if (auto* v = bound("exclusiveMinimum"); v && !(x > num(*v))) return false;
    if (auto* v = bound("exclusiveMaximum"); v && !(x < num(*v))) return false;
  }

  if (inst.is_string()) {
    std::string_view str(inst.get_string());
    size_t n = n_chars(str);
    if (auto* v = s.if_contains("minLength"); v && v->is_number() && double(n) < num(*v)) return false;
    if (auto* v = s.if_contains("maxLength"); v && v->is_number() && double(n) > num(*v)) return false;
    if (auto* p = s.if_contains("pattern"); p && p->is_string()) {
      TERN_TRY(bool ok, matches(std::string_view(p->get_string()), str, at("pattern")));
      if (!ok) return false;
    }
    if (auto* f = s.if_contains("format"); f && f->is_string() && is_standard_format(std::string_view(f->get_string()))) {
      const char* re = format_regex(std::string_view(f->get_string()));
      if (!re) return unsupported(fmt::format("'format' '{}' is not supported", std::string_view(f->get_string())));
      TERN_TRY(bool ok, matches(std::string("^(") + re + ")$", str, at("format")));
      if (!ok) return false;
    }
  }

  if (inst.is_array()) {
    const auto& a = inst.get_array();
    if (auto* v = s.if_contains("minItems"); v && v->is_number() && double(a.size()) < num(*v)) return false;
    if (auto* v = s.if_contains("maxItems"); v && v->is_number() && double(a.size()) > num(*v)) return false;
    if (auto* u = s.if_contains("uniqueItems"); u && u->is_bool() && u->get_bool())
      for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = i + 1; j < a.size(); ++j)
          if (json_equal(a[i], a[j])) return false;
    size_t n_prefix = 0;
    const bj::value* rest = nullptr;
    std::string rest_ptr;
    auto check_prefix = [&](const bj::array& schemas, const std::string& p) -> result<bool> {
      n_prefix = schemas.size();
      for (size_t i = 0; i < schemas.size() && i < a.size(); ++i) {
        TERN_TRY(bool ok, sub(schemas[i], a[i], json::append_pointer(p, i)));
        if (!ok) return false;
      }
      return true;
    };
    if (auto* pi = s.if_contains("prefixItems"); pi && pi->is_array()) {
      TERN_TRY(bool ok, check_prefix(pi->get_array(), at("prefixItems")));
      if (!ok) return false;
      rest = s.if_contains("items"), rest_ptr = at("items");
    } else if (auto* it = s.if_contains("items"); it && it->is_array()) {
      TERN_TRY(bool ok, check_prefix(it->get_array(), at("items")));
      if (!ok) return false;
      rest = s.if_contains("additionalItems"), rest_ptr = at("additionalItems");
    } else {
      rest = it, rest_ptr = at("items");
    }
    if (rest)
      for (size_t i = n_prefix; i < a.size(); ++i) {
        TERN_TRY(bool ok, sub(*rest, a[i], rest_ptr));
        if (!ok) return false;
      }
    if (auto* c = s.if_contains("contains")) {
      size_t hits = 0;
      for (const auto& x : a) {
        TERN_TRY(bool ok, sub(*c, x, at("contains")));
        hits += ok;
      }
      double lo = 1, hi = 1e300;
      if (auto* v = s.if_contains("minContains"); v && v->is_number()) lo = num(*v);
      if (auto* v = s.if_contains("maxContains"); v && v->is_number()) hi = num(*v);
      if (double(hits) < lo || double(hits) > hi) return false;
    }
  }

  if (inst.is_object()) {
    const auto& o = inst.get_object();
    if (auto* v = s.if_contains("minProperties"); v && v->is_number() && double(o.size()) < num(*v)) return false;
    if (auto* v = s.if_contains("maxProperties"); v && v->is_number() && double(o.size()) > num(*v)) return false;
    if (auto* r = s.if_contains("required"); r && r->is_array())
      for (const auto& x : r->get_array())
        if (x.is_string() && !o.contains(x.get_string())) return false;
    const bj::object* props = nullptr;
    if (auto* p = s.if_contains("properties"); p && p->is_object()) props = &p->get_object();
    const bj::object* pprops = nullptr;
    if (auto* p = s.if_contains("patternProperties"); p && p->is_object()) pprops = &p->get_object();
    const bj::value* extra = s.if_contains("additionalProperties");
    const bj::value* names = s.if_contains("propertyNames");
    for (const auto& kv : o) {
      std::string_view key = kv.key();
      bool known = false;
      if (props)
        if (auto* ps = props->if_contains(key)) {
          known = true;
          TERN_TRY(bool ok, sub(*ps, kv.value(), json::append_pointer(at("properties"), key)));
          if (!ok) return false;
        }
      if (pprops)
        for (const auto& pp : *pprops) {
          std::string pp_ptr = json::append_pointer(at("patternProperties"), pp.key());
          TERN_TRY(bool hit, matches(pp.key(), key, pp_ptr));
          if (!hit) continue;
          known = true;
          TERN_TRY(bool ok, sub(pp.value(), kv.value(), pp_ptr));
          if (!ok) return false;
        }
      if (!known && extra) {
        TERN_TRY(bool ok, sub(*extra, kv.value(), at("additionalProperties")));
        if (!ok) return false;
      }
      if (names) {
        TERN_TRY(bool ok, sub(*names, bj::value(bj::string(key)), at("propertyNames")));
        if (!ok) return false;
      }
    }
    for (const char* k : {"dependencies", "dependentRequired", "dependentSchemas"}) {
      auto* d = s.if_contains(k);
      if (!d || !d->is_object()) continue;
      for (const auto& dep : d->get_object()) {
        if (!o.contains(dep.key())) continue;
        if (dep.value().is_array()) {
          for (const auto& x : dep.value().get_array())
            if (x.is_string() && !o.contains(x.get_string())) return false;
        } else {
          TERN_TRY(bool ok, sub(dep.value(), inst, json::append_pointer(at(k), dep.key())));
          if (!ok) return false;
        }
      }
    }
  }
  return true;
}

}  // namespace tern::engine::grammar_detail
