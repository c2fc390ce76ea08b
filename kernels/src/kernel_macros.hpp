// Lets a kernel body be compiled by nvcc (real CUDA) or by the host compiler
// (CPU emulation for tests). Kernel sources include this and use TERN_GLOBAL
// and TERN_DEVICE instead of __global__ and __device__.
#pragma once

#if defined(__CUDACC__)
#define TERN_GLOBAL __global__
#define TERN_DEVICE __device__ __forceinline__
#else
#include "cpu_emulation.hpp"
#define TERN_GLOBAL inline
#define TERN_DEVICE inline
#endif
