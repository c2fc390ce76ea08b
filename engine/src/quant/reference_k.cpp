// Reference path for the K-quant super-block types: q4_k, q5_k, q6_k.
// Plain scalar code, written to be read next to the layouts in blocks.hpp.
//
// The quantizers are round-to-nearest with scales rounded *up*, so every
// value of a sub-block lies inside its grid (no clipping): each value is off
// by at most half a step of its own sub-block's grid, plus half a step of the
// 6/8-bit scale grid. llama.cpp's quantizers search for error-minimising
// scales instead; any valid block decodes the same way, so both interoperate.
#include "quant/blocks.hpp"

#include <algorithm>
#include <cmath>

namespace tern::engine::detail {
namespace {

// A half-precision super-scale ≥ `at_least` (never rounded below it, so that
// the 6/8-bit sub-scales derived from it never need more than their maximum).
struct half_scale {
  std::uint16_t bits;
  float value;
};
half_scale half_at_least(float at_least) {
  if (!(at_least >= 0.0f)) at_least = 0.0f;  // NaN from NaN input
  std::uint16_t bits = fp32_to_fp16(std::min(at_least, 65504.0f));
  if (fp16_to_fp32(bits) < at_least && bits < 0x7BFF) ++bits;  // next half up (positive values)
  return {bits, fp16_to_fp32(bits)};
}

// Sub-scale code: ceil(v / unit) in [0, max_code].
int ceil_code(float v, float unit, int max_code) {
  if (unit == 0.0f) return 0;
  const float c = std::ceil(v / unit);
  if (!(c >= 0.0f)) return 0;
  return c >= static_cast<float>(max_code) ? max_code : static_cast<int>(c);
}

// v rounded (halves away from zero) and clamped to [lo, hi]. NaN and ±inf
// (from non-finite input) clamp too: a float→int cast out of range is UB.
int round_clamp(float v, int lo, int hi) {
  const float r = std::round(v);
  if (!(r >= static_cast<float>(lo))) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int>(r);
}

// ---- q4_k / q5_k shared: 8 sub-blocks of 32 with 6-bit scales and mins ----

// Chooses d, dmin and the 6-bit codes for a super-block whose values must be
// coded as q·D − M with q in [0, q_max]; writes d, dmin and scales[12] into
// blk and returns the per-sub-block step D and offset M.
void choose_scales_k4(const float* x, int q_max, std::uint8_t* blk, float step[8], float offset[8]) {
  float neg_lo[8];  // −min(0, min x): the offset each sub-block needs
  float hi[8];
  float max_neg_lo = 0.0f;
  for (int s = 0; s < 8; ++s) {
    const float* xs = x + 32 * s;
    neg_lo[s] = -std::min(0.0f, *std::min_element(xs, xs + 32));
    hi[s] = *std::max_element(xs, xs + 32);
    max_neg_lo = std::max(max_neg_lo, neg_lo[s]);
  }
  const auto dmin = half_at_least(max_neg_lo / 63.0f);
  int m_code[8];
  float need[8];  // the step each sub-block needs once its offset is fixed
  float max_need = 0.0f;
  for (int s = 0; s < 8; ++s) {
    m_code[s] = ceil_code(neg_lo[s], dmin.value, 63);
    offset[s] = dmin.value * static_cast<float>(m_code[s]);
    need[s] = std::max(0.0f, (hi[s] + offset[s]) / static_cast<float>(q_max));
    max_need = std::max(max_need, need[s]);
  }
  const auto d = half_at_least(max_need / 63.0f);
  int sc_code[8];
  for (int s = 0; s < 8; ++s) {
    sc_code[s] = ceil_code(need[s], d.value, 63);
    step[s] = d.value * static_cast<float>(sc_code[s]);
  }
  store_u16(blk, d.bits);
  store_u16(blk + 2, dmin.bits);
  std::uint8_t* sc = blk + k_qk_scales;
  std::fill(sc, sc + 12, std::uint8_t{0});
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      sc[j] = static_cast<std::uint8_t>(sc[j] | sc_code[j]);
      sc[j + 4] = static_cast<std::uint8_t>(sc[j + 4] | m_code[j]);
    } else {
      sc[j + 4] = static_cast<std::uint8_t>((sc_code[j] & 0xF) | ((m_code[j] & 0xF) << 4));
      sc[j - 4] = static_cast<std::uint8_t>(sc[j - 4] | ((sc_code[j] >> 4) << 6));
      sc[j] = static_cast<std::uint8_t>(sc[j] | ((m_code[j] >> 4) << 6));
    }
  }
}

// Decoded (step, offset) of sub-block s: value = step·q − offset.
void sub_scales_k4(const std::uint8_t* blk, int s, float* step, float* offset) {
  int sc = 0;
  int m = 0;
  scale_min_k4(s, blk + k_qk_scales, &sc, &m);
  *step = load_half(blk) * static_cast<float>(sc);
  *offset = load_half(blk + 2) * static_cast<float>(m);
}

// ---- q4_k ----
void decode_q4_k(const std::uint8_t* blk, float* y) {
  const std::uint8_t* qs = blk + k_q4_k_qs;
  for (int c = 0; c < 4; ++c) {  // 64 values per 32 bytes: sub-blocks 2c (low nibbles), 2c+1 (high)
    float d1, m1, d2, m2;
    sub_scales_k4(blk, 2 * c, &d1, &m1);
    sub_scales_k4(blk, 2 * c + 1, &d2, &m2);
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d1 * static_cast<float>(qs[32 * c + l] & 0xF) - m1;
      y[64 * c + 32 + l] = d2 * static_cast<float>(qs[32 * c + l] >> 4) - m2;
    }
  }
}
void encode_q4_k(const float* x, std::uint8_t* blk) {
  float step[8], offset[8];
  choose_scales_k4(x, 15, blk, step, offset);
  int q[k_qk_k];
  for (int i = 0; i < k_qk_k; ++i) {
    const int s = i / 32;
    q[i] = step[s] != 0.0f ? round_clamp((x[i] + offset[s]) / step[s], 0, 15) : 0;
  }
  std::uint8_t* qs = blk + k_q4_k_qs;
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) qs[32 * c + l] = static_cast<std::uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
}

// ---- q5_k ----
void decode_q5_k(const std::uint8_t* blk, float* y) {
  const std::uint8_t* qh = blk + k_q5_k_qh;
  const std::uint8_t* qs = blk + k_q5_k_qs;
  for (int c = 0; c < 4; ++c) {
    float d1, m1, d2, m2;
    sub_scales_k4(blk, 2 * c, &d1, &m1);
    sub_scales_k4(blk, 2 * c + 1, &d2, &m2);
    for (int l = 0; l < 32; ++l) {
      const int lo = (qs[32 * c + l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4);
      const int hi = (qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
      y[64 * c + l] = d1 * static_cast<float>(lo) - m1;
      y[64 * c + 32 + l] = d2 * static_cast<float>(hi) - m2;
    }
  }
}
void encode_q5_k(const float* x, std::uint8_t* blk) {
  float step[8], offset[8];
  choose_scales_k4(x, 31, blk, step, offset);
  int q[k_qk_k];
  for (int i = 0; i < k_qk_k; ++i) {
    const int s = i / 32;
    q[i] = step[s] != 0.0f ? round_clamp((x[i] + offset[s]) / step[s], 0, 31) : 0;
  }
  std::uint8_t* qh = blk + k_q5_k_qh;
  std::uint8_t* qs = blk + k_q5_k_qs;
  std::fill(qh, qh + 32, std::uint8_t{0});
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      const int lo = q[64 * c + l];
      const int hi = q[64 * c + 32 + l];
      qs[32 * c + l] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh[l] = static_cast<std::uint8_t>(qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
    }
}

// ---- q6_k ----
void decode_q6_k(const std::uint8_t* blk, float* y) {
  const float d = load_half(blk + k_q6_k_d);
  for (int h = 0; h < 2; ++h) {  // two halves of 128 values
    const std::uint8_t* ql = blk + 64 * h;
    const std::uint8_t* qh = blk + k_q6_k_qh + 32 * h;
    const auto* sc = reinterpret_cast<const std::int8_t*>(blk + k_q6_k_scales + 8 * h);
    for (int l = 0; l < 32; ++l) {
      const int q[4] = {
          ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32,
          ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32,
          ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32,
          ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32,
      };
      for (int k = 0; k < 4; ++k)
        y[128 * h + 32 * k + l] = d * static_cast<float>(sc[l / 16 + 2 * k]) * static_cast<float>(q[k]);
    }
  }
}
void encode_q6_k(const float* x, std::uint8_t* blk) {
  // Per sub-block of 16: the step that maps its largest-magnitude value to
  // −32 (the side with one more code), then 8-bit signed codes for the steps.
  float want[16];
  float max_abs_want = 0.0f;
  for (int s = 0; s < 16; ++s) {
    float best = 0.0f;
    for (int j = 0; j < 16; ++j)
      if (std::fabs(x[16 * s + j]) > std::fabs(best)) best = x[16 * s + j];
    want[s] = best / -32.0f;
    max_abs_want = std::max(max_abs_want, std::fabs(want[s]));
  }
  const auto d = half_at_least(max_abs_want / 127.0f);
  auto* scales = reinterpret_cast<std::int8_t*>(blk + k_q6_k_scales);
  float step[16];
  for (int s = 0; s < 16; ++s) {
    const int mag = ceil_code(std::fabs(want[s]), d.value, 127);  // rounded up: the grid covers the sub-block
    const int code = want[s] < 0.0f ? -mag : mag;
    scales[s] = static_cast<std::int8_t>(code);
    step[s] = d.value * static_cast<float>(code);
  }
  store_u16(blk + k_q6_k_d, d.bits);
  int q[k_qk_k];
  for (int i = 0; i < k_qk_k; ++i) {
    const float st = step[i / 16];
    q[i] = (st != 0.0f ? round_clamp(x[i] / st, -32, 31) : 0) + 32;
  }
  for (int h = 0; h < 2; ++h) {
    std::uint8_t* ql = blk + 64 * h;
    std::uint8_t* qh = blk + k_q6_k_qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      const int* v = q + 128 * h + l;  // v[32k] is value l + 32k of this half
      ql[l] = static_cast<std::uint8_t>((v[0] & 0xF) | ((v[64] & 0xF) << 4));
      ql[l + 32] = static_cast<std::uint8_t>((v[32] & 0xF) | ((v[96] & 0xF) << 4));
      qh[l] = static_cast<std::uint8_t>((v[0] >> 4) | ((v[32] >> 4) << 2) | ((v[64] >> 4) << 4) | ((v[96] >> 4) << 6));
    }
  }
}

template <int BlockBytes, class DecodeBlock>
void dequantize_by_blocks(const void* src, float* dst, std::int64_t n, DecodeBlock decode) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  for (std::int64_t b = 0; b < n / k_qk_k; ++b) decode(p + b * BlockBytes, dst + b * k_qk_k);
}

template <int BlockBytes, class Encode>
void quantize_by_blocks(const float* src, void* dst, std::int64_t n, Encode encode) {
  auto* p = static_cast<std::uint8_t*>(dst);
  for (std::int64_t b = 0; b < n / k_qk_k; ++b) encode(src + b * k_qk_k, p + b * BlockBytes);
}

template <int BlockBytes, class DecodeBlock>
float dot_by_blocks(const void* row, const float* x, std::int64_t n, DecodeBlock decode) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  float w[k_qk_k];
  float sum = 0.0f;
  for (std::int64_t b = 0; b < n / k_qk_k; ++b) {
    decode(p + b * BlockBytes, w);
    for (int j = 0; j < k_qk_k; ++j) sum += w[j] * x[b * k_qk_k + j];
  }
  return sum;
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
TERN_QUANT_DEFINE_(q4_k, k_q4_k_bytes)
TERN_QUANT_DEFINE_(q5_k, k_q5_k_bytes)
TERN_QUANT_DEFINE_(q6_k, k_q6_k_bytes)
#undef TERN_QUANT_DEFINE_

}  // namespace tern::engine::detail
