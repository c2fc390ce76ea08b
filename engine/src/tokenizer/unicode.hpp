// Code point classes and UTF-8 helpers for the tokenizers (internal).
//
// The classes are the Unicode general categories the pre-tokenizer split rules
// name (\p{L}, \p{N}, \p{P}, ...) plus the White_Space property (\s), looked up
// in the generated tables of unicode_tables.cpp (see
// scripts/gen_unicode_tables.py for the Unicode version).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine::detail {

struct cp_range {
  std::uint32_t lo;
  std::uint32_t hi;  // inclusive
  std::uint8_t cls;  // a cp_class
};

// General category, first letter only; `other` for C* and Z* (and unassigned).
enum cp_class : std::uint8_t { cls_other = 0, cls_letter = 1, cls_number = 2, cls_punct = 3, cls_mark = 4, cls_symbol = 5 };

extern const char* const unicode_version;
extern const cp_range cp_class_ranges[];
extern const std::size_t n_cp_class_ranges;
extern const cp_range white_space_ranges[];
extern const std::size_t n_white_space_ranges;

// Flags of one code point, as the split matchers test them.
enum cp_flag : std::uint8_t {
  f_letter = 1,   // \p{L}
  f_number = 2,   // \p{N}
  f_punct = 4,    // \p{P}
  f_space = 8,    // \s (White_Space)
  f_symbol = 16,  // \p{S}
};

cp_class class_of(std::uint32_t cp) noexcept;
bool is_white_space(std::uint32_t cp) noexcept;
std::uint8_t flags_of(std::uint32_t cp) noexcept;

// Length of a UTF-8 sequence from its first byte, by its high nibble, the way
// llama.cpp counts it (a stray continuation byte counts as 1); callers clip it
// to the bytes that remain.
inline std::size_t utf8_len(unsigned char lead) noexcept {
  static constexpr std::uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lens[lead >> 4];
}

// Decodes `text` into code points. A byte that does not start a well-formed
// sequence (by lead byte and continuation bytes, as llama.cpp checks it)
// becomes U+FFFD and decoding resumes at the next byte, so any input is safe.
void decode_utf8(std::string_view text, std::vector<std::uint32_t>& out);

void append_utf8(std::string& out, std::uint32_t cp);

// Length of the longest prefix of `bytes` that is complete, valid UTF-8 (strict:
// no overlong forms, surrogates or code points past U+10FFFF).
// `*incomplete_tail` (if given) is set to true when the bytes after that prefix
// are a valid but unfinished sequence that more bytes could complete.
std::size_t valid_utf8_prefix(std::string_view bytes, bool* incomplete_tail = nullptr) noexcept;

}  // namespace tern::engine::detail
