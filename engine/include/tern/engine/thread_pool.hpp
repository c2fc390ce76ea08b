// A small pool of engine-owned threads for splitting one operation (a
// matrix-vector product, a batch of rows) across cores. Plain std::thread;
// the engine never runs inference on a caller's io_context threads.
//
//   tern::engine::thread_pool pool(4);            // the caller + 3 workers
//   pool.parallel_for(n_rows, [&](std::int64_t begin, std::int64_t end) { ... });
//
// Thread safety: parallel_for may be called from any thread; concurrent calls
// on one pool run one after the other. The callable must not throw (the
// engine API never throws) and must not call parallel_for on the same pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tern::engine {

class thread_pool {
 public:
  // n_threads: threads that share the work, counting the calling thread
  // (1 = no workers, everything runs on the caller); 0 = one per hardware
  // thread. Values above 512 are clamped.
  explicit thread_pool(int n_threads = 0);
  ~thread_pool();  // wakes and joins the workers
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int size() const noexcept { return n_threads_; }

  // Splits [0, n) into size() contiguous chunks of near-equal length and runs
  // fn(begin, end) for each non-empty one, the first on the calling thread.
  // Returns when all chunks are done.
  template <class Fn>
  void parallel_for(std::int64_t n, Fn&& fn) {
    run(n, [](void* ctx, std::int64_t b, std::int64_t e) { (*static_cast<std::remove_reference_t<Fn>*>(ctx))(b, e); },
        &fn);
  }

 private:
  using task_fn = void (*)(void* ctx, std::int64_t begin, std::int64_t end);
  void run(std::int64_t n, task_fn fn, void* ctx);
  void worker(int index);
  static void chunk(std::int64_t n, int parts, int index, std::int64_t* begin, std::int64_t* end) noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time

  // The current job, published under mutex_ with a new generation number.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  task_fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::int64_t n_ = 0;
};

}  // namespace tern::engine
