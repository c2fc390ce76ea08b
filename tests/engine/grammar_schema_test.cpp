// JSON Schema -> grammar, checked at the byte level on documents.
#include <tern/engine/grammar.hpp>

#include <catch2/catch.hpp>

using tern::engine::compile_json_schema;

namespace {

std::shared_ptr<const tern::engine::grammar> must(std::string_view schema, bool ws = false) {
  auto g = compile_json_schema(schema, {.free_whitespace = ws});
  INFO(schema);
  if (!g) FAIL(g.error().to_string());
  return *g;
}

struct row {
  const char* doc;
  bool ok;
};

void check(std::string_view schema, std::initializer_list<row> rows, bool ws = false) {
  auto g = must(schema, ws);
  for (const auto& r : rows) {
    INFO(schema << "  doc: " << r.doc);
    CHECK(g->matches(r.doc) == r.ok);
  }
}

}  // namespace

TEST_CASE("schema: scalar types") {
  check(R"({"type":"string"})", {{R"("")", true}, {R"("a\"b\\c\n\u0001")", true}, {R"("é😀")", true}, {"1", false},
                                 {R"("a)", false}, {"\"a\nb\"", false}});
  check(R"({"type":"integer"})", {{"0", true}, {"-12", true}, {"012", false}, {"1.5", false}, {"-", false}});
  check(R"({"type":"number"})", {{"0", true}, {"-1.5e+10", true}, {"1.", false}, {".5", false}, {"2.5E0", true}});
  check(R"({"type":"boolean"})", {{"true", true}, {"false", true}, {"null", false}});
  check(R"({"type":["null","integer"]})", {{"null", true}, {"3", true}, {"\"3\"", false}});
}

TEST_CASE("schema: integer and number bounds") {
  check(R"({"type":"integer","minimum":-5,"maximum":120})",
        {{"-5", true}, {"-6", false}, {"0", true}, {"99", true}, {"120", true}, {"121", false}, {"1000", false}});
  check(R"({"type":"integer","exclusiveMinimum":0})", {{"0", false}, {"1", true}, {"-1", false}, {"123456789", true}});
  check(R"({"type":"number","minimum":0,"maximum":1})",
        {{"0", true}, {"0.5", true}, {"1", true}, {"1.0", true}, {"1.01", false}, {"-0.1", false}, {"2", false}});
  check(R"({"type":"number","exclusiveMaximum":10,"minimum":-2})",
        {{"9.999", true}, {"10", false}, {"-2", true}, {"-2.5", false}, {"-1.5", true}});
  CHECK_FALSE(compile_json_schema(R"({"type":"number","minimum":0.5})"));
}

TEST_CASE("schema: strings with length, pattern and format") {
  check(R"({"type":"string","minLength":2,"maxLength":3})",
        {{R"("ab")", true}, {R"("abc")", true}, {R"("a")", false}, {R"("abcd")", false}, {R"("éé")", true}});
  check(R"({"type":"string","pattern":"^[a-z]+\\d{2}$"})", {{R"("ab12")", true}, {R"("ab1")", false}, {R"("Ab12")", false}});
  check(R"({"type":"string","pattern":"b+"})", {{R"("abba")", true}, {R"("ac")", false}});
  check(R"({"type":"string","format":"date"})", {{R"("2024-02-29")", true}, {R"("2024-13-01")", false}});
  check(R"({"type":"string","format":"date-time"})",
        {{R"("2024-02-29T10:20:30Z")", true}, {R"("2024-02-29T10:20:30.5+01:00")", true}, {R"("2024-02-29 10:20")", false}});
  check(R"({"type":"string","format":"uuid"})",
        {{R"("123e4567-e89b-12d3-a456-426614174000")", true}, {R"("123e4567")", false}});
  check(R"({"type":"string","format":"email"})", {{R"("a.b@example.com")", true}, {R"("nope")", false}});
  check(R"({"type":"string","pattern":"^a\"b$"})", {{R"("a\"b")", true}});
}

TEST_CASE("schema: objects keep schema order, optional and additional properties") {
  const char* s = R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                      "required":["b"],"additionalProperties":false})";
  check(s, {{R"({"b":"x"})", true},
            {R"({"a":1,"b":"x"})", true},
            {R"({"a":1})", false},
            {R"({"b":"x","c":1})", false},
            {R"({"a":"1","b":"x"})", false},
            {R"({})", false}});
  const char* open = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  check(open, {{R"({})", true}, {R"({"a":1,"z":[1,{"q":null}]})", true}, {R"({"z":true})", true},
               {R"({"z":1,"a":"str"})", false}});
  check(R"({"type":"object","additionalProperties":{"type":"integer"}})",
        {{R"({"x":1,"y":2})", true}, {R"({"x":"1"})", false}});
}

TEST_CASE("schema: arrays with items and bounds") {
  check(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})",
        {{"[1]", true}, {"[1,2,3]", true}, {"[]", false}, {"[1,2,3,4]", false}, {"[1,\"a\"]", false}});
  check(R"({"type":"array","items":{"type":"string"}})", {{"[]", true}, {R"(["a","b","c","d","e"])", true}});
  check(R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false})",
        {{R"([1,"a"])", true}, {R"([1])", true}, {R"([1,"a",2])", false}});
}

TEST_CASE("schema: enum, const, anyOf, allOf, refs") {
  check(R"({"enum":["red","green",3,null,{"a":[1]}]})",
        {{R"("red")", true}, {"3", true}, {"null", true}, {R"({"a":[1]})", true}, {R"("blue")", false}});
  check(R"({"const":"x"})", {{R"("x")", true}, {R"("y")", false}});
  check(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})",
        {{"1", true}, {R"("a")", true}, {R"("ab")", false}});
  check(R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}}},{"required":["a"]}]})",
        {{R"({"a":1})", true}, {R"({})", false}});
  const char* tree = R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
      "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"],"additionalProperties":false}},
      "$ref":"#/$defs/node"})";
  check(tree, {{R"({"v":1})", true}, {R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]})", true},
               {R"({"v":1,"kids":[{"kids":[]}]})", false}});
}

TEST_CASE("schema: free whitespace is a setting") {
  const char* s = R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}})";
  check(s, {{R"({"a":[1,2]})", true}, {R"({ "a" : [ 1 , 2 ] })", false}});
  check(s, {{R"({"a":[1,2]})", true}, {"{ \"a\" : [ 1 ,\n 2 ] }", true}, {R"({ "a" : [ 1 , , 2 ] })", false}}, true);
}

TEST_CASE("schema: unsupported keywords are errors naming keyword and pointer") {
  auto g = compile_json_schema(R"({"type":"object","properties":{"x":{"type":"array","uniqueItems":true}}})");
  REQUIRE_FALSE(g);
  CHECK_THAT(g.error().describe(), Catch::Contains("uniqueItems") && Catch::Contains("/properties/x"));
  auto p = compile_json_schema(R"({"type":"string","pattern":"(?=a)b"})");
  REQUIRE_FALSE(p);
  CHECK_THAT(p.error().describe(), Catch::Contains("pattern") && Catch::Contains("lookaround"));
  auto f = compile_json_schema(R"({"type":"string","format":"idn-hostname"})");  // standard, not implemented
  REQUIRE_FALSE(f);
  CHECK_THAT(f.error().describe(), Catch::Contains("idn-hostname"));
  auto r = compile_json_schema(R"({"$ref":"other.json#/x"})");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().describe(), Catch::Contains("$ref"));
  CHECK_FALSE(compile_json_schema(R"({"not":{"type":"string"}})"));
  CHECK_FALSE(compile_json_schema("false"));  // admits nothing: refused
  CHECK_FALSE(compile_json_schema("{bad json"));
}

TEST_CASE("schema: canonical_json matches what the grammar expects") {
  auto c = tern::engine::canonical_json(R"({"a": 2.5, "b": [1.0, 1e20, -0.25], "c": "é\n"})");
  REQUIRE(c);
  CHECK(*c == "{\"a\":2.5,\"b\":[1,1e+20,-0.25],\"c\":\"é\\n\"}");
}

TEST_CASE("schema: oneOf compiles only when its branches exclude each other") {
  check(R"({"oneOf":[{"type":"string"},{"type":"integer"}]})", {{R"("a")", true}, {"1", true}, {"null", false}});
  check(R"({"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind"]},
                     {"type":"object","properties":{"kind":{"const":"b"},"y":{"type":"string"}},"required":["kind"]}]})",
        {{R"({"kind":"a","x":1})", true}, {R"({"kind":"b","y":"s"})", true}, {R"({"kind":"c"})", false}});
  auto overlap = compile_json_schema(R"({"type":"object","oneOf":[{"required":["a"]},{"required":["b"]}]})");
  REQUIRE_FALSE(overlap);
  CHECK_THAT(overlap.error().describe(), Catch::Contains("oneOf"));
}

TEST_CASE("schema: patternProperties route keys to their schemas") {
  check(R"({"type":"object","properties":{"id":{"type":"integer"}},
            "patternProperties":{"^x-":{"type":"string"},"^n_":{"type":"number"}},"additionalProperties":false})",
        {{R"({"id":1,"x-a":"s","n_b":2.5})", true},
         {R"({"x-a":1})", false},
         {R"({"other":1})", false},
         {R"({"n_b":"s"})", false}});
  check(R"({"type":"object","patternProperties":{"^[a-z]+$":{"type":"integer"}}})",
        {{R"({"abc":1,"ABC":"free"})", true}, {R"({"abc":"no"})", false}});
  auto overlap = compile_json_schema(R"({"type":"object","patternProperties":{"^a":{},"b$":{}}})");
  REQUIRE_FALSE(overlap);
  CHECK_THAT(overlap.error().describe(), Catch::Contains("patternProperties"));
}

TEST_CASE("schema: standard formats are asserted or refused, other names are annotations") {
  check(R"({"type":"string","format":"my-custom-thing"})", {{R"("anything")", true}});
  check(R"({"type":"string","format":"uri-reference"})", {{R"("../a/b?c=d")", true}, {R"("a b")", false}});
  auto r = compile_json_schema(R"({"type":"string","format":"ipv6"})");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().describe(), Catch::Contains("ipv6"));
}
