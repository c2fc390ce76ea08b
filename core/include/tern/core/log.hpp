// Logging to stderr, quiet by default (warnings and errors only).
//
//   tern::log::info("loaded {} tensors from {}", n, path);
//   tern::log::set_level(tern::log::level::debug);   // or TERN_LOG=debug in the environment
//
// Thread safety: each message is written with one fwrite, so lines from
// different threads never interleave. Never log secrets (auth headers, keys).
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace tern::log {

enum class level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

void set_level(level lvl) noexcept;
level current_level() noexcept;
// "trace" .. "off"; nullopt for anything else.
std::optional<level> parse_level(std::string_view name) noexcept;
// Applies TERN_LOG from the environment if it names a level; called by the CLI.
void init_from_env() noexcept;

void write(level lvl, std::string_view message) noexcept;

template <class... Args>
void log(level lvl, fmt::format_string<Args...> format, Args&&... args) {
  if (lvl < current_level()) return;
  write(lvl, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... a) { log(level::trace, f, std::forward<Args>(a)...); }
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { log(level::debug, f, std::forward<Args>(a)...); }
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { log(level::info, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { log(level::warn, f, std::forward<Args>(a)...); }
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { log(level::error, f, std::forward<Args>(a)...); }

}  // namespace tern::log
