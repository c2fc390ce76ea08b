#include <tern/kernels/cuda.hpp>

#include "silu_mul.cuh"

#include <cuda_runtime.h>

namespace tern::kernels {

int silu_mul_f32(const float* gate, const float* up, float* out, long n, void* stream) noexcept {
  if (n <= 0) return 0;
  constexpr int threads = 256;
  const long wanted = (n + threads - 1) / threads;
  const int blocks = static_cast<int>(wanted < 65535 ? wanted : 65535);
  detail::silu_mul_kernel<<<blocks, threads, 0, static_cast<cudaStream_t>(stream)>>>(gate, up, out, n);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace tern::kernels
