// Runs each CUDA kernel on a real GPU and compares it with the same kernel
// source run on the CPU (cpu_emulation.hpp). Plain C++ with no test framework
// or Boost, so it also builds on a bare CUDA machine. It must be compiled by
// the host compiler (the .cuh then builds through the CPU emulation):
//   nvcc -std=c++17 -c -Ikernels/include -Ikernels/src kernels/src/*.cu
//   g++ -std=c++20 -Ikernels/include -Ikernels/src -I/usr/local/cuda/include tests/kernels/gpu_check.cpp \
//       *.o -L/usr/local/cuda/lib64 -lcudart -o gpu_check
// Without a GPU it prints "TERN-SKIP: <reason>" (ctest reports it skipped) and exits 0.
#include <tern/kernels/cuda.hpp>

#include "silu_mul.cuh"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

int failures = 0;

#define CHECK_CUDA(call)                                                               \
  do {                                                                                 \
    cudaError_t err_ = (call);                                                         \
    if (err_ != cudaSuccess) {                                                         \
      std::printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorName(err_)); \
      return false;                                                                    \
    }                                                                                  \
  } while (0)

bool check_silu_mul(long n) {
  std::mt19937 rng(static_cast<unsigned>(n));
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> gate(n), up(n), gpu_out(n), cpu_out(n);
  for (long i = 0; i < n; ++i) {
    gate[i] = dist(rng);
    up[i] = dist(rng);
  }
  using tern::kernels::emu::dim3;
  tern::kernels::emu::launch(dim3{3, 1, 1}, dim3{128, 1, 1}, tern::kernels::detail::silu_mul_kernel, gate.data(),
                             up.data(), cpu_out.data(), n);

  float *d_gate = nullptr, *d_up = nullptr, *d_out = nullptr;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float) + 4;
  CHECK_CUDA(cudaMalloc(&d_gate, bytes));
  CHECK_CUDA(cudaMalloc(&d_up, bytes));
  CHECK_CUDA(cudaMalloc(&d_out, bytes));
  CHECK_CUDA(cudaMemcpy(d_gate, gate.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_up, up.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  const int rc = tern::kernels::silu_mul_f32(d_gate, d_up, d_out, n, nullptr);
  if (rc != 0) {
    std::printf("FAIL silu_mul_f32 n=%ld: %s\n", n, tern::kernels::error_name(rc));
    return false;
  }
  CHECK_CUDA(cudaDeviceSynchronize());
  CHECK_CUDA(cudaMemcpy(gpu_out.data(), d_out, n * sizeof(float), cudaMemcpyDeviceToHost));
  cudaFree(d_gate);
  cudaFree(d_up);
  cudaFree(d_out);

  // GPU expf differs from the host's in the last bits: 1e-5 relative, 1e-6 absolute.
  double worst = 0;
  for (long i = 0; i < n; ++i) {
    const double diff = std::fabs(double(gpu_out[i]) - cpu_out[i]);
    const double tol = 1e-5 * std::fabs(cpu_out[i]) + 1e-6;
    if (diff > tol) {
      std::printf("FAIL silu_mul n=%ld i=%ld gpu=%.9g cpu=%.9g\n", n, i, gpu_out[i], cpu_out[i]);
      return false;
    }
    worst = std::fmax(worst, diff);
  }
  std::printf("ok   silu_mul n=%ld (max abs diff %.3g)\n", n, worst);
  return true;
}

}  // namespace

int main() {
  const auto probe = tern::kernels::probe_devices();
  if (!probe.available) {
    std::printf("TERN-SKIP: %s\n", probe.description.c_str());
    return 0;
  }
  std::printf("device: %s\n", probe.description.c_str());
  for (long n : {1L, 255L, 256L, 257L, 100003L, 1L << 24})
    if (!check_silu_mul(n)) ++failures;
  std::printf("%d passed, %d failed\n", 6 - failures, failures);
  return failures == 0 ? 0 : 1;
}
