// GGUF metadata value types and the one-line text form of a value (used by
// `tern inspect`).
#include "gguf_internal.hpp"

#include <fmt/format.h>

namespace tern::engine {

using gguf_detail::load;

std::string to_string(gguf_type type) {
  switch (type) {
    case gguf_type::u8: return "u8";
    case gguf_type::i8: return "i8";
    case gguf_type::u16: return "u16";
    case gguf_type::i16: return "i16";
    case gguf_type::u32: return "u32";
    case gguf_type::i32: return "i32";
    case gguf_type::f32: return "f32";
    case gguf_type::boolean: return "bool";
    case gguf_type::string: return "string";
    case gguf_type::array: return "array";
    case gguf_type::u64: return "u64";
    case gguf_type::i64: return "i64";
    case gguf_type::f64: return "f64";
  }
  return fmt::format("type {}", static_cast<std::uint32_t>(type));
}

std::size_t gguf_scalar_size(gguf_type type) noexcept {
  switch (type) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean: return 1;
    case gguf_type::u16:
    case gguf_type::i16: return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32: return 4;
    case gguf_type::u64:
    case gguf_type::i64:
    case gguf_type::f64: return 8;
    case gguf_type::string:
    case gguf_type::array: return 0;
  }
  return 0;
}

bool gguf_is_integer(gguf_type type) noexcept {
  switch (type) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::u16:
    case gguf_type::i16:
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::u64:
    case gguf_type::i64: return true;
    default: return false;
  }
}

namespace {

constexpr std::size_t k_max_shown_chars = 96;

// A quoted, escaped, possibly shortened string that stays on one line.
std::string quote(std::string_view s) {
  std::string out = "\"";
  const std::size_t shown = std::min(s.size(), k_max_shown_chars);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
  if (shown < s.size()) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

std::string scalar_text(gguf_type type, const std::uint8_t* p) {
  switch (type) {
    case gguf_type::u8: return fmt::format("{}", load<std::uint8_t>(p));
    case gguf_type::i8: return fmt::format("{}", load<std::int8_t>(p));
    case gguf_type::u16: return fmt::format("{}", load<std::uint16_t>(p));
    case gguf_type::i16: return fmt::format("{}", load<std::int16_t>(p));
    case gguf_type::u32: return fmt::format("{}", load<std::uint32_t>(p));
    case gguf_type::i32: return fmt::format("{}", load<std::int32_t>(p));
    case gguf_type::u64: return fmt::format("{}", load<std::uint64_t>(p));
    case gguf_type::i64: return fmt::format("{}", load<std::int64_t>(p));
    case gguf_type::f32: return fmt::format("{}", load<float>(p));
    case gguf_type::f64: return fmt::format("{}", load<double>(p));
    case gguf_type::boolean: return *p ? "true" : "false";
    default: return "?";
  }
}

}  // namespace

std::string gguf_file::format_value(const gguf_kv& kv, std::size_t max_items) const {
  if (kv.type == gguf_type::string)
    return quote(std::string_view(reinterpret_cast<const char*>(kv.raw.data() + 8), kv.raw.size() - 8));
  if (kv.type != gguf_type::array) return scalar_text(kv.type, kv.raw.data());
  std::string out = "[";
  const std::uint64_t shown = std::min<std::uint64_t>(kv.array_size, max_items);
  const std::size_t size = gguf_scalar_size(kv.array_type);
  for (std::uint64_t i = 0; i < shown; ++i) {
    if (i) out += ", ";
    if (kv.array_type == gguf_type::string)
      out += quote(string_pool_[kv.strings_begin + static_cast<std::size_t>(i)]);
    else
      out += scalar_text(kv.array_type, kv.raw.data() + 12 + i * size);
  }
  if (shown < kv.array_size) out += shown ? ", ..." : "...";
  out += "]";
  if (shown < kv.array_size) out += fmt::format(" ({} items)", kv.array_size);
  return out;
}

}  // namespace tern::engine
