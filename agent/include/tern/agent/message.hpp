// Chat messages, OpenAI-style: what an agent sends to a model and gets back.
//
// A conversation is a vector<message>. Roles: system, user, assistant, tool.
// An assistant message may carry tool calls (arguments as a JSON object, not a
// string); a tool message answers one call by id. reasoning holds a reasoning
// model's thought (<think>...</think>), kept apart from the answer.
// to_json()/from_json() use the OpenAI chat-completions shape, which is also
// what chat templates read (with arguments as objects, as transformers does).
#pragma once

#include <tern/core/result.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

enum class role { system, user, assistant, tool };
std::string_view to_string(role r) noexcept;

struct tool_call {
  std::string id;                  // unique within a run ("call_3_1"); the tool message echoes it
  std::string name;                // the tool's name
  boost::json::object arguments;   // parsed arguments
};

struct message {
  tern::agent::role role = role::user;
  std::string content;             // text; may be empty for an assistant turn that only calls tools
  std::vector<tool_call> tool_calls;  // assistant only
  std::string tool_call_id;        // tool only: the call this answers
  std::string name;                // tool only: the tool's name
  std::string reasoning;           // assistant only: the thought, if the model reasons

  static message system(std::string text) { return {role::system, std::move(text)}; }
  static message user(std::string text) { return {role::user, std::move(text)}; }
  static message assistant(std::string text) { return {role::assistant, std::move(text)}; }
  static message tool_result(std::string call_id, std::string tool_name, std::string content) {
    message m{role::tool, std::move(content)};
    m.tool_call_id = std::move(call_id);
    m.name = std::move(tool_name);
    return m;
  }

  // OpenAI chat shape: {"role":..,"content":..,"tool_calls":[{"id","type":"function",
  // "function":{"name","arguments":{...}}}],"tool_call_id":..,"name":..,"reasoning_content":..}.
  // arguments_as_string: OpenAI's wire format sends arguments as a JSON string;
  // chat templates want an object.
  boost::json::object to_json(bool arguments_as_string = false) const;
  // Accepts arguments as an object or as a JSON string. Errors name the field.
  static result<message> from_json(const boost::json::value& v);
};

}  // namespace tern::agent
