// The tool-call parser beyond the basics: DeepSeek-R1 calls, repairs of
// unconstrained output (each reported), schema validation, and round trips
// with the engine's tool-call grammars (what the grammar accepts parses into
// the same calls, strictly).
#include <tern/agent/tool_call_parser.hpp>
#include <tern/core/json.hpp>
#include <tern/engine/tool_calls.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace tern::agent;
using tern::engine::tool_call_format;
namespace bj = boost::json;

namespace {

bool has_problem(const parsed_output& out, std::string_view what) {
  for (const auto& p : out.problems)
    if (p.find(what) != std::string::npos) return true;
  return false;
}

parse_options strict(tool_call_syntax s) {
  parse_options o;
  o.syntax = s;
  o.repair = false;
  return o;
}

const std::string ds_begin = "<｜tool▁calls▁begin｜>", ds_end = "<｜tool▁calls▁end｜>", ds_call = "<｜tool▁call▁begin｜>",
                  ds_call_end = "<｜tool▁call▁end｜>", ds_sep = "<｜tool▁sep｜>";

std::string ds(std::string_view name, std::string_view args) {
  return ds_call + "function" + ds_sep + std::string(name) + "\n```json\n" + std::string(args) + "\n```" + ds_call_end;
}

}  // namespace

TEST_CASE("tool call parser: DeepSeek-R1 calls") {
  auto one = parse_model_output(ds_begin + ds("get_weather", R"({"city": "Oslo"})") + ds_end);
  REQUIRE(one.tool_calls.size() == 1);
  CHECK(one.tool_calls[0].name == "get_weather");
  CHECK(one.tool_calls[0].arguments == bj::object{{"city", "Oslo"}});
  CHECK(one.content.empty());
  CHECK(one.problems.empty());

  auto two = parse_model_output("<think>two cities</think>Checking both." + ds_begin + ds("a", "{}") + "\n" +
                                ds("b", R"({"x": [1, 2]})") + ds_end);
  CHECK(two.reasoning == "two cities");
  CHECK(two.content == "Checking both.");
  REQUIRE(two.tool_calls.size() == 2);
  CHECK(two.tool_calls[1].id == "call_1");
  CHECK(two.tool_calls[1].arguments.at("x").as_array().size() == 2);
  CHECK(two.problems.empty());

  // Strict: every marker must be there.
  auto strict_ok = parse_model_output(ds_begin + ds("a", "{}") + ds_end, strict(tool_call_syntax::deepseek_r1));
  CHECK(strict_ok.tool_calls.size() == 1);
  auto strict_open = parse_model_output(ds_begin + ds("a", "{}"), strict(tool_call_syntax::deepseek_r1));
  CHECK(strict_open.tool_calls.empty());
  CHECK_FALSE(strict_open.problems.empty());

  // Broken calls stay text with a problem; good ones are kept.
  auto broken = parse_model_output(ds_begin + ds("a", "{nope") + ds("b", "{}") + ds_end);
  REQUIRE(broken.tool_calls.size() == 1);
  CHECK(broken.tool_calls[0].name == "b");
  CHECK(has_problem(broken, "DeepSeek tool call 1"));
  CHECK(broken.content.find("{nope") != std::string::npos);
  auto no_sep = parse_model_output(ds_begin + ds_call + "function get_weather\n{}" + ds_call_end + ds_end);
  CHECK(no_sep.tool_calls.empty());
  CHECK(has_problem(no_sep, "tool▁sep"));
}

TEST_CASE("tool call parser: repairs are made and reported") {
  SECTION("missing closing tag and markers at the very end") {
    auto h = parse_model_output("<tool_call>\n{\"name\": \"a\", \"arguments\": {}}");
    REQUIRE(h.tool_calls.size() == 1);
    CHECK(has_problem(h, "repaired: no </tool_call> at the end"));
    auto d = parse_model_output(ds_begin + ds_call + "function" + ds_sep + "a\n```json\n{\"k\": 1}\n```");
    REQUIRE(d.tool_calls.size() == 1);
    CHECK(d.tool_calls[0].arguments.at("k") == 1);
    CHECK(has_problem(d, "no <｜tool▁calls▁end｜>"));
    CHECK(has_problem(d, "no <｜tool▁call▁end｜>"));
    auto missing_between = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {}}\n<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>");
    CHECK(missing_between.tool_calls.size() == 2);
    CHECK(has_problem(missing_between, "no </tool_call> before the next <tool_call>"));
  }
  SECTION("code fences") {
    auto h = parse_model_output("<tool_call>\n```json\n{\"name\": \"a\", \"arguments\": {\"q\": \"x\"}}\n```\n</tool_call>");
    REQUIRE(h.tool_calls.size() == 1);
    CHECK(h.tool_calls[0].arguments.at("q") == "x");
    CHECK(has_problem(h, "repaired: removed a code fence"));
    auto l = parse_model_output("```json\n{\"name\": \"search\", \"parameters\": {\"q\": \"x\"}}\n```",
                                tool_call_syntax::llama3_json, {"search"});
    REQUIRE(l.tool_calls.size() == 1);
    CHECK(l.content.empty());
    CHECK(has_problem(l, "code fence"));
  }
  SECTION("text around the JSON") {
    auto h = parse_model_output("<tool_call>Calling now: {\"name\": \"a\", \"arguments\": {}} done</tool_call>");
    REQUIRE(h.tool_calls.size() == 1);
    CHECK(has_problem(h, "ignored text before the JSON ('Calling now: ')"));
    CHECK(has_problem(h, "ignored text after the JSON"));
    auto l = parse_model_output("Sure! {\"name\": \"search\", \"parameters\": {\"q\": \"Rio\"}} Hope this helps.",
                                tool_call_syntax::llama3_json, {"search"});
    REQUIRE(l.tool_calls.size() == 1);
    CHECK(l.tool_calls[0].arguments.at("q") == "Rio");
    CHECK(l.content == "Sure!  Hope this helps.");
    CHECK(has_problem(l, "took 1 call(s) out of surrounding text"));
    // Without a tool list, prose with JSON in it stays prose.
    auto unknown = parse_model_output("Sure! {\"name\": \"search\", \"parameters\": {}}", tool_call_syntax::llama3_json);
    CHECK(unknown.tool_calls.empty());
    // A call nested inside a JSON answer is not extracted.
    auto nested = parse_model_output("Plan: {\"steps\": [{\"name\": \"search\", \"parameters\": {}}]}",
                                     tool_call_syntax::llama3_json, {"search"});
    CHECK(nested.tool_calls.empty());
  }
  SECTION("brackets left open at the very end") {
    auto l = parse_model_output("{\"name\": \"search\", \"parameters\": {\"q\": \"x\"", tool_call_syntax::llama3_json,
                                {"search"});
    REQUIRE(l.tool_calls.size() == 1);
    CHECK(has_problem(l, "closed"));
    auto h = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {\"k\": [1, 2");
    REQUIRE(h.tool_calls.size() == 1);
    CHECK(h.tool_calls[0].arguments.at("k").as_array().size() == 2);
    // Cut inside a string: not repaired.
    auto cut = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {\"k\": \"abc");
    CHECK(cut.tool_calls.empty());
    CHECK(cut.problems.size() == 1);
  }
  SECTION("arguments as a JSON string") {
    auto h = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>");
    REQUIRE(h.tool_calls.size() == 1);
    CHECK(has_problem(h, "repaired: arguments were a JSON string"));
    auto s = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>",
                                strict(tool_call_syntax::hermes));
    CHECK(s.tool_calls.empty());
    CHECK(has_problem(s, "JSON string"));
  }
  SECTION("strict parsing repairs nothing") {
    auto h = parse_model_output("<tool_call>```json\n{\"name\": \"a\", \"arguments\": {}}\n```</tool_call>",
                                strict(tool_call_syntax::hermes));
    CHECK(h.tool_calls.empty());
    auto open = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {}}", strict(tool_call_syntax::hermes));
    CHECK(open.tool_calls.empty());
    CHECK(has_problem(open, "no </tool_call>"));
  }
}

TEST_CASE("tool call parser: arguments are validated against each tool's schema") {
  parse_options o;
  auto schema = tern::json::parse(R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","maximum":14}},
                                      "required":["city"],"additionalProperties":false})");
  REQUIRE(schema);
  auto v = tern::tools::schema_validator::compile(*schema);
  REQUIRE(v);
  o.validators.emplace("get_weather", *v);
  auto out = parse_model_output(
      "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}</tool_call>\n"
      "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"days\": 30}}</tool_call>\n"
      "<tool_call>{\"name\": \"other\", \"arguments\": {\"anything\": 1}}</tool_call>",
      o);
  REQUIRE(out.tool_calls.size() == 2);
  CHECK(out.tool_calls[0].id == "call_0");
  CHECK(out.tool_calls[1].name == "other");  // no schema given: not checked
  CHECK(out.tool_calls[1].id == "call_2");
  REQUIRE(out.invalid_calls.size() == 1);
  CHECK(out.invalid_calls[0].id == "call_1");
  REQUIRE(out.problems.size() == 1);
  CHECK_THAT(out.problems[0], Catch::Contains("<tool_call> block 2") && Catch::Contains("get_weather") &&
                                  Catch::Contains("/days"));
  // Validators double as the tool list for Llama 3 JSON.
  auto l = parse_model_output(R"({"name": "get_weather", "parameters": {"city": "Rio"}})", o);
  CHECK(l.tool_calls.size() == 1);
  auto l_unknown = parse_model_output(R"({"name": "nope", "parameters": {}})", o);
  CHECK(l_unknown.tool_calls.empty());
}

TEST_CASE("tool call parser: what the tool-call grammar accepts parses into the same calls") {
  std::vector<tern::engine::tool_definition> tools = {
      {"search_flights", R"({"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"},
                            "when":{"type":"object","properties":{"date":{"type":"string"}}}},"required":["from"]})"},
      {"note", R"({"type":"object","properties":{"text":{"type":"string"}}})"},
  };
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"search_flights", R"({"from":"LIS","to":"ZRH","when":{"date":"2025-05-01"}})"},
      {"note", R"({"text":"a \"quoted\" ; line\nnext </tool_call> <tool_call> ``` <｜tool▁call▁end｜>"})"},
      {"note", "{}"},
  };
  for (auto f : {tool_call_format::hermes, tool_call_format::llama3_json, tool_call_format::deepseek_r1}) {
    INFO(tern::engine::to_string(f));
    auto g = tern::engine::compile_tool_call_grammar(f, tools, {.mode = tern::engine::tool_mode::required});
    REQUIRE(g);
    for (size_t n = 1; n <= calls.size(); ++n) {
      std::string text(tern::engine::tool_calls_prefix(f));
      for (size_t i = 0; i < n; ++i) {
        if (i) text += tern::engine::tool_call_separator(f);
        auto r = tern::engine::render_tool_call(f, calls[i].first, calls[i].second);
        REQUIRE(r);
        text += *r;
      }
      text += tern::engine::tool_calls_suffix(f);
      INFO(text);
      REQUIRE((*g)->matches(text));
      auto out = parse_model_output(text, strict(syntax_of(f)));
      CHECK(out.problems.empty());
      CHECK(out.content.empty());
      REQUIRE(out.tool_calls.size() == n);
      for (size_t i = 0; i < n; ++i) {
        CHECK(out.tool_calls[i].name == calls[i].first);
        CHECK(bj::value(out.tool_calls[i].arguments) == *tern::json::parse(calls[i].second));
      }
      // The repairing parser reads grammar output the same way, with nothing to repair.
      auto lenient = parse_model_output(text, parse_options{.syntax = syntax_of(f)});
      CHECK(lenient.problems.empty());
      CHECK(lenient.tool_calls.size() == n);
    }
    // Text answers the grammar accepts in automatic mode parse as text, no calls.
    auto a = tern::engine::compile_tool_call_grammar(f, tools, {});
    REQUIRE(a);
    for (std::string text : {"Plain answer.", "Answer with {\"json\": 1} inside", "ünïcödé"}) {
      REQUIRE((*a)->matches(text));
      auto out = parse_model_output(text, strict(syntax_of(f)));
      CHECK(out.tool_calls.empty());
      CHECK(out.problems.empty());
      CHECK(out.content == text);
    }
  }
}

TEST_CASE("tool call parser: fragments of every syntax never crash") {
  const std::vector<std::string> pieces = {ds_begin, ds_end, ds_call, ds_call_end, ds_sep, "<tool_call>", "</tool_call>",
                                           "```json\n", "```", "{", "}", "[", "]", "\"", "\\", "\n", ";", "function",
                                           "{\"name\": \"a\", \"arguments\": ", "<|python_tag|>", "<think>", "</think>"};
  uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return size_t(x >> 33);
  };
  parse_options o;
  o.known_tools = {"a"};
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (size_t n = next() % 9; n > 0; --n) text += pieces[next() % pieces.size()];
    for (auto s : {tool_call_syntax::automatic, tool_call_syntax::hermes, tool_call_syntax::llama3_json,
                   tool_call_syntax::deepseek_r1}) {
      o.syntax = s;
      o.repair = (i & 1) != 0;
      auto out = parse_model_output(text, o);
      // Every call that comes out has a name and a unique id.
      for (const auto& c : out.tool_calls) CHECK_FALSE(c.name.empty());
      CHECK(out.tool_calls.size() + out.invalid_calls.size() <= text.size());
    }
  }
}
