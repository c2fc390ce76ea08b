// A minimal MCP server (stateful, protocol 2025-11-25) on loopback for the scripting
// tests and the docs examples: tools `weather` (structured result) and `fail` (isError).
#pragma once

#include "loopback_server.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <string>

namespace tern::test {

class mcp_test_server {
 public:
  mcp_test_server()
      : server_(loopback_server::serve([this](const test_request& r) { return handle(r); })) {}

  std::string url() const { return server_.url("/mcp"); }
  std::atomic<int> n_calls{0};  // tools/call requests answered

 private:
  test_response handle(const test_request& r) {
    namespace bj = boost::json;
    auto msg = json::parse(r.body);
    if (!msg || !msg->is_object()) return test_response(400, "not JSON-RPC");
    const auto& o = msg->as_object();
    const std::string method = o.contains("method") && o.at("method").is_string() ? std::string(o.at("method").as_string()) : "";
    const bj::value id = o.contains("id") ? o.at("id") : bj::value(nullptr);
    auto result = [&](bj::value v) {
      return test_response(200, json::serialize(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(v)}}),
                           {{"Mcp-Session-Id", "s1"}});
    };
    if (method == "server/discover") return test_response(400, "no session", {{"Content-Type", "text/plain"}});
    if (method == "initialize")
      return result(bj::object{{"protocolVersion", "2025-11-25"},
                               {"capabilities", bj::object{{"tools", bj::object{}}}},
                               {"serverInfo", bj::object{{"name", "lua-test"}, {"version", "1"}}}});
    if (method == "notifications/initialized") return test_response(202, "");
    if (method == "tools/list")
      return result(bj::object{
          {"tools",
           bj::array{bj::object{{"name", "weather"},
                                {"description", "Weather in a city."},
                                {"inputSchema", *json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})")}},
                     bj::object{{"name", "fail"}, {"description", "Always fails."}, {"inputSchema", bj::object{{"type", "object"}}}}}}});
    if (method == "tools/call") {
      ++n_calls;
      const auto& p = o.at("params").as_object();
      if (p.at("name") == "fail")
        return result(bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", "the sensor is broken"}}}},
                                 {"isError", true}});
      return result(bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", "sunny"}}}},
                               {"structuredContent", bj::object{{"city", p.at("arguments").at("city")}, {"sky", "sunny"}}}});
    }
    return test_response(200, json::serialize(bj::object{
                                   {"jsonrpc", "2.0"}, {"id", id}, {"error", bj::object{{"code", -32601}, {"message", "no method"}}}}));
  }

  loopback_server server_;  // last: stops (joins its thread) before the rest goes
};

}  // namespace tern::test
