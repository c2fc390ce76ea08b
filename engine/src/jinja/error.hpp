// Errors inside the interpreter. The interpreter unwinds with an exception
// (template_error) from deep inside evaluation; chat_template.cpp catches it
// at the API boundary and turns it into a tern::error, so no exception
// crosses the engine API.
#pragma once

#include <tern/core/error.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tern::engine::jinja {

// 1-based line and column (in bytes) of a construct in the template source.
struct source_pos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

class template_error : public std::runtime_error {
 public:
  template_error(errc code, source_pos pos, std::string message)
      : std::runtime_error(message), code_(code), pos_(pos) {}
  errc code() const noexcept { return code_; }
  source_pos pos() const noexcept { return pos_; }

 private:
  errc code_;
  source_pos pos_;
};

[[noreturn]] inline void throw_parse(source_pos pos, std::string message) {
  throw template_error(errc::parse_error, pos, std::move(message));
}
[[noreturn]] inline void throw_runtime(source_pos pos, std::string message) {
  throw template_error(errc::invalid_argument, pos, std::move(message));
}
[[noreturn]] inline void throw_limit(source_pos pos, std::string message) {
  throw template_error(errc::limit_exceeded, pos, std::move(message));
}

}  // namespace tern::engine::jinja
