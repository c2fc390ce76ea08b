// IEEE binary16 and bfloat16 conversions (scalar; exact decode, round to
// nearest even on encode). The fast path decodes halves with F16C instead.
#include <tern/engine/quant.hpp>

#include <bit>
#include <cmath>
#include <cstdint>

namespace tern::engine {

float fp16_to_fp32(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    // Zero or subnormal: mant · 2^-24, exact in float.
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(mag));
  }
  if (exp == 31) {
    // Inf (mant 0) or NaN: payload moved to the top of the float mantissa.
    return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  }
  // Rebias the exponent: 127 - 15 = 112.
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

std::uint16_t fp32_to_fp16(float f) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t mag = bits & 0x7FFFFFFFu;
  if (mag > 0x7F800000u)  // NaN: quiet, keep the top payload bits
    return static_cast<std::uint16_t>(sign | 0x7E00u | ((mag >> 13) & 0x3FFu));
  // 65520 (0x477FF000) is the midpoint between 65504 and 65536; the tie goes
  // to the even mantissa, which is the overflow to inf.
  if (mag >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);
  if (mag < 0x38800000u) {
    // Below the smallest normal half (2^-14): a subnormal in units of 2^-24.
    // The scaled value is < 1024 and exact; nearbyint rounds ties to even
    // (the default rounding mode). 1024 correctly becomes the smallest normal.
    const float units = std::bit_cast<float>(mag) * 0x1p24f;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(units)));
  }
  // Normal: add just under half an ulp (plus the lsb, for ties to even) and
  // truncate; a carry out of the mantissa correctly bumps the exponent.
  const std::uint32_t rounded = mag + 0xFFFu + ((mag >> 13) & 1u) - (112u << 23);
  return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

float bf16_to_fp32(std::uint16_t h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

std::uint16_t fp32_to_bf16(float f) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
  // Ties to even; finite values near FLT_MAX round to inf as IEEE requires.
  return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace tern::engine
