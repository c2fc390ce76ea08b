#pragma once

#include "grammar/ir.hpp"

#include <tern/engine/grammar.hpp>

#include <boost/json/value.hpp>

#include <memory>

namespace tern::engine::grammar_detail {

result<compiled> compile_schema_value(const boost::json::value& schema, bool free_whitespace);

// How JSON text is laid out: compact ({"a":1,"b":2}), spaced (Python json.dumps,
// what chat templates' tojson writes: {"a": 1, "b": 2}), free (optional
// whitespace around every structural character).
enum class json_layout { compact, spaced, free };
// Compact JSON text (write_canonical) in the spaced layout.
std::string spaced_json(std::string_view compact);
// Adds the rules of `schema` into a grammar being built by someone else (tool
// calls embed one schema per tool) and returns the rule of the schema's value.
// Nothing of `schema` is kept. Errors as compile_schema_value.
result<int32_t> add_schema_rules(grammar_builder& b, const boost::json::value& schema, json_layout layout);
void write_canonical(const boost::json::value& v, std::string& out);
result<compiled> compile_gbnf(std::string_view text);
// A finished grammar as the public type (grammar.cpp).
std::shared_ptr<const grammar> make_grammar(compiled g);

}  // namespace tern::engine::grammar_detail
