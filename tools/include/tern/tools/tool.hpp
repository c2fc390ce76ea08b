// The Tool abstraction: something a model can call with JSON arguments.
//
// A tool has a name, a description and a JSON Schema for its arguments
// (tool_spec). Calling it is asynchronous and never throws: invoke() yields a
// tool_outcome, which is either a JSON result or a structured tool_error whose
// kind tells the agent what happened (bad arguments, timeout, HTTP status,
// transport, bad response) and whether trying again may help.
//
// invoke() validates the arguments against the schema before the tool's body
// runs, so a tool never sends a request built from arguments that break its
// schema. Implementations override invoke_validated().
//
//   auto add = tern::tools::make_function_tool(
//       {"add", "Adds two integers.",
//        *tern::json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},
//                               "b":{"type":"integer"}},"required":["a","b"]})")->if_object()},
//       [](const boost::json::value& args) -> tern::tools::tool_outcome {
//         return boost::json::value(args.at("a").as_int64() + args.at("b").as_int64());
//       });
//   tool_outcome out = co_await (*add)->invoke(args, {});
//
// Thread safety: a tool object is immutable after construction; invoke() may
// be called concurrently from coroutines on any executor, as long as the tool
// outlives every call (tools are held by std::shared_ptr for that reason).
#pragma once

#include <tern/core/error.hpp>
#include <tern/core/result.hpp>
#include <tern/tools/schema_validator.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tern::tools {

namespace asio = boost::asio;

// What went wrong in a tool call. The names (to_string) are stable and appear
// in the JSON a model sees: "invalid-arguments", "timeout", ...
enum class tool_error_kind {
  invalid_arguments,  // the arguments break the tool's schema (nothing was sent)
  timeout,            // a connect, read or total deadline passed
  http_status,        // the server answered with an error status (4xx, 5xx)
  transport,          // connection refused or reset, TLS or DNS failure
  bad_response,       // the answer was unusable: invalid JSON, too large, wrong shape
  not_found,          // no tool of that name (registry look-up)
  cancelled,          // the caller cancelled the call
  failed,             // the tool's own logic reported a failure (function tools)
};

std::string_view to_string(tool_error_kind kind) noexcept;
// The inverse of to_string; nullopt for an unknown name.
std::optional<tool_error_kind> parse_tool_error_kind(std::string_view name) noexcept;

struct tool_error {
  tool_error_kind kind = tool_error_kind::failed;
  std::string message;        // for the model and the logs; never holds secrets
  bool retryable = false;     // whether calling again unchanged may succeed
  int http_status = 0;        // the status for kind == http_status, else 0
  std::string tool;           // the tool's name, filled in by tool::invoke

  // {"error":{"kind":"timeout","message":"...","retryable":true,"tool":"...","status":503}}
  // ("status" only for http_status): what an agent puts in the tool message.
  boost::json::value to_json() const;
  // The same failure as a tern::error (code from the kind, tool name as context).
  tern::error to_error() const;
  // Maps a tern::error's code to a kind (timeout -> timeout, transport ->
  // transport, http_status -> http_status, parse_error/bad_response/limit_exceeded
  // -> bad_response, cancelled -> cancelled, invalid_argument -> invalid_arguments,
  // not_found -> not_found, else failed); message = err.describe().
  static tool_error from_error(const tern::error& err, bool retryable = false);
};

// Either the JSON result of a successful call or a tool_error.
class tool_outcome {
 public:
  // A successful call with a null result (Asio's co_spawn needs a default).
  tool_outcome() : v_(std::in_place_index<0>) {}
  tool_outcome(boost::json::value result) : v_(std::in_place_index<0>, std::move(result)) {}  // NOLINT
  tool_outcome(tool_error err) : v_(std::in_place_index<1>, std::move(err)) {}               // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The result; asserts ok().
  const boost::json::value& value() const&;
  boost::json::value&& value() &&;
  // The error; asserts !ok().
  const tool_error& error() const&;
  tool_error& error() &;

  // The result as is, or the error's to_json(): what the model is shown.
  boost::json::value to_json() const;

 private:
  std::variant<boost::json::value, tool_error> v_;
};

// The description a model sees. parameters is a JSON Schema (an object schema
// in practice: {"type":"object","properties":{...},"required":[...]}).
struct tool_spec {
  std::string name;         // [A-Za-z0-9_.-], 1..64 chars: what OpenAI-style APIs accept
  std::string description;
  boost::json::object parameters;

  // {"name":..., "description":..., "parameters":{...}}
  boost::json::object to_json() const;
  // {"type":"function","function":{"name":...,"description":...,"parameters":...}}
  boost::json::object to_openai_json() const;
};

// Per-call settings, passed by the caller (agent, registry).
struct invoke_context {
  // Not an aggregate: see http_request (a GCC 12 bug with aggregate temporaries in co_await).
  invoke_context() = default;
  explicit invoke_context(std::chrono::milliseconds timeout_, std::string call_id_ = {})
      : timeout(timeout_), call_id(std::move(call_id_)) {}

  // Deadline for the whole call, including retries; zero = the tool's own default.
  std::chrono::milliseconds timeout{0};
  // The model's id for this call (OpenAI "tool_call_id"), for logs and traces.
  std::string call_id;
  // Set by the agent for every call: stable across a resumed run (derived from
  // the run id, the step and the call's index), so a side-effecting tool can
  // send it as an Idempotency-Key and a repeated call books nothing twice.
  std::string idempotency_key;
};

class tool {
 public:
  // Checks a spec: the name's characters and length, and that parameters is a
  // schema the validator accepts (errors name the JSON pointer in the schema).
  // Returns the compiled validator for the constructor.
  static result<schema_validator> check_spec(const tool_spec& spec);

  // validator must come from check_spec(spec) (or compile spec.parameters);
  // factories (make_function_tool, http_tool::create) do this, so a bad spec
  // is an error value rather than a half-built tool.
  tool(tool_spec spec, schema_validator validator);
  virtual ~tool();
  tool(const tool&) = delete;
  tool& operator=(const tool&) = delete;

  const tool_spec& spec() const noexcept { return spec_; }
  const std::string& name() const noexcept { return spec_.name; }
  const std::string& description() const noexcept { return spec_.description; }
  const boost::json::object& parameters() const noexcept { return spec_.parameters; }

  // Validates args against the schema (a failure is invalid_arguments naming
  // the JSON pointer, and nothing runs), then runs the tool. Never throws; an
  // exception escaping invoke_validated becomes kind "failed". The error's
  // `tool` field is set to name().
  asio::awaitable<tool_outcome> invoke(boost::json::value args, invoke_context ctx = {}) const;

  // Only the schema check of invoke(): an invalid_arguments error, or nothing.
  std::optional<tool_error> validate(const boost::json::value& args) const;

 protected:
  // The body of the tool; args already satisfy the schema.
  virtual asio::awaitable<tool_outcome> invoke_validated(boost::json::value args,
                                                         const invoke_context& ctx) const = 0;

 private:
  tool_spec spec_;
  schema_validator validator_;
};

using tool_ptr = std::shared_ptr<const tool>;

// A tool whose body is a C++ coroutine.
using async_tool_fn =
    std::function<asio::awaitable<tool_outcome>(boost::json::value args, const invoke_context& ctx)>;
// A tool whose body is a plain function (runs inline on the caller's executor:
// keep it short, it must not block).
using sync_tool_fn = std::function<tool_outcome(const boost::json::value& args)>;

// Errors: invalid_argument for a bad name or schema (see tool::check_spec).
result<tool_ptr> make_function_tool(tool_spec spec, async_tool_fn fn);
result<tool_ptr> make_function_tool(tool_spec spec, sync_tool_fn fn);

}  // namespace tern::tools
