// Pre-tokenizers of byte-level BPE vocabularies (internal): each family's
// split regex, hand-written as a matcher over code points.
#pragma once

#include <tern/engine/vocab.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::engine::detail {

struct cp_span {
  std::size_t begin;
  std::size_t end;
};

// Splits cps[0, n) into words (spans of code point indices, in order, covering
// all of it) the way `pre`'s regex sequence does, with the semantics of a
// backtracking regex engine (first alternative that matches, greedy) as
// llama.cpp applies them: each regex of the sequence splits every piece left by
// the previous one, and text between matches is kept as a piece of its own.
// `flags` holds flags_of() of each code point.
void pretokenize(pre_tokenizer pre, const std::uint32_t* cps, const std::uint8_t* flags, std::size_t n,
                 std::vector<cp_span>& out);

}  // namespace tern::engine::detail
