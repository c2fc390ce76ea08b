#include <tern/agent/tool_call_parser.hpp>
#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tern::agent {

namespace {

namespace bj = boost::json;

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view k_think_open = "<think>";
constexpr std::string_view k_think_close = "</think>";
constexpr std::string_view k_call_open = "<tool_call>";
constexpr std::string_view k_call_close = "</tool_call>";
constexpr std::string_view k_python_tag = "<|python_tag|>";

// Splits off the reasoning; returns the remaining text.
std::string_view split_reasoning(std::string_view text, std::string& reasoning) {
  const std::string_view t = trim(text);
  if (t.starts_with(k_think_open)) {
    const auto body = t.substr(k_think_open.size());
    const auto close = body.find(k_think_close);
    if (close == std::string_view::npos) {  // cut off mid-thought
      reasoning = trim(body);
      return {};
    }
    reasoning = trim(body.substr(0, close));
    return body.substr(close + k_think_close.size());
  }
  // The chat template opened the thought in the prompt: only the close is ours.
  if (const auto close = t.find(k_think_close); close != std::string_view::npos && t.find(k_think_open) == std::string_view::npos) {
    reasoning = trim(t.substr(0, close));
    return t.substr(close + k_think_close.size());
  }
  return text;
}

// {"name": ..., "arguments"|"parameters": {...} | "<json>"} -> tool_call.
result<tool_call> call_from_json(const bj::value& v, bool strict_keys, const std::vector<std::string>& known) {
  const auto* o = v.if_object();
  if (!o) return fail(errc::parse_error, "a tool call must be a JSON object");
  const auto* name = o->if_contains("name");
  if (!name || !name->is_string() || name->as_string().empty())
    return fail(errc::parse_error, "a tool call needs a string 'name'");
  const bj::value* args = o->if_contains("arguments");
  if (!args) args = o->if_contains("parameters");
  if (strict_keys) {
    for (const auto& kv : *o)
      if (kv.key() != "name" && kv.key() != "arguments" && kv.key() != "parameters" && kv.key() != "type")
        return fail(errc::parse_error, fmt::format("unexpected key '{}' in a tool call", std::string_view(kv.key())));
    if (!args) return fail(errc::parse_error, "a tool call needs 'parameters' or 'arguments'");
    if (!known.empty() && std::find(known.begin(), known.end(), std::string_view(name->as_string())) == known.end())
      return fail(errc::not_found, fmt::format("'{}' is not one of the tools", std::string_view(name->as_string())));
  }
  tool_call call;
  call.name = name->as_string();
  if (args && !args->is_null()) {
    if (args->is_object()) {
      call.arguments = args->as_object();
    } else if (args->is_string()) {
      auto parsed = json::parse(args->as_string());
      if (!parsed) return std::move(parsed).error().at(fmt::format("arguments of '{}'", call.name));
      if (!parsed->is_object()) return fail(errc::parse_error, fmt::format("arguments of '{}' are not a JSON object", call.name));
      call.arguments = std::move(parsed->as_object());
    } else {
      return fail(errc::parse_error, fmt::format("arguments of '{}' must be an object", call.name));
    }
  }
  return call;
}

void parse_hermes(std::string_view text, const std::vector<std::string>& known, parsed_output& out) {
  std::string content;
  std::size_t pos = 0;
  int n_block = 0;
  while (pos < text.size()) {
    const auto open = text.find(k_call_open, pos);
    if (open == std::string_view::npos) {
      content.append(text.substr(pos));
      break;
    }
    content.append(text.substr(pos, open - pos));
    const auto body_start = open + k_call_open.size();
    const auto close = text.find(k_call_close, body_start);
    // Generation may stop at end-of-turn before the closing tag.
    const auto body_end = close == std::string_view::npos ? text.size() : close;
    const auto next = close == std::string_view::npos ? text.size() : close + k_call_close.size();
    const auto body = trim(text.substr(body_start, body_end - body_start));
    ++n_block;
    auto parsed = json::parse(body);
    result<tool_call> call = parsed ? call_from_json(*parsed, false, known) : result<tool_call>(std::move(parsed).error());
    if (call) {
      out.tool_calls.push_back(std::move(*call));
    } else {
      out.problems.push_back(fmt::format("<tool_call> block {}: {}", n_block, call.error().describe()));
      content.append(text.substr(open, next - open));
    }
    pos = next;
  }
  out.content = trim(content);
}

// Whole-output JSON calls (Llama 3.x). Leaves out untouched unless all of it parses.
bool parse_llama3(std::string_view text, const std::vector<std::string>& known, parsed_output& out) {
  std::string_view t = trim(text);
  const bool tagged = t.starts_with(k_python_tag);
  if (tagged) t = trim(t.substr(k_python_tag.size()));
  if (t.empty() || (t.front() != '{' && t.front() != '[')) return false;
  std::vector<bj::value> items;
  if (auto whole = json::parse(t); whole) {
    if (whole->is_array()) for (auto& v : whole->as_array()) items.push_back(std::move(v));
    else items.push_back(std::move(*whole));
  } else {
    // Several objects separated by ';' or newlines.
    std::size_t start = 0;
    int depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = 0; i <= t.size(); ++i) {
      const char c = i < t.size() ? t[i] : ';';
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      else if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') --depth;
      else if (depth == 0 && (c == ';' || c == '\n')) {
        const auto piece = trim(t.substr(start, i - start));
        start = i + 1;
        if (piece.empty()) continue;
        auto v = json::parse(piece);
        if (!v) {
          if (tagged || t.find("\"name\"") != std::string_view::npos)
            out.problems.push_back("JSON tool call: " + v.error().describe());
          return false;
        }
        items.push_back(std::move(*v));
      }
    }
  }
  if (items.empty()) return false;
  std::vector<tool_call> calls;
  for (const auto& v : items) {
    auto call = call_from_json(v, /*strict_keys=*/true, known);
    if (!call) {
      if (tagged) out.problems.push_back("JSON tool call: " + call.error().describe());
      return false;
    }
    calls.push_back(std::move(*call));
  }
  out.tool_calls = std::move(calls);
  out.content.clear();
  return true;
}

}  // namespace

parsed_output parse_model_output(std::string_view text, tool_call_syntax syntax, const std::vector<std::string>& known_tools,
                                 std::string_view id_prefix) {
  parsed_output out;
  const std::string_view rest = split_reasoning(text, out.reasoning);
  if (syntax == tool_call_syntax::automatic)
    syntax = rest.find(k_call_open) != std::string_view::npos ? tool_call_syntax::hermes : tool_call_syntax::llama3_json;
  switch (syntax) {
    case tool_call_syntax::hermes: parse_hermes(rest, known_tools, out); break;
    case tool_call_syntax::llama3_json:
      if (!parse_llama3(rest, known_tools, out)) out.content = trim(rest);
      break;
    case tool_call_syntax::none:
    case tool_call_syntax::automatic: out.content = trim(rest); break;
  }
  for (std::size_t i = 0; i < out.tool_calls.size(); ++i) out.tool_calls[i].id = fmt::format("{}_{}", id_prefix, i);
  return out;
}

}  // namespace tern::agent
