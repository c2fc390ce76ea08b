// JSON Schema validation of tool arguments (the subset models and OpenAPI use).
//
// Supported keywords: type (a name or a list; "integer" accepts integral
// doubles), enum, const, properties, required, additionalProperties (bool or
// schema), patternProperties, propertyNames, minProperties/maxProperties,
// items (a schema, or a list = tuple form), prefixItems, additionalItems,
// minItems/maxItems, uniqueItems, contains, minimum/maximum,
// exclusiveMinimum/exclusiveMaximum (number form, and the draft-4 boolean
// form), multipleOf, minLength/maxLength (in code points), pattern (std::regex
// ECMAScript, unanchored search as the spec says), allOf/anyOf/oneOf/not,
// if/then/else, nullable (OpenAPI 3.0), boolean schemas, and $ref to a JSON
// pointer inside the same document ("#", "#/$defs/x", "#/definitions/x",
// "#/components/schemas/x"). Other keywords (format, title, description,
// examples, default, ...) are annotations and are ignored, as the spec allows.
//
//   TERN_TRY(auto v, schema_validator::compile(schema));
//   if (auto r = v.validate(args); !r) ...   // r.error(): "/dates/0: expected string, got integer"
//
// Thread safety: a compiled validator is immutable; check()/validate() may run
// concurrently. Copies share the compiled state.
#pragma once

#include <tern/core/result.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace tern::tools {

// One way the instance breaks the schema.
struct schema_violation {
  std::string pointer;  // JSON pointer into the instance ("" = the root, "/dates/0")
  std::string message;  // "expected string, got integer"
};

class schema_validator {
 public:
  // Compiles a schema: checks the keywords it uses have the right types,
  // compiles every pattern and resolves every $ref. Errors are invalid_argument
  // with the JSON pointer into the schema as context ("schema /properties/x/pattern").
  static result<schema_validator> compile(boost::json::value schema);

  // The always-true schema ({}), as a default.
  schema_validator();

  // Every violation, in document order, up to max_violations (the rest are
  // dropped). Empty means valid. Never throws; a pattern whose evaluation
  // fails (std::regex complexity limits) or a string over 64 KiB checked
  // against a pattern is reported as a violation, not an exception.
  std::vector<schema_violation> check(const boost::json::value& instance,
                                      std::size_t max_violations = 16) const;

  // check() folded into one error: invalid_argument, message listing the
  // violations "/a: expected ...; /b: ...", context "arguments".
  result<void> validate(const boost::json::value& instance) const;

  const boost::json::value& schema() const noexcept;

  struct impl;

 private:
  explicit schema_validator(std::shared_ptr<const impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const impl> impl_;
};

// "string", "integer", "number", "boolean", "null", "object", "array" for a value
// (integral doubles are "number"; int64/uint64 are "integer").
const char* json_type_name(const boost::json::value& v) noexcept;

}  // namespace tern::tools
