#include <tern/tools/mcp_client.hpp>

#include <tern/core/json.hpp>
#include <tern/core/log.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <set>

namespace tern::tools {

namespace bj = boost::json;

namespace {

constexpr const char* meta_version = "io.modelcontextprotocol/protocolVersion";
constexpr const char* meta_capabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* meta_client_info = "io.modelcontextprotocol/clientInfo";

bool accepted_stateful_version(std::string_view v) {
  return v == "2025-11-25" || v == "2025-06-18" || v == "2025-03-26";
}

std::string sanitize_tool_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.size() > 64) out.resize(64);
  return out;
}

// The message in a JSON-RPC error object, with its code.
tern::error rpc_error(const bj::value& err, std::string_view method) {
  std::int64_t code = 0;
  std::string message = "unknown error";
  if (err.is_object()) {
    if (auto* c = err.get_object().if_contains("code"); c && c->is_int64()) code = c->get_int64();
    if (auto* m = err.get_object().if_contains("message"); m && m->is_string()) message = m->get_string();
  }
  errc ec = code == -32602 ? errc::invalid_argument : code == -32601 ? errc::not_found : errc::bad_response;
  return fail(ec, fmt::format("JSON-RPC error {}: {}", code, message)).at(std::string(method));
}

}  // namespace

std::vector<std::string> parse_sse_events(std::string_view body) {
  // text/event-stream (WHATWG HTML, server-sent events): lines end in LF, CR or
  // CRLF; "data:" lines accumulate; a blank line dispatches the event.
  std::vector<std::string> events;
  std::string data;
  bool has_data = false;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t end = body.find_first_of("\r\n", pos);
    bool last = end == std::string_view::npos;
    std::string_view line = body.substr(pos, last ? std::string_view::npos : end - pos);
    if (line.empty()) {
      if (has_data) events.push_back(std::move(data));
      data.clear();
      has_data = false;
    } else if (line[0] != ':') {
      auto colon = line.find(':');
      std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
      if (field == "data") {
        if (has_data) data += '\n';
        data += value;
        has_data = true;
      }
    }
    if (last) break;
    pos = end + 1;
    if (body[end] == '\r' && pos < body.size() && body[pos] == '\n') ++pos;
  }
  if (has_data) events.push_back(std::move(data));  // a stream cut before its blank line
  return events;
}

mcp_client::mcp_client(std::shared_ptr<http_client> http, mcp_client_options options)
    : http_(std::move(http)), options_(std::move(options)) {}

asio::awaitable<result<bj::value>> mcp_client::post(bj::object message, bool expect_response,
                                                    std::chrono::milliseconds timeout, int* http_status) {
  std::string method = message.contains("method") ? std::string(message.at("method").as_string()) : "message";
  std::string where = fmt::format("MCP {} at {}", method, options_.url);
  http_request req("POST", options_.url, json::serialize(message));
  req.headers.push_back({"Content-Type", "application/json"});
  req.headers.push_back({"Accept", "application/json, text/event-stream"});
  if (!protocol_version_.empty() && method != "initialize")
    req.headers.push_back({"MCP-Protocol-Version", protocol_version_});
  else if (method == "server/discover")
    req.headers.push_back({"MCP-Protocol-Version", mcp_stateless_version});
  if (!session_id_.empty()) req.headers.push_back({"Mcp-Session-Id", session_id_});
  for (const auto& h : options_.headers) req.headers.push_back(h);
  req.timeout = timeout.count() > 0 ? timeout : options_.timeout;
  // A JSON-RPC call may have side effects: never resent after a timeout, but
  // 429/503 (not processed) are still retried by the client.
  req.idempotent = false;

  auto res = co_await http_->request(std::move(req));
  if (!res) co_return std::move(res).error().at(where);
  if (http_status) *http_status = res->status;
  if (method == "initialize")
    if (auto* sid = res->header("Mcp-Session-Id")) session_id_ = *sid;
  if (res->status == 202 && !expect_response) co_return bj::value(nullptr);
  if (res->status < 200 || res->status >= 300) {
    // A modern server puts a JSON-RPC error in the body of a 4xx: use it.
    if (auto doc = json::parse(res->body); doc && doc->is_object() && doc->get_object().contains("error"))
      co_return rpc_error(doc->at("error"), method).at(fmt::format("HTTP {}", res->status)).at(where);
    co_return fail(errc::http_status, fmt::format("HTTP {} {}: {}", res->status, res->reason, res->body.substr(0, 200)))
        .at(where);
  }
  if (!expect_response) co_return bj::value(nullptr);

  const std::string* type = res->header("Content-Type");
  std::vector<std::string> texts;
  if (type && type->find("text/event-stream") != std::string::npos) texts = parse_sse_events(res->body);
  else texts.push_back(res->body);

  const bj::value& id = message.at("id");
  for (const auto& text : texts) {
    if (text.empty()) continue;
    auto doc = json::parse(text);
    if (!doc) co_return fail(errc::bad_response, "not JSON: " + doc.error().describe()).at(where);
    // A batch, or one message.
    std::vector<const bj::value*> messages;
    if (doc->is_array())
      for (const auto& m : doc->get_array()) messages.push_back(&m);
    else
      messages.push_back(&*doc);
    for (const bj::value* m : messages) {
      if (!m->is_object()) continue;
      const auto& o = m->get_object();
      auto* mid = o.if_contains("id");
      if (!mid || *mid != id || o.contains("method")) {
        log::debug("mcp: ignoring a server message on the {} stream", method);
        continue;  // a notification or a server request; nothing to answer here
      }
      if (auto* err = o.if_contains("error")) co_return rpc_error(*err, method).at(where);
      auto* r = o.if_contains("result");
      if (!r) co_return fail(errc::bad_response, "a JSON-RPC response with neither result nor error").at(where);
      co_return *r;
    }
  }
  co_return fail(errc::bad_response, "the answer holds no response to our request").at(where);
}

asio::awaitable<result<bj::value>> mcp_client::request(std::string method, bj::object params,
                                                       std::chrono::milliseconds timeout) {
  if (!connected() && method != "initialize" && method != "server/discover") {
    auto c = co_await connect();
    if (!c) co_return std::move(c).error();
  }
  if (stateless_) {
    bj::object meta;
    if (auto* m = params.if_contains("_meta"); m && m->is_object()) meta = m->get_object();
    meta[meta_version] = mcp_stateless_version;
    meta[meta_capabilities] = bj::object{};
    meta[meta_client_info] = bj::object{{"name", options_.client_name}, {"version", options_.client_version}};
    params["_meta"] = std::move(meta);
  }
  for (int attempt = 0;; ++attempt) {
    bj::object msg{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
    int status = 0;
    auto r = co_await post(std::move(msg), true, timeout, &status);
    if (!r && status == 404 && !stateless_ && !session_id_.empty() && attempt == 0) {
      // The server forgot our session: start a new one and try once more.
      log::info("mcp: session expired at {}; re-initialising", options_.url);
      session_id_.clear();
      auto again = co_await initialize();
      if (!again) co_return std::move(again).error();
      continue;
    }
    if (!r) co_return std::move(r).error();
    if (stateless_ && r->is_object())
      if (auto* rt = r->get_object().if_contains("resultType"); rt && rt->is_string() && rt->get_string() != "complete")
        co_return fail(errc::unsupported, fmt::format("resultType '{}' (multi-round-trip requests) is not supported",
                                                      std::string_view(rt->get_string())))
            .at(method);
    co_return std::move(*r);
  }
}

asio::awaitable<result<bool>> mcp_client::discover() {
  bj::object meta{{meta_version, mcp_stateless_version},
                  {meta_capabilities, bj::object{}},
                  {meta_client_info, bj::object{{"name", options_.client_name}, {"version", options_.client_version}}}};
  bj::object msg{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", "server/discover"}, {"params", bj::object{{"_meta", meta}}}};
  int status = 0;
  auto r = co_await post(std::move(msg), true, options_.timeout, &status);
  if (!r) {
    // Timeouts and refused connections are not a legacy server: report them.
    auto code = r.error().code();
    if (code == errc::timeout || code == errc::transport || code == errc::cancelled) co_return std::move(r).error();
    log::debug("mcp: server/discover failed ({}); falling back to initialize", r.error().describe());
    co_return false;
  }
  if (!r->is_object()) co_return false;
  auto* versions = r->get_object().if_contains("supportedVersions");
  bool modern = false;
  if (versions && versions->is_array())
    for (const auto& v : versions->get_array()) modern = modern || (v.is_string() && v.get_string() == mcp_stateless_version);
  if (modern) server_info_ = r->get_object();
  co_return modern;
}

asio::awaitable<result<void>> mcp_client::initialize() {
  bj::object params{{"protocolVersion", mcp_stateful_version},
                    {"capabilities", bj::object{}},
                    {"clientInfo", bj::object{{"name", options_.client_name}, {"version", options_.client_version}}}};
  bj::object msg{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", "initialize"}, {"params", std::move(params)}};
  protocol_version_.clear();
  auto r = co_await post(std::move(msg), true, options_.timeout, nullptr);
  if (!r) co_return std::move(r).error();
  std::string version;
  if (r->is_object())
    if (auto* v = r->get_object().if_contains("protocolVersion"); v && v->is_string()) version = v->get_string();
  if (!accepted_stateful_version(version))
    co_return fail(errc::unsupported, fmt::format("the server speaks MCP '{}', which this client does not", version))
        .at(options_.url);
  server_info_ = r->as_object();
  protocol_version_ = version;
  stateless_ = false;
  bj::object note{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
  auto n = co_await post(std::move(note), false, options_.timeout, nullptr);
  if (!n) co_return std::move(n).error();
  co_return ok();
}

asio::awaitable<result<void>> mcp_client::connect() {
  if (options_.mode != mcp_client_options::protocol::stateful) {
    auto modern = co_await discover();
    if (!modern) co_return std::move(modern).error();
    if (*modern) {
      protocol_version_ = mcp_stateless_version;
      stateless_ = true;
      session_id_.clear();
      co_return ok();
    }
    if (options_.mode == mcp_client_options::protocol::stateless)
      co_return fail(errc::unsupported, "the server does not speak the stateless MCP revision 2026-07-28").at(options_.url);
  }
  co_return co_await initialize();
}

asio::awaitable<result<std::vector<mcp_tool_info>>> mcp_client::list_tools() {
  std::vector<mcp_tool_info> out;
  std::set<std::string> seen_cursors;
  std::string cursor;
  for (int page = 0;; ++page) {
    if (page >= options_.max_pages)
      co_return fail(errc::limit_exceeded, fmt::format("tools/list still had more after {} pages", options_.max_pages));
    bj::object params;
    if (!cursor.empty()) params["cursor"] = cursor;
    auto r = co_await request("tools/list", std::move(params));
    if (!r) co_return std::move(r).error();
    auto* tools = r->is_object() ? r->get_object().if_contains("tools") : nullptr;
    if (!tools || !tools->is_array()) co_return fail(errc::bad_response, "tools/list result has no 'tools' list");
    for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
      const auto& t = tools->get_array()[i];
      auto where = fmt::format("tools/list: tools[{}]", i);
      if (!t.is_object()) co_return fail(errc::bad_response, "a tool must be an object").at(where);
      const auto& o = t.get_object();
      mcp_tool_info info;
      auto* name = o.if_contains("name");
      if (!name || !name->is_string()) co_return fail(errc::bad_response, "a tool without a name").at(where);
      info.name = name->get_string();
      if (auto* d = o.if_contains("description"); d && d->is_string()) info.description = d->get_string();
      if (auto* d = o.if_contains("title"); d && d->is_string()) info.title = d->get_string();
      if (auto* s = o.if_contains("inputSchema"); s && s->is_object()) info.input_schema = s->get_object();
      else info.input_schema = bj::object{{"type", "object"}};
      if (auto* s = o.if_contains("outputSchema"); s && s->is_object()) info.output_schema = s->get_object();
      out.push_back(std::move(info));
    }
    auto* next = r->get_object().if_contains("nextCursor");
    if (!next || !next->is_string() || next->get_string().empty()) break;
    cursor = next->get_string();
    if (!seen_cursors.insert(cursor).second)
      co_return fail(errc::bad_response, fmt::format("tools/list repeated the cursor '{}'", cursor));
  }
  co_return out;
}

asio::awaitable<tool_outcome> mcp_client::call_tool(std::string name, bj::value arguments, std::chrono::milliseconds timeout) {
  bj::object params{{"name", name}, {"arguments", arguments.is_null() ? bj::value(bj::object{}) : std::move(arguments)}};
  auto r = co_await request("tools/call", std::move(params), timeout);
  if (!r) {
    auto code = r.error().code();
    co_return tool_error::from_error(r.error(), code == errc::timeout || code == errc::transport ||
                                                     (code == errc::http_status));
  }
  if (!r->is_object()) {
    tool_error e;
    e.kind = tool_error_kind::bad_response;
    e.message = "tools/call result is not an object";
    co_return e;
  }
  const auto& o = r->get_object();
  std::string text;
  bool all_text = true;
  const bj::array* content = nullptr;
  if (auto* c = o.if_contains("content"); c && c->is_array()) {
    content = &c->get_array();
    for (const auto& item : *content) {
      if (item.is_object() && item.get_object().contains("type") && item.at("type") == "text" &&
          item.get_object().contains("text") && item.at("text").is_string()) {
        if (!text.empty()) text += '\n';
        text += item.at("text").get_string();
      } else {
        all_text = false;
      }
    }
  }
  if (auto* is_error = o.if_contains("isError"); is_error && is_error->is_bool() && is_error->get_bool()) {
    tool_error e;
    e.kind = tool_error_kind::failed;
    e.message = text.empty() ? "the MCP tool reported an error" : text;
    co_return e;
  }
  if (auto* s = o.if_contains("structuredContent"); s && !s->is_null()) co_return *s;
  if (content && all_text) co_return bj::value(bj::object{{"text", text}});
  if (content) co_return bj::value(bj::object{{"content", *content}});
  co_return bj::value(bj::object{});
}

asio::awaitable<result<void>> mcp_client::close() {
  if (stateless_ || session_id_.empty()) co_return ok();
  http_request req("DELETE", options_.url);
  req.headers.push_back({"Mcp-Session-Id", session_id_});
  if (!protocol_version_.empty()) req.headers.push_back({"MCP-Protocol-Version", protocol_version_});
  for (const auto& h : options_.headers) req.headers.push_back(h);
  req.timeout = options_.timeout;
  auto r = co_await http_->request(std::move(req));
  session_id_.clear();
  protocol_version_.clear();
  if (!r) co_return std::move(r).error();
  co_return ok();  // 405 means the server does not allow it: nothing more to do
}

namespace {

class mcp_tool final : public tool {
 public:
  mcp_tool(tool_spec spec, schema_validator v, std::shared_ptr<mcp_client> client, std::string remote_name)
      : tool(std::move(spec), std::move(v)), client_(std::move(client)), remote_name_(std::move(remote_name)) {}

 protected:
  asio::awaitable<tool_outcome> invoke_validated(bj::value args, const invoke_context& ctx) const override {
    co_return co_await client_->call_tool(remote_name_, std::move(args), ctx.timeout);
  }

 private:
  std::shared_ptr<mcp_client> client_;
  std::string remote_name_;
};

}  // namespace

asio::awaitable<result<std::vector<tool_ptr>>> make_mcp_tools(std::shared_ptr<mcp_client> client) {
  if (!client->connected()) {
    auto c = co_await client->connect();
    if (!c) co_return std::move(c).error();
  }
  auto infos = co_await client->list_tools();
  if (!infos) co_return std::move(infos).error();
  std::vector<tool_ptr> out;
  for (auto& info : *infos) {
    tool_spec spec;
    spec.name = sanitize_tool_name(client->options().tool_prefix + info.name);
    spec.description = info.description.empty() ? info.title : info.description;
    spec.parameters = std::move(info.input_schema);
    auto v = tool::check_spec(spec);
    if (!v) co_return std::move(v).error().at(fmt::format("MCP tool '{}'", info.name));
    out.push_back(std::make_shared<mcp_tool>(std::move(spec), std::move(*v), client, info.name));
  }
  co_return out;
}

}  // namespace tern::tools
