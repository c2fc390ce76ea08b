#include "jinja/lexer.hpp"

#include "jinja/value.hpp"

#include <cerrno>
#include <cstdlib>

#include <algorithm>

#include <fmt/format.h>

namespace tern::engine::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class lexer {
 public:
  lexer(std::string_view source, const lex_options& opts) : opts_(opts) {
    // Jinja2 treats \r\n and \r as \n, and drops one trailing newline.
    src_.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<token> run() {
    std::size_t pos = 0;
    bool line_starting = true;
    const std::size_t n = src_.size();
    while (pos < n) {
      std::size_t i = pos;
      while (true) {
        i = src_.find('{', i);
        if (i == std::string::npos || i + 1 >= n) {
          i = std::string::npos;
          break;
        }
        const char k = src_[i + 1];
        if (k == '{' || k == '%' || k == '#') break;
        ++i;
      }
      if (i == std::string::npos) {
        push_text(pos, src_.substr(pos));
        break;
      }
      const char kind = src_[i + 1];
      const char sign = (i + 2 < n && (src_[i + 2] == '-' || src_[i + 2] == '+')) ? src_[i + 2] : 0;
      std::string text = src_.substr(pos, i - pos);
      if (sign == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (sign != '+' && opts_.lstrip_blocks && kind != '{') {
        const auto nl = text.rfind('\n');
        const std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if ((l_pos > 0 || line_starting) && text.size() > l_pos &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), is_ws))
          text.resize(l_pos);
      }
      push_text(pos, std::move(text));
      const std::size_t tag_start = i;
      pos = i + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = comment(tag_start, pos, line_starting);
      } else if (kind == '%' && raw_begin(pos)) {
        pos = raw(tag_start, raw_begin(pos), line_starting);
      } else {
        pos = tag(kind == '{', tag_start, pos, line_starting);
      }
    }
    token end;
    end.type = tok::eof;
    end.pos = at(n);
    out_.push_back(std::move(end));
    return std::move(out_);
  }

 private:
  source_pos at(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const auto line = static_cast<std::size_t>(it - line_starts_.begin());
    return {static_cast<std::uint32_t>(line), static_cast<std::uint32_t>(offset - line_starts_[line - 1] + 1)};
  }

  void push_text(std::size_t offset, std::string text) {
    if (text.empty()) return;
    token t;
    t.type = tok::text;
    t.text = std::move(text);
    t.pos = at(offset);
    out_.push_back(std::move(t));
  }

  void push(tok type, std::size_t offset, std::string text = {}) {
    token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = at(offset);
    out_.push_back(std::move(t));
  }

  std::size_t skip_ws(std::size_t p) const {
    while (p < src_.size() && is_ws(src_[p])) ++p;
    return p;
  }

  // Length of an end-of-tag match at p: "+%}", "-%}\s*" or "%}\n?" (with
  // trim_blocks) for blocks; "-}}\s*" or "}}" for expressions. 0 if none.
  std::size_t block_end_at(std::size_t p, char close) const {
    const std::string_view end = close == '%' ? "%}" : "}}";
    if (p >= src_.size()) return 0;
    if ((src_[p] == '+' || src_[p] == '-') && src_.compare(p + 1, 2, end) == 0) {
      if (src_[p] == '+') return close == '%' ? 3 : 0;
      return skip_ws(p + 3) - p;
    }
    if (src_.compare(p, 2, end) == 0) {
      std::size_t len = 2;
      if (close == '%' && opts_.trim_blocks && p + 2 < src_.size() && src_[p + 2] == '\n') ++len;
      return len;
    }
    return 0;
  }

  std::size_t comment(std::size_t tag_start, std::size_t p, bool& line_starting) {
    const auto j = src_.find("#}", p);
    if (j == std::string::npos) throw_parse(at(tag_start), "missing end of comment tag '#}'");
    std::size_t end;
    if (j > p && src_[j - 1] == '-') end = skip_ws(j + 2);
    else if (j > p && src_[j - 1] == '+') end = j + 2;
    else end = j + 2 + (opts_.trim_blocks && j + 2 < src_.size() && src_[j + 2] == '\n' ? 1 : 0);
    line_starting = src_[end - 1] == '\n';
    return end;
  }

  // If a "raw" tag starts at p (just after "{%" and its sign), the offset
  // just past its "%}", else 0.
  std::size_t raw_begin(std::size_t p) const {
    std::size_t q = skip_ws(p);
    if (src_.compare(q, 3, "raw") != 0 || (q + 3 < src_.size() && is_name_char(src_[q + 3]))) return 0;
    q = skip_ws(q + 3);
    if (src_.compare(q, 3, "-%}") == 0) return skip_ws(q + 3);
    if (src_.compare(q, 2, "%}") == 0) return q + 2;
    return 0;
  }

  std::size_t raw(std::size_t tag_start, std::size_t body, bool& line_starting) {
    for (std::size_t i = src_.find("{%", body); i != std::string::npos; i = src_.find("{%", i + 1)) {
      std::size_t q = i + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      q = skip_ws(q);
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q = skip_ws(q + 6);
      const std::size_t len = block_end_at(q, '%');
      if (!len) continue;
      std::string text = src_.substr(body, i - body);
      if (sign == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (sign != '+' && opts_.lstrip_blocks) {
        const auto nl = text.rfind('\n');
        if (nl != std::string::npos && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(nl + 1), text.end(), is_ws))
          text.resize(nl + 1);
      }
      push_text(body, std::move(text));
      line_starting = src_[q + len - 1] == '\n';
      return q + len;
    }
    throw_parse(at(tag_start), "missing end of raw directive '{% endraw %}'");
  }

  std::size_t tag(bool is_var, std::size_t tag_start, std::size_t p, bool& line_starting) {
    push(is_var ? tok::var_begin : tok::block_begin, tag_start);
    std::vector<char> balance;
    const std::size_t n = src_.size();
    while (true) {
      p = skip_ws(p);
      if (p >= n)
        throw_parse(at(tag_start), is_var ? "unexpected end of template: '{{' is never closed by '}}'"
                                          : "unexpected end of template: '{%' is never closed by '%}'");
      if (balance.empty()) {
        const std::size_t len = block_end_at(p, is_var ? '}' : '%');
        if (len) {
          push(is_var ? tok::var_end : tok::block_end, p);
          line_starting = src_[p + len - 1] == '\n';
          return p + len;
        }
      }
      const char c = src_[p];
      if (is_digit(c)) {
        p = number(p);
      } else if (is_name_start(c)) {
        std::size_t q = p;
        while (q < n && is_name_char(src_[q])) ++q;
        push(tok::name, p, src_.substr(p, q - p));
        p = q;
      } else if (c == '\'' || c == '"') {
        p = string(p);
      } else {
        static constexpr std::string_view two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::size_t len = 0;
        for (auto op : two)
          if (src_.compare(p, 2, op) == 0) len = 2;
        if (!len && std::string_view("+-/*%~<>=()[]{},.:|;").find(c) != std::string_view::npos) len = 1;
        if (!len) throw_parse(at(p), fmt::format("unexpected character '{}' in tag", c));
        if (c == '(' || c == '[' || c == '{') {
          balance.push_back(c == '(' ? ')' : (c == '[' ? ']' : '}'));
        } else if (len == 1 && (c == ')' || c == ']' || c == '}')) {
          if (balance.empty()) throw_parse(at(p), fmt::format("unexpected '{}'", c));
          if (balance.back() != c) throw_parse(at(p), fmt::format("unexpected '{}', expected '{}'", c, balance.back()));
          balance.pop_back();
        }
        push(tok::op, p, src_.substr(p, len));
        p += len;
      }
    }
  }

  std::size_t digits(std::size_t p) const {
    while (p < src_.size() && (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]))))
      ++p;
    return p;
  }

  std::size_t number(std::size_t p) {
    std::size_t q = digits(p);
    bool is_float = false;
    if (q + 1 < src_.size() && src_[q] == '.' && is_digit(src_[q + 1])) {
      q = digits(q + 1);
      is_float = true;
    }
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      std::size_t e = q + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && is_digit(src_[e])) {
        q = digits(e);
        is_float = true;
      }
    }
    std::string text;
    for (std::size_t i = p; i < q; ++i)
      if (src_[i] != '_') text += src_[i];
    token t;
    t.pos = at(p);
    t.text = text;
    if (is_float) {
      t.type = tok::floating;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.type = tok::integer;
      errno = 0;
      const long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) throw_parse(t.pos, "integer literal out of range");
      t.int_value = v;
    }
    out_.push_back(std::move(t));
    return q;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A quoted string with Python's escapes (Jinja2 decodes "unicode-escape").
  std::size_t string(std::size_t p) {
    const char quote = src_[p];
    std::string value;
    std::size_t q = p + 1;
    const std::size_t n = src_.size();
    while (true) {
      if (q >= n) throw_parse(at(p), "unterminated string literal");
      const char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++q;
        continue;
      }
      if (q + 1 >= n) throw_parse(at(p), "unterminated string literal");
      const char e = src_[q + 1];
      q += 2;
      switch (e) {
        case '\n': break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int width = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          std::uint32_t cp = 0;
          for (int k = 0; k < width; ++k) {
            const int h = q < n ? hex_value(src_[q]) : -1;
            if (h < 0) throw_parse(at(q), fmt::format("truncated \\{} escape in string literal", e));
            cp = cp * 16 + static_cast<std::uint32_t>(h);
            ++q;
          }
          if (cp > 0x10ffff) throw_parse(at(q), "escape beyond U+10FFFF in string literal");
          utf8_append(value, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t cp = static_cast<std::uint32_t>(e - '0');
            for (int k = 0; k < 2 && q < n && src_[q] >= '0' && src_[q] <= '7'; ++k, ++q)
              cp = cp * 8 + static_cast<std::uint32_t>(src_[q] - '0');
            utf8_append(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    push(tok::string, p, std::move(value));
    return q + 1;
  }

  lex_options opts_;
  std::string src_;
  std::vector<std::size_t> line_starts_;
  std::vector<token> out_;
};

}  // namespace

std::vector<token> lex(std::string_view source, const lex_options& opts) { return lexer(source, opts).run(); }

}  // namespace tern::engine::jinja
