#include "unicode.hpp"

#include <algorithm>
#include <array>

namespace tern::engine::detail {

namespace {

const cp_range* find_range(const cp_range* begin, std::size_t n, std::uint32_t cp) noexcept {
  const cp_range* end = begin + n;
  const cp_range* it = std::upper_bound(begin, end, cp, [](std::uint32_t c, const cp_range& r) { return c < r.lo; });
  if (it == begin) return nullptr;
  --it;
  return cp <= it->hi ? it : nullptr;
}

std::uint8_t compute_flags(std::uint32_t cp) noexcept {
  std::uint8_t f = 0;
  switch (class_of(cp)) {
    case cls_letter: f |= f_letter; break;
    case cls_number: f |= f_number; break;
    case cls_punct: f |= f_punct; break;
    case cls_symbol: f |= f_symbol; break;
    default: break;
  }
  if (is_white_space(cp)) f |= f_space;
  return f;
}

// Most text is ASCII: its flags come from a table built once.
const std::array<std::uint8_t, 128>& ascii_flags() {
  static const std::array<std::uint8_t, 128> table = [] {
    std::array<std::uint8_t, 128> t{};
    for (std::uint32_t c = 0; c < 128; ++c) t[c] = compute_flags(c);
    return t;
  }();
  return table;
}

}  // namespace

cp_class class_of(std::uint32_t cp) noexcept {
  const cp_range* r = find_range(cp_class_ranges, n_cp_class_ranges, cp);
  return r ? static_cast<cp_class>(r->cls) : cls_other;
}

bool is_white_space(std::uint32_t cp) noexcept {
  return find_range(white_space_ranges, n_white_space_ranges, cp) != nullptr;
}

std::uint8_t flags_of(std::uint32_t cp) noexcept {
  if (cp < 128) return ascii_flags()[cp];
  return compute_flags(cp);
}

void decode_utf8(std::string_view text, std::vector<std::uint32_t>& out) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  out.reserve(out.size() + n);
  std::size_t i = 0;
  auto cont = [&](std::size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if ((b & 0xE0) == 0xC0 && cont(1)) {
      out.push_back(((b & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu));
      i += 2;
    } else if ((b & 0xF0) == 0xE0 && cont(1) && cont(2)) {
      out.push_back(((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu));
      i += 3;
    } else if ((b & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
      out.push_back(((b & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
                    (s[i + 3] & 0x3Fu));
      i += 4;
    } else {
      out.push_back(0xFFFD);
      i += 1;
    }
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t valid_utf8_prefix(std::string_view bytes, bool* incomplete_tail) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  if (incomplete_tail) *incomplete_tail = false;
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (RFC 3629, section 4)
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;  // not a lead byte
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= n) {
        if (incomplete_tail) *incomplete_tail = true;
        return i;
      }
      const unsigned char c = s[i + k];
      const bool ok = k == 1 ? (c >= lo && c <= hi) : (c & 0xC0) == 0x80;
      if (!ok) return i;
    }
    i += len;
  }
  return i;
}

}  // namespace tern::engine::detail
