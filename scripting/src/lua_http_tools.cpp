// HTTP tools from Lua: tern.http_tool{...} (tools::http_tool declared as data),
// tern.openapi(url_or_file [, options]) and tern.mcp(url [, options]). Every tool is a
// "tern.tool" userdata (tool:call, tern.agent{tools=...}); all of a script's HTTP
// tools share its http_client (one keep-alive pool), on the script's executor.
#include "host.hpp"
#include "lua_json.hpp"

#include <tern/core/json.hpp>
#include <tern/tools/http_tool.hpp>
#include <tern/tools/mcp_client.hpp>
#include <tern/tools/openapi.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

namespace tern::scripting::detail {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using tool_list = result<std::vector<tools::tool_ptr>>;

// Pushes the tools as a table: t[1..n] in order, and t[name] for each.
int push_tool_list(lua_State* L, tool_list& r) {
  if (!r) {
    host* h = host::of(L);
    try {
      h->scratch_ = r.error().describe();
    } catch (...) {
      h->scratch_ = "out of memory";
    }
    luaL_where(L, 1);
    lua_pushstring(L, h->scratch_.c_str());
    lua_concat(L, 2);
    return lua_error(L);
  }
  const auto& list = *r;
  lua_createtable(L, static_cast<int>(list.size()), static_cast<int>(list.size()));
  for (std::size_t i = 0; i < list.size(); ++i) {
    push_tool(L, list[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, static_cast<lua_Integer>(i + 1));
    lua_setfield(L, -2, list[i]->name().c_str());
  }
  return 1;
}

// ---- tern.http_tool ----

struct decl_box {
  bj::value decl;
  std::string error;
  tools::tool_ptr tool;
};

bool make_tool(host* h, decl_box* b) noexcept {
  try {
    auto client = h->http_client();
    if (!client) {
      b->error = "the script has ended";
      return false;
    }
    auto t = tools::make_http_tool(b->decl, std::move(client));
    if (!t) {
      b->error = t.error().describe();
      return false;
    }
    b->tool = std::move(*t);
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

int l_http_tool(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  auto* b = new_box<decl_box>(L);
  if (!to_json(L, 1, b->decl, b->error)) return luaL_error(L, "tern.http_tool: %s", b->error.c_str());
  if (!make_tool(host::of(L), b)) return luaL_error(L, "tern.http_tool: %s", b->error.c_str());
  push_tool(L, b->tool);
  return 1;
}

// ---- tern.openapi ----

struct import_box {
  std::string source;  // URL or file
  bj::value options;
  // optional: a box must be nothrow default constructible (see new_box).
  std::optional<tools::openapi_options> openapi;
  std::optional<tools::mcp_client_options> mcp;
  std::shared_ptr<tools::http_client> http;
  std::string error;
  std::optional<tool_list> tools;
};

bool is_url(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// scheme://host[:port] of an absolute URL.
std::string origin_of(std::string_view url) {
  const auto scheme_end = url.find("://");
  const auto path = url.find('/', scheme_end + 3);
  return std::string(url.substr(0, path));
}

bool has_absolute_server(const bj::value& spec) {
  const auto* o = spec.if_object();
  const auto* servers = o ? o->if_contains("servers") : nullptr;
  if (!servers || !servers->is_array() || servers->get_array().empty()) return false;
  const auto* first = servers->get_array()[0].if_object();
  const auto* url = first ? first->if_contains("url") : nullptr;
  return url && url->is_string() && is_url(url->get_string());
}

// options: {base_url=, operations={...}, auth={...}, response={...}, timeout_ms=}. auth and
// response read exactly as in a tern.http_tool declaration.
result<tools::openapi_options> openapi_options_from(const bj::value& v) {
  tools::openapi_options o;
  if (v.is_null()) return o;
  const auto* obj = v.if_object();
  if (!obj) return tern::fail(errc::invalid_argument, "options must be a table").at("tern.openapi");
  bj::object decl{{"name", "options"}, {"url", "http://127.0.0.1/"}, {"parameters", bj::object{{"type", "object"}}}};
  for (const auto& kv : *obj) {
    const std::string_view k = kv.key();
    if (k == "base_url") {
      if (!kv.value().is_string()) return tern::fail(errc::invalid_argument, "must be a string").at("tern.openapi: base_url");
      o.base_url = kv.value().get_string();
    } else if (k == "operations") {
      const auto* a = kv.value().if_array();
      if (!a) return tern::fail(errc::invalid_argument, "must be a list of names").at("tern.openapi: operations");
      for (const auto& x : *a) {
        if (!x.is_string()) return tern::fail(errc::invalid_argument, "must be a list of names").at("tern.openapi: operations");
        o.operations.emplace_back(x.get_string());
      }
    } else if (k == "auth" || k == "response" || k == "timeout_ms") {
      decl[k] = kv.value();
    } else {
      return tern::fail(errc::invalid_argument,
                        fmt::format("unknown option '{}' (base_url, operations, auth, response, timeout_ms)", k))
          .at("tern.openapi");
    }
  }
  auto def = tools::parse_http_tool_def(decl);
  if (!def) return std::move(def).error().at("tern.openapi");
  o.auth = def->auth;
  if (obj->contains("response")) o.response = def->response;
  o.timeout = def->timeout;
  return o;
}

asio::awaitable<tool_list> openapi_from_url(std::shared_ptr<tools::http_client> http, std::string url,
                                            tools::openapi_options o) {
  tools::http_request req("GET", url);
  req.headers.push_back({"Accept", "application/json"});
  auto res = co_await http->request(std::move(req));
  if (!res) co_return std::move(res).error().at("tern.openapi " + url);
  if (res->status != 200)
    co_return tern::fail(errc::http_status, fmt::format("HTTP {} fetching the OpenAPI document", res->status))
        .at("tern.openapi " + url);
  auto doc = json::parse(res->body);
  if (!doc) co_return std::move(doc).error().at("tern.openapi " + url);
  if (o.base_url.empty() && !has_absolute_server(*doc)) o.base_url = origin_of(url);
  co_return tools::import_openapi(*doc, std::move(http), o);
}

// A file: a relative name is looked up in the script's folder, then the allowed paths
// (as for require); in the sandbox the file must lie inside one of those folders.
result<bj::value> read_spec_file(const host* h, const std::string& name) {
  std::vector<fs::path> allowed{h->script_dir_.empty() ? fs::path(".") : h->script_dir_};
  for (const auto& a : h->options_.require_paths) allowed.push_back(a);
  std::error_code ec;
  fs::path real;
  if (fs::path(name).is_relative()) {
    for (const auto& dir : allowed)
      if (fs::is_regular_file(dir / name, ec)) {
        real = fs::canonical(dir / name, ec);
        break;
      }
  } else if (fs::is_regular_file(name, ec)) {
    real = fs::canonical(name, ec);
  }
  if (real.empty() || ec)
    return tern::fail(errc::io_error, "cannot find the OpenAPI document in the script's folder or the allowed paths")
        .at(name);
  if (!h->options_.unsafe) {
    bool inside = false;
    for (const auto& a : allowed) {
      const fs::path base = fs::canonical(a, ec);
      if (ec) continue;
      const auto rel = real.lexically_relative(base);
      inside = inside || (!rel.empty() && *rel.begin() != "..");
    }
    if (!inside)
      return tern::fail(errc::invalid_argument,
                        "the sandbox reads OpenAPI files only from the script's folder and the allowed paths "
                        "(--require-path), or over HTTP")
          .at(name);
  }
  std::ifstream in(real, std::ios::binary);
  if (!in) return tern::fail(errc::io_error, "cannot open the OpenAPI document").at(name);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  if (!doc) return std::move(doc).error().at(name);
  return std::move(*doc);
}

// Fills b->openapi and b->http; for a file, imports at once into b->tools.
bool prepare_openapi(host* h, import_box* b, bool* now) noexcept {
  try {
    auto o = openapi_options_from(b->options);
    if (!o) {
      b->error = o.error().describe();
      return false;
    }
    b->openapi = std::move(*o);
    b->http = h->http_client();
    if (!b->http) {
      b->error = "the script has ended";
      return false;
    }
    *now = !is_url(b->source);
    if (!*now) return true;
    auto spec = read_spec_file(h, b->source);
    if (!spec) {
      b->tools.emplace(std::move(spec).error().at("tern.openapi"));
      return true;
    }
    b->tools.emplace(tools::import_openapi(*spec, b->http, *b->openapi));
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

// Reads (source, options) into the box at the top of the stack.
import_box* gather_import(lua_State* L, const char* what) {
  luaL_checktype(L, 1, LUA_TSTRING);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  auto* b = new_box<import_box>(L);
  if (!to_json(L, 2, b->options, b->error)) luaL_error(L, "%s: options %s", what, b->error.c_str());
  return b;
}

bool set_source(import_box* b, const char* s, std::size_t n) noexcept {
  try {
    b->source.assign(s, n);
    return true;
  } catch (...) {
    return false;
  }
}

int l_openapi(lua_State* L) {
  import_box* b = gather_import(L, "tern.openapi");
  std::size_t n = 0;
  const char* source = lua_tolstring(L, 1, &n);
  if (!set_source(b, source, n)) return luaL_error(L, "tern.openapi: out of memory");
  bool now = false;
  if (!prepare_openapi(host::of(L), b, &now)) return luaL_error(L, "tern.openapi: %s", b->error.c_str());
  if (now) return push_tool_list(L, *b->tools);
  auto make = [b] { return openapi_from_url(b->http, std::move(b->source), std::move(*b->openapi)); };
  const await_status st = begin_await<tool_list>(L, make, &push_tool_list);
  if (st != await_status::started) return raise_await_failure(L, st, "tern.openapi");
  return yield_for_op(L);
}

// ---- tern.mcp ----

result<tools::mcp_client_options> mcp_options_from(const std::string& url, const bj::value& v) {
  tools::mcp_client_options o;
  o.url = url;
  if (!is_url(url)) return tern::fail(errc::invalid_argument, "the MCP endpoint must be an http:// or https:// URL").at("tern.mcp");
  if (v.is_null()) return o;
  const auto* obj = v.if_object();
  if (!obj) return tern::fail(errc::invalid_argument, "options must be a table").at("tern.mcp");
  for (const auto& kv : *obj) {
    const std::string_view k = kv.key();
    const std::string at = fmt::format("tern.mcp: {}", k);
    if (k == "prefix") {
      if (!kv.value().is_string()) return tern::fail(errc::invalid_argument, "must be a string").at(at);
      o.tool_prefix = kv.value().get_string();
    } else if (k == "protocol") {
      if (kv.value() == "stateful")
        o.mode = tools::mcp_client_options::protocol::stateful;
      else if (kv.value() == "stateless")
        o.mode = tools::mcp_client_options::protocol::stateless;
      else if (kv.value() != "negotiate")
        return tern::fail(errc::invalid_argument, "must be \"negotiate\", \"stateful\" or \"stateless\"").at(at);
    } else if (k == "timeout") {
      if (!kv.value().is_number() || !(kv.value().to_number<double>() > 0) || kv.value().to_number<double>() > 1e6)
        return tern::fail(errc::invalid_argument, "must be a positive number of seconds").at(at);
      o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(kv.value().to_number<double>() * 1000.0));
    } else if (k == "headers") {
      const auto* h = kv.value().if_object();
      if (!h) return tern::fail(errc::invalid_argument, "must be a table {Name = value}").at(at);
      for (const auto& hv : *h) {
        if (!hv.value().is_string()) return tern::fail(errc::invalid_argument, "values must be strings").at(at);
        o.headers.push_back({std::string(hv.key()), std::string(hv.value().get_string())});
      }
    } else {
      return tern::fail(errc::invalid_argument, fmt::format("unknown option '{}' (prefix, protocol, timeout, headers)", k))
          .at("tern.mcp");
    }
  }
  return o;
}

asio::awaitable<tool_list> mcp_tools(std::shared_ptr<tools::http_client> http, tools::mcp_client_options o) {
  auto client = std::make_shared<tools::mcp_client>(std::move(http), std::move(o));
  auto r = co_await tools::make_mcp_tools(client);
  if (!r) co_return std::move(r).error().at("tern.mcp " + client->options().url);
  co_return std::move(*r);
}

bool prepare_mcp(host* h, import_box* b) noexcept {
  try {
    auto o = mcp_options_from(b->source, b->options);
    if (!o) {
      b->error = o.error().describe();
      return false;
    }
    b->mcp = std::move(*o);
    b->http = h->http_client();
    if (!b->http) {
      b->error = "the script has ended";
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    b->error = e.what();
    return false;
  }
}

int l_mcp(lua_State* L) {
  import_box* b = gather_import(L, "tern.mcp");
  std::size_t n = 0;
  const char* source = lua_tolstring(L, 1, &n);
  if (!set_source(b, source, n)) return luaL_error(L, "tern.mcp: out of memory");
  if (!prepare_mcp(host::of(L), b)) return luaL_error(L, "%s", b->error.c_str());
  auto make = [b] { return mcp_tools(b->http, std::move(*b->mcp)); };
  const await_status st = begin_await<tool_list>(L, make, &push_tool_list);
  if (st != await_status::started) return raise_await_failure(L, st, "tern.mcp");
  return yield_for_op(L);
}

}  // namespace

void open_http_tool_functions(lua_State* L, int tern_idx) {
  const luaL_Reg fns[] = {{"http_tool", l_http_tool}, {"openapi", l_openapi}, {"mcp", l_mcp}, {nullptr, nullptr}};
  lua_pushvalue(L, tern_idx);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}

}  // namespace tern::scripting::detail
