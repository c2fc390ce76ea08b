// Tensor types: dequantize, quantize and dot products over rows of GGUF
// tensor data (the block layouts of tensor_type.hpp, byte-exact as llama.cpp
// writes them).
//
// Supported: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k.
// Everything else (q2_k, q3_k, q8_1, q8_k, integer types, IQ*) is reported as
// errc::unsupported by ops_for(); callers check each tensor's type once, when
// a model loads, and keep the returned table.
//
// Two implementations of every operation:
//  - the reference path (plain scalar C++, engine/src/quant/reference_*.cpp),
//    which every other path is tested against;
//  - the fast path (AVX2+FMA+F16C on x86-64), chosen at run time when the CPU
//    has those instructions, so one binary still runs on CPUs without them.
//
// Usage (compiled in tests/engine/matvec_test.cpp):
//   TERN_TRY(const auto* ops, tern::engine::ops_for(type));  // once, at load
//   float y0 = ops->dot(W, x, n_cols);                        // row 0 · x
//   matvec(*ops, W, n_rows, n_cols, x, y, pool);              // matvec.hpp
//
// Units: n is a count of values (not blocks, not bytes); for quantized types it
// must be a multiple of the type's block size (32, or 256 for the K types) —
// a precondition, checked by TERN_ASSERT, because a loader that validated the
// tensor's shape (bytes_for) has already made sure of it.
//
// Alignment: quantized data comes straight from a memory-mapped GGUF file,
// aligned only to the file's alignment, and a row of blocks (e.g. 34-byte
// q8_0 blocks) may start at any byte. No function here needs any alignment of
// its quantized buffers or of its float buffers.
//
// Thread safety: every function here is pure (reads its inputs, writes only
// its output); call them from any number of threads on disjoint outputs.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/tensor_type.hpp>

#include <cstdint>

namespace tern::engine {

// ---- Half-precision conversions -------------------------------------------

// IEEE binary16 bits -> float. Exact (every half is a float); subnormals,
// +-0, +-inf and NaN (payload kept, quiet) map to their float counterparts.
float fp16_to_fp32(std::uint16_t h) noexcept;
// float -> IEEE binary16 bits, rounding to nearest, ties to even. Values at or
// beyond 65520 round to inf; values below the smallest subnormal (2^-24) round
// to (signed) zero or to it; NaN stays a quiet NaN with the sign kept.
std::uint16_t fp32_to_fp16(float f) noexcept;

// bfloat16 bits (the upper half of a float) -> float. Exact.
float bf16_to_fp32(std::uint16_t h) noexcept;
// float -> bfloat16 bits, rounding to nearest, ties to even; NaN stays a quiet
// NaN (never rounds into inf), inf stays inf.
std::uint16_t fp32_to_bf16(float f) noexcept;

// ---- Per-type operations ---------------------------------------------------

// The functions of one tensor type. All take n = number of values, a multiple
// of block_elems. The table is static: pointers stay valid for the process.
struct type_ops {
  tensor_type type;
  std::uint32_t block_elems;  // values per block (1 for f32/f16/bf16)
  std::uint32_t block_bytes;  // bytes per block

  // src: n values' worth of blocks (n / block_elems * block_bytes bytes);
  // dst: n floats.
  void (*dequantize)(const void* src, float* dst, std::int64_t n);
  // src: n floats; dst: the blocks (n / block_elems * block_bytes bytes).
  // Round-to-nearest quantization (K types included: a valid block that
  // decodes close to src, not llama.cpp's error-minimising search). Finite
  // input expected; the bounds are stated in tests/engine/quant_*_test.cpp.
  void (*quantize)(const float* src, void* dst, std::int64_t n);
  // Σ_i w_i · x_i over one row, w the dequantized row (n values), x float32.
  // The fast path keeps x in float32 (no 8-bit quantization of activations);
  // it differs from the reference only by the order of float additions.
  float (*dot)(const void* row, const float* x, std::int64_t n);
};

// True for the types listed at the top of this file.
bool is_supported(tensor_type type) noexcept;

// The fastest table this CPU can run for `type` (the fast path when the CPU
// has AVX2, FMA and F16C, else the reference). errc::unsupported, naming the
// type, for types Tern does not implement.
result<const type_ops*> ops_for(tensor_type type);

// Always the plain scalar reference (for tests and for checking fast paths).
result<const type_ops*> reference_ops_for(tensor_type type);

// Whether ops_for() hands out the AVX2+FMA+F16C path on this machine.
bool have_fast_path() noexcept;
// "avx2+fma+f16c" or "reference": for logs and benchmark output.
const char* fast_path_name() noexcept;

// Shorthands through ops_for(type). Precondition: is_supported(type) (check it
// once with ops_for() at load time; an unsupported type here trips an assert),
// and n a multiple of the block size.
void dequantize_row(tensor_type type, const void* src, float* dst, std::int64_t n);
void quantize_row(tensor_type type, const float* src, void* dst, std::int64_t n);
float dot_row(tensor_type type, const void* row, const float* x, std::int64_t n);

}  // namespace tern::engine
