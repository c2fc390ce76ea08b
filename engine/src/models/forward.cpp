// The forward pass: plain float32 math over a batch of tokens, written to be
// obviously right. The linear layers go either to the scalar reference
// kernels on the calling thread (compute_path::reference: the oracle) or to
// the SIMD kernels split over the model's threads with each weight row read
// once per batch (compute_path::fast). Tests compare the two.
//
// Legend: B = tokens in the batch, E = n_embd, H = n_head, G = n_head_kv,
// D = head_dim, F = n_ff, V = n_vocab, T = positions attended to.
// Activations are row-major [B, width] float32.
#include <tern/engine/matvec.hpp>
#include <tern/engine/quant.hpp>
#include <tern/engine/session.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tern::engine {
namespace {

void add_bias(const weight& b, float* Y, std::int64_t n_batch) {
  if (!b) return;
  const auto* bias = reinterpret_cast<const float*>(b.data);
  for (std::int64_t t = 0; t < n_batch; ++t)
    for (std::int64_t i = 0; i < b.ne0; ++i) Y[t * b.ne0 + i] += bias[i];
}

// out = x / sqrt(mean(x²) + eps) * w, over n values (sum in double, as ggml does).
void rms_norm(const float* x, const float* w, float* out, std::int64_t n, float eps) {
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += double(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum / double(n) + eps));
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

// Rotates the first n_rot values of one head vector for position pos.
void rope(float* v, std::int64_t n_rot, std::int64_t pos, double base, rope_style style) {
  const std::int64_t half = n_rot / 2;
  for (std::int64_t i = 0; i < half; ++i) {
    const double theta = double(pos) * std::pow(base, -2.0 * double(i) / double(n_rot));
    const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    const std::int64_t a = style == rope_style::normal ? 2 * i : i;
    const std::int64_t b = style == rope_style::normal ? 2 * i + 1 : i + half;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
  }
}

const float* f32(const weight& w) { return reinterpret_cast<const float*>(w.data); }

}  // namespace

session::session(std::shared_ptr<const model> m, std::int64_t n_ctx, compute_path path)
    : model_(std::move(m)), path_(path) {
  const auto& hp = model_->params();
  n_ctx_ = n_ctx > 0 ? n_ctx : hp.n_ctx_train;
  const auto kv_dim = static_cast<std::size_t>(hp.n_head_kv * hp.head_dim);
  k_cache_.assign(static_cast<std::size_t>(hp.n_layer), std::vector<float>(static_cast<std::size_t>(n_ctx_) * kv_dim));
  v_cache_.assign(static_cast<std::size_t>(hp.n_layer), std::vector<float>(static_cast<std::size_t>(n_ctx_) * kv_dim));
  logits_.resize(static_cast<std::size_t>(hp.n_vocab));
  resize_scratch(1);
}

void session::resize_scratch(std::int64_t n_batch) {
  if (n_batch <= scratch_batch_) return;
  const auto& hp = model_->params();
  const auto B = static_cast<std::size_t>(n_batch);
  const auto E = static_cast<std::size_t>(hp.n_embd), Q = static_cast<std::size_t>(hp.n_head * hp.head_dim);
  const auto KV = static_cast<std::size_t>(hp.n_head_kv * hp.head_dim), F = static_cast<std::size_t>(hp.n_ff);
  x_.resize(B * E);
  h_.resize(B * std::max(E, Q));
  q_.resize(B * Q);
  k_.resize(B * KV);
  v_.resize(B * KV);
  attn_.resize(B * Q);
  gate_.resize(B * F);
  up_.resize(B * F);
  scores_.resize(static_cast<std::size_t>(n_ctx_));
  scratch_batch_ = n_batch;
}

result<std::span<const float>> session::eval(std::span<const std::int32_t> tokens) {
  if (tokens.empty()) return fail(errc::invalid_argument, "eval() of an empty batch");
  const auto& hp = model_->params();
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
      return fail(errc::invalid_argument,
                  fmt::format("token {} at batch index {} is outside the vocabulary [0, {})", tokens[i], i, hp.n_vocab));
  if (n_past() + static_cast<std::int64_t>(tokens.size()) > n_ctx_)
    return fail(errc::limit_exceeded, fmt::format("context full: {} tokens cached + {} new > n_ctx {}", n_past(),
                                                  tokens.size(), n_ctx_));
  // Bounded batches keep scratch memory small for long prompts.
  constexpr std::size_t max_batch = 64;
  for (std::size_t begin = 0; begin < tokens.size(); begin += max_batch) {
    const auto chunk = tokens.subspan(begin, std::min(max_batch, tokens.size() - begin));
    forward(chunk, n_past());
    tokens_.insert(tokens_.end(), chunk.begin(), chunk.end());
  }
  return std::span<const float>(logits_);
}

void session::truncate(std::int64_t n) {
  TERN_ASSERT(n >= 0 && n <= n_past(), "truncate() beyond the cached tokens");
  tokens_.resize(static_cast<std::size_t>(n));
}

void session::linear(const weight& w, const float* X, float* Y, std::int64_t n_batch) {
  if (path_ == compute_path::reference) {
    auto ops = reference_ops_for(w.type);
    TERN_ASSERT(ops.has_value(), "weight type checked at load has no reference kernel");
    for (std::int64_t t = 0; t < n_batch; ++t) matvec(**ops, w.data, w.ne1, w.ne0, X + t * w.ne0, Y + t * w.ne1);
    return;
  }
  auto ops = ops_for(w.type);
  TERN_ASSERT(ops.has_value(), "weight type checked at load has no kernel");
  // Waking other threads costs microseconds; below ~256K multiply-adds one thread is faster.
  constexpr std::int64_t min_parallel_work = 1 << 18;
  thread_pool* pool = w.ne0 * w.ne1 * n_batch >= min_parallel_work ? &model_->pool() : nullptr;
  if (n_batch == 1 && pool)
    matvec(**ops, w.data, w.ne1, w.ne0, X, Y, *pool);
  else if (n_batch == 1)
    matvec(**ops, w.data, w.ne1, w.ne0, X, Y);
  else
    matmul(**ops, w.data, w.ne1, w.ne0, X, n_batch, Y, pool);
}

void session::forward(std::span<const std::int32_t> tokens, std::int64_t pos0) {
  const auto& hp = model_->params();
  const auto& w = model_->weights();
  const std::int64_t B = static_cast<std::int64_t>(tokens.size());
  const std::int64_t E = hp.n_embd, D = hp.head_dim, H = hp.n_head, G = hp.n_head_kv, F = hp.n_ff;
  const std::int64_t Q = H * D, KV = G * D, group = H / G;
  const float inv_sqrt_d = static_cast<float>(1.0 / std::sqrt(double(D)));
  resize_scratch(B);

  for (std::int64_t t = 0; t < B; ++t)
    dequantize_row(w.token_embd.type, w.token_embd.row(tokens[static_cast<std::size_t>(t)]), &x_[t * E], E);

  for (std::size_t il = 0; il < w.layers.size(); ++il) {
    const auto& l = w.layers[il];
    // Attention block: Q, K, V projections for the whole batch.
    for (std::int64_t t = 0; t < B; ++t) rms_norm(&x_[t * E], f32(l.attn_norm), &h_[t * E], E, hp.rms_eps);
    linear(l.wq, h_.data(), q_.data(), B);
    linear(l.wk, h_.data(), k_.data(), B);
    linear(l.wv, h_.data(), v_.data(), B);
    add_bias(l.bq, q_.data(), B);
    add_bias(l.bk, k_.data(), B);
    add_bias(l.bv, v_.data(), B);
    float* k_cache = k_cache_[il].data();
    float* v_cache = v_cache_[il].data();
    for (std::int64_t t = 0; t < B; ++t) {
      const std::int64_t pos = pos0 + t;
      for (std::int64_t h = 0; h < H; ++h) {
        float* qh = &q_[t * Q + h * D];
        if (l.q_norm) rms_norm(qh, f32(l.q_norm), qh, D, hp.rms_eps);
        rope(qh, hp.n_rot, pos, hp.rope_freq_base, hp.rope);
      }
      for (std::int64_t g = 0; g < G; ++g) {
        float* kh = &k_[t * KV + g * D];
        if (l.k_norm) rms_norm(kh, f32(l.k_norm), kh, D, hp.rms_eps);
        rope(kh, hp.n_rot, pos, hp.rope_freq_base, hp.rope);
      }
      std::copy_n(&k_[t * KV], KV, k_cache + pos * KV);
      std::copy_n(&v_[t * KV], KV, v_cache + pos * KV);
    }

    // Causal attention: token t sees positions 0..pos0+t.
    for (std::int64_t t = 0; t < B; ++t) {
      const std::int64_t T = pos0 + t + 1;
      for (std::int64_t h = 0; h < H; ++h) {
        const float* qh = &q_[t * Q + h * D];
        const std::int64_t g = h / group;  // GQA: each KV head serves `group` query heads
        float max_score = -INFINITY;
        for (std::int64_t p = 0; p < T; ++p) {
          const float* kp = k_cache + p * KV + g * D;
          float s = 0;
          for (std::int64_t d = 0; d < D; ++d) s += qh[d] * kp[d];
          scores_[p] = s * inv_sqrt_d;
          max_score = std::max(max_score, scores_[p]);
        }
        double sum = 0;
        for (std::int64_t p = 0; p < T; ++p) sum += scores_[p] = std::exp(scores_[p] - max_score);
        const float inv_sum = static_cast<float>(1.0 / sum);
        float* out = &attn_[t * Q + h * D];
        std::fill(out, out + D, 0.0f);
        for (std::int64_t p = 0; p < T; ++p) {
          const float prob = scores_[p] * inv_sum;
          const float* vp = v_cache + p * KV + g * D;
          for (std::int64_t d = 0; d < D; ++d) out[d] += prob * vp[d];
        }
      }
    }
    linear(l.wo, attn_.data(), h_.data(), B);
    for (std::int64_t i = 0; i < B * E; ++i) x_[i] += h_[i];

    // Feed-forward block (SwiGLU).
    for (std::int64_t t = 0; t < B; ++t) rms_norm(&x_[t * E], f32(l.ffn_norm), &h_[t * E], E, hp.rms_eps);
    linear(l.ffn_gate, h_.data(), gate_.data(), B);
    linear(l.ffn_up, h_.data(), up_.data(), B);
    for (std::int64_t i = 0; i < B * F; ++i) {
      const float g = gate_[i];
      gate_[i] = g / (1.0f + std::exp(-g)) * up_[i];
    }
    linear(l.ffn_down, gate_.data(), h_.data(), B);
    for (std::int64_t i = 0; i < B * E; ++i) x_[i] += h_[i];
  }

  // Logits for the last token only.
  rms_norm(&x_[(B - 1) * E], f32(w.output_norm), h_.data(), E, hp.rms_eps);
  linear(w.output, h_.data(), logits_.data(), 1);
}

}  // namespace tern::engine
