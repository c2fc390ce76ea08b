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

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return r;
}

std::string ascii_upper(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
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
