// Chat templates: the Jinja template a model ships (GGUF key
// `tokenizer.chat_template`) rendered exactly the way Hugging Face
// transformers' `apply_chat_template` renders it, so a model's prompt format
// comes from the model and never from code in Tern.
//
//   TERN_TRY(auto tmpl, tern::engine::chat_template::parse(source));
//   boost::json::object vars;
//   vars["messages"] = ...;                       // OpenAI-style messages
//   vars["add_generation_prompt"] = true;
//   TERN_TRY(std::string prompt, tmpl.render(vars));
//
// The interpreter is sandboxed: a template sees only the variables it is
// given plus range, namespace, dict, raise_exception and strftime_now; there
// is no file, module or object-internals access; loops, macro calls,
// recursion and output size are bounded by template_limits. The environment
// matches transformers': trim_blocks, lstrip_blocks, loop controls
// (break/continue), and a tojson filter that keeps non-ASCII characters.
//
// Known differences from Jinja2: lower/upper map ASCII, Latin-1, Latin
// Extended-A, Greek and Cyrillic (other scripts pass through unchanged),
// title/capitalize ASCII letters only; tuples are lists, so printing one directly shows [1, 2]
// where Python shows (1, 2) (tojson and join agree); recursive for loops, `{% include %}`-style tags,
// `*args` in calls and printf-style `%` on strings are refused with an
// `unsupported` error rather than approximated.
#pragma once

#include <tern/core/result.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tern::engine {

class gguf_file;

namespace jinja {
struct template_program;
}

struct template_limits {
  std::size_t max_output_bytes = 16u << 20;      // any string the template builds, and the output
  std::size_t max_loop_iterations = 1'000'000;   // summed over all loops (and range()/list sizes)
  std::size_t max_macro_calls = 100'000;         // summed over one render
  std::size_t max_recursion_depth = 64;          // nested macro / caller() calls
  std::size_t max_nesting = 200;                 // block and expression nesting in the source
};

struct calendar_date {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};

struct render_options {
  // What strftime_now() sees (midnight of that day); nullopt: the local clock.
  std::optional<calendar_date> date;
  template_limits limits;
};

class chat_template {
 public:
  // Parses `source`. Errors: parse_error (bad syntax, unknown filter/test,
  // unclosed tag) or unsupported (a Jinja feature chat templates do not
  // need), with context "<name>: line L, column C". Never throws.
  static result<chat_template> parse(std::string_view source, std::string name = "chat template",
                                     const template_limits& limits = {});

  // Renders with `vars` as the template variables (messages, tools,
  // add_generation_prompt, bos_token, eos_token, enable_thinking, ...).
  // Errors carry "<name>: line L, column C": invalid_argument for runtime
  // errors (type errors, raise_exception, undefined used as a value) and
  // limit_exceeded when a limit is hit. Thread safety: a parsed template is
  // immutable; render() may run concurrently from many threads.
  result<std::string> render(const boost::json::object& vars, const render_options& opts = {}) const;

  const std::string& name() const noexcept { return name_; }
  const std::string& source() const noexcept { return source_; }

 private:
  std::shared_ptr<const jinja::template_program> program_;
  std::string name_;
  std::string source_;
};

// Parses "YYYY-MM-DD" (for --date). Error: invalid_argument.
result<calendar_date> parse_calendar_date(std::string_view text);

// The template variables apply_chat_template passes for a conversation
// document {"messages": [...], "tools": [...], "add_generation_prompt": b}:
// messages, tools (null when absent), documents (null),
// add_generation_prompt (false when absent), and every other top-level key
// of the document as is. bos_token/eos_token are not set here. Error:
// invalid_argument when the document is not an object or messages is not
// an array.
result<boost::json::object> conversation_variables(const boost::json::value& conversation);

// The special tokens a template sees: the text of
// tokenizer.ggml.tokens[bos/eos_token_id]; nullopt when the model names no
// such token (the template then sees null, as transformers passes None).
struct model_special_tokens {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
};

// Errors: parse_error for an id key of the wrong type or an id outside the
// vocabulary, naming the file and the key.
result<model_special_tokens> read_special_tokens(const gguf_file& file);

// A model's chat template and special tokens, as stored in its GGUF file.
struct model_chat_template {
  std::string source;  // the Jinja text
  std::string name;    // "<file>: tokenizer.chat_template[.variant]", for errors
  model_special_tokens tokens;
};

// Reads `tokenizer.chat_template`, or `tokenizer.chat_template.<variant>`
// when `variant` is not empty (e.g. "tool_use"), and the BOS/EOS token texts.
// Errors: not_found naming the key (and listing the variants the file has),
// parse_error for a key of the wrong type or a token id outside the vocabulary.
result<model_chat_template> read_chat_template(const gguf_file& file, std::string_view variant = {});

}  // namespace tern::engine
