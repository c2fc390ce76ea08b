// The reference forward pass: plain float32, one token at a time, written to
// be obviously right. Every faster path (SIMD, batched, CUDA) is tested
// against it.
//
// Legend: E = n_embd, H = n_head, G = n_head_kv, D = head_dim, F = n_ff,
// V = n_vocab, T = positions in the cache. Vectors are float32.
#include <tern/engine/quant.hpp>
#include <tern/engine/session.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tern::engine {
namespace {

// y[r] = W[r] · x for each of W's ne1 rows.
void matvec(const weight& w, const float* x, float* y) {
  for (std::int64_t r = 0; r < w.ne1; ++r) y[r] = dot_row(w.type, w.row(r), x, w.ne0);
}

void add_bias(const weight& b, float* y) {
  if (!b) return;
  const auto* bias = reinterpret_cast<const float*>(b.data);
  for (std::int64_t i = 0; i < b.ne0; ++i) y[i] += bias[i];
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

session::session(std::shared_ptr<const model> m, std::int64_t n_ctx) : model_(std::move(m)) {
  const auto& hp = model_->params();
  n_ctx_ = n_ctx > 0 ? n_ctx : hp.n_ctx_train;
  const auto kv_dim = static_cast<std::size_t>(hp.n_head_kv * hp.head_dim);
  k_cache_.assign(static_cast<std::size_t>(hp.n_layer), {});
  v_cache_.assign(static_cast<std::size_t>(hp.n_layer), {});
  for (auto& k : k_cache_) k.resize(static_cast<std::size_t>(n_ctx_) * kv_dim);
  for (auto& v : v_cache_) v.resize(static_cast<std::size_t>(n_ctx_) * kv_dim);
  const auto E = static_cast<std::size_t>(hp.n_embd), Q = static_cast<std::size_t>(hp.n_head * hp.head_dim);
  x_.resize(E);
  h_.resize(std::max(E, Q));
  q_.resize(Q);
  k_.resize(kv_dim);
  v_.resize(kv_dim);
  attn_.resize(Q);
  gate_.resize(static_cast<std::size_t>(hp.n_ff));
  up_.resize(static_cast<std::size_t>(hp.n_ff));
  scores_.resize(static_cast<std::size_t>(n_ctx_));
  logits_.resize(static_cast<std::size_t>(hp.n_vocab));
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
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    forward_one(tokens[i], n_past(), i + 1 == tokens.size());
    tokens_.push_back(tokens[i]);
  }
  return std::span<const float>(logits_);
}

void session::truncate(std::int64_t n) {
  TERN_ASSERT(n >= 0 && n <= n_past(), "truncate() beyond the cached tokens");
  tokens_.resize(static_cast<std::size_t>(n));
}

void session::forward_one(std::int32_t token, std::int64_t pos, bool want_logits) {
  const auto& hp = model_->params();
  const auto& w = model_->weights();
  const std::int64_t E = hp.n_embd, D = hp.head_dim, H = hp.n_head, G = hp.n_head_kv, F = hp.n_ff;
  const std::int64_t kv_dim = G * D, group = H / G, T = pos + 1;
  const float inv_sqrt_d = static_cast<float>(1.0 / std::sqrt(double(D)));

  dequantize_row(w.token_embd.type, w.token_embd.row(token), x_.data(), E);

  for (std::size_t il = 0; il < w.layers.size(); ++il) {
    const auto& l = w.layers[il];
    // Attention block.
    rms_norm(x_.data(), f32(l.attn_norm), h_.data(), E, hp.rms_eps);
    matvec(l.wq, h_.data(), q_.data());
    matvec(l.wk, h_.data(), k_.data());
    matvec(l.wv, h_.data(), v_.data());
    add_bias(l.bq, q_.data());
    add_bias(l.bk, k_.data());
    add_bias(l.bv, v_.data());
    for (std::int64_t h = 0; h < H; ++h) {
      float* qh = q_.data() + h * D;
      if (l.q_norm) rms_norm(qh, f32(l.q_norm), qh, D, hp.rms_eps);
      rope(qh, hp.n_rot, pos, hp.rope_freq_base, hp.rope);
    }
    for (std::int64_t g = 0; g < G; ++g) {
      float* kh = k_.data() + g * D;
      if (l.k_norm) rms_norm(kh, f32(l.k_norm), kh, D, hp.rms_eps);
      rope(kh, hp.n_rot, pos, hp.rope_freq_base, hp.rope);
    }
    float* k_cache = k_cache_[il].data();
    float* v_cache = v_cache_[il].data();
    std::copy(k_.begin(), k_.end(), k_cache + pos * kv_dim);
    std::copy(v_.begin(), v_.end(), v_cache + pos * kv_dim);

    for (std::int64_t h = 0; h < H; ++h) {
      const float* qh = q_.data() + h * D;
      const std::int64_t g = h / group;  // GQA: each KV head serves `group` query heads
      float max_score = -INFINITY;
      for (std::int64_t t = 0; t < T; ++t) {
        const float* kt = k_cache + t * kv_dim + g * D;
        float s = 0;
        for (std::int64_t d = 0; d < D; ++d) s += qh[d] * kt[d];
        scores_[t] = s * inv_sqrt_d;
        max_score = std::max(max_score, scores_[t]);
      }
      double sum = 0;
      for (std::int64_t t = 0; t < T; ++t) sum += scores_[t] = std::exp(scores_[t] - max_score);
      const float inv_sum = static_cast<float>(1.0 / sum);
      float* out = attn_.data() + h * D;
      std::fill(out, out + D, 0.0f);
      for (std::int64_t t = 0; t < T; ++t) {
        const float p = scores_[t] * inv_sum;
        const float* vt = v_cache + t * kv_dim + g * D;
        for (std::int64_t d = 0; d < D; ++d) out[d] += p * vt[d];
      }
    }
    matvec(l.wo, attn_.data(), h_.data());
    for (std::int64_t i = 0; i < E; ++i) x_[i] += h_[i];

    // Feed-forward block (SwiGLU).
    rms_norm(x_.data(), f32(l.ffn_norm), h_.data(), E, hp.rms_eps);
    matvec(l.ffn_gate, h_.data(), gate_.data());
    matvec(l.ffn_up, h_.data(), up_.data());
    for (std::int64_t i = 0; i < F; ++i) {
      const float g = gate_[i];
      gate_[i] = g / (1.0f + std::exp(-g)) * up_[i];
    }
    matvec(l.ffn_down, gate_.data(), h_.data());
    for (std::int64_t i = 0; i < E; ++i) x_[i] += h_[i];
  }

  if (!want_logits) return;
  rms_norm(x_.data(), f32(w.output_norm), h_.data(), E, hp.rms_eps);
  matvec(w.output, h_.data(), logits_.data());
}

}  // namespace tern::engine
