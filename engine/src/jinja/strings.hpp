// Python str semantics the templates rely on (strip, split, replace, ...),
// over UTF-8 strings, counting code points where Python does.
// Case mapping: lower/upper cover ASCII, Latin-1, Latin Extended-A, Greek
// and Cyrillic (ß -> SS); title/capitalize ASCII letters only; other
// characters pass through unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine::jinja {

// Python's str.isspace() for one code point.
bool py_isspace(std::uint32_t cp);

// str.strip/lstrip/rstrip; chars == nullptr strips whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split(sep, maxsplit) / rsplit with a non-empty separator.
std::vector<std::string> py_split(std::string_view s, std::string_view sep, std::int64_t maxsplit, bool from_right);
// str.split() / rsplit() with no separator: runs of whitespace.
std::vector<std::string> py_split_whitespace(std::string_view s, std::int64_t maxsplit, bool from_right);
// str.replace(old, new, count); stops growing past max_bytes (the caller reports it).
std::string py_replace(std::string_view s, std::string_view from, std::string_view to, std::int64_t count,
                       std::size_t max_bytes);
std::vector<std::string> py_splitlines(std::string_view s);
std::string ascii_lower(std::string_view s);
std::string ascii_upper(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);
// isdigit, isalpha, isalnum, isspace, islower, isupper.
bool py_is_class(std::string_view s, std::string_view which);

}  // namespace tern::engine::jinja
