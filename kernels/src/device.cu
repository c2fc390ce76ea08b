#include <tern/kernels/cuda.hpp>

#include <cuda_runtime.h>

#include <string>

namespace tern::kernels {

device_probe probe_devices() noexcept {
  device_probe probe;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    probe.description = std::string("no CUDA device: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return probe;
  }
  if (count == 0) {
    probe.description = "no CUDA device: the driver reports 0 devices";
    return probe;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    probe.description = "no CUDA device: cannot read device 0 properties";
    return probe;
  }
  const auto gib = static_cast<long long>(static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0) + 0.5);
  probe.available = true;
  probe.device_count = count;
  probe.description = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) +
                      ", " + std::to_string(gib) + " GiB)" + (count > 1 ? " and more" : "");
  return probe;
}

const char* error_name(int code) noexcept { return cudaGetErrorName(static_cast<cudaError_t>(code)); }

}  // namespace tern::kernels
