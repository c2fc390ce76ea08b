// Host-side launchers for Tern's CUDA kernels.
//
// kernels/ knows nothing of the rest of Tern: plain C++ over raw device
// pointers and a stream (a cudaStream_t passed as void*; nullptr = default
// stream). Every launcher returns 0 on success or a CUDA error code, and
// never throws. Kernel bodies live in src/*.cuh so that the same source also
// runs on the CPU under tests (see src/cpu_emulation.hpp).
#pragma once

#include <string>

namespace tern::kernels {

struct device_probe {
  bool available = false;   // a usable CUDA device and driver were found
  int device_count = 0;
  std::string description;  // "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)" or "no CUDA device: <reason>"
};

// Asks the CUDA runtime for devices. A missing driver or GPU is not an error:
// it comes back as available == false with the runtime's reason.
device_probe probe_devices() noexcept;

// out[i] = silu(gate[i]) * up[i] for i < n, silu(x) = x / (1 + exp(-x)).
// gate, up, out: device pointers to n floats (out may alias gate or up).
int silu_mul_f32(const float* gate, const float* up, float* out, long n, void* stream) noexcept;

// Name of a CUDA error code returned above ("cudaErrorNoDevice").
const char* error_name(int code) noexcept;

}  // namespace tern::kernels
