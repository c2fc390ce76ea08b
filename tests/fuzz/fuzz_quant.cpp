// Tensor types on arbitrary bytes (what a corrupt or hostile model file holds):
// every supported type's dequantize and dot, reference and fast, must stay in
// bounds and agree with each other. First input byte: the type (index into the
// supported list); the rest: the row's blocks (whole blocks only).
#include <tern/engine/quant.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace tern::engine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tensor_type types[] = {tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q8_0,
                                      tensor_type::q4_0, tensor_type::q4_1, tensor_type::q5_0, tensor_type::q5_1,
                                      tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k};
  if (size < 1) return 0;
  const tensor_type t = types[data[0] % std::size(types)];
  const auto* ref = *reference_ops_for(t);
  const auto* fast = *ops_for(t);
  const std::size_t n_blocks = (size - 1) / ref->block_bytes;
  const auto n = static_cast<std::int64_t>(n_blocks * ref->block_elems);
  if (n == 0) return 0;
  // Copies at exact size so that ASan sees any read past the row.
  std::vector<std::uint8_t> row(data + 1, data + 1 + n_blocks * ref->block_bytes);
  std::vector<float> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n)), x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = std::cos(0.1f * static_cast<float>(i));
  ref->dequantize(row.data(), a.data(), n);
  fast->dequantize(row.data(), b.data(), n);
  double scale = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float u = a[static_cast<std::size_t>(i)], v = b[static_cast<std::size_t>(i)];
    if (std::isnan(u) != std::isnan(v)) std::abort();
    if (std::isfinite(u)) scale = std::max(scale, std::fabs(double(u)));
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const float u = a[static_cast<std::size_t>(i)], v = b[static_cast<std::size_t>(i)];
    if (std::isfinite(u) && std::fabs(double(u) - v) > 1e-6 * scale + 1e-30) std::abort();
  }
  const float d1 = ref->dot(row.data(), x.data(), n);
  const float d2 = fast->dot(row.data(), x.data(), n);
  (void)d1;
  (void)d2;  // may be inf/NaN for hostile scales; only memory safety matters here
  std::vector<std::uint8_t> back(row.size());
  ref->quantize(a.data(), back.data(), n);
  return 0;
}
