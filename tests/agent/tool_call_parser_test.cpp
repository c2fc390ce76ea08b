#include <tern/agent/tool_call_parser.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace tern::agent;
namespace bj = boost::json;

TEST_CASE("tool call parser: Hermes/Qwen blocks, one and several") {
  auto out = parse_model_output(
      "<tool_call>\n{\"name\": \"search_flights\", \"arguments\": {\"from\": \"BOS\", \"to\": \"GIG\"}}\n</tool_call>");
  REQUIRE(out.tool_calls.size() == 1);
  CHECK(out.tool_calls[0].id == "call_0");
  CHECK(out.tool_calls[0].name == "search_flights");
  CHECK(out.tool_calls[0].arguments == bj::object{{"from", "BOS"}, {"to", "GIG"}});
  CHECK(out.content.empty());
  CHECK(out.problems.empty());

  auto two = parse_model_output(
      "Let me search both.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>",
      tool_call_syntax::hermes, {}, "t3");
  REQUIRE(two.tool_calls.size() == 2);
  CHECK(two.tool_calls[1].id == "t3_1");
  CHECK(two.tool_calls[1].arguments.at("x").to_number<int>() == 1);  // arguments as a JSON string
  CHECK(two.content == "Let me search both.");
}

TEST_CASE("tool call parser: reasoning is split off") {
  auto out = parse_model_output("<think>\nBudget 3000, two people.\n</think>\n\nBooked within budget.");
  CHECK(out.reasoning == "Budget 3000, two people.");
  CHECK(out.content == "Booked within budget.");

  // The template opened <think> in the prompt: the output starts inside it.
  auto opened = parse_model_output("compare prices</think><tool_call>{\"name\":\"book\",\"arguments\":{\"id\":\"F1\"}}</tool_call>");
  CHECK(opened.reasoning == "compare prices");
  REQUIRE(opened.tool_calls.size() == 1);
  CHECK(opened.tool_calls[0].name == "book");

  auto cut = parse_model_output("<think>still thinking when max_tokens hit");
  CHECK(cut.reasoning == "still thinking when max_tokens hit");
  CHECK(cut.content.empty());
  CHECK(cut.tool_calls.empty());
}

TEST_CASE("tool call parser: broken Hermes blocks become text with a problem") {
  auto bad_json = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {</tool_call>");
  CHECK(bad_json.tool_calls.empty());
  CHECK(bad_json.content == "<tool_call>{\"name\": \"a\", \"arguments\": {</tool_call>");
  REQUIRE(bad_json.problems.size() == 1);
  CHECK(bad_json.problems[0].find("<tool_call> block 1") != std::string::npos);

  auto no_name = parse_model_output("<tool_call>{\"arguments\": {}}</tool_call>");
  CHECK(no_name.tool_calls.empty());
  CHECK(no_name.problems.at(0).find("'name'") != std::string::npos);

  auto bad_args = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": [1,2]}</tool_call>");
  CHECK(bad_args.tool_calls.empty());
  CHECK(bad_args.problems.size() == 1);

  auto args_string_broken = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": \"{oops\"}</tool_call>");
  CHECK(args_string_broken.tool_calls.empty());
  CHECK(args_string_broken.problems.size() == 1);

  // One good block, one broken: the good call is kept.
  auto mixed = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>nonsense</tool_call>");
  CHECK(mixed.tool_calls.size() == 1);
  CHECK(mixed.content == "<tool_call>nonsense</tool_call>");

  // Stopped before the closing tag (end of turn): still a call.
  auto unclosed = parse_model_output("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"k\": true}}\n");
  REQUIRE(unclosed.tool_calls.size() == 1);
  CHECK(unclosed.tool_calls[0].arguments.at("k") == true);

  // Truncated inside the block: text, not a call.
  auto truncated = parse_model_output("<tool_call>\n{\"name\": \"a\", \"argu");
  CHECK(truncated.tool_calls.empty());
  CHECK(truncated.problems.size() == 1);
}

TEST_CASE("tool call parser: Llama 3 JSON calls") {
  const std::vector<std::string> tools{"search_flights", "search_hotels"};
  auto one = parse_model_output("{\"name\": \"search_flights\", \"parameters\": {\"from\": \"BOS\"}}", tool_call_syntax::automatic, tools);
  REQUIRE(one.tool_calls.size() == 1);
  CHECK(one.tool_calls[0].arguments.at("from") == "BOS");
  CHECK(one.content.empty());

  auto tagged = parse_model_output("<|python_tag|>{\"type\": \"function\", \"name\": \"search_hotels\", \"parameters\": {\"city\": \"Rio\"}}",
                                   tool_call_syntax::llama3_json, tools);
  REQUIRE(tagged.tool_calls.size() == 1);
  CHECK(tagged.tool_calls[0].name == "search_hotels");

  auto several = parse_model_output(
      "{\"name\": \"search_flights\", \"parameters\": {\"note\": \"a;b\\n\"}}; {\"name\": \"search_hotels\", \"arguments\": {}}",
      tool_call_syntax::llama3_json, tools);
  REQUIRE(several.tool_calls.size() == 2);
  CHECK(several.tool_calls[0].arguments.at("note") == "a;b\n");

  auto list = parse_model_output("[{\"name\": \"search_flights\", \"parameters\": {}}, {\"name\": \"search_hotels\", \"parameters\": {}}]",
                                 tool_call_syntax::llama3_json, tools);
  CHECK(list.tool_calls.size() == 2);
}

TEST_CASE("tool call parser: JSON answers are not mistaken for calls") {
  const std::vector<std::string> tools{"search_flights"};
  // A structured answer (a plan) with other keys.
  auto plan = parse_model_output("{\"steps\": [{\"name\": \"search\"}]}", tool_call_syntax::automatic, tools);
  CHECK(plan.tool_calls.empty());
  CHECK(plan.content == "{\"steps\": [{\"name\": \"search\"}]}");
  // Right shape, unknown tool name.
  auto unknown = parse_model_output("{\"name\": \"rm_rf\", \"parameters\": {}}", tool_call_syntax::automatic, tools);
  CHECK(unknown.tool_calls.empty());
  CHECK(!unknown.content.empty());
  // Plain prose.
  auto prose = parse_model_output("  The cheapest flight is F12.  ");
  CHECK(prose.content == "The cheapest flight is F12.");
  CHECK(prose.tool_calls.empty());
  CHECK(prose.problems.empty());
  // Syntax none never extracts calls.
  auto none = parse_model_output("<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>", tool_call_syntax::none);
  CHECK(none.tool_calls.empty());
  // Garbage of all kinds never crashes.
  for (std::string_view s : {"", "<tool_call>", "</tool_call>", "<think>", "</think>", "{", "[", "<|python_tag|>", "{;}", "]]]}}}",
                             "<tool_call><tool_call></tool_call>", "\"\\"})
    (void)parse_model_output(s);
}
