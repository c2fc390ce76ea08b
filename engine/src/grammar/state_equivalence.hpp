// Reusing a lexer entry for another DFA state that behaves the same on every
// token. An entry (the tokens a state consumes whole, and the suffixes after
// each accepting point) depends only on whether the state is dead, live or
// accepting after each prefix of each token. Two states, of one DFA or of two,
// that agree on that for every byte string of up to L bytes (L = the longest
// token) have equal entries. A length-counting string with more than L
// characters left is such a state, equal to a free string's body, whatever its
// limit; so are the far states of long counting patterns.
#pragma once

#include "grammar/dfa.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tern::engine::grammar_detail {

// A hash of what state s does on a few probe strings (every single byte, and
// runs of a few common characters, up to `depth` bytes). States equivalent up
// to `depth` bytes get equal signatures; unequal states usually differ.
uint64_t behaviour_signature(const dfa& d, int32_t s, uint32_t depth);

using byte_set = std::array<uint64_t, 4>;  // 256 bits, one per byte value

// Whether states p of a and q of b agree (dead, live, accepting) after every
// byte string of up to `depth` bytes whose d-th byte is in bytes_at[d - 1]
// (every byte when bytes_at is empty): a breadth-first search over the state
// pairs both reach, the pairs found at depth d continuing to d + 1. With
// bytes_at the bytes found at each depth of the vocabulary trie, every prefix
// of every token is such a string, so agreeing states have equal entries.
// Gives up (false, which is always safe) after `max_pairs` distinct pairs.
// `scratch` is reused between calls to spare allocations.
struct pair_search_scratch {
  std::vector<uint64_t> seen;  // open-addressing set of (a, b) pairs
  std::vector<std::pair<int32_t, int32_t>> layer, next;
  std::vector<byte_set> groups;  // bytes alike in both machines
  std::vector<int32_t> group_of;  // [class in a * classes of b + class in b] -> group
  std::vector<uint8_t> reps;     // one byte per group, for the current depth
};
bool equivalent_up_to(const dfa& a, int32_t p, const dfa& b, int32_t q, uint32_t depth, size_t max_pairs,
                      pair_search_scratch& scratch, std::span<const byte_set> bytes_at = {});

}  // namespace tern::engine::grammar_detail
