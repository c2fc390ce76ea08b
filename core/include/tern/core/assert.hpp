// TERN_ASSERT: for our own bugs only. Bad input is a tern::error, never an assert.
// Active in every build type: a broken invariant stops the process with the
// file, line and message rather than corrupting data.
#pragma once

namespace tern::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* msg) noexcept;
}

#define TERN_ASSERT(cond, msg)                                        \
  do {                                                                \
    if (!(cond)) [[unlikely]]                                         \
      ::tern::detail::assert_failed(#cond, __FILE__, __LINE__, msg);  \
  } while (0)
