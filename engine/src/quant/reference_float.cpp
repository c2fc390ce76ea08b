// Reference path for the plain float types: f32, f16, bf16.
#include "quant/blocks.hpp"

#include <cstring>

namespace tern::engine::detail {

void ref_dequantize_f32(const void* src, float* dst, std::int64_t n) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
void ref_quantize_f32(const float* src, void* dst, std::int64_t n) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
float ref_dot_f32(const void* row, const float* x, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) {
    float w;
    std::memcpy(&w, p + i * 4, sizeof w);
    sum += w * x[i];
  }
  return sum;
}

void ref_dequantize_f16(const void* src, float* dst, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  for (std::int64_t i = 0; i < n; ++i) dst[i] = load_half(p + i * 2);
}
void ref_quantize_f16(const float* src, void* dst, std::int64_t n) {
  auto* p = static_cast<std::uint8_t*>(dst);
  for (std::int64_t i = 0; i < n; ++i) store_u16(p + i * 2, fp32_to_fp16(src[i]));
}
float ref_dot_f16(const void* row, const float* x, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) sum += load_half(p + i * 2) * x[i];
  return sum;
}

void ref_dequantize_bf16(const void* src, float* dst, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(src);
  for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(load_u16(p + i * 2));
}
void ref_quantize_bf16(const float* src, void* dst, std::int64_t n) {
  auto* p = static_cast<std::uint8_t*>(dst);
  for (std::int64_t i = 0; i < n; ++i) store_u16(p + i * 2, fp32_to_bf16(src[i]));
}
float ref_dot_bf16(const void* row, const float* x, std::int64_t n) {
  const auto* p = static_cast<const std::uint8_t*>(row);
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(load_u16(p + i * 2)) * x[i];
  return sum;
}

}  // namespace tern::engine::detail
