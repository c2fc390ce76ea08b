#include <tern/core/json.hpp>
#include <tern/tools/tool.hpp>

#include <catch2/catch.hpp>

#include "async_test.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <stdexcept>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace tern::tools;

namespace {

bj::object object_schema(std::string_view text) {
  auto doc = tern::json::parse(text);
  REQUIRE(doc);
  REQUIRE(doc->is_object());
  return doc->as_object();
}

template <class T>
T run(asio::awaitable<T> aw) {
  return tern::test::run_async([&](asio::io_context&) { return std::move(aw); });
}

}  // namespace

TEST_CASE("tool: a function tool validates its arguments before running") {
  int n_calls = 0;
  auto add = make_function_tool(
      {"add", "Adds two integers.",
       object_schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},
                         "required":["a","b"],"additionalProperties":false})")},
      [&](const bj::value& args) -> tool_outcome {
        ++n_calls;
        return bj::value(args.at("a").as_int64() + args.at("b").as_int64());
      });
  REQUIRE(add);
  auto ok = run((*add)->invoke(bj::object{{"a", 2}, {"b", 40}}));
  REQUIRE(ok.ok());
  CHECK(ok.value() == 42);
  CHECK(n_calls == 1);

  auto bad = run((*add)->invoke(bj::object{{"a", "2"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(n_calls == 1);  // never ran
  CHECK(bad.error().kind == tool_error_kind::invalid_arguments);
  CHECK_FALSE(bad.error().retryable);
  CHECK(bad.error().tool == "add");
  CHECK(bad.error().message == "arguments: (root): missing required property 'b'; /a: expected integer, got string");
  CHECK(tern::json::serialize(bad.to_json()) ==
        R"({"error":{"kind":"invalid-arguments","message":"arguments: (root): missing required property 'b'; /a: expected integer, got string","retryable":false,"tool":"add"}})");
}

TEST_CASE("tool: async function tools, thrown exceptions and reported failures") {
  auto slow = make_function_tool({"echo", "Echoes after a short wait.", object_schema(R"({"type":"object"})")},
                                 [](bj::value args, const invoke_context& ctx) -> asio::awaitable<tool_outcome> {
                                   asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
                                   co_await t.async_wait(asio::use_awaitable);
                                   args.as_object()["call_id"] = ctx.call_id;
                                   co_return args;
                                 });
  REQUIRE(slow);
  invoke_context ctx;
  ctx.call_id = "call_7";
  auto out = run((*slow)->invoke(bj::object{{"x", 1}}, ctx));
  REQUIRE(out.ok());
  CHECK(tern::json::serialize(out.value()) == R"({"x":1,"call_id":"call_7"})");

  auto thrower = make_function_tool({"boom", "Throws.", object_schema("{}")},
                                    [](const bj::value&) -> tool_outcome { throw std::runtime_error("kaput"); });
  REQUIRE(thrower);
  auto t = run((*thrower)->invoke(nullptr));
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().kind == tool_error_kind::failed);
  CHECK(t.error().message == "the tool threw: kaput");
  CHECK(t.error().tool == "boom");

  auto status = make_function_tool({"down", "Fails like a server.", object_schema("{}")},
                                   [](const bj::value&) -> tool_outcome {
                                     tool_error e;
                                     e.kind = tool_error_kind::http_status;
                                     e.http_status = 503;
                                     e.retryable = true;
                                     e.message = "service unavailable";
                                     return e;
                                   });
  REQUIRE(status);
  auto s = run((*status)->invoke(bj::object{}));
  REQUIRE_FALSE(s.ok());
  CHECK(tern::json::serialize(s.to_json()) ==
        R"({"error":{"kind":"http-status","message":"service unavailable","retryable":true,"tool":"down","status":503}})");
  CHECK(s.error().to_error().to_string() == "http_status: tool 'down': service unavailable");
}

TEST_CASE("tool: bad specs are error values") {
  auto fn = [](const bj::value&) -> tool_outcome { return bj::value(nullptr); };
  auto no_name = make_function_tool({"", "x", {}}, fn);
  REQUIRE_FALSE(no_name);
  CHECK(no_name.error().code() == tern::errc::invalid_argument);
  auto spaces = make_function_tool({"get weather", "x", {}}, fn);
  REQUIRE_FALSE(spaces);
  CHECK(spaces.error().describe() == "tool name 'get weather' may hold only letters, digits, '_', '-' and '.'");
  auto schema = make_function_tool({"w", "x", object_schema(R"({"type":"object","properties":{"a":{"type":"int"}}})")}, fn);
  REQUIRE_FALSE(schema);
  CHECK(schema.error().describe() == "tool 'w' parameters: schema /properties/a/type: unknown type 'int'");
}

TEST_CASE("tool: spec JSON for prompts and error kind names round-trip") {
  tool_spec spec{"lookup", "Looks things up.", object_schema(R"({"type":"object"})")};
  CHECK(tern::json::serialize(spec.to_json()) ==
        R"({"name":"lookup","description":"Looks things up.","parameters":{"type":"object"}})");
  CHECK(tern::json::serialize(spec.to_openai_json()) ==
        R"({"type":"function","function":{"name":"lookup","description":"Looks things up.","parameters":{"type":"object"}}})");
  for (auto k : {tool_error_kind::invalid_arguments, tool_error_kind::timeout, tool_error_kind::http_status,
                 tool_error_kind::transport, tool_error_kind::bad_response, tool_error_kind::not_found,
                 tool_error_kind::cancelled, tool_error_kind::failed})
    CHECK(parse_tool_error_kind(to_string(k)) == k);
  CHECK_FALSE(parse_tool_error_kind("nope"));
  auto e = tool_error::from_error(tern::fail(tern::errc::timeout, "read timed out").at("GET /x"), true);
  CHECK(e.kind == tool_error_kind::timeout);
  CHECK(e.retryable);
  CHECK(e.message == "GET /x: read timed out");
}
