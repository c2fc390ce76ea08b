// Which compute backends this build and this machine offer.
#pragma once

#include <string>

namespace tern::engine {

struct backend_report {
  bool cuda_compiled = false;   // built with the CUDA kernels (nvcc was found)
  bool cuda_available = false;  // ... and a usable device and driver were found now
  std::string cuda_line;        // one line for users: "cuda: NVIDIA H100 (sm_90, 79 GiB)" or
                                // "cuda: no CUDA device: cudaErrorNoDevice (...); using the CPU"
};

// Probes once per call (cheap: one runtime query). Never fails: a missing GPU
// or driver is reported in cuda_line and the CPU path is used.
backend_report probe_backends();

}  // namespace tern::engine
