#pragma once

#include "grammar/ir.hpp"

#include <boost/json/value.hpp>

namespace tern::engine::grammar_detail {

result<compiled> compile_schema_value(const boost::json::value& schema, bool free_whitespace);
void write_canonical(const boost::json::value& v, std::string& out);
result<compiled> compile_gbnf(std::string_view text);

}  // namespace tern::engine::grammar_detail
