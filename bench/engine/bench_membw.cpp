// Memory read bandwidth probe: the bound for decode speed. Generating one
// token reads every weight once, so tok/s <= bandwidth / weight bytes per token.
//
//   bench_membw [--mib N] [--reps N] [--threads N]
//
// Reads a buffer larger than the last-level cache (default 512 MiB, about the
// size of the Qwen2.5-0.5B-shaped Q8_0 benchmark model) with 1 thread and with
// every hardware thread, best of --reps passes, and prints GB/s (1e9 bytes/s)
// and the decode bound it implies for that model.
#include <tern/core/clock.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// Bytes of weights read per generated token by the benchmark model
// (tern make-model --arch qwen2 --layers 24 --hidden 896 --heads 14
// --kv-heads 2 --ffn 4864 --tied --type q8_0: 525,120,000 bytes of tensor data).
constexpr double k_model_bytes = 525120000.0;

// Sums 64-bit words with independent accumulators so the loads, not the adds,
// set the pace (the compiler vectorises this loop).
std::uint64_t read_words(const std::uint64_t* p, std::size_t n) {
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
    a4 += p[i + 4];
    a5 += p[i + 5];
    a6 += p[i + 6];
    a7 += p[i + 7];
  }
  for (; i < n; ++i) a0 += p[i];
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

// One timed pass over the whole buffer split across n_threads; returns GB/s.
double pass(const std::uint64_t* buf, std::size_t n_words, unsigned n_threads, std::uint64_t& sink) {
  std::vector<std::thread> threads;
  std::vector<std::uint64_t> sums(n_threads, 0);
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  const std::size_t chunk = n_words / n_threads;
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back([&, t] {
      const std::size_t begin = t * chunk;
      const std::size_t end = t + 1 == n_threads ? n_words : begin + chunk;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      sums[t] = read_words(buf + begin, end - begin);
    });
  }
  while (ready.load() != n_threads) {
  }
  const auto t0 = tern::now_ns();
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();
  const auto t1 = tern::now_ns();
  for (auto s : sums) sink += s;
  return static_cast<double>(n_words * 8) / static_cast<double>(t1 - t0);  // bytes/ns = GB/s
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = 512;
  int reps = 5;
  unsigned max_threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view opt = argv[i];
    const long v = std::strtol(argv[i + 1], nullptr, 10);
    if (v <= 0) {
      fmt::print(stderr, "bench_membw: {} needs a positive number\n", opt);
      return 2;
    }
    if (opt == "--mib")
      mib = static_cast<std::size_t>(v);
    else if (opt == "--reps")
      reps = static_cast<int>(v);
    else if (opt == "--threads")
      max_threads = static_cast<unsigned>(v);
    else {
      fmt::print(stderr, "usage: bench_membw [--mib N] [--reps N] [--threads N]\n");
      return 2;
    }
  }

  const std::size_t n_words = mib * 1024 * 1024 / 8;
  auto* buf = static_cast<std::uint64_t*>(::operator new(n_words * 8, std::align_val_t{64}));
  // Touch every page (and give it non-zero content) before timing.
  for (std::size_t i = 0; i < n_words; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;

  std::uint64_t sink = 0;
  std::vector<unsigned> counts = {1};
  if (max_threads > 1) counts.push_back(max_threads);
  fmt::print("memory read bandwidth: {} MiB buffer, best of {} passes\n", mib, reps);
  double best_all = 0;
  for (unsigned n : counts) {
    double best = 0;
    for (int r = 0; r < reps; ++r) best = std::max(best, pass(buf, n_words, n, sink));
    fmt::print("  {} thread{}: {:.2f} GB/s\n", n, n == 1 ? " " : "s", best);
    best_all = std::max(best_all, best);
  }
  fmt::print("decode bound for the Qwen2.5-0.5B-shaped Q8_0 model ({:.1f} MB of weights per token): "
             "{:.1f} tok/s at {:.2f} GB/s\n",
             k_model_bytes / 1e6, best_all * 1e9 / k_model_bytes, best_all);
  ::operator delete(buf, std::align_val_t{64});
  return sink == 42 ? 1 : 0;  // keeps the sums alive
}
