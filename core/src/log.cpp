#include <tern/core/log.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tern::log {
namespace {
std::atomic<level> g_level{level::warn};

std::string_view name_of(level lvl) {
  switch (lvl) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "?";
}
}  // namespace

void set_level(level lvl) noexcept { g_level.store(lvl, std::memory_order_relaxed); }
level current_level() noexcept { return g_level.load(std::memory_order_relaxed); }

std::optional<level> parse_level(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(level::off); ++i)
    if (name_of(static_cast<level>(i)) == name) return static_cast<level>(i);
  return std::nullopt;
}

void init_from_env() noexcept {
  if (const char* env = std::getenv("TERN_LOG"))
    if (auto lvl = parse_level(env)) set_level(*lvl);
}

void write(level lvl, std::string_view message) noexcept {
  if (lvl < current_level()) return;
  try {
    std::string line = fmt::format("tern [{}] {}\n", name_of(lvl), message);
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    // Logging must never take the process down (e.g. out of memory while formatting).
  }
}

}  // namespace tern::log
