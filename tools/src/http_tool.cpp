#include <tern/tools/http_tool.hpp>

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <strings.h>
#include <set>

namespace tern::tools {

namespace bj = boost::json;

namespace {

// Base64 (RFC 4648) for HTTP basic auth.
std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

// A scalar argument as text for a URL ("true", "3", "2.5", the string itself).
std::string scalar_text(const bj::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return json::serialize(v);
}

// The {names} in a URL template, in order.
result<std::vector<std::string>> template_params(std::string_view url) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '}') return fail(errc::invalid_argument, fmt::format("unbalanced '}}' at byte {} of the URL", i));
    if (url[i] != '{') continue;
    auto end = url.find('}', i);
    if (end == std::string_view::npos) return fail(errc::invalid_argument, fmt::format("unclosed '{{' at byte {} of the URL", i));
    out.emplace_back(url.substr(i + 1, end - i - 1));
    if (out.back().empty()) return fail(errc::invalid_argument, "empty {} in the URL");
    i = end;
  }
  return out;
}

bool method_has_body(std::string_view m) {
  return !(m == "GET" || m == "HEAD" || m == "DELETE" || m == "OPTIONS");
}

const bj::object* schema_properties(const tool_spec& spec) {
  if (auto* p = spec.parameters.if_contains("properties"); p && p->is_object()) return &p->get_object();
  return nullptr;
}

bool schema_requires(const tool_spec& spec, std::string_view name) {
  if (auto* r = spec.parameters.if_contains("required"); r && r->is_array())
    for (const auto& e : r->get_array())
      if (e.is_string() && e.get_string() == name) return true;
  return false;
}

// Keeps the listed pointers of one object, rebuilding the nesting they name.
bj::value keep_fields(const bj::value& v, const std::vector<std::string>& fields) {
  if (!v.is_object()) return v;
  bj::object out;
  for (const auto& f : fields) {
    std::string ptr = f.empty() || f[0] == '/' ? f : json::append_pointer("", f);
    boost::system::error_code ec;
    const bj::value* found = v.find_pointer(ptr, ec);
    if (!found) continue;
    // Walk the pointer's tokens, creating objects on the way.
    bj::object* at = &out;
    std::size_t pos = 1;
    while (pos <= ptr.size()) {
      auto next = ptr.find('/', pos);
      std::string token = ptr.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      for (std::size_t k = 0; (k = token.find('~', k)) != std::string::npos; ++k)
        token.replace(k, 2, token.compare(k, 2, "~1") == 0 ? "/" : "~");
      if (next == std::string::npos) {
        (*at)[token] = *found;
        break;
      }
      auto& child = (*at)[token];
      if (!child.is_object()) child = bj::object{};
      at = &child.get_object();
      pos = next + 1;
    }
  }
  return out;
}

bj::value truncated_array(bj::array items, std::size_t total) {
  bj::object o;
  o["items"] = std::move(items);
  o["n_items"] = total;
  o["truncated"] = true;
  return o;
}

}  // namespace

result<bj::value> project_response(const bj::value& doc, const response_projection& p) {
  const bj::value* selected = &doc;
  if (!p.pointer.empty()) {
    boost::system::error_code ec;
    selected = doc.find_pointer(p.pointer, ec);
    if (!selected)
      return fail(errc::bad_response, fmt::format("the response has nothing at '{}'", p.pointer));
  }
  bj::value out;
  if (p.fields.empty()) {
    out = *selected;
  } else if (selected->is_array()) {
    bj::array a;
    for (const auto& e : selected->get_array()) a.push_back(keep_fields(e, p.fields));
    out = std::move(a);
  } else {
    out = keep_fields(*selected, p.fields);
  }
  std::size_t n_total = out.is_array() ? out.get_array().size() : 0;
  if (out.is_array() && p.max_items > 0 && n_total > p.max_items) {
    bj::array a = std::move(out.get_array());
    a.resize(p.max_items);
    out = truncated_array(std::move(a), n_total);
  }
  if (p.max_bytes == 0) return out;
  std::string text = json::serialize(out);
  if (text.size() <= p.max_bytes) return out;

  // Over the cap: drop array items from the end while the rest still fits.
  bj::array* items = out.is_array() ? &out.get_array()
                     : (out.is_object() && out.get_object().contains("items") && out.at("items").is_array())
                         ? &out.at("items").get_array()
                         : nullptr;
  if (items && !items->empty()) {
    bj::array kept;
    std::size_t used = 64;  // room for the wrapper's keys
    for (const auto& e : *items) {
      std::size_t n = json::serialize(e).size() + 1;
      if (used + n > p.max_bytes) break;
      used += n;
      kept.push_back(e);
    }
    if (!kept.empty()) return truncated_array(std::move(kept), n_total ? n_total : items->size());
  }
  // An object whose bulk is one list ({"flights": [...], "count": 40}): trim
  // that list and say so, keeping the other members as they are.
  if (out.is_object()) {
    bj::string_view biggest;
    std::size_t biggest_size = 0;
    for (const auto& kv : out.get_object()) {
      if (!kv.value().is_array()) continue;
      std::size_t n = json::serialize(kv.value()).size();
      if (n > biggest_size) {
        biggest_size = n;
        biggest = kv.key();
      }
    }
    if (biggest_size > 0) {
      bj::object trimmed = out.get_object();
      bj::array all = std::move(trimmed[biggest].get_array());
      std::size_t total = all.size();
      trimmed[biggest] = bj::array{};
      trimmed["truncated"] = bj::object{{"key", biggest}, {"kept", 0}, {"total", total}};
      std::size_t used = json::serialize(trimmed).size() + 16;
      bj::array kept;
      for (auto& e : all) {
        std::size_t n = json::serialize(e).size() + 1;
        if (used + n > p.max_bytes) break;
        used += n;
        kept.push_back(std::move(e));
      }
      if (used <= p.max_bytes) {
        trimmed["truncated"].get_object()["kept"] = kept.size();
        trimmed[biggest] = std::move(kept);
        return bj::value(std::move(trimmed));
      }
    }
  }
  bj::object o;
  o["truncated"] = true;
  o["n_bytes"] = text.size();
  std::size_t n_preview = p.max_bytes > 96 ? p.max_bytes - 96 : 0;
  // Cut on a UTF-8 boundary so the preview stays valid text.
  while (n_preview > 0 && n_preview < text.size() && ((unsigned char)text[n_preview] & 0xC0) == 0x80) --n_preview;
  o["preview"] = text.substr(0, n_preview);
  return bj::value(std::move(o));
}

namespace {

result<std::vector<std::pair<std::string, std::string>>> parse_bindings(const bj::value& v, const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.get_array().size(); ++i) {
      const auto& e = v.get_array()[i];
      if (!e.is_string()) return fail(errc::invalid_argument, "must be a string").at(json::append_pointer("/" + key, i));
      out.emplace_back(std::string(e.get_string()), std::string(e.get_string()));
    }
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (!kv.value().is_string())
        return fail(errc::invalid_argument, "must name an argument").at(json::append_pointer("/" + key, kv.key()));
      out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  } else {
    return fail(errc::invalid_argument, "must be a list of argument names or an object {wire name: argument}").at("/" + key);
  }
  return out;
}

result<std::string> get_string(const bj::object& o, std::string_view key, bool required) {
  auto* v = o.if_contains(key);
  if (!v) {
    if (required) return fail(errc::invalid_argument, fmt::format("missing '{}'", key));
    return std::string();
  }
  if (!v->is_string()) return fail(errc::invalid_argument, "must be a string").at("/" + std::string(key));
  return std::string(v->get_string());
}

result<http_tool_def> parse_def(const bj::value& decl) {
  if (!decl.is_object()) return fail(errc::invalid_argument, "an http tool declaration must be a JSON object");
  const auto& o = decl.get_object();
  http_tool_def d;
  TERN_TRY(d.spec.name, get_string(o, "name", true));
  TERN_TRY(d.spec.description, get_string(o, "description", false));
  if (auto* p = o.if_contains("parameters")) {
    if (!p->is_object()) return fail(errc::invalid_argument, "must be a JSON Schema object").at("/parameters");
    d.spec.parameters = p->get_object();
  } else {
    d.spec.parameters = bj::object{{"type", "object"}, {"properties", bj::object{}}};
  }
  TERN_TRY(auto method, get_string(o, "method", false));
  if (!method.empty()) d.method = method;
  for (auto& c : d.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  TERN_TRY(d.url, get_string(o, "url", true));
  if (auto* q = o.if_contains("query")) {
    TERN_TRY(d.query, parse_bindings(*q, "query"));
    d.has_query = true;
  }
  if (auto* h = o.if_contains("header_args")) {
    TERN_TRY(d.header_args, parse_bindings(*h, "header_args"));
  }
  if (auto* h = o.if_contains("headers")) {
    if (!h->is_object()) return fail(errc::invalid_argument, "must be an object {name: value}").at("/headers");
    for (const auto& kv : h->get_object()) {
      if (!kv.value().is_string()) return fail(errc::invalid_argument, "must be a string").at(json::append_pointer("/headers", kv.key()));
      d.headers.push_back({std::string(kv.key()), std::string(kv.value().get_string())});
    }
  }
  if (auto* b = o.if_contains("body")) {
    d.has_body = true;
    if (b->is_string() && b->get_string() == "none") {
      d.body = http_tool_def::body_mode::none;
    } else if (b->is_array()) {
      d.body = http_tool_def::body_mode::object;
      for (const auto& e : b->get_array()) {
        if (!e.is_string()) return fail(errc::invalid_argument, "must list argument names").at("/body");
        d.body_args.emplace_back(e.get_string());
      }
    } else if (b->is_object() && b->get_object().contains("arg") && b->at("arg").is_string()) {
      d.body = http_tool_def::body_mode::whole_arg;
      d.body_arg = std::string(b->at("arg").get_string());
    } else {
      return fail(errc::invalid_argument, R"(must be "none", a list of argument names, or {"arg": name})").at("/body");
    }
  }
  if (auto* a = o.if_contains("auth")) {
    if (!a->is_object()) return fail(errc::invalid_argument, "must be an object").at("/auth");
    const auto& ao = a->get_object();
    TERN_TRY(auto type, get_string(ao, "type", true));
    if (type == "bearer") d.auth.type = http_auth::kind::bearer;
    else if (type == "header") d.auth.type = http_auth::kind::header;
    else if (type == "query") d.auth.type = http_auth::kind::query;
    else if (type == "basic") d.auth.type = http_auth::kind::basic;
    else if (type == "none") d.auth.type = http_auth::kind::none;
    else return fail(errc::invalid_argument, fmt::format("unknown auth type '{}'", type)).at("/auth/type");
    TERN_TRY(d.auth.env, get_string(ao, "env", d.auth.type != http_auth::kind::none));
    TERN_TRY(d.auth.name, get_string(ao, "name", d.auth.type == http_auth::kind::header || d.auth.type == http_auth::kind::query));
    TERN_TRY(d.auth.env_password, get_string(ao, "env_password", d.auth.type == http_auth::kind::basic));
  }
  if (auto* r = o.if_contains("response")) {
    if (!r->is_object()) return fail(errc::invalid_argument, "must be an object").at("/response");
    const auto& ro = r->get_object();
    TERN_TRY(d.response.pointer, get_string(ro, "pointer", false));
    if (auto* f = ro.if_contains("fields")) {
      if (!f->is_array()) return fail(errc::invalid_argument, "must be a list").at("/response/fields");
      for (const auto& e : f->get_array()) {
        if (!e.is_string()) return fail(errc::invalid_argument, "must be a list of strings").at("/response/fields");
        d.response.fields.emplace_back(e.get_string());
      }
    }
    for (auto [key, field] : {std::pair{"max_items", &d.response.max_items}, std::pair{"max_bytes", &d.response.max_bytes}}) {
      if (auto* n = ro.if_contains(key)) {
        if (!n->is_int64() && !n->is_uint64()) return fail(errc::invalid_argument, "must be a non-negative integer").at(std::string("/response/") + key);
        if (n->is_int64() && n->get_int64() < 0) return fail(errc::invalid_argument, "must be a non-negative integer").at(std::string("/response/") + key);
        *field = n->is_int64() ? static_cast<std::size_t>(n->get_int64()) : static_cast<std::size_t>(n->get_uint64());
      }
    }
  }
  if (auto* t = o.if_contains("timeout_ms")) {
    if (!t->is_int64() || t->get_int64() < 0) return fail(errc::invalid_argument, "must be a non-negative integer").at("/timeout_ms");
    d.timeout = std::chrono::milliseconds(t->get_int64());
  }
  return d;
}

class http_tool final : public tool {
 public:
  http_tool(http_tool_def def, schema_validator v, std::shared_ptr<http_client> client)
      : tool(def.spec, std::move(v)), def_(std::move(def)), client_(std::move(client)) {}

 protected:
  asio::awaitable<tool_outcome> invoke_validated(bj::value args, const invoke_context& ctx) const override {
    auto built = build_http_request(def_, args);
    if (!built) {
      // A missing credential or an unusable URL: the declaration's problem, not the model's.
      tool_error e = tool_error::from_error(built.error());
      if (built.error().code() == errc::invalid_argument) e.kind = tool_error_kind::invalid_arguments;
      co_return e;
    }
    http_request req = std::move(*built);
    if (ctx.timeout.count() > 0) req.timeout = ctx.timeout;
    auto res = co_await client_->request(std::move(req));
    if (!res) {
      auto code = res.error().code();
      co_return tool_error::from_error(res.error(), code == errc::timeout || code == errc::transport);
    }
    co_return interpret(*res);
  }

 private:
  tool_outcome interpret(const http_response& res) const {
    if (res.status >= 400 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
      tool_error e;
      e.kind = res.status >= 400 ? tool_error_kind::http_status : tool_error_kind::bad_response;
      e.http_status = res.status;
      e.retryable = res.status == 408 || res.status == 429 || res.status >= 500;
      std::string snippet = res.body.substr(0, 300);
      e.message = fmt::format("HTTP {} {}{}{}", res.status, res.reason, snippet.empty() ? "" : ": ", snippet);
      return e;
    }
    if (res.status == 204 || res.body.empty()) return bj::value(bj::object{{"status", res.status}});
    const std::string* type = res.header("Content-Type");
    bool textual = type && type->rfind("text/", 0) == 0;
    auto doc = json::parse(res.body, {.max_bytes = res.body.size() + 1, .max_depth = 256});
    if (!doc) {
      if (textual) {
        auto projected = project_response(bj::object{{"text", res.body}}, {.max_bytes = def_.response.max_bytes});
        if (projected) return std::move(*projected);
      }
      tool_error e;
      e.kind = tool_error_kind::bad_response;
      e.message = "the response is not valid JSON: " + doc.error().describe();
      return e;
    }
    auto projected = project_response(*doc, def_.response);
    if (!projected) {
      tool_error e = tool_error::from_error(projected.error());
      e.kind = tool_error_kind::bad_response;
      return e;
    }
    return std::move(*projected);
  }

  http_tool_def def_;
  std::shared_ptr<http_client> client_;
};

}  // namespace

result<http_tool_def> parse_http_tool_def(const bj::value& decl) {
  auto d = parse_def(decl);
  if (!d) {
    std::string name = "?";
    if (decl.is_object())
      if (auto* n = decl.get_object().if_contains("name"); n && n->is_string()) name = n->get_string();
    return std::move(d).error().at(fmt::format("http tool '{}'", name));
  }
  return d;
}

result<http_request> build_http_request(const http_tool_def& def, const bj::value& args) {
  static const bj::object empty;
  const bj::object& a = args.is_object() ? args.get_object() : empty;
  std::set<std::string, std::less<>> used;

  // Path: {name} -> the argument, percent-encoded.
  std::string url;
  for (std::size_t i = 0; i < def.url.size(); ++i) {
    if (def.url[i] != '{') {
      url += def.url[i];
      continue;
    }
    auto end = def.url.find('}', i);
    std::string name = def.url.substr(i + 1, end - i - 1);
    auto* v = a.if_contains(name);
    if (!v || v->is_null()) return fail(errc::invalid_argument, fmt::format("missing path argument '{}'", name));
    std::string text;
    if (v->is_array()) {
      for (const auto& e : v->get_array()) {
        if (!text.empty()) text += ',';
        text += percent_encode(scalar_text(e));
      }
    } else {
      text = percent_encode(scalar_text(*v));
    }
    if (text.empty()) return fail(errc::invalid_argument, fmt::format("path argument '{}' is empty", name));
    url += text;
    used.insert(name);
    i = end;
  }

  http_request req(def.method, "");
  for (const auto& [header, arg] : def.header_args) {
    used.insert(arg);
    if (auto* v = a.if_contains(arg); v && !v->is_null()) req.headers.push_back({header, scalar_text(*v)});
  }
  bool body_allowed = method_has_body(def.method);
  std::vector<std::pair<std::string, std::string>> query = def.query;
  if (!def.has_query && !body_allowed) {
    for (const auto& kv : a)
      if (!used.count(kv.key())) query.emplace_back(std::string(kv.key()), std::string(kv.key()));
  }
  for (const auto& q : query) used.insert(q.second);

  std::string qs;
  auto add_query = [&](std::string_view key, const std::string& value) {
    qs += qs.empty() ? "" : "&";
    qs += percent_encode(key);
    qs += '=';
    qs += percent_encode(value);
  };
  for (const auto& [wire, arg] : query) {
    auto* v = a.if_contains(arg);
    if (!v || v->is_null()) continue;
    if (v->is_array()) {
      for (const auto& e : v->get_array()) add_query(wire, e.is_structured() ? json::serialize(e) : scalar_text(e));
    } else {
      add_query(wire, v->is_object() ? json::serialize(*v) : scalar_text(*v));
    }
  }

  // Body.
  auto mode = def.body;
  if (!def.has_body) mode = body_allowed ? http_tool_def::body_mode::object : http_tool_def::body_mode::none;
  if (mode == http_tool_def::body_mode::whole_arg) {
    if (auto* v = a.if_contains(def.body_arg)) req.body = json::serialize(*v);
  } else if (mode == http_tool_def::body_mode::object) {
    bj::object body;
    if (def.has_body) {
      for (const auto& name : def.body_args)
        if (auto* v = a.if_contains(name)) body[name] = *v;
    } else {
      for (const auto& kv : a)
        if (!used.count(kv.key())) body[kv.key()] = kv.value();
    }
    req.body = json::serialize(body);
  }
  if (!req.body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  bool has_accept = false;
  for (const auto& h : def.headers) {
    req.headers.push_back(h);
    has_accept = has_accept || (h.name.size() == 6 && strncasecmp(h.name.c_str(), "accept", 6) == 0);
  }
  if (!has_accept) req.headers.push_back({"Accept", "application/json"});

  // Auth, from the environment at call time. Only the variable's name may
  // appear in an error.
  if (def.auth.type != http_auth::kind::none) {
    const char* secret = std::getenv(def.auth.env.c_str());
    if (!secret || !*secret)
      return fail(errc::not_found, fmt::format("environment variable {} (credentials) is not set", def.auth.env));
    switch (def.auth.type) {
      case http_auth::kind::bearer: req.headers.push_back({"Authorization", std::string("Bearer ") + secret}); break;
      case http_auth::kind::header: req.headers.push_back({def.auth.name, secret}); break;
      case http_auth::kind::query: add_query(def.auth.name, secret); break;
      case http_auth::kind::basic: {
        const char* password = std::getenv(def.auth.env_password.c_str());
        if (!password)
          return fail(errc::not_found, fmt::format("environment variable {} (credentials) is not set", def.auth.env_password));
        req.headers.push_back({"Authorization", "Basic " + base64(std::string(secret) + ":" + password)});
        break;
      }
      case http_auth::kind::none: break;
    }
  }

  if (!qs.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + qs;
  req.url = std::move(url);
  req.timeout = def.timeout;
  return req;
}

result<tool_ptr> make_http_tool(http_tool_def def, std::shared_ptr<http_client> client) {
  auto where = fmt::format("http tool '{}'", def.spec.name);
  if (!client) return fail(errc::invalid_argument, "no http_client").at(where);
  TERN_TRY(auto validator, tool::check_spec(def.spec));
  if (def.method.empty() || def.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
    return fail(errc::invalid_argument, fmt::format("'{}' is not an HTTP method", def.method)).at(where);
  auto params = template_params(def.url);
  if (!params) return std::move(params).error().at(where);
  const bj::object* props = schema_properties(def.spec);
  auto known = [&](const std::string& arg) { return props && props->contains(arg); };
  for (const auto& p : *params) {
    if (!known(p) || !schema_requires(def.spec, p))
      return fail(errc::invalid_argument, fmt::format("path parameter '{{{}}}' must be a required property of the schema", p)).at(where);
  }
  for (const auto* list : {&def.query, &def.header_args})
    for (const auto& [wire, arg] : *list)
      if (!known(arg)) return fail(errc::invalid_argument, fmt::format("'{}' is bound but not a property of the schema", arg)).at(where);
  for (const auto& arg : def.body_args)
    if (!known(arg)) return fail(errc::invalid_argument, fmt::format("body argument '{}' is not a property of the schema", arg)).at(where);
  if (def.body == http_tool_def::body_mode::whole_arg && !known(def.body_arg))
    return fail(errc::invalid_argument, fmt::format("body argument '{}' is not a property of the schema", def.body_arg)).at(where);
  // The URL must parse once the placeholders are filled.
  std::string probe = def.url;
  for (const auto& p : *params) {
    auto pos = probe.find("{" + p + "}");
    probe.replace(pos, p.size() + 2, "x");
  }
  if (probe.rfind("http://", 0) != 0 && probe.rfind("https://", 0) != 0)
    return fail(errc::invalid_argument, fmt::format("URL '{}' must start with http:// or https://", def.url)).at(where);
  return tool_ptr(std::make_shared<http_tool>(std::move(def), std::move(validator), std::move(client)));
}

result<tool_ptr> make_http_tool(const bj::value& decl, std::shared_ptr<http_client> client) {
  TERN_TRY(auto def, parse_http_tool_def(decl));
  return make_http_tool(std::move(def), std::move(client));
}

}  // namespace tern::tools
