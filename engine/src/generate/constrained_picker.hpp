// Choosing the next token of a constrained answer. The mask is the expensive
// part, so it is computed only when needed: the sampler first proposes a token
// from the unmasked logits and the matcher checks it (a few byte steps); only
// on rejection is the full mask computed and the token drawn from the allowed
// set. This is exact, not an approximation:
//  - greedy: the unmasked argmax, when allowed, is the masked argmax (ties go to
//    the lowest id either way);
//  - plain temperature sampling: P(t) = p(t) + (1 - A) p(t) / A = p(t) / A for an
//    allowed t (A: the allowed mass), which is the renormalised distribution.
// With top-k, top-p or min-p the cut depends on the set, so the mask comes first.
// A mask with one allowed token is taken without sampling (forced).
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/grammar.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace tern::engine {

class constrained_picker {
 public:
  // budget: tokens the document may take (the generation's remaining budget).
  static result<constrained_picker> create(std::shared_ptr<const constraint> c, const tokenizer& tok,
                                           std::int64_t budget);

  // Chooses and accepts the next token. Errors: internal, when no token is
  // allowed (a vocabulary that does not belong to the model).
  result<token_id> pick(sampler& smp, std::span<const float> logits, std::span<const std::int32_t> history,
                        generate_stats& stats);
  bool ended() const noexcept { return ended_; }  // the last pick was EOS (not part of the text)
  bool finished() const { return m_.is_finished(); }
  bool complete() const { return m_.is_complete(); }

 private:
  constrained_picker(grammar_matcher m, const tokenizer& tok);
  result<token_id> take(token_id t);

  grammar_matcher m_;
  const tokenizer* tok_;
  std::vector<std::uint32_t> mask_;
  std::vector<std::uint64_t> mask64_;  // the sampler's layout
  bool ended_ = false;
};

// Fewest tokens a document of the constraint needs (counting one per byte, as
// the matcher's budget does), or limit + 1 when it needs more than limit.
// Errors: invalid_argument when the constraint's vocabulary is not the
// tokenizer's (different size).
result<std::int64_t> shortest_answer(const std::shared_ptr<const constraint>& c, const tokenizer& tok,
                                     std::int64_t limit);

}  // namespace tern::engine
