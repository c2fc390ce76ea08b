// Tensor types, fast path (AVX2+FMA+F16C when the CPU has it) against the
// reference: dequantize bit-exact (or within 2^-21 of the block's magnitude
// where the fast path fuses code·scale + offset), dot products within the
// float summation bound of a float64 sum. Blocks are both quantizer output
// and raw random bytes (every code, negative scales, q6_k's signed scales).
#include "quant_test_util.hpp"
#include "fixtures.hpp"

#include <tern/engine/quant.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

using namespace tern::engine;
using namespace tern::test::quant;

namespace {

// Offsets (in bytes) of a block's binary16 scale fields, which random bytes
// must not turn into inf/NaN.
std::vector<int> half_fields(tensor_type t) {
  switch (t) {
    case tensor_type::q4_0: case tensor_type::q5_0: case tensor_type::q8_0: return {0};
    case tensor_type::q4_1: case tensor_type::q5_1: case tensor_type::q4_k: case tensor_type::q5_k: return {0, 2};
    case tensor_type::q6_k: return {208};
    default: return {};
  }
}

// n values' worth of `t` as raw random bytes with finite scales in ±[2^-8, 4].
void random_blocks(tensor_type t, std::int64_t n, std::mt19937& rng, std::uint8_t* out) {
  if (block_elems(t) == 1) {
    const auto x = random_row(rng, n);
    auto ops = *reference_ops_for(t);
    ops->quantize(x.data(), out, n);
    return;
  }
  const std::size_t bytes = row_bytes(t, n);
  for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::uint8_t>(rng());
  std::uniform_real_distribution<float> mag(-8.0f, 2.0f);
  for (std::size_t b = 0; b < bytes; b += block_bytes(t))
    for (int off : half_fields(t)) {
      const float v = std::exp2(mag(rng)) * ((rng() & 1) ? 1.0f : -1.0f);
      const std::uint16_t h = fp32_to_fp16(v);
      std::memcpy(out + b + off, &h, 2);
    }
}

bool fused_offset(tensor_type t) {
  return t == tensor_type::q4_1 || t == tensor_type::q5_1 || t == tensor_type::q4_k || t == tensor_type::q5_k;
}

#define TERN_NEED_FAST_PATH()                                                        \
  if (!have_fast_path()) {                                                           \
    ::tern::test::report_skip("this CPU has no AVX2+FMA+F16C: no fast path to test"); \
    return;                                                                          \
  }

}  // namespace

TEST_CASE("quant fast: ops_for hands out the fast path on an AVX2 CPU") {
  TERN_NEED_FAST_PATH();
  CHECK(std::string(fast_path_name()) == "avx2+fma+f16c");
  for (auto t : all_types()) CHECK(*ops_for(t) != *reference_ops_for(t));
}

TEST_CASE("quant fast: dequantize matches the reference") {
  TERN_NEED_FAST_PATH();
  std::mt19937 rng(11);
  for (auto t : all_types()) {
    auto fast = *ops_for(t);
    auto ref = *reference_ops_for(t);
    for (auto n : awkward_sizes(t)) {
      for (std::size_t offset : {0u, 1u, 5u}) {
        for (bool raw : {false, true}) {
          INFO(to_string(t) << " n=" << n << " offset=" << offset << (raw ? " random bytes" : " quantized"));
          misaligned_bytes q(row_bytes(t, n), offset);
          if (raw) {
            random_blocks(t, n, rng, q.data());
          } else {
            const auto x = random_row(rng, n);
            ref->quantize(x.data(), q.data(), n);
          }
          misaligned_floats a(static_cast<std::size_t>(n), offset), b(static_cast<std::size_t>(n), offset);
          ref->dequantize(q.data(), a.data(), n);
          fast->dequantize(q.data(), b.data(), n);
          const std::int64_t be = block_elems(t);
          for (std::int64_t blk = 0; blk < n; blk += be) {
            float block_max = 0.0f;
            for (std::int64_t i = blk; i < blk + be; ++i) block_max = std::max(block_max, std::fabs(a.data()[i]));
            for (std::int64_t i = blk; i < blk + be; ++i) {
              if (fused_offset(t))
                REQUIRE(std::fabs(a.data()[i] - b.data()[i]) <= 0x1p-21f * block_max);
              else
                REQUIRE(std::memcmp(a.data() + i, b.data() + i, sizeof(float)) == 0);
            }
          }
          CHECK(b.data()[n] == -999.0f);  // nothing written past the end
        }
      }
    }
  }
}

TEST_CASE("quant fast: dot_row agrees with a float64 sum and with the reference") {
  TERN_NEED_FAST_PATH();
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto t : all_types()) {
    auto fast = *ops_for(t);
    auto ref = *reference_ops_for(t);
    for (auto n : awkward_sizes(t)) {
      for (std::size_t offset : {0u, 3u}) {
        for (bool raw : {false, true}) {
          INFO(to_string(t) << " n=" << n << " offset=" << offset << (raw ? " random bytes" : " quantized"));
          misaligned_bytes q(row_bytes(t, n), offset);
          if (raw) {
            random_blocks(t, n, rng, q.data());
          } else {
            const auto w = random_row(rng, n);
            ref->quantize(w.data(), q.data(), n);
          }
          std::vector<float> wd(static_cast<std::size_t>(n));
          ref->dequantize(q.data(), wd.data(), n);
          misaligned_floats x(static_cast<std::size_t>(n), offset);
          for (std::int64_t i = 0; i < n; ++i) x.data()[i] = normal(rng);
          const double exact = dot_f64(wd.data(), x.data(), n);
          // γ_n·Σ|w·x| bounds any order of float summation.
          double tol = double(n + 1) * 0x1p-24 * abs_dot_f64(wd.data(), x.data(), n);
          if (fused_offset(t)) {
            // Each fused weight may differ from the reference's by 2^-21 of
            // its block's magnitude (see the dequantize test).
            const std::int64_t be = block_elems(t);
            for (std::int64_t blk = 0; blk < n; blk += be) {
              float block_max = 0.0f;
              double sum_x = 0.0;
              for (std::int64_t i = blk; i < blk + be; ++i) {
                block_max = std::max(block_max, std::fabs(wd[static_cast<std::size_t>(i)]));
                sum_x += std::fabs(x.data()[i]);
              }
              tol += 0x1p-21 * block_max * sum_x;
            }
          }
          const double got = fast->dot(q.data(), x.data(), n);
          CHECK(std::fabs(got - exact) <= tol);
          CHECK(std::fabs(got - double(ref->dot(q.data(), x.data(), n))) <= 2.0 * tol);
        }
      }
    }
  }
}
