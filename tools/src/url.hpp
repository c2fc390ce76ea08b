// URL parsing and reference resolution (Boost.URL, compiled in url.cpp) for
// the HTTP client and the tools that build URLs.
#pragma once

#include <tern/core/result.hpp>

#include <string>
#include <string_view>

namespace tern::tools {

// An absolute http(s) URL split into what a connection and a request need.
struct url_target {
  bool tls = false;
  std::string host;         // for DNS and certificate checks: "example.com", "127.0.0.1", "::1"
  std::string port;         // "443"
  std::string host_header;  // as sent in Host: "example.com:8080", "[::1]"
  std::string target;       // path and query: "/v1/flights?from=LHR" ("/" at least)
  std::string key;          // pool key: "https://example.com:443"
  std::string url;          // the whole URL, fragment dropped
};

// Errors: invalid_argument (not an absolute URL, no host), unsupported (a
// scheme other than http and https).
result<url_target> parse_url_target(std::string_view url);

// Resolves a reference (a Location header) against a base URL (RFC 3986 section 5).
result<std::string> resolve_url(std::string_view base, std::string_view reference);

}  // namespace tern::tools
