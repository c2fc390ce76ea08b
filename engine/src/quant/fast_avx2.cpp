// Fast path: AVX2 + FMA + F16C on x86-64 (placeholder until the kernels land:
// no fast tables yet, so ops_for() hands out the reference path).
#include "quant/blocks.hpp"

namespace tern::engine::detail {

bool cpu_has_avx2_fma_f16c() noexcept { return false; }
const type_ops* fast_ops(tensor_type) noexcept { return nullptr; }

}  // namespace tern::engine::detail
