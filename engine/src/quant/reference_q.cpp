// Reference path for the 32-value block types: q4_0, q4_1, q5_0, q5_1, q8_0.
// Plain scalar code, written to be read next to the layouts in blocks.hpp.
#include "quant/blocks.hpp"

#include <algorithm>
#include <cmath>

namespace tern::engine::detail {
namespace {

// A scale as stored (binary16) and as decoders will see it. Clamped to the
// finite halves so that huge inputs give huge values, not inf·0 = NaN; NaN
// (from NaN input) becomes 0.
struct half_scale {
  std::uint16_t bits;
  float value;
};
half_scale to_half_scale(float d) {
  if (std::isnan(d)) d = 0.0f;
  const std::uint16_t bits = fp32_to_fp16(std::clamp(d, -65504.0f, 65504.0f));
  return {bits, fp16_to_fp32(bits)};
}

// v rounded (halves away from zero) and clamped to [lo, hi]. NaN and ±inf
// (from non-finite input) clamp too: a float→int cast out of range is UB.
int round_clamp(float v, int lo, int hi) {
  const float r = std::round(v);
  if (!(r >= static_cast<float>(lo))) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int>(r);
}

// The value of largest magnitude, with its sign (the symmetric types map it to
// the most negative code, which has one more step than the positive side).
float signed_absmax(const float* x, int n) {
  float best = 0.0f;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > std::fabs(best)) best = x[j];
  return best;
}

// Σ w·x over a row, decoding one block at a time into floats.
template <int BlockBytes, class DecodeBlock>
float dot_by_blocks(const void* row, const float* x, std::int64_t n, DecodeBlock decode) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  float w[k_qk];
  float sum = 0.0f;
  for (std::int64_t b = 0; b < n / k_qk; ++b) {
    decode(p + b * BlockBytes, w);
    for (int j = 0; j < k_qk; ++j) sum += w[j] * x[b * k_qk + j];
  }
  return sum;
}

template <int BlockBytes, class DecodeBlock>
void dequantize_by_blocks(const void* src, float* dst, std::int64_t n, DecodeBlock decode) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  for (std::int64_t b = 0; b < n / k_qk; ++b) decode(p + b * BlockBytes, dst + b * k_qk);
}

// ---- q4_0 ----
void decode_q4_0(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk);
  const std::uint8_t* qs = blk + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}
void encode_q4_0(const float* x, std::uint8_t* blk) {
  const auto d = to_half_scale(signed_absmax(x, k_qk) / -8.0f);
  const float id = d.value != 0.0f ? 1.0f / d.value : 0.0f;
  store_u16(blk, d.bits);
  for (int j = 0; j < 16; ++j) {
    const int lo = round_clamp(x[j] * id, -8, 7) + 8;
    const int hi = round_clamp(x[j + 16] * id, -8, 7) + 8;
    blk[2 + j] = static_cast<std::uint8_t>(lo | (hi << 4));
  }
}

// ---- q4_1 ----
void decode_q4_1(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk);
  const float m = load_half(blk + 2);
  const std::uint8_t* qs = blk + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0xF) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}
void encode_q4_1(const float* x, std::uint8_t* blk) {
  const float lo = *std::min_element(x, x + k_qk);
  const float hi = *std::max_element(x, x + k_qk);
  const auto d = to_half_scale((hi - lo) / 15.0f);
  const auto m = to_half_scale(lo);
  const float id = d.value != 0.0f ? 1.0f / d.value : 0.0f;
  store_u16(blk, d.bits);
  store_u16(blk + 2, m.bits);
  for (int j = 0; j < 16; ++j) {
    const int a = round_clamp((x[j] - m.value) * id, 0, 15);
    const int b = round_clamp((x[j + 16] - m.value) * id, 0, 15);
    blk[4 + j] = static_cast<std::uint8_t>(a | (b << 4));
  }
}

// ---- q5_0 ----
void decode_q5_0(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk);
  const std::uint32_t qh = load_u32(blk + 2);
  const std::uint8_t* qs = blk + 6;
  for (int j = 0; j < 16; ++j) {
    const int q0 = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int q1 = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(q0 - 16) * d;
    y[j + 16] = static_cast<float>(q1 - 16) * d;
  }
}
void encode_q5_0(const float* x, std::uint8_t* blk) {
  const auto d = to_half_scale(signed_absmax(x, k_qk) / -16.0f);
  const float id = d.value != 0.0f ? 1.0f / d.value : 0.0f;
  std::uint32_t qh = 0;
  store_u16(blk, d.bits);
  for (int j = 0; j < 16; ++j) {
    const int q0 = round_clamp(x[j] * id, -16, 15) + 16;
    const int q1 = round_clamp(x[j + 16] * id, -16, 15) + 16;
    blk[6 + j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<std::uint32_t>(q0 >> 4) << j;
    qh |= static_cast<std::uint32_t>(q1 >> 4) << (j + 16);
  }
  store_u32(blk + 2, qh);
}

// ---- q5_1 ----
void decode_q5_1(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk);
  const float m = load_half(blk + 2);
  const std::uint32_t qh = load_u32(blk + 4);
  const std::uint8_t* qs = blk + 8;
  for (int j = 0; j < 16; ++j) {
    const int q0 = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int q1 = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(q0) * d + m;
    y[j + 16] = static_cast<float>(q1) * d + m;
  }
}
void encode_q5_1(const float* x, std::uint8_t* blk) {
  const float lo = *std::min_element(x, x + k_qk);
  const float hi = *std::max_element(x, x + k_qk);
  const auto d = to_half_scale((hi - lo) / 31.0f);
  const auto m = to_half_scale(lo);
  const float id = d.value != 0.0f ? 1.0f / d.value : 0.0f;
  std::uint32_t qh = 0;
  store_u16(blk, d.bits);
  store_u16(blk + 2, m.bits);
  for (int j = 0; j < 16; ++j) {
    const int q0 = round_clamp((x[j] - m.value) * id, 0, 31);
    const int q1 = round_clamp((x[j + 16] - m.value) * id, 0, 31);
    blk[8 + j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<std::uint32_t>(q0 >> 4) << j;
    qh |= static_cast<std::uint32_t>(q1 >> 4) << (j + 16);
  }
  store_u32(blk + 4, qh);
}

// ---- q8_0 ----
void decode_q8_0(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk);
  for (int j = 0; j < k_qk; ++j) y[j] = static_cast<float>(static_cast<std::int8_t>(blk[2 + j])) * d;
}
void encode_q8_0(const float* x, std::uint8_t* blk) {
  float amax = 0.0f;
  for (int j = 0; j < k_qk; ++j) amax = std::max(amax, std::fabs(x[j]));
  const auto d = to_half_scale(amax / 127.0f);
  const float id = d.value != 0.0f ? 1.0f / d.value : 0.0f;
  store_u16(blk, d.bits);
  for (int j = 0; j < k_qk; ++j)
    blk[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(round_clamp(x[j] * id, -127, 127)));
}

template <int BlockBytes, class Encode>
void quantize_by_blocks(const float* src, void* dst, std::int64_t n, Encode encode) {
  auto* p = static_cast<std::uint8_t*>(dst);
  for (std::int64_t b = 0; b < n / k_qk; ++b) encode(src + b * k_qk, p + b * BlockBytes);
}

}  // namespace

#define TERN_QUANT_DEFINE_(name, bytes)                                              \
  void ref_dequantize_##name(const void* src, float* dst, std::int64_t n) {          \
    dequantize_by_blocks<bytes>(src, dst, n, decode_##name);                         \
  }                                                                                  \
  void ref_quantize_##name(const float* src, void* dst, std::int64_t n) {            \
    quantize_by_blocks<bytes>(src, dst, n, encode_##name);                           \
  }                                                                                  \
  float ref_dot_##name(const void* row, const float* x, std::int64_t n) {            \
    return dot_by_blocks<bytes>(row, x, n, decode_##name);                           \
  }
TERN_QUANT_DEFINE_(q4_0, k_q4_0_bytes)
TERN_QUANT_DEFINE_(q4_1, k_q4_1_bytes)
TERN_QUANT_DEFINE_(q5_0, k_q5_0_bytes)
TERN_QUANT_DEFINE_(q5_1, k_q5_1_bytes)
TERN_QUANT_DEFINE_(q8_0, k_q8_0_bytes)
#undef TERN_QUANT_DEFINE_

}  // namespace tern::engine::detail
