// The JSON bridge: simdjson parses every JSON text that comes in; Boost.JSON
// holds and serialises the JSON we build. No hand-written JSON parser anywhere.
//
//   TERN_TRY(auto doc, tern::json::parse(body));        // error names byte, line, column
//   std::string text = tern::json::serialize(doc);       // compact, UTF-8 kept as is
//
// Thread safety: every function here is reentrant; parse() uses a thread-local
// parser, so concurrent calls from different threads are fine.
#pragma once

#include <tern/core/result.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::json {

struct parse_limits {
  std::size_t max_bytes = 64u << 20;  // larger input is refused before parsing
  std::size_t max_depth = 256;        // nesting of arrays/objects
};

// Parses one complete JSON document (RFC 8259). Trailing non-whitespace,
// invalid UTF-8, duplicate-free checks aside, anything simdjson rejects is a
// parse_error whose context says "byte N (line L, column C)".
// Integers that fit int64/uint64 stay integers; others become doubles.
result<boost::json::value> parse(std::string_view text, const parse_limits& limits = {});

// Compact serialisation; non-ASCII UTF-8 is written as is (not \u-escaped);
// doubles in their shortest round-trip form with a fraction or exponent
// ("8.0", "8.1", "1e+300"), non-finite doubles as null. Use this, not
// boost::json::serialize, for anything a person or a model reads.
std::string serialize(const boost::json::value& value);

// Appends one reference token to a JSON pointer (RFC 6901), escaping '~' and '/'.
//   append_pointer("/a", "b/c") == "/a/b~1c"
std::string append_pointer(std::string_view pointer, std::string_view token);
std::string append_pointer(std::string_view pointer, std::size_t index);

// "byte 17 (line 2, column 5)" for an offset into text; line and column are 1-based.
std::string describe_offset(std::string_view text, std::size_t offset);

}  // namespace tern::json
