// Matrix-vector and matrix-matrix products with quantized weights and float32
// activations: the inner loop of every linear layer.
//
// Dimension letters (ggml order, fastest-varying first):
//   c = n_cols  (input features; one weight row holds n_cols values)
//   r = n_rows  (output features)
//   b = n_batch (tokens of a prefill)
//   W: `type` [c, r]  — n_rows rows of n_cols values, row i at
//                       W + i · row_bytes, row_bytes = bytes_for(type, n_cols);
//                       straight from the memory-mapped file, no alignment needed
//   x: f32 [c]        y: f32 [r]        y[i] = Σ_j W[i, j] · x[j]
//   X: f32 [c, b]     Y: f32 [r, b]     (X row t = token t; Y row t = its outputs)
//
// Preconditions (our bugs if broken, checked by TERN_ASSERT): n_cols a
// multiple of the type's block size; the type supported (look it up with
// ops_for() when the model loads). Outputs must not overlap inputs.
// matvec computes each output as one dot of the given table: matvec with the
// reference table is the reference path, and threads only split rows, so a
// threaded product is bit-identical to the single-threaded one.
#pragma once

#include <tern/engine/quant.hpp>
#include <tern/engine/thread_pool.hpp>

#include <cstdint>

namespace tern::engine {

// y = W·x on the calling thread.
void matvec(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y);
// The same, rows split across the pool's threads.
void matvec(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y,
            thread_pool& pool);
// Shorthands through ops_for(type) (precondition: is_supported(type)).
void matvec(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y);
void matvec(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y,
            thread_pool& pool);

// Y = X·Wᵀ for a batch: Y[t, i] = Σ_j W[i, j] · X[t, j]. Each weight row is
// read once for the whole batch (rows outer, tokens inner), which is what
// makes prefill cheaper per token than repeated matvec. pool may be null.
// With the reference table, a float type (f32, f16, bf16), or fewer than
// k_decode_rows_min_batch tokens, every output is one dot (bit-identical to
// matvec on that token). Otherwise each quantized row is dequantized once to
// float32 and dotted with every token; the
// results then differ from matvec only by float summation order (within
// n_cols·2^-24 of Σ|w·x|).
inline constexpr std::int64_t k_decode_rows_min_batch = 4;
void matmul(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* X,
            std::int64_t n_batch, float* Y, thread_pool* pool = nullptr);
void matmul(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* X,
            std::int64_t n_batch, float* Y, thread_pool* pool = nullptr);

}  // namespace tern::engine
