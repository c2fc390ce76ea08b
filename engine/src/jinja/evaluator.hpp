// Walks the syntax tree and writes the output. One evaluator per render:
// it owns the scopes, the output buffers and the counters that bound a
// hostile template (loop iterations, macro calls, recursion depth, output
// size). Not thread-safe; a template_program may be shared by many.
#pragma once

#include "jinja/ast.hpp"

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine::jinja {

struct render_settings {
  std::size_t max_output_bytes = 0;
  std::size_t max_loop_iterations = 0;  // summed over every loop of a render
  std::size_t max_macro_calls = 0;      // summed over a render
  std::size_t max_recursion_depth = 0;  // nested macro / caller calls
  std::tm now{};                        // what strftime_now formats
};

class evaluator {
 public:
  evaluator(const template_program& program, const render_settings& settings);
  // Empties every namespace this render created, so that a namespace which
  // (directly or not) holds itself does not leak.
  ~evaluator();
  evaluator(const evaluator&) = delete;
  evaluator& operator=(const evaluator&) = delete;

  // Renders with `vars` as the template's variables. Throws template_error.
  std::string render(object vars);

  value eval(const expr& e);
  value call(const value& callee, call_args& args, source_pos pos);

  const render_settings& settings() const { return settings_; }
  // Renders a macro's body with `args` bound to its parameters.
  value invoke_macro(const stmt& macro, call_args& args, source_pos pos, const value* caller);
  // Counts loop iterations (or items a builtin creates) against the limit.
  void charge_iterations(std::size_t n, source_pos pos);
  // Refuses a string (or list) that would exceed the output limit.
  void check_size(std::size_t bytes, source_pos pos) const;
  // Registers a namespace created during this render (see ~evaluator).
  void track_namespace(std::shared_ptr<object> ns) { namespaces_.push_back(std::move(ns)); }

 private:
  enum class flow { normal, break_, continue_ };

  struct frame {
    std::vector<std::pair<std::string, value>> vars;
    std::size_t parent;  // index into frames_; the root's parent is itself
    std::uint64_t serial;
  };

  flow exec(const body& b);
  flow exec(const stmt& s);
  flow exec_for(const stmt& s);
  void exec_set(const stmt& s);
  void exec_macro(const stmt& s);
  void exec_call_block(const stmt& s);

  value eval_name(const expr& e);
  value eval_getattr(const expr& e);
  value eval_call(const expr& e);
  value eval_filter(const expr& e, const value* input_override);
  value eval_binary(const expr& e);
  value eval_compare(const expr& e);
  void eval_args(const expr& e, std::size_t first, call_args& out);

  // Renders `b` into a fresh buffer and returns it.
  std::string capture(const body& b);
  void write(std::string_view s, source_pos pos);

  std::size_t push_frame(std::size_t parent);
  void pop_frame(std::size_t previous);
  const value* lookup(std::string_view name) const;
  void assign(std::string name, value v);

  const template_program& program_;
  render_settings settings_;
  std::vector<frame> frames_;
  std::size_t current_ = 0;
  std::uint64_t next_serial_ = 0;
  std::string* out_ = nullptr;
  std::size_t iterations_ = 0;
  std::size_t macro_calls_ = 0;
  std::size_t depth_ = 0;
  std::vector<std::shared_ptr<object>> namespaces_;
};

// Attribute and item access with Jinja2's sandbox rules (builtins.cpp):
// `obj.name` tries a method first, then a key; `obj[key]` a key first.
// Names starting with "__" are refused with a security error.
value get_attribute(evaluator& ev, const value& obj, const std::string& name, source_pos pos);
value get_item(evaluator& ev, const value& obj, const value& key, source_pos pos);
// Calls method `name` of `self` directly (no bound-method object), or
// returns false when `self` has no such method.
bool call_method(evaluator& ev, const value& self, const std::string& name, call_args& args, source_pos pos,
                 value& result);
// Builtin global functions (range, namespace, dict, raise_exception, strftime_now).
const value* find_global(std::string_view name);
// Items a `for` loop or a filter iterates over.
std::vector<value> iterate(const value& v, source_pos pos);

}  // namespace tern::engine::jinja
