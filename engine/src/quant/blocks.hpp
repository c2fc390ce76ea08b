// Internal: byte-level access to GGUF/ggml quantized blocks, shared by the
// reference and fast paths. Blocks are read through byte pointers and memcpy
// because a row in a memory-mapped file may start at any byte.
//
// Block layouts (byte offsets, little-endian; "half" = IEEE binary16):
//   q4_0  (32 values, 18 B): half d | u8 qs[16]
//         value j < 16 = d·((qs[j] & 0xF) − 8); value j + 16 = d·((qs[j] >> 4) − 8)
//   q4_1  (32, 20 B): half d | half m | u8 qs[16]; value = d·q + m, same nibble order
//   q5_0  (32, 22 B): half d | u32 qh | u8 qs[16]; bit j of qh is bit 4 of value j
//         (value j + 16 uses bit j + 16); value = d·(q − 16)
//   q5_1  (32, 24 B): half d | half m | u32 qh | u8 qs[16]; value = d·q + m
//   q8_0  (32, 34 B): half d | i8 qs[32]; value = d·q
//   q4_k  (256, 144 B): half d | half dmin | u8 scales[12] | u8 qs[128]
//         8 sub-blocks of 32 with 6-bit scale sc and min m (scale_min_k4);
//         64 values per 32 bytes of qs: low nibbles then high nibbles;
//         value = d·sc·q − dmin·m
//   q5_k  (256, 176 B): half d | half dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]
//         as q4_k, plus bit 4 of value l of sub-block s from bit s of qh[l]
//   q6_k  (256, 210 B): u8 ql[128] | u8 qh[64] | i8 scales[16] | half d
//         per 128-value half: value l + 32·k (l < 32, k < 4) has its low 4 bits
//         in ql[l + 32·(k & 1)] (low nibble for k < 2, high for k ≥ 2) and its
//         high 2 bits in qh[l] bits 2k..2k+1; value = d·scales[l/16 + 2k]·(q − 32)
#pragma once

#include <tern/engine/quant.hpp>

#include <cstdint>
#include <cstring>

namespace tern::engine::detail {

inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept { std::memcpy(p, &v, sizeof v); }
inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept { std::memcpy(p, &v, sizeof v); }
inline float load_half(const std::uint8_t* p) noexcept { return fp16_to_fp32(load_u16(p)); }

constexpr int k_qk = 32;    // values per block of the simple types
constexpr int k_qk_k = 256;  // values per K-quant super-block

constexpr int k_q4_0_bytes = 18;
constexpr int k_q4_1_bytes = 20;
constexpr int k_q5_0_bytes = 22;
constexpr int k_q5_1_bytes = 24;
constexpr int k_q8_0_bytes = 34;
constexpr int k_q4_k_bytes = 144;
constexpr int k_q5_k_bytes = 176;
constexpr int k_q6_k_bytes = 210;

// Offsets inside K blocks.
constexpr int k_qk_scales = 4;                // q4_k/q5_k: after d, dmin
constexpr int k_q4_k_qs = 4 + 12;
constexpr int k_q5_k_qh = 4 + 12;
constexpr int k_q5_k_qs = 4 + 12 + 32;
constexpr int k_q6_k_qh = 128;
constexpr int k_q6_k_scales = 128 + 64;
constexpr int k_q6_k_d = 128 + 64 + 16;

// The 6-bit scale and min of sub-block j (0..7) of a q4_k/q5_k block, packed
// in 12 bytes: sub-blocks 0..3 use the low 6 bits of bytes j (scale) and
// j + 4 (min); sub-blocks 4..7 take their low 4 bits from byte j + 4 (scale:
// low nibble, min: high nibble) and their top 2 bits from the top 2 bits of
// bytes j − 4 (scale) and j (min).
inline void scale_min_k4(int j, const std::uint8_t* s, int* scale, int* min) noexcept {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// The reference implementations, one set per type (reference_*.cpp).
#define TERN_QUANT_DECLARE_(name)                                          \
  void ref_dequantize_##name(const void* src, float* dst, std::int64_t n); \
  void ref_quantize_##name(const float* src, void* dst, std::int64_t n);   \
  float ref_dot_##name(const void* row, const float* x, std::int64_t n);
TERN_QUANT_DECLARE_(f32)
TERN_QUANT_DECLARE_(f16)
TERN_QUANT_DECLARE_(bf16)
TERN_QUANT_DECLARE_(q4_0)
TERN_QUANT_DECLARE_(q4_1)
TERN_QUANT_DECLARE_(q5_0)
TERN_QUANT_DECLARE_(q5_1)
TERN_QUANT_DECLARE_(q8_0)
TERN_QUANT_DECLARE_(q4_k)
TERN_QUANT_DECLARE_(q5_k)
TERN_QUANT_DECLARE_(q6_k)
#undef TERN_QUANT_DECLARE_

// The fast table for a type, or nullptr when this build/CPU has no fast path
// for it (fast_avx2.cpp). Quantize entries point at the reference.
const type_ops* fast_ops(tensor_type type) noexcept;
// Whether the CPU can run fast_ops() (AVX2, FMA, F16C).
bool cpu_has_avx2_fma_f16c() noexcept;

}  // namespace tern::engine::detail
