// Tensor types on real model files: F16 tensors decode to the values llama.cpp
// printed for them (../shared/reference/qwen2-tiny-random.eval-callback.txt),
// and a real F32 projection through matvec reproduces llama.cpp's output.
#include "fixtures.hpp"
#include "quant_test_util.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/matvec.hpp>
#include <tern/engine/quant.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

using namespace tern::engine;

namespace {

gguf_file load(const std::filesystem::path& path) {
  auto f = gguf_file::open(path);
  if (!f) FAIL(f.error().to_string());
  return std::move(f).value();
}

const gguf_tensor_info& tensor(const gguf_file& f, std::string_view name) {
  auto t = f.tensor(name);
  if (!t) FAIL(t.error().to_string());
  return **t;
}

// Row r of a 2-D tensor, dequantized with the reference and checked against
// the fast path.
std::vector<float> row(const gguf_tensor_info& t, std::uint64_t r) {
  const auto n = static_cast<std::int64_t>(t.ne[0]);
  const auto bytes = *bytes_for(t.type, t.ne[0]);
  const std::uint8_t* src = t.data + r * bytes;
  std::vector<float> ref(static_cast<std::size_t>(n)), fast(ref.size());
  (*reference_ops_for(t.type))->dequantize(src, ref.data(), n);
  dequantize_row(t.type, src, fast.data(), n);
  REQUIRE(std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float)) == 0);
  return ref;
}

// llama.cpp's eval-callback prints values with 4 decimals and sums with 6.
void check_printed(float got, double printed) { CHECK(std::fabs(got - printed) <= 0.5e-4 + 1e-7); }

}  // namespace

TEST_CASE("quant models: qwen2-tiny-random F16 token_embd rows match llama.cpp's GET_ROWS") {
  TERN_NEED_SHARED(path, "models/qwen2-tiny-random.gguf");
  const auto f = load(path);
  const auto& embd = tensor(f, "token_embd.weight");
  REQUIRE(embd.type == tensor_type::f16);
  REQUIRE(embd.ne[0] == 64);
  REQUIRE(embd.ne[1] == 151936);
  // "Hello world" = ids 9707, 1879 (reference/qwen2-tiny-random.json).
  const auto hello = row(embd, 9707);
  const auto world = row(embd, 1879);
  const double hello_first[3] = {-0.0010, -0.0327, 0.0282}, hello_last[3] = {0.0277, -0.0277, 0.0232};
  const double world_first[3] = {0.0094, 0.0089, 0.0014}, world_last[3] = {-0.0055, -0.0170, -0.0120};
  for (int i = 0; i < 3; ++i) {
    check_printed(hello[i], hello_first[i]);
    check_printed(hello[61 + i], hello_last[i]);
    check_printed(world[i], world_first[i]);
    check_printed(world[61 + i], world_last[i]);
  }
  double sum = 0.0;
  for (int i = 0; i < 64; ++i) sum += double(hello[i]) + double(world[i]);
  CHECK(std::fabs(sum - -0.207448) <= 1e-5);

  // Then RMS-norm (eps 1e-6, norm weight 1) and blk.0.attn_q (F32 [64, 64])
  // through matvec, against Qcur-0 = MUL_MAT(attn_q, attn_norm).
  const auto& wq = tensor(f, "blk.0.attn_q.weight");
  REQUIRE(wq.type == tensor_type::f32);
  const auto& norm_w = tensor(f, "blk.0.attn_norm.weight");
  std::vector<float> nw(64);
  dequantize_row(norm_w.type, norm_w.data, nw.data(), 64);
  double q_sum = 0.0;
  std::vector<std::vector<float>> q_rows;
  for (const auto* e : {&hello, &world}) {
    double ss = 0.0;
    for (float v : *e) ss += double(v) * v;
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / 64 + 1e-6));
    std::vector<float> x(64), y(64), y_ref(64);
    for (int i = 0; i < 64; ++i) x[static_cast<std::size_t>(i)] = (*e)[static_cast<std::size_t>(i)] * scale * nw[static_cast<std::size_t>(i)];
    matvec(tensor_type::f32, wq.data, 64, 64, x.data(), y.data());
    matvec(**reference_ops_for(tensor_type::f32), wq.data, 64, 64, x.data(), y_ref.data());
    for (int i = 0; i < 64; ++i) CHECK(std::fabs(y[static_cast<std::size_t>(i)] - y_ref[static_cast<std::size_t>(i)]) <= 1e-6f);
    for (float v : y) q_sum += v;
    q_rows.push_back(y);
  }
  const double q0_first[3] = {-0.2858, -0.1540, 0.0538}, q0_last[3] = {-0.2279, 0.0923, -0.1224};
  const double q1_first[3] = {0.1138, -0.1436, 0.0841}, q1_last[3] = {0.1303, -0.0131, 0.0069};
  for (int i = 0; i < 3; ++i) {
    check_printed(q_rows[0][static_cast<std::size_t>(i)], q0_first[i]);
    check_printed(q_rows[0][static_cast<std::size_t>(61 + i)], q0_last[i]);
    check_printed(q_rows[1][static_cast<std::size_t>(i)], q1_first[i]);
    check_printed(q_rows[1][static_cast<std::size_t>(61 + i)], q1_last[i]);
  }
  CHECK(std::fabs(q_sum - -5.821097) <= 1e-5);
}

TEST_CASE("quant models: llama-2-tiny-random F16 tensors decode exactly on both paths") {
  TERN_NEED_FIXTURE(path, "models/llama-2-tiny-random.gguf");
  const auto f = load(path);
  int n_f16 = 0;
  for (const auto& t : f.tensors()) {
    if (t.type != tensor_type::f16) continue;
    ++n_f16;
    INFO(t.name);
    const auto n = static_cast<std::int64_t>(t.n_elems);
    std::vector<float> ref(static_cast<std::size_t>(n)), fast(ref.size());
    (*reference_ops_for(t.type))->dequantize(t.data, ref.data(), n);
    dequantize_row(t.type, t.data, fast.data(), n);
    REQUIRE(std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float)) == 0);
    for (std::int64_t i = 0; i < n; ++i) {
      // Each value is finite and encodes back to the very bits in the file.
      std::uint16_t bits;
      std::memcpy(&bits, t.data + 2 * i, 2);
      REQUIRE(std::isfinite(ref[static_cast<std::size_t>(i)]));
      REQUIRE(fp32_to_fp16(ref[static_cast<std::size_t>(i)]) == bits);
    }
    // Rows through dot_row (fast) agree with float64 over the decoded values.
    const auto n_cols = static_cast<std::int64_t>(t.ne[0]);
    std::vector<float> x(static_cast<std::size_t>(n_cols));
    for (std::int64_t i = 0; i < n_cols; ++i) x[static_cast<std::size_t>(i)] = std::sin(0.37f * static_cast<float>(i));
    for (std::int64_t r = 0; r < std::min<std::int64_t>(n / n_cols, 64); ++r) {
      const float* w = ref.data() + r * n_cols;
      const double exact = tern::test::quant::dot_f64(w, x.data(), n_cols);
      const double tol = double(n_cols + 1) * 0x1p-24 * tern::test::quant::abs_dot_f64(w, x.data(), n_cols);
      CHECK(std::fabs(dot_row(t.type, t.data + 2 * r * n_cols, x.data(), n_cols) - exact) <= tol);
    }
  }
  CHECK(n_f16 == 9);  // the file's README: 9 F16 + 3 F32 tensors
}
