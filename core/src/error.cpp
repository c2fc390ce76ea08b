#include <tern/core/assert.hpp>
#include <tern/core/error.hpp>

#include <cstdio>
#include <cstdlib>

namespace tern {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::parse_error: return "parse_error";
    case errc::io_error: return "io_error";
    case errc::not_found: return "not_found";
    case errc::unsupported: return "unsupported";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::transport: return "transport";
    case errc::http_status: return "http_status";
    case errc::bad_response: return "bad_response";
    case errc::internal: return "internal";
  }
  return "unknown";
}

std::string error::describe() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

std::string error::to_string() const {
  std::string out(tern::to_string(code_));
  out += ": ";
  out += describe();
  return out;
}

namespace detail {
void assert_failed(const char* expr, const char* file, int line, const char* msg) noexcept {
  std::fprintf(stderr, "tern: internal error: %s:%d: assertion '%s' failed: %s\n", file, line, expr, msg);
  std::abort();
}
}  // namespace detail

}  // namespace tern
