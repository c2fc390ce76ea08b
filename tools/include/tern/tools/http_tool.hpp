// HttpTool: a tool declared as data that calls an HTTP JSON API.
//
// A declaration (JSON here; Lua and OpenAPI import build the same struct):
//
//   {"name": "get_flight", "description": "One flight by id.",
//    "method": "GET", "url": "http://127.0.0.1:8080/flights/{id}",
//    "parameters": {"type":"object","properties":{"id":{"type":"string"},
//                   "currency":{"type":"string"}},"required":["id"]},
//    "query": {"currency": "currency"},           // wire name -> argument ("query": ["currency"] also works)
//    "headers": {"Accept": "application/json"},   // fixed headers
//    "header_args": {"X-Request-Id": "request_id"},
//    "body": ["passengers", "cabin"],             // or {"arg": "booking"}, or "none"
//    "auth": {"type": "bearer", "env": "TRAVEL_API_TOKEN"},
//    "response": {"pointer": "/data", "fields": ["id", "/price/amount"], "max_items": 20, "max_bytes": 16384},
//    "timeout_ms": 10000}
//
// - `{param}` in the URL is replaced by the argument, percent-encoded (arrays
//   join with ','); every path parameter must be a required property.
// - Without "query"/"body": the arguments not used in the path go to the query
//   for GET, HEAD, DELETE and OPTIONS, and into a JSON object body otherwise.
//   Query values: scalars as text, arrays as repeated keys, objects as JSON.
// - Auth reads the environment at call time: bearer (Authorization: Bearer),
//   header (name), query (name), basic (env = user, env_password). Secrets are
//   never logged nor put in error messages; a missing variable names the
//   variable only.
// - The response: status >= 400 is an http_status error (retryable for 408,
//   429, 5xx) carrying a short snippet of the body; invalid JSON is bad_response;
//   a text/* body comes back as {"text": ...}. Then the projection applies.
//
// Thread safety: as tool. The http_client is shared and must be used from one
// thread (see http_client.hpp).
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/tools/tool.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tern::tools {

// Keeps only what the model needs from a JSON response.
struct response_projection {
  std::string pointer;              // JSON pointer to the part to keep ("" = all)
  // Fields to keep, as JSON pointers ("/id", "/price/amount") or plain names
  // ("id" = "/id"). Applied to an object, or to each object of an array.
  // Empty = keep everything.
  std::vector<std::string> fields;
  // An array longer than this (0 = no limit) becomes
  // {"items": [first max_items], "n_items": total, "truncated": true}.
  std::size_t max_items = 0;
  // The serialised result is at most this long: arrays lose items from the end
  // (as above); an object's largest list loses items from its end, and the
  // object gains "truncated": {"key": name, "kept": k, "total": n}; anything
  // else becomes {"truncated": true, "n_bytes": size, "preview": "<first bytes
  // of the JSON text>"}.
  std::size_t max_bytes = 16u << 10;
};

// Applies a projection. Errors: bad_response when the pointer selects nothing.
result<boost::json::value> project_response(const boost::json::value& doc, const response_projection& p);

struct http_auth {
  enum class kind { none, bearer, header, query, basic };
  kind type = kind::none;
  std::string name;          // header or query parameter name (header, query)
  std::string env;           // variable holding the token, key or user name
  std::string env_password;  // basic: variable holding the password
};

struct http_tool_def {
  tool_spec spec;
  std::string method = "GET";
  std::string url;  // template with {param} placeholders
  // Bindings (wire name, argument name). When a binding list is absent
  // (has_query/has_body false) the defaults above apply.
  std::vector<std::pair<std::string, std::string>> query;
  bool has_query = false;
  std::vector<std::pair<std::string, std::string>> header_args;
  std::vector<http_header> headers;
  enum class body_mode { none, object, whole_arg };
  body_mode body = body_mode::none;
  bool has_body = false;
  std::vector<std::string> body_args;  // object: these arguments form the body object
  std::string body_arg;                // whole_arg: this argument's value is the body
  http_auth auth;
  response_projection response;
  std::chrono::milliseconds timeout{0};  // 0 = the client's total_timeout
};

// Parses a JSON declaration (above). Errors are invalid_argument naming the
// key ("http tool 'x': /query/0: ...").
result<http_tool_def> parse_http_tool_def(const boost::json::value& decl);

// Builds the tool. Checks the spec, that the method is a token, that each
// {param} is a required property, and that bound arguments exist in the schema.
result<tool_ptr> make_http_tool(http_tool_def def, std::shared_ptr<http_client> client);
result<tool_ptr> make_http_tool(const boost::json::value& decl, std::shared_ptr<http_client> client);

// The request a call with these (already validated) arguments sends; exposed
// for tests and dry runs. Auth is included (from the environment).
result<http_request> build_http_request(const http_tool_def& def, const boost::json::value& args);

}  // namespace tern::tools
