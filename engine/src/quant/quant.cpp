// The type tables and run-time choice between the reference and fast paths.
#include "quant/blocks.hpp"

#include <fmt/format.h>

#include <array>

namespace tern::engine {
namespace {

using namespace detail;

#define TERN_QUANT_ROW_(t, elems, bytes) \
  type_ops { tensor_type::t, elems, bytes, ref_dequantize_##t, ref_quantize_##t, ref_dot_##t }
const std::array<type_ops, 11> k_reference = {{
    TERN_QUANT_ROW_(f32, 1, 4),
    TERN_QUANT_ROW_(f16, 1, 2),
    TERN_QUANT_ROW_(bf16, 1, 2),
    TERN_QUANT_ROW_(q4_0, k_qk, k_q4_0_bytes),
    TERN_QUANT_ROW_(q4_1, k_qk, k_q4_1_bytes),
    TERN_QUANT_ROW_(q5_0, k_qk, k_q5_0_bytes),
    TERN_QUANT_ROW_(q5_1, k_qk, k_q5_1_bytes),
    TERN_QUANT_ROW_(q8_0, k_qk, k_q8_0_bytes),
    TERN_QUANT_ROW_(q4_k, k_qk_k, k_q4_k_bytes),
    TERN_QUANT_ROW_(q5_k, k_qk_k, k_q5_k_bytes),
    TERN_QUANT_ROW_(q6_k, k_qk_k, k_q6_k_bytes),
}};
#undef TERN_QUANT_ROW_

const type_ops* find_reference(tensor_type type) noexcept {
  for (const auto& ops : k_reference)
    if (ops.type == type) return &ops;
  return nullptr;
}

error unsupported(tensor_type type) {
  return fail(errc::unsupported,
              fmt::format("tensor type {} is not supported (supported: f32, f16, bf16, q8_0, q4_0, q4_1, "
                          "q5_0, q5_1, q4_k, q5_k, q6_k)",
                          to_string(type)));
}

bool use_fast_path() noexcept {
  static const bool use = cpu_has_avx2_fma_f16c();
  return use;
}

const type_ops& checked_ops(tensor_type type) {
  auto ops = ops_for(type);
  TERN_ASSERT(ops.has_value(), "quant: row function called for an unsupported tensor type (check ops_for at load)");
  return **ops;
}

}  // namespace

bool is_supported(tensor_type type) noexcept { return find_reference(type) != nullptr; }

result<const type_ops*> reference_ops_for(tensor_type type) {
  if (const auto* ops = find_reference(type)) return ops;
  return unsupported(type);
}

result<const type_ops*> ops_for(tensor_type type) {
  if (use_fast_path())
    if (const auto* ops = fast_ops(type)) return ops;
  return reference_ops_for(type);
}

bool have_fast_path() noexcept { return use_fast_path(); }
const char* fast_path_name() noexcept { return use_fast_path() ? "avx2+fma+f16c" : "reference"; }

void dequantize_row(tensor_type type, const void* src, float* dst, std::int64_t n) {
  const auto& ops = checked_ops(type);
  TERN_ASSERT(n >= 0 && n % ops.block_elems == 0, "dequantize_row: n is not a whole number of blocks");
  ops.dequantize(src, dst, n);
}

void quantize_row(tensor_type type, const float* src, void* dst, std::int64_t n) {
  const auto& ops = checked_ops(type);
  TERN_ASSERT(n >= 0 && n % ops.block_elems == 0, "quantize_row: n is not a whole number of blocks");
  ops.quantize(src, dst, n);
}

float dot_row(tensor_type type, const void* row, const float* x, std::int64_t n) {
  const auto& ops = checked_ops(type);
  TERN_ASSERT(n >= 0 && n % ops.block_elems == 0, "dot_row: n is not a whole number of blocks");
  return ops.dot(row, x, n);
}

}  // namespace tern::engine
