#include "openai_wire.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tern::agent::detail {

namespace bj = boost::json;

boost::json::object openai_request_body(const model_request& request, const std::string& model_name, bool stream) {
  bj::object body;
  body["model"] = model_name;
  bj::array messages;
  for (const auto& m : request.messages) {
    auto o = m.to_json(/*arguments_as_string=*/true);
    // Reasoning is ours to keep: hosted APIs reject or ignore it in requests.
    o.erase("reasoning_content");
    if (m.role == role::assistant && m.content.empty() && !m.tool_calls.empty()) o["content"] = nullptr;
    messages.push_back(std::move(o));
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    bj::array tools;
    for (const auto& t : request.tools) tools.push_back(t.to_openai_json());
    body["tools"] = std::move(tools);
    switch (request.choice.kind) {
      case tool_choice::mode::automatic: body["tool_choice"] = "auto"; break;
      case tool_choice::mode::required: body["tool_choice"] = "required"; break;
      case tool_choice::mode::none: body["tool_choice"] = "none"; break;
      case tool_choice::mode::named:
        body["tool_choice"] = bj::object{{"type", "function"}, {"function", bj::object{{"name", request.choice.name}}}};
        break;
    }
  }
  const auto& s = request.settings;
  if (s.temperature) body["temperature"] = *s.temperature;
  if (s.top_p) body["top_p"] = *s.top_p;
  if (s.max_tokens) body["max_tokens"] = *s.max_tokens;
  if (s.seed) body["seed"] = *s.seed;
  if (!s.stop.empty()) {
    bj::array stop;
    for (const auto& x : s.stop) stop.push_back(bj::string(x));
    body["stop"] = std::move(stop);
  }
  if (request.response_schema)
    body["response_format"] = bj::object{
        {"type", "json_schema"}, {"json_schema", bj::object{{"name", "response"}, {"schema", *request.response_schema}}}};
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = bj::object{{"include_usage", true}};
  }
  return body;
}

namespace {

std::int64_t int_field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

model_usage parse_usage(const bj::object& u) {
  model_usage usage;
  usage.prompt_tokens = int_field(u, "prompt_tokens");
  usage.completion_tokens = int_field(u, "completion_tokens");
  if (const auto* d = u.if_contains("prompt_tokens_details"); d && d->is_object())
    usage.cached_prompt_tokens = int_field(d->as_object(), "cached_tokens");
  return usage;
}

std::string string_field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// {"error": {...}} inside a 200 response or a stream chunk.
std::optional<std::string> embedded_error(const bj::object& o) {
  const auto* e = o.if_contains("error");
  if (!e || e->is_null()) return std::nullopt;
  if (e->is_string()) return std::string(e->as_string());
  if (e->is_object()) {
    auto m = string_field(e->as_object(), "message");
    return m.empty() ? json::serialize(*e) : m;
  }
  return json::serialize(*e);
}

}  // namespace

std::string openai_error_message(int status, std::string_view body) {
  std::string detail;
  if (auto parsed = json::parse(body); parsed && parsed->is_object()) {
    if (auto e = embedded_error(parsed->as_object())) detail = *e;
    else if (auto d = string_field(parsed->as_object(), "detail"); !d.empty()) detail = d;
  }
  if (detail.empty()) {
    detail = std::string(body.substr(0, 300));
    if (body.size() > 300) detail += "...";
  }
  return detail.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {}: {}", status, detail);
}

result<model_response> parse_openai_completion(std::string_view body) {
  auto parsed = json::parse(body);
  if (!parsed) return std::move(parsed).error().at("chat completion response");
  const auto* root = parsed->if_object();
  if (!root) return fail(errc::bad_response, "chat completion response is not a JSON object");
  if (auto e = embedded_error(*root)) return fail(errc::bad_response, "server error: " + *e);
  const auto* choices = root->if_contains("choices");
  if (!choices || !choices->is_array() || choices->as_array().empty())
    return fail(errc::bad_response, "chat completion response has no choices").at("/choices");
  const auto* choice = choices->as_array()[0].if_object();
  const auto* msg = choice ? choice->if_contains("message") : nullptr;
  if (!msg) return fail(errc::bad_response, "choice has no 'message'").at("/choices/0/message");
  auto m = message::from_json(*msg);
  if (!m) return std::move(m).error().at("/choices/0/message");
  model_response r;
  r.reply = std::move(*m);
  r.reply.role = role::assistant;
  if (const auto* mo = msg->if_object(); mo && r.reply.reasoning.empty())
    r.reply.reasoning = string_field(*mo, "reasoning");  // vLLM's newer field name
  for (std::size_t i = 0; i < r.reply.tool_calls.size(); ++i)
    if (r.reply.tool_calls[i].id.empty()) r.reply.tool_calls[i].id = fmt::format("call_{}", i);
  r.finish_reason = string_field(*choice, "finish_reason");
  if (const auto* u = root->if_contains("usage"); u && u->is_object()) r.usage = parse_usage(u->as_object());
  return r;
}

result<void> sse_assembler::feed(std::string_view bytes) {
  // Event-stream framing (WHATWG HTML, "server-sent events"): lines end in
  // LF, CR LF or CR; a blank line ends an event.
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    pending_.append(bytes.substr(start, i - start));
    start = i + 1;
    std::string_view l = pending_;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    auto r = line(l);
    pending_.clear();
    if (!r) return r;
  }
  pending_.append(bytes.substr(start));
  return ok();
}

result<void> sse_assembler::line(std::string_view l) {
  if (l.empty()) return dispatch();
  if (l.front() == ':') return ok();  // comment / keep-alive
  const auto colon = l.find(':');
  const std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return ok();  // event, id, retry: nothing to do for chat chunks
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
  return ok();
}

result<void> sse_assembler::dispatch() {
  if (!has_data_) return ok();
  ++n_events_;
  std::string data = std::move(data_);
  data_.clear();
  has_data_ = false;
  if (done_) return ok();
  if (data == "[DONE]") {
    done_ = true;
    return ok();
  }
  auto r = chunk(data);
  if (!r) return std::move(r).error().at(fmt::format("stream event {}", n_events_));
  return ok();
}

result<void> sse_assembler::chunk(std::string_view data) {
  auto parsed = json::parse(data);
  if (!parsed) return fail(errc::bad_response, "malformed JSON in stream chunk: " + parsed.error().describe());
  const auto* root = parsed->if_object();
  if (!root) return fail(errc::bad_response, "stream chunk is not a JSON object");
  if (auto e = embedded_error(*root)) return fail(errc::bad_response, "server error in stream: " + *e);
  saw_chunk_ = true;
  if (const auto* u = root->if_contains("usage"); u && u->is_object()) usage_ = parse_usage(u->as_object());
  const auto* choices = root->if_contains("choices");
  if (!choices || choices->is_null()) return ok();
  if (!choices->is_array()) return fail(errc::bad_response, "'choices' must be an array").at("/choices");
  for (const auto& cv : choices->as_array()) {
    const auto* c = cv.if_object();
    if (!c) return fail(errc::bad_response, "a choice must be an object").at("/choices/0");
    if (int_field(*c, "index") != 0) continue;  // we ask for n=1
    if (auto fr = string_field(*c, "finish_reason"); !fr.empty()) finish_reason_ = fr;
    const auto* dv = c->if_contains("delta");
    if (!dv || dv->is_null()) continue;
    const auto* d = dv->if_object();
    if (!d) return fail(errc::bad_response, "'delta' must be an object").at("/choices/0/delta");
    if (auto t = string_field(*d, "content"); !t.empty()) {
      content_ += t;
      if (callbacks_ && callbacks_->on_token) callbacks_->on_token(t);
    }
    auto th = string_field(*d, "reasoning_content");
    if (th.empty()) th = string_field(*d, "reasoning");
    if (!th.empty()) {
      reasoning_ += th;
      if (callbacks_ && callbacks_->on_reasoning) callbacks_->on_reasoning(th);
    }
    const auto* tc = d->if_contains("tool_calls");
    if (!tc || tc->is_null()) continue;
    if (!tc->is_array()) return fail(errc::bad_response, "'tool_calls' must be an array").at("/choices/0/delta/tool_calls");
    std::size_t k = 0;
    for (const auto& callv : tc->as_array()) {
      const auto where = json::append_pointer("/choices/0/delta/tool_calls", k++);
      const auto* call = callv.if_object();
      if (!call) return fail(errc::bad_response, "a tool call delta must be an object").at(where);
      const auto* idx = call->if_contains("index");
      if (!idx || !(idx->is_int64() || idx->is_uint64()))
        return fail(errc::bad_response, "a tool call delta needs an integer 'index'").at(where);
      auto& p = calls_[int_field(*call, "index")];
      if (auto id = string_field(*call, "id"); !id.empty()) p.id = id;
      if (const auto* fn = call->if_contains("function"); fn && fn->is_object()) {
        // OpenAI sends the name once; some servers repeat it in every delta.
        if (auto n = string_field(fn->as_object(), "name"); !n.empty() && n != p.name) p.name += n;
        if (const auto* a = fn->as_object().if_contains("arguments"); a && !a->is_null()) {
          if (a->is_string()) p.arguments += a->as_string();
          else if (a->is_object()) p.arguments += json::serialize(*a);
          else return fail(errc::bad_response, "'arguments' must be a string").at(where + "/function/arguments");
        }
      }
    }
  }
  return ok();
}

result<model_response> sse_assembler::finish() {
  if (!pending_.empty()) {
    std::string l = std::move(pending_);
    pending_.clear();
    if (!l.empty() && l.back() == '\r') l.pop_back();
    TERN_CHECK(line(l));
  }
  TERN_CHECK(dispatch());
  if (!saw_chunk_) return fail(errc::bad_response, "the event stream ended without any chunk");
  model_response r;
  r.reply.role = role::assistant;
  r.reply.content = std::move(content_);
  r.reply.reasoning = std::move(reasoning_);
  for (auto& [index, p] : calls_) {
    if (p.name.empty()) return fail(errc::bad_response, fmt::format("streamed tool call {} has no name", index));
    tool_call call;
    call.id = p.id.empty() ? fmt::format("call_{}", index) : p.id;
    call.name = p.name;
    if (!p.arguments.empty()) {
      auto args = json::parse(p.arguments);
      if (!args) return std::move(args).error().at(fmt::format("arguments of streamed tool call {} ('{}')", index, p.name));
      if (!args->is_object())
        return fail(errc::bad_response, fmt::format("arguments of streamed tool call {} ('{}') are not a JSON object", index, p.name));
      call.arguments = std::move(args->as_object());
    }
    r.reply.tool_calls.push_back(std::move(call));
  }
  r.finish_reason = finish_reason_;
  r.usage = usage_;
  return r;
}

}  // namespace tern::agent::detail
