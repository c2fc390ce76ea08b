// Grammar text (GBNF-like EBNF) -> grammar. Sub-expressions without rule
// references become single regex terminals, so only the recursive structure
// is left to the pushdown automaton.
#include "grammar/schema_compiler.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <map>

namespace tern::engine::grammar_detail {
namespace {

struct node;
using node_ptr = std::shared_ptr<node>;
struct node {
  enum kind_t { term, ref, seq, alt, rep } kind;
  rx re;             // term
  std::string name;  // ref
  size_t line = 0, col = 0;
  std::vector<node_ptr> kids;
  uint32_t min = 0, max = 0;
};

class gbnf_parser {
 public:
  explicit gbnf_parser(std::string_view t) : t_(t) {}

  result<std::vector<std::pair<std::string, node_ptr>>> parse() {
    std::vector<std::pair<std::string, node_ptr>> rules;
    skip_space(true);
    while (!eof()) {
      auto name = parse_name();
      if (name.empty()) return err("expected a rule name");
      skip_space(true);
      if (t_.substr(pos_, 3) != "::=") return err("expected '::='");
      pos_ += 3;
      skip_space(true);
      TERN_TRY(node_ptr body, parse_alt(0));
      rules.emplace_back(std::move(name), std::move(body));
      skip_space(true);
    }
    return rules;
  }

  tern::error err(std::string msg) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < t_.size(); ++i) {
      if (t_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    return tern::error(errc::parse_error, std::move(msg)).at(fmt::format("line {}:{}", line, col));
  }

 private:
  bool eof() const { return pos_ >= t_.size(); }
  static bool name_char(char c) { return std::isalnum(uint8_t(c)) || c == '-' || c == '_'; }

  // Newlines end a rule only at depth 0 and only when a new `name ::=` follows,
  // so skipping them is safe everywhere but right before such a line.
  void skip_space(bool newlines) {
    while (!eof()) {
      char c = t_[pos_];
      if (c == '#') {
        while (!eof() && t_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  bool at_rule_start() {
    size_t save = pos_;
    skip_space(true);
    std::string n = parse_name();
    skip_space(true);
    bool yes = !n.empty() && t_.substr(pos_, 3) == "::=";
    pos_ = save;
    return yes;
  }

  std::string parse_name() {
    size_t s = pos_;
    while (!eof() && name_char(t_[pos_])) ++pos_;
    return std::string(t_.substr(s, pos_ - s));
  }

  result<node_ptr> parse_alt(int depth) {
    auto n = std::make_shared<node>();
    n->kind = node::alt;
    for (;;) {
      TERN_TRY(node_ptr s, parse_seq(depth));
      n->kids.push_back(std::move(s));
      skip_space(depth > 0);
      if (!eof() && t_[pos_] == '|') {
        ++pos_;
        skip_space(true);
        continue;
      }
      if (depth == 0 && !eof() && t_[pos_] == '\n' && !at_rule_start()) {
        skip_space(true);
        if (!eof() && t_[pos_] == '|') {
          ++pos_;
          skip_space(true);
          continue;
        }
      }
      break;
    }
    return n->kids.size() == 1 ? n->kids[0] : n;
  }

  result<node_ptr> parse_seq(int depth) {
    auto n = std::make_shared<node>();
    n->kind = node::seq;
    for (;;) {
      skip_space(depth > 0);
      if (depth == 0 && !eof() && t_[pos_] == '\n') {
        if (at_rule_start()) break;
        skip_space(true);
      }
      if (eof()) break;
      char c = t_[pos_];
      if (c == '|' || c == ')') break;
      TERN_TRY(node_ptr a, parse_atom(depth));
      TERN_TRY(a, parse_quant(std::move(a)));
      n->kids.push_back(std::move(a));
    }
    return n;
  }

  result<uint32_t> number() {
    size_t s = pos_;
    uint64_t v = 0;
    while (!eof() && std::isdigit(uint8_t(t_[pos_]))) {
      v = v * 10 + uint64_t(t_[pos_++] - '0');
      if (v > 10000) return err("repetition count too large (max 10000)");
    }
    if (s == pos_) return err("expected a number");
    return uint32_t(v);
  }

  result<node_ptr> parse_quant(node_ptr a) {
    for (;;) {
      if (eof()) return a;
      char c = t_[pos_];
      uint32_t mn, mx;
      if (c == '*') mn = 0, mx = rx_node::unbounded, ++pos_;
      else if (c == '+') mn = 1, mx = rx_node::unbounded, ++pos_;
      else if (c == '?') mn = 0, mx = 1, ++pos_;
      else if (c == '{') {
        ++pos_;
        TERN_TRY(mn, number());
        mx = mn;
        if (!eof() && t_[pos_] == ',') {
          ++pos_;
          if (!eof() && t_[pos_] == '}') {
            mx = rx_node::unbounded;
          } else {
            TERN_TRY(mx, number());
          }
        }
        if (eof() || t_[pos_] != '}') return err("expected '}'");
        ++pos_;
        if (mx < mn) return err("{m,n} with n < m");
      } else {
        return a;
      }
      auto r = std::make_shared<node>();
      r->kind = node::rep;
      r->kids = {a};
      r->min = mn;
      r->max = mx;
      a = r;
    }
  }

  uint32_t utf8_char() {
    auto b = uint8_t(t_[pos_++]);
    if (b < 0x80) return b;
    int n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
    uint32_t c = b & (0x3F >> n);
    for (int i = 0; i < n && !eof(); ++i) c = (c << 6) | (uint8_t(t_[pos_++]) & 0x3F);
    return c;
  }

  result<uint32_t> char_or_escape() {
    if (eof()) return err("unexpected end of text");
    if (t_[pos_] != '\\') return utf8_char();
    ++pos_;
    if (eof()) return err("trailing backslash");
    char c = t_[pos_++];
    auto hex = [&](int n) -> result<uint32_t> {
      uint32_t v = 0;
      for (int i = 0; i < n; ++i) {
        if (eof() || !std::isxdigit(uint8_t(t_[pos_]))) return err("bad hex escape");
        char h = t_[pos_++];
        v = v * 16 + uint32_t(std::isdigit(uint8_t(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return v;
    };
    switch (c) {
      case 'n': return uint32_t('\n');
      case 't': return uint32_t('\t');
      case 'r': return uint32_t('\r');
      case '0': return uint32_t(0);
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      default: return uint32_t(uint8_t(c));
    }
  }

  static std::string encode(uint32_t c) {
    std::string s;
    if (c < 0x80) s += char(c);
    else if (c < 0x800) s += char(0xC0 | (c >> 6)), s += char(0x80 | (c & 0x3F));
    else if (c < 0x10000)
      s += char(0xE0 | (c >> 12)), s += char(0x80 | ((c >> 6) & 0x3F)), s += char(0x80 | (c & 0x3F));
    else
      s += char(0xF0 | (c >> 18)), s += char(0x80 | ((c >> 12) & 0x3F)), s += char(0x80 | ((c >> 6) & 0x3F)),
          s += char(0x80 | (c & 0x3F));
    return s;
  }

  result<node_ptr> parse_atom(int depth) {
    auto n = std::make_shared<node>();
    char c = t_[pos_];
    if (c == '"') {
      ++pos_;
      std::string lit;
      while (!eof() && t_[pos_] != '"') {
        if (t_[pos_] == '\n') return err("newline inside a string literal");
        TERN_TRY(uint32_t ch, char_or_escape());
        if (ch > 0x10FFFF) return err("code point out of range");
        lit += encode(ch);
      }
      if (eof()) return err("unterminated string literal");
      ++pos_;
      n->kind = node::term;
      n->re = rx_literal(lit);
      return n;
    }
    if (c == '[') {
      ++pos_;
      bool neg = !eof() && t_[pos_] == '^';
      if (neg) ++pos_;
      std::vector<cp_range> set;
      while (!eof() && t_[pos_] != ']') {
        TERN_TRY(uint32_t lo, char_or_escape());
        uint32_t hi = lo;
        if (pos_ + 1 < t_.size() && t_[pos_] == '-' && t_[pos_ + 1] != ']') {
          ++pos_;
          TERN_TRY(hi, char_or_escape());
          if (hi < lo) return err("class range out of order");
        }
        set.push_back({lo, hi});
      }
      if (eof()) return err("unterminated character class");
      ++pos_;
      if (neg) {
        std::sort(set.begin(), set.end(), [](auto& a, auto& b) { return a.lo < b.lo; });
        std::vector<cp_range> out;
        uint32_t next = 0;
        for (auto& r : set) {
          if (r.hi < next) continue;
          if (r.lo > next) out.push_back({next, r.lo - 1});
          next = r.hi + 1;
        }
        if (next <= 0x10FFFF) out.push_back({next, 0x10FFFF});
        set = out;
      }
      n->kind = node::term;
      n->re = rx_class(std::move(set));
      return n;
    }
    if (c == '.') {
      ++pos_;
      n->kind = node::term;
      n->re = rx_any_char();
      return n;
    }
    if (c == '(') {
      ++pos_;
      skip_space(true);
      TERN_TRY(node_ptr inner, parse_alt(depth + 1));
      skip_space(true);
      if (eof() || t_[pos_] != ')') return err("expected ')'");
      ++pos_;
      return inner;
    }
    if (name_char(c)) {
      n->kind = node::ref;
      n->line = pos_;
      n->name = parse_name();
      return n;
    }
    return err(fmt::format("unexpected character '{}'", c));
  }

  std::string_view t_;
  size_t pos_ = 0;
};

class gbnf_compiler {
 public:
  gbnf_compiler(std::vector<std::pair<std::string, node_ptr>> rules) : rules_(std::move(rules)) {}

  result<compiled> run() {
    for (const auto& [name, body] : rules_) {
      if (ids_.count(name)) return fail(errc::parse_error, fmt::format("rule '{}' is defined twice", name));
      ids_[name] = b_.new_rule(name);
    }
    if (!ids_.count("root")) return fail(errc::parse_error, "grammar has no 'root' rule");
    for (const auto& [name, body] : rules_) TERN_CHECK(add_alts(ids_[name], body));
    return b_.finish(ids_["root"], "grammar");
  }

 private:
  // The node as one regex when it contains no rule reference.
  rx as_rx(const node_ptr& n) {
    switch (n->kind) {
      case node::term: return n->re;
      case node::ref: return nullptr;
      case node::seq:
      case node::alt: {
        std::vector<rx> parts;
        for (const auto& k : n->kids) {
          auto r = as_rx(k);
          if (!r) return nullptr;
          parts.push_back(r);
        }
        if (parts.empty()) return rx_empty();
        return n->kind == node::seq ? rx_seq(std::move(parts)) : rx_alt(std::move(parts));
      }
      case node::rep: {
        auto r = as_rx(n->kids[0]);
        return r ? rx_repeat(r, n->min, n->max) : nullptr;
      }
    }
    return nullptr;
  }

  result<int32_t> term(const rx& r) {
    auto d = compile_dfa(r);
    if (!d) return std::move(d).error();
    return b_.add_term(std::move(d).value());
  }

  result<void> add_alts(int32_t rule, const node_ptr& n) {
    if (n->kind == node::alt) {
      for (const auto& k : n->kids) {
        TERN_TRY(auto seq, sequence(k));
        b_.add_alt(rule, std::move(seq));
      }
      return ok();
    }
    TERN_TRY(auto seq, sequence(n));
    b_.add_alt(rule, std::move(seq));
    return ok();
  }

  result<std::vector<element>> sequence(const node_ptr& n) {
    std::vector<element> out;
    if (auto r = as_rx(n)) {
      TERN_TRY(int32_t t, term(r));
      out.push_back(T(t));
      return out;
    }
    if (n->kind != node::seq) {
      TERN_TRY(int32_t e, element_of(n));
      out.push_back(R(e));
      return out;
    }
    std::vector<rx> pending;
    auto flush = [&]() -> result<void> {
      if (pending.empty()) return ok();
      TERN_TRY(int32_t t, term(rx_seq(pending)));
      out.push_back(T(t));
      pending.clear();
      return ok();
    };
    for (const auto& k : n->kids) {
      if (auto r = as_rx(k)) {
        pending.push_back(r);
        continue;
      }
      TERN_CHECK(flush());
      if (k->kind == node::ref) {
        auto it = ids_.find(k->name);
        if (it == ids_.end()) return fail(errc::parse_error, fmt::format("rule '{}' is not defined", k->name));
        out.push_back(R(it->second));
      } else {
        TERN_TRY(int32_t e, element_of(k));
        out.push_back(R(e));
      }
    }
    TERN_CHECK(flush());
    return out;
  }

  // A fresh rule for a sub-expression that contains rule references.
  result<int32_t> element_of(const node_ptr& n) {
    if (n->kind == node::ref) {
      auto it = ids_.find(n->name);
      if (it == ids_.end()) return fail(errc::parse_error, fmt::format("rule '{}' is not defined", n->name));
      return it->second;
    }
    int32_t r = b_.new_rule(fmt::format("anon{}", b_.n_rules()));
    if (n->kind == node::rep) {
      if (n->max != rx_node::unbounded && n->max > 64)
        return fail(errc::unsupported, "a bounded repetition above 64 of an expression with rule references");
      TERN_TRY(auto body, sequence(n->kids[0]));
      if (n->max == rx_node::unbounded) {
        // r ::= body{min} star ; star ::= body star | ""
        int32_t star = b_.new_rule(fmt::format("anon{}", b_.n_rules()));
        auto loop = body;
        loop.push_back(R(star));
        b_.add_alt(star, loop);
        b_.add_alt(star, {});
        std::vector<element> seq;
        for (uint32_t i = 0; i < n->min; ++i) seq.insert(seq.end(), body.begin(), body.end());
        seq.push_back(R(star));
        b_.add_alt(r, seq);
      } else {
        for (uint32_t k = n->min; k <= n->max; ++k) {
          std::vector<element> seq;
          for (uint32_t i = 0; i < k; ++i) seq.insert(seq.end(), body.begin(), body.end());
          b_.add_alt(r, seq);
        }
      }
      return r;
    }
    TERN_CHECK(add_alts(r, n));
    return r;
  }

  std::vector<std::pair<std::string, node_ptr>> rules_;
  std::map<std::string, int32_t> ids_;
  grammar_builder b_;
};

}  // namespace

result<compiled> compile_gbnf(std::string_view text) {
  gbnf_parser p(text);
  TERN_TRY(auto rules, p.parse());
  if (rules.empty()) return fail(errc::parse_error, "empty grammar");
  return gbnf_compiler(std::move(rules)).run();
}

}  // namespace tern::engine::grammar_detail
