// The global `tern` table: workflow helpers (sleep, parallel, json, log, env, args,
// now, host functions); models, agents and tools come from lua_model.cpp,
// lua_agent.cpp, lua_tool.cpp and lua_http_tools.cpp.
#include "host.hpp"
#include "lua_json.hpp"

#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>
#include <tern/core/log.hpp>
#include <tern/core/version.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>

namespace tern::scripting::detail {
namespace {

// ---- tern.sleep(seconds) ----

asio::awaitable<int> sleep_for(std::chrono::nanoseconds d) {
  // co_spawn already passed through the event loop once: sleep(0) is a plain yield
  // to whatever else is ready, without a timer.
  if (d.count() <= 0) co_return 0;
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return 0;
}

int push_nothing(lua_State*, int&) { return 0; }

int l_sleep(lua_State* L) {
  const lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 1e9, 1, "seconds must be between 0 and 1e9");
  const auto ns = static_cast<std::int64_t>(s * 1e9);
  auto make = [ns] { return sleep_for(std::chrono::nanoseconds(ns)); };
  const await_status st = begin_await<int>(L, make, &push_nothing);
  if (st != await_status::started) return raise_await_failure(L, st, "tern.sleep");
  return yield_for_op(L);
}

// ---- tern.parallel(f1, f2, ...) ----

bool start_children(host* h, task* parent) noexcept {
  try {
    for (auto& c : parent->children) h->post_resume(c);
    return true;
  } catch (...) {
    return false;
  }
}

// Resumed when every child returned, or the first one failed (the rest cancelled).
int k_parallel(lua_State* L, int, lua_KContext) {
  task* t = host::task_of(L);
  host* h = host::of(L);
  if (t->child_failed) {
    lua_pushlstring(L, t->child_error.data(), t->child_error.size());
    h->release_children(L, t);
    return lua_error(L);
  }
  const auto n = static_cast<int>(t->children.size());
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; ++i) {
    task* c = t->children[static_cast<std::size_t>(i)].get();
    if (c->n_results == 0) continue;
    lua_settop(c->thread, lua_gettop(c->thread) - c->n_results + 1);  // its first result
    lua_xmove(c->thread, L, 1);
    lua_rawseti(L, -2, i + 1);
  }
  h->release_children(L, t);
  return 1;
}

int l_parallel(lua_State* L) {
  const int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) luaL_checktype(L, i, LUA_TFUNCTION);
  task* t = host::task_of(L);
  if (t == nullptr || t->thread != L || !lua_isyieldable(L))
    return raise_await_failure(L, await_status::not_in_task, "tern.parallel");
  host* h = host::of(L);
  h->release_children(L, t);  // leftovers of a call that failed before starting them
  if (n == 0) {
    lua_newtable(L);
    return 1;
  }
  for (int i = 1; i <= n; ++i) {
    lua_State* co = lua_newthread(L);  // inherits the count hook
    lua_pushvalue(L, i);
    lua_xmove(L, co, 1);
    const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!h->adopt_child(t, co, ref)) {
      luaL_unref(L, LUA_REGISTRYINDEX, ref);
      h->release_children(L, t);
      return luaL_error(L, "tern.parallel: out of memory");
    }
  }
  if (!start_children(h, t)) {
    h->release_children(L, t);
    return luaL_error(L, "tern.parallel: out of memory");
  }
  return lua_yieldk(L, 0, 0, &k_parallel);
}

// ---- tern.json ----

struct encode_box {
  boost::json::value value;
  std::string error;
  std::string text;
};

bool serialize_into(encode_box* b) noexcept {
  try {
    b->text = tern::json::serialize(b->value);
    return true;
  } catch (...) {
    return false;
  }
}

int l_json_encode(lua_State* L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  auto* b = new_box<encode_box>(L);
  if (!to_json(L, 1, b->value, b->error)) return luaL_error(L, "tern.json.encode: %s", b->error.c_str());
  if (!serialize_into(b)) return luaL_error(L, "tern.json.encode: out of memory");
  lua_pushlstring(L, b->text.data(), b->text.size());
  return 1;
}

struct decode_box {
  boost::json::value value;
  std::string error;
};

bool parse_into(decode_box* b, const char* s, std::size_t n) noexcept {
  try {
    auto r = tern::json::parse(std::string_view(s, n));
    if (!r) {
      b->error = r.error().describe();
      return false;
    }
    b->value = std::move(*r);
    return true;
  } catch (...) {
    b->error = "out of memory";
    return false;
  }
}

int l_json_decode(lua_State* L) {
  std::size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  auto* b = new_box<decode_box>(L);
  if (!parse_into(b, s, n)) return luaL_error(L, "tern.json.decode: %s", b->error.c_str());
  push_json(L, b->value);
  return 1;
}

int l_json_array(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getmetatable(L, 1)) {
    push_array_metatable(L);
    if (!lua_rawequal(L, -1, -2)) return luaL_argerror(L, 1, "the table already has a metatable");
    lua_settop(L, 1);
    return 1;
  }
  push_array_metatable(L);
  lua_setmetatable(L, 1);
  return 1;
}

// ---- tern.log ----

int log_with(lua_State* L, tern::log::level lvl, int first) {
  if (lvl < tern::log::current_level()) return 0;
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "lua: ");
  luaL_where(L, 1);
  luaL_addvalue(&b);
  for (int i = first; i <= n; ++i) {
    if (i > first) luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  std::size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  tern::log::write(lvl, std::string_view(s, len));
  return 0;
}

int l_log_level(lua_State* L) {
  return log_with(L, static_cast<tern::log::level>(lua_tointeger(L, lua_upvalueindex(1))), 1);
}
int l_log_call(lua_State* L) { return log_with(L, tern::log::level::info, 2); }  // arg 1: the tern.log table

// ---- tern.env, tern.now, tern.host ----

bool env_allowed(const host* h, const char* name) noexcept {
  if (!h->options_.env_allow) return true;
  for (const auto& n : *h->options_.env_allow)
    if (n == name) return true;
  return false;
}

int l_env(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  if (!env_allowed(host::of(L), name))
    return luaL_error(L, "tern.env: '%s' is not in the allowed list of environment variables", name);
  const char* value = std::getenv(name);
  if (value)
    lua_pushstring(L, value);
  else
    lua_pushnil(L);
  return 1;
}

int l_now(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(tern::now_ns()) * 1e-9);
  return 1;
}

struct json_box {
  boost::json::value value;
  std::string error;
};

void describe_into(std::string& out, const tern::error& err) noexcept {
  try {
    out = err.describe();
  } catch (...) {
    out = "(error)";
  }
}

int push_json_result(lua_State* L, result<boost::json::value>& r) {
  if (!r) {
    host* h = host::of(L);
    describe_into(h->scratch_, r.error());
    luaL_where(L, 1);
    lua_pushstring(L, h->scratch_.c_str());
    lua_concat(L, 2);
    return lua_error(L);
  }
  push_json(L, r.value());
  return 1;
}

int l_host_call(lua_State* L) {
  auto* fn = static_cast<host_function*>(lua_touserdata(L, lua_upvalueindex(1)));
  lua_settop(L, 1);
  auto* box = new_box<json_box>(L);
  if (!to_json(L, 1, box->value, box->error)) return luaL_error(L, "tern.host: argument %s", box->error.c_str());
  auto make = [fn, box] { return (*fn)(std::move(box->value)); };
  const await_status st = begin_await<result<boost::json::value>>(L, make, &push_json_result);
  if (st != await_status::started) return raise_await_failure(L, st, "a tern.host function");
  return yield_for_op(L);
}

}  // namespace

void open_tern_module(lua_State* L) {
  host* h = host::of(L);
  lua_createtable(L, 0, 12);
  const int tern_idx = lua_gettop(L);

  lua_pushlstring(L, tern::version().data(), tern::version().size());
  lua_setfield(L, tern_idx, "version");

  const luaL_Reg fns[] = {{"sleep", l_sleep}, {"parallel", l_parallel}, {"env", l_env}, {"now", l_now}, {nullptr, nullptr}};
  luaL_setfuncs(L, fns, 0);
  open_tool_functions(L, tern_idx);
  open_model_functions(L, tern_idx);
  open_agent_functions(L, tern_idx);
  open_http_tool_functions(L, tern_idx);

  lua_createtable(L, 0, 5);
  const luaL_Reg json_fns[] = {{"encode", l_json_encode}, {"decode", l_json_decode}, {"array", l_json_array}, {nullptr, nullptr}};
  luaL_setfuncs(L, json_fns, 0);
  lua_pushlightuserdata(L, nullptr);
  lua_setfield(L, -2, "null");
  lua_setfield(L, tern_idx, "json");

  lua_createtable(L, 0, 4);
  const struct {
    const char* name;
    tern::log::level lvl;
  } levels[] = {{"debug", tern::log::level::debug},
                {"info", tern::log::level::info},
                {"warn", tern::log::level::warn},
                {"error", tern::log::level::error}};
  for (const auto& l : levels) {
    lua_pushinteger(L, static_cast<lua_Integer>(l.lvl));
    lua_pushcclosure(L, &l_log_level, 1);
    lua_setfield(L, -2, l.name);
  }
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, &l_log_call);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, tern_idx, "log");

  lua_createtable(L, static_cast<int>(h->options_.args.size()), 0);
  lua_Integer i = 0;
  for (const auto& a : h->options_.args) {
    lua_pushlstring(L, a.data(), a.size());
    lua_rawseti(L, -2, ++i);
  }
  push_array_metatable(L);
  lua_setmetatable(L, -2);
  lua_setfield(L, tern_idx, "args");

  lua_createtable(L, 0, static_cast<int>(h->options_.host_functions.size()));
  for (auto& [name, fn] : h->options_.host_functions) {
    lua_pushlightuserdata(L, &fn);
    lua_pushcclosure(L, &l_host_call, 1);
    lua_setfield(L, -2, name.c_str());
  }
  lua_setfield(L, tern_idx, "host");

  // require("tern") returns it: the sandbox's module cache and package.loaded (unsafe).
  lua_getfield(L, LUA_REGISTRYINDEX, "tern.modules");
  lua_pushvalue(L, tern_idx);
  lua_setfield(L, -2, "tern");
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, tern_idx);
  lua_setfield(L, -2, "tern");
  lua_pop(L, 1);
  lua_setglobal(L, "tern");
}

}  // namespace tern::scripting::detail
