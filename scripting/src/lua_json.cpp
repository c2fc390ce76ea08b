#include "lua_json.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::scripting::detail {
namespace {

const char* const array_mt_key = "tern.json.array_mt";

// One step of the path to the value being converted: a key or an index.
struct path_step {
  const char* key = nullptr;  // into a Lua string kept alive by its table
  std::size_t key_len = 0;
  lua_Integer index = 0;
};

bool valid_utf8(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629).
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

class encoder {
 public:
  encoder(lua_State* L, std::string& error) : L_(L), error_(error) {}

  bool convert(int idx, boost::json::value& out, int depth) {
    idx = lua_absindex(L_, idx);
    switch (lua_type(L_, idx)) {
      case LUA_TNIL:
        out = nullptr;
        return true;
      case LUA_TBOOLEAN:
        out = static_cast<bool>(lua_toboolean(L_, idx));
        return true;
      case LUA_TNUMBER: {
        if (lua_isinteger(L_, idx)) {
          out = static_cast<std::int64_t>(lua_tointeger(L_, idx));
          return true;
        }
        double d = lua_tonumber(L_, idx);
        if (!std::isfinite(d)) return fail(depth, "NaN and infinities have no JSON form");
        if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0)
          out = static_cast<std::int64_t>(d);
        else
          out = d;
        return true;
      }
      case LUA_TSTRING: {
        std::size_t n = 0;
        const char* s = lua_tolstring(L_, idx, &n);  // a string already: no conversion, no allocation
        if (!valid_utf8(reinterpret_cast<const unsigned char*>(s), n))
          return fail(depth, "string is not valid UTF-8");
        out = boost::json::string(s, n);
        return true;
      }
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L_, idx) == nullptr) {
          out = nullptr;
          return true;
        }
        return fail(depth, "cannot encode a light userdata");
      case LUA_TTABLE:
        if (depth >= max_json_depth) return fail(depth, "nesting deeper than 256 levels (a cycle?)");
        return convert_table(idx, out, depth);
      default:
        return fail(depth, std::string("cannot encode a ") + lua_typename(L_, lua_type(L_, idx)));
    }
  }

 private:
  bool has_array_mark(int idx) {
    if (!lua_getmetatable(L_, idx)) return false;
    lua_getfield(L_, LUA_REGISTRYINDEX, array_mt_key);
    bool marked = lua_rawequal(L_, -1, -2);
    lua_pop(L_, 2);
    return marked;
  }

  bool convert_array(int idx, lua_Integer n, boost::json::value& out, int depth) {
    auto& arr = out.emplace_array();
    arr.reserve(static_cast<std::size_t>(n));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L_, idx, i);
      path_[depth] = {nullptr, 0, i - 1};
      boost::json::value v;
      bool ok = convert(-1, v, depth + 1);
      lua_pop(L_, 1);
      if (!ok) return false;
      arr.push_back(std::move(v));
    }
    return true;
  }

  bool convert_table(int idx, boost::json::value& out, int depth) {
    if (has_array_mark(idx)) return convert_array(idx, static_cast<lua_Integer>(lua_rawlen(L_, idx)), out, depth);
    // Classify the keys: 1..n integers (an array), strings (an object), or neither.
    lua_Integer count = 0, max_key = 0;
    bool ints = true, strings = true;
    lua_pushnil(L_);
    while (lua_next(L_, idx)) {
      lua_pop(L_, 1);
      ++count;
      if (lua_type(L_, -1) == LUA_TSTRING) {
        ints = false;
      } else if (lua_isinteger(L_, -1) && lua_tointeger(L_, -1) >= 1) {
        strings = false;
        max_key = std::max(max_key, lua_tointeger(L_, -1));
      } else {
        const char* type = lua_isnumber(L_, -1) ? "number" : lua_typename(L_, lua_type(L_, -1));
        lua_pop(L_, 1);
        return fail(depth, std::string("a table key of type ") + type +
                               " has no JSON form (keys are strings, or 1..n for arrays)");
      }
    }
    if (count == 0) {
      out.emplace_object();
      return true;
    }
    if (ints) {
      if (max_key != count) return fail(depth, "sparse array: integer keys must be exactly 1..n");
      return convert_array(idx, count, out, depth);
    }
    if (!strings) return fail(depth, "table mixes integer and string keys");

    std::vector<std::pair<std::string_view, boost::json::value>> entries;
    entries.reserve(static_cast<std::size_t>(count));
    lua_pushnil(L_);
    while (lua_next(L_, idx)) {
      std::size_t n = 0;
      const char* k = lua_tolstring(L_, -2, &n);  // a string key: no conversion
      if (!valid_utf8(reinterpret_cast<const unsigned char*>(k), n)) {
        lua_pop(L_, 2);
        return fail(depth, "object key is not valid UTF-8");
      }
      path_[depth] = {k, n, 0};
      boost::json::value v;
      if (!convert(-1, v, depth + 1)) {
        lua_pop(L_, 2);
        return false;
      }
      lua_pop(L_, 1);
      entries.emplace_back(std::string_view(k, n), std::move(v));
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    auto& obj = out.emplace_object();
    obj.reserve(entries.size());
    for (auto& [k, v] : entries) obj.emplace(k, std::move(v));
    return true;
  }

  bool fail(int depth, std::string message) {
    std::string pointer;
    for (int i = 0; i < depth; ++i) {
      if (path_[i].key)
        pointer = tern::json::append_pointer(pointer, std::string_view(path_[i].key, path_[i].key_len));
      else
        pointer = tern::json::append_pointer(pointer, static_cast<std::size_t>(path_[i].index));
    }
    error_ = (pointer.empty() ? std::string("at the top level") : "at " + pointer) + ": " + message;
    return false;
  }

  lua_State* L_;
  std::string& error_;
  path_step path_[max_json_depth + 1] = {};
};

}  // namespace

bool to_json(lua_State* L, int idx, boost::json::value& out, std::string& error) {
  idx = lua_absindex(L, idx);
  // Every stack slot the conversion can need (about two per level), reserved before
  // any C++ object exists: afterwards no Lua call in here allocates or raises.
  luaL_checkstack(L, 2 * max_json_depth + 8, "JSON encoding");
  try {
    encoder enc(L, error);
    return enc.convert(idx, out, 0);
  } catch (const std::exception& e) {
    try {
      error = std::string("out of memory: ") + e.what();
    } catch (...) {
    }
    return false;
  }
}

void push_array_metatable(lua_State* L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, array_mt_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, array_mt_key);
  }
}

void push_json(lua_State* L, const boost::json::value& v) {
  luaL_checkstack(L, 4, "JSON nesting");
  switch (v.kind()) {
    case boost::json::kind::null:
      lua_pushlightuserdata(L, nullptr);
      return;
    case boost::json::kind::bool_:
      lua_pushboolean(L, v.get_bool());
      return;
    case boost::json::kind::int64:
      lua_pushinteger(L, static_cast<lua_Integer>(v.get_int64()));
      return;
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(LUA_MAXINTEGER))
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      else
        lua_pushnumber(L, static_cast<lua_Number>(u));
      return;
    }
    case boost::json::kind::double_:
      lua_pushnumber(L, v.get_double());
      return;
    case boost::json::kind::string: {
      const auto& s = v.get_string();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      lua_createtable(L, static_cast<int>(std::min<std::size_t>(a.size(), 1u << 20)), 0);
      push_array_metatable(L);
      lua_setmetatable(L, -2);
      lua_Integer i = 0;
      for (const auto& e : a) {
        push_json(L, e);
        lua_rawseti(L, -2, ++i);
      }
      return;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      lua_createtable(L, 0, static_cast<int>(std::min<std::size_t>(o.size(), 1u << 20)));
      for (const auto& kv : o) {
        lua_pushlstring(L, kv.key().data(), kv.key().size());
        push_json(L, kv.value());
        lua_rawset(L, -3);
      }
      return;
    }
  }
}

}  // namespace tern::scripting::detail
