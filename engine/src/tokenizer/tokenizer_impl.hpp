// Internals shared by the tokenizer's source files.
#pragma once

#include <tern/engine/tokenizer.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::engine::detail {

// Token texts packed in one buffer, with an open-addressing index from text to
// id (built once per model: 151936 Qwen tokens load in a few ms).
class text_table {
 public:
  void build(const std::vector<std::string>& texts);
  std::string_view text(token_id id) const noexcept {
    return {data_.data() + offsets_[static_cast<std::size_t>(id)],
            offsets_[static_cast<std::size_t>(id) + 1] - offsets_[static_cast<std::size_t>(id)]};
  }
  token_id find(std::string_view s) const noexcept;
  // The id inserted before for an equal text (the duplicate check), else no_token.
  token_id first_duplicate() const noexcept { return duplicate_; }
  token_id duplicate_of() const noexcept { return duplicate_of_; }

 private:
  std::vector<char> data_;
  std::vector<std::size_t> offsets_;  // n + 1
  std::vector<token_id> slots_;       // power of two; no_token = empty
  token_id duplicate_ = no_token;
  token_id duplicate_of_ = no_token;
};

// BPE merge ranks keyed by the pair of token ids, with the id of the merged
// text (no_token when the merged text is not itself a token).
class merge_table {
 public:
  struct entry {
    std::int32_t rank;
    token_id result;
  };
  void reserve(std::size_t n);
  // Keeps the first (lowest) rank of a pair given twice, as llama.cpp does.
  void insert(token_id left, token_id right, entry e);
  const entry* find(token_id left, token_id right) const noexcept;

 private:
  static std::uint64_t key(token_id l, token_id r) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(l)) << 32) | static_cast<std::uint32_t>(r);
  }
  std::size_t slot(std::uint64_t k) const noexcept {
    return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::vector<std::uint64_t> keys_;  // ~0 = empty
  std::vector<entry> values_;
  std::size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace tern::engine::detail

namespace tern::engine {

struct tokenizer::impl {
  vocab v;
  std::vector<token_type> types;  // one per token, after overrides
  detail::text_table texts;

  // Pieces (token_to_piece with special = true), packed.
  std::vector<char> piece_data;
  std::vector<std::size_t> piece_offsets;

  // Tokens split out of text before tokenizing: control, user-defined and
  // unknown tokens, longest text first (ties by id).
  std::vector<token_id> special_tokens;
  std::vector<token_id> eog;  // sorted

  // BPE: the token of each byte's GPT-2 symbol (no_token if the vocabulary lacks
  // it); merges between tokens; merges naming a text that is not a token.
  token_id byte_symbol_token[256];
  std::string byte_symbol_utf8[256];
  detail::merge_table merges;
  std::map<std::pair<std::string, std::string>, std::int32_t> odd_merges;

  // SPM: the <0xXX> (or single byte) token of each byte.
  token_id byte_fallback_token[256];

  std::string_view piece(token_id id) const noexcept {
    const auto i = static_cast<std::size_t>(id);
    return {piece_data.data() + piece_offsets[i], piece_offsets[i + 1] - piece_offsets[i]};
  }

  void encode_bpe(std::string_view text, std::vector<token_id>& out) const;
  void encode_spm(std::string_view text, std::vector<token_id>& out) const;
};

namespace detail {
// GPT-2's bytes_to_unicode: the code point that stands for each byte in
// byte-level BPE token texts.
std::uint32_t byte_to_symbol(std::uint8_t b) noexcept;
// The reverse; -1 for a code point that stands for no byte.
int symbol_to_byte(std::uint32_t cp) noexcept;
}  // namespace detail

}  // namespace tern::engine
