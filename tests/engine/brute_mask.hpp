// The reference token mask the fast masks are held to: every token tried with
// accept_token and undone.
#pragma once

#include <tern/engine/grammar.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace tern::test {

inline std::vector<uint32_t> brute_mask(engine::grammar_matcher& m, const engine::token_vocabulary& v) {
  std::vector<uint32_t> mask(m.mask_words(), 0);
  for (int32_t t = 0; t < int32_t(v.size()); ++t) {
    if (m.accept_token(t)) {
      mask[size_t(t) >> 5] |= 1u << (t & 31);
      REQUIRE(m.rollback(1));
    }
  }
  return mask;
}

}  // namespace tern::test
