#include <tern/engine/matvec.hpp>

#include <vector>

namespace tern::engine {
namespace {

std::int64_t row_bytes_of(const type_ops& ops, std::int64_t n_cols) {
  TERN_ASSERT(n_cols >= 0 && n_cols % ops.block_elems == 0, "matvec: n_cols is not a whole number of blocks");
  return n_cols / ops.block_elems * ops.block_bytes;
}

const type_ops& checked(tensor_type type) {
  auto ops = ops_for(type);
  TERN_ASSERT(ops.has_value(), "matvec: unsupported tensor type (check ops_for when the model loads)");
  return **ops;
}

// Rows [begin, end) of Y = X·Wᵀ.
void rows(const type_ops& ops, const std::uint8_t* w, std::int64_t stride, std::int64_t n_rows, std::int64_t n_cols,
          const float* X, std::int64_t n_batch, float* Y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    const std::uint8_t* row = w + i * stride;
    for (std::int64_t t = 0; t < n_batch; ++t) Y[t * n_rows + i] = ops.dot(row, X + t * n_cols, n_cols);
  }
}

// Rows [begin, end) of Y = X·Wᵀ for a prefill-sized batch: each weight row is
// decoded once into float32 and then dotted with every token by the f32
// table of the same family, so the (costly) decode is paid once per row
// rather than once per row and token.
void rows_decoded(const type_ops& ops, const type_ops& f32, const std::uint8_t* w, std::int64_t stride,
                  std::int64_t n_rows, std::int64_t n_cols, const float* X, std::int64_t n_batch, float* Y,
                  std::int64_t begin, std::int64_t end) {
  std::vector<float> decoded(static_cast<std::size_t>(n_cols));
  for (std::int64_t i = begin; i < end; ++i) {
    ops.dequantize(w + i * stride, decoded.data(), n_cols);
    for (std::int64_t t = 0; t < n_batch; ++t) Y[t * n_rows + i] = f32.dot(decoded.data(), X + t * n_cols, n_cols);
  }
}

}  // namespace

void matvec(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y) {
  matmul(ops, W, n_rows, n_cols, x, 1, y, nullptr);
}

void matvec(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y,
            thread_pool& pool) {
  matmul(ops, W, n_rows, n_cols, x, 1, y, &pool);
}

void matvec(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y) {
  matmul(checked(type), W, n_rows, n_cols, x, 1, y, nullptr);
}

void matvec(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* x, float* y,
            thread_pool& pool) {
  matmul(checked(type), W, n_rows, n_cols, x, 1, y, &pool);
}

void matmul(const type_ops& ops, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* X,
            std::int64_t n_batch, float* Y, thread_pool* pool) {
  TERN_ASSERT(n_rows >= 0 && n_batch >= 0, "matmul: negative size");
  const std::int64_t stride = row_bytes_of(ops, n_cols);
  const auto* w = static_cast<const std::uint8_t*>(W);
  const type_ops* reference = *reference_ops_for(ops.type);
  // f32/f16/bf16 rows convert as cheaply as they load: decoding them first
  // only adds a pass (measured in bench_dot), so only block types do it.
  const bool decode_rows = n_batch >= k_decode_rows_min_batch && &ops != reference && ops.block_elems > 1;
  const type_ops& f32 = **ops_for(tensor_type::f32);
  auto work = [&](std::int64_t begin, std::int64_t end) {
    if (decode_rows)
      rows_decoded(ops, f32, w, stride, n_rows, n_cols, X, n_batch, Y, begin, end);
    else
      rows(ops, w, stride, n_rows, n_cols, X, n_batch, Y, begin, end);
  };
  if (pool == nullptr || pool->size() == 1)
    work(0, n_rows);
  else
    pool->parallel_for(n_rows, work);
}

void matmul(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols, const float* X,
            std::int64_t n_batch, float* Y, thread_pool* pool) {
  matmul(checked(type), W, n_rows, n_cols, X, n_batch, Y, pool);
}

}  // namespace tern::engine
