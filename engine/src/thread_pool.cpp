#include <tern/engine/thread_pool.hpp>

#include <algorithm>

namespace tern::engine {
namespace {
// Workers poll this many times before sleeping on the condition variable: a
// decode step issues hundreds of short products back to back, and a futex
// wake-up per product would cost more than the product itself.
constexpr int k_spin_polls = 2000;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}
}  // namespace

thread_pool::thread_pool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = std::min(n_threads, 512);
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void thread_pool::chunk(std::int64_t n, int parts, int index, std::int64_t* begin, std::int64_t* end) noexcept {
  const std::int64_t base = n / parts;
  const std::int64_t extra = n % parts;  // the first `extra` chunks get one more
  *begin = index * base + std::min<std::int64_t>(index, extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

void thread_pool::run(std::int64_t n, task_fn fn, void* ctx) {
  if (n <= 0) return;
  if (n_threads_ == 1) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard call(call_mutex_);
  {
    std::lock_guard lock(mutex_);
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  std::int64_t begin = 0, end = 0;
  chunk(n, n_threads_, 0, &begin, &end);
  if (begin < end) fn(ctx, begin, end);
  for (int i = 0; i < k_spin_polls && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

void thread_pool::worker(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < k_spin_polls && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
    task_fn fn;
    void* ctx;
    std::int64_t n;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
      seen = generation_.load(std::memory_order_relaxed);
      if (stop_) return;
      fn = fn_;
      ctx = ctx_;
      n = n_;
    }
    std::int64_t begin = 0, end = 0;
    chunk(n, n_threads_, index, &begin, &end);
    if (begin < end) fn(ctx, begin, end);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);  // pairs with the caller's predicate check
      done_.notify_one();
    }
  }
}

}  // namespace tern::engine
