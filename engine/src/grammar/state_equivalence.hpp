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

#include <cstdint>
#include <vector>

namespace tern::engine::grammar_detail {

// A hash of what state s does on a few probe strings (every single byte, and
// runs of a few common characters, up to `depth` bytes). States equivalent up
// to `depth` bytes get equal signatures; unequal states usually differ.
uint64_t behaviour_signature(const dfa& d, int32_t s, uint32_t depth);

// Whether states p of a and q of b agree (dead, live, accepting) after every
// byte string of up to `depth` bytes: a breadth-first search over the state
// pairs both reach, the pairs found at depth d continuing to d + 1. Gives up
// (false, which is always safe) after `max_pairs` distinct pairs.
// `scratch` is reused between calls to spare allocations.
struct pair_search_scratch {
  std::vector<uint64_t> seen;  // open-addressing set of (a, b) pairs
  std::vector<std::pair<int32_t, int32_t>> layer, next;
  std::vector<uint8_t> reps;  // one byte per product class of the two machines
};
bool equivalent_up_to(const dfa& a, int32_t p, const dfa& b, int32_t q, uint32_t depth, size_t max_pairs,
                      pair_search_scratch& scratch);

}  // namespace tern::engine::grammar_detail
