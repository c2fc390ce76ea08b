// tern.agent{...} and agent:run(task): tern::agent::agent as a Lua value.
//
// The agent runs on the script's executor; agent:run yields the calling Lua
// coroutine until the run ends (begin_await), so other coroutines and scripts
// go on meanwhile. Callbacks:
//   approve(call)  runs as a new task of the script (it may wait, e.g. for a host
//                  function asking a person); its Lua error, or a value that is not a
//                  decision, rejects the call (fail closed) with the reason given.
//   on_event(ev)   runs synchronously when the event is delivered (it cannot wait);
//                  its Lua error stops the run (cancelled) and agent:run raises it.
#include "host.hpp"
#include "lua_json.hpp"

#include <tern/agent/agent.hpp>
#include <tern/core/log.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>

namespace tern::scripting::detail {
namespace {

namespace bj = boost::json;

// One agent:run in flight.
struct run_ctl {
  asio::cancellation_signal signal;  // stops the agent's run
  bool running = true;               // the run's coroutine has not completed yet
  std::string callback_error;        // the first on_event failure
};

// Shared by the callbacks in the agent's settings and agent:run.
struct agent_state {
  std::weak_ptr<host> h;
  int approve_ref = LUA_NOREF;  // the approve adapter (see l_agent)
  int event_ref = LUA_NOREF;
  std::map<std::string, std::shared_ptr<run_ctl>, std::less<>> runs;  // by run id
};

struct agent_box {
  std::shared_ptr<const agent::agent> impl;
  std::shared_ptr<agent_state> state;
  // Gathered by l_agent before the agent is built.
  std::shared_ptr<agent::model> model;
  std::vector<tools::tool_ptr> tools;
  bj::value cfg;
  std::string error;
  std::string task;
};

// ---- settings from the table ----

const char* const k_agent_keys[] = {"model",  "tools",    "instructions", "budget",     "approve",
                                    "on_event", "mode",   "policies",     "default_policy", "generation",
                                    "max_tool_result_bytes", "max_replans"};

result<double> number_at(const bj::object& o, std::string_view key, const std::string& where, bool integer) {
  const auto* v = o.if_contains(key);
  if (!v) return -1.0;
  const std::string at = fmt::format("{}.{}", where, key);
  if (!v->is_number()) return tern::fail(errc::invalid_argument, "must be a number").at(at);
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d < 0) return tern::fail(errc::invalid_argument, "must be a non-negative number").at(at);
  if (integer && d != std::floor(d)) return tern::fail(errc::invalid_argument, "must be a whole number").at(at);
  if (d > 1e15) return tern::fail(errc::invalid_argument, "is too large").at(at);
  return d;
}

result<void> only_keys(const bj::object& o, std::initializer_list<std::string_view> keys, const std::string& where) {
  for (const auto& kv : o) {
    bool found = false;
    for (auto k : keys) found = found || kv.key() == k;
    if (found) continue;
    std::string list;
    for (auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
    return tern::fail(errc::invalid_argument,
                      fmt::format("unknown key '{}' (expected {})", std::string_view(kv.key()), list))
        .at(where);
  }
  return tern::ok();
}

const bj::object* table_at(const bj::object& o, std::string_view key, const std::string& where, tern::error* err) {
  const auto* v = o.if_contains(key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    *err = tern::error(errc::invalid_argument, "must be a table of named fields").at(fmt::format("{}.{}", where, key));
    return nullptr;
  }
  return &v->get_object();
}

std::chrono::milliseconds seconds_to_ms(double s) { return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000.0)); }

result<agent::tool_policy> policy_from(const bj::object& o, const std::string& where) {
  TERN_CHECK(only_keys(o, {"side_effecting", "timeout", "max_attempts", "retry_delay"}, where));
  agent::tool_policy p;
  if (const auto* s = o.if_contains("side_effecting")) {
    if (!s->is_bool()) return tern::fail(errc::invalid_argument, "must be a boolean").at(where + ".side_effecting");
    p.side_effecting = s->get_bool();
  }
  TERN_TRY(const double timeout, number_at(o, "timeout", where, false));
  TERN_TRY(const double attempts, number_at(o, "max_attempts", where, true));
  TERN_TRY(const double delay, number_at(o, "retry_delay", where, false));
  if (timeout >= 0) p.timeout = seconds_to_ms(timeout);
  if (attempts >= 1) p.max_attempts = static_cast<int>(attempts);
  if (delay >= 0) p.retry_base_delay = seconds_to_ms(delay);
  return p;
}

result<agent::agent_settings> settings_from(const bj::object& cfg) {
  const std::string where = "tern.agent";
  agent::agent_settings s;
  for (const auto& kv : cfg) {
    bool found = false;
    for (const char* k : k_agent_keys) found = found || kv.key() == k;
    if (!found) return tern::fail(errc::invalid_argument, fmt::format("unknown key '{}'", std::string_view(kv.key()))).at(where);
  }
  if (const auto* v = cfg.if_contains("instructions")) {
    if (!v->is_string()) return tern::fail(errc::invalid_argument, "must be a string").at(where + ".instructions");
    s.instructions = v->get_string();
  }
  if (const auto* v = cfg.if_contains("mode")) {
    if (*v == "plan")
      s.mode = agent::agent_mode::plan_and_execute;
    else if (*v != "react")
      return tern::fail(errc::invalid_argument, "must be \"react\" (the default) or \"plan\"").at(where + ".mode");
  }
  tern::error err(errc::internal, "");
  bool failed = false;
  auto table = [&](std::string_view key) {
    const bj::object* t = table_at(cfg, key, where, &err);
    if (!t && cfg.contains(key)) failed = true;
    return t;
  };
  if (const auto* b = table("budget")) {
    const std::string at = where + ".budget";
    TERN_CHECK(only_keys(*b, {"steps", "tool_calls", "tokens", "seconds", "per_tool"}, at));
    TERN_TRY(const double steps, number_at(*b, "steps", at, true));
    TERN_TRY(const double calls, number_at(*b, "tool_calls", at, true));
    TERN_TRY(const double tokens, number_at(*b, "tokens", at, true));
    TERN_TRY(const double seconds, number_at(*b, "seconds", at, false));
    if (steps >= 0) s.limits.max_steps = static_cast<int>(std::min(steps, 1e9));
    if (calls >= 0) s.limits.max_tool_calls = static_cast<int>(std::min(calls, 1e9));
    if (tokens >= 0) s.limits.max_tokens = static_cast<std::int64_t>(tokens);
    if (seconds >= 0) s.limits.max_wall_time = seconds_to_ms(seconds);
    if (const auto* per = table_at(*b, "per_tool", at, &err)) {
      for (const auto& kv : *per) {
        TERN_TRY(const double n, number_at(*per, kv.key(), at + ".per_tool", true));
        s.limits.per_tool[std::string(kv.key())] = static_cast<int>(std::min(n, 1e9));
      }
    } else if (b->contains("per_tool")) {
      return err;
    }
  }
  if (failed) return err;
  if (const auto* p = table("policies")) {
    for (const auto& kv : *p) {
      const std::string at = fmt::format("{}.policies.{}", where, std::string_view(kv.key()));
      if (!kv.value().is_object()) return tern::fail(errc::invalid_argument, "must be a table").at(at);
      TERN_TRY(auto pol, policy_from(kv.value().get_object(), at));
      s.policies[std::string(kv.key())] = pol;
    }
  }
  if (failed) return err;
  if (const auto* p = table("default_policy")) {
    TERN_TRY(s.default_policy, policy_from(*p, where + ".default_policy"));
  }
  if (failed) return err;
  if (const auto* g = table("generation")) {
    const std::string at = where + ".generation";
    TERN_CHECK(only_keys(*g, {"temperature", "top_p", "max_tokens", "seed", "stop"}, at));
    TERN_TRY(const double temperature, number_at(*g, "temperature", at, false));
    TERN_TRY(const double top_p, number_at(*g, "top_p", at, false));
    TERN_TRY(const double max_tokens, number_at(*g, "max_tokens", at, true));
    TERN_TRY(const double seed, number_at(*g, "seed", at, true));
    if (temperature >= 0) s.generation.temperature = temperature;
    if (top_p >= 0) s.generation.top_p = top_p;
    if (max_tokens >= 0) s.generation.max_tokens = static_cast<std::int64_t>(max_tokens);
    if (seed >= 0) s.generation.seed = static_cast<std::uint64_t>(seed);
    if (const auto* stop = g->if_contains("stop")) {
      const auto* a = stop->if_array();
      if (!a) return tern::fail(errc::invalid_argument, "must be a list of strings").at(at + ".stop");
      for (const auto& x : *a) {
        if (!x.is_string()) return tern::fail(errc::invalid_argument, "must be a list of strings").at(at + ".stop");
        s.generation.stop.emplace_back(x.get_string());
      }
    }
  }
  if (failed) return err;
  TERN_TRY(const double max_bytes, number_at(cfg, "max_tool_result_bytes", where, true));
  TERN_TRY(const double replans, number_at(cfg, "max_replans", where, true));
  if (max_bytes >= 0) s.max_tool_result_bytes = static_cast<std::size_t>(max_bytes);
  if (replans >= 0) s.max_replans = static_cast<int>(std::min(replans, 1e6));
  return s;
}

// ---- callbacks ----

agent::approval_decision decision_from(const bj::value& v) {
  using agent::approval_decision;
  const auto& o = v.as_object();  // {v = what approve returned, why = its second value}
  const auto* verdict = o.if_contains("v");
  const auto* why = o.if_contains("why");
  if (verdict && verdict->is_bool()) {
    if (verdict->get_bool()) return approval_decision::approve();
    return approval_decision::reject(why && why->is_string() ? std::string(why->get_string())
                                                             : std::string("rejected by the approve function"));
  }
  if (verdict && verdict->is_object()) return approval_decision::edit(verdict->get_object());
  return approval_decision::reject(
      "the approve function returned neither true, false[, reason] nor a table of arguments (the call was not made)");
}

asio::awaitable<agent::approval_decision> approve_with_lua(std::shared_ptr<agent_state> st, bj::value call) {
  auto h = st->h.lock();
  if (!h || h->closed())
    co_return agent::approval_decision::reject("the script that set the approve function has ended");
  auto op = call_lua(std::move(h), st->approve_ref, std::move(call));  // named: see call_lua
  result<bj::value> r = co_await std::move(op);
  if (!r || !r->is_object()) {
    const std::string why = r ? std::string("a bad return value") : r.error().describe();
    tern::log::write(tern::log::level::warn, "lua: the approve function failed: " + why);
    co_return agent::approval_decision::reject("the approve function failed: " + why);
  }
  co_return decision_from(*r);
}

agent::approval_fn make_approve(std::shared_ptr<agent_state> st) {
  return [st](const agent::approval_request& r) {
    bj::value call = bj::object{{"id", r.call.id},   {"name", r.call.name}, {"arguments", r.call.arguments},
                                {"step", r.step},    {"run_id", r.run_id}};
    return approve_with_lua(st, std::move(call));
  };
}

void deliver_event(const std::shared_ptr<agent_state>& st, const agent::event& e) {
  auto h = st->h.lock();
  if (!h || st->event_ref == LUA_NOREF) return;
  auto r = h->call_sync(st->event_ref, e.to_json());
  if (r) return;
  auto it = st->runs.find(e.run_id);
  if (it == st->runs.end()) {
    tern::log::write(tern::log::level::warn, "lua: on_event failed: " + r.error().describe());
    return;
  }
  run_ctl& ctl = *it->second;
  if (!ctl.callback_error.empty()) return;
  ctl.callback_error = "on_event failed: " + r.error().describe();
  if (ctl.running) ctl.signal.emit(asio::cancellation_type::terminal);
}

// ---- agent:run ----

struct run_outcome {
  bj::value result;
  std::string callback_error;
};

// Runs the agent with its own cancellation signal (so on_event can stop it), fed by
// the awaiting coroutine's cancellation (so a cancelled script stops it too).
struct run_initiation {
  std::shared_ptr<const agent::agent> a;
  std::string task;
  std::string run_id;
  std::shared_ptr<run_ctl> ctl;
  asio::any_io_executor ex;
  template <class Handler>
  void operator()(Handler&& handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected())
      slot.assign([ctl = ctl](asio::cancellation_type t) {
        if (ctl->running) ctl->signal.emit(t);
      });
    auto shared = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
    auto run = a->run(std::move(task), std::move(run_id));
    asio::co_spawn(ex, std::move(run),
                   asio::bind_cancellation_slot(ctl->signal.slot(), [shared, a = a, ctl = ctl](std::exception_ptr e,
                                                                                             agent::run_result r) {
                     ctl->running = false;
                     if (e) {
                       r.reason = agent::stop_reason::model_error;
                       r.error = "internal error: the agent's run threw";
                     }
                     std::move(*shared)(std::move(r));
                   }));
  }
};

asio::awaitable<agent::run_result> start_run(std::shared_ptr<const agent::agent> a, std::string task, std::string run_id,
                                             std::shared_ptr<run_ctl> ctl, asio::any_io_executor ex) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(agent::run_result)>(
      run_initiation{std::move(a), std::move(task), std::move(run_id), std::move(ctl), std::move(ex)},
      asio::use_awaitable);
}

std::string fresh_run_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("lua-{:016x}", rng());
}

struct run_registration {
  std::shared_ptr<agent_state> st;
  std::string id;
  ~run_registration() { st->runs.erase(id); }
};

asio::awaitable<run_outcome> run_agent(std::shared_ptr<agent_state> st, std::shared_ptr<const agent::agent> a,
                                       std::string task) {
  auto ctl = std::make_shared<run_ctl>();
  run_registration reg{st, fresh_run_id()};
  st->runs[reg.id] = ctl;
  auto ex = co_await asio::this_coro::executor;
  auto op = start_run(std::move(a), std::move(task), reg.id, ctl, ex);  // named: see call_lua
  agent::run_result r = co_await std::move(op);
  // Events are posted by the run: let the ones still queued reach on_event first.
  co_await asio::post(ex, asio::use_awaitable);
  run_outcome out;
  out.callback_error = ctl->callback_error;
  out.result = r.to_json();
  co_return out;
}

void describe_into(std::string& out, const std::string& what) noexcept {
  try {
    out = "agent:run: " + what;
  } catch (...) {
    out = "agent:run: a callback failed";
  }
}

int push_run(lua_State* L, run_outcome& out) {
  if (!out.callback_error.empty()) {
    host* h = host::of(L);
    describe_into(h->scratch_, out.callback_error);
    luaL_where(L, 1);
    lua_pushstring(L, h->scratch_.c_str());
    lua_concat(L, 2);
    return lua_error(L);
  }
  push_json(L, out.result);
  return 1;
}

agent_box* check_agent(lua_State* L, int idx) {
  if (void* box = test_box(L, idx, "tern.agent")) return static_cast<agent_box*>(box);
  luaL_typeerror(L, idx, "tern.agent");
  return nullptr;
}

bool set_task(agent_box* b, const char* s, std::size_t n) noexcept {
  try {
    b->task.assign(s, n);
    return true;
  } catch (...) {
    return false;
  }
}

int l_agent_run(lua_State* L) {
  agent_box* b = check_agent(L, 1);
  std::size_t n = 0;
  const char* task = luaL_checklstring(L, 2, &n);
  if (!set_task(b, task, n)) return luaL_error(L, "agent:run: out of memory");
  auto make = [b] { return run_agent(b->state, b->impl, std::move(b->task)); };
  const await_status st = begin_await<run_outcome>(L, make, &push_run);
  if (st != await_status::started) return raise_await_failure(L, st, "agent:run");
  return yield_for_op(L);
}

int l_agent_index(lua_State* L) {
  agent_box* b = check_agent(L, 1);
  const std::string_view k = luaL_checkstring(L, 2);
  if (k == "run") {
    lua_pushcfunction(L, &l_agent_run);
  } else if (k == "n_tools") {
    lua_pushinteger(L, static_cast<lua_Integer>(b->impl->tools().size()));
  } else {
    lua_pushnil(L);
  }
  return 1;
}

bool add_tool(agent_box* b, const tools::tool_ptr& t) noexcept {
  try {
    b->tools.push_back(t);
    return true;
  } catch (...) {
    return false;
  }
}

bool build_agent(host* h, agent_box* b, int approve_ref, int event_ref) noexcept {
  try {
    auto settings = settings_from(b->cfg.as_object());
    if (!settings) {
      b->error = settings.error().describe();
      return false;
    }
    // A policy or a per-tool budget for a tool the agent does not have is a typo that
    // would silently skip an approval or a limit: refuse it.
    auto has_tool = [&](std::string_view name) {
      return std::any_of(b->tools.begin(), b->tools.end(), [&](const auto& t) { return t->name() == name; });
    };
    for (std::size_t i = 0; i < b->tools.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (b->tools[i]->name() == b->tools[j]->name()) {
          b->error = fmt::format("tern.agent: two tools are named '{}'", b->tools[i]->name());
          return false;
        }
    for (const auto& [name, p] : settings->policies)
      if (!has_tool(name)) {
        b->error = fmt::format("tern.agent.policies.{}: the agent has no tool of that name", name);
        return false;
      }
    for (const auto& [name, n] : settings->limits.per_tool)
      if (!has_tool(name)) {
        b->error = fmt::format("tern.agent.budget.per_tool.{}: the agent has no tool of that name", name);
        return false;
      }
    auto st = std::make_shared<agent_state>();
    st->h = h->weak_from_this();
    st->approve_ref = approve_ref;
    st->event_ref = event_ref;
    if (approve_ref != LUA_NOREF) settings->approve = make_approve(st);
    if (event_ref != LUA_NOREF) settings->on_event = [st](const agent::event& e) { deliver_event(st, e); };
    b->state = st;
    b->impl = std::make_shared<const agent::agent>(std::move(b->model), std::move(b->tools), std::move(*settings));
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

// Adds the tools in the list at idx (tools, or lists of tools one level down).
void gather_tools(lua_State* L, int idx, agent_box* b, bool nested) {
  const auto n = static_cast<lua_Integer>(lua_rawlen(L, idx));
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, idx, i);
    if (const tools::tool_ptr* t = test_tool(L, -1)) {
      if (!add_tool(b, *t)) luaL_error(L, "tern.agent: out of memory");
    } else if (!nested && lua_istable(L, -1)) {
      gather_tools(L, lua_gettop(L), b, true);
    } else {
      luaL_error(L, "tern.agent: tools[%d] is a %s, not a tool (tern.tool, tern.http_tool, tern.openapi, tern.mcp)",
                 static_cast<int>(i), luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

// The approve adapter: turns `return v, why` into one table start_call can carry.
constexpr const char* k_approve_adapter =
    "local f = ... return function(call) local v, why = f(call) return { v = v, why = why } end";

int l_agent(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  host* h = host::of(L);
  auto* b = new_box<agent_box>(L);  // 2
  lua_getfield(L, 1, "model");      // 3
  const std::shared_ptr<agent::model>* m = test_model(L, 3);
  if (m == nullptr) return luaL_error(L, "tern.agent: 'model' must be a tern.model");
  b->model = *m;
  lua_getfield(L, 1, "tools");  // 4
  if (!lua_isnil(L, 4)) {
    if (!lua_istable(L, 4)) return luaL_error(L, "tern.agent: 'tools' must be a list of tools");
    gather_tools(L, 4, b, false);
  }
  lua_getfield(L, 1, "approve");   // 5
  lua_getfield(L, 1, "on_event");  // 6
  for (int i : {5, 6})
    if (!lua_isnil(L, i) && !lua_isfunction(L, i))
      return luaL_error(L, "tern.agent: '%s' must be a function", i == 5 ? "approve" : "on_event");

  // Everything else, as JSON, for settings_from.
  lua_createtable(L, 0, 8);  // 7
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "tern.agent: the table's keys must be names");
    const std::string_view key = lua_tostring(L, -2);
    if (key == "model" || key == "tools" || key == "approve" || key == "on_event") {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, 7);
  }
  if (!to_json(L, 7, b->cfg, b->error)) return luaL_error(L, "tern.agent: %s", b->error.c_str());

  int approve_ref = LUA_NOREF, event_ref = LUA_NOREF;
  if (!lua_isnil(L, 5)) {
    if (luaL_loadstring(L, k_approve_adapter) != LUA_OK) return lua_error(L);
    lua_pushvalue(L, 5);
    lua_call(L, 1, 1);
    approve_ref = luaL_ref(L, LUA_REGISTRYINDEX);  // lives as long as the state
  }
  if (!lua_isnil(L, 6)) {
    lua_pushvalue(L, 6);
    event_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (!build_agent(h, b, approve_ref, event_ref)) return luaL_error(L, "%s", b->error.c_str());
  lua_settop(L, 2);
  name_box(L, 2, "tern.agent", &l_agent_index);
  return 1;
}

}  // namespace

void open_agent_functions(lua_State* L, int tern_idx) {
  lua_pushcfunction(L, &l_agent);
  lua_setfield(L, tern_idx, "agent");
}

}  // namespace tern::scripting::detail
