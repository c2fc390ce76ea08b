// JSON Schema -> grammar. Each schema node becomes a rule whose alternatives
// are the JSON types it admits; objects list their properties in schema order
// (each optional unless required), then any additional properties; arrays are
// chains of rules counting items up to the bounds. Strings, numbers and keys
// are single terminals (DFAs), so token masks can be cached per terminal state.
#include "grammar/schema_compiler.hpp"
#include "grammar/schema_validate.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <bit>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace tern::engine::grammar_detail {
namespace bj = boost::json;

// ---- canonical serialisation -----------------------------------------------

void write_canonical(const bj::value& v, std::string& out) {
  switch (v.kind()) {
    case bj::kind::double_: {
      double d = v.get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        out += fmt::format("{}", int64_t(d));
        return;
      }
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      return;
    }
    case bj::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_canonical(x, out);
      }
      out += ']';
      return;
    }
    case bj::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += bj::serialize(bj::string_view(kv.key()));
        out += ':';
        write_canonical(kv.value(), out);
      }
      out += '}';
      return;
    }
    default:
      out += bj::serialize(v);
  }
}

namespace {

const std::set<std::string_view> unsupported_keywords = {
    "not", "if", "then", "else", "dependentSchemas", "propertyNames",
    "contains", "minContains", "maxContains", "unevaluatedProperties",
    "unevaluatedItems", "$dynamicRef", "$recursiveRef"};

std::string quote(std::string_view s) { return bj::serialize(bj::string_view(s.data(), s.size())); }

rx ws_rx() { return rx_repeat(rx_class({{' ', ' '}, {'\t', '\t'}, {'\n', '\n'}, {'\r', '\r'}}), 0, rx_node::unbounded); }

// ---- integer and number ranges as regular expressions ----------------------

rx digits_rx(uint32_t n) { return rx_repeat(rx_class({{'0', '9'}}), n, n); }

// Fixed-width decimal strings between a and b (same length, leading zeros kept).
rx fixed_range(const std::string& a, const std::string& b) {
  size_t n = a.size();
  if (n == 0) return rx_empty();
  if (n == 1) return rx_class({{uint32_t(a[0]), uint32_t(b[0])}});
  if (a[0] == b[0]) return rx_seq({rx_literal(a.substr(0, 1)), fixed_range(a.substr(1), b.substr(1))});
  std::string rest_a = a.substr(1), rest_b = b.substr(1);
  if (rest_a == std::string(n - 1, '0') && rest_b == std::string(n - 1, '9'))
    return rx_seq({rx_class({{uint32_t(a[0]), uint32_t(b[0])}}), digits_rx(uint32_t(n - 1))});
  std::vector<rx> alts;
  alts.push_back(rx_seq({rx_literal(a.substr(0, 1)), fixed_range(rest_a, std::string(n - 1, '9'))}));
  if (a[0] + 1 <= b[0] - 1)
    alts.push_back(rx_seq({rx_class({{uint32_t(a[0] + 1), uint32_t(b[0] - 1)}}), digits_rx(uint32_t(n - 1))}));
  alts.push_back(rx_seq({rx_literal(b.substr(0, 1)), fixed_range(std::string(n - 1, '0'), rest_b)}));
  return rx_alt(std::move(alts));
}

// Decimal naturals in [a, b] without leading zeros; b < 0 means unbounded.
rx natural_range(uint64_t a, int64_t b_signed) {
  std::vector<rx> alts;
  bool unbounded = b_signed < 0;
  uint64_t b = unbounded ? 0 : uint64_t(b_signed);
  std::string sa = std::to_string(a);
  size_t max_len = unbounded ? sa.size() : std::to_string(b).size();
  for (size_t len = sa.size(); len <= max_len; ++len) {
    uint64_t lo = len == 1 ? 0 : uint64_t(std::pow(10.0, double(len - 1)));
    uint64_t hi = len >= 19 ? UINT64_MAX : uint64_t(std::pow(10.0, double(len))) - 1;
    lo = std::max(lo, a);
    if (!unbounded) hi = std::min(hi, b);
    if (lo > hi) continue;
    std::string l = std::to_string(lo), h = std::to_string(hi);
    if (h.size() != len) h = std::string(len, '9');
    alts.push_back(fixed_range(l, h));
  }
  if (unbounded)
    alts.push_back(rx_seq({rx_class({{'1', '9'}}), rx_repeat(rx_class({{'0', '9'}}), uint32_t(sa.size()), rx_node::unbounded)}));
  if (alts.empty()) return nullptr;
  return rx_alt(std::move(alts));
}

enum class frac { any, zero, pos };

struct piece {
  uint64_t lo;
  int64_t hi;  // -1: unbounded
  frac f;
};

// Magnitude pieces (integer part range + fraction kind) for m in bounds;
// lower/upper: integer bounds on m (nullopt: none), excl: exclusive.
std::vector<piece> magnitude_pieces(std::optional<int64_t> lower, bool lower_excl, std::optional<int64_t> upper,
                                    bool upper_excl) {
  std::vector<piece> lows, ups, out;
  if (!lower || *lower < 0 || (*lower == 0 && !lower_excl)) {
    lows.push_back({0, -1, frac::any});
  } else if (!lower_excl) {
    lows.push_back({uint64_t(*lower), -1, frac::any});
  } else {
    lows.push_back({uint64_t(*lower) + 1, -1, frac::any});
    lows.push_back({uint64_t(*lower), *lower, frac::pos});
  }
  if (!upper) {
    ups.push_back({0, -1, frac::any});
  } else if (*upper < 0 || (*upper == 0 && upper_excl)) {
    return out;
  } else if (!upper_excl) {
    if (*upper > 0) ups.push_back({0, *upper - 1, frac::any});
    ups.push_back({uint64_t(*upper), *upper, frac::zero});
  } else {
    ups.push_back({0, *upper - 1, frac::any});
  }
  for (const auto& a : lows)
    for (const auto& b : ups) {
      uint64_t lo = std::max(a.lo, b.lo);
      int64_t hi = a.hi < 0 ? b.hi : b.hi < 0 ? a.hi : std::min(a.hi, b.hi);
      if (hi >= 0 && lo > uint64_t(hi)) continue;
      frac f;
      if (a.f == frac::any) f = b.f;
      else if (b.f == frac::any || b.f == a.f) f = a.f;
      else continue;
      out.push_back({lo, hi, f});
    }
  return out;
}

rx frac_rx(frac f) {
  auto digits = rx_repeat(rx_class({{'0', '9'}}), 0, rx_node::unbounded);
  switch (f) {
    case frac::any: return rx_repeat(rx_seq({rx_literal("."), rx_repeat(rx_class({{'0', '9'}}), 1, rx_node::unbounded)}), 0, 1);
    case frac::zero: return rx_repeat(rx_seq({rx_literal("."), rx_repeat(rx_literal("0"), 1, rx_node::unbounded)}), 0, 1);
    case frac::pos: return rx_seq({rx_literal("."), digits, rx_class({{'1', '9'}}), digits});
  }
  return rx_empty();
}

}  // namespace

std::string spaced_json(std::string_view compact) {
  std::string out;
  bool in_str = false, esc = false;
  for (char c : compact) {
    out += c;
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == ',' || c == ':') {
      out += ' ';
    }
  }
  return out;
}

// ---- the compiler ------------------------------------------------------------

class schema_compiler {
 public:
  schema_compiler(const bj::value& root, json_layout layout, grammar_builder& b)
      : root_(root), ws_(layout == json_layout::free), spaced_(layout == json_layout::spaced), b_(b) {}

  result<compiled> run() {
    TERN_TRY(int32_t r, compile(root_, ""));
    int32_t top = b_.new_rule("root");
    b_.add_alt(top, {R(r)});
    return b_.finish(top, "schema");
  }
  result<int32_t> add() { return compile(root_, ""); }

 private:
  // A terminal for JSON text made of structural characters and string
  // literals; with free whitespace, optional whitespace goes around every
  // structural character.
  int32_t tok(std::string_view text) {
    if (!ws_) return b_.literal(tok_text(text));
    return term_or_die(tok_rx(text));
  }
  // The bytes of structural text in the fixed layouts.
  std::string tok_text(std::string_view text) const { return spaced_ ? spaced_json(text) : std::string(text); }
  rx tok_rx(std::string_view text) {
    if (!ws_) return rx_literal(tok_text(text));
    std::vector<rx> parts;
    std::string chunk;
    bool in_str = false, esc = false;
    for (char c : text) {
      if (in_str) {
        chunk += c;
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') in_str = false;
        continue;
      }
      if (c == '"') {
        in_str = true;
        chunk += c;
      } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
        if (!chunk.empty()) parts.push_back(rx_literal(chunk));
        chunk.clear();
        parts.push_back(ws_rx());
        parts.push_back(rx_literal(std::string(1, c)));
        parts.push_back(ws_rx());
      } else {
        chunk += c;
      }
    }
    if (!chunk.empty()) parts.push_back(rx_literal(chunk));
    return rx_seq(std::move(parts));
  }
  int32_t term_or_die(const rx& r) {
    auto d = compile_dfa(r);
    TERN_ASSERT(d.has_value(), "structural terminals are small");
    return b_.add_term(std::move(d).value());
  }

  tern::error err(std::string_view ptr, std::string msg, errc code = errc::unsupported) {
    return tern::error(code, std::move(msg)).at(ptr.empty() ? std::string("schema root") : std::string(ptr));
  }

  // ---- references and allOf ----

  result<const bj::value*> resolve(std::string_view ref, std::string_view ptr) {
    if (ref.empty() || ref[0] != '#')
      return err(ptr, fmt::format("'$ref' to '{}' is not supported (only local '#/...' references)", ref));
    std::string_view p = ref.substr(1);
    const bj::value* cur = &root_;
    while (!p.empty()) {
      if (p[0] != '/') return err(ptr, fmt::format("'$ref' '{}' is not a JSON pointer", ref));
      p.remove_prefix(1);
      size_t n = p.find('/');
      std::string tok(p.substr(0, n));
      p = n == std::string_view::npos ? std::string_view{} : p.substr(n);
      std::string t;
      for (size_t i = 0; i < tok.size(); ++i) {
        if (tok[i] == '~' && i + 1 < tok.size()) {
          t += tok[i + 1] == '1' ? '/' : '~';
          ++i;
        } else if (tok[i] == '%' && i + 2 < tok.size()) {
          t += char(std::stoi(tok.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          t += tok[i];
        }
      }
      if (cur->is_object()) {
        auto* next = cur->get_object().if_contains(t);
        if (!next) return err(ptr, fmt::format("'$ref' '{}' points nowhere", ref), errc::invalid_argument);
        cur = next;
      } else if (cur->is_array()) {
        size_t idx = 0;
        auto [e, ec] = std::from_chars(t.data(), t.data() + t.size(), idx);
        if (ec != std::errc() || idx >= cur->get_array().size())
          return err(ptr, fmt::format("'$ref' '{}' points nowhere", ref), errc::invalid_argument);
        cur = &cur->get_array()[idx];
      } else {
        return err(ptr, fmt::format("'$ref' '{}' points nowhere", ref), errc::invalid_argument);
      }
    }
    return cur;
  }

  static bool is_annotation(std::string_view k) {
    static const std::set<std::string_view> a = {"title", "description", "default", "examples", "$schema", "$id", "id",
                                                 "$comment", "readOnly", "writeOnly", "deprecated", "$defs",
                                                 "definitions", "example", "$anchor", "contentMediaType",
                                                 "contentEncoding", "nullable", "discriminator"};
    return a.count(k) || k.starts_with("x-");
  }

  static bj::object false_schema() {
    bj::object o;
    o["enum"] = bj::array();
    return o;
  }

  // The object form of a schema with $ref and allOf at its top level merged in.
  result<bj::object> flatten(const bj::value& v, std::string_view ptr, int depth) {
    if (depth > 24) return err(ptr, "'$ref'/'allOf' nest too deeply (a reference cycle?)", errc::limit_exceeded);
    if (v.is_bool()) return v.get_bool() ? bj::object() : false_schema();
    if (!v.is_object()) return err(ptr, "a schema must be an object or a boolean", errc::invalid_argument);
    bj::object o = v.get_object();
    if (auto* r = o.if_contains("$ref")) {
      if (!r->is_string()) return err(ptr, "'$ref' must be a string", errc::invalid_argument);
      TERN_TRY(const bj::value* target, resolve(std::string_view(r->get_string()), ptr));
      o.erase("$ref");
      TERN_TRY(bj::object t, flatten(*target, ptr, depth + 1));
      TERN_TRY(o, merge(std::move(t), std::move(o), ptr));
    }
    if (auto* all = o.if_contains("allOf")) {
      if (!all->is_array()) return err(ptr, "'allOf' must be an array", errc::invalid_argument);
      bj::array parts = all->get_array();
      o.erase("allOf");
      for (size_t i = 0; i < parts.size(); ++i) {
        TERN_TRY(bj::object p, flatten(parts[i], json::append_pointer(json::append_pointer(ptr, "allOf"), i), depth + 1));
        TERN_TRY(o, merge(std::move(o), std::move(p), ptr));
      }
    }
    return o;
  }

  static std::set<std::string> types_of(const bj::value& t) {
    std::set<std::string> s;
    if (t.is_string()) s.insert(std::string(t.get_string()));
    if (t.is_array())
      for (const auto& x : t.get_array())
        if (x.is_string()) s.insert(std::string(x.get_string()));
    return s;
  }

  // allOf of two flattened schemas as one schema (conservative: keywords that
  // cannot be combined exactly are an error).
  result<bj::object> merge(bj::object a, bj::object b, std::string_view ptr) {
    for (auto& kv : b) {
      std::string_view k = kv.key();
      auto* mine = a.if_contains(k);
      if (!mine) {
        a[k] = kv.value();
        continue;
      }
      if (*mine == kv.value() || is_annotation(k)) continue;
      if (k == "properties" && mine->is_object() && kv.value().is_object()) {
        for (auto& p : kv.value().get_object()) {
          auto* q = mine->get_object().if_contains(p.key());
          if (!q) {
            mine->get_object()[p.key()] = p.value();
          } else if (*q != p.value()) {
            bj::object both;
            both["allOf"] = bj::array{*q, p.value()};
            *q = std::move(both);
          }
        }
      } else if (k == "required" && mine->is_array() && kv.value().is_array()) {
        for (auto& x : kv.value().get_array())
          if (std::find(mine->get_array().begin(), mine->get_array().end(), x) == mine->get_array().end())
            mine->get_array().push_back(x);
      } else if (k == "type") {
        auto s1 = types_of(*mine), s2 = types_of(kv.value());
        bj::array out;
        for (const auto& t : s1) {
          if (s2.count(t)) out.push_back(bj::string(t));
          else if (t == "integer" && s2.count("number")) out.push_back("integer");
        }
        for (const auto& t : s2)
          if (t == "integer" && s1.count("number") && !s1.count("integer")) out.push_back("integer");
        *mine = std::move(out);
      } else if ((k == "minLength" || k == "minItems" || k == "minimum" || k == "exclusiveMinimum") &&
                 mine->is_number() && kv.value().is_number()) {
        if (kv.value().to_number<double>() > mine->to_number<double>()) *mine = kv.value();
      } else if ((k == "maxLength" || k == "maxItems" || k == "maximum" || k == "exclusiveMaximum") &&
                 mine->is_number() && kv.value().is_number()) {
        if (kv.value().to_number<double>() < mine->to_number<double>()) *mine = kv.value();
      } else if (k == "enum" && mine->is_array() && kv.value().is_array()) {
        bj::array out;
        for (auto& x : mine->get_array())
          if (std::find(kv.value().get_array().begin(), kv.value().get_array().end(), x) != kv.value().get_array().end())
            out.push_back(x);
        *mine = std::move(out);
      } else if (k == "items" && !mine->is_array() && !kv.value().is_array()) {
        bj::object both;
        both["allOf"] = bj::array{*mine, kv.value()};
        *mine = std::move(both);
      } else if ((k == "anyOf" || k == "oneOf") && mine->is_array() && kv.value().is_array()) {
        bj::array out;
        if (mine->get_array().size() * kv.value().get_array().size() > 256)
          return err(ptr, fmt::format("'allOf' of two large '{}' lists", k), errc::limit_exceeded);
        for (auto& x : mine->get_array())
          for (auto& y : kv.value().get_array()) {
            bj::object both;
            both["allOf"] = bj::array{x, y};
            out.push_back(std::move(both));
          }
        *mine = std::move(out);
      } else if (k == "$tern-unmerged" && mine->is_array() && kv.value().is_array()) {
        for (const auto& x : kv.value().get_array()) mine->get_array().push_back(x);
      } else {
        // Kept aside: exact for nodes with finitely many values (checked by the
        // validator), an error for any other node (see compile_body).
        bj::object one;
        one[k] = kv.value();
        auto& kept = a["$tern-unmerged"];
        if (!kept.is_array()) kept = bj::array();
        kept.get_array().push_back(std::move(one));
      }
    }
    return a;
  }

  // ---- schema nodes ----

  result<int32_t> compile(const bj::value& v, std::string ptr) {
    if (b_.n_rules() > 50000) return err(ptr, "schema too large (over 50000 grammar rules)", errc::limit_exceeded);
    if (depth_ > 128) return err(ptr.substr(0, 200), "schema nests too deeply (over 128 levels)", errc::limit_exceeded);
    ++depth_;
    auto r = compile_inner(v, std::move(ptr));
    --depth_;
    return r;
  }

  result<int32_t> compile_inner(const bj::value& v, std::string ptr) {
    // A bare $ref is compiled once per target, which is what makes recursive schemas finite.
    if (v.is_object()) {
      const auto& o = v.get_object();
      if (auto* r = o.if_contains("$ref"); r && r->is_string()) {
        bool bare = true;
        for (const auto& kv : o)
          if (kv.key() != "$ref" && !is_annotation(kv.key())) bare = false;
        if (bare) {
          std::string target(r->get_string());
          if (auto it = by_ref_.find(target); it != by_ref_.end()) return it->second;
          TERN_TRY(const bj::value* t, resolve(target, ptr));
          int32_t rule = b_.new_rule(target);
          by_ref_[target] = rule;
          TERN_TRY(int32_t inner, compile(*t, target.substr(1)));
          b_.add_alt(rule, {R(inner)});
          return rule;
        }
      }
    }
    if (auto it = by_node_.find(&v); it != by_node_.end()) return it->second;
    int32_t rule = b_.new_rule(ptr);
    by_node_[&v] = rule;
    // Nodes are memoised by address, so every node compiled must outlive the
    // compiler: the original document, or a merged copy kept in owned_.
    const bj::object* o = nullptr;
    if (v.is_object() && !v.get_object().contains("$ref") && !v.get_object().contains("allOf")) {
      o = &v.get_object();
    } else {
      TERN_TRY(bj::object flat, flatten(v, ptr, 0));
      owned_.push_back(bj::value(std::move(flat)));
      o = &owned_.back().get_object();
    }
    TERN_CHECK(compile_body(rule, *o, ptr));
    return rule;
  }

  result<int32_t> compile_owned(bj::object o, std::string ptr) {
    owned_.push_back(bj::value(std::move(o)));
    return compile(owned_.back(), std::move(ptr));
  }

  // ---- oneOf: only when the branches cannot both match ----

  struct branch_sig {
    std::set<std::string> types;
    std::optional<std::set<std::string>> literals;
    std::map<std::string, std::set<std::string>> discriminators;  // required property -> its const/enum values
  };

  std::optional<std::set<std::string>> literals_of(const bj::object& o) {
    std::set<std::string> out;
    if (auto* c = o.if_contains("const")) {
      std::string t;
      write_canonical(*c, t);
      out.insert(t);
      return out;
    }
    if (auto* e = o.if_contains("enum"); e && e->is_array()) {
      for (const auto& x : e->get_array()) {
        std::string t;
        write_canonical(x, t);
        out.insert(t);
      }
      return out;
    }
    return std::nullopt;
  }

  branch_sig signature(const bj::object& o, const bj::object& parent) {
    branch_sig sig;
    const bj::value* t = o.if_contains("type");
    if (!t) t = parent.if_contains("type");
    sig.types = t ? types_of(*t) : std::set<std::string>{"object", "array", "string", "number", "integer", "boolean", "null"};
    if (sig.types.count("number")) sig.types.insert("integer");
    sig.literals = literals_of(o);
    std::set<std::string> required;
    for (const bj::object* src : {&o, &parent})
      if (auto* r = src->if_contains("required"); r && r->is_array())
        for (const auto& x : r->get_array())
          if (x.is_string()) required.insert(std::string(x.get_string()));
    if (auto* ps = o.if_contains("properties"); ps && ps->is_object())
      for (const auto& kv : ps->get_object()) {
        if (!required.count(std::string(kv.key()))) continue;
        auto flat = flatten(kv.value(), "", 0);
        if (!flat) continue;
        if (auto lit = literals_of(*flat)) sig.discriminators[std::string(kv.key())] = *lit;
      }
    return sig;
  }

  static bool disjoint(const std::set<std::string>& a, const std::set<std::string>& b) {
    for (const auto& x : a)
      if (b.count(x)) return false;
    return true;
  }

  static bool exclusive(const branch_sig& a, const branch_sig& b) {
    if (disjoint(a.types, b.types)) return true;
    if (a.literals && b.literals && disjoint(*a.literals, *b.literals)) return true;
    for (const auto& [k, v] : a.discriminators)
      if (auto it = b.discriminators.find(k); it != b.discriminators.end() && disjoint(v, it->second)) return true;
    return false;
  }

  result<void> check_one_of(const bj::array& alts, const bj::object& parent, const std::string& ptr) {
    std::vector<branch_sig> sigs;
    for (size_t i = 0; i < alts.size(); ++i) {
      auto flat = flatten(alts[i], ptr, 0);
      if (!flat) return std::move(flat).error();
      sigs.push_back(signature(*flat, parent));
    }
    for (size_t i = 0; i < sigs.size(); ++i)
      for (size_t j = i + 1; j < sigs.size(); ++j)
        if (!exclusive(sigs[i], sigs[j]))
          return err(ptr, fmt::format("'oneOf' branches {} and {} may both match (exclusivity is not enforced), "
                                      "which is not supported",
                                      i, j));
    return ok();
  }

  // A node with `enum`/`const` admits finitely many values: each is checked
  // against the whole node by the validator (exact for every keyword it
  // knows, `not`/`oneOf`/`dependencies`/... included) and the survivors are
  // the node's alternatives.
  result<void> finite_values(int32_t rule, const bj::object& o, const std::string& ptr) {
    const bj::value* values = o.if_contains("enum");
    bj::array single;
    if (auto* c = o.if_contains("const")) {
      single.push_back(*c);
      values = nullptr;
    } else if (!values->is_array()) {
      return err(ptr, "'enum' must be an array", errc::invalid_argument);
    }
    const bj::array& cands = values ? values->get_array() : single;
    bj::value node(o);
    std::set<std::string> seen;
    for (const auto& x : cands) {
      auto ok = validator_.valid(node, x, ptr);
      if (!ok) return std::move(ok).error();
      if (!*ok) continue;
      std::string text;
      write_canonical(x, text);
      if (!seen.insert(text).second) continue;
      b_.add_alt(rule, {T(tok(text))});
    }
    return tern::ok();
  }

  result<void> compile_body(int32_t rule, const bj::object& o, const std::string& ptr) {
    if (o.contains("enum") || o.contains("const")) return finite_values(rule, o, ptr);
    if (auto* kept = o.if_contains("$tern-unmerged"); kept && kept->is_array() && !kept->get_array().empty()) {
      const auto& first = kept->get_array()[0].get_object();
      return err(ptr, fmt::format("'allOf' combines two different values of '{}', which is not supported",
                                  std::string_view(first.begin()->key())));
    }
    for (const auto& kv : o) {
      std::string_view k = kv.key();
      if (unsupported_keywords.count(k)) return err(ptr, fmt::format("'{}' is not supported", k));
      if (k == "uniqueItems" && kv.value().is_bool() && kv.value().get_bool())
        return err(ptr, "'uniqueItems' is not supported");
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      auto* alts = o.if_contains(key);
      if (!alts) continue;
      if (!alts->is_array()) return err(ptr, fmt::format("'{}' must be an array", key), errc::invalid_argument);
      if (std::string_view(key) == "oneOf") TERN_CHECK(check_one_of(alts->get_array(), o, ptr));
      bj::object rest = o;
      rest.erase(key);
      bool plain = true;  // nothing to merge into the branches: compile them as they are (memoised)
      for (const auto& kv : rest)
        if (!is_annotation(kv.key())) plain = false;
      std::string p = json::append_pointer(ptr, key);
      for (size_t i = 0; i < alts->get_array().size(); ++i) {
        std::string pi = json::append_pointer(p, i);
        if (plain) {
          TERN_TRY(int32_t r, compile(alts->get_array()[i], pi));
          b_.add_alt(rule, {R(r)});
          continue;
        }
        TERN_TRY(bj::object branch, flatten(alts->get_array()[i], pi, 0));
        TERN_TRY(bj::object merged, merge(rest, std::move(branch), pi));
        TERN_TRY(int32_t r, compile_owned(std::move(merged), pi));
        b_.add_alt(rule, {R(r)});
      }
      return ok();
    }
    std::set<std::string> types = {"object", "array", "string", "number", "boolean", "null"};
    if (auto* t = o.if_contains("type")) {
      if (!t->is_string() && !t->is_array()) return err(ptr, "'type' must be a string or an array", errc::invalid_argument);
      types = types_of(*t);
      for (const auto& ty : types)
        if (!std::set<std::string>{"object", "array", "string", "number", "integer", "boolean", "null"}.count(ty))
          return err(json::append_pointer(ptr, "type"), fmt::format("unknown type '{}'", ty), errc::invalid_argument);
      if (types.count("number")) types.erase("integer");
    }
    for (const auto& ty : types) {
      if (ty == "null") b_.add_alt(rule, {T(b_.literal("null"))});
      if (ty == "boolean") {
        b_.add_alt(rule, {T(b_.literal("true"))});
        b_.add_alt(rule, {T(b_.literal("false"))});
      }
      if (ty == "string") {
        TERN_TRY(element t, string_term(o, ptr));
        b_.add_alt(rule, {t});
      }
      if (ty == "number" || ty == "integer") {
        TERN_TRY(int32_t t, number_term(o, ptr, ty == "integer"));
        b_.add_alt(rule, {T(t)});
      }
      if (ty == "object") TERN_CHECK(object_alts(rule, o, ptr));
      if (ty == "array") TERN_CHECK(array_alts(rule, o, ptr));
    }
    return ok();
  }

  // ---- strings ----

  result<dfa> quoted(const rx& content, std::string_view ptr) {
    compile_options opts;
    opts.json_string = true;
    auto d = compile_dfa(rx_seq({rx_literal("\""), content, rx_literal("\"")}), opts);
    if (!d) return std::move(d).error().at(std::string(ptr));
    return d;
  }

  static result<rx> format_rx(std::string_view f) {
    const char* re = format_regex(f);
    if (!re) return fail(errc::unsupported, fmt::format("'format' '{}' is not supported", f));
    return parse_regex(std::string("^(") + re + ")$");
  }

  // Long plain strings (bounds above what one counting DFA may hold): the
  // content is a chain of blocks of exactly `block` characters, then a tail
  // of fewer than `block` characters and the closing quote. Each block and
  // tail is one terminal shared by every link, so the automata stay small and
  // the lengths are still exact.
  result<element> long_string(uint32_t lo, uint32_t hi, const std::string& ptr) {
    constexpr uint32_t block = 256;  // ~6400 DFA states (JSON escapes make ~25 per character)
    compile_options opts;
    opts.json_string = true;
    auto chars = [&](uint32_t a, uint32_t b) { return rx_repeat(rx_any_char(), a, b); };
    // Compiling a block takes tens of milliseconds: each shape is built once per schema.
    auto cached = [&](uint32_t a, uint32_t b, bool quote) -> result<int32_t> {
      auto key = std::make_tuple(a, b, quote);
      if (auto it = block_terms_.find(key); it != block_terms_.end()) return it->second;
      auto d = compile_dfa(quote ? rx_seq({chars(a, b), rx_literal("\"")}) : chars(a, b), opts);
      if (!d) return std::move(d).error().at(ptr);
      int32_t t = b_.add_term(std::move(d).value());
      block_terms_[key] = t;
      return t;
    };
    TERN_TRY(int32_t full, cached(block, block, false));
    auto tail = [&](uint32_t a, uint32_t b) { return cached(a, b, true); };
    bool unbounded = hi == rx_node::unbounded;
    uint32_t levels = unbounded ? lo / block : hi / block;
    std::vector<int32_t> link(levels + 1);
    for (uint32_t i = 0; i <= levels; ++i) link[i] = b_.new_rule(fmt::format("{}#chars{}", ptr, i * block));
    for (uint32_t i = 0; i <= levels; ++i) {
      uint32_t done = i * block;
      uint32_t a = lo > done ? lo - done : 0;
      if (unbounded && i == levels) {
        TERN_TRY(int32_t t, tail(a, rx_node::unbounded));
        b_.add_alt(link[i], {T(t)});
        continue;
      }
      uint32_t b = unbounded ? block - 1 : std::min(block - 1, hi - done);
      if (a <= b) {
        TERN_TRY(int32_t t, tail(a, b));
        b_.add_alt(link[i], {T(t)});
      }
      if (i < levels && (unbounded || done + block <= hi)) b_.add_alt(link[i], {T(full), R(link[i + 1])});
    }
    int32_t r = b_.new_rule(ptr + "#string");
    b_.add_alt(r, {T(b_.literal("\"")), R(link[0])});
    return R(r);
  }

  // Terminals depend only on the keywords that shape them: equal keywords
  // (common in large schemas, where definitions are written out many times)
  // reuse the terminal instead of compiling its DFA again.
  static std::string keywords_key(const bj::object& o, std::initializer_list<const char*> names) {
    std::string k;
    for (const char* name : names) {
      if (auto* v = o.if_contains(name)) k += bj::serialize(*v);
      k += '\0';
    }
    return k;
  }

  result<element> string_term(const bj::object& o, const std::string& ptr) {
    std::string memo = keywords_key(o, {"minLength", "maxLength", "pattern", "format"});
    if (auto it = string_terms_.find(memo); it != string_terms_.end()) return it->second;
    auto t = string_term_uncached(o, ptr);
    if (t) string_terms_.emplace(std::move(memo), *t);
    return t;
  }

  result<element> string_term_uncached(const bj::object& o, const std::string& ptr) {
    auto num = [&](const char* k) -> std::optional<double> {
      auto* v = o.if_contains(k);
      if (v && v->is_number()) return v->to_number<double>();
      return std::nullopt;
    };
    auto mn = num("minLength"), mx = num("maxLength");
    auto* pat = o.if_contains("pattern");
    auto* fmt_v = o.if_contains("format");
    bool asserted_format = fmt_v && fmt_v->is_string() && is_standard_format(std::string_view(fmt_v->get_string()));
    if (!mn && !mx && !pat && !asserted_format) {
      if (free_string_ < 0) {
        TERN_TRY(dfa d, quoted(rx_repeat(rx_any_char(), 0, rx_node::unbounded), ptr));
        free_string_ = b_.add_term(std::move(d));
      }
      return T(free_string_);
    }
    uint32_t lo = mn ? uint32_t(std::clamp(std::ceil(*mn), 0.0, 1e9)) : 0;
    uint32_t hi = mx ? uint32_t(std::clamp(std::floor(*mx), 0.0, 1e9)) : rx_node::unbounded;
    if (mx && hi < lo) return err(ptr, "'maxLength' below 'minLength'", errc::invalid_argument);
    // Counting DFAs take ~25 states per character; beyond 512, plain strings go in blocks.
    if (((hi != rx_node::unbounded && hi > 512) || lo > 512) && !pat && !asserted_format) {
      if ((hi != rx_node::unbounded && hi > 1000000) || lo > 1000000)
        return err(ptr, "'minLength'/'maxLength' above 1000000 is not supported", errc::limit_exceeded);
      return long_string(lo, hi, ptr);
    }
    TERN_TRY(dfa d, quoted(rx_repeat(rx_any_char(), lo, hi), ptr));
    if (pat) {
      if (!pat->is_string()) return err(ptr, "'pattern' must be a string", errc::invalid_argument);
      auto re = parse_regex(std::string_view(pat->get_string()));
      if (!re) return std::move(re).error().at(json::append_pointer(ptr, "pattern"));
      TERN_TRY(dfa p, quoted(*re, json::append_pointer(ptr, "pattern")));
      auto both = intersect(d, p);
      if (!both) return std::move(both).error().at(json::append_pointer(ptr, "pattern"));
      d = std::move(both).value();
    }
    if (fmt_v && fmt_v->is_string() && is_standard_format(std::string_view(fmt_v->get_string()))) {
      auto re = format_rx(std::string_view(fmt_v->get_string()));
      if (!re) return std::move(re).error().at(ptr);
      TERN_TRY(dfa p, quoted(*re, json::append_pointer(ptr, "format")));
      auto both = intersect(d, p);
      if (!both) return std::move(both).error().at(json::append_pointer(ptr, "format"));
      d = std::move(both).value();
    }
    return T(b_.add_term(std::move(d)));
  }

  // ---- numbers ----

  result<int32_t> number_term(const bj::object& o, const std::string& ptr, bool integer) {
    std::string memo = keywords_key(o, {"multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"});
    memo += integer ? 'i' : 'n';
    if (auto it = number_terms_.find(memo); it != number_terms_.end()) return it->second;
    auto t = number_term_uncached(o, ptr, integer);
    if (t) number_terms_.emplace(std::move(memo), *t);
    return t;
  }

  result<int32_t> number_term_uncached(const bj::object& o, const std::string& ptr, bool integer) {
    // multipleOf k (a positive integer): the multiples are integers, written
    // without fraction or exponent, and their decimal digits run through a
    // k-state remainder automaton.
    uint32_t multiple = 1;
    if (auto* mo = o.if_contains("multipleOf")) {
      std::string mptr = json::append_pointer(ptr, "multipleOf");
      if (!mo->is_number() || !(mo->to_number<double>() > 0))
        return err(mptr, "'multipleOf' must be a positive number", errc::invalid_argument);
      double m = mo->to_number<double>();
      if (m != std::floor(m) || m > 100000)
        return err(mptr, "'multipleOf' other than an integer up to 100000 is not supported");
      multiple = uint32_t(m);
      integer = true;
    }
    std::optional<double> lo, hi;
    bool lo_ex = false, hi_ex = false;
    auto get = [&](const char* k) -> const bj::value* { return o.if_contains(k); };
    if (auto* v = get("minimum"); v && v->is_number()) lo = v->to_number<double>();
    if (auto* v = get("maximum"); v && v->is_number()) hi = v->to_number<double>();
    if (auto* v = get("exclusiveMinimum")) {
      if (v->is_bool()) lo_ex = v->get_bool();
      else if (v->is_number() && (!lo || v->to_number<double>() >= *lo)) lo = v->to_number<double>(), lo_ex = true;
    }
    if (auto* v = get("exclusiveMaximum")) {
      if (v->is_bool()) hi_ex = v->get_bool();
      else if (v->is_number() && (!hi || v->to_number<double>() <= *hi)) hi = v->to_number<double>(), hi_ex = true;
    }
    if ((lo && std::fabs(*lo) > 1e15) || (hi && std::fabs(*hi) > 1e15))
      return err(ptr, "'minimum'/'maximum' beyond 1e15 is not supported");
    std::optional<int64_t> ilo, ihi;
    if (integer) {
      // Integer bounds: exact, exclusive ones folded in.
      if (lo) ilo = int64_t(lo_ex ? std::floor(*lo) + 1 : std::ceil(*lo));
      if (hi) ihi = int64_t(hi_ex ? std::ceil(*hi) - 1 : std::floor(*hi));
      if (ilo && ihi && *ilo > *ihi) return err(ptr, "integer bounds admit no value", errc::invalid_argument);
      std::vector<rx> alts;
      // non-negative part
      if (!ihi || *ihi >= 0) {
        auto r = natural_range(uint64_t(std::max<int64_t>(0, ilo.value_or(0))), ihi ? *ihi : -1);
        if (r) alts.push_back(r);
      }
      if (!ilo || *ilo < 0) {
        int64_t mlo = ihi ? std::max<int64_t>(1, -*ihi) : 1;
        auto r = natural_range(uint64_t(mlo), ilo ? -*ilo : -1);
        if (r) alts.push_back(rx_seq({rx_literal("-"), r}));
      }
      if (alts.empty()) return err(ptr, "integer bounds admit no value", errc::invalid_argument);
      auto d = compile_dfa(rx_alt(std::move(alts)));
      if (!d) return std::move(d).error().at(ptr);
      if (multiple > 1) {
        auto both = intersect(*d, divisible_by(multiple));
        if (!both) return std::move(both).error().at(json::append_pointer(ptr, "multipleOf"));
        if (both->empty_language())
          return err(ptr, "no multiple of 'multipleOf' within the bounds", errc::invalid_argument);
        return b_.add_term(std::move(both).value());
      }
      return b_.add_term(std::move(d).value());
    }
    auto digits = rx_repeat(rx_class({{'0', '9'}}), 1, rx_node::unbounded);
    auto int_part = rx_alt({rx_literal("0"), rx_seq({rx_class({{'1', '9'}}), rx_repeat(rx_class({{'0', '9'}}), 0, rx_node::unbounded)})});
    if (!lo && !hi) {
      if (number_ < 0) {
        // Every document must parse (RFC 8259 section 6 lets parsers refuse
        // numbers beyond their range, and ours refuses overflow): at most 200
        // integer digits and a two-digit exponent stay below 1e300.
        auto int200 = rx_alt({rx_literal("0"), rx_seq({rx_class({{'1', '9'}}), rx_repeat(rx_class({{'0', '9'}}), 0, 199)})});
        auto exp = rx_repeat(rx_seq({rx_class({{'e', 'e'}, {'E', 'E'}}), rx_repeat(rx_class({{'+', '+'}, {'-', '-'}}), 0, 1),
                                     rx_repeat(rx_class({{'0', '9'}}), 1, 2)}),
                             0, 1);
        auto d = compile_dfa(rx_seq({rx_repeat(rx_literal("-"), 0, 1), int200, frac_rx(frac::any), exp}));
        number_ = b_.add_term(std::move(d).value());
      }
      return number_;
    }
    if ((lo && *lo != std::floor(*lo)) || (hi && *hi != std::floor(*hi)))
      return err(ptr, "non-integer 'minimum'/'maximum' on a number is not supported");
    // Split into v >= 0 and v < 0; bounds on the magnitude (see docs/grammar.md).
    std::vector<rx> alts;
    std::optional<int64_t> L = lo ? std::optional<int64_t>(int64_t(*lo)) : std::nullopt;
    std::optional<int64_t> H = hi ? std::optional<int64_t>(int64_t(*hi)) : std::nullopt;
    for (const auto& p : magnitude_pieces(L, lo_ex, H, hi_ex)) {
      auto r = natural_range(p.lo, p.hi);
      if (r) alts.push_back(rx_seq({r, frac_rx(p.f)}));
    }
    // negative: m = -v > 0; v >= L  <=>  m <= -L; v <= H  <=>  m >= -H
    std::optional<int64_t> mlo = H ? std::optional<int64_t>(-*H) : std::nullopt;
    std::optional<int64_t> mhi = L ? std::optional<int64_t>(-*L) : std::nullopt;
    bool mlo_ex = hi_ex;
    if (!mlo || *mlo < 0 || (*mlo == 0)) mlo = 0, mlo_ex = true;  // m > 0
    for (const auto& p : magnitude_pieces(mlo, mlo_ex, mhi, lo_ex)) {
      auto r = natural_range(p.lo, p.hi);
      if (r) alts.push_back(rx_seq({rx_literal("-"), r, frac_rx(p.f)}));
    }
    if (alts.empty()) return err(ptr, "number bounds admit no value", errc::invalid_argument);
    auto d = compile_dfa(rx_alt(std::move(alts)));
    if (!d) return std::move(d).error().at(ptr);
    return b_.add_term(std::move(d).value());
  }

  // ---- any value ----

  int32_t any_value() {
    if (any_ >= 0) return any_;
    any_ = b_.new_rule("any");
    int32_t obj = b_.new_rule("any-object"), members = b_.new_rule("any-members");
    int32_t arr = b_.new_rule("any-array"), items = b_.new_rule("any-items");
    auto str = quoted(rx_repeat(rx_any_char(), 0, rx_node::unbounded), "").value();
    int32_t s = b_.add_term(str);
    if (free_string_ < 0) free_string_ = s;
    int32_t key = key_term(",", {}).value();
    int32_t first_key = key_term("", {}).value();
    b_.add_alt(any_, {R(obj)});
    b_.add_alt(any_, {R(arr)});
    b_.add_alt(any_, {T(s)});
    b_.add_alt(any_, {T(number_term(bj::object(), "", false).value())});
    b_.add_alt(any_, {T(b_.literal("true"))});
    b_.add_alt(any_, {T(b_.literal("false"))});
    b_.add_alt(any_, {T(b_.literal("null"))});
    b_.add_alt(obj, {T(tok("{}"))});
    b_.add_alt(obj, {T(tok("{")), T(first_key), R(any_), R(members)});
    b_.add_alt(members, {T(tok("}"))});
    b_.add_alt(members, {T(key), R(any_), R(members)});
    b_.add_alt(arr, {T(tok("[]"))});
    b_.add_alt(arr, {T(tok("[")), R(any_), R(items)});
    b_.add_alt(items, {T(tok("]"))});
    b_.add_alt(items, {T(tok(",")), R(any_), R(items)});
    return any_;
  }

  // `prefix "key":` for keys matching `only` (any key when null), except the
  // listed names (already JSON-quoted) and keys matching any of `minus`.
  result<int32_t> key_term(std::string_view prefix, const std::vector<std::string>& excluded, rx only = nullptr,
                           const std::vector<rx>& minus = {}) {
    // Objects with the same declared names (and patterns) share the terminal.
    std::string memo(prefix);
    memo += '\0';
    for (const auto& e : excluded) memo += e + '\0';
    memo += '\0';
    if (only) memo += rx_key(only);
    for (const auto& m : minus) memo += '\0' + rx_key(m);
    if (auto it = key_terms_.find(memo); it != key_terms_.end()) return it->second;
    result<int32_t> t = 0;
    if (!ws_ && !prefix.empty()) {
      // `,"key":` is `,` before `"key":`, whose machine is already built
      // (objects ask for both): prepending keeps it minimal, no new product.
      TERN_TRY(int32_t bare, key_term("", excluded, only, minus));
      dfa d = b_.term(bare);
      std::string p = tok_text(prefix);
      for (size_t i = p.size(); i-- > 0;) d = prepend_byte(d, uint8_t(p[i]));
      t = b_.add_term(std::move(d));
    } else {
      t = key_term_uncached(prefix, excluded, only, minus);
    }
    if (t) key_terms_.emplace(std::move(memo), *t);
    return t;
  }

  result<int32_t> key_term_uncached(std::string_view prefix, const std::vector<std::string>& excluded, const rx& only,
                                    const std::vector<rx>& minus) {
    compile_options opts;
    opts.json_string = true;
    auto any = rx_repeat(rx_any_char(), 0, rx_node::unbounded);
    auto whole = [&](rx content) {
      return compile_dfa(rx_seq({tok_rx(prefix), rx_literal("\""), std::move(content), rx_literal("\""), tok_rx(":")}),
                         opts);
    };
    dfa d;
    if (only) {
      TERN_TRY(d, whole(only));
    } else {
      // "Any key" is the same machine for every object: compiled once per prefix.
      auto it = any_keys_.find(std::string(prefix));
      if (it == any_keys_.end()) {
        TERN_TRY(dfa any_key, whole(any));
        it = any_keys_.emplace(std::string(prefix), std::move(any_key)).first;
      }
      d = it->second;
    }
    if (!excluded.empty() && !ws_) {
      // Without free whitespace the declared keys are plain words.
      std::vector<std::string> words;
      for (const auto& e : excluded) words.push_back(tok_text(prefix) + e + tok_text(":"));
      TERN_TRY(d, subtract_words(d, words));
    } else if (!excluded.empty()) {
      std::vector<rx> names;
      for (const auto& e : excluded) names.push_back(rx_literal(e));
      TERN_TRY(dfa ex, compile_dfa(rx_seq({tok_rx(prefix), rx_alt(std::move(names)), tok_rx(":")})));
      TERN_TRY(d, intersect(d, ex, true));
    }
    for (const auto& m : minus) {
      TERN_TRY(dfa ex, whole(m));
      TERN_TRY(d, intersect(d, ex, true));
    }
    return b_.add_term(std::move(d));
  }

  // ---- objects ----

  struct prop {
    std::string key;  // JSON-quoted
    int32_t value;
    bool required;
    const bj::value* schema;  // nullptr: required but not declared
  };
  using more_list = std::vector<std::pair<int32_t, int32_t>>;  // key terminal, value rule

  // Objects with at most this many declared properties take them in any
  // order (a rule per set of properties written); larger ones in schema order.
  static constexpr size_t max_any_order = 8;

  // minProperties, maxProperties and dependentRequired, as sets of declared properties.
  struct object_counts {
    bool used = false;
    std::string keyword;  // the first one present, for errors
    std::optional<uint32_t> min, max;
    std::vector<std::pair<uint32_t, uint32_t>> deps;  // (property bit, bits it requires)
  };

  result<object_counts> object_counting(const bj::object& o, const std::vector<prop>& props, const std::string& ptr) {
    object_counts c;
    auto bit_of = [&](std::string_view name) -> std::optional<uint32_t> {
      std::string q = quote(name);
      for (size_t i = 0; i < props.size() && i < 32; ++i)
        if (props[i].key == q) return 1u << i;
      return std::nullopt;
    };
    auto note = [&](std::string_view k) {
      if (!c.used) c.keyword = std::string(k);
      c.used = true;
    };
    for (const char* k : {"minProperties", "maxProperties"}) {
      auto* v = o.if_contains(k);
      if (!v) continue;
      if (!v->is_number() || v->to_number<double>() < 0)
        return err(json::append_pointer(ptr, k), fmt::format("'{}' must be a non-negative number", k),
                   errc::invalid_argument);
      double d = std::min(v->to_number<double>(), 1e6);
      if (k == std::string_view("minProperties")) {
        if (d <= 0) continue;
        c.min = uint32_t(std::ceil(d));
      } else {
        c.max = uint32_t(std::floor(d));
      }
      note(k);
    }
    for (const char* k : {"dependencies", "dependentRequired"}) {
      auto* v = o.if_contains(k);
      if (!v || !v->is_object()) continue;
      for (const auto& kv : v->get_object()) {
        std::string dptr = json::append_pointer(json::append_pointer(ptr, k), kv.key());
        if (kv.value().is_bool() && kv.value().get_bool()) continue;
        if (kv.value().is_object() && kv.value().get_object().empty()) continue;
        if (!kv.value().is_array()) return err(dptr, fmt::format("'{}' with a schema is not supported", k));
        note(k);
        auto key = bit_of(kv.key());
        uint32_t need = 0;
        for (const auto& x : kv.value().get_array()) {
          if (!x.is_string()) return err(dptr, fmt::format("'{}' lists must hold strings", k), errc::invalid_argument);
          auto b = bit_of(std::string_view(x.get_string()));
          if (!b)
            return err(dptr, fmt::format("'{}' on a property that is not declared in 'properties' is not supported", k));
          need |= *b;
        }
        if (!key) return err(dptr, fmt::format("'{}' on a property that is not declared in 'properties' is not supported", k));
        c.deps.push_back({*key, need});
      }
    }
    return c;
  }

  // One rule per (set of declared properties written, number of other
  // properties written up to what the counts need); a declared property can
  // come next when it is not in the set, `}` when the set has every required
  // property and the counts and dependencies hold.
  result<void> any_order_object(int32_t rule, const std::vector<prop>& props, const more_list& first_more,
                                const more_list& next_more, const object_counts& c, const std::string& ptr) {
    size_t n = props.size();
    uint32_t full = 1u << n;
    uint32_t ecap = 0;  // extra properties are counted up to this
    if (!first_more.empty() && (c.min || c.max)) ecap = c.max ? *c.max : *c.min;
    if (uint64_t(full) * (uint64_t(ecap) + 1) > 4096)
      return err(ptr, fmt::format("'{}' needs too many object states (over 4096)", c.keyword), errc::limit_exceeded);
    uint32_t required = 0;
    for (size_t i = 0; i < n; ++i)
      if (props[i].required) required |= 1u << i;
    auto idx = [&](uint32_t mask, uint32_t e) { return size_t(mask) * (ecap + 1) + e; };
    std::vector<int32_t> after(size_t(full) * (ecap + 1));
    for (uint32_t mask = 0; mask < full; ++mask)
      for (uint32_t e = 0; e <= ecap; ++e) after[idx(mask, e)] = b_.new_rule(fmt::format("{}#{{{:x},{}}}", ptr, mask, e));
    int32_t start = b_.new_rule(ptr + "#{");
    // Each key terminal is asked for once per set of properties: look them up once.
    std::vector<std::array<int32_t, 2>> key_tok(n);
    for (size_t i = 0; i < n; ++i) key_tok[i] = {tok(props[i].key + ":"), tok("," + props[i].key + ":")};
    int32_t close_tok = tok("}");
    auto fill = [&](int32_t r, uint32_t mask, uint32_t e, bool written) {
      uint32_t count = uint32_t(std::popcount(mask)) + e;
      bool close = (mask & required) == required && (!c.min || count >= *c.min);
      for (const auto& [bit, need] : c.deps)
        if ((mask & bit) && (mask & need) != need) close = false;
      if (close) b_.add_alt(r, {T(close_tok)});
      if (c.max && count >= *c.max) return;
      for (size_t i = 0; i < n; ++i) {
        if (mask & (1u << i)) continue;
        b_.add_alt(r, {T(key_tok[i][written]), R(props[i].value), R(after[idx(mask | (1u << i), e)])});
      }
      for (const auto& [t, v] : written ? next_more : first_more)
        b_.add_alt(r, {T(t), R(v), R(after[idx(mask, std::min(e + 1, ecap))])});
    };
    fill(start, 0, 0, false);
    for (uint32_t mask = 0; mask < full; ++mask)
      for (uint32_t e = 0; e <= ecap; ++e) fill(after[idx(mask, e)], mask, e, true);
    b_.add_alt(rule, {T(tok("{")), R(start)});
    return ok();
  }

  result<void> object_alts(int32_t rule, const bj::object& o, const std::string& ptr) {
    std::vector<prop> props;
    std::set<std::string> required;
    if (auto* r = o.if_contains("required"); r && r->is_array())
      for (const auto& x : r->get_array())
        if (x.is_string()) required.insert(std::string(x.get_string()));
    std::set<std::string> declared;
    if (auto* ps = o.if_contains("properties")) {
      if (!ps->is_object()) return err(ptr, "'properties' must be an object", errc::invalid_argument);
      std::string pp = json::append_pointer(ptr, "properties");
      for (const auto& kv : ps->get_object()) {
        std::string name(kv.key());
        TERN_TRY(int32_t v, compile(kv.value(), json::append_pointer(pp, name)));
        props.push_back({quote(name), v, required.count(name) > 0, &kv.value()});
        declared.insert(name);
      }
    }
    int32_t extra = -1;  // rule for additional property values, -1: none allowed
    if (auto* ap = o.if_contains("additionalProperties")) {
      if (!(ap->is_bool() && !ap->get_bool())) {
        TERN_TRY(extra, compile(*ap, json::append_pointer(ptr, "additionalProperties")));
      }
    } else {
      extra = any_value();
    }
    for (const auto& name : required) {
      if (declared.count(name)) continue;
      if (extra < 0) return err(ptr, fmt::format("required property '{}' is not allowed by additionalProperties", name), errc::invalid_argument);
      props.push_back({quote(name), extra, true, nullptr});
      declared.insert(name);
    }
    // patternProperties: keys matching a pattern take its schema; the
    // patterns must not overlap, declared names matching one get both schemas.
    struct keyed {
      rx pattern;
      int32_t value;
    };
    std::vector<keyed> patterned;
    if (auto* pp = o.if_contains("patternProperties"); pp && pp->is_object() && !pp->get_object().empty()) {
      std::string base = json::append_pointer(ptr, "patternProperties");
      std::vector<dfa> seen;
      for (const auto& kv : pp->get_object()) {
        std::string pp_ptr = json::append_pointer(base, kv.key());
        auto re = parse_regex(std::string_view(kv.key()));
        if (!re) return std::move(re).error().at(pp_ptr);
        TERN_TRY(dfa d, quoted(*re, pp_ptr));
        for (size_t j = 0; j < seen.size(); ++j) {
          TERN_TRY(dfa both, intersect(seen[j], d));
          if (!both.empty_language())
            return err(base, "'patternProperties' with overlapping patterns is not supported");
        }
        for (auto& p : props) {
          if (d.empty_language()) break;
          bool hit = true;
          int32_t q = d.start;
          for (char ch : p.key)
            if (q != dead) q = d.step(q, uint8_t(ch));
          hit = q != dead && d.accept[q];
          if (!hit) continue;
          TERN_TRY(int32_t pv, compile(kv.value(), pp_ptr));
          if (!p.schema) {
            p.value = pv;
            continue;
          }
          bj::object both;
          both["allOf"] = bj::array{*p.schema, kv.value()};
          TERN_TRY(p.value, compile_owned(std::move(both), pp_ptr));
        }
        seen.push_back(std::move(d));
        TERN_TRY(int32_t v, compile(kv.value(), pp_ptr));
        patterned.push_back({*re, v});
      }
    }
    size_t n = props.size();
    // chain[i][f]: properties i.. remain; f = something was already written.
    std::vector<std::array<int32_t, 2>> chain(n + 1);
    for (size_t i = 0; i <= n; ++i)
      for (int f = 0; f < 2; ++f) chain[i][f] = b_.new_rule(fmt::format("{}#{}{}", ptr, i, f ? "," : ""));
    std::vector<std::string> excluded;
    for (const auto& p : props) excluded.push_back(p.key);
    int32_t tail = -1;
    std::vector<rx> patterns;
    for (const auto& k : patterned) patterns.push_back(k.pattern);
    // key terminal + value rule for every kind of key beyond the declared ones
    auto more_keys = [&](std::string_view prefix) -> result<std::vector<std::pair<int32_t, int32_t>>> {
      std::vector<std::pair<int32_t, int32_t>> out;
      for (const auto& k : patterned) {
        TERN_TRY(int32_t t, key_term(prefix, excluded, k.pattern));
        out.push_back({t, k.value});
      }
      if (extra >= 0) {
        TERN_TRY(int32_t t, key_term(prefix, excluded, nullptr, patterns));
        out.push_back({t, extra});
      }
      return out;
    };
    TERN_TRY(auto first_more, more_keys(""));
    TERN_TRY(auto next_more, more_keys(","));
    TERN_TRY(object_counts counts, object_counting(o, props, ptr));
    // Very large schemas (thousands of small objects) keep schema order once the
    // rule count grows, unless a count or dependency needs the sets.
    bool room = b_.n_rules() + (size_t(1) << std::min<size_t>(n, 20)) < 30000;
    if (n <= max_any_order && (room || counts.used)) return any_order_object(rule, props, first_more, next_more, counts, ptr);
    if (counts.used)
      return err(ptr, fmt::format("'{}' on an object with more than {} declared properties is not supported",
                                  counts.keyword, max_any_order));
    if (!next_more.empty()) {
      tail = b_.new_rule(ptr + "#more");
      b_.add_alt(tail, {T(tok("}"))});
      for (const auto& [t, v] : next_more) b_.add_alt(tail, {T(t), R(v), R(tail)});
    }
    for (size_t i = 0; i <= n; ++i)
      for (int f = 0; f < 2; ++f) {
        int32_t r = chain[i][f];
        if (i == n) {
          b_.add_alt(r, {T(tok("}"))});
          for (const auto& [t, v] : f ? next_more : first_more) b_.add_alt(r, {T(t), R(v), R(tail)});
          continue;
        }
        std::string key = (f ? "," : "") + props[i].key + ":";
        b_.add_alt(r, {T(tok(key)), R(props[i].value), R(chain[i + 1][1])});
        if (!props[i].required) b_.add_alt(r, {R(chain[i + 1][f])});
      }
    b_.add_alt(rule, {T(tok("{")), R(chain[0][0])});
    return ok();
  }

  // ---- arrays ----

  result<void> array_alts(int32_t rule, const bj::object& o, const std::string& ptr) {
    std::vector<int32_t> tuple;
    int32_t rest = -2;  // -2: not yet known, -1: no further items
    auto compile_list = [&](const bj::array& a, const std::string& p) -> result<void> {
      for (size_t i = 0; i < a.size(); ++i) {
        TERN_TRY(int32_t r, compile(a[i], json::append_pointer(p, i)));
        tuple.push_back(r);
      }
      return ok();
    };
    auto compile_rest = [&](const bj::value& v, const std::string& p) -> result<void> {
      if (v.is_bool() && !v.get_bool()) {
        rest = -1;
        return ok();
      }
      TERN_TRY(rest, compile(v, p));
      return ok();
    };
    if (auto* pi = o.if_contains("prefixItems"); pi && pi->is_array()) {
      TERN_CHECK(compile_list(pi->get_array(), json::append_pointer(ptr, "prefixItems")));
      if (auto* it = o.if_contains("items")) TERN_CHECK(compile_rest(*it, json::append_pointer(ptr, "items")));
    } else if (auto* it = o.if_contains("items")) {
      if (it->is_array()) {
        TERN_CHECK(compile_list(it->get_array(), json::append_pointer(ptr, "items")));
        if (auto* ai = o.if_contains("additionalItems"))
          TERN_CHECK(compile_rest(*ai, json::append_pointer(ptr, "additionalItems")));
      } else {
        TERN_CHECK(compile_rest(*it, json::append_pointer(ptr, "items")));
      }
    }
    if (rest == -2) rest = any_value();
    auto num = [&](const char* k, double dflt) {
      auto* v = o.if_contains(k);
      return v && v->is_number() ? v->to_number<double>() : dflt;
    };
    double mn = std::max(0.0, std::ceil(num("minItems", 0))), mx = std::floor(num("maxItems", 1e18));
    if (rest == -1) mx = std::min(mx, double(tuple.size()));
    if (mx < mn) return ok();  // no array satisfies this: the alternative is dropped
    size_t fixed = std::max<size_t>(tuple.size(), size_t(mn));
    bool unbounded = mx >= 1e17;
    if (unbounded ? fixed > 4096 : mx > 4096)
      return err(ptr, "'minItems'/'maxItems' above 4096 is not supported", errc::limit_exceeded);
    size_t chain_len = unbounded ? fixed : size_t(mx);
    auto item = [&](size_t i) { return i < tuple.size() ? tuple[i] : rest; };
    // after[i]: i items written, next is ',' item or ']'.
    std::vector<int32_t> after(chain_len + 1);
    for (size_t i = 0; i <= chain_len; ++i) after[i] = b_.new_rule(fmt::format("{}[{}]", ptr, i));
    for (size_t i = 0; i <= chain_len; ++i) {
      if (i >= size_t(mn)) b_.add_alt(after[i], {T(tok("]"))});
      if (i < chain_len) {
        if (i == 0) b_.add_alt(after[i], {R(item(0)), R(after[1])});
        else b_.add_alt(after[i], {T(tok(",")), R(item(i)), R(after[i + 1])});
      } else if (unbounded && rest >= 0) {
        if (i == 0) {
          int32_t more = b_.new_rule(ptr + "[more]");
          b_.add_alt(more, {T(tok("]"))});
          b_.add_alt(more, {T(tok(",")), R(rest), R(more)});
          b_.add_alt(after[i], {R(rest), R(more)});
        } else {
          b_.add_alt(after[i], {T(tok(",")), R(rest), R(after[i])});
        }
      }
    }
    b_.add_alt(rule, {T(tok("[")), R(after[0])});
    return ok();
  }

  const bj::value& root_;
  bool ws_;
  bool spaced_ = false;
  grammar_builder& b_;
  instance_validator validator_{root_};
  std::map<const bj::value*, int32_t> by_node_;
  std::map<std::string, int32_t> by_ref_;
  std::map<std::tuple<uint32_t, uint32_t, bool>, int32_t> block_terms_;
  std::unordered_map<std::string, element> string_terms_;
  std::unordered_map<std::string, int32_t> number_terms_, key_terms_;
  std::unordered_map<std::string, dfa> any_keys_;  // prefix -> `prefix "any":`
  std::deque<bj::value> owned_;
  int32_t free_string_ = -1, number_ = -1, any_ = -1;
  int depth_ = 0;
};

result<compiled> compile_schema_value(const bj::value& schema, bool free_ws) {
  grammar_builder b;
  return schema_compiler(schema, free_ws ? json_layout::free : json_layout::compact, b).run();
}

result<int32_t> add_schema_rules(grammar_builder& b, const bj::value& schema, json_layout layout) {
  return schema_compiler(schema, layout, b).add();
}

}  // namespace tern::engine::grammar_detail
