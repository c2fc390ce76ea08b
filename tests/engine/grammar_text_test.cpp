// Grammar text (GBNF-like) and the regex subset used by `pattern`.
#include <tern/engine/grammar.hpp>

#include <catch2/catch.hpp>

using tern::engine::compile_grammar_text;
using tern::engine::compile_json_schema;

TEST_CASE("grammar text: arithmetic with recursion, classes and repetition") {
  auto g = compile_grammar_text(R"G(
# integers with + - and parentheses
root   ::= expr
expr   ::= term (("+" | "-") term)*
term   ::= [0-9]+ | "(" expr ")"
)G");
  REQUIRE(g);
  for (const char* ok : {"1", "12+3", "(1-2)+((3))", "007"}) CHECK((*g)->matches(ok));
  for (const char* bad : {"", "+1", "(1", "1+", "a"}) CHECK_FALSE((*g)->matches(bad));
  CHECK((*g)->matches_prefix("(1+"));
  CHECK_FALSE((*g)->matches_prefix("1)"));
}

TEST_CASE("grammar text: literals with escapes, negated classes, bounded repeats, any char") {
  auto g = compile_grammar_text(
      "root ::= \"say \\\"\" word{1,3} \"\\\"\\n\"\n"
      "word ::= [^\"\\n ]+ \" \"?\n");
  REQUIRE(g);
  CHECK((*g)->matches("say \"hi there\"\n"));
  CHECK((*g)->matches("say \"été\"\n"));
  CHECK_FALSE((*g)->matches("say \"a b c d\"\n"));
  auto any = compile_grammar_text("root ::= \"<\" . . \">\"");
  REQUIRE(any);
  CHECK((*any)->matches("<é!>"));
  CHECK_FALSE((*any)->matches("<é>"));
}

TEST_CASE("grammar text: alternatives continue on the next line") {
  auto g = compile_grammar_text("root ::= \"a\"\n  | \"b\"\nother ::= \"c\"\n");
  REQUIRE(g);
  CHECK((*g)->matches("a"));
  CHECK((*g)->matches("b"));
  CHECK_FALSE((*g)->matches("c"));
}

TEST_CASE("grammar text: errors name the place") {
  auto missing = compile_grammar_text("root ::= thing");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().describe(), Catch::Contains("thing"));
  auto no_root = compile_grammar_text("start ::= \"a\"");
  REQUIRE_FALSE(no_root);
  CHECK_THAT(no_root.error().describe(), Catch::Contains("root"));
  auto left = compile_grammar_text("root ::= root \"a\" | \"a\"");
  REQUIRE_FALSE(left);
  CHECK_THAT(left.error().describe(), Catch::Contains("left-recursive"));
  auto syntax = compile_grammar_text("root ::= \"a\"\nx ::= [abc");
  REQUIRE_FALSE(syntax);
  CHECK_THAT(syntax.error().describe(), Catch::Contains("line 2:"));
  CHECK_FALSE(compile_grammar_text(""));
  CHECK_FALSE(compile_grammar_text("root ::= \"unterminated"));
}

TEST_CASE("regex: pattern subset and its errors") {
  auto g = compile_json_schema(R"({"type":"string","pattern":"^(?:[α-ω]{2}|x\\.y|\\d+(,\\d{3})*)$"})");
  REQUIRE(g);
  for (const char* ok : {"\"αβ\"", "\"x.y\"", "\"1,000\"", "\"12\""}) CHECK((*g)->matches(ok));
  for (const char* bad : {"\"αβγ\"", "\"xzy\"", "\"1,00\"", "\"ab\""}) CHECK_FALSE((*g)->matches(bad));
  auto ws = compile_json_schema(R"({"type":"string","pattern":"^\\S+\\s\\w$"})");
  REQUIRE(ws);
  CHECK((*ws)->matches("\"ab\\tc\""));  // \s matches a tab, written escaped in JSON
  CHECK_FALSE((*ws)->matches("\"ab  c\""));
  for (const char* bad : {"(a)\\1", "a(?!b)", "\\bword", "\\p{L}", "a{2,1}", "(ab", "a**"}) {
    std::string schema = std::string(R"({"type":"string","pattern":")") + bad + "\"}";
    for (size_t i = schema.find('\\'); i != std::string::npos; i = schema.find('\\', i + 2)) schema.insert(i, "\\");
    auto r = compile_json_schema(schema);
    INFO(schema);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().describe(), Catch::Contains("pattern"));
  }
}
