// Monotonic time for measuring durations (never the wall clock).
//
//   tern::stopwatch sw;
//   work();
//   double ms = sw.elapsed_ms();
#pragma once

#include <chrono>
#include <cstdint>

namespace tern {

using mono_clock = std::chrono::steady_clock;

// Nanoseconds since an arbitrary fixed point; only differences mean anything.
inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now().time_since_epoch()).count();
}

class stopwatch {
 public:
  stopwatch() noexcept : start_(mono_clock::now()) {}
  void reset() noexcept { start_ = mono_clock::now(); }
  std::chrono::nanoseconds elapsed() const noexcept { return mono_clock::now() - start_; }
  double elapsed_us() const noexcept { return std::chrono::duration<double, std::micro>(elapsed()).count(); }
  double elapsed_ms() const noexcept { return std::chrono::duration<double, std::milli>(elapsed()).count(); }
  double elapsed_s() const noexcept { return std::chrono::duration<double>(elapsed()).count(); }

 private:
  mono_clock::time_point start_;
};

}  // namespace tern
