#include "generate/constrained_picker.hpp"

#include <fmt/format.h>

#include <bit>

namespace tern::engine {

constrained_picker::constrained_picker(grammar_matcher m, const tokenizer& tok) : m_(std::move(m)), tok_(&tok) {
  mask_.resize(m_.mask_words());
  mask64_.resize((mask_.size() + 1) / 2);
}

result<constrained_picker> constrained_picker::create(std::shared_ptr<const constraint> c, const tokenizer& tok,
                                                      std::int64_t budget) {
  TERN_TRY(auto m, grammar_matcher::create(std::move(c), {.max_tokens = budget}));
  return constrained_picker(std::move(m), tok);
}

result<token_id> constrained_picker::take(token_id t) {
  if (auto r = m_.accept_token(t); !r)
    return fail(errc::internal, fmt::format("constrained generation: the matcher refused token {} it allowed: {}", t,
                                            r.error().describe()));
  ended_ = tok_->is_eog(t) && m_.is_finished();
  return t;
}

result<token_id> constrained_picker::pick(sampler& smp, std::span<const float> logits,
                                          std::span<const std::int32_t> history, generate_stats& stats) {
  ended_ = false;
  const auto& sp = smp.params();
  const bool proposal_exact = sp.temperature <= 0.0f || (sp.top_k <= 0 && sp.top_p >= 1.0f && sp.min_p <= 0.0f);
  if (proposal_exact) {
    const token_id t = smp.sample(logits, history);
    if (t >= 0 && m_.can_accept(t)) return take(t);
  }
  m_.fill_mask(mask_);
  ++stats.n_masks;
  std::size_t n_allowed = 0;
  token_id only = no_token;
  std::fill(mask64_.begin(), mask64_.end(), 0);
  for (std::size_t w = 0; w < mask_.size(); ++w) {
    const std::uint32_t x = mask_[w];
    if (!x) continue;
    n_allowed += static_cast<std::size_t>(std::popcount(x));
    only = static_cast<token_id>(w * 32 + static_cast<std::size_t>(std::countr_zero(x)));
    mask64_[w / 2] |= static_cast<std::uint64_t>(x) << (32 * (w % 2));
  }
  if (n_allowed == 0)
    return fail(errc::internal, "constrained generation: the grammar allows no token here (a bug, or a constraint "
                                "built for another vocabulary)");
  if (n_allowed == 1) {
    ++stats.n_forced;
    return take(only);
  }
  const token_id t = smp.sample(logits, history, mask64_);
  if (t < 0)
    return fail(errc::internal, fmt::format("constrained generation: none of the {} allowed tokens is in the model's "
                                            "{} logits", n_allowed, logits.size()));
  return take(t);
}

result<std::int64_t> shortest_answer(const std::shared_ptr<const constraint>& c, const tokenizer& tok,
                                     std::int64_t limit) {
  TERN_TRY(auto probe, grammar_matcher::create(c));
  if (probe.mask_words() != (tok.n_tokens() + 31) / 32)
    return fail(errc::invalid_argument,
                fmt::format("constrained generation: the constraint's vocabulary ({} mask words) is not the "
                            "tokenizer's ({} tokens)", probe.mask_words(), tok.n_tokens()));
  auto fits = [&](std::int64_t k) -> result<bool> {
    auto m = grammar_matcher::create(c, {.max_tokens = k});
    if (m) return true;
    if (m.error().code() == errc::limit_exceeded) return false;
    return std::move(m).error();
  };
  TERN_TRY(bool any, fits(limit));
  if (!any) return limit + 1;
  std::int64_t lo = 0, hi = limit;  // fits(hi) holds; find the least such
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    TERN_TRY(bool ok_mid, fits(mid));
    if (ok_mid) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

}  // namespace tern::engine
