// Validation of one concrete JSON value against a JSON Schema node.
//
// The schema compiler uses this where a node admits finitely many values
// (`enum`, `const`): each candidate is checked against every other keyword of
// the node, including the ones that cannot be expressed as an automaton (`not`,
// overlapping `oneOf`, `if`/`then`/`else`, `dependencies`, `uniqueItems`, ...),
// and only the candidates that pass become grammar alternatives. That is exact,
// so such nodes need no approximation.
#pragma once

#include <tern/core/result.hpp>

#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace tern::engine::grammar_detail {

struct dfa;

// The regular expression (in our regex subset, anchored) for a `format` the
// compiler and the validator assert; nullptr when the format is not supported.
const char* format_regex(std::string_view format);

// True for the format names the specification defines (asserted or refused);
// other names carry no meaning and stay annotations.
bool is_standard_format(std::string_view format);

// Canonical equality of JSON values as JSON Schema defines it: numbers by
// value (1 == 1.0), objects regardless of member order.
bool json_equal(const boost::json::value& a, const boost::json::value& b);

// Not thread safe (caches compiled patterns). `root` must outlive the validator;
// local `$ref`s resolve against it.
class instance_validator {
 public:
  explicit instance_validator(const boost::json::value& root);
  ~instance_validator();

  // True when `instance` is valid against `schema`. Errors (with `ptr`, the
  // schema node's JSON pointer, and the keyword): keywords that cannot be
  // checked here (`unevaluated*`, `$dynamicRef`, non-local `$ref`, formats we
  // do not implement, regexes outside our subset) and reference cycles that
  // do not consume the instance.
  result<bool> valid(const boost::json::value& schema, const boost::json::value& instance, const std::string& ptr);

 private:
  result<bool> check(const boost::json::value& schema, const boost::json::value& inst, const std::string& ptr,
                     int depth);
  result<bool> check_object(const boost::json::object& s, const boost::json::value& inst, const std::string& ptr,
                            int depth);
  result<bool> matches(std::string_view pattern, std::string_view text, const std::string& ptr);
  result<const boost::json::value*> resolve(std::string_view ref, const std::string& ptr);

  const boost::json::value& root_;
  std::map<std::string, std::unique_ptr<dfa>, std::less<>> patterns_;
};

}  // namespace tern::engine::grammar_detail
