// OpenAPI 3.x import: each operation of a spec becomes an HttpTool.
//
// - name: operationId (else "<method>_<path words>"), sanitised to the tool
//   name alphabet; description: summary and description.
// - arguments: the path, query and header parameters (path-level ones
//   merged, operation-level ones win) plus the JSON request body. An object
//   body's properties become arguments of their own when no name clashes with
//   a parameter; otherwise the body is one argument named "body".
// - every $ref inside the document (#/components/...) is resolved and
//   inlined, so the argument schema stands alone; a recursive reference is
//   replaced, at its second appearance on a path, by a permissive schema.
// - the base URL: options.base_url, else servers[0].url (variables take their
//   defaults). A relative server URL needs options.base_url.
// - per operation, an `x-tern-response` object is used as the response
//   projection ({"pointer","fields","max_items","max_bytes"}); else options.response.
//
//   TERN_TRY(auto tools, tern::tools::import_openapi(spec, client, {.base_url = server_url}));
//
// Errors: unsupported (not 3.x, cookie parameters are skipped rather than
// failing), invalid_argument naming the JSON pointer of what is malformed
// ("/paths/~1flights/get/parameters/0: ...").
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/http_tool.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tern::tools {

struct openapi_options {
  std::string base_url;                 // overrides the spec's servers
  std::vector<std::string> operations;  // names (after sanitising) to import; empty = all
  response_projection response;         // default projection
  http_auth auth;                       // applied to every operation
  std::chrono::milliseconds timeout{0};
};

// The declarations (JSON, as parse_http_tool_def reads) of the spec's
// operations, in document order.
result<std::vector<boost::json::value>> openapi_tool_declarations(const boost::json::value& spec,
                                                                  const openapi_options& options = {});

// The tools themselves.
result<std::vector<tool_ptr>> import_openapi(const boost::json::value& spec, std::shared_ptr<http_client> client,
                                             const openapi_options& options = {});

}  // namespace tern::tools
