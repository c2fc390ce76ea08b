// Tensor types, reference path: half-precision conversions against known bit
// patterns, hand-built blocks of every type against values worked out from
// the layout, quantize -> dequantize within the stated bound per type, and
// dot products against a float64 sum.
#include "quant_test_util.hpp"

#include <tern/engine/quant.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace tern::engine;
using namespace tern::test::quant;

TEST_CASE("quant: fp16 conversions match known bit patterns") {
  CHECK(fp32_to_fp16(1.0f) == 0x3C00);
  CHECK(fp32_to_fp16(-2.0f) == 0xC000);
  CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);
  CHECK(fp32_to_fp16(0.0f) == 0x0000);
  CHECK(fp32_to_fp16(-0.0f) == 0x8000);
  CHECK(fp32_to_fp16(0x1p-24f) == 0x0001);            // smallest subnormal
  CHECK(fp32_to_fp16(1023 * 0x1p-24f) == 0x03FF);     // largest subnormal
  CHECK(fp32_to_fp16(0x1p-14f) == 0x0400);            // smallest normal
  CHECK(fp32_to_fp16(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(fp32_to_fp16(-std::numeric_limits<float>::infinity()) == 0xFC00);
  const std::uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  CHECK((nan & 0x7C00) == 0x7C00);
  CHECK((nan & 0x03FF) != 0);
  CHECK((fp32_to_fp16(-std::numeric_limits<float>::quiet_NaN()) & 0x8000) == 0x8000);
  // Rounding: ties to even, overflow at the midpoint 65520, underflow.
  CHECK(fp32_to_fp16(65519.0f) == 0x7BFF);
  CHECK(fp32_to_fp16(65520.0f) == 0x7C00);
  CHECK(fp32_to_fp16(1e6f) == 0x7C00);
  CHECK(fp32_to_fp16(1.0f + 0x1p-11f) == 0x3C00);      // tie -> even (down)
  CHECK(fp32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3C02);  // tie -> even (up)
  CHECK(fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3C01);
  CHECK(fp32_to_fp16(0x1p-25f) == 0x0000);             // tie between 0 and 2^-24 -> 0
  CHECK(fp32_to_fp16(3 * 0x1p-25f) == 0x0002);         // tie between 1 and 2 units -> 2
  CHECK(fp32_to_fp16(0x1p-25f * 1.01f) == 0x0001);
  CHECK(fp32_to_fp16(1e-10f) == 0x0000);
  CHECK(fp32_to_fp16(-1e-10f) == 0x8000);
  CHECK(fp32_to_fp16(0x1p-14f - 0x1p-26f) == 0x0400);  // rounds up into the normals

  CHECK(fp16_to_fp32(0x3C00) == 1.0f);
  CHECK(fp16_to_fp32(0xC000) == -2.0f);
  CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
  CHECK(fp16_to_fp32(0x0001) == 0x1p-24f);
  CHECK(fp16_to_fp32(0x03FF) == 1023 * 0x1p-24f);
  CHECK(fp16_to_fp32(0x8001) == -0x1p-24f);
  CHECK(std::signbit(fp16_to_fp32(0x8000)));
  CHECK(fp16_to_fp32(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(fp16_to_fp32(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(fp16_to_fp32(0x7E00)));
  CHECK(std::isnan(fp16_to_fp32(0x7C01)));
}

TEST_CASE("quant: every fp16 survives a round trip; encoding picks the nearest half") {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      REQUIRE(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
      continue;
    }
    REQUIRE(fp32_to_fp16(f) == h);
  }
  // Random floats in the half range: no half is nearer than the one chosen.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> exponent(-27.0f, 16.0f);
  for (int i = 0; i < 20000; ++i) {
    const float f = std::exp2(exponent(rng)) * ((rng() & 1) ? 1.0f : -1.0f);
    if (std::fabs(f) >= 65504.0f) continue;
    const std::uint16_t h = fp32_to_fp16(f);
    const double err = std::fabs(double(fp16_to_fp32(h)) - f);
    for (int step : {-1, 1}) {
      const auto other = static_cast<std::uint16_t>(h + step);
      if ((other & 0x7C00) == 0x7C00 || ((h ^ other) & 0x8000)) continue;
      REQUIRE(err <= std::fabs(double(fp16_to_fp32(other)) - f));
    }
  }
}

TEST_CASE("quant: bf16 conversions match known bit patterns") {
  CHECK(fp32_to_bf16(1.0f) == 0x3F80);
  CHECK(fp32_to_bf16(-2.0f) == 0xC000);
  CHECK(fp32_to_bf16(0.0f) == 0x0000);
  CHECK(fp32_to_bf16(-0.0f) == 0x8000);
  CHECK(fp32_to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(fp32_to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(fp32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // past the last midpoint
  CHECK(fp32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);                     // tie -> even
  CHECK(fp32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82);
  CHECK(fp32_to_bf16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(fp32_to_bf16(0x1p-130f) == 0x0008);  // bf16 keeps float's subnormals (bit 19 of the float)
  // A NaN whose payload sits only in the low 16 bits must not become inf.
  const std::uint16_t nan = fp32_to_bf16(std::bit_cast<float>(0x7F800001u));
  CHECK((nan & 0x7F80) == 0x7F80);
  CHECK((nan & 0x007F) != 0);
  CHECK(bf16_to_fp32(0x3F80) == 1.0f);
  CHECK(bf16_to_fp32(0xC000) == -2.0f);
  CHECK(bf16_to_fp32(0x7F80) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(bf16_to_fp32(0x7FC0)));
  CHECK(bf16_to_fp32(0x0001) == 0x1p-133f);
}

namespace {
std::vector<float> decode(tensor_type t, const std::vector<std::uint8_t>& blk) {
  auto ops = reference_ops_for(t);
  REQUIRE(ops);
  std::vector<float> out(info(t).block_elems);
  (*ops)->dequantize(blk.data(), out.data(), static_cast<std::int64_t>(out.size()));
  return out;
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v & 0xFF);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
}  // namespace

// Each block below is built byte by byte from the layout in the GGUF/ggml
// sources, and the expected values worked out by hand.
TEST_CASE("quant: hand-built q8_0, q4_0, q4_1, q5_0, q5_1 blocks decode as laid out") {
  {
    std::vector<std::uint8_t> b(34, 0);
    put16(b, 0, 0x3800);  // d = 0.5
    b[2 + 0] = 0x81;      // -127
    b[2 + 5] = 0xFE;      // -2
    b[2 + 31] = 0x7F;     // 127
    auto y = decode(tensor_type::q8_0, b);
    CHECK(y[0] == -63.5f);
    CHECK(y[5] == -1.0f);
    CHECK(y[31] == 63.5f);
    CHECK(y[1] == 0.0f);
  }
  {
    std::vector<std::uint8_t> b(18, 0x88);  // all codes 8 -> 0
    put16(b, 0, 0x4000);                    // d = 2
    b[2 + 0] = 0x1F;  // value 0: low nibble 15 -> 7·2; value 16: high nibble 1 -> -7·2
    b[2 + 15] = 0x80;  // value 15: 0 -> -16; value 31: 8 -> 0
    auto y = decode(tensor_type::q4_0, b);
    CHECK(y[0] == 14.0f);
    CHECK(y[16] == -14.0f);
    CHECK(y[15] == -16.0f);
    CHECK(y[31] == 0.0f);
    CHECK(y[7] == 0.0f);
  }
  {
    std::vector<std::uint8_t> b(20, 0);
    put16(b, 0, 0x3C00);  // d = 1
    put16(b, 2, 0xBC00);  // m = -1
    b[4 + 3] = 0xA5;      // value 3: 5 -> 4; value 19: 10 -> 9
    auto y = decode(tensor_type::q4_1, b);
    CHECK(y[3] == 4.0f);
    CHECK(y[19] == 9.0f);
    CHECK(y[0] == -1.0f);
  }
  {
    std::vector<std::uint8_t> b(22, 0);
    put16(b, 0, 0x3C00);  // d = 1
    b[2] = 0x01;          // qh bit 0 (value 0) ...
    b[4] = 0x02;          // ... and bit 17 (value 17), little-endian u32
    b[6 + 1] = 0x70;      // value 1: low nibble 0; value 17: high nibble 7
    auto y = decode(tensor_type::q5_0, b);
    CHECK(y[0] == 0.0f);    // 16 - 16
    CHECK(y[16] == -16.0f);  // 0 - 16
    CHECK(y[1] == -16.0f);
    CHECK(y[17] == 7.0f);  // (7 | 16) - 16
  }
  {
    std::vector<std::uint8_t> b(24, 0);
    put16(b, 0, 0x3800);  // d = 0.5
    put16(b, 2, 0x3C00);  // m = 1
    b[4 + 3] = 0x80;      // qh bit 31 (value 31)
    b[8 + 15] = 0xF0;     // value 15: 0; value 31: 15 | 16
    auto y = decode(tensor_type::q5_1, b);
    CHECK(y[15] == 1.0f);
    CHECK(y[31] == 16.5f);  // 31·0.5 + 1
  }
}

TEST_CASE("quant: hand-built q4_k, q5_k, q6_k blocks decode as laid out") {
  // Scales shared by q4_k/q5_k: sub-block 1 (low 6 bits of bytes 1 and 5):
  // scale 3, min 2; sub-block 5 (nibbles of byte 9, top bits of bytes 1 and 5):
  // scale 1 | 1<<4 = 17, min 2 | 2<<4 = 34.
  auto k4_header = [](std::vector<std::uint8_t>& b) {
    put16(b, 0, 0x3C00);  // d = 1
    put16(b, 2, 0x3800);  // dmin = 0.5
    b[4 + 1] = 3 | 0x40;
    b[4 + 5] = 2 | 0x80;
    b[4 + 9] = 0x21;
  };
  {
    std::vector<std::uint8_t> b(144, 0);
    k4_header(b);
    b[16 + 4] = 0x70;       // value 4 (sub-block 0: scale 0) and value 36 (sub-block 1): 7
    b[16 + 64 + 2] = 0x90;  // value 130 (sub-block 4) and value 162 (sub-block 5): 9
    auto y = decode(tensor_type::q4_k, b);
    CHECK(y[4] == 0.0f);
    CHECK(y[36] == 3.0f * 7 - 0.5f * 2);
    CHECK(y[130] == 0.0f);
    CHECK(y[162] == 17.0f * 9 - 0.5f * 34);
    CHECK(y[32] == -1.0f);  // code 0 in sub-block 1: just the min
  }
  {
    std::vector<std::uint8_t> b(176, 0);
    k4_header(b);
    b[16 + 4] = 0x02;        // qh[4] bit 1: bit 4 of value 36 (sub-block 1)
    b[16 + 2] = 0x20;        // qh[2] bit 5: bit 4 of value 162 (sub-block 5)
    b[48 + 4] = 0x70;        // value 36: low bits 7
    b[48 + 64 + 2] = 0x90;   // value 162: low bits 9
    auto y = decode(tensor_type::q5_k, b);
    CHECK(y[36] == 3.0f * (7 + 16) - 0.5f * 2);
    CHECK(y[162] == 17.0f * (9 + 16) - 0.5f * 34);
    CHECK(y[4] == 0.0f);
  }
  {
    std::vector<std::uint8_t> b(210, 0);
    put16(b, 208, 0x3C00);  // d = 1
    for (int s = 0; s < 16; ++s) b[192 + s] = 1;
    b[192 + 3] = static_cast<std::uint8_t>(-2);
    b[192 + 12] = 5;
    // value 48: half 0, group k = 1, l = 16 -> scale 3, low bits ql[48] low nibble, high bits qh[16] bits 2-3
    b[48] = 0x05;
    b[128 + 16] = 0x0C;
    // value 200: half 1, k = 2, l = 8 -> scale 12, low bits ql[64 + 8] high nibble, high bits qh[32 + 8] bits 4-5
    b[64 + 8] = 0xA0;
    b[128 + 32 + 8] = 0x10;
    auto y = decode(tensor_type::q6_k, b);
    CHECK(y[0] == -32.0f);                  // all-zero codes: -32 · scale 1
    CHECK(y[48] == -2.0f * ((5 | 48) - 32));
    CHECK(y[200] == 5.0f * ((10 | 16) - 32));
    CHECK(y[255] == -32.0f);
  }
}

TEST_CASE("quant: quantize -> dequantize stays within each type's bound") {
  std::mt19937 rng(42);
  for (auto t : all_types()) {
    auto ops = reference_ops_for(t);
    REQUIRE(ops);
    for (auto n : awkward_sizes(t)) {
      for (std::size_t offset : {0u, 1u, 3u}) {
        INFO(to_string(t) << " n=" << n << " offset=" << offset);
        const auto x = random_row(rng, n);
        misaligned_bytes q(row_bytes(t, n), offset);
        misaligned_floats y(static_cast<std::size_t>(n), offset);
        (*ops)->quantize(x.data(), q.data(), n);
        (*ops)->dequantize(q.data(), y.data(), n);
        const auto bound = roundtrip_bounds(t, x);
        double worst_ratio = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
          const double err = std::fabs(double(y.data()[i]) - x[i]);
          if (bound[i] > 0.0) worst_ratio = std::max(worst_ratio, err / bound[i]);
          else REQUIRE(err == 0.0);
        }
        CHECK(worst_ratio <= 1.0);
        // The bound is not vacuous: the quantized row carries the signal.
        double num = 0.0, den = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
          num += (double(y.data()[i]) - x[i]) * (double(y.data()[i]) - x[i]);
          den += double(x[i]) * x[i];
        }
        CHECK(num <= 0.05 * den);
      }
    }
  }
}

TEST_CASE("quant: an all-zero row and tiny values quantize to valid blocks") {
  for (auto t : all_types()) {
    auto ops = *reference_ops_for(t);
    const std::int64_t n = ops->block_elems == 1 ? 8 : ops->block_elems;
    for (float v : {0.0f, 1e-30f, -1e-9f}) {
      INFO(to_string(t) << " v=" << v);
      std::vector<float> x(static_cast<std::size_t>(n), v), y(static_cast<std::size_t>(n), 99.0f);
      std::vector<std::uint8_t> q(row_bytes(t, n));
      ops->quantize(x.data(), q.data(), n);
      ops->dequantize(q.data(), y.data(), n);
      for (float f : y) {
        REQUIRE(std::isfinite(f));
        REQUIRE(std::fabs(f - v) <= 1e-8f);
      }
    }
  }
}

TEST_CASE("quant: reference dot_row agrees with a float64 sum over the dequantized row") {
  std::mt19937 rng(43);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto t : all_types()) {
    auto ops = *reference_ops_for(t);
    for (auto n : awkward_sizes(t)) {
      INFO(to_string(t) << " n=" << n);
      const auto w = random_row(rng, n);
      misaligned_bytes q(row_bytes(t, n), 1);
      ops->quantize(w.data(), q.data(), n);
      std::vector<float> wd(static_cast<std::size_t>(n)), x(static_cast<std::size_t>(n));
      ops->dequantize(q.data(), wd.data(), n);
      for (auto& v : x) v = normal(rng);
      const double exact = dot_f64(wd.data(), x.data(), n);
      // Summing n float products in any order is within γ_n = n·2^-24 of the
      // exact sum, relative to Σ|w·x| (the standard floating-point bound).
      const double tol = double(n + 1) * 0x1p-24 * abs_dot_f64(wd.data(), x.data(), n);
      CHECK(std::fabs(double(ops->dot(q.data(), x.data(), n)) - exact) <= tol);
      CHECK(std::fabs(double(dot_row(t, q.data(), x.data(), n)) - exact) <= tol);
    }
  }
}

TEST_CASE("quant: unsupported types are errors, not asserts") {
  for (auto t : {tensor_type::q2_k, tensor_type::q3_k, tensor_type::q8_1, tensor_type::q8_k, tensor_type::i32,
                 static_cast<tensor_type>(99)}) {
    INFO(to_string(t));
    CHECK_FALSE(is_supported(t));
    auto ops = ops_for(t);
    REQUIRE_FALSE(ops);
    CHECK(ops.error().code() == tern::errc::unsupported);
    CHECK_THAT(ops.error().message(), Catch::Contains(to_string(t)));
    CHECK_FALSE(reference_ops_for(t));
  }
  for (auto t : all_types()) {
    CHECK(is_supported(t));
    auto ops = ops_for(t);
    REQUIRE(ops);
    CHECK((*ops)->type == t);
    CHECK((*ops)->block_bytes == info(t).block_bytes);
    CHECK((*ops)->block_elems == info(t).block_elems);
  }
}

TEST_CASE("quant: non-finite input gives valid, finite blocks (no undefined float->int casts)") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto t : all_types()) {
    if (block_elems(t) == 1) continue;  // f32/f16/bf16 keep inf and NaN as such
    auto ops = *reference_ops_for(t);
    const std::int64_t n = block_elems(t);
    for (int pattern = 0; pattern < 4; ++pattern) {
      INFO(to_string(t) << " pattern " << pattern);
      std::vector<float> x(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = std::sin(float(i)) * 3.0f;
      if (pattern == 0) x[3] = inf;
      if (pattern == 1) x[5] = -inf;
      if (pattern == 2) x[7] = nan;
      if (pattern == 3) x.assign(x.size(), 1e30f);
      std::vector<std::uint8_t> q(row_bytes(t, n));
      std::vector<float> y(static_cast<std::size_t>(n));
      ops->quantize(x.data(), q.data(), n);
      ops->dequantize(q.data(), y.data(), n);
      for (float v : y) REQUIRE(std::isfinite(v));
    }
  }
}
