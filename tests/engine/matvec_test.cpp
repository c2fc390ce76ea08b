// matvec / matmul over every tensor type: the reference table against a
// float64 product, the fast table single-threaded against the reference, and
// threaded and batched forms bit-identical to single-threaded matvec.
#include "quant_test_util.hpp"

#include <tern/engine/matvec.hpp>
#include <tern/engine/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace tern::engine;
using namespace tern::test::quant;

TEST_CASE("thread_pool: parallel_for runs every index exactly once") {
  for (int threads : {1, 2, 3, 5}) {
    thread_pool pool(threads);
    CHECK(pool.size() == threads);
    for (std::int64_t n : {0, 1, 2, 3, 7, 100, 1001}) {
      for (int repeat = 0; repeat < 20; ++repeat) {
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
        std::atomic<int> empty_ranges{0};  // counted, not CHECKed: Catch2 assertions are not thread-safe
        pool.parallel_for(n, [&](std::int64_t b, std::int64_t e) {
          if (b >= e) empty_ranges.fetch_add(1);
          for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
        });
        REQUIRE(empty_ranges.load() == 0);
        for (auto& h : hits) REQUIRE(h.load() == 1);
      }
    }
  }
}

TEST_CASE("thread_pool: concurrent callers are serialised, not mixed up") {
  thread_pool pool(3);
  std::atomic<long> total{0};
  auto caller = [&] {
    for (int i = 0; i < 200; ++i)
      pool.parallel_for(64, [&](std::int64_t b, std::int64_t e) { total.fetch_add(e - b); });
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  CHECK(total.load() == 2L * 200 * 64);
  thread_pool automatic(0);
  CHECK(automatic.size() >= 1);
}

TEST_CASE("matvec: every type, reference vs float64, fast vs reference, threads, batches") {
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  thread_pool pool2(2);
  thread_pool pool3(3);
  for (auto t : all_types()) {
    auto ref = *reference_ops_for(t);
    auto fast = *ops_for(t);
    const std::int64_t be = block_elems(t);
    for (std::int64_t n_cols : {be, 3 * be, be == 1 ? std::int64_t{37} : 5 * be}) {
      for (std::int64_t n_rows : {1, 7, 33}) {
        INFO(to_string(t) << " rows=" << n_rows << " cols=" << n_cols);
        const std::size_t stride = row_bytes(t, n_cols);
        misaligned_bytes W(stride * static_cast<std::size_t>(n_rows), 1);
        for (std::int64_t r = 0; r < n_rows; ++r) {
          const auto w = random_row(rng, n_cols);
          ref->quantize(w.data(), W.data() + r * static_cast<std::int64_t>(stride), n_cols);
        }
        std::vector<float> wd(static_cast<std::size_t>(n_rows * n_cols));
        ref->dequantize(W.data(), wd.data(), n_rows * n_cols);
        const std::int64_t n_batch = 3;  // below k_decode_rows_min_batch: one dot per output
        const std::int64_t n_prefill = 6;  // at or above it: rows decoded once
        std::vector<float> X(static_cast<std::size_t>(n_prefill * n_cols));
        for (auto& v : X) v = normal(rng);

        std::vector<float> y_ref(static_cast<std::size_t>(n_rows)), y_fast(y_ref.size()), y_fast2(y_ref.size()),
            y_fast3(y_ref.size());
        matvec(*ref, W.data(), n_rows, n_cols, X.data(), y_ref.data());
        matvec(t, W.data(), n_rows, n_cols, X.data(), y_fast.data());
        matvec(*fast, W.data(), n_rows, n_cols, X.data(), y_fast2.data(), pool2);
        matvec(t, W.data(), n_rows, n_cols, X.data(), y_fast3.data(), pool3);
        // Row r against token b: the exact value (float64 over the reference's
        // weights) and the tolerance: γ_n·Σ|w·x|, plus 2^-21·max|w|·Σ|x| for
        // the fused-offset fast dequantization.
        auto exact_and_tol = [&](std::int64_t r, std::int64_t b, double* tol) {
          const float* wr = wd.data() + r * n_cols;
          const float* xb = X.data() + b * n_cols;
          float wmax = 0.0f;
          double abs_x = 0.0;
          for (std::int64_t j = 0; j < n_cols; ++j) {
            wmax = std::max(wmax, std::fabs(wr[j]));
            abs_x += std::fabs(xb[j]);
          }
          *tol = double(n_cols + 1) * 0x1p-24 * abs_dot_f64(wr, xb, n_cols) + 0x1p-21 * wmax * abs_x;
          return dot_f64(wr, xb, n_cols);
        };
        for (std::int64_t r = 0; r < n_rows; ++r) {
          double tol = 0.0;
          const double exact = exact_and_tol(r, 0, &tol);
          const auto i = static_cast<std::size_t>(r);
          CHECK(std::fabs(y_ref[i] - exact) <= tol);
          CHECK(std::fabs(y_fast[i] - exact) <= tol);
          REQUIRE(std::memcmp(&y_fast[i], &y_fast2[i], sizeof(float)) == 0);
          REQUIRE(std::memcmp(&y_fast[i], &y_fast3[i], sizeof(float)) == 0);
        }

        // Batched: each token's outputs equal matvec on that token.
        std::vector<float> Y(static_cast<std::size_t>(n_batch * n_rows), -1.0f);
        std::vector<float> Y2(Y.size(), -2.0f);
        matmul(t, W.data(), n_rows, n_cols, X.data(), n_batch, Y.data());
        matmul(*fast, W.data(), n_rows, n_cols, X.data(), n_batch, Y2.data(), &pool3);
        for (std::int64_t b = 0; b < n_batch; ++b) {
          std::vector<float> y(static_cast<std::size_t>(n_rows));
          matvec(*fast, W.data(), n_rows, n_cols, X.data() + b * n_cols, y.data());
          REQUIRE(std::memcmp(y.data(), Y.data() + b * n_rows, y.size() * sizeof(float)) == 0);
          REQUIRE(std::memcmp(y.data(), Y2.data() + b * n_rows, y.size() * sizeof(float)) == 0);
        }

        // Prefill-sized batch: within tolerance of float64 (rows decoded once
        // on the fast table); the reference table stays one dot per output.
        std::vector<float> P(static_cast<std::size_t>(n_prefill * n_rows), -3.0f);
        std::vector<float> P_ref(P.size(), -4.0f);
        matmul(*fast, W.data(), n_rows, n_cols, X.data(), n_prefill, P.data(), &pool2);
        matmul(*ref, W.data(), n_rows, n_cols, X.data(), n_prefill, P_ref.data(), &pool3);
        for (std::int64_t b = 0; b < n_prefill; ++b) {
          std::vector<float> y(static_cast<std::size_t>(n_rows));
          matvec(*ref, W.data(), n_rows, n_cols, X.data() + b * n_cols, y.data());
          REQUIRE(std::memcmp(y.data(), P_ref.data() + b * n_rows, y.size() * sizeof(float)) == 0);
          for (std::int64_t r = 0; r < n_rows; ++r) {
            double tol = 0.0;
            const double exact = exact_and_tol(r, b, &tol);
            CHECK(std::fabs(P[static_cast<std::size_t>(b * n_rows + r)] - exact) <= tol);
          }
        }
      }
    }
  }
}

namespace {
// The usage example of quant.hpp / matvec.hpp, as a loader and a forward pass
// would write it: check the type once, then use the table.
tern::result<float> first_output(tensor_type type, const void* W, std::int64_t n_rows, std::int64_t n_cols,
                                 const float* x, thread_pool& pool) {
  TERN_TRY(const auto* ops, tern::engine::ops_for(type));  // errc::unsupported for e.g. q2_k
  std::vector<float> y(static_cast<std::size_t>(n_rows));
  matvec(*ops, W, n_rows, n_cols, x, y.data(), pool);
  CHECK(y[0] == ops->dot(W, x, n_cols));  // row 0 · x
  return y[0];
}
}  // namespace

TEST_CASE("matvec: the header's usage example") {
  thread_pool pool(2);
  std::vector<float> w(64 * 3, 0.5f), x(64, 2.0f);
  std::vector<std::uint8_t> q(3 * 2 * 34);
  quantize_row(tensor_type::q8_0, w.data(), q.data(), 64 * 3);
  auto y0 = first_output(tensor_type::q8_0, q.data(), 3, 64, x.data(), pool);
  REQUIRE(y0);
  CHECK(*y0 == Approx(64.0f).epsilon(1e-3));  // 127·d' = 0.5 up to the binary16 rounding of d (2^-11)
  auto bad = first_output(tensor_type::q2_k, q.data(), 3, 64, x.data(), pool);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == tern::errc::unsupported);
}
