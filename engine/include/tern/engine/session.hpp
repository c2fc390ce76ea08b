// One sequence being evaluated: its KV cache and position.
//
//   tern::engine::session s(model, 2048);
//   TERN_TRY(auto logits, s.eval(prompt));     // [n_vocab] for the last token
//   TERN_TRY(logits, s.eval({&next, 1}));      // one more token
//   s.truncate(n);                             // forget everything after the first n tokens
//
// Not thread-safe: one session per sequence; many sessions may share a model.
// The logits span stays valid until the next eval() on this session.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/model.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace tern::engine {

enum class compute_path {
  fast,       // SIMD kernels, rows split over the model's threads, batched prefill
  reference,  // plain scalar kernels on the calling thread: the oracle the fast path is tested against
};

class session {
 public:
  // n_ctx: the most tokens this session can hold (KV cache size). 0 = the
  // model's training context. The cache is F32: 2 * n_layer * n_ctx *
  // n_head_kv * head_dim * 4 bytes.
  session(std::shared_ptr<const model> m, std::int64_t n_ctx = 0, compute_path path = compute_path::fast);

  // Appends tokens at positions n_past()..; returns the logits after the last
  // one. Errors (nothing is appended then): an empty batch, a token id out of
  // range (names its index), or the context would overflow (limit_exceeded).
  result<std::span<const float>> eval(std::span<const std::int32_t> tokens);

  // Keeps the first n tokens of the cache (n <= n_past()); the next eval
  // continues from position n. Used for rollback and prefix reuse.
  void truncate(std::int64_t n);

  std::int64_t n_past() const noexcept { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t n_ctx() const noexcept { return n_ctx_; }
  const std::vector<std::int32_t>& tokens() const noexcept { return tokens_; }
  const model& get_model() const noexcept { return *model_; }

 private:
  // Runs tokens at positions pos.. through the network; logits of the last.
  void forward(std::span<const std::int32_t> tokens, std::int64_t pos);
  // Y[b, :] = W · X[b, :] for b < n_batch.
  void linear(const weight& w, const float* X, float* Y, std::int64_t n_batch);
  void resize_scratch(std::int64_t n_batch);

  std::shared_ptr<const model> model_;
  std::int64_t n_ctx_;
  compute_path path_;
  std::vector<std::int32_t> tokens_;
  // KV cache, F32, per layer [n_ctx, n_head_kv * head_dim].
  std::vector<std::vector<float>> k_cache_, v_cache_;
  // Scratch activations [n_batch, width], reused between calls.
  std::int64_t scratch_batch_ = 0;
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_, scores_, logits_;
};

}  // namespace tern::engine
