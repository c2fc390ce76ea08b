// Reading a local model's raw output: reasoning, answer text and tool calls
// in the model family's own syntax.
//
//   auto out = tern::agent::parse_model_output(text, tool_call_syntax::automatic, {"search_flights"});
//   // out.reasoning: "<think>...</think>" text; out.tool_calls; out.content: the rest
//
// Syntaxes:
//   hermes       Qwen2.5/Qwen3, Hermes, SmolLM2: one or more
//                <tool_call>{"name": "...", "arguments": {...}}</tool_call>
//                blocks (arguments may also be a JSON string); text outside the
//                blocks is the answer.
//   llama3_json  Llama 3.x: the whole output is {"name": "...", "parameters": {...}}
//                ("arguments" also accepted), optionally after <|python_tag|>,
//                several separated by ';' or newlines, or a JSON array of them.
//   deepseek_r1  DeepSeek-R1(-Distill): <｜tool▁calls▁begin｜> then calls
//                <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>
//                then <｜tool▁calls▁end｜>; text before the calls is the answer.
//   automatic    hermes when a <tool_call> tag appears, deepseek_r1 when a
//                <｜tool▁call(s)▁begin｜> marker does, else llama3_json.
// These are the layouts tern::engine::compile_tool_call_grammar constrains a
// local model to (engine/tool_calls.hpp): what that grammar accepts parses
// into the same calls.
// Reasoning: a leading <think>...</think> becomes reasoning; output that
// starts inside a thought (the template opened <think>) and closes it with
// </think> is handled too; an unclosed <think> makes everything after it
// reasoning.
// Unconstrained output (remote models, or a local model without a grammar) is
// repaired where the breakage is trivial, each repair reported in problems as
// "repaired: ...": a code fence around the JSON (```json ... ```), text before
// or after the JSON inside a block or around a Llama 3 call, a missing closing
// tag or marker at the very end, brackets left open at the very end, and
// arguments given as a JSON string. A block that still does not parse stays
// in the answer as text and a line is added to problems: the agent then sees
// a plain answer. With parse_options::validators, each call's arguments are
// checked against its tool's schema; a call that fails goes to invalid_calls
// (not tool_calls) with a problem line naming the call, tool and violations,
// so the agent can answer it with a tool error instead of running it. For llama3_json, bare JSON counts as
// a call only when its keys are exactly name + parameters/arguments (and an
// optional "type") and, when known_tools is not empty, the name is one of
// them, so a structured JSON answer is not mistaken for a call.
// Pure function; thread-safe.
#pragma once

#include <tern/agent/message.hpp>
#include <tern/engine/tool_calls.hpp>
#include <tern/tools/schema_validator.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

enum class tool_call_syntax { automatic, hermes, llama3_json, none, deepseek_r1 };

struct parsed_output {
  std::string content;                  // answer text, trimmed
  std::string reasoning;                // thought text, trimmed
  std::vector<tool_call> tool_calls;    // ids: "<id_prefix>_<n>", n from 0 in output order
  std::vector<tool_call> invalid_calls; // parsed, but arguments fail the tool's schema (ids as tool_calls)
  std::vector<std::string> problems;    // each repair ("repaired: ...") and each failure
};

struct parse_options {
  tool_call_syntax syntax = tool_call_syntax::automatic;
  std::vector<std::string> known_tools;  // for llama3_json: bare JSON is a call only with one of these names
  std::string id_prefix = "call";
  // Tool name -> validator of its arguments; tools not listed are not checked.
  std::map<std::string, tools::schema_validator, std::less<>> validators;
  bool repair = true;  // false: no repairs (what a grammar-constrained turn needs)
};

parsed_output parse_model_output(std::string_view text, const parse_options& options);

// The syntax that reads what compile_tool_call_grammar(f, ...) generates.
tool_call_syntax syntax_of(tern::engine::tool_call_format f) noexcept;

parsed_output parse_model_output(std::string_view text, tool_call_syntax syntax = tool_call_syntax::automatic,
                                 const std::vector<std::string>& known_tools = {},
                                 std::string_view id_prefix = "call");

}  // namespace tern::agent
