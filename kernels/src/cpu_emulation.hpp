// CPU emulation of the CUDA execution model, for running kernel sources in
// tests on machines without a GPU. Each (block, thread) pair runs in turn on
// the calling thread, so kernels that need __syncthreads or warp shuffles
// cannot use this shim: they need their own emulation strategy.
#pragma once

#include <math.h>  // ::expf and friends, which kernel sources call unqualified as in CUDA

namespace tern::kernels::emu {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// The "built-in" variables, set before each emulated thread runs.
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

// Runs kernel(args...) for every thread of every block, like kernel<<<grid, block>>>(args...).
template <class Kernel, class... Args>
void launch(dim3 grid, dim3 block, Kernel kernel, Args... args) {
  gridDim = grid;
  blockDim = block;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx) {
              blockIdx = {bx, by, bz};
              threadIdx = {tx, ty, tz};
              kernel(args...);
            }
}

}  // namespace tern::kernels::emu

// Kernel sources refer to these unqualified, as in CUDA.
using tern::kernels::emu::blockDim;
using tern::kernels::emu::blockIdx;
using tern::kernels::emu::gridDim;
using tern::kernels::emu::threadIdx;
