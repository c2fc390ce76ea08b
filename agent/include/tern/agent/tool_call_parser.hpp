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
//   automatic    hermes when a <tool_call> tag appears, else llama3_json.
// Reasoning: a leading <think>...</think> becomes reasoning; output that
// starts inside a thought (the template opened <think>) and closes it with
// </think> is handled too; an unclosed <think> makes everything after it
// reasoning.
// A block that does not parse stays in the answer as text and a line is added
// to problems: the agent then sees a plain answer (or reports a tool error
// for arguments that fail validation). For llama3_json, bare JSON counts as
// a call only when its keys are exactly name + parameters/arguments (and an
// optional "type") and, when known_tools is not empty, the name is one of
// them, so a structured JSON answer is not mistaken for a call.
// Pure function; thread-safe.
#pragma once

#include <tern/agent/message.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

enum class tool_call_syntax { automatic, hermes, llama3_json, none };

struct parsed_output {
  std::string content;                  // answer text, trimmed
  std::string reasoning;                // thought text, trimmed
  std::vector<tool_call> tool_calls;    // ids: "<id_prefix>_<n>", n from 0
  std::vector<std::string> problems;    // why some text that looked like a call was not one
};

parsed_output parse_model_output(std::string_view text, tool_call_syntax syntax = tool_call_syntax::automatic,
                                 const std::vector<std::string>& known_tools = {},
                                 std::string_view id_prefix = "call");

}  // namespace tern::agent
