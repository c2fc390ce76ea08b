#include "url.hpp"

#include <tern/tools/http_client.hpp>

// GCC 12 reports a false -Wrestrict inside Boost.URL's string handling.
#pragma GCC diagnostic ignored "-Wrestrict"
// Boost.URL has no compiled library in Debian's Boost 1.81: its sources are
// built here, once, as its documentation allows for header-only use.
#include <boost/url/src.hpp>

#include <fmt/format.h>

namespace tern::tools {

namespace urls = boost::urls;

result<url_target> parse_url_target(std::string_view text) {
  auto parsed = urls::parse_absolute_uri(urls::string_view(text.data(), text.size()));
  if (!parsed) {
    // parse_absolute_uri refuses fragments; try a full URI before giving up.
    auto with_fragment = urls::parse_uri(urls::string_view(text.data(), text.size()));
    if (!with_fragment)
      return fail(errc::invalid_argument, fmt::format("'{}' is not an absolute URL: {}", text, parsed.error().message()));
    parsed = *with_fragment;
  }
  const urls::url_view& u = *parsed;
  url_target t;
  auto scheme = u.scheme_id();
  if (scheme == urls::scheme::https) t.tls = true;
  else if (scheme != urls::scheme::http)
    return fail(errc::unsupported, fmt::format("URL scheme '{}' is not http or https", std::string_view(u.scheme())))
        .at(std::string(text));
  if (!u.has_authority() || u.encoded_host().empty())
    return fail(errc::invalid_argument, fmt::format("URL '{}' has no host", text));
  if (u.has_userinfo())
    return fail(errc::unsupported, "credentials in the URL are not supported; use a header").at(std::string(text));
  t.host = u.host_address();
  t.port = u.has_port() && !u.port().empty() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(u.encoded_host_and_port());
  t.target = std::string(u.encoded_path());
  if (t.target.empty()) t.target = "/";
  if (u.has_query()) {
    t.target += '?';
    t.target += std::string_view(u.encoded_query());
  }
  t.key = fmt::format("{}://{}:{}", t.tls ? "https" : "http", std::string_view(u.encoded_host()), t.port);
  t.url = fmt::format("{}://{}{}", t.tls ? "https" : "http", t.host_header, t.target);
  return t;
}

result<std::string> resolve_url(std::string_view base, std::string_view reference) {
  auto b = urls::parse_uri(urls::string_view(base.data(), base.size()));
  if (!b) return fail(errc::invalid_argument, fmt::format("'{}' is not a URL", base));
  auto r = urls::parse_uri_reference(urls::string_view(reference.data(), reference.size()));
  if (!r) return fail(errc::bad_response, fmt::format("redirect to '{}', which is not a URL reference", reference));
  urls::url dest;
  auto done = urls::resolve(*b, *r, dest);
  if (!done) return fail(errc::bad_response, fmt::format("cannot resolve '{}' against '{}'", reference, base));
  dest.remove_fragment();
  return std::string(dest.buffer());
}

std::string percent_encode(std::string_view s) {
  urls::encoding_opts opt;
  return urls::encode(urls::string_view(s.data(), s.size()), urls::unreserved_chars, opt);
}

}  // namespace tern::tools
