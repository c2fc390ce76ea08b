// The syntax tree of a parsed template. Built once by the parser, then only
// read (a parsed template is immutable and can be rendered concurrently).
#pragma once

#include "jinja/error.hpp"
#include "jinja/value.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tern::engine::jinja {

struct expr;
struct stmt;
using expr_ptr = std::unique_ptr<expr>;
using stmt_ptr = std::unique_ptr<stmt>;
using body = std::vector<stmt_ptr>;

struct call_args;
// A filter: input, arguments, position for errors.
using filter_fn = value (*)(evaluator&, const value& input, call_args& args, source_pos pos);
// A test (`x is name(args)`).
using test_fn = bool (*)(evaluator&, const value& input, call_args& args, source_pos pos);

enum class expr_kind : std::uint8_t {
  literal,    // literal
  name,       // name
  list,       // args: items
  tuple,      // args: items (a tuple is a list at run time)
  dict,       // args: key0, value0, key1, value1, ...
  getattr,    // args[0].name
  getitem,    // args[0][args[1]]
  slice,      // args[0][args[1]:args[2]:args[3]], absent bounds are null
  call,       // args[0](args[1..], kwargs)
  filter,     // args[0] | name(args[1..], kwargs); args[0] null in a filter block
  test,       // args[0] is [not] name(args[1..], kwargs)
  unary,      // op args[0]: "-", "+", "not"
  binary,     // args[0] op args[1]: + - * / // % ** and or in "not in"
  compare,    // args[0] ops[0] args[1] ops[1] args[2] ...
  concat,     // args joined with ~
  condexpr,   // args[1] if args[0] else args[2] (args[2] may be null)
};

struct expr {
  expr_kind kind;
  source_pos pos;
  value literal;
  std::string name;  // name, attribute, filter, test or operator
  std::vector<expr_ptr> args;
  std::vector<std::pair<std::string, expr_ptr>> kwargs;
  std::vector<std::string> ops;  // compare operators
  bool negated = false;          // `is not`
  filter_fn filter = nullptr;
  test_fn test = nullptr;
};

enum class stmt_kind : std::uint8_t {
  text,          // text
  output,        // {{ value }}
  if_,           // branches (cond, body), else_body
  for_,          // targets in value [if cond]: body_main, else_body
  set,           // targets = value; or ns.attr = value (attr non-empty); or block set (value null)
  macro,         // name(params) body_main
  call_block,    // {% call(params) value %} body_main {% endcall %}
  filter_block,  // {% filter value %} body_main
  with,          // {% with targets[i] = defaults[i] %} body_main
  break_,
  continue_,
};

struct param {
  std::string name;
  expr_ptr default_value;  // null when required
};

struct stmt {
  stmt_kind kind;
  source_pos pos;
  std::string text;
  expr_ptr value;
  expr_ptr cond;  // for: the loop filter
  std::vector<std::string> targets;
  std::string attr;  // set ns.attr
  std::vector<std::pair<expr_ptr, body>> branches;
  body body_main;
  body else_body;
  std::vector<param> params;         // macro / call-block parameters
  std::vector<expr_ptr> with_values;  // with: one per target
};

struct template_program {
  body root;
};

}  // namespace tern::engine::jinja
