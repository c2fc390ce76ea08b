#include <tern/tools/openapi.hpp>

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <set>

namespace tern::tools {

namespace bj = boost::json;

namespace {

constexpr std::size_t max_inline_depth = 64;

// Resolves and inlines every local $ref under v (OpenAPI documents point into
// #/components/...). `stack` holds the refs being expanded on this path.
result<bj::value> inline_refs(const bj::value& root, const bj::value& v, std::vector<std::string>& stack,
                              std::size_t depth) {
  if (depth > max_inline_depth) return fail(errc::limit_exceeded, "schema nested too deeply");
  if (v.is_array()) {
    bj::array out;
    for (const auto& e : v.get_array()) {
      TERN_TRY(auto x, inline_refs(root, e, stack, depth + 1));
      out.push_back(std::move(x));
    }
    return bj::value(std::move(out));
  }
  if (!v.is_object()) return v;
  const auto& o = v.get_object();
  if (auto* r = o.if_contains("$ref"); r && r->is_string()) {
    std::string ref(r->get_string());
    if (ref.empty() || ref[0] != '#')
      return fail(errc::unsupported, fmt::format("$ref '{}': only references inside the document are supported", ref));
    if (std::find(stack.begin(), stack.end(), ref) != stack.end())
      return bj::value(bj::object{{"description", fmt::format("(recursive: {})", ref.substr(ref.rfind('/') + 1))}});
    boost::system::error_code ec;
    const bj::value* target = root.find_pointer(ref.substr(1), ec);
    if (!target) return fail(errc::invalid_argument, fmt::format("$ref '{}' points to nothing", ref));
    stack.push_back(ref);
    auto out = inline_refs(root, *target, stack, depth + 1);
    stack.pop_back();
    if (!out) return std::move(out).error().at(ref);
    // Siblings of $ref (3.1 allows description etc.) are kept.
    if (o.size() > 1 && out->is_object()) {
      for (const auto& kv : o)
        if (kv.key() != "$ref") out->get_object()[kv.key()] = kv.value();
    }
    return out;
  }
  bj::object out;
  for (const auto& kv : o) {
    // Examples and vendor extensions only cost prompt tokens.
    if (kv.key() == "example" || kv.key() == "examples" || kv.key() == "xml" || kv.key() == "externalDocs" ||
        (kv.key().starts_with("x-") && !kv.key().starts_with("x-tern-")))
      continue;
    TERN_TRY(auto x, inline_refs(root, kv.value(), stack, depth + 1));
    out[kv.key()] = std::move(x);
  }
  return bj::value(std::move(out));
}

result<bj::value> resolve(const bj::value& root, const bj::value& v) {
  std::vector<std::string> stack;
  return inline_refs(root, v, stack, 0);
}

std::string sanitize_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (ok) out += c;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out.empty() ? "operation" : out;
}

result<std::string> server_base(const bj::value& spec, const openapi_options& options) {
  if (!options.base_url.empty()) {
    std::string b = options.base_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  auto* servers = spec.is_object() ? spec.get_object().if_contains("servers") : nullptr;
  if (!servers || !servers->is_array() || servers->get_array().empty() || !servers->get_array()[0].is_object())
    return fail(errc::invalid_argument, "the spec lists no servers; give openapi_options::base_url");
  const auto& s = servers->get_array()[0].get_object();
  auto* url = s.if_contains("url");
  if (!url || !url->is_string()) return fail(errc::invalid_argument, "servers[0] has no url").at("/servers/0");
  std::string b(url->get_string());
  if (auto* vars = s.if_contains("variables"); vars && vars->is_object()) {
    for (const auto& kv : vars->get_object()) {
      std::string def;
      if (kv.value().is_object())
        if (auto* d = kv.value().get_object().if_contains("default"); d && d->is_string()) def = d->get_string();
      std::string key = "{" + std::string(kv.key()) + "}";
      for (auto pos = b.find(key); pos != std::string::npos; pos = b.find(key)) b.replace(pos, key.size(), def);
    }
  }
  if (b.rfind("http://", 0) != 0 && b.rfind("https://", 0) != 0)
    return fail(errc::invalid_argument, fmt::format("server URL '{}' is relative; give openapi_options::base_url", b))
        .at("/servers/0/url");
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

bj::value auth_json(const http_auth& a) {
  bj::object o;
  switch (a.type) {
    case http_auth::kind::none: return nullptr;
    case http_auth::kind::bearer: o["type"] = "bearer"; break;
    case http_auth::kind::header: o["type"] = "header"; break;
    case http_auth::kind::query: o["type"] = "query"; break;
    case http_auth::kind::basic: o["type"] = "basic"; break;
  }
  o["env"] = a.env;
  if (!a.name.empty()) o["name"] = a.name;
  if (!a.env_password.empty()) o["env_password"] = a.env_password;
  return o;
}

bj::object projection_json(const response_projection& p) {
  bj::object o;
  if (!p.pointer.empty()) o["pointer"] = p.pointer;
  bj::array fields;
  for (const auto& f : p.fields) fields.push_back(bj::string(f));
  if (!fields.empty()) o["fields"] = std::move(fields);
  o["max_items"] = p.max_items;
  o["max_bytes"] = p.max_bytes;
  return o;
}

struct parameter {
  std::string name;
  std::string in;
  bool required = false;
  bj::value schema;
};

result<parameter> read_parameter(const bj::value& root, const bj::value& raw) {
  TERN_TRY(auto p, resolve(root, raw));
  if (!p.is_object()) return fail(errc::invalid_argument, "a parameter must be an object");
  const auto& o = p.get_object();
  parameter out;
  auto* name = o.if_contains("name");
  auto* in = o.if_contains("in");
  if (!name || !name->is_string() || !in || !in->is_string())
    return fail(errc::invalid_argument, "a parameter needs 'name' and 'in'");
  out.name = name->get_string();
  out.in = in->get_string();
  if (auto* r = o.if_contains("required"); r && r->is_bool()) out.required = r->get_bool();
  if (out.in == "path") out.required = true;
  bj::object schema;
  if (auto* s = o.if_contains("schema"); s && s->is_object()) schema = s->get_object();
  if (auto* d = o.if_contains("description"); d && d->is_string() && !schema.contains("description"))
    schema["description"] = *d;
  out.schema = std::move(schema);
  return out;
}

}  // namespace

result<std::vector<bj::value>> openapi_tool_declarations(const bj::value& spec, const openapi_options& options) {
  if (!spec.is_object()) return fail(errc::invalid_argument, "an OpenAPI document must be a JSON object");
  const auto& doc = spec.get_object();
  auto* version = doc.if_contains("openapi");
  if (!version || !version->is_string() || !std::string_view(version->get_string()).starts_with("3."))
    return fail(errc::unsupported, "only OpenAPI 3.x documents are supported (no 'openapi: 3.x' field)");
  TERN_TRY(auto base, server_base(spec, options));
  auto* paths = doc.if_contains("paths");
  if (!paths || !paths->is_object()) return fail(errc::invalid_argument, "no 'paths' object");

  std::vector<bj::value> out;
  std::set<std::string> names;
  static const char* methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
  for (const auto& path_kv : paths->get_object()) {
    std::string path(path_kv.key());
    std::string path_ptr = json::append_pointer("/paths", path);
    if (!path_kv.value().is_object()) return fail(errc::invalid_argument, "a path item must be an object").at(path_ptr);
    TERN_TRY(auto item_v, resolve(spec, path_kv.value()));
    const auto& item = item_v.get_object();
    for (const char* method : methods) {
      auto* op_v = item.if_contains(method);
      if (!op_v) continue;
      std::string op_ptr = json::append_pointer(path_ptr, method);
      if (!op_v->is_object()) return fail(errc::invalid_argument, "an operation must be an object").at(op_ptr);
      const auto& op = op_v->get_object();

      std::string name;
      if (auto* id = op.if_contains("operationId"); id && id->is_string()) name = sanitize_name(id->get_string());
      else name = sanitize_name(std::string(method) + "_" + path);
      if (!options.operations.empty() &&
          std::find(options.operations.begin(), options.operations.end(), name) == options.operations.end())
        continue;
      if (!names.insert(name).second)
        return fail(errc::invalid_argument, fmt::format("two operations are named '{}'", name)).at(op_ptr);

      // Parameters: path-level first, then the operation's, which win by (name, in).
      std::vector<parameter> params;
      for (const auto* list : {item.if_contains("parameters"), op.if_contains("parameters")}) {
        if (!list) continue;
        if (!list->is_array()) return fail(errc::invalid_argument, "parameters must be a list").at(op_ptr);
        for (std::size_t i = 0; i < list->get_array().size(); ++i) {
          auto p = read_parameter(spec, list->get_array()[i]);
          if (!p) return std::move(p).error().at(json::append_pointer(json::append_pointer(op_ptr, "parameters"), i));
          std::erase_if(params, [&](const parameter& q) { return q.name == p->name && q.in == p->in; });
          params.push_back(std::move(*p));
        }
      }

      bj::object properties;
      bj::array required;
      bj::object query, header_args;
      for (const auto& p : params) {
        if (p.in == "cookie") continue;  // not supported: the model cannot set cookies
        properties[p.name] = p.schema;
        if (p.required) required.push_back(bj::string(p.name));
        if (p.in == "query") query[p.name] = p.name;
        else if (p.in == "header") header_args[p.name] = p.name;
      }

      bj::value body = "none";
      bool closed = false;  // the flattened body refuses unknown properties
      if (auto* rb_raw = op.if_contains("requestBody")) {
        TERN_TRY(auto rb, resolve(spec, *rb_raw));
        const bj::value* schema = nullptr;
        if (rb.is_object())
          if (auto* content = rb.get_object().if_contains("content"); content && content->is_object()) {
            for (const auto& c : content->get_object()) {
              std::string_view type = c.key();
              if ((type == "application/json" || type.ends_with("+json")) && c.value().is_object()) {
                schema = c.value().get_object().if_contains("schema");
                break;
              }
            }
          }
        bool body_required = rb.is_object() && rb.get_object().contains("required") && rb.at("required") == true;
        if (schema && schema->is_object()) {
          const auto& so = schema->get_object();
          auto* props = so.if_contains("properties");
          bool flatten = props && props->is_object() && !so.contains("oneOf") && !so.contains("anyOf") &&
                         !so.contains("allOf");
          if (flatten)
            for (const auto& kv : props->get_object())
              if (properties.contains(kv.key())) flatten = false;
          if (flatten) {
            bj::array body_args;
            for (const auto& kv : props->get_object()) {
              properties[kv.key()] = kv.value();
              body_args.push_back(bj::string(kv.key()));
            }
            if (auto* req = so.if_contains("required"); req && req->is_array())
              for (const auto& r : req->get_array()) required.push_back(r);
            body = std::move(body_args);
            if (auto* ap = so.if_contains("additionalProperties"); ap && ap->is_bool() && !ap->get_bool()) closed = true;
          } else {
            bj::value s = *schema;
            if (properties.contains("body")) return fail(errc::unsupported, "a parameter named 'body' clashes with the request body").at(op_ptr);
            properties["body"] = std::move(s);
            if (body_required) required.push_back("body");
            body = bj::object{{"arg", "body"}};
          }
        }
      }

      bj::object parameters{{"type", "object"}, {"properties", std::move(properties)}};
      if (!required.empty()) parameters["required"] = std::move(required);
      if (closed) parameters["additionalProperties"] = false;

      std::string description;
      for (const char* key : {"summary", "description"})
        if (auto* d = op.if_contains(key); d && d->is_string() && !d->get_string().empty())
          description += (description.empty() ? "" : "\n\n") + std::string(d->get_string());

      bj::object decl;
      decl["name"] = name;
      decl["description"] = description;
      std::string upper(method);
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      decl["method"] = upper;
      decl["url"] = base + path;
      decl["parameters"] = std::move(parameters);
      decl["query"] = std::move(query);
      if (!header_args.empty()) decl["header_args"] = std::move(header_args);
      decl["body"] = std::move(body);
      if (auto a = auth_json(options.auth); !a.is_null()) decl["auth"] = std::move(a);
      if (auto* x = op.if_contains("x-tern-response"); x && x->is_object()) decl["response"] = *x;
      else decl["response"] = projection_json(options.response);
      if (options.timeout.count() > 0) decl["timeout_ms"] = options.timeout.count();
      out.push_back(std::move(decl));
    }
  }
  return out;
}

result<std::vector<tool_ptr>> import_openapi(const bj::value& spec, std::shared_ptr<http_client> client,
                                             const openapi_options& options) {
  TERN_TRY(auto decls, openapi_tool_declarations(spec, options));
  std::vector<tool_ptr> tools;
  for (const auto& d : decls) {
    TERN_TRY(auto t, make_http_tool(d, client));
    tools.push_back(std::move(t));
  }
  return tools;
}

}  // namespace tern::tools
