// tern.model{...}: a model as a Lua value (userdata "tern.model" holding a
// shared_ptr<agent::model>), for tern.agent.
//
//   {script = {turn, ...}}      agent::scripted_model (turn format in docs/lua.md)
//   {openai = URL, model = ...}  agent::openai_compatible_model
//   {path = "x.gguf", ...}       agent::local_model, when this build has it
#include "host.hpp"
#include "lua_json.hpp"

#include <tern/agent/openai_model.hpp>
#include <tern/agent/scripted_model.hpp>
#include <tern/core/json.hpp>

#if TERN_HAVE_LOCAL_MODEL
#include <tern/agent/local_model.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <thread>
#endif

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>

namespace tern::scripting::detail {
namespace {

namespace bj = boost::json;
using agent::model_response;
using agent::scripted_model;

struct model_box {
  std::shared_ptr<agent::model> model;
};

// What l_model gathers from the Lua table before C++ builds the model.
struct model_build_box {
  std::vector<bj::value> turns;  // null where the turn is a function
  std::vector<int> refs;         // LUA_NOREF where the turn is a table
  bj::value options;             // the other fields of the table, as JSON
  std::string error;
  std::shared_ptr<agent::model> model;
#if TERN_HAVE_LOCAL_MODEL
  std::optional<agent::local_model_options> local;
#endif
};

// ---- turns: JSON -> model_response ----

std::string field_path(std::string_view where, std::string_view key) { return fmt::format("{}.{}", where, key); }

result<std::string> string_field(const bj::object& o, const char* key, std::string_view where) {
  const auto* v = o.if_contains(key);
  if (!v) return std::string();
  if (!v->is_string()) return tern::fail(errc::invalid_argument, "must be a string").at(field_path(where, key));
  return std::string(v->get_string());
}

// A count or a number of seconds; -1 when absent.
result<double> number_field(const bj::object& o, const char* key, std::string_view where) {
  const auto* v = o.if_contains(key);
  if (!v) return -1.0;
  if (!v->is_number() || v->to_number<double>() < 0 || !std::isfinite(v->to_number<double>()))
    return tern::fail(errc::invalid_argument, "must be a non-negative number").at(field_path(where, key));
  return v->to_number<double>();
}

// {answer=, reasoning=} or {calls={{id=, name=, arguments=}}, thought=}, plus usage=
// and finish_reason=. `delay` is allowed (read by the caller) when allow_delay.
result<model_response> response_from_json(const bj::value& v, const std::string& where, std::atomic<int>& next_id,
                                          bool allow_delay) {
  const auto* o = v.if_object();
  if (!o) return tern::fail(errc::invalid_argument, "a turn must be a table {answer=...} or {calls=...}").at(where);
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    if (k != "answer" && k != "reasoning" && k != "calls" && k != "thought" && k != "usage" && k != "finish_reason" &&
        !(allow_delay && k == "delay"))
      return tern::fail(errc::invalid_argument,
                        fmt::format("unknown key '{}' (a turn has answer, reasoning, calls, thought, usage, "
                                    "finish_reason{})",
                                    k, allow_delay ? ", delay" : ""))
          .at(where);
  }
  const bool has_answer = o->contains("answer");
  const bool has_calls = o->contains("calls");
  if (has_answer == has_calls)
    return tern::fail(errc::invalid_argument, "a turn has either 'answer' (text) or 'calls' (a list)").at(where);
  model_response r;
  if (has_answer) {
    TERN_TRY(auto text, string_field(*o, "answer", where));
    r = scripted_model::answer(std::move(text));
  } else {
    const auto* calls = o->at("calls").if_array();
    if (!calls || calls->empty())
      return tern::fail(errc::invalid_argument, "must be a non-empty list of {name=, arguments=}")
          .at(field_path(where, "calls"));
    std::vector<agent::tool_call> out;
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const std::string at = fmt::format("{}.calls[{}]", where, i + 1);
      const auto* c = (*calls)[i].if_object();
      if (!c) return tern::fail(errc::invalid_argument, "a call must be a table {name=, arguments=, id=}").at(at);
      agent::tool_call tc;
      TERN_TRY(tc.name, string_field(*c, "name", at));
      if (tc.name.empty()) return tern::fail(errc::invalid_argument, "'name' (the tool) is required").at(at);
      TERN_TRY(tc.id, string_field(*c, "id", at));
      if (tc.id.empty()) tc.id = fmt::format("call_{}", next_id.fetch_add(1) + 1);
      if (const auto* a = c->if_contains("arguments")) {
        if (!a->is_object()) return tern::fail(errc::invalid_argument, "must be a table").at(field_path(at, "arguments"));
        tc.arguments = a->get_object();
      }
      for (const auto& kv : *c)
        if (kv.key() != "name" && kv.key() != "id" && kv.key() != "arguments")
          return tern::fail(errc::invalid_argument,
                            fmt::format("unknown key '{}' (a call has name, arguments, id)", std::string_view(kv.key())))
              .at(at);
      out.push_back(std::move(tc));
    }
    TERN_TRY(auto thought, string_field(*o, "thought", where));
    r = scripted_model::call(std::move(out), std::move(thought));
  }
  TERN_TRY(r.reply.reasoning, string_field(*o, "reasoning", where));
  TERN_TRY(auto finish, string_field(*o, "finish_reason", where));
  if (!finish.empty()) r.finish_reason = std::move(finish);
  if (const auto* u = o->if_contains("usage")) {
    if (!u->is_object()) return tern::fail(errc::invalid_argument, "must be a table").at(field_path(where, "usage"));
    const std::string at = field_path(where, "usage");
    TERN_TRY(const double p, number_field(u->get_object(), "prompt_tokens", at));
    TERN_TRY(const double c, number_field(u->get_object(), "completion_tokens", at));
    if (p > 0) r.usage.prompt_tokens = static_cast<std::int64_t>(p);
    if (c > 0) r.usage.completion_tokens = static_cast<std::int64_t>(c);
  }
  return r;
}

// What a turn function receives: {n=, messages={...}, tools={names}, results={[call id]=value}}.
bj::value request_to_json(const agent::model_request& req, std::size_t n) {
  bj::array messages, tools;
  bj::object results;
  for (const auto& m : req.messages) {
    messages.push_back(m.to_json());
    if (m.role != agent::role::tool) continue;
    auto doc = json::parse(m.content);
    results[m.tool_call_id] = doc ? std::move(*doc) : bj::value(m.content);
  }
  for (const auto& t : req.tools) tools.emplace_back(t.name);
  return bj::object{{"n", n}, {"messages", std::move(messages)}, {"tools", std::move(tools)}, {"results", std::move(results)}};
}

struct script_state {
  std::weak_ptr<host> h;
  std::atomic<int> next_id{0};
  std::atomic<std::size_t> n_requests{0};
};

scripted_model::turn function_turn(std::shared_ptr<script_state> st, int fn_ref, std::size_t index) {
  return scripted_model::turn::react([st, fn_ref, index](const agent::model_request& req) -> result<model_response> {
    auto h = st->h.lock();
    if (!h) return tern::fail(errc::cancelled, "the script that defined this model has ended");
    const std::string where = fmt::format("tern.model script[{}]", index + 1);
    auto v = h->call_sync(fn_ref, request_to_json(req, ++st->n_requests));
    if (!v) return std::move(v).error().at(where);
    return response_from_json(*v, where + " returned", st->next_id, false);
  });
}

// Refuses keys a kind of model does not read (a typo would silently do nothing).
bool known_keys(model_build_box* b, std::initializer_list<std::string_view> keys) {
  for (const auto& kv : b->options.as_object()) {
    bool found = false;
    for (auto k : keys) found = found || kv.key() == k;
    if (!found) {
      std::string list;
      for (auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      b->error = fmt::format("tern.model: unknown key '{}' (this kind of model reads {})",
                             std::string_view(kv.key()), list);
      return false;
    }
  }
  return true;
}

bool build_scripted(host* h, model_build_box* b) noexcept {
  try {
    if (!known_keys(b, {"script", "name", "context_length", "simulate_usage"})) return false;
    const auto& opts = b->options.as_object();
    auto st = std::make_shared<script_state>();
    st->h = h->weak_from_this();
    std::vector<scripted_model::turn> turns;
    for (std::size_t i = 0; i < b->turns.size(); ++i) {
      const std::string where = fmt::format("tern.model script[{}]", i + 1);
      if (b->refs[i] != LUA_NOREF) {
        turns.push_back(function_turn(st, b->refs[i], i));
        continue;
      }
      auto r = response_from_json(b->turns[i], where, st->next_id, true);
      if (!r) {
        b->error = r.error().describe();
        return false;
      }
      auto delay = number_field(b->turns[i].as_object(), "delay", where);
      if (!delay) {
        b->error = delay.error().describe();
        return false;
      }
      const auto ms = std::chrono::milliseconds(*delay > 0 ? static_cast<std::int64_t>(*delay * 1000.0) : 0);
      turns.push_back(scripted_model::turn::reply(std::move(*r), ms));
    }
    scripted_model::options o;
    auto name = string_field(opts, "name", "tern.model");
    auto ctx = number_field(opts, "context_length", "tern.model");
    if (!name || !ctx) {
      b->error = (!name ? name.error() : ctx.error()).describe();
      return false;
    }
    if (!name->empty()) o.name = *name;
    if (*ctx > 0) o.context_length = static_cast<std::int64_t>(*ctx);
    if (const auto* s = opts.if_contains("simulate_usage")) {
      if (!s->is_bool()) {
        b->error = "tern.model.simulate_usage: must be a boolean";
        return false;
      }
      o.simulate_usage = s->get_bool();
    }
    b->model = std::make_shared<scripted_model>(std::move(turns), std::move(o));
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

bool build_openai(model_build_box* b) noexcept {
  try {
    if (!known_keys(b, {"openai", "model", "api_key_env", "stream", "context_length", "timeout", "max_attempts",
                        "ca_file"}))
      return false;
    const auto& opts = b->options.as_object();
    agent::openai_model_options o;
    const char* where = "tern.model";
    auto url = string_field(opts, "openai", where);
    auto model = string_field(opts, "model", where);
    auto key = string_field(opts, "api_key_env", where);
    auto ca = string_field(opts, "ca_file", where);
    auto ctx = number_field(opts, "context_length", where);
    auto timeout = number_field(opts, "timeout", where);
    auto attempts = number_field(opts, "max_attempts", where);
    for (const tern::error* e : {url ? nullptr : &url.error(), model ? nullptr : &model.error(),
                                 key ? nullptr : &key.error(), ca ? nullptr : &ca.error(),
                                 ctx ? nullptr : &ctx.error(), timeout ? nullptr : &timeout.error(),
                                 attempts ? nullptr : &attempts.error()})
      if (e) {
        b->error = e->describe();
        return false;
      }
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      b->error = "tern.model.openai: must be an http:// or https:// URL";
      return false;
    }
    o.base_url = std::move(*url);
    o.model = std::move(*model);
    o.api_key_env = std::move(*key);
    o.ca_file = std::move(*ca);
    if (*ctx > 0) o.context_length = static_cast<std::int64_t>(*ctx);
    if (*timeout > 0) o.total_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*timeout * 1000.0));
    if (*attempts >= 1) o.max_attempts = static_cast<int>(*attempts);
    if (const auto* s = opts.if_contains("stream")) {
      if (!s->is_bool()) {
        b->error = "tern.model.stream: must be a boolean";
        return false;
      }
      o.stream = s->get_bool();
    }
    b->model = std::make_shared<agent::openai_compatible_model>(std::move(o));
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

#if TERN_HAVE_LOCAL_MODEL
// ---- path = FILE.gguf: the in-process engine ----

using local_result = result<std::shared_ptr<agent::local_model>>;

result<agent::local_model_options> local_options(const host* h, model_build_box* b) {
  if (!known_keys(b, {"path", "context", "threads", "max_sessions", "chat_template", "max_thinking_tokens",
                      "max_tokens", "constrain_tool_calls", "name"}))
    return tern::error(errc::invalid_argument, b->error);
  const auto& opts = b->options.as_object();
  const char* where = "tern.model";
  agent::local_model_options o;
  TERN_TRY(auto path, string_field(opts, "path", where));
  TERN_TRY(o.chat_template, string_field(opts, "chat_template", where));
  TERN_TRY(o.name, string_field(opts, "name", where));
  TERN_TRY(const double ctx, number_field(opts, "context", where));
  TERN_TRY(const double threads, number_field(opts, "threads", where));
  TERN_TRY(const double sessions, number_field(opts, "max_sessions", where));
  TERN_TRY(const double thinking, number_field(opts, "max_thinking_tokens", where));
  TERN_TRY(const double max_tokens, number_field(opts, "max_tokens", where));
  // A relative path is the script's folder's when the file is there.
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.is_relative() && !h->script_dir_.empty() && std::filesystem::exists(h->script_dir_ / p, ec))
    p = h->script_dir_ / p;
  o.path = p;
  if (ctx > 0) o.context_length = static_cast<std::int64_t>(ctx);
  if (threads > 0) o.threads = static_cast<int>(std::min(threads, 1024.0));
  if (sessions >= 1) o.max_sessions = static_cast<std::size_t>(std::min(sessions, 1024.0));
  if (thinking >= 0) o.max_thinking_tokens = static_cast<int>(std::min(thinking, 1e9));
  if (max_tokens >= 1) o.default_max_tokens = static_cast<std::int64_t>(max_tokens);
  if (const auto* c = opts.if_contains("constrain_tool_calls")) {
    if (!c->is_bool()) return tern::fail(errc::invalid_argument, "must be a boolean").at("tern.model.constrain_tool_calls");
    o.constrain_tool_calls = c->get_bool();
  }
  return o;
}

// Loading reads the whole file: it runs on a thread of its own, and the result comes
// back on the script's executor, so the event loop never waits for the disk.
struct open_initiation {
  agent::local_model_options options;
  template <class Handler>
  void operator()(Handler&& handler) {
    auto ex = asio::get_associated_executor(handler);
    auto work = asio::make_work_guard(ex);
    std::thread([options = std::move(options), handler = std::forward<Handler>(handler), work = std::move(work)]() mutable {
      local_result r = agent::local_model::open(std::move(options));
      auto ex = work.get_executor();
      asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable { std::move(handler)(std::move(r)); });
    }).detach();
  }
};

asio::awaitable<local_result> open_local(agent::local_model_options options) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(local_result)>(open_initiation{std::move(options)},
                                                                                 asio::use_awaitable);
}

bool prepare_local(const host* h, model_build_box* b, agent::local_model_options** out) noexcept {
  try {
    auto o = local_options(h, b);
    if (!o) {
      b->error = o.error().describe();
      return false;
    }
    b->local.emplace(std::move(*o));
    *out = &*b->local;
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}
#endif

bool resize_turns(model_build_box* b, std::size_t n) noexcept {
  try {
    b->turns.resize(n);
    b->refs.assign(n, LUA_NOREF);
    return true;
  } catch (...) {
    return false;
  }
}

model_box* check_model(lua_State* L, int idx) {
  if (test_model(L, idx) == nullptr) luaL_typeerror(L, idx, "tern.model");
  return static_cast<model_box*>(lua_touserdata(L, idx));
}

const std::string& model_name(model_box* m, std::string& scratch) noexcept {
  try {
    scratch = m->model->name();
  } catch (...) {
    scratch.clear();
  }
  return scratch;
}

// ---- model:complete{...}: one model turn, without an agent ----

struct complete_box {
  bj::value spec;  // the table without `tools`, as JSON
  std::vector<tools::tool_spec> tools;
  std::optional<agent::model_request> request;
  std::string error;
};

result<agent::model_request> request_from(const bj::value& v, std::vector<tools::tool_spec> tools) {
  const std::string where = "model:complete";
  const auto* o = v.if_object();
  if (!o) return tern::fail(errc::invalid_argument, "expects a table").at(where);
  agent::model_request req;
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    const std::string at = fmt::format("{}.{}", where, k);
    const auto& x = kv.value();
    if (k == "system" || k == "prompt") {
      if (!x.is_string()) return tern::fail(errc::invalid_argument, "must be a string").at(at);
    } else if (k == "messages") {
      const auto* a = x.if_array();
      if (!a) return tern::fail(errc::invalid_argument, "must be a list of {role =, content =}").at(at);
      for (std::size_t i = 0; i < a->size(); ++i) {
        auto m = agent::message::from_json((*a)[i]);
        if (!m) return std::move(m).error().at(fmt::format("{}[{}]", at, i + 1));
        req.messages.push_back(std::move(*m));
      }
    } else if (k == "response_schema") {
      if (!x.is_object()) return tern::fail(errc::invalid_argument, "must be a table (a JSON Schema)").at(at);
      req.response_schema = x.get_object();
    } else if (k == "temperature" || k == "top_p" || k == "max_tokens" || k == "seed") {
      if (!x.is_number() || x.to_number<double>() < 0)
        return tern::fail(errc::invalid_argument, "must be a non-negative number").at(at);
      const double d = x.to_number<double>();
      if (k == "temperature") req.settings.temperature = d;
      if (k == "top_p") req.settings.top_p = d;
      if (k == "max_tokens") req.settings.max_tokens = static_cast<std::int64_t>(d);
      if (k == "seed") req.settings.seed = static_cast<std::uint64_t>(d);
    } else if (k == "tool_choice") {
      if (x == "auto") req.choice = agent::tool_choice::automatic();
      else if (x == "required") req.choice = agent::tool_choice::required();
      else if (x == "none") req.choice = agent::tool_choice::none();
      else if (x.is_string()) req.choice = agent::tool_choice::named(std::string(x.get_string()));
      else return tern::fail(errc::invalid_argument, "must be \"auto\", \"required\", \"none\" or a tool's name").at(at);
    } else {
      return tern::fail(errc::invalid_argument,
                        fmt::format("unknown key '{}' (system, prompt, messages, tools, tool_choice, response_schema, "
                                    "temperature, top_p, max_tokens, seed)",
                                    k))
          .at(where);
    }
  }
  // system first, then the messages, then prompt as the last user message.
  if (const auto* sys = o->if_contains("system"))
    req.messages.insert(req.messages.begin(), agent::message::system(std::string(sys->get_string())));
  if (const auto* p = o->if_contains("prompt")) req.messages.push_back(agent::message::user(std::string(p->get_string())));
  if (req.messages.empty()) return tern::fail(errc::invalid_argument, "give prompt = \"...\" or messages = {...}").at(where);
  req.tools = std::move(tools);
  return req;
}

bool prepare_request(complete_box* b) noexcept {
  try {
    auto r = request_from(b->spec, std::move(b->tools));
    if (!r) {
      b->error = r.error().describe();
      return false;
    }
    b->request.emplace(std::move(*r));
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

bool add_spec(complete_box* b, const tools::tool_ptr& t) noexcept {
  try {
    b->tools.push_back(t->spec());
    return true;
  } catch (...) {
    return false;
  }
}

// What model:complete hands back: the reply as JSON, or the error's text.
struct reply_outcome {
  bj::value reply;
  std::string error;
};

int push_reply(lua_State* L, reply_outcome& r) {
  if (!r.error.empty()) {
    luaL_where(L, 1);
    lua_pushlstring(L, r.error.data(), r.error.size());
    lua_concat(L, 2);
    return lua_error(L);
  }
  push_json(L, r.reply);
  return 1;
}

// Keeps the model alive for the whole call; builds the reply table's JSON.
asio::awaitable<reply_outcome> complete_with(std::shared_ptr<agent::model> m, agent::model_request req) {
  auto op = m->complete(std::move(req));  // named: no temporaries inside the co_await expression
  result<agent::model_response> r = co_await std::move(op);
  reply_outcome out;
  if (!r) {
    out.error = "model:complete: " + r.error().describe();
    co_return out;
  }
  bj::array calls;
  for (const auto& c : r->reply.tool_calls)
    calls.push_back(bj::object{{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
  out.reply = bj::object{{"content", r->reply.content},
                         {"reasoning", r->reply.reasoning},
                         {"tool_calls", std::move(calls)},
                         {"finish_reason", r->finish_reason},
                         {"usage", bj::object{{"prompt_tokens", r->usage.prompt_tokens},
                                              {"cached_prompt_tokens", r->usage.cached_prompt_tokens},
                                              {"completion_tokens", r->usage.completion_tokens}}}};
  co_return out;
}

int l_model_complete(lua_State* L);

int l_model_index(lua_State* L) {
  model_box* m = check_model(L, 1);
  const std::string_view k = luaL_checkstring(L, 2);
  if (k == "name") {
    host* h = host::of(L);
    const std::string& name = model_name(m, h->scratch_);
    lua_pushlstring(L, name.data(), name.size());
  } else if (k == "context_length") {
    lua_pushinteger(L, static_cast<lua_Integer>(m->model->context_length()));
  } else if (k == "complete") {
    lua_pushcfunction(L, &l_model_complete);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_model_complete(lua_State* L) {
  model_box* m = check_model(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  auto* b = new_box<complete_box>(L);  // 3
  lua_createtable(L, 0, 8);            // 4: the table without tools
  lua_pushnil(L);
  while (lua_next(L, 2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && std::string_view(lua_tostring(L, -2)) == "tools") {
      if (!lua_istable(L, -1)) return luaL_error(L, "model:complete: 'tools' must be a list of tools");
      const auto n = static_cast<lua_Integer>(lua_rawlen(L, -1));
      for (lua_Integer i = 1; i <= n; ++i) {
        lua_rawgeti(L, -1, i);
        const tools::tool_ptr* t = test_tool(L, -1);
        if (t == nullptr) return luaL_error(L, "model:complete: tools[%d] is not a tool", static_cast<int>(i));
        if (!add_spec(b, *t)) return luaL_error(L, "model:complete: out of memory");
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, 4);
  }
  if (!to_json(L, 4, b->spec, b->error)) return luaL_error(L, "model:complete: %s", b->error.c_str());
  if (!prepare_request(b)) return luaL_error(L, "%s", b->error.c_str());
  auto make = [m, b] {
    std::shared_ptr<agent::model> model = m->model;
    return complete_with(std::move(model), std::move(*b->request));
  };
  const await_status st = begin_await<reply_outcome>(L, make, &push_reply);
  if (st != await_status::started) return raise_await_failure(L, st, "model:complete");
  return yield_for_op(L);
}

// Pushes a model userdata holding `m` (owned by a box: Lua may raise).
template <class Model>
void push_model(lua_State* L, const std::shared_ptr<Model>& m) {
  auto* box = new_box<model_box>(L);
  name_box(L, -1, "tern.model", &l_model_index);
  box->model = m;  // a converting shared_ptr copy: noexcept
}

#if TERN_HAVE_LOCAL_MODEL
int push_local(lua_State* L, local_result& r) {
  if (!r) {
    host* h = host::of(L);
    try {
      h->scratch_ = "tern.model: " + r.error().describe();
    } catch (...) {
      h->scratch_ = "tern.model: out of memory";
    }
    luaL_where(L, 1);
    lua_pushstring(L, h->scratch_.c_str());
    lua_concat(L, 2);
    return lua_error(L);
  }
  push_model(L, *r);
  return 1;
}
#endif

// The fields of the table at idx other than `script`, as a JSON object in b->options.
void gather_options(lua_State* L, int idx, model_build_box* b) {
  lua_createtable(L, 0, 8);
  const int copy = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "tern.model: the table's keys must be names");
    const std::string_view key = lua_tostring(L, -2);
    if (key == "script" || lua_type(L, -1) == LUA_TFUNCTION) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, copy);
  }
  if (!to_json(L, copy, b->options, b->error)) luaL_error(L, "tern.model: %s", b->error.c_str());
  lua_pop(L, 1);
}

int l_model(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  host* h = host::of(L);
  auto* b = new_box<model_build_box>(L);  // 2
  lua_getfield(L, 1, "script");           // 3
  lua_getfield(L, 1, "openai");           // 4
  lua_getfield(L, 1, "path");             // 5
  const int n_kinds = !lua_isnil(L, 3) + !lua_isnil(L, 4) + !lua_isnil(L, 5);
  if (n_kinds != 1)
    return luaL_error(L, "tern.model: give exactly one of script = {turns...}, openai = URL or path = FILE.gguf");
  gather_options(L, 1, b);

  if (!lua_isnil(L, 3)) {
    if (!lua_istable(L, 3)) return luaL_error(L, "tern.model: 'script' must be a list of turns");
    const auto n = static_cast<std::size_t>(lua_rawlen(L, 3));
    if (!resize_turns(b, n)) return luaL_error(L, "tern.model: out of memory");
    for (std::size_t i = 0; i < n; ++i) {
      lua_rawgeti(L, 3, static_cast<lua_Integer>(i + 1));
      if (lua_isfunction(L, -1)) {
        b->refs[i] = luaL_ref(L, LUA_REGISTRYINDEX);  // lives as long as the state
      } else if (lua_istable(L, -1)) {
        if (!to_json(L, -1, b->turns[i], b->error))
          return luaL_error(L, "tern.model: script[%d]: %s", static_cast<int>(i + 1), b->error.c_str());
        lua_pop(L, 1);
      } else {
        return luaL_error(L, "tern.model: script[%d] must be a table (a turn) or a function(request)",
                          static_cast<int>(i + 1));
      }
    }
    if (!build_scripted(h, b)) return luaL_error(L, "%s", b->error.c_str());
  } else if (!lua_isnil(L, 4)) {
    if (lua_type(L, 4) != LUA_TSTRING) return luaL_error(L, "tern.model: 'openai' must be the server's URL");
    if (!build_openai(b)) return luaL_error(L, "%s", b->error.c_str());
  } else {
#if TERN_HAVE_LOCAL_MODEL
    if (lua_type(L, 5) != LUA_TSTRING) return luaL_error(L, "tern.model: 'path' must be the GGUF file's name");
    agent::local_model_options* o = nullptr;
    if (!prepare_local(h, b, &o)) return luaL_error(L, "%s", b->error.c_str());
    auto make = [o] { return open_local(std::move(*o)); };
    const await_status st = begin_await<local_result>(L, make, &push_local);
    if (st != await_status::started) return raise_await_failure(L, st, "tern.model{path=...}");
    return yield_for_op(L);
#else
    return luaL_error(L,
                      "tern.model: path = FILE.gguf (a local model) is not available in this build: the agent "
                      "library has no local_model yet; use openai = URL (e.g. llama.cpp's or vLLM's server) or "
                      "script = {...}");
#endif
  }
  push_model(L, b->model);
  return 1;
}

}  // namespace

const std::shared_ptr<agent::model>* test_model(lua_State* L, int idx) {
  auto* box = static_cast<model_box*>(test_box(L, idx, "tern.model"));
  return box && box->model ? &box->model : nullptr;
}

void open_model_functions(lua_State* L, int tern_idx) {
  lua_pushcfunction(L, &l_model);
  lua_setfield(L, tern_idx, "model");
}

}  // namespace tern::scripting::detail
