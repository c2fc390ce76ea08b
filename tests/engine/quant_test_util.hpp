// Shared by the quant_*_test.cpp files: random rows, misaligned buffers, the
// per-type quantization error bounds, and a float64 dot product.
#pragma once

#include <tern/engine/quant.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tern::test::quant {

using tern::engine::tensor_type;

// The 11 supported types, in the order of the issue.
inline const std::vector<tensor_type>& all_types() {
  static const std::vector<tensor_type> types = {
      tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q8_0,
      tensor_type::q4_0, tensor_type::q4_1, tensor_type::q5_0, tensor_type::q5_1,
      tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k};
  return types;
}

inline std::uint32_t block_elems(tensor_type t) { return tern::engine::info(t).block_elems; }
inline std::uint32_t block_bytes(tensor_type t) { return tern::engine::info(t).block_bytes; }
inline std::size_t row_bytes(tensor_type t, std::int64_t n) {
  return static_cast<std::size_t>(n / block_elems(t) * block_bytes(t));
}

// Awkward lengths for a type: one block, a few, and a long odd count; for the
// float types also lengths that are not multiples of 8 (SIMD tails).
inline std::vector<std::int64_t> awkward_sizes(tensor_type t) {
  const std::int64_t b = block_elems(t);
  if (b == 1) return {1, 3, 7, 8, 9, 15, 17, 31, 33, 100, 1023};
  return {b, 2 * b, 3 * b, 7 * b, 37 * b};
}

// Values ~ N(0, 1) with a per-block scale drawn from a wide range, a few
// outliers and some blocks with one sign, the way real weights vary.
inline std::vector<float> random_row(std::mt19937& rng, std::int64_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-6.0f, 3.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  float scale = 1.0f;
  int shift = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (i % 32 == 0) {
      scale = std::exp2(log_scale(rng));
      shift = static_cast<int>(rng() % 4);  // 0: centred, 1: positive, 2: negative, 3: centred
    }
    float x = normal(rng) * scale;
    if (shift == 1) x = std::fabs(x) + scale;
    if (shift == 2) x = -std::fabs(x) - 0.5f * scale;
    if (rng() % 97 == 0) x *= 6.0f;
    v[static_cast<std::size_t>(i)] = x;
  }
  return v;
}

// A byte buffer whose data() starts `offset` bytes past a 64-byte boundary,
// to catch code that assumes aligned loads.
class misaligned_bytes {
 public:
  misaligned_bytes(std::size_t n, std::size_t offset) : storage_(n + offset + 64, 0xCD) {
    auto base = reinterpret_cast<std::uintptr_t>(storage_.data());
    start_ = static_cast<std::size_t>((64 - base % 64) % 64) + offset;
  }
  std::uint8_t* data() { return storage_.data() + start_; }

 private:
  std::vector<std::uint8_t> storage_;
  std::size_t start_ = 0;
};

// Floats at `offset` floats past a 64-byte boundary (4-byte aligned, as C++
// requires, but not 32-byte aligned).
class misaligned_floats {
 public:
  misaligned_floats(std::size_t n, std::size_t offset) : storage_(n + offset + 16, -999.0f) {
    auto base = reinterpret_cast<std::uintptr_t>(storage_.data());
    start_ = static_cast<std::size_t>((64 - base % 64) % 64) / sizeof(float) + offset;
  }
  float* data() { return storage_.data() + start_; }

 private:
  std::vector<float> storage_;
  std::size_t start_ = 0;
};

inline double dot_f64(const float* w, const float* x, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(w[i]) * static_cast<double>(x[i]);
  return s;
}
inline double abs_dot_f64(const float* w, const float* x, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(w[i]) * static_cast<double>(x[i]));
  return s;
}

// The largest error quantize -> dequantize may make on value i of x, per type
// (derivations in the comments; d' is a binary16 scale, within 2^-11 of d).
inline std::vector<double> roundtrip_bounds(tensor_type t, const std::vector<float>& x) {
  const std::size_t n = x.size();
  std::vector<double> bound(n, 0.0);
  auto span_of = [&](std::size_t start, std::size_t len, double* lo, double* hi, double* amax) {
    *lo = x[start];
    *hi = x[start];
    *amax = 0.0;
    for (std::size_t j = start; j < start + len; ++j) {
      *lo = std::min(*lo, double(x[j]));
      *hi = std::max(*hi, double(x[j]));
      *amax = std::max(*amax, std::fabs(double(x[j])));
    }
  };
  const double tiny = 1e-6;  // float rounding inside decode (relative to the block's magnitude)
  for (std::size_t b = 0; b < n; b += block_elems(t)) {
    const std::size_t len = block_elems(t);
    double lo, hi, amax;
    span_of(b, len, &lo, &hi, &amax);
    for (std::size_t j = b; j < b + len; ++j) {
      double e = 0.0;
      switch (t) {
        case tensor_type::f32: e = 0.0; break;
        case tensor_type::f16: e = std::ldexp(std::fabs(x[j]), -11) + std::ldexp(1.0, -25); break;  // half ulp
        case tensor_type::bf16: e = std::ldexp(std::fabs(x[j]), -8); break;
        // Symmetric types: half a step d'/2 inside the grid; the side opposite
        // the extreme value has one code fewer, so up to a full step there.
        case tensor_type::q8_0: e = amax / 127.0 * 0.5 * 1.001 + tiny * amax; break;
        case tensor_type::q4_0: e = amax / 8.0 * 1.001 + tiny * amax; break;
        case tensor_type::q5_0: e = amax / 16.0 * 1.001 + tiny * amax; break;
        // Offset types: half a step, plus the rounding of the binary16 min.
        case tensor_type::q4_1: e = (hi - lo) / 15.0 * 0.5 * 1.002 + std::ldexp(std::fabs(lo), -10) + tiny * amax; break;
        case tensor_type::q5_1: e = (hi - lo) / 31.0 * 0.5 * 1.002 + std::ldexp(std::fabs(lo), -10) + tiny * amax; break;
        case tensor_type::q4_k:
        case tensor_type::q5_k: {
          // Step of a sub-block ≤ (its span + one min step)/q_max + one d step,
          // with min step ≤ amax/63 and d step ≤ (2·amax + amax/63)/(q_max·63).
          const double q_max = t == tensor_type::q4_k ? 15.0 : 31.0;
          const std::size_t s = (j - b) / 32 * 32 + b;
          double slo, shi, samax;
          span_of(s, 32, &slo, &shi, &samax);
          const double span = std::max(shi, 0.0) - std::min(slo, 0.0);
          const double step = (span + amax / 63.0 * 1.01) / q_max + (2.0 * amax + amax / 63.0) / (q_max * 63.0) * 1.01;
          e = 0.5 * step * 1.001 + tiny * amax;
          break;
        }
        case tensor_type::q6_k: {
          // Step of a 16-value sub-block ≤ its amax/32 + one d step (amax/(32·127)),
          // a full step on the side with one code fewer.
          const std::size_t s = (j - b) / 16 * 16 + b;
          double slo, shi, samax;
          span_of(s, 16, &slo, &shi, &samax);
          e = (samax / 32.0 + amax / (32.0 * 127.0) * 1.01) * 1.001 + tiny * amax;
          break;
        }
        default: e = 0.0;
      }
      bound[j] = e;
    }
  }
  return bound;
}

}  // namespace tern::test::quant
