// tern.tool{name=, description=, parameters=, run=}: a tern::tools::tool whose body
// is a Lua function, run as a new coroutine of the script that defined it.
#include "host.hpp"
#include "lua_json.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace tern::scripting::detail {
namespace {

struct call_initiation {
  std::shared_ptr<host> h;
  int fn_ref;
  boost::json::value args;
  // The call starts on the script's executor and completes on the awaiting
  // coroutine's, so an agent on another executor (or thread) can call the tool.
  template <class Handler>
  void operator()(Handler&& handler) {
    auto shared = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
    auto back = asio::get_associated_executor(*shared, h->executor_);
    asio::dispatch(h->executor_, [h = h, fn_ref = fn_ref, args = std::move(args), shared, back]() mutable {
      h->start_call(fn_ref, std::move(args), [shared, back](result<boost::json::value> r) {
        asio::dispatch(back, [shared, r = std::move(r)]() mutable { std::move(*shared)(std::move(r)); });
      });
    });
  }
};

class lua_tool final : public tools::tool {
 public:
  lua_tool(tools::tool_spec spec, tools::schema_validator v, std::weak_ptr<host> h, int fn_ref)
      : tool(std::move(spec), std::move(v)), host_(std::move(h)), fn_ref_(fn_ref) {}

 protected:
  asio::awaitable<tools::tool_outcome> invoke_validated(boost::json::value args,
                                                        const tools::invoke_context&) const override {
    auto h = host_.lock();
    if (!h || h->closed())
      co_return tools::tool_error{tools::tool_error_kind::failed,
                                  fmt::format("the script that defined tool '{}' has ended", name())};
    // The run function runs on the script's executor, whatever executor awaits us.
    auto call = call_lua(std::move(h), fn_ref_, std::move(args));  // named: see call_lua
    result<boost::json::value> r = co_await std::move(call);
    if (!r) {
      tools::tool_error err = tools::tool_error::from_error(r.error());
      // A Lua error is the tool's own failure, whatever code the host gave it.
      if (r.error().code() == errc::invalid_argument) err.kind = tools::tool_error_kind::failed;
      co_return err;
    }
    co_return std::move(*r);
  }

 private:
  std::weak_ptr<host> host_;
  int fn_ref_;
};

// Builds the tool from the fields read by l_tool. Leaves the error in box->error.
bool make_tool(host* h, tool_box* box, const char* name, std::size_t name_len, const char* description,
               std::size_t description_len, int fn_ref) noexcept {
  try {
    if (!box->parameters.is_object()) {
      box->error = "parameters must be a table describing a JSON Schema object";
      return false;
    }
    tools::tool_spec spec{std::string(name, name_len), std::string(description, description_len),
                          box->parameters.as_object()};
    auto validator = tools::tool::check_spec(spec);
    if (!validator) {
      box->error = validator.error().describe();
      return false;
    }
    box->tool = std::make_shared<lua_tool>(std::move(spec), std::move(*validator), h->weak_from_this(), fn_ref);
    h->tools_.push_back(box->tool);
    return true;
  } catch (const std::exception& e) {
    box->error = e.what();
    return false;
  }
}

tool_box* check_tool(lua_State* L, int idx) {
  if (test_tool(L, idx) == nullptr) luaL_typeerror(L, idx, "tern.tool");
  return static_cast<tool_box*>(lua_touserdata(L, idx));
}

struct call_box {
  boost::json::value args;
  std::string error;
};

void describe_tool_error(host* h, const tools::tool_error& err) noexcept {
  try {
    h->scratch_ = fmt::format("tool '{}' failed ({}): {}", err.tool, tools::to_string(err.kind), err.message);
  } catch (...) {
    h->scratch_ = "tool failed";
  }
}

int push_outcome(lua_State* L, tools::tool_outcome& out) {
  if (!out.ok()) {
    host* h = host::of(L);
    describe_tool_error(h, out.error());
    luaL_where(L, 1);
    lua_pushstring(L, h->scratch_.c_str());
    lua_concat(L, 2);
    return lua_error(L);
  }
  push_json(L, out.value());
  return 1;
}

// tool:call(args): runs the tool as an agent would (schema check, then the body).
int l_tool_call(lua_State* L) {
  tool_box* tb = check_tool(L, 1);
  lua_settop(L, 2);
  auto* cb = new_box<call_box>(L);
  if (!to_json(L, 2, cb->args, cb->error)) return luaL_error(L, "tool:call: arguments %s", cb->error.c_str());
  auto make = [tb, cb] { return tb->tool->invoke(std::move(cb->args), {}); };
  const await_status st = begin_await<tools::tool_outcome>(L, make, &push_outcome);
  if (st != await_status::started) return raise_await_failure(L, st, "tool:call");
  return yield_for_op(L);
}

int l_tool_index(lua_State* L) {
  tool_box* tb = check_tool(L, 1);
  const char* key = luaL_checkstring(L, 2);
  const std::string_view k(key);
  if (k == "call") {
    lua_pushcfunction(L, &l_tool_call);
  } else if (k == "name") {
    lua_pushlstring(L, tb->tool->name().data(), tb->tool->name().size());
  } else if (k == "description") {
    lua_pushlstring(L, tb->tool->description().data(), tb->tool->description().size());
  } else if (k == "parameters") {
    push_json(L, tb->parameters);  // a copy made when the tool was pushed
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_tool(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "name");         // 2
  lua_getfield(L, 1, "description");  // 3
  lua_getfield(L, 1, "parameters");   // 4
  lua_getfield(L, 1, "run");          // 5
  std::size_t name_len = 0, description_len = 0;
  const char* name = lua_tolstring(L, 2, &name_len);
  if (lua_type(L, 2) != LUA_TSTRING) return luaL_error(L, "tern.tool: 'name' must be a string");
  if (!lua_isnil(L, 3) && lua_type(L, 3) != LUA_TSTRING)
    return luaL_error(L, "tern.tool: 'description' must be a string");
  const char* description = lua_isnil(L, 3) ? "" : lua_tolstring(L, 3, &description_len);
  if (lua_type(L, 4) != LUA_TTABLE) return luaL_error(L, "tern.tool: 'parameters' must be a table (a JSON Schema)");
  if (lua_type(L, 5) != LUA_TFUNCTION) return luaL_error(L, "tern.tool: 'run' must be a function(args)");

  auto* box = new_tool_box(L);  // 6
  if (!to_json(L, 4, box->parameters, box->error))
    return luaL_error(L, "tern.tool '%s': parameters %s", name, box->error.c_str());

  lua_pushvalue(L, 5);
  const int fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);  // lives as long as the state
  if (!make_tool(host::of(L), box, name, name_len, description, description_len, fn_ref))
    return luaL_error(L, "tern.tool '%s': %s", name, box->error.c_str());
  lua_settop(L, 6);
  return 1;
}

bool copy_tool(tool_box* box, const tools::tool_ptr& t) noexcept {
  try {
    box->tool = t;
    box->parameters = t->parameters();
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

// Runs the Lua function anchored at fn_ref as a new task of the script. A plain
// function (not a coroutine), called outside any co_await expression: GCC 12 destroys
// some temporaries of a co_await expression twice.
asio::awaitable<result<boost::json::value>> call_lua(std::shared_ptr<host> h, int fn_ref, boost::json::value args) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(result<boost::json::value>)>(
      call_initiation{std::move(h), fn_ref, std::move(args)}, asio::use_awaitable);
}

tool_box* new_tool_box(lua_State* L) {
  auto* box = new_box<tool_box>(L);
  name_box(L, -1, "tern.tool", &l_tool_index);
  return box;
}

void push_tool(lua_State* L, const tools::tool_ptr& t) {
  tool_box* box = new_tool_box(L);
  if (!copy_tool(box, t)) luaL_error(L, "out of memory");
}

const tools::tool_ptr* test_tool(lua_State* L, int idx) {
  auto* box = static_cast<tool_box*>(test_box(L, idx, "tern.tool"));
  return box && box->tool ? &box->tool : nullptr;
}

void open_tool_functions(lua_State* L, int tern_idx) {
  lua_pushcfunction(L, &l_tool);
  lua_setfield(L, tern_idx, "tool");
}

}  // namespace tern::scripting::detail
