// tern::error: the one error type of the code base.
//
// Failures that come from input (file bytes, JSON, tool arguments, HTTP, model
// output, Lua) are values of this type, carried by tern::result<T>. An error
// says *what* went wrong (code + message) and *where* (a chain of context
// frames such as "model.gguf", "tensor 'blk.0.attn_q.weight'", "byte 1234",
// "/properties/date"), outermost first when printed.
// Asserts (TERN_ASSERT) are for our own bugs only, never for bad input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern {

// Broad category, so callers can branch without parsing messages.
enum class errc {
  invalid_argument,  // a caller passed something unusable (bad option, bad schema)
  parse_error,       // malformed bytes: JSON, GGUF, HTTP, template, Lua source
  io_error,          // a file or socket operation failed
  not_found,         // a named thing does not exist (file, key, tool, tensor)
  unsupported,       // well-formed but beyond what we implement (names the feature)
  limit_exceeded,    // a size, depth, time or budget limit was hit
  timeout,           // an operation ran past its deadline
  cancelled,         // the caller cancelled the operation
  transport,         // network failure (connect, reset, TLS)
  http_status,       // a server answered with an error status
  bad_response,      // a peer answered with something we cannot use
  internal,          // our own bug, reported instead of crashing
};

// Stable lowercase name of a code ("parse_error"), for messages and JSON.
std::string_view to_string(errc code) noexcept;

class error {
 public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  errc code() const noexcept { return code_; }
  // The bare message, without context frames.
  const std::string& message() const noexcept { return message_; }
  // Context frames, innermost first (the order they were added in).
  const std::vector<std::string>& context() const noexcept { return context_; }

  // Adds a context frame (where the failure happened, seen from one level up).
  // Frames added later are printed first: "model.gguf: tensor 'x': byte 12: msg".
  error& at(std::string where) & {
    context_.push_back(std::move(where));
    return *this;
  }
  error&& at(std::string where) && {
    context_.push_back(std::move(where));
    return std::move(*this);
  }

  // "where: where: message" — what a user sees.
  std::string describe() const;
  // "parse_error: where: message" — for logs and test diagnostics.
  std::string to_string() const;

 private:
  errc code_;
  std::string message_;
  std::vector<std::string> context_;
};

}  // namespace tern
