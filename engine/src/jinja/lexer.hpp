// Splits a template into text and tag tokens, applying Jinja2's whitespace
// rules the way its lexer does: `{%-`/`-%}` strip all whitespace on that
// side, trim_blocks drops the first newline after a block or comment tag,
// lstrip_blocks drops spaces and tabs between a line start and a block or
// comment tag, `+` turns either off for one tag. Line endings are normalised
// to "\n" and one trailing newline of the source is dropped
// (keep_trailing_newline=False).
#pragma once

#include "jinja/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine::jinja {

enum class tok : std::uint8_t {
  text,         // literal output
  var_begin,    // {{
  var_end,      // }}
  block_begin,  // {%
  block_end,    // %}
  name,
  integer,
  floating,
  string,       // value already unescaped
  op,           // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  eof,
};

struct token {
  tok type = tok::eof;
  std::string text;
  std::int64_t int_value = 0;
  double float_value = 0;
  source_pos pos;
};

struct lex_options {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Throws template_error (parse_error) on an unterminated tag, comment or
// string, or a character that starts no token.
std::vector<token> lex(std::string_view source, const lex_options& opts);

}  // namespace tern::engine::jinja
