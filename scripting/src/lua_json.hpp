// Lua values <-> JSON (Boost.JSON values), for tern.json, tern.host and script results.
//
// Lua -> JSON: nil and tern.json.null -> null; booleans; integers -> int64; floats ->
// int64 when integral and within +-2^53, else double (NaN and infinities refused);
// strings must be UTF-8; a table is an array when it carries tern.json's array
// metatable or its keys are exactly 1..n, an object when all keys are strings (emitted
// in sorted key order, so output is deterministic); an empty plain table is {}.
// Anything else (functions, mixed or sparse keys, nesting deeper than 256) is an error
// naming the JSON pointer where it happened.
//
// JSON -> Lua: null -> tern.json.null (a light userdata), arrays -> tables with the
// array metatable, objects -> plain tables.
#pragma once

#include <lua.hpp>

#include <boost/json/value.hpp>

#include <string>

namespace tern::scripting::detail {

inline constexpr int max_json_depth = 256;

// Converts the Lua value at `idx` into `out`. On failure returns false with a message
// in `error` ("at /a/2: cannot encode a function"). May raise a Lua memory error
// (growing the stack) before touching `out`; `out` and `error` must outlive a longjmp
// (owned by a box or the host).
bool to_json(lua_State* L, int idx, boost::json::value& out, std::string& error);

// Pushes `v` as one Lua value. May raise Lua errors (memory); no C++ object is alive
// in its frames when it does.
void push_json(lua_State* L, const boost::json::value& v);

// Pushes the metatable that marks a table as a JSON array (shared, in the registry).
void push_array_metatable(lua_State* L);

}  // namespace tern::scripting::detail
