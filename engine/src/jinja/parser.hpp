// Builds the syntax tree from the lexer's tokens, following Jinja2's
// grammar and operator precedence. Filters and tests are resolved here, so
// an unknown one is a parse error with its line and column, as in Jinja2.
#pragma once

#include "jinja/ast.hpp"
#include "jinja/lexer.hpp"

#include <string_view>

namespace tern::engine::jinja {

struct parse_options {
  lex_options lex;
  std::size_t max_nesting = 200;  // expression and block nesting (bounds the parser's stack)
};

// Throws template_error (parse_error) naming the construct, line and column.
template_program parse_template(std::string_view source, const parse_options& opts);

// Defined in builtins.cpp; nullptr when no filter/test has that name.
filter_fn find_filter(std::string_view name);
test_fn find_test(std::string_view name);

}  // namespace tern::engine::jinja
