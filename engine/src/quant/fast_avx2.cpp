// Fast path: AVX2 + FMA + F16C on x86-64, chosen at run time (quant.cpp asks
// cpu_has_avx2_fma_f16c()), so the rest of the binary needs no -mavx2. Every
// function that uses those instructions carries TERN_AVX2 (a target
// attribute), which keeps CMake untouched and the file safe to compile for any
// x86-64 CPU.
//
// Each block type has one decoder that turns a block into float weights, 8 at
// a time, and hands them to a sink: the dot sink multiplies them with x into 4
// accumulators, the dequantize sink stores them. So dot and dequantize share
// the bit-twiddling, and the decoders mirror the reference ones in blocks.hpp.
// Activations stay float32 (no 8-bit quantization of x). Loads are unaligned
// throughout: rows in a memory-mapped file start at any byte.
//
// Dequantize matches the reference bit for bit where the reference computes
// code·scale (f16, bf16, q8_0, q4_0, q5_0, q6_k); where it computes
// code·scale + offset (q4_1, q5_1, q4_k, q5_k) this path uses a fused
// multiply-add, one rounding fewer (tests allow 1 ulp of the block's scale).
#include "quant/blocks.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace tern::engine::detail {

#if defined(__x86_64__)

#define TERN_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace {

TERN_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 32 signed bytes -> 4 x 8 floats, in element order.
TERN_AVX2 inline void i8x32_to_f32(__m256i q, __m256 out[4]) {
  const __m128i lo = _mm256_castsi256_si128(q);
  const __m128i hi = _mm256_extracti128_si256(q, 1);
  out[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
  out[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
  out[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
  out[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

// 16 bytes of packed nibbles -> 32 codes: low nibbles (values 0..15), then
// high nibbles (values 16..31), the order of q4_0/q4_1/q5_0/q5_1.
TERN_AVX2 inline __m256i nibbles_16(const std::uint8_t* p) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i mask = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

// 32 bits -> 32 bytes, byte j = 0xFF when bit j is set.
TERN_AVX2 inline __m256i bits_to_bytes(std::uint32_t bits) {
  const __m256i v = _mm256_set1_epi32(static_cast<int>(bits));
  // Byte j takes byte j/8 of the word (each 128-bit lane holds a copy).
  const __m256i spread = _mm256_shuffle_epi8(
      v, _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Sinks. put(): 8 decoded weights for values [i, i + 8); `lane` (0..3) picks
// an accumulator so that consecutive FMAs do not wait on each other.
// scaled(): 32 codes as floats for values [i, i + 32) whose weights are
// code·lo_scale (first 16) and code·hi_scale (last 16): the dot sink sums
// code·x first and applies the scale once per 16 values, which saves a
// multiply per 8 values on the types without an offset.
struct dot_sink {
  const float* x;
  __m256 acc[4];
  unsigned flip = 0;
  TERN_AVX2 void init() {
    for (auto& a : acc) a = _mm256_setzero_ps();
  }
  TERN_AVX2 void put(int lane, std::int64_t i, __m256 w) { acc[lane] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i), acc[lane]); }
  TERN_AVX2 void scaled(std::int64_t i, const __m256 f[4], __m256 lo_scale, __m256 hi_scale) {
    __m256 lo = _mm256_mul_ps(f[0], _mm256_loadu_ps(x + i));
    __m256 hi = _mm256_mul_ps(f[2], _mm256_loadu_ps(x + i + 16));
    lo = _mm256_fmadd_ps(f[1], _mm256_loadu_ps(x + i + 8), lo);
    hi = _mm256_fmadd_ps(f[3], _mm256_loadu_ps(x + i + 24), hi);
    const unsigned a = (flip ^= 2u);  // alternate accumulator pairs between blocks
    acc[a] = _mm256_fmadd_ps(lo, lo_scale, acc[a]);
    acc[a + 1] = _mm256_fmadd_ps(hi, hi_scale, acc[a + 1]);
  }
  TERN_AVX2 float total() const {
    return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  }
};
struct store_sink {
  float* y;
  TERN_AVX2 void put(int, std::int64_t i, __m256 w) { _mm256_storeu_ps(y + i, w); }
  // The same products as the reference (code·scale, one rounding).
  TERN_AVX2 void scaled(std::int64_t i, const __m256 f[4], __m256 lo_scale, __m256 hi_scale) {
    _mm256_storeu_ps(y + i, _mm256_mul_ps(f[0], lo_scale));
    _mm256_storeu_ps(y + i + 8, _mm256_mul_ps(f[1], lo_scale));
    _mm256_storeu_ps(y + i + 16, _mm256_mul_ps(f[2], hi_scale));
    _mm256_storeu_ps(y + i + 24, _mm256_mul_ps(f[3], hi_scale));
  }
};

// 32 codes times one scale: values [i, i + 32).
template <class Sink>
TERN_AVX2 inline void emit_scaled(Sink& sink, std::int64_t i, __m256i codes, __m256 scale) {
  __m256 f[4];
  i8x32_to_f32(codes, f);
  sink.scaled(i, f, scale, scale);
}
// 32 codes as code·scale + offset (offset may be negated by the caller).
template <class Sink>
TERN_AVX2 inline void emit_affine(Sink& sink, std::int64_t i, __m256i codes, __m256 scale, __m256 offset) {
  __m256 f[4];
  i8x32_to_f32(codes, f);
  for (int k = 0; k < 4; ++k) sink.put(k, i + 8 * k, _mm256_fmadd_ps(f[k], scale, offset));
}

// ---- decoders: one row of n values ----

template <class Sink>
TERN_AVX2 void run_q8_0(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  for (std::int64_t i = 0; i < n; i += k_qk, p += k_q8_0_bytes) {
    const __m256i codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    emit_scaled(sink, i, codes, _mm256_set1_ps(load_half(p)));
  }
}

template <class Sink>
TERN_AVX2 void run_q4_0(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  for (std::int64_t i = 0; i < n; i += k_qk, p += k_q4_0_bytes) {
    const __m256i codes = _mm256_sub_epi8(nibbles_16(p + 2), _mm256_set1_epi8(8));
    emit_scaled(sink, i, codes, _mm256_set1_ps(load_half(p)));
  }
}

template <class Sink>
TERN_AVX2 void run_q4_1(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  for (std::int64_t i = 0; i < n; i += k_qk, p += k_q4_1_bytes)
    emit_affine(sink, i, nibbles_16(p + 4), _mm256_set1_ps(load_half(p)), _mm256_set1_ps(load_half(p + 2)));
}

template <class Sink>
TERN_AVX2 void run_q5_0(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  for (std::int64_t i = 0; i < n; i += k_qk, p += k_q5_0_bytes) {
    const __m256i high = _mm256_and_si256(bits_to_bytes(load_u32(p + 2)), _mm256_set1_epi8(0x10));
    const __m256i codes = _mm256_sub_epi8(_mm256_or_si256(nibbles_16(p + 6), high), _mm256_set1_epi8(16));
    emit_scaled(sink, i, codes, _mm256_set1_ps(load_half(p)));
  }
}

template <class Sink>
TERN_AVX2 void run_q5_1(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  for (std::int64_t i = 0; i < n; i += k_qk, p += k_q5_1_bytes) {
    const __m256i high = _mm256_and_si256(bits_to_bytes(load_u32(p + 4)), _mm256_set1_epi8(0x10));
    emit_affine(sink, i, _mm256_or_si256(nibbles_16(p + 8), high), _mm256_set1_ps(load_half(p)),
                _mm256_set1_ps(load_half(p + 2)));
  }
}

// q4_k and q5_k: sub-block s's step d·sc and offset −dmin·m.
TERN_AVX2 inline void k4_scales(const std::uint8_t* p, float step[8], float neg_offset[8]) {
  const float d = load_half(p);
  const float dmin = load_half(p + 2);
  for (int s = 0; s < 8; ++s) {
    int sc = 0;
    int m = 0;
    scale_min_k4(s, p + k_qk_scales, &sc, &m);
    step[s] = d * static_cast<float>(sc);
    neg_offset[s] = -(dmin * static_cast<float>(m));
  }
}

template <class Sink>
TERN_AVX2 void run_q4_k(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (std::int64_t i = 0; i < n; i += k_qk_k, p += k_q4_k_bytes) {
    float step[8], neg_offset[8];
    k4_scales(p, step, neg_offset);
    for (int c = 0; c < 4; ++c) {  // 32 bytes: sub-block 2c in the low nibbles, 2c+1 in the high
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k_q4_k_qs + 32 * c));
      const __m256i lo = _mm256_and_si256(raw, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      emit_affine(sink, i + 64 * c, lo, _mm256_set1_ps(step[2 * c]), _mm256_set1_ps(neg_offset[2 * c]));
      emit_affine(sink, i + 64 * c + 32, hi, _mm256_set1_ps(step[2 * c + 1]), _mm256_set1_ps(neg_offset[2 * c + 1]));
    }
  }
}

template <class Sink>
TERN_AVX2 void run_q5_k(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i one = _mm256_set1_epi8(1);
  for (std::int64_t i = 0; i < n; i += k_qk_k, p += k_q5_k_bytes) {
    float step[8], neg_offset[8];
    k4_scales(p, step, neg_offset);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k_q5_k_qh));
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k_q5_k_qs + 32 * c));
      // Bit s of each qh byte is bit 4 of that position in sub-block s. The
      // 16-bit shift drags in bits of the neighbouring byte, but only above
      // bit 0, which the mask drops.
      const __m256i h_lo = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
      const __m256i h_hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(raw, low4), _mm256_slli_epi16(h_lo, 4));
      const __m256i hi =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), low4), _mm256_slli_epi16(h_hi, 4));
      emit_affine(sink, i + 64 * c, lo, _mm256_set1_ps(step[2 * c]), _mm256_set1_ps(neg_offset[2 * c]));
      emit_affine(sink, i + 64 * c + 32, hi, _mm256_set1_ps(step[2 * c + 1]), _mm256_set1_ps(neg_offset[2 * c + 1]));
    }
  }
}

template <class Sink>
TERN_AVX2 void run_q6_k(const std::uint8_t* p, std::int64_t n, Sink& sink) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  const __m256i bias = _mm256_set1_epi8(32);
  for (std::int64_t i = 0; i < n; i += k_qk_k, p += k_q6_k_bytes) {
    const float d = load_half(p + k_q6_k_d);
    const auto* sc = reinterpret_cast<const std::int8_t*>(p + k_q6_k_scales);
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k_q6_k_qh + 32 * h));
      const __m256i low[4] = {
          _mm256_and_si256(ql0, low4),
          _mm256_and_si256(ql1, low4),
          _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
          _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
      };
      for (int k = 0; k < 4; ++k) {  // values 128h + 32k + l: high bits at qh[l] bits 2k..2k+1
        const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), two_bits);
        const __m256i codes = _mm256_sub_epi8(_mm256_or_si256(low[k], _mm256_slli_epi16(high, 4)), bias);
        __m256 f[4];
        i8x32_to_f32(codes, f);
        // 16 values per scale: values 32k..32k+15 use scale 2k, the rest 2k + 1.
        const float lo_step = d * static_cast<float>(sc[8 * h + 2 * k]);
        const float hi_step = d * static_cast<float>(sc[8 * h + 2 * k + 1]);
        sink.scaled(i + 128 * h + 32 * k, f, _mm256_set1_ps(lo_step), _mm256_set1_ps(hi_step));
      }
    }
  }
}

// ---- the float types: 8 values per step, scalar tail ----

TERN_AVX2 inline __m256 load8_f32(const std::uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
TERN_AVX2 inline __m256 load8_f16(const std::uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
TERN_AVX2 inline __m256 load8_bf16(const std::uint8_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

inline float load1_f32(const std::uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float load1_f16(const std::uint8_t* p) { return load_half(p); }
inline float load1_bf16(const std::uint8_t* p) { return bf16_to_fp32(load_u16(p)); }

template <int Bytes, __m256 (*Load8)(const std::uint8_t*), float (*Load1)(const std::uint8_t*)>
TERN_AVX2 float dot_plain(const void* row, const float* x, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(Load8(p + (i + 8 * k) * Bytes), _mm256_loadu_ps(x + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(Load8(p + i * Bytes), _mm256_loadu_ps(x + i), acc[0]);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += Load1(p + i * Bytes) * x[i];
  return sum;
}

template <int Bytes, __m256 (*Load8)(const std::uint8_t*), float (*Load1)(const std::uint8_t*)>
TERN_AVX2 void dequantize_plain(const void* src, float* dst, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, Load8(p + i * Bytes));
  for (; i < n; ++i) dst[i] = Load1(p + i * Bytes);
}

TERN_AVX2 float fast_dot_f32(const void* r, const float* x, std::int64_t n) {
  return dot_plain<4, load8_f32, load1_f32>(r, x, n);
}
TERN_AVX2 float fast_dot_f16(const void* r, const float* x, std::int64_t n) {
  return dot_plain<2, load8_f16, load1_f16>(r, x, n);
}
TERN_AVX2 float fast_dot_bf16(const void* r, const float* x, std::int64_t n) {
  return dot_plain<2, load8_bf16, load1_bf16>(r, x, n);
}
TERN_AVX2 void fast_dequantize_f16(const void* s, float* d, std::int64_t n) {
  dequantize_plain<2, load8_f16, load1_f16>(s, d, n);
}
TERN_AVX2 void fast_dequantize_bf16(const void* s, float* d, std::int64_t n) {
  dequantize_plain<2, load8_bf16, load1_bf16>(s, d, n);
}

#define TERN_FAST_BLOCK_(name)                                                            \
  TERN_AVX2 float fast_dot_##name(const void* row, const float* x, std::int64_t n) {     \
    dot_sink sink{x, {}, 0};                                                              \
    sink.init();                                                                          \
    run_##name(static_cast<const std::uint8_t*>(row), n, sink);                           \
    return sink.total();                                                                  \
  }                                                                                       \
  TERN_AVX2 void fast_dequantize_##name(const void* src, float* dst, std::int64_t n) {   \
    store_sink sink{dst};                                                                 \
    run_##name(static_cast<const std::uint8_t*>(src), n, sink);                           \
  }
TERN_FAST_BLOCK_(q8_0)
TERN_FAST_BLOCK_(q4_0)
TERN_FAST_BLOCK_(q4_1)
TERN_FAST_BLOCK_(q5_0)
TERN_FAST_BLOCK_(q5_1)
TERN_FAST_BLOCK_(q4_k)
TERN_FAST_BLOCK_(q5_k)
TERN_FAST_BLOCK_(q6_k)
#undef TERN_FAST_BLOCK_

// Quantization is not on the inference path; the fast tables reuse the
// reference quantizers (and f32's dequantize is a memcpy either way).
#define TERN_FAST_ROW_(t, elems, bytes, deq) \
  type_ops { tensor_type::t, elems, bytes, deq, ref_quantize_##t, fast_dot_##t }
const type_ops k_fast[] = {
    TERN_FAST_ROW_(f32, 1, 4, ref_dequantize_f32),
    TERN_FAST_ROW_(f16, 1, 2, fast_dequantize_f16),
    TERN_FAST_ROW_(bf16, 1, 2, fast_dequantize_bf16),
    TERN_FAST_ROW_(q4_0, k_qk, k_q4_0_bytes, fast_dequantize_q4_0),
    TERN_FAST_ROW_(q4_1, k_qk, k_q4_1_bytes, fast_dequantize_q4_1),
    TERN_FAST_ROW_(q5_0, k_qk, k_q5_0_bytes, fast_dequantize_q5_0),
    TERN_FAST_ROW_(q5_1, k_qk, k_q5_1_bytes, fast_dequantize_q5_1),
    TERN_FAST_ROW_(q8_0, k_qk, k_q8_0_bytes, fast_dequantize_q8_0),
    TERN_FAST_ROW_(q4_k, k_qk_k, k_q4_k_bytes, fast_dequantize_q4_k),
    TERN_FAST_ROW_(q5_k, k_qk_k, k_q5_k_bytes, fast_dequantize_q5_k),
    TERN_FAST_ROW_(q6_k, k_qk_k, k_q6_k_bytes, fast_dequantize_q6_k),
};
#undef TERN_FAST_ROW_

}  // namespace

bool cpu_has_avx2_fma_f16c() noexcept {
  // __builtin_cpu_supports checks that the OS saves the AVX registers; clang
  // does not know "f16c" there, so that bit comes from CPUID leaf 1 (ECX 29).
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 29)) != 0;
}

const type_ops* fast_ops(tensor_type type) noexcept {
  for (const auto& ops : k_fast)
    if (ops.type == type) return &ops;
  return nullptr;
}

#else  // not x86-64: no fast path yet; ops_for() hands out the reference.

bool cpu_has_avx2_fma_f16c() noexcept { return false; }
const type_ops* fast_ops(tensor_type) noexcept { return nullptr; }

#endif

}  // namespace tern::engine::detail
