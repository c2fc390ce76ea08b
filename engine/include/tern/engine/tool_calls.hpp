// Tool-call turns as grammars: given a tool list and a mode, the grammar of an
// assistant turn in the model family's own tool-call syntax, with each call's
// arguments constrained by that tool's JSON Schema.
//
//   auto fmt = tern::engine::detect_tool_call_format(arch, template_source);
//   std::vector<tern::engine::tool_definition> tools = {
//       {"search_flights", R"({"type":"object","properties":{"from":{"type":"string"}},"required":["from"]})"}};
//   TERN_TRY(auto g, tern::engine::compile_tool_call_grammar(fmt, tools, {.mode = tool_mode::required}));
//   auto c = tern::engine::make_constraint(g, vocab);   // as for any grammar (grammar.hpp)
//
// Formats (the exact layout the chat templates render, so a model sees its own
// training format; <tool_call>, <｜...｜> markers are matched by the vocabulary's
// special/added token of that text, or by its plain bytes):
//   hermes       Qwen2.5/Qwen3/QwQ, Hermes, SmolLM: calls separated by "\n":
//                  <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>
//   llama3_json  Llama 3.x: calls separated by "; ":
//                  {"name": "NAME", "parameters": ARGS}
//   deepseek_r1  DeepSeek-R1(-Distill):
//                  <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
//                  ... (further calls, separated by "\n") ...<｜tool▁calls▁end｜>
// ARGS: a JSON object valid for that tool's schema; one alternative per tool, so
// name and arguments always agree. With free_whitespace false ARGS uses the
// templates' json.dumps layout ('{"a": 1, "b": [1, 2]}': a space after ':' and ',');
// with true, optional whitespace around every structural character.
//
// Modes (1 <= number of calls <= max_calls in every mode that calls):
//   automatic  a plain text answer, or calls, or (hermes, deepseek_r1) text
//              followed by calls, as Qwen emits "Let me check.\n<tool_call>...".
//              The text never contains the call opening (hermes "<tool_call>",
//              deepseek "<｜tool▁calls▁begin｜>"); for llama3_json a text answer
//              must not start with '{' or whitespace (Llama puts a call alone in
//              its turn). No text after the calls. With no tools: as none.
//   required   calls only (>= 1).
//   none       text only, the same text as in automatic (never parses as a call).
//   named      calls only, each to `named_tool`.
// Text is any UTF-8, non-empty.
//
// Errors: invalid_argument for max_calls < 1, required/named with no tools, an
// empty or duplicate tool name or one with bytes that would break the syntax
// ('"', '\\', control bytes, or '\n' for deepseek_r1); not_found for a named tool
// that is not in the list; a tool schema that is not valid JSON or does not
// compile carries that error with "tool 'NAME'" added as context.
// The returned grammar is immutable and thread-safe to share (see grammar.hpp).
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/grammar.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tern::engine {

enum class tool_call_format { hermes, llama3_json, deepseek_r1 };

// "hermes", "llama3_json", "deepseek_r1".
std::string_view to_string(tool_call_format f) noexcept;

// From the GGUF general.architecture and the chat template source: markers in
// the template decide first (<｜tool▁calls▁begin｜> -> deepseek_r1, <tool_call> ->
// hermes, <|python_tag|> or "parameters" with <|start_header_id|> -> llama3_json),
// then the architecture ("llama" -> llama3_json; everything else -> hermes,
// the most common syntax among small open models). Never fails.
tool_call_format detect_tool_call_format(std::string_view architecture, std::string_view chat_template_source);

struct tool_definition {
  std::string name;
  std::string parameters_schema;  // JSON Schema text; "" means {"type":"object"}
};

enum class tool_mode { automatic, required, none, named };

struct tool_grammar_options {
  tool_mode mode = tool_mode::automatic;
  std::string named_tool;  // for tool_mode::named
  int max_calls = 3;       // parallel calls per turn, >= 1
  bool free_whitespace = false;
};

result<std::shared_ptr<const grammar>> compile_tool_call_grammar(tool_call_format format,
                                                                 std::span<const tool_definition> tools,
                                                                 const tool_grammar_options& options = {});

// The text that opens a tool call in this format ("<tool_call>", "{",
// "<｜tool▁calls▁begin｜>"): a streaming consumer can hold back output that may
// be the start of a call.
std::string_view tool_call_opening(tool_call_format f) noexcept;

// One call written exactly as the grammar (free_whitespace false) and the chat
// template lay it out; arguments_json is re-serialised in that layout. Several
// calls of one turn: join with tool_call_separator(f), and for deepseek_r1 wrap
// with tool_calls_prefix/suffix. Errors: parse_error for bad arguments JSON.
result<std::string> render_tool_call(tool_call_format f, std::string_view name, std::string_view arguments_json);
std::string_view tool_call_separator(tool_call_format f) noexcept;
std::string_view tool_calls_prefix(tool_call_format f) noexcept;  // "" except deepseek_r1
std::string_view tool_calls_suffix(tool_call_format f) noexcept;  // "" except deepseek_r1

}  // namespace tern::engine
