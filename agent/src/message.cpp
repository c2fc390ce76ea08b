#include <tern/agent/message.hpp>
#include <tern/agent/model.hpp>
#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tern::agent {

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::system: return "system";
    case role::user: return "user";
    case role::assistant: return "assistant";
    case role::tool: return "tool";
  }
  return "user";
}

boost::json::object message::to_json(bool arguments_as_string) const {
  boost::json::object o;
  o["role"] = to_string(role);
  o["content"] = content;
  if (!tool_calls.empty()) {
    boost::json::array calls;
    for (const auto& c : tool_calls) {
      boost::json::object fn;
      fn["name"] = c.name;
      if (arguments_as_string)
        fn["arguments"] = boost::json::serialize(c.arguments);
      else
        fn["arguments"] = c.arguments;
      calls.push_back(boost::json::object{{"id", c.id}, {"type", "function"}, {"function", std::move(fn)}});
    }
    o["tool_calls"] = std::move(calls);
  }
  if (role == role::tool) {
    o["tool_call_id"] = tool_call_id;
    o["name"] = name;
  }
  if (!reasoning.empty()) o["reasoning_content"] = reasoning;
  return o;
}

result<message> message::from_json(const boost::json::value& v) {
  const auto* o = v.if_object();
  if (!o) return fail(errc::parse_error, "a message must be a JSON object");
  message m;
  const auto* r = o->if_contains("role");
  if (!r || !r->is_string()) return fail(errc::parse_error, "missing string field 'role'").at("/role");
  const std::string_view rs = r->as_string();
  if (rs == "system" || rs == "developer") m.role = role::system;
  else if (rs == "user") m.role = role::user;
  else if (rs == "assistant") m.role = role::assistant;
  else if (rs == "tool") m.role = role::tool;
  else return fail(errc::parse_error, fmt::format("unknown role '{}'", rs)).at("/role");
  if (const auto* c = o->if_contains("content"); c && !c->is_null()) {
    if (c->is_string()) {
      m.content = c->as_string();
    } else if (c->is_array()) {  // content parts: keep the text parts
      for (const auto& part : c->as_array())
        if (const auto* po = part.if_object())
          if (const auto* t = po->if_contains("text"); t && t->is_string()) m.content += t->as_string();
    } else {
      return fail(errc::parse_error, "'content' must be a string, an array of parts or null").at("/content");
    }
  }
  if (const auto* calls = o->if_contains("tool_calls"); calls && !calls->is_null()) {
    if (!calls->is_array()) return fail(errc::parse_error, "'tool_calls' must be an array").at("/tool_calls");
    std::size_t i = 0;
    for (const auto& cv : calls->as_array()) {
      const auto where = json::append_pointer("/tool_calls", i++);
      const auto* co = cv.if_object();
      const auto* fn = co ? co->if_contains("function") : nullptr;
      if (!fn || !fn->is_object()) return fail(errc::parse_error, "a tool call needs a 'function' object").at(where);
      tool_call call;
      if (const auto* id = co->if_contains("id"); id && id->is_string()) call.id = id->as_string();
      const auto* name = fn->as_object().if_contains("name");
      if (!name || !name->is_string()) return fail(errc::parse_error, "missing 'function.name'").at(where);
      call.name = name->as_string();
      if (const auto* args = fn->as_object().if_contains("arguments"); args && !args->is_null()) {
        if (args->is_object()) {
          call.arguments = args->as_object();
        } else if (args->is_string()) {
          const std::string_view text = args->as_string();
          if (!text.empty()) {
            auto parsed = json::parse(text);
            if (!parsed) return std::move(parsed).error().at(where + "/function/arguments");
            if (!parsed->is_object())
              return fail(errc::parse_error, "arguments must be a JSON object").at(where + "/function/arguments");
            call.arguments = std::move(parsed->as_object());
          }
        } else {
          return fail(errc::parse_error, "arguments must be an object or a JSON string").at(where + "/function/arguments");
        }
      }
      m.tool_calls.push_back(std::move(call));
    }
  }
  if (const auto* id = o->if_contains("tool_call_id"); id && id->is_string()) m.tool_call_id = id->as_string();
  if (const auto* n = o->if_contains("name"); n && n->is_string()) m.name = n->as_string();
  if (const auto* rc = o->if_contains("reasoning_content"); rc && rc->is_string()) m.reasoning = rc->as_string();
  return m;
}

std::int64_t model::count_tokens(const std::vector<message>& messages, const std::vector<tools::tool_spec>& tools) const {
  // Estimate for models without a tokenizer here: ~4 bytes per token, plus a
  // few tokens of framing per message (what OpenAI's guidance suggests).
  std::size_t bytes = 0;
  for (const auto& m : messages) {
    bytes += m.content.size() + m.reasoning.size() + 16;
    for (const auto& c : m.tool_calls) bytes += c.name.size() + boost::json::serialize(c.arguments).size() + 16;
  }
  for (const auto& t : tools) bytes += boost::json::serialize(t.to_json()).size();
  return static_cast<std::int64_t>(bytes / 4 + 1);
}

}  // namespace tern::agent
