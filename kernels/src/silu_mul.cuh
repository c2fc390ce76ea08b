// SwiGLU's elementwise step: out = silu(gate) * up.
// Grid-stride loop, one float per thread per iteration. Compiled by nvcc in
// silu_mul.cu and by the host compiler in tests/kernels/silu_mul_test.cpp.
#pragma once

#include "kernel_macros.hpp"

namespace tern::kernels::detail {

TERN_GLOBAL void silu_mul_kernel(const float* gate, const float* up, float* out, long n) {
  const long stride = static_cast<long>(blockDim.x) * gridDim.x;
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

}  // namespace tern::kernels::detail
