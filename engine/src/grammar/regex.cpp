// The `pattern` subset of ECMA-262 regular expressions, parsed into rx trees.
// Supported: literals, ., classes [..] and [^..], \d \w \s \D \W \S, escapes
// (\n \t \r \f \v \0 \xHH \uHHHH and escaped punctuation), groups (..), (?:..),
// (?<name>..), alternation, quantifiers * + ? {n} {n,} {n,m} (lazy forms match
// the same language), ^ at the start and $ at the end of a top-level
// alternative. Anything else (backreferences, lookaround, \b, \p{..}) is an
// error that names the construct and its offset.
#include "grammar/dfa.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tern::engine::grammar_detail {
namespace {

constexpr uint32_t max_cp = 0x10FFFF;

std::vector<cp_range> negate(std::vector<cp_range> r) {
  std::sort(r.begin(), r.end(), [](const cp_range& a, const cp_range& b) { return a.lo < b.lo; });
  std::vector<cp_range> out;
  uint32_t next = 0;
  for (const auto& x : r) {
    if (x.hi < next) continue;
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= max_cp) out.push_back({next, max_cp});
  return out;
}

const std::vector<cp_range> digit = {{'0', '9'}};
const std::vector<cp_range> word = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const std::vector<cp_range> space = {{9, 13},         {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680},
                                     {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                                     {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};

class parser {
 public:
  explicit parser(std::string_view p) : p_(p) {}

  result<rx> parse_top() {
    TERN_TRY(rx r, parse_alt(0));
    if (pos_ < p_.size()) return err("unbalanced ')'");
    return r;
  }

 private:
  tern::error err(std::string what) const {
    return tern::error(errc::unsupported, fmt::format("pattern /{}/: {} at offset {}", p_, what, pos_));
  }
  bool eof() const { return pos_ >= p_.size(); }
  char peek() const { return p_[pos_]; }

  result<rx> parse_alt(int depth) {
    std::vector<rx> alts;
    for (;;) {
      TERN_TRY(rx c, parse_concat(depth));
      alts.push_back(std::move(c));
      if (!eof() && peek() == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    return rx_alt(std::move(alts));
  }

  result<rx> parse_concat(int depth) {
    std::vector<rx> parts;
    bool anchored_start = false, anchored_end = false;
    if (!eof() && peek() == '^') {
      if (depth != 0) return err("'^' inside a group");
      anchored_start = true;
      ++pos_;
    }
    while (!eof() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++pos_;
        if (depth != 0 || (!eof() && peek() != '|')) return err("'$' before the end of the pattern");
        anchored_end = true;
        break;
      }
      if (peek() == '^') return err("'^' after the start of the pattern");
      TERN_TRY(rx atom, parse_atom(depth));
      TERN_TRY(rx q, parse_quant(atom));
      parts.push_back(std::move(q));
    }
    if (depth == 0) {
      auto any = rx_repeat(rx_any_char(), 0, rx_node::unbounded);
      if (!anchored_start) parts.insert(parts.begin(), any);
      if (!anchored_end) parts.push_back(any);
    }
    if (parts.empty()) return rx_empty();
    return rx_seq(std::move(parts));
  }

  result<uint32_t> parse_number() {
    size_t start = pos_;
    uint64_t v = 0;
    while (!eof() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + uint64_t(peek() - '0');
      if (v > 100000) return err("repetition count too large");
      ++pos_;
    }
    if (pos_ == start) return err("expected a number");
    return uint32_t(v);
  }

  result<rx> parse_quant(rx atom) {
    for (;;) {
      if (eof()) return atom;
      char c = peek();
      uint32_t mn, mx;
      if (c == '*') {
        mn = 0, mx = rx_node::unbounded, ++pos_;
      } else if (c == '+') {
        mn = 1, mx = rx_node::unbounded, ++pos_;
      } else if (c == '?') {
        mn = 0, mx = 1, ++pos_;
      } else if (c == '{') {
        size_t save = pos_;
        ++pos_;
        if (eof() || !(peek() >= '0' && peek() <= '9')) {
          pos_ = save;
          return atom;  // a literal '{'
        }
        TERN_TRY(mn, parse_number());
        mx = mn;
        if (!eof() && peek() == ',') {
          ++pos_;
          if (!eof() && peek() == '}') {
            mx = rx_node::unbounded;
          } else {
            TERN_TRY(mx, parse_number());
          }
        }
        if (eof() || peek() != '}') return err("malformed {n,m} quantifier");
        ++pos_;
        if (mx < mn) return err("{n,m} with m < n");
      } else {
        return atom;
      }
      if (!eof() && peek() == '?') ++pos_;  // lazy: same language
      else if (!eof() && peek() == '+') return err("possessive quantifier");
      atom = rx_repeat(atom, mn, mx);
      if (!eof() && (peek() == '*' || peek() == '+' || peek() == '?')) return err("nothing to repeat");
      return atom;
    }
  }

  // Decodes one UTF-8 character at pos_ (the pattern is valid UTF-8 JSON text).
  uint32_t take_char() {
    auto b = uint8_t(p_[pos_++]);
    if (b < 0x80) return b;
    int n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
    uint32_t c = b & (0x3F >> n);
    for (int i = 0; i < n && !eof(); ++i) c = (c << 6) | (uint8_t(p_[pos_++]) & 0x3F);
    return c;
  }

  result<uint32_t> parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      if (eof()) return err("truncated hex escape");
      char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return err("bad hex escape");
      v = v * 16 + uint32_t(d);
      ++pos_;
    }
    return v;
  }

  // An escape after '\'; returns its class. in_class: \b is backspace there.
  result<std::vector<cp_range>> parse_escape(bool in_class) {
    if (eof()) return err("trailing backslash");
    char c = peek();
    ++pos_;
    switch (c) {
      case 'd': return digit;
      case 'D': return negate(digit);
      case 'w': return word;
      case 'W': return negate(word);
      case 's': return space;
      case 'S': return negate(space);
      case 'n': return std::vector<cp_range>{{10, 10}};
      case 't': return std::vector<cp_range>{{9, 9}};
      case 'r': return std::vector<cp_range>{{13, 13}};
      case 'f': return std::vector<cp_range>{{12, 12}};
      case 'v': return std::vector<cp_range>{{11, 11}};
      case '0': return std::vector<cp_range>{{0, 0}};
      case 'x': {
        TERN_TRY(uint32_t v, parse_hex(2));
        return std::vector<cp_range>{{v, v}};
      }
      case 'u': {
        TERN_TRY(uint32_t v, parse_hex(4));
        return std::vector<cp_range>{{v, v}};
      }
      case 'b':
        if (in_class) return std::vector<cp_range>{{8, 8}};
        --pos_;
        return err("word boundary \\b");
      default: break;
    }
    if ((c >= '1' && c <= '9')) {
      --pos_;
      return err("backreference");
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      --pos_;
      return err(fmt::format("escape \\{}", c));
    }
    --pos_;
    uint32_t ch = take_char();
    return std::vector<cp_range>{{ch, ch}};
  }

  result<std::vector<cp_range>> parse_class() {
    bool neg = false;
    if (!eof() && peek() == '^') {
      neg = true;
      ++pos_;
    }
    std::vector<cp_range> set;
    bool first = true;
    while (!eof() && (peek() != ']' || first)) {
      first = false;
      std::vector<cp_range> lo_set;
      bool single = true;
      uint32_t lo = 0;
      if (peek() == '[' && pos_ + 1 < p_.size() && (p_[pos_ + 1] == ':' || p_[pos_ + 1] == '=')) {
        return err("POSIX class inside [..]");
      }
      if (peek() == '\\') {
        ++pos_;
        TERN_TRY(lo_set, parse_escape(true));
        single = lo_set.size() == 1 && lo_set[0].lo == lo_set[0].hi;
        lo = lo_set[0].lo;
      } else {
        lo = take_char();
        lo_set = {{lo, lo}};
      }
      if (single && pos_ + 1 < p_.size() && peek() == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        uint32_t hi;
        if (peek() == '\\') {
          ++pos_;
          TERN_TRY(auto hs, parse_escape(true));
          if (hs.size() != 1 || hs[0].lo != hs[0].hi) return err("class range ending in a class");
          hi = hs[0].lo;
        } else {
          hi = take_char();
        }
        if (hi < lo) return err("class range out of order");
        set.push_back({lo, hi});
      } else {
        set.insert(set.end(), lo_set.begin(), lo_set.end());
      }
    }
    if (eof()) return err("unterminated [..]");
    ++pos_;
    return neg ? negate(set) : set;
  }

  result<rx> parse_atom(int depth) {
    char c = peek();
    if (c == '(') {
      ++pos_;
      if (!eof() && peek() == '?') {
        ++pos_;
        if (!eof() && peek() == ':') {
          ++pos_;
        } else if (!eof() && (peek() == '<' || peek() == 'P') &&
                   !(pos_ + 1 < p_.size() && (p_[pos_ + 1] == '=' || p_[pos_ + 1] == '!'))) {
          while (!eof() && peek() != '>') ++pos_;
          if (eof()) return err("unterminated group name");
          ++pos_;
        } else {
          return err("lookaround or group flag (?");
        }
      }
      TERN_TRY(rx inner, parse_alt(depth + 1));
      if (eof() || peek() != ')') return err("missing ')'");
      ++pos_;
      return inner;
    }
    if (c == '[') {
      ++pos_;
      TERN_TRY(auto set, parse_class());
      return rx_class(std::move(set));
    }
    if (c == '.') {
      ++pos_;
      return rx_class(negate({{10, 10}, {13, 13}, {0x2028, 0x2029}}));
    }
    if (c == '\\') {
      ++pos_;
      TERN_TRY(auto set, parse_escape(false));
      return rx_class(std::move(set));
    }
    if (c == '*' || c == '+' || c == '?') return err(fmt::format("nothing to repeat before '{}'", c));
    uint32_t ch = take_char();
    return rx_class({{ch, ch}});
  }

  std::string_view p_;
  size_t pos_ = 0;
};

}  // namespace

result<rx> parse_regex(std::string_view pattern) { return parser(pattern).parse_top(); }

}  // namespace tern::engine::grammar_detail
