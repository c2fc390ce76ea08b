#include <tern/tools/tool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <exception>

namespace tern::tools {

namespace bj = boost::json;

std::string_view to_string(tool_error_kind kind) noexcept {
  switch (kind) {
    case tool_error_kind::invalid_arguments: return "invalid-arguments";
    case tool_error_kind::timeout: return "timeout";
    case tool_error_kind::http_status: return "http-status";
    case tool_error_kind::transport: return "transport";
    case tool_error_kind::bad_response: return "bad-response";
    case tool_error_kind::not_found: return "not-found";
    case tool_error_kind::cancelled: return "cancelled";
    case tool_error_kind::failed: return "failed";
  }
  return "failed";
}

std::optional<tool_error_kind> parse_tool_error_kind(std::string_view name) noexcept {
  for (auto k : {tool_error_kind::invalid_arguments, tool_error_kind::timeout, tool_error_kind::http_status,
                 tool_error_kind::transport, tool_error_kind::bad_response, tool_error_kind::not_found,
                 tool_error_kind::cancelled, tool_error_kind::failed})
    if (to_string(k) == name) return k;
  return std::nullopt;
}

bj::value tool_error::to_json() const {
  bj::object e;
  e["kind"] = to_string(kind);
  e["message"] = message;
  e["retryable"] = retryable;
  if (!tool.empty()) e["tool"] = tool;
  if (kind == tool_error_kind::http_status) e["status"] = http_status;
  bj::object out;
  out["error"] = std::move(e);
  return out;
}

tern::error tool_error::to_error() const {
  errc code = errc::internal;
  switch (kind) {
    case tool_error_kind::invalid_arguments: code = errc::invalid_argument; break;
    case tool_error_kind::timeout: code = errc::timeout; break;
    case tool_error_kind::http_status: code = errc::http_status; break;
    case tool_error_kind::transport: code = errc::transport; break;
    case tool_error_kind::bad_response: code = errc::bad_response; break;
    case tool_error_kind::not_found: code = errc::not_found; break;
    case tool_error_kind::cancelled: code = errc::cancelled; break;
    case tool_error_kind::failed: code = errc::internal; break;
  }
  tern::error err(code, message);
  if (!tool.empty()) err.at("tool '" + tool + "'");
  return err;
}

tool_error tool_error::from_error(const tern::error& err, bool retryable) {
  tool_error_kind kind = tool_error_kind::failed;
  switch (err.code()) {
    case errc::timeout: kind = tool_error_kind::timeout; break;
    case errc::transport: kind = tool_error_kind::transport; break;
    case errc::http_status: kind = tool_error_kind::http_status; break;
    case errc::parse_error:
    case errc::bad_response:
    case errc::limit_exceeded: kind = tool_error_kind::bad_response; break;
    case errc::cancelled: kind = tool_error_kind::cancelled; break;
    case errc::invalid_argument: kind = tool_error_kind::invalid_arguments; break;
    case errc::not_found: kind = tool_error_kind::not_found; break;
    default: kind = tool_error_kind::failed; break;
  }
  tool_error out;
  out.kind = kind;
  out.message = err.describe();
  out.retryable = retryable;
  return out;
}

const bj::value& tool_outcome::value() const& {
  TERN_ASSERT(ok(), "value() of a failed tool_outcome");
  return std::get<0>(v_);
}
bj::value&& tool_outcome::value() && {
  TERN_ASSERT(ok(), "value() of a failed tool_outcome");
  return std::move(std::get<0>(v_));
}
const tool_error& tool_outcome::error() const& {
  TERN_ASSERT(!ok(), "error() of a successful tool_outcome");
  return std::get<1>(v_);
}
tool_error& tool_outcome::error() & {
  TERN_ASSERT(!ok(), "error() of a successful tool_outcome");
  return std::get<1>(v_);
}
bj::value tool_outcome::to_json() const { return ok() ? value() : error().to_json(); }

bj::object tool_spec::to_json() const {
  bj::object o;
  o["name"] = name;
  o["description"] = description;
  o["parameters"] = parameters;
  return o;
}

bj::object tool_spec::to_openai_json() const {
  bj::object o;
  o["type"] = "function";
  o["function"] = to_json();
  return o;
}

result<schema_validator> tool::check_spec(const tool_spec& spec) {
  if (spec.name.empty() || spec.name.size() > 64)
    return fail(errc::invalid_argument, fmt::format("tool name must be 1 to 64 characters, got {}", spec.name.size()));
  for (char c : spec.name) {
    bool okay = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || c == '.';
    if (!okay)
      return fail(errc::invalid_argument,
                  fmt::format("tool name '{}' may hold only letters, digits, '_', '-' and '.'", spec.name));
  }
  auto v = schema_validator::compile(spec.parameters);
  if (!v) return std::move(v).error().at("tool '" + spec.name + "' parameters");
  return v;
}

tool::tool(tool_spec spec, schema_validator validator) : spec_(std::move(spec)), validator_(std::move(validator)) {}
tool::~tool() = default;

std::optional<tool_error> tool::validate(const bj::value& args) const {
  auto r = validator_.validate(args);
  if (r) return std::nullopt;
  tool_error e;
  e.kind = tool_error_kind::invalid_arguments;
  e.message = r.error().describe();
  e.retryable = false;
  e.tool = spec_.name;
  return e;
}

asio::awaitable<tool_outcome> tool::invoke(bj::value args, invoke_context ctx) const {
  if (auto bad = validate(args)) co_return std::move(*bad);
  std::optional<tool_outcome> out;
  std::string what;
  try {
    out.emplace(co_await invoke_validated(std::move(args), ctx));
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  if (!out) {
    tool_error e;
    e.kind = tool_error_kind::failed;
    e.message = "the tool threw: " + what;
    out.emplace(std::move(e));
  }
  if (!out->ok() && out->error().tool.empty()) out->error().tool = spec_.name;
  co_return std::move(*out);
}

namespace {

class async_function_tool final : public tool {
 public:
  async_function_tool(tool_spec spec, schema_validator v, async_tool_fn fn)
      : tool(std::move(spec), std::move(v)), fn_(std::move(fn)) {}

 protected:
  asio::awaitable<tool_outcome> invoke_validated(bj::value args, const invoke_context& ctx) const override {
    co_return co_await fn_(std::move(args), ctx);
  }

 private:
  async_tool_fn fn_;
};

class sync_function_tool final : public tool {
 public:
  sync_function_tool(tool_spec spec, schema_validator v, sync_tool_fn fn)
      : tool(std::move(spec), std::move(v)), fn_(std::move(fn)) {}

 protected:
  asio::awaitable<tool_outcome> invoke_validated(bj::value args, const invoke_context&) const override {
    co_return fn_(args);
  }

 private:
  sync_tool_fn fn_;
};

}  // namespace

result<tool_ptr> make_function_tool(tool_spec spec, async_tool_fn fn) {
  if (!fn) return fail(errc::invalid_argument, "function tool without a function").at("tool '" + spec.name + "'");
  TERN_TRY(auto v, tool::check_spec(spec));
  return tool_ptr(std::make_shared<async_function_tool>(std::move(spec), std::move(v), std::move(fn)));
}

result<tool_ptr> make_function_tool(tool_spec spec, sync_tool_fn fn) {
  if (!fn) return fail(errc::invalid_argument, "function tool without a function").at("tool '" + spec.name + "'");
  TERN_TRY(auto v, tool::check_spec(spec));
  return tool_ptr(std::make_shared<sync_function_tool>(std::move(spec), std::move(v), std::move(fn)));
}

}  // namespace tern::tools
