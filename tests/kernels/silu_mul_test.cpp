// Runs the CUDA kernel's own source on the CPU (cpu_emulation.hpp) and checks
// it against a plain reference, on sizes around the block size and odd grids.
#include "silu_mul.cuh"

#include <tern/engine/backend.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace {
float silu_mul_reference(float g, float u) { return static_cast<float>(g / (1.0 + std::exp(-double(g))) * u); }
}  // namespace

TEST_CASE("kernels: silu_mul source on the CPU matches the reference") {
  using tern::kernels::emu::dim3;
  std::mt19937 rng(1234);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (long n : {0L, 1L, 7L, 255L, 256L, 257L, 1000L, 4097L}) {
    for (unsigned blocks : {1u, 3u}) {
      std::vector<float> gate(n), up(n), out(n, -999.0f);
      for (long i = 0; i < n; ++i) {
        gate[i] = dist(rng);
        up[i] = dist(rng);
      }
      tern::kernels::emu::launch(dim3{blocks, 1, 1}, dim3{256, 1, 1}, tern::kernels::detail::silu_mul_kernel,
                                 gate.data(), up.data(), out.data(), n);
      for (long i = 0; i < n; ++i) {
        INFO("n=" << n << " blocks=" << blocks << " i=" << i);
        CHECK(out[i] == Approx(silu_mul_reference(gate[i], up[i])).epsilon(1e-5).margin(1e-6));
      }
    }
  }
}

TEST_CASE("kernels: the backend probe never fails and explains itself in one line") {
  const auto report = tern::engine::probe_backends();
  CHECK_FALSE(report.cuda_line.empty());
  CHECK(report.cuda_line.find('\n') == std::string::npos);
  CHECK(report.cuda_line.rfind("cuda: ", 0) == 0);
  if (!report.cuda_available) CHECK_THAT(report.cuda_line, Catch::Contains("using the CPU"));
}
