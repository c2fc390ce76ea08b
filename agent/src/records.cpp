// JSON forms of the run's records: results, traces and checkpoints.
#include "run_state.hpp"

#include <tern/core/json.hpp>

#include <fmt/format.h>

namespace tern::agent {

namespace bj = boost::json;

std::string_view to_string(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::answered: return "answered";
    case stop_reason::max_steps: return "max_steps";
    case stop_reason::max_tool_calls: return "max_tool_calls";
    case stop_reason::max_tokens: return "max_tokens";
    case stop_reason::max_wall_time: return "max_wall_time";
    case stop_reason::tool_call_limit: return "tool_call_limit";
    case stop_reason::cancelled: return "cancelled";
    case stop_reason::context_overflow: return "context_overflow";
    case stop_reason::model_error: return "model_error";
    case stop_reason::plan_failed: return "plan_failed";
    case stop_reason::checkpoint_error: return "checkpoint_error";
  }
  return "unknown";
}

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::run_started: return "run_started";
    case event_kind::token: return "token";
    case event_kind::thought: return "thought";
    case event_kind::plan: return "plan";
    case event_kind::tool_call_started: return "tool_call_started";
    case event_kind::tool_call_finished: return "tool_call_finished";
    case event_kind::step_finished: return "step_finished";
    case event_kind::context_trimmed: return "context_trimmed";
    case event_kind::run_finished: return "run_finished";
  }
  return "unknown";
}

bj::object event::to_json() const {
  bj::object o{{"t_ms", t_ms}, {"type", to_string(kind)}, {"run_id", run_id}, {"step", step}};
  for (const auto& kv : data) o[kv.key()] = kv.value();
  return o;
}

bj::object plan::to_json() const {
  bj::array a;
  for (const auto& s : steps)
    a.push_back(bj::object{{"id", s.id}, {"description", s.description}, {"tool", s.tool}, {"status", s.status}});
  return bj::object{{"revision", revision}, {"steps", std::move(a)}};
}

bj::object plan::schema() {
  return *json::parse(R"({"type":"object","required":["steps"],"properties":{"steps":{"type":"array","minItems":1,
    "items":{"type":"object","required":["description"],"properties":{"id":{"type":"integer"},
    "description":{"type":"string"},"tool":{"type":"string"}}}}}})")
              ->if_object();
}

result<plan> plan::from_json(const bj::value& v) {
  const auto* o = v.if_object();
  if (!o) return tern::fail(errc::bad_response, "a plan must be a JSON object").at("/");
  const auto* steps = o->if_contains("steps");
  if (!steps || !steps->is_array() || steps->get_array().empty())
    return tern::fail(errc::bad_response, "missing or empty array").at("/steps");
  plan p;
  if (const auto* r = o->if_contains("revision"); r && r->is_int64()) p.revision = static_cast<int>(r->get_int64());
  int n = 0;
  for (const auto& sv : steps->get_array()) {
    const std::string where = json::append_pointer("/steps", static_cast<std::size_t>(n));
    ++n;
    const auto* so = sv.if_object();
    if (!so) return tern::fail(errc::bad_response, "a step must be an object").at(where);
    plan_step s;
    s.id = n;
    if (const auto* id = so->if_contains("id"); id && id->is_int64()) s.id = static_cast<int>(id->get_int64());
    const auto* d = so->if_contains("description");
    if (!d || !d->is_string()) return tern::fail(errc::bad_response, "missing string").at(where + "/description");
    s.description = std::string(d->get_string());
    if (const auto* t = so->if_contains("tool"); t && t->is_string()) s.tool = std::string(t->get_string());
    if (const auto* st = so->if_contains("status"); st && st->is_string()) s.status = std::string(st->get_string());
    p.steps.push_back(std::move(s));
  }
  return p;
}

static bj::object usage_json(const model_usage& u) {
  return bj::object{{"prompt_tokens", u.prompt_tokens},
                    {"cached_prompt_tokens", u.cached_prompt_tokens},
                    {"completion_tokens", u.completion_tokens}};
}

static model_usage usage_from(const bj::value* v) {
  model_usage u;
  if (!v || !v->is_object()) return u;
  const auto& o = v->get_object();
  auto get = [&](const char* k) -> std::int64_t {
    const auto* x = o.if_contains(k);
    return x && x->is_int64() ? x->get_int64() : 0;
  };
  u.prompt_tokens = get("prompt_tokens");
  u.cached_prompt_tokens = get("cached_prompt_tokens");
  u.completion_tokens = get("completion_tokens");
  return u;
}

bj::object tool_call_record::to_json() const {
  bj::object o{{"step", step},
               {"call_id", call.id},
               {"tool", call.name},
               {"arguments", call.arguments},
               {"ok", ok},
               {"observation", observation},
               {"approval", approval},
               {"idempotency_key", idempotency_key},
               {"attempts", attempts},
               {"started_ms", started_ms},
               {"latency_ms", latency_ms}};
  if (original_arguments != call.arguments) o["original_arguments"] = original_arguments;
  if (ok) o["result"] = result;
  if (error) o["error"] = error->to_json().at("error");
  return o;
}

bj::object step_record::to_json() const {
  bj::array ids;
  for (const auto& id : call_ids) ids.emplace_back(id);
  return bj::object{{"index", index},       {"content", content},   {"reasoning", reasoning},
                    {"call_ids", std::move(ids)}, {"usage", usage_json(usage)}, {"model_ms", model_ms},
                    {"tools_ms", tools_ms}};
}

bj::object run_result::to_json() const {
  bj::array st, calls, msgs;
  for (const auto& s : steps) st.push_back(s.to_json());
  for (const auto& c : tool_calls) calls.push_back(c.to_json());
  for (const auto& m : messages) msgs.push_back(m.to_json());
  bj::object o{{"run_id", run_id},   {"stop_reason", to_string(reason)}, {"answer", answer},
               {"error", error},     {"steps", std::move(st)},          {"tool_calls", std::move(calls)},
               {"usage", usage_json(usage)}, {"wall_ms", wall_ms},      {"model_ms", model_ms},
               {"tool_ms", tool_ms}, {"messages", std::move(msgs)}};
  if (plan) o["plan"] = plan->to_json();
  return o;
}

// ---- checkpoints ---------------------------------------------------------

bj::object state_to_json(const agent::run_state& st) {
  bj::array msgs, steps, calls;
  for (const auto& m : st.messages) msgs.push_back(m.to_json());
  for (const auto& s : st.steps) steps.push_back(s.to_json());
  for (const auto& c : st.calls) calls.push_back(c.to_json());
  bj::object per_tool;
  for (const auto& [k, n] : st.per_tool) per_tool[k] = n;
  bj::object o{{"version", 1},
               {"run_id", st.run_id},
               {"task", st.task},
               {"step", st.step},
               {"messages", std::move(msgs)},
               {"steps", std::move(steps)},
               {"calls", std::move(calls)},
               {"usage", usage_json(st.usage)},
               {"per_tool", std::move(per_tool)},
               {"replans", st.replans},
               {"wall_ms", st.prior_wall_ms},
               {"model_ms", st.model_ms},
               {"tool_ms", st.tool_ms}};
  if (st.plan) o["plan"] = st.plan->to_json();
  return o;
}

namespace {

std::string str_at(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::int64_t int_at(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->get_int64() : 0;
}
double num_at(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  return 0;
}
const bj::array* array_at(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

}  // namespace

result<agent::run_state> state_from_json(const bj::value& v) {
  const auto* o = v.if_object();
  if (!o) return tern::fail(errc::parse_error, "a checkpoint must be a JSON object");
  if (int_at(*o, "version") != 1) return tern::fail(errc::unsupported, "unknown checkpoint version").at("/version");
  agent::run_state st;
  st.run_id = str_at(*o, "run_id");
  st.task = str_at(*o, "task");
  st.step = static_cast<int>(int_at(*o, "step"));
  st.replans = static_cast<int>(int_at(*o, "replans"));
  st.prior_wall_ms = num_at(*o, "wall_ms");
  st.model_ms = num_at(*o, "model_ms");
  st.tool_ms = num_at(*o, "tool_ms");
  st.usage = usage_from(o->if_contains("usage"));
  if (const auto* a = array_at(*o, "messages")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto m = message::from_json((*a)[i]);
      if (!m) return std::move(m).error().at(json::append_pointer("/messages", i));
      st.messages.push_back(std::move(*m));
    }
  }
  if (const auto* a = array_at(*o, "steps")) {
    for (const auto& sv : *a) {
      if (!sv.is_object()) return tern::fail(errc::parse_error, "a step must be an object").at("/steps");
      const auto& so = sv.get_object();
      step_record s;
      s.index = static_cast<int>(int_at(so, "index"));
      s.content = str_at(so, "content");
      s.reasoning = str_at(so, "reasoning");
      if (const auto* ids = array_at(so, "call_ids"))
        for (const auto& id : *ids)
          if (id.is_string()) s.call_ids.emplace_back(id.get_string());
      s.usage = usage_from(so.if_contains("usage"));
      s.model_ms = num_at(so, "model_ms");
      s.tools_ms = num_at(so, "tools_ms");
      st.steps.push_back(std::move(s));
    }
  }
  if (const auto* a = array_at(*o, "calls")) {
    for (const auto& cv : *a) {
      if (!cv.is_object()) return tern::fail(errc::parse_error, "a call must be an object").at("/calls");
      const auto& co = cv.get_object();
      tool_call_record c;
      c.step = static_cast<int>(int_at(co, "step"));
      c.call.id = str_at(co, "call_id");
      c.call.name = str_at(co, "tool");
      if (const auto* args = co.if_contains("arguments"); args && args->is_object()) c.call.arguments = args->get_object();
      c.original_arguments = c.call.arguments;
      if (const auto* args = co.if_contains("original_arguments"); args && args->is_object())
        c.original_arguments = args->get_object();
      if (const auto* ok = co.if_contains("ok"); ok && ok->is_bool()) c.ok = ok->get_bool();
      if (const auto* r = co.if_contains("result")) c.result = *r;
      if (const auto* ob = co.if_contains("observation")) c.observation = *ob;
      if (const auto* e = co.if_contains("error"); e && e->is_object()) {
        tools::tool_error err;
        const auto& eo = e->get_object();
        err.kind = tools::parse_tool_error_kind(str_at(eo, "kind")).value_or(tools::tool_error_kind::failed);
        err.message = str_at(eo, "message");
        err.tool = c.call.name;
        if (const auto* r = eo.if_contains("retryable"); r && r->is_bool()) err.retryable = r->get_bool();
        err.http_status = static_cast<int>(int_at(eo, "status"));
        c.error = std::move(err);
      }
      c.approval = str_at(co, "approval");
      c.idempotency_key = str_at(co, "idempotency_key");
      c.attempts = static_cast<int>(int_at(co, "attempts"));
      c.started_ms = num_at(co, "started_ms");
      c.latency_ms = num_at(co, "latency_ms");
      st.calls.push_back(std::move(c));
    }
  }
  if (const auto* pt = o->if_contains("per_tool"); pt && pt->is_object())
    for (const auto& kv : pt->get_object())
      if (kv.value().is_int64()) st.per_tool[std::string(kv.key())] = static_cast<int>(kv.value().get_int64());
  if (const auto* p = o->if_contains("plan")) {
    auto pl = plan::from_json(*p);
    if (!pl) return std::move(pl).error().at("/plan");
    st.plan = std::move(*pl);
  }
  return st;
}

}  // namespace tern::agent
