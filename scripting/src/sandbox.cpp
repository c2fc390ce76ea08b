// The standard library a script sees: an allow-list in the sandbox, everything with
// unsafe. Also `print`, a text-only `load` and the sandbox's `require`.
#include "host.hpp"

#include <fmt/format.h>

#include <cstring>
#include <system_error>

namespace tern::scripting::detail {
namespace {

namespace fs = std::filesystem;

// __index of a sandboxed table: names in the refused set (upvalue 2) raise an error
// that says what is missing and why; anything else reads as nil.
int refuse_index(lua_State* L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
    const char* prefix = lua_tostring(L, lua_upvalueindex(1));
    const char* name = lua_tostring(L, 2);
    return luaL_error(L, "%s%s is not available in the sandbox (`tern run --unsafe` allows it)", prefix,
                      name ? name : "?");
  }
  return 0;
}

// Gives the table on top of the stack a metatable whose __index refuses `names`.
void refuse(lua_State* L, const char* prefix, std::initializer_list<const char*> names) {
  lua_createtable(L, 0, 1);
  lua_pushstring(L, prefix);
  lua_createtable(L, 0, static_cast<int>(names.size()));
  for (const char* n : names) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, n);
  }
  lua_pushcclosure(L, &refuse_index, 2);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

void emit(host* h, const char* s, std::size_t n) noexcept {
  try {
    if (h->options_.print)
      h->options_.print(std::string_view(s, n));
    else
      std::fwrite(s, 1, n, stdout);
  } catch (...) {
  }
}

int l_print(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  std::size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  emit(host::of(L), s, len);
  return 0;
}

// load(chunk [, name [, mode [, env]]]) with mode forced to "t": binary chunks
// (precompiled bytecode can crash the VM) never load in the sandbox.
int l_load(lua_State* L) {
  const int n = lua_gettop(L);
  if (n >= 3 && !lua_isnil(L, 3)) {
    const char* mode = luaL_checkstring(L, 3);
    if (std::strchr(mode, 'b') != nullptr)
      return luaL_error(L, "load: binary chunks are not allowed in the sandbox (mode '%s')", mode);
  }
  std::size_t len = 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    const char* s = lua_tolstring(L, 1, &len);
    if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
      luaL_pushfail(L);
      lua_pushliteral(L, "load: binary chunks are not allowed in the sandbox");
      return 2;
    }
  }
  if (n < 3) lua_settop(L, 3);  // never adds a 4th argument: env stays the default
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// coroutine.resume / coroutine.close, refusing the threads the host drives (a task's
// coroutine is resumed only by its awaited operation completing).
int l_guarded_coroutine_op(lua_State* L) {
  lua_State* co = lua_tothread(L, 1);
  if (co != nullptr && host::task_of(co) != nullptr)
    return luaL_error(L, "coroutine.%s: this coroutine belongs to the host (the script body or a tern.parallel function)",
                      lua_tostring(L, lua_upvalueindex(2)));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

void guard_coroutines(lua_State* L) {
  lua_getglobal(L, "coroutine");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  for (const char* name : {"resume", "close"}) {
    lua_getfield(L, -1, name);
    lua_pushstring(L, name);
    lua_pushcclosure(L, &l_guarded_coroutine_op, 2);
    lua_setfield(L, -2, name);
  }
  lua_pop(L, 1);
}

bool valid_module_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  char prev = 0;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

// Finds NAME.lua or NAME/init.lua ("a.b" -> "a/b.lua") in the script's folder, then
// the allowed paths. The resolved file must stay inside its folder (no symlink
// escapes). Leaves the path, or the error message, in h->scratch_. Returns success.
bool resolve_module(host* h, const char* name) noexcept {
  try {
    std::string_view n(name);
    if (!valid_module_name(n)) {
      h->scratch_ = fmt::format("module name '{}' is not allowed (letters, digits, '_', '-', and '.' between parts)", n);
      return false;
    }
    std::string rel(n);
    for (char& c : rel)
      if (c == '.') c = '/';
    std::vector<fs::path> dirs;
    dirs.push_back(h->script_dir_.empty() ? fs::path(".") : h->script_dir_);
    for (const auto& p : h->options_.require_paths) dirs.push_back(p);
    std::string tried;
    for (const auto& dir : dirs) {
      for (const std::string& candidate : {rel + ".lua", rel + "/init.lua"}) {
        fs::path p = dir / candidate;
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) {
          fs::path real = fs::canonical(p, ec);
          fs::path base = fs::canonical(dir, ec);
          if (!ec) {
            auto rel_to_base = real.lexically_relative(base);
            if (!rel_to_base.empty() && *rel_to_base.begin() != "..") {
              h->scratch_ = p.string();
              return true;
            }
          }
        }
        tried += "\n\tno file '" + p.string() + "'";
      }
    }
    h->scratch_ = fmt::format("module '{}' not found in the script's folder or the allowed paths:{}", n, tried);
    return false;
  } catch (...) {
    h->scratch_ = "out of memory resolving a module";
    return false;
  }
}

// Stack while loading: 1 name, 2 the module cache, 3 path, 4 the module's value.
int k_require(lua_State* L, int, lua_KContext) {
  if (lua_isnil(L, 4)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, 4);
  lua_setfield(L, 2, lua_tostring(L, 1));
  return 1;
}

int l_require(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "tern.modules");
  if (lua_getfield(L, 2, name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  host* h = host::of(L);
  if (!resolve_module(h, name)) return luaL_error(L, "%s", h->scratch_.c_str());
  lua_pushstring(L, h->scratch_.c_str());
  if (luaL_loadfilex(L, lua_tostring(L, 3), "t") != LUA_OK) return lua_error(L);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 3);
  lua_callk(L, 2, 1, 0, &k_require);  // yieldable: a module's body may await
  return k_require(L, LUA_OK, 0);
}

void open_sandbox(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  const int os_full = lua_gettop(L);

  lua_pushglobaltable(L);
  const int g = lua_gettop(L);
  for (const char* name : {"dofile", "loadfile"}) {
    lua_pushnil(L);
    lua_setfield(L, g, name);
  }
  lua_getfield(L, g, "load");
  lua_pushcclosure(L, &l_load, 1);
  lua_setfield(L, g, "load");
  lua_pushcfunction(L, &l_require);
  lua_setfield(L, g, "require");

  // os: the clock and calendar only.
  lua_createtable(L, 0, 4);
  for (const char* name : {"clock", "time", "date", "difftime"}) {
    lua_getfield(L, os_full, name);
    lua_setfield(L, -2, name);
  }
  refuse(L, "os.", {"execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale"});
  lua_setfield(L, g, "os");

  // string.dump exposes bytecode (the way back in for binary chunks).
  lua_getfield(L, g, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  refuse(L, "string.", {"dump"});
  lua_pop(L, 1);

  refuse(L, "", {"io", "debug", "package", "dofile", "loadfile"});  // on the global table
  lua_settop(L, os_full - 1);
}

void set_scratch(host* h, const fs::path& dir) noexcept {
  try {
    h->scratch_ = dir.empty() ? std::string(".") : dir.string();
  } catch (...) {
    h->scratch_.clear();
  }
}

}  // namespace

void open_libraries(lua_State* L, bool unsafe, const fs::path& script_dir) {
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "tern.modules");
  if (unsafe) {
    luaL_openlibs(L);
    // The script's folder first on package.path, as with the sandbox's require.
    lua_getglobal(L, "package");
    host* h = host::of(L);
    set_scratch(h, script_dir);  // a host-owned string: nothing to destroy if Lua raises below
    lua_pushstring(L, h->scratch_.c_str());
    lua_pushstring(L, "/?.lua;");
    lua_pushstring(L, h->scratch_.c_str());
    lua_pushstring(L, "/?/init.lua;");
    lua_getfield(L, -5, "path");
    lua_concat(L, 5);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
  } else {
    open_sandbox(L);
  }
  guard_coroutines(L);
  lua_pushcfunction(L, &l_print);
  lua_setglobal(L, "print");
}

}  // namespace tern::scripting::detail
