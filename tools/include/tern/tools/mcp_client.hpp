// MCP client (Model Context Protocol) over streamable HTTP, so that any MCP
// server's tools become Tern tools.
//
// Two protocol revisions, chosen by negotiation in connect():
// - 2026-07-28 (stateless): the client sends `server/discover`; when the
//   result's supportedVersions lists 2026-07-28, every later request carries
//   `_meta` with io.modelcontextprotocol/protocolVersion and
//   io.modelcontextprotocol/clientCapabilities, and no session exists.
// - 2025-11-25 (stateful): otherwise (discover answered with an HTTP error, a
//   JSON-RPC error, or without 2026-07-28), the client runs `initialize`,
//   keeps the Mcp-Session-Id the server returns, sends
//   notifications/initialized, and sends Mcp-Session-Id and
//   MCP-Protocol-Version on every later request. A server answering with an
//   older version it lists (2025-06-18, 2025-03-26) is accepted. An expired
//   session (HTTP 404) is re-initialised once.
//
// Transport: each JSON-RPC message is one POST with
// `Accept: application/json, text/event-stream`; the answer is either one JSON
// object or an SSE stream, in which the response with our id is found among
// the server's notifications. (The stream is read until the server closes it,
// which the spec says it should do after the response; a server that keeps it
// open ends in a timeout, never a hang.)
//
// Every request has a deadline (options.timeout): a dead or silent server is a
// timeout error, never a hang.
//
// Thread safety: as http_client (one thread or strand). The client must
// outlive the tools made from it (they hold it by shared_ptr).
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/tools/tool.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tern::tools {

inline constexpr const char* mcp_stateless_version = "2026-07-28";
inline constexpr const char* mcp_stateful_version = "2025-11-25";

struct mcp_client_options {
  std::string url;  // the MCP endpoint, e.g. http://127.0.0.1:3000/mcp
  enum class protocol { negotiate, stateful, stateless };
  protocol mode = protocol::negotiate;
  std::chrono::milliseconds timeout{30000};  // per JSON-RPC request
  std::vector<http_header> headers;           // extra headers (auth); never logged
  std::string tool_prefix;                    // prepended to tool names ("travel_")
  std::string client_name = "tern";
  std::string client_version = "0.1";
  int max_pages = 100;                        // tools/list pages before giving up
};

struct mcp_tool_info {
  std::string name;
  std::string title;
  std::string description;
  boost::json::object input_schema;
  std::optional<boost::json::object> output_schema;
};

class mcp_client : public std::enable_shared_from_this<mcp_client> {
 public:
  mcp_client(std::shared_ptr<http_client> http, mcp_client_options options);

  // Negotiates the revision (see above). Errors: timeout, transport,
  // http_status, bad_response (not JSON-RPC, or a version we do not speak).
  asio::awaitable<result<void>> connect();

  bool connected() const noexcept { return !protocol_version_.empty(); }
  // "2026-07-28" or the version initialize agreed on; empty before connect().
  const std::string& protocol_version() const noexcept { return protocol_version_; }
  bool stateless() const noexcept { return stateless_; }
  const std::string& session_id() const noexcept { return session_id_; }
  // The server's serverInfo, capabilities and instructions as it sent them.
  const boost::json::object& server_info() const noexcept { return server_info_; }

  // All tools, following nextCursor (bounded by max_pages; a repeated cursor
  // is a bad_response).
  asio::awaitable<result<std::vector<mcp_tool_info>>> list_tools();

  // tools/call. The outcome: structuredContent when the server sent it; else
  // {"text": ...} when every content item is text; else {"content": [...]}.
  // isError is a "failed" tool_error with the server's text; a JSON-RPC error
  // -32602 is invalid-arguments; a deadline is timeout.
  asio::awaitable<tool_outcome> call_tool(std::string name, boost::json::value arguments,
                                          std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Ends a stateful session (HTTP DELETE with Mcp-Session-Id); a no-op when stateless.
  asio::awaitable<result<void>> close();

  // One JSON-RPC request; the "result" member on success. Exposed for methods
  // this class does not wrap (resources/list, prompts/list, ...).
  asio::awaitable<result<boost::json::value>> request(std::string method, boost::json::object params,
                                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  const mcp_client_options& options() const noexcept { return options_; }

 private:
  asio::awaitable<result<boost::json::value>> post(boost::json::object message, bool expect_response,
                                                   std::chrono::milliseconds timeout, int* http_status);
  asio::awaitable<result<void>> initialize();
  asio::awaitable<result<bool>> discover();

  std::shared_ptr<http_client> http_;
  mcp_client_options options_;
  std::string protocol_version_;
  bool stateless_ = false;
  std::string session_id_;
  boost::json::object server_info_;
  std::int64_t next_id_ = 1;
};

// Connects when needed, lists the server's tools and wraps each as a Tern
// tool (name = tool_prefix + the MCP name, sanitised; parameters = inputSchema).
asio::awaitable<result<std::vector<tool_ptr>>> make_mcp_tools(std::shared_ptr<mcp_client> client);

// Splits an SSE body (text/event-stream) into the data of each event
// (multi-line data joined with '\n'); exposed for tests.
std::vector<std::string> parse_sse_events(std::string_view body);

}  // namespace tern::tools
