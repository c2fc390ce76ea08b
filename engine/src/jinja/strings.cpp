#include "jinja/strings.hpp"

#include "jinja/value.hpp"

#include <algorithm>

namespace tern::engine::jinja {
namespace {

std::string encode(const std::vector<std::uint32_t>& cps, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) utf8_append(out, cps[i]);
  return out;
}

bool ascii_alpha(std::uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool py_isspace(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
         cp == 0x3000;
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  const bool ascii_input = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii_input && (!chars || std::all_of(chars->begin(), chars->end(),
                                            [](char c) { return static_cast<unsigned char>(c) < 0x80; }))) {
    auto strip_me = [&](char c) {
      return chars ? chars->find(c) != std::string::npos : py_isspace(static_cast<unsigned char>(c));
    };
    std::size_t b = 0, e = s.size();
    if (left)
      while (b < e && strip_me(s[b])) ++b;
    if (right)
      while (e > b && strip_me(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
  }
  const auto cps = utf8_decode(s);
  std::vector<std::uint32_t> set;
  if (chars) set = utf8_decode(*chars);
  auto strip_me = [&](std::uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : py_isspace(c);
  };
  std::size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_me(cps[b])) ++b;
  if (right)
    while (e > b && strip_me(cps[e - 1])) --e;
  return encode(cps, b, e);
}

std::vector<std::string> py_split(std::string_view s, std::string_view sep, std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (!from_right) {
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
      const auto at = s.find(sep, start);
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep.size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  std::size_t end = s.size();
  while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    const auto at = s.rfind(sep, end - sep.size());
    if (at == std::string_view::npos) break;
    parts.emplace_back(s.substr(at + sep.size(), end - at - sep.size()));
    end = at;
  }
  parts.emplace_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> py_split_whitespace(std::string_view s, std::int64_t maxsplit, bool from_right) {
  auto cps = utf8_decode(s);
  if (from_right) std::reverse(cps.begin(), cps.end());
  std::vector<std::string> parts;
  std::size_t i = 0;
  const std::size_t n = cps.size();
  while (true) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i >= n) break;
    if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) >= maxsplit) {
      std::size_t e = n;
      while (e > i && py_isspace(cps[e - 1])) --e;
      std::vector<std::uint32_t> rest(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(e));
      if (from_right) std::reverse(rest.begin(), rest.end());
      parts.push_back(encode(rest, 0, rest.size()));
      break;
    }
    std::size_t j = i;
    while (j < n && !py_isspace(cps[j])) ++j;
    std::vector<std::uint32_t> word(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j));
    if (from_right) std::reverse(word.begin(), word.end());
    parts.push_back(encode(word, 0, word.size()));
    i = j;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string py_replace(std::string_view s, std::string_view from, std::string_view to, std::int64_t count,
                       std::size_t max_bytes) {
  std::string out;
  std::int64_t done = 0;
  if (from.empty()) {
    const auto cps = utf8_decode(s);
    for (std::size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) utf8_append(out, cps[i]);
      if (out.size() > max_bytes) return out;
    }
    return out;
  }
  std::size_t start = 0;
  while (count < 0 || done < count) {
    const auto at = s.find(from, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(to);
    start = at + from.size();
    ++done;
    if (out.size() > max_bytes) return out;
  }
  out.append(s.substr(start));
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s) {
  const auto cps = utf8_decode(s);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const std::uint32_t c = cps[i];
    const bool brk = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e ||
                     c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) continue;
    lines.push_back(encode(cps, start, i));
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < cps.size()) lines.push_back(encode(cps, start, cps.size()));
  return lines;
}

namespace {

// Simple case mapping for the scripts chat content commonly uses: ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic. Other code points map to
// themselves.
std::uint32_t cp_upper(std::uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 0x20;
  if (c == 0xff) return 0x178;
  if (c == 0xb5) return 0x39c;
  if (c == 0x131) return 'I';
  if (c == 0x3ac) return 0x386;
  if (c >= 0x3ad && c <= 0x3af) return c - 0x25;
  if (c == 0x3cc) return 0x38c;
  if (c == 0x3cd || c == 0x3ce) return c - 0x3f;
  if (c == 0x3ca || c == 0x3cb) return c - 0x20;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) return c & ~1u;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c % 2 == 0) ? c - 1 : c;
  if (c == 0x17f) return 'S';
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 0x20;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 0x20;
  if (c >= 0x450 && c <= 0x45f) return c - 0x50;
  return c;
}

std::uint32_t cp_lower(std::uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 0x20;
  if (c == 0x178) return 0xff;
  if (c == 0x386) return 0x3ac;
  if (c >= 0x388 && c <= 0x38a) return c + 0x25;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x38e || c == 0x38f) return c + 0x3f;
  if (c == 0x3aa || c == 0x3ab) return c + 0x20;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) return c | 1u;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c % 2 == 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string r;
  if (is_ascii(s)) {
    r.assign(s);
    for (char& c : r)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return r;
  }
  for (std::uint32_t c : utf8_decode(s)) {
    if (c == 0x130) {  // İ lowercases to i + combining dot above
      r += 'i';
      utf8_append(r, 0x307);
      continue;
    }
    utf8_append(r, cp_lower(c));
  }
  return r;
}

std::string ascii_upper(std::string_view s) {
  std::string r;
  if (is_ascii(s)) {
    r.assign(s);
    for (char& c : r)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return r;
  }
  for (std::uint32_t c : utf8_decode(s)) {
    if (c == 0xdf) {  // ß uppercases to SS
      r += "SS";
      continue;
    }
    utf8_append(r, cp_upper(c));
  }
  return r;
}

std::string py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (std::uint32_t c : utf8_decode(s)) {
    if (ascii_alpha(c)) {
      if (prev_cased) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
      else c = (c >= 'a' && c <= 'z') ? c - 32 : c;
      prev_cased = true;
    } else {
      // Non-ASCII letters count as cased so that "grüße" stays one word.
      prev_cased = c >= 0xc0 && !py_isspace(c);
    }
    utf8_append(out, c);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string r = ascii_lower(s);
  if (!r.empty() && r[0] >= 'a' && r[0] <= 'z') r[0] = static_cast<char>(r[0] - 32);
  return r;
}

bool py_is_class(std::string_view s, std::string_view which) {
  if (s.empty()) return false;
  const auto cps = utf8_decode(s);
  if (which == "isspace") return std::all_of(cps.begin(), cps.end(), py_isspace);
  if (which == "isdigit") return std::all_of(cps.begin(), cps.end(), [](std::uint32_t c) { return c >= '0' && c <= '9'; });
  if (which == "isalpha")
    return std::all_of(cps.begin(), cps.end(), [](std::uint32_t c) { return ascii_alpha(c) || (c >= 0xc0 && !py_isspace(c)); });
  if (which == "isalnum")
    return std::all_of(cps.begin(), cps.end(),
                       [](std::uint32_t c) { return ascii_alpha(c) || (c >= '0' && c <= '9') || (c >= 0xc0 && !py_isspace(c)); });
  const bool lower = which == "islower";
  bool any_cased = false;
  for (std::uint32_t c : cps) {
    if (!ascii_alpha(c)) continue;
    any_cased = true;
    if (lower ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z')) return false;
  }
  return any_cased;
}

}  // namespace tern::engine::jinja
