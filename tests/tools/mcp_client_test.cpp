// The MCP client against MCP test servers written for these tests: a stateful
// 2025-11-25 server (sessions), a stateless 2026-07-28 server (server/discover),
// and a server that goes silent.
#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>
#include <tern/tools/mcp_client.hpp>
#include <tern/tools/tool_registry.hpp>

#include "async_test.hpp"
#include "loopback_server.hpp"

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using namespace tern::tools;
using tern::test::loopback_server;
using tern::test::server_connection;
using tern::test::test_request;
using tern::test::test_response;

namespace {

enum class era { stateful, stateless, silent };

struct mcp_test_server {
  era kind;
  bool expire_session_once = false;
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<int> n_sessions = std::make_shared<int>(0);
  std::shared_ptr<bool> expired = std::make_shared<bool>(false);
  loopback_server server;

  explicit mcp_test_server(era k, bool expire = false)
      : kind(k), expire_session_once(expire),
        server([this](server_connection& c) -> asio::awaitable<void> { co_await serve(c); }) {}

  std::string url() const { return server.url("/mcp"); }

  static std::string rpc_result(const bj::value& id, bj::value result) {
    return tern::json::serialize(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  }
  static std::string rpc_error(const bj::value& id, int code, std::string message) {
    return tern::json::serialize(
        bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", bj::object{{"code", code}, {"message", message}}}});
  }

  bj::array tools() const {
    auto schema = [](std::string_view text) { return *tern::json::parse(text); };
    return bj::array{
        bj::object{{"name", "add"}, {"description", "Adds a and b."},
                   {"inputSchema", schema(R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})")}},
        bj::object{{"name", "echo"}, {"description", "Echoes text."},
                   {"inputSchema", schema(R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})")}},
        bj::object{{"name", "fail"}, {"description", "Always fails."}, {"inputSchema", schema(R"({"type":"object"})")}},
    };
  }

  // Answers one JSON-RPC message; returns the response (status, content type, body).
  test_response handle(const test_request& r, const bj::object& msg) {
    std::string method = msg.contains("method") ? std::string(msg.at("method").as_string()) : "";
    const bj::value id = msg.contains("id") ? msg.at("id") : bj::value(nullptr);
    const bj::object params = msg.contains("params") && msg.at("params").is_object() ? msg.at("params").as_object() : bj::object{};
    auto* sid = r.header("Mcp-Session-Id");
    auto* pv = r.header("MCP-Protocol-Version");
    log->push_back(method + (sid ? " sid=" + *sid : "") + (pv ? " v=" + *pv : ""));

    if (kind == era::stateful) {
      if (method == "server/discover") return test_response(400, "Bad Request: No valid session ID provided", {{"Content-Type", "text/plain"}});
      if (method == "initialize") {
        ++*n_sessions;
        return test_response(200, rpc_result(id, bj::object{{"protocolVersion", "2025-11-25"},
                                                                  {"capabilities", bj::object{{"tools", bj::object{}}}},
                                                                  {"serverInfo", bj::object{{"name", "legacy-test"}, {"version", "1"}}}}),
                             {{"Mcp-Session-Id", "sess-" + std::to_string(*n_sessions)}});
      }
      std::string expected = "sess-" + std::to_string(*n_sessions);
      if (!sid || *sid != expected) return test_response(404, rpc_error(id, -32001, "Session not found"));
      if (!pv || *pv != "2025-11-25") return test_response(400, rpc_error(id, -32600, "bad MCP-Protocol-Version"));
      if (method == "notifications/initialized") return test_response(202, "");
      if (expire_session_once && !*expired && method == "tools/call") {
        *expired = true;
        *n_sessions = 100;  // sess-1 is gone; the next initialize opens sess-101
        return test_response(404, rpc_error(id, -32001, "Session not found"));
      }
    } else {
      if (!params.contains("_meta") || !params.at("_meta").is_object() ||
          params.at("_meta").as_object().if_contains("io.modelcontextprotocol/protocolVersion") == nullptr ||
          params.at("_meta").at("io.modelcontextprotocol/protocolVersion") != "2026-07-28")
        return test_response(400, rpc_error(id, -32602, "missing _meta protocolVersion"));
      if (sid) return test_response(400, rpc_error(id, -32600, "no sessions in 2026-07-28"));
      if (method == "server/discover")
        return test_response(200, rpc_result(id, bj::object{{"resultType", "complete"},
                                                                  {"supportedVersions", bj::array{"2026-07-28", "2025-11-25"}},
                                                                  {"capabilities", bj::object{{"tools", bj::object{}}}},
                                                                  {"serverInfo", bj::object{{"name", "modern-test"}, {"version", "2"}}}}));
      if (method == "initialize") return test_response(400, rpc_error(id, -32601, "initialize is gone"));
    }

    auto complete = [&](bj::object result) -> bj::value {
      if (kind != era::stateful) result["resultType"] = "complete";
      return result;
    };
    if (method == "tools/list") {
      auto all = tools();
      std::string cursor = params.contains("cursor") ? std::string(params.at("cursor").as_string()) : "";
      std::size_t start = cursor.empty() ? 0 : std::stoul(cursor.substr(1));
      bj::array page;
      for (std::size_t i = start; i < std::min(start + 2, all.size()); ++i) page.push_back(all[i]);
      bj::object result{{"tools", page}};
      if (start + 2 < all.size()) result["nextCursor"] = "p" + std::to_string(start + 2);
      return test_response(200, rpc_result(id, complete(std::move(result))));
    }
    if (method == "tools/call") {
      std::string name(params.at("name").as_string());
      const auto& args = params.at("arguments").as_object();
      if (name == "add") {
        double sum = args.at("a").to_number<double>() + args.at("b").to_number<double>();
        return test_response(200, rpc_result(id, complete(bj::object{
                                                     {"content", bj::array{bj::object{{"type", "text"}, {"text", fmt::format("{}", sum)}}}},
                                                     {"structuredContent", bj::object{{"sum", sum}}}})));
      }
      if (name == "echo") {
        // As an SSE stream: a progress notification first, then the response.
        std::string note = R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})";
        std::string res = rpc_result(id, complete(bj::object{
                                             {"content", bj::array{bj::object{{"type", "text"}, {"text", args.at("text")}}}}}));
        return test_response(200, "event: message\ndata: " + note + "\n\n: keep-alive comment\r\nevent: message\r\ndata: " + res + "\r\n\r\n",
                             {{"Content-Type", "text/event-stream"}});
      }
      if (name == "fail")
        return test_response(200, rpc_result(id, complete(bj::object{
                                                     {"content", bj::array{bj::object{{"type", "text"}, {"text", "the flux capacitor is empty"}}}},
                                                     {"isError", true}})));
      return test_response(200, rpc_error(id, -32602, "Unknown tool: " + name));
    }
    return test_response(200, rpc_error(id, -32601, "Method not found: " + method));
  }

  asio::awaitable<void> serve(server_connection& c) {
    while (auto r = co_await c.read_request()) {
      if (r->method == "DELETE") {
        log->push_back("DELETE");
        if (!co_await c.respond(test_response(200, ""))) co_return;
        continue;
      }
      auto msg = tern::json::parse(r->body);
      if (!msg || !msg->is_object()) {
        if (!co_await c.respond(test_response(400, "not JSON-RPC"))) co_return;
        continue;
      }
      if (kind == era::silent && msg->as_object().contains("method") && msg->at("method") == "tools/call") {
        log->push_back("tools/call (ignored)");
        co_await c.sleep(60s);
        co_return;
      }
      auto res = handle(*r, msg->as_object());
      if (!co_await c.respond(res)) co_return;
    }
  }
};

std::shared_ptr<http_client> make_http(asio::io_context& io) {
  http_client_options o;
  o.retry.base_delay = 5ms;
  return std::make_shared<http_client>(io.get_executor(), o);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " | ") + s;
  return out;
}

}  // namespace

TEST_CASE("mcp: SSE bodies split into events") {
  auto events = parse_sse_events("event: message\ndata: {\"a\":1}\n\n: comment\r\ndata: line1\r\ndata:line2\r\n\r\nid: 3\ndata: tail");
  REQUIRE(events.size() == 3);
  CHECK(events[0] == R"({"a":1})");
  CHECK(events[1] == "line1\nline2");
  CHECK(events[2] == "tail");
  CHECK(parse_sse_events("").empty());
}

TEST_CASE("mcp: a stateful 2025-11-25 server is listed (paginated) and called through its session") {
  mcp_test_server mcp(era::stateful);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    mcp_client_options o;
    o.url = mcp.url();
    o.tool_prefix = "srv_";
    auto client = std::make_shared<mcp_client>(make_http(io), o);
    auto tools = co_await make_mcp_tools(client);
    REQUIRE(tools);
    CHECK(client->protocol_version() == "2025-11-25");
    CHECK_FALSE(client->stateless());
    CHECK(client->session_id() == "sess-1");
    REQUIRE(tools->size() == 3);
    CHECK((*tools)[0]->name() == "srv_add");
    CHECK((*tools)[2]->name() == "srv_fail");

    tool_registry reg;
    for (auto& t : *tools) REQUIRE(reg.add(t));
    bj::value sum_args = bj::object{{"a", 2}, {"b", 3.5}};
    auto sum = co_await reg.invoke("srv_add", sum_args);
    CHECK(tern::json::serialize(sum.to_json()) == R"({"sum":5.5})");
    bj::value echo_args = bj::object{{"text", "héllo"}};
    auto echo = co_await reg.invoke("srv_echo", echo_args);
    CHECK(tern::json::serialize(echo.to_json()) == R"({"text":"héllo"})");
    auto failed = co_await reg.invoke("srv_fail", bj::object{});
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().kind == tool_error_kind::failed);
    CHECK(failed.error().message == "the flux capacitor is empty");
    bj::value bad_args = bj::object{{"a", "x"}, {"b", 1}};
    auto bad = co_await reg.invoke("srv_add", bad_args);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == tool_error_kind::invalid_arguments);
    auto unknown = co_await client->call_tool("nope", bj::object{});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().kind == tool_error_kind::invalid_arguments);

    auto closed = co_await client->close();
    CHECK(closed);
    co_return true;
  });
  CHECK(joined(*mcp.log) ==
        "server/discover v=2026-07-28 | initialize | notifications/initialized sid=sess-1 v=2025-11-25 | "
        "tools/list sid=sess-1 v=2025-11-25 | tools/list sid=sess-1 v=2025-11-25 | "
        "tools/call sid=sess-1 v=2025-11-25 | tools/call sid=sess-1 v=2025-11-25 | tools/call sid=sess-1 v=2025-11-25 | "
        "tools/call sid=sess-1 v=2025-11-25 | DELETE");
}

TEST_CASE("mcp: a stateless 2026-07-28 server is found by server/discover and called without a session") {
  mcp_test_server mcp(era::stateless);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    mcp_client_options o;
    o.url = mcp.url();
    auto client = std::make_shared<mcp_client>(make_http(io), o);
    auto connected = co_await client->connect();
    REQUIRE(connected);
    CHECK(client->stateless());
    CHECK(client->protocol_version() == "2026-07-28");
    CHECK(client->server_info().at("serverInfo").at("name") == "modern-test");
    auto tools = co_await make_mcp_tools(client);
    REQUIRE(tools);
    REQUIRE(tools->size() == 3);
    bj::value sum_args = bj::object{{"a", 1}, {"b", 2}};
    auto sum = co_await (*tools)[0]->invoke(sum_args);
    CHECK(tern::json::serialize(sum.to_json()) == R"({"sum":3.0})");
    bj::value echo_args = bj::object{{"text", "hi"}};
    auto echo = co_await (*tools)[1]->invoke(echo_args);
    CHECK(tern::json::serialize(echo.to_json()) == R"({"text":"hi"})");
    co_return true;
  });
  CHECK(joined(*mcp.log) ==
        "server/discover v=2026-07-28 | tools/list v=2026-07-28 | tools/list v=2026-07-28 | "
        "tools/call v=2026-07-28 | tools/call v=2026-07-28");

  // Forcing the stateful revision against a stateless-only server fails cleanly.
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    mcp_client_options o;
    o.url = mcp.url();
    o.mode = mcp_client_options::protocol::stateful;
    auto client = std::make_shared<mcp_client>(make_http(io), o);
    auto c = co_await client->connect();
    REQUIRE_FALSE(c);
    co_return true;
  });
}

TEST_CASE("mcp: an expired session is re-initialised once") {
  mcp_test_server mcp(era::stateful, true);
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    mcp_client_options o;
    o.url = mcp.url();
    o.mode = mcp_client_options::protocol::stateful;
    auto client = std::make_shared<mcp_client>(make_http(io), o);
    REQUIRE(co_await client->connect());
    bj::value sum_args = bj::object{{"a", 1}, {"b", 1}};
    auto sum = co_await client->call_tool("add", sum_args);
    CHECK(tern::json::serialize(sum.to_json()) == R"({"sum":2.0})");
    CHECK(client->session_id() == "sess-101");
    co_return true;
  });
}

TEST_CASE("mcp: a silent server is a timeout, never a hang; a dead one is a transport error") {
  mcp_test_server mcp(era::silent);
  unsigned short dead_port;
  {
    loopback_server gone([](server_connection&) -> asio::awaitable<void> { co_return; });
    dead_port = gone.port();
  }
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    mcp_client_options o;
    o.url = mcp.url();
    o.timeout = 300ms;
    auto client = std::make_shared<mcp_client>(make_http(io), o);
    auto tools = co_await make_mcp_tools(client);
    REQUIRE(tools);
    tern::stopwatch sw;
    bj::value r_args = bj::object{{"a", 1}, {"b", 2}};
    auto r = co_await (*tools)[0]->invoke(r_args);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == tool_error_kind::timeout);
    CHECK(r.error().retryable);
    CHECK(sw.elapsed_ms() < 2000);

    mcp_client_options d;
    d.url = "http://127.0.0.1:" + std::to_string(dead_port) + "/mcp";
    d.timeout = 300ms;
    auto dead = std::make_shared<mcp_client>(make_http(io), d);
    auto c = co_await dead->connect();
    REQUIRE_FALSE(c);
    CHECK(c.error().code() == tern::errc::transport);
    co_return true;
  });
}
