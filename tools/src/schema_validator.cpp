#include <tern/tools/schema_validator.hpp>

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <string_view>
#include <unordered_map>

namespace tern::tools {

namespace bj = boost::json;

struct schema_validator::impl {
  bj::value root;
  // Every pattern and patternProperties key, compiled once (keyed by source).
  std::unordered_map<std::string, std::regex> regexes;
  // Every $ref, resolved once to a node inside root.
  std::unordered_map<std::string, const bj::value*> refs;
};

const char* json_type_name(const bj::value& v) noexcept {
  switch (v.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "boolean";
    case bj::kind::int64:
    case bj::kind::uint64: return "integer";
    case bj::kind::double_: return "number";
    case bj::kind::string: return "string";
    case bj::kind::array: return "array";
    case bj::kind::object: return "object";
  }
  return "unknown";
}

namespace {

constexpr std::size_t max_schema_depth = 128;
constexpr int max_ref_chain = 64;              // refs followed without consuming instance depth
constexpr std::size_t max_pattern_input = 64u << 10;

bool is_number(const bj::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double as_double(const bj::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

bool is_integral(const bj::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  if (!v.is_double()) return false;
  double d = v.get_double();
  return std::isfinite(d) && std::floor(d) == d;
}

// JSON Schema equality: numbers compare by value (1 == 1.0), objects ignore order.
bool json_equal(const bj::value& a, const bj::value& b) {
  if (is_number(a) && is_number(b)) {
    if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const bj::value& s = a.is_int64() ? a : b;
    const bj::value& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && static_cast<std::uint64_t>(s.get_int64()) == u.get_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!json_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      auto it = y.find(kv.key());
      if (it == y.end() || !json_equal(kv.value(), it->value())) return false;
    }
    return true;
  }
  return a == b;
}

// A number as people write it ("0.5", not Boost.JSON's "5E-1"); other values as JSON.
std::string show(const bj::value& v) {
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return json::serialize(v);
}

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool known_type(std::string_view t) {
  return t == "string" || t == "integer" || t == "number" || t == "boolean" || t == "null" ||
         t == "object" || t == "array";
}

bool type_matches(std::string_view t, const bj::value& v) {
  if (t == "integer") return is_integral(v);
  if (t == "number") return is_number(v);
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_bool();
  if (t == "null") return v.is_null();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  return false;
}

// "%7E" style escapes in a URI fragment.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Checks the schema's shape and fills the regex and $ref tables.
class compiler {
 public:
  explicit compiler(schema_validator::impl& im) : im_(im) {}

  result<void> walk(const bj::value& s, const std::string& ptr, std::size_t depth) {
    if (depth > max_schema_depth)
      return fail(errc::limit_exceeded, fmt::format("schema nested deeper than {} levels", max_schema_depth))
          .at("schema " + ptr);
    if (s.is_bool()) return ok();
    if (!s.is_object()) return bad(ptr, fmt::format("a schema must be an object or a boolean, got {}", json_type_name(s)));
    const auto& o = s.get_object();
    auto sub = [&](std::string_view key) { return json::append_pointer(ptr, key); };

    if (auto* t = o.if_contains("type")) {
      if (t->is_string()) {
        if (!known_type(t->get_string())) return bad(sub("type"), fmt::format("unknown type '{}'", std::string_view(t->get_string())));
      } else if (t->is_array()) {
        for (const auto& e : t->get_array())
          if (!e.is_string() || !known_type(e.get_string())) return bad(sub("type"), "type list must hold type names");
      } else {
        return bad(sub("type"), "type must be a string or a list of strings");
      }
    }
    for (const char* key : {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}) {
      if (auto* p = o.if_contains(key)) {
        if (!p->is_object()) return bad(sub(key), "must be an object of schemas");
        for (const auto& kv : p->get_object()) {
          if (std::string_view(key) == "patternProperties") TERN_CHECK(add_regex(kv.key(), sub(key)));
          TERN_CHECK(walk(kv.value(), json::append_pointer(sub(key), kv.key()), depth + 1));
        }
      }
    }
    for (const char* key : {"additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if",
                            "then", "else"}) {
      if (auto* p = o.if_contains(key)) TERN_CHECK(walk(*p, sub(key), depth + 1));
    }
    if (auto* p = o.if_contains("items")) {
      if (p->is_array()) {
        for (std::size_t i = 0; i < p->get_array().size(); ++i)
          TERN_CHECK(walk(p->get_array()[i], json::append_pointer(sub("items"), i), depth + 1));
      } else {
        TERN_CHECK(walk(*p, sub("items"), depth + 1));
      }
    }
    for (const char* key : {"allOf", "anyOf", "oneOf", "prefixItems"}) {
      if (auto* p = o.if_contains(key)) {
        if (!p->is_array() || p->get_array().empty()) return bad(sub(key), "must be a non-empty list of schemas");
        for (std::size_t i = 0; i < p->get_array().size(); ++i)
          TERN_CHECK(walk(p->get_array()[i], json::append_pointer(sub(key), i), depth + 1));
      }
    }
    if (auto* p = o.if_contains("required")) {
      if (!p->is_array()) return bad(sub("required"), "must be a list of property names");
      for (const auto& e : p->get_array())
        if (!e.is_string()) return bad(sub("required"), "must be a list of property names");
    }
    if (auto* p = o.if_contains("enum")) {
      if (!p->is_array()) return bad(sub("enum"), "must be a list");
    }
    for (const char* key : {"minimum", "maximum", "multipleOf"}) {
      if (auto* p = o.if_contains(key); p && !is_number(*p)) return bad(sub(key), "must be a number");
    }
    if (auto* p = o.if_contains("multipleOf"); p && !(as_double(*p) > 0))
      return bad(sub("multipleOf"), "must be greater than 0");
    for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"}) {
      if (auto* p = o.if_contains(key); p && !is_number(*p) && !p->is_bool())
        return bad(sub(key), "must be a number (or a boolean, draft 4)");
    }
    for (const char* key : {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      if (auto* p = o.if_contains(key); p && !(is_integral(*p) && as_double(*p) >= 0))
        return bad(sub(key), "must be a non-negative integer");
    }
    if (auto* p = o.if_contains("pattern")) {
      if (!p->is_string()) return bad(sub("pattern"), "must be a string");
      TERN_CHECK(add_regex(p->get_string(), sub("pattern")));
    }
    if (auto* p = o.if_contains("$ref")) {
      if (!p->is_string()) return bad(sub("$ref"), "must be a string");
      TERN_CHECK(add_ref(p->get_string(), sub("$ref")));
    }
    return ok();
  }

 private:
  static error bad(const std::string& ptr, std::string msg) {
    return fail(errc::invalid_argument, std::move(msg)).at("schema " + (ptr.empty() ? std::string("(root)") : ptr));
  }

  result<void> add_regex(std::string_view source, const std::string& ptr) {
    std::string key(source);
    if (im_.regexes.count(key)) return ok();
    try {
      im_.regexes.emplace(key, std::regex(key, std::regex::ECMAScript));
    } catch (const std::regex_error& e) {
      return bad(ptr, fmt::format("invalid pattern '{}': {}", key, e.what()));
    }
    return ok();
  }

  result<void> add_ref(std::string_view ref, const std::string& ptr) {
    std::string key(ref);
    if (im_.refs.count(key)) return ok();
    if (ref.empty() || ref[0] != '#')
      return fail(errc::unsupported, fmt::format("$ref '{}': only references inside the same document (#...) are supported", key))
          .at("schema " + ptr);
    std::string pointer = percent_decode(ref.substr(1));
    boost::system::error_code ec;
    const bj::value* target = im_.root.find_pointer(pointer, ec);
    if (!target) return bad(ptr, fmt::format("$ref '{}' points to nothing in the schema", key));
    im_.refs.emplace(key, target);
    return ok();
  }

  schema_validator::impl& im_;
};

// Walks an instance against a schema, collecting violations.
class checker {
 public:
  checker(const schema_validator::impl& im, std::vector<schema_violation>& out, std::size_t max)
      : im_(im), out_(out), max_(max) {}

  // True when no violation was found under this schema.
  bool check(const bj::value& s, const bj::value& v, const std::string& ptr, int ref_chain) {
    if (full()) return false;
    if (s.is_bool()) {
      if (!s.get_bool()) return add(ptr, "no value is allowed here");
      return true;
    }
    if (!s.is_object()) return true;  // compile() has rejected this already
    const auto& o = s.get_object();
    std::size_t before = out_.size();

    if (auto* n = o.if_contains("nullable"); n && n->is_bool() && n->get_bool() && v.is_null()) return true;

    if (auto* r = o.if_contains("$ref"); r && r->is_string()) {
      if (ref_chain >= max_ref_chain) return add(ptr, "$ref chain too long (a reference cycle in the schema?)");
      auto it = im_.refs.find(std::string(r->get_string()));
      if (it != im_.refs.end()) check(*it->second, v, ptr, ref_chain + 1);
    }

    if (auto* t = o.if_contains("type")) {
      bool match = false;
      std::string names;
      if (t->is_string()) {
        match = type_matches(t->get_string(), v);
        names = t->get_string();
        if (!match && o.contains("nullable") && o.at("nullable") == true && v.is_null()) match = true;
      } else if (t->is_array()) {
        for (const auto& e : t->get_array()) {
          if (!e.is_string()) continue;
          match = match || type_matches(e.get_string(), v);
          if (!names.empty()) names += " or ";
          names += e.get_string();
        }
      }
      // A wrong type makes every other keyword's message noise: stop here.
      if (!match) return add(ptr, fmt::format("expected {}, got {}", names, json_type_name(v)));
    }

    if (auto* e = o.if_contains("enum"); e && e->is_array()) {
      bool found = false;
      for (const auto& c : e->get_array()) found = found || json_equal(c, v);
      if (!found) add(ptr, fmt::format("must be one of {}", json::serialize(*e)));
    }
    if (auto* c = o.if_contains("const"); c && !json_equal(*c, v))
      add(ptr, fmt::format("must be {}", json::serialize(*c)));

    if (is_number(v)) check_number(o, v, ptr);
    else if (v.is_string()) check_string(o, v.get_string(), ptr);
    else if (v.is_array()) check_array(o, v.get_array(), ptr);
    else if (v.is_object()) check_object(o, v.get_object(), ptr);

    check_combinators(o, v, ptr, ref_chain);
    return out_.size() == before && !full();
  }

 private:
  bool full() const { return out_.size() >= max_; }

  bool add(const std::string& ptr, std::string msg) {
    if (!full()) out_.push_back({ptr, std::move(msg)});
    return false;
  }

  // Whether v is valid under s, without recording anything.
  bool valid(const bj::value& s, const bj::value& v, const std::string& ptr, int ref_chain) {
    std::vector<schema_violation> scratch;
    checker sub(im_, scratch, 1);
    return sub.check(s, v, ptr, ref_chain);
  }
  // The first violation of v under s ("" when valid), for combinator messages.
  std::string first_violation(const bj::value& s, const bj::value& v, const std::string& ptr, int ref_chain) {
    std::vector<schema_violation> scratch;
    checker sub(im_, scratch, 1);
    sub.check(s, v, ptr, ref_chain);
    if (scratch.empty()) return {};
    return (scratch[0].pointer.empty() ? std::string("(root)") : scratch[0].pointer) + ": " + scratch[0].message;
  }

  void check_number(const bj::object& o, const bj::value& v, const std::string& ptr) {
    double x = as_double(v);
    bool excl_min_flag = false, excl_max_flag = false;
    if (auto* e = o.if_contains("exclusiveMinimum"); e && e->is_bool()) excl_min_flag = e->get_bool();
    if (auto* e = o.if_contains("exclusiveMaximum"); e && e->is_bool()) excl_max_flag = e->get_bool();
    if (auto* m = o.if_contains("minimum"); m && is_number(*m)) {
      double lo = as_double(*m);
      if (excl_min_flag ? !(x > lo) : x < lo)
        add(ptr, fmt::format("must be {} {}", excl_min_flag ? ">" : ">=", show(*m)));
    }
    if (auto* m = o.if_contains("maximum"); m && is_number(*m)) {
      double hi = as_double(*m);
      if (excl_max_flag ? !(x < hi) : x > hi)
        add(ptr, fmt::format("must be {} {}", excl_max_flag ? "<" : "<=", show(*m)));
    }
    if (auto* m = o.if_contains("exclusiveMinimum"); m && is_number(*m) && !(x > as_double(*m)))
      add(ptr, fmt::format("must be > {}", show(*m)));
    if (auto* m = o.if_contains("exclusiveMaximum"); m && is_number(*m) && !(x < as_double(*m)))
      add(ptr, fmt::format("must be < {}", show(*m)));
    if (auto* m = o.if_contains("multipleOf"); m && is_number(*m)) {
      bool okay;
      if ((v.is_int64() || v.is_uint64()) && (m->is_int64() || m->is_uint64())) {
        std::uint64_t d = m->is_int64() ? static_cast<std::uint64_t>(m->get_int64()) : m->get_uint64();
        std::uint64_t a = v.is_uint64()            ? v.get_uint64()
                          : v.get_int64() < 0 ? 0 - static_cast<std::uint64_t>(v.get_int64())
                                              : static_cast<std::uint64_t>(v.get_int64());
        okay = d == 0 || a % d == 0;
      } else {
        double q = x / as_double(*m);
        okay = std::isfinite(q) && std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      if (!okay) add(ptr, fmt::format("must be a multiple of {}", show(*m)));
    }
  }

  void check_string(const bj::object& o, std::string_view s, const std::string& ptr) {
    if (o.contains("minLength") || o.contains("maxLength")) {
      std::size_t n = count_code_points(s);
      if (auto* m = o.if_contains("minLength"); m && is_number(*m) && n < as_double(*m))
        add(ptr, fmt::format("must be at least {} characters long", show(*m)));
      if (auto* m = o.if_contains("maxLength"); m && is_number(*m) && n > as_double(*m))
        add(ptr, fmt::format("must be at most {} characters long", show(*m)));
    }
    if (auto* p = o.if_contains("pattern"); p && p->is_string()) {
      std::string_view source = p->get_string();
      if (!matches(source, s, ptr)) add(ptr, fmt::format("must match the pattern {}", json::serialize(*p)));
    }
  }

  // Unanchored search, as JSON Schema specifies. A failure inside std::regex
  // (its complexity or stack limits) is a violation, never an exception.
  bool matches(std::string_view source, std::string_view s, const std::string& ptr) {
    auto it = im_.regexes.find(std::string(source));
    if (it == im_.regexes.end()) return true;
    if (s.size() > max_pattern_input) {
      add(ptr, fmt::format("string of {} bytes is too long to check against a pattern", s.size()));
      return true;
    }
    try {
      return std::regex_search(s.begin(), s.end(), it->second);
    } catch (const std::regex_error&) {
      add(ptr, "pattern too complex to evaluate on this string");
      return true;
    }
  }

  void check_array(const bj::object& o, const bj::array& a, const std::string& ptr) {
    if (auto* m = o.if_contains("minItems"); m && is_number(*m) && a.size() < as_double(*m))
      add(ptr, fmt::format("must have at least {} items", show(*m)));
    if (auto* m = o.if_contains("maxItems"); m && is_number(*m) && a.size() > as_double(*m))
      add(ptr, fmt::format("must have at most {} items", show(*m)));
    std::size_t n_prefix = 0;
    const bj::value* rest = nullptr;
    const bj::array* tuple = nullptr;
    if (auto* p = o.if_contains("prefixItems"); p && p->is_array()) {
      tuple = &p->get_array();
      rest = o.if_contains("items");
    } else if (auto* p = o.if_contains("items")) {
      if (p->is_array()) {
        tuple = &p->get_array();
        rest = o.if_contains("additionalItems");
      } else {
        rest = p;
      }
    }
    if (tuple) {
      n_prefix = std::min(tuple->size(), a.size());
      for (std::size_t i = 0; i < n_prefix; ++i) check((*tuple)[i], a[i], json::append_pointer(ptr, i), 0);
    }
    if (rest) {
      for (std::size_t i = n_prefix; i < a.size() && !full(); ++i) {
        if (rest->is_bool() && !rest->get_bool()) {
          add(ptr, fmt::format("must have at most {} items", n_prefix));
          break;
        }
        check(*rest, a[i], json::append_pointer(ptr, i), 0);
      }
    }
    if (auto* c = o.if_contains("contains")) {
      bool any = false;
      for (std::size_t i = 0; i < a.size() && !any; ++i) any = valid(*c, a[i], json::append_pointer(ptr, i), 0);
      if (!any) add(ptr, "no item matches the 'contains' schema");
    }
    if (auto* u = o.if_contains("uniqueItems"); u && u->is_bool() && u->get_bool()) {
      for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = i + 1; j < a.size(); ++j)
          if (json_equal(a[i], a[j])) {
            add(ptr, fmt::format("items {} and {} are equal; items must be unique", i, j));
            return;
          }
    }
  }

  void check_object(const bj::object& o, const bj::object& v, const std::string& ptr) {
    if (auto* r = o.if_contains("required"); r && r->is_array()) {
      for (const auto& name : r->get_array())
        if (name.is_string() && !v.contains(name.get_string()))
          add(ptr, fmt::format("missing required property '{}'", std::string_view(name.get_string())));
    }
    if (auto* m = o.if_contains("minProperties"); m && is_number(*m) && v.size() < as_double(*m))
      add(ptr, fmt::format("must have at least {} properties", show(*m)));
    if (auto* m = o.if_contains("maxProperties"); m && is_number(*m) && v.size() > as_double(*m))
      add(ptr, fmt::format("must have at most {} properties", show(*m)));
    const bj::object* props = nullptr;
    if (auto* p = o.if_contains("properties"); p && p->is_object()) props = &p->get_object();
    const bj::object* pattern_props = nullptr;
    if (auto* p = o.if_contains("patternProperties"); p && p->is_object()) pattern_props = &p->get_object();
    const bj::value* additional = o.if_contains("additionalProperties");
    const bj::value* names = o.if_contains("propertyNames");

    for (const auto& kv : v) {
      if (full()) return;
      std::string child = json::append_pointer(ptr, kv.key());
      bool matched = false;
      if (props) {
        if (auto* sub = props->if_contains(kv.key())) {
          matched = true;
          check(*sub, kv.value(), child, 0);
        }
      }
      if (pattern_props) {
        for (const auto& pp : *pattern_props) {
          auto it = im_.regexes.find(std::string(pp.key()));
          if (it == im_.regexes.end()) continue;
          bool hit = false;
          try {
            hit = std::regex_search(kv.key().begin(), kv.key().end(), it->second);
          } catch (const std::regex_error&) {
            add(child, "patternProperties pattern too complex to evaluate");
          }
          if (hit) {
            matched = true;
            check(pp.value(), kv.value(), child, 0);
          }
        }
      }
      if (!matched && additional) {
        if (additional->is_bool()) {
          if (!additional->get_bool()) add(child, fmt::format("unexpected property '{}'", std::string_view(kv.key())));
        } else {
          check(*additional, kv.value(), child, 0);
        }
      }
      if (names) {
        bj::value key_value(kv.key());
        if (!valid(*names, key_value, child, 0))
          add(child, fmt::format("property name '{}' is not allowed", std::string_view(kv.key())));
      }
    }
  }

  void check_combinators(const bj::object& o, const bj::value& v, const std::string& ptr, int ref_chain) {
    if (auto* all = o.if_contains("allOf"); all && all->is_array())
      for (const auto& s : all->get_array()) check(s, v, ptr, ref_chain + 1);
    if (auto* any = o.if_contains("anyOf"); any && any->is_array()) {
      bool okay = false;
      std::string first;
      for (const auto& s : any->get_array()) {
        std::string why = first_violation(s, v, ptr, ref_chain + 1);
        if (why.empty()) {
          okay = true;
          break;
        }
        if (first.empty()) first = why;
      }
      if (!okay) add(ptr, fmt::format("matches none of the {} anyOf schemas (first: {})", any->get_array().size(), first));
    }
    if (auto* one = o.if_contains("oneOf"); one && one->is_array()) {
      std::size_t n_valid = 0;
      std::string first;
      for (const auto& s : one->get_array()) {
        std::string why = first_violation(s, v, ptr, ref_chain + 1);
        if (why.empty()) ++n_valid;
        else if (first.empty()) first = why;
      }
      if (n_valid == 0) add(ptr, fmt::format("matches none of the {} oneOf schemas (first: {})", one->get_array().size(), first));
      else if (n_valid > 1) add(ptr, fmt::format("matches {} of the oneOf schemas; exactly one is allowed", n_valid));
    }
    if (auto* n = o.if_contains("not"); n && valid(*n, v, ptr, ref_chain + 1))
      add(ptr, "matches a schema it must not match ('not')");
    if (auto* cond = o.if_contains("if")) {
      if (valid(*cond, v, ptr, ref_chain + 1)) {
        if (auto* t = o.if_contains("then")) check(*t, v, ptr, ref_chain + 1);
      } else if (auto* e = o.if_contains("else")) {
        check(*e, v, ptr, ref_chain + 1);
      }
    }
  }

  const schema_validator::impl& im_;
  std::vector<schema_violation>& out_;
  std::size_t max_;
};

std::shared_ptr<const schema_validator::impl> true_schema() {
  static const auto always = [] {
    auto im = std::make_shared<schema_validator::impl>();
    im->root = bj::object{};
    return im;
  }();
  return always;
}

}  // namespace

schema_validator::schema_validator() : impl_(true_schema()) {}

result<schema_validator> schema_validator::compile(bj::value schema) {
  auto im = std::make_shared<impl>();
  im->root = std::move(schema);
  compiler c(*im);
  TERN_CHECK(c.walk(im->root, "", 0));
  return schema_validator(std::move(im));
}

std::vector<schema_violation> schema_validator::check(const bj::value& instance, std::size_t max_violations) const {
  std::vector<schema_violation> out;
  if (max_violations == 0) max_violations = 1;
  checker c(*impl_, out, max_violations);
  c.check(impl_->root, instance, "", 0);
  return out;
}

result<void> schema_validator::validate(const bj::value& instance) const {
  auto violations = check(instance);
  if (violations.empty()) return ok();
  std::string msg;
  for (const auto& v : violations) {
    if (!msg.empty()) msg += "; ";
    msg += v.pointer.empty() ? std::string("(root)") : v.pointer;
    msg += ": ";
    msg += v.message;
  }
  return fail(errc::invalid_argument, std::move(msg)).at("arguments");
}

const bj::value& schema_validator::schema() const noexcept { return impl_->root; }

}  // namespace tern::tools
