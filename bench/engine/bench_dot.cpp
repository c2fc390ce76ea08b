// Tensor types: matvec throughput per type, in GB/s of weight bytes read, for
// the Qwen2.5-0.5B FFN shape (4864 x 896; the K types need rows that are a
// multiple of 256, so they use 4864 x 1024 — in a real Q4_K_M Qwen2.5-0.5B
// those tensors fall back to q5_0/q8_0 for exactly that reason).
//
// For each type: the reference path (1 thread), the fast path on 1 and on 2
// threads. The bound is a plain streaming read of the same bytes (the sum of
// 64-bit words) on as many threads: a matvec cannot beat reading its weights.
// Printed at the end: GB/s (best of the repetitions), fast/reference, and fast
// as a fraction of the bound.
//
//   cmake -S . -B build-bench -G Ninja -DTERN_CUDA=OFF -DTERN_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release
//   ninja -C build-bench bench_dot
//   ./build-bench/bench/bench_dot --benchmark_min_time=0.1 --benchmark_repetitions=5
#include <tern/engine/matvec.hpp>
#include <tern/engine/quant.hpp>
#include <tern/engine/thread_pool.hpp>

#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tern::engine;

namespace {

constexpr std::int64_t k_rows = 4864;
constexpr std::int64_t k_cols = 896;
constexpr std::int64_t k_cols_k = 1024;

struct matrix {
  tensor_type type;
  std::int64_t n_cols;
  std::vector<std::uint8_t> bytes;
  std::vector<float> x;
  std::vector<float> y;
};

std::map<tensor_type, std::unique_ptr<matrix>>& matrices() {
  static std::map<tensor_type, std::unique_ptr<matrix>> m;
  return m;
}

matrix& get_matrix(tensor_type t) {
  auto& slot = matrices()[t];
  if (!slot) {
    const auto& ops = **reference_ops_for(t);
    const std::int64_t n_cols = ops.block_elems == 256 ? k_cols_k : k_cols;
    slot = std::make_unique<matrix>();
    slot->type = t;
    slot->n_cols = n_cols;
    slot->bytes.resize(static_cast<std::size_t>(*bytes_for(t, static_cast<std::uint64_t>(k_rows * n_cols))));
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> row(static_cast<std::size_t>(n_cols));
    const std::size_t stride = slot->bytes.size() / k_rows;
    for (std::int64_t r = 0; r < k_rows; ++r) {
      for (auto& v : row) v = normal(rng);
      ops.quantize(row.data(), slot->bytes.data() + r * static_cast<std::int64_t>(stride), n_cols);
    }
    slot->x.resize(static_cast<std::size_t>(n_cols));
    for (auto& v : slot->x) v = normal(rng) * 50.0f;
    slot->y.resize(k_rows);
  }
  return *slot;
}

thread_pool& pool(int n) {
  static thread_pool p1(1), p2(2);
  return n == 1 ? p1 : p2;
}

void bm_matvec(benchmark::State& state, tensor_type t, bool fast, int threads) {
  auto& m = get_matrix(t);
  const type_ops& ops = fast ? **ops_for(t) : **reference_ops_for(t);
  for (auto _ : state) {
    matvec(ops, m.bytes.data(), k_rows, m.n_cols, m.x.data(), m.y.data(), pool(threads));
    benchmark::DoNotOptimize(m.y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(m.bytes.size()));
}

// Prefill: a batch of k_batch tokens through matmul (rows decoded once), on
// one thread. Bytes counted once per token, so GB/s compares with matvec's.
constexpr std::int64_t k_batch = 16;
void bm_matmul(benchmark::State& state, tensor_type t) {
  auto& m = get_matrix(t);
  std::vector<float> X(static_cast<std::size_t>(k_batch * m.n_cols));
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = m.x[i % m.x.size()];
  std::vector<float> Y(static_cast<std::size_t>(k_batch * k_rows));
  const type_ops& ops = **ops_for(t);
  for (auto _ : state) {
    matmul(ops, m.bytes.data(), k_rows, m.n_cols, X.data(), k_batch, Y.data(), nullptr);
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * k_batch *
                          static_cast<std::int64_t>(m.bytes.size()));
}

// The bound: read the same bytes and do nothing else with them (AVX2 loads
// into 4 independent integer sums, the cheapest way to touch every byte).
__attribute__((target("avx2"))) std::uint64_t read_bytes(const std::uint8_t* p, std::size_t n) {
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  std::size_t i = 0;
  for (; i + 128 <= n; i += 128)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_add_epi64(acc[k], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32 * k)));
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3])));
  std::uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < n; ++i) s += p[i];
  return s;
}

void bm_read(benchmark::State& state, tensor_type t, int threads) {
  auto& m = get_matrix(t);
  const std::size_t n = m.bytes.size();
  std::uint64_t sums[2] = {0, 0};
  for (auto _ : state) {
    pool(threads).parallel_for(threads, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t part = b; part < e; ++part) {
        const std::size_t lo = n * static_cast<std::size_t>(part) / static_cast<std::size_t>(threads);
        const std::size_t hi = n * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(threads);
        sums[part] += read_bytes(m.bytes.data() + lo, hi - lo);
      }
    });
    benchmark::DoNotOptimize(sums);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

// Collects GB/s per benchmark name while printing the usual console output.
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Aggregate) continue;
      const double seconds = run.GetAdjustedRealTime() * benchmark::GetTimeUnitMultiplier(run.time_unit);
      const auto it = run.counters.find("bytes_per_second");
      std::string name = run.benchmark_name();
      if (const auto cut = name.find("/real_time"); cut != std::string::npos) name.erase(cut);
      // Best of the repetitions: on a shared machine the slow runs measure
      // the neighbours, not this code.
      if (it != run.counters.end() && seconds > 0.0) gbps[name] = std::max(gbps[name], it->second.value / 1e9);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> gbps;
};

const tensor_type k_types[] = {tensor_type::f32,  tensor_type::f16,  tensor_type::bf16, tensor_type::q8_0,
                               tensor_type::q4_0, tensor_type::q4_1, tensor_type::q5_0, tensor_type::q5_1,
                               tensor_type::q4_k, tensor_type::q5_k, tensor_type::q6_k};

}  // namespace

int main(int argc, char** argv) {
  // 1-thread figures use CPU time (Google Benchmark's default), which on a
  // shared machine does not count the time other processes hold the core;
  // 2-thread figures need wall time (the workers' CPU time is not counted).
  for (auto t : k_types) {
    const std::string n = to_string(t);
    const auto us = benchmark::kMicrosecond;
    benchmark::RegisterBenchmark(("read/" + n + "/1").c_str(), bm_read, t, 1)->Unit(us);
    benchmark::RegisterBenchmark(("read/" + n + "/2").c_str(), bm_read, t, 2)->UseRealTime()->Unit(us);
    benchmark::RegisterBenchmark(("ref/" + n + "/1").c_str(), bm_matvec, t, false, 1)->Unit(us);
    benchmark::RegisterBenchmark(("fast/" + n + "/1").c_str(), bm_matvec, t, true, 1)->Unit(us);
    benchmark::RegisterBenchmark(("fast/" + n + "/2").c_str(), bm_matvec, t, true, 2)->UseRealTime()->Unit(us);
    benchmark::RegisterBenchmark(("prefill/" + n + "/1").c_str(), bm_matmul, t)->Unit(us);
  }
  benchmark::Initialize(&argc, argv);
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  auto g = [&](const std::string& key) {
    auto it = reporter.gbps.find(key);
    return it == reporter.gbps.end() ? 0.0 : it->second;
  };
  fmt::print("\nmatvec {}x{} (K types {}x{}), fast path: {}; GB/s of weight bytes read\n", k_rows, k_cols, k_rows,
             k_cols_k, fast_path_name());
  fmt::print("bound = streaming read of the same bytes on the same threads; 1T from CPU time, 2T from wall time\n");
  fmt::print("prefill = matmul of {} tokens on 1 thread, GB/s counting the weights once per token\n", k_batch);
  fmt::print("{:<6} {:>9} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>12}\n", "type", "MB", "ref 1T", "fast 1T",
             "fast 2T", "fast/ref", "bound 1T", "1T/bound", "2T/bound", "prefill", "prefill/fast");
  for (auto t : k_types) {
    const std::string n = to_string(t);
    const double ref = g("ref/" + n + "/1"), f1 = g("fast/" + n + "/1"), f2 = g("fast/" + n + "/2");
    const double b1 = g("read/" + n + "/1"), b2 = g("read/" + n + "/2"), pf = g("prefill/" + n + "/1");
    if (ref == 0.0 || f1 == 0.0) continue;  // filtered out
    fmt::print("{:<6} {:>9.2f} {:>8.2f} {:>9.2f} {:>9.2f} {:>9.1f}x {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>11.1f}x\n", n,
               get_matrix(t).bytes.size() / 1e6, ref, f1, f2, f1 / ref, b1, b1 > 0 ? f1 / b1 : 0.0,
               b2 > 0 ? f2 / b2 : 0.0, pf, pf / f1);
  }
  return 0;
}
