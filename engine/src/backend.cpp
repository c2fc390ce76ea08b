#include <tern/engine/backend.hpp>

#if TERN_HAVE_CUDA
#include <tern/kernels/cuda.hpp>
#endif

namespace tern::engine {

backend_report probe_backends() {
  backend_report report;
#if TERN_HAVE_CUDA
  report.cuda_compiled = true;
  const auto probe = kernels::probe_devices();
  report.cuda_available = probe.available;
  report.cuda_line = probe.available ? "cuda: " + probe.description
                                     : "cuda: " + probe.description + "; using the CPU";
#else
  report.cuda_line = "cuda: not compiled in (built with TERN_CUDA=OFF or without nvcc); using the CPU";
#endif
  return report;
}

}  // namespace tern::engine
