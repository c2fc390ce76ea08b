// JSON Schema -> grammar, checked at the byte level on documents.
#include <tern/engine/grammar.hpp>

#include "../../engine/src/grammar/schema_validate.hpp"

#include <tern/core/json.hpp>

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

// ---- enum/const nodes checked by the instance validator ----------------------

TEST_CASE("schema: enum and const values are filtered by every other keyword of the node") {
  // Before, sibling keywords of an enum were ignored: "ccc" was accepted.
  check(R"({"enum":["a","bb","ccc"],"maxLength":2})", {{R"("a")", true}, {R"("bb")", true}, {R"("ccc")", false}});
  check(R"({"allOf":[{"enum":[1,2,3,4]},{"not":{"enum":[2]}}]})",
        {{"1", true}, {"2", false}, {"3", true}, {"4", true}, {"5", false}});
  check(R"({"enum":[{"a":1},{"a":1,"b":2},{"b":3}],"dependencies":{"b":["a"]}})",
        {{R"({"a":1})", true}, {R"({"a":1,"b":2})", true}, {R"({"b":3})", false}});
  // oneOf: exactly one branch (4 matches both, so it is out)
  check(R"({"enum":[4,-4,2.5,"x"],"oneOf":[{"type":"integer"},{"minimum":0}]})",
        {{"4", false}, {"-4", true}, {"2.5", true}, {R"("x")", true}});
  check(R"({"enum":[3,6,7.5,9],"multipleOf":3})", {{"3", true}, {"6", true}, {"7.5", false}, {"9", true}});
  check(R"({"enum":[[1,2],[1,1],[]],"uniqueItems":true})", {{"[1,2]", true}, {"[1,1]", false}, {"[]", true}});
  check(R"({"enum":[{"k":"a","v":1},{"k":"b","v":"s"},{"k":"a","v":"s"}],
            "if":{"properties":{"k":{"const":"a"}}},"then":{"properties":{"v":{"type":"integer"}}},
            "else":{"properties":{"v":{"type":"string"}}}})",
        {{R"({"k":"a","v":1})", true}, {R"({"k":"b","v":"s"})", true}, {R"({"k":"a","v":"s"})", false}});
  check(R"({"enum":[{"ab":1},{"x":1},{}],"propertyNames":{"pattern":"^a"},"minProperties":1})",
        {{R"({"ab":1})", true}, {R"({"x":1})", false}, {"{}", false}});
  CHECK_FALSE(compile_json_schema(R"({"const":"2024-02-30","format":"date"})"));  // admits nothing
  check(R"({"enum":["2024-02-28","2024-02-30"],"format":"date"})",
        {{R"("2024-02-28")", true}, {R"("2024-02-30")", false}});
  // numbers compare by value, objects regardless of member order
  check(R"({"enum":[1,2],"not":{"const":1.0}})", {{"1", false}, {"2", true}});
  check(R"({"enum":[{"a":1,"b":2},{"a":2}],"not":{"enum":[{"b":2,"a":1}]}})",
        {{R"({"a":1,"b":2})", false}, {R"({"a":2})", true}});
  // references inside the checked keywords resolve against the root
  check(R"({"$defs":{"s":{"type":"string"}},"enum":["a",1],"not":{"$ref":"#/$defs/s"}})", {{"1", true}, {R"("a")", false}});
  // the same value twice is one alternative
  check(R"({"enum":["a","a"]})", {{R"("a")", true}});
}

TEST_CASE("schema: allOf conflicts are exact on enum nodes and refused elsewhere") {
  check(R"({"allOf":[{"enum":[1,2,3],"not":{"const":1}},{"not":{"const":3}}]})", {{"1", false}, {"2", true}, {"3", false}});
  check(R"({"allOf":[{"enum":["ab","b","a"],"pattern":"a"},{"pattern":"b"}]})",
        {{R"("ab")", true}, {R"("a")", false}, {R"("b")", false}});
  auto g = compile_json_schema(R"({"type":"string","allOf":[{"pattern":"a"},{"pattern":"b"}]})");
  REQUIRE_FALSE(g);
  CHECK_THAT(g.error().describe(), Catch::Contains("allOf") && Catch::Contains("'pattern'"));
  auto n = compile_json_schema(R"({"properties":{"p":{"allOf":[{"not":{"type":"null"}},{"not":{"type":"string"}}]}}})");
  REQUIRE_FALSE(n);
  CHECK_THAT(n.error().describe(), Catch::Contains("'not'") && Catch::Contains("/properties/p"));
}

TEST_CASE("schema: what the validator cannot check on an enum node is an error") {
  auto f = compile_json_schema(R"({"enum":["a@b.c"],"format":"idn-email"})");
  REQUIRE_FALSE(f);
  CHECK_THAT(f.error().describe(), Catch::Contains("idn-email"));
  auto u = compile_json_schema(R"({"properties":{"e":{"enum":[{"a":1}],"unevaluatedProperties":false}}})");
  REQUIRE_FALSE(u);
  CHECK_THAT(u.error().describe(), Catch::Contains("unevaluatedProperties") && Catch::Contains("/properties/e"));
  auto p = compile_json_schema(R"j({"enum":["a"],"pattern":"(?=a)"})j");
  REQUIRE_FALSE(p);
  CHECK_THAT(p.error().describe(), Catch::Contains("lookaround"));
  auto r = compile_json_schema(R"({"enum":[1],"not":{"$ref":"http://x/y.json"}})");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().describe(), Catch::Contains("$ref"));
  // a reference cycle that never consumes the instance ends in an error, not a hang
  auto c = compile_json_schema(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"not":{"$ref":"#/$defs/a"}}},
                                   "enum":[1],"not":{"$ref":"#/$defs/a"}})");
  REQUIRE_FALSE(c);
  CHECK_THAT(c.error().describe(), Catch::Contains("$ref"));
  // every candidate rejected: the schema admits nothing, which is refused
  CHECK_FALSE(compile_json_schema(R"({"enum":[1,2],"minimum":5})"));
}

TEST_CASE("schema: validator and grammar agree on schemas both handle (brute force)") {
  using tern::engine::grammar_detail::instance_validator;
  const char* schemas[] = {
      R"({"type":"integer","minimum":-3,"exclusiveMaximum":7})",
      R"({"type":"number","minimum":0,"maximum":2})",
      R"({"type":"string","minLength":1,"maxLength":3,"pattern":"^[a-c]+$"})",
      R"({"type":"string","format":"date"})",
      R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2})",
      R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"],
          "additionalProperties":false})",
      R"({"anyOf":[{"type":"null"},{"type":"boolean"}]})",
      R"({"type":["string","integer"],"maxLength":1,"maximum":3})",
  };
  const char* values[] = {"null", "true", "false", "0", "-3", "-4", "6", "7", "1.5", "2", "2.5", "-0.5",
                          R"("")", R"("a")", R"("abc")", R"("abcd")", R"("abd")", R"("é")", R"("2024-02-29")",
                          R"("2024-04-31")", "[]", "[1]", "[1,2]", "[1,2,3]", "[\"x\"]", "{}", R"({"a":1})",
                          R"({"a":1,"b":"x"})", R"({"b":"x"})", R"({"a":1,"c":2})", R"({"a":"1"})"};
  for (const char* s : schemas) {
    auto schema = tern::json::parse(s);
    REQUIRE(schema);
    auto g = must(s);
    instance_validator v(*schema);
    for (const char* text : values) {
      auto inst = tern::json::parse(text);
      REQUIRE(inst);
      auto canon = tern::engine::canonical_json(text);
      REQUIRE(canon);
      auto ok = v.valid(*schema, *inst, "");
      REQUIRE(ok);
      INFO(s << "  value: " << text);
      CHECK(*ok == g->matches(*canon));
    }
  }
}

// ---- long strings --------------------------------------------------------------

TEST_CASE("schema: long maxLength/minLength are exact (block chains)") {
  auto str = [](size_t n, const std::string& unit = "a") {
    std::string s = "\"";
    for (size_t i = 0; i < n; ++i) s += unit;
    return s + "\"";
  };
  auto g = must(R"({"type":"string","maxLength":600})");
  for (size_t n : {0, 1, 255, 256, 257, 511, 512, 513, 599, 600}) CHECK(g->matches(str(n)));
  CHECK_FALSE(g->matches(str(601)));
  CHECK_FALSE(g->matches(str(1000)));
  // characters, not bytes: escapes and multi-byte UTF-8 count once
  CHECK(g->matches(str(600, "\\n")));
  CHECK(g->matches(str(600, "é")));
  CHECK(g->matches(str(300, "😀") .insert(1, std::string(300, 'b'))));
  CHECK_FALSE(g->matches(str(601, "\\u00e9")));
  auto h = must(R"({"type":"string","minLength":700,"maxLength":768})");
  CHECK_FALSE(h->matches(str(699)));
  for (size_t n : {700, 701, 767, 768}) CHECK(h->matches(str(n)));
  CHECK_FALSE(h->matches(str(769)));
  auto u = must(R"({"type":"string","minLength":1030})");
  CHECK_FALSE(u->matches(str(1029)));
  CHECK(u->matches(str(1030)));
  CHECK(u->matches(str(5000)));
  auto big = must(R"({"type":"string","maxLength":5000})");
  CHECK(big->matches(str(5000)));
  CHECK_FALSE(big->matches(str(5001)));
  CHECK_FALSE(big->matches(R"("a)"));
  // exact block multiples, brute force around every boundary
  auto m = must(R"({"type":"string","minLength":256,"maxLength":1024})");
  for (size_t b : {256, 512, 768, 1024})
    for (size_t n = b - 6; n <= b + 6; ++n) {
      INFO(n);
      CHECK(m->matches(str(n)) == (n >= 256 && n <= 1024));
    }
  auto e = compile_json_schema(R"({"type":"string","maxLength":100000000})");
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().describe(), Catch::Contains("maxLength"));
}

// ---- objects: any order, counts, dependencies ----------------------------------

TEST_CASE("schema: small objects take their properties in any order, each once") {
  const char* s = R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{}},
                      "required":["a","b"]})";
  check(s, {{R"({"a":1,"b":"x"})", true},
            {R"({"b":"x","a":1})", true},
            {R"({"c":null,"b":"x","z":[],"a":1})", true},
            {R"({"b":"x","a":"1"})", false},
            {R"({"b":"x","a":1,"a":2})", false},
            {R"({"b":"x"})", false},
            {R"({"z":1,"b":"x","y":2})", false}});
  // free whitespace too
  check(s, {{R"({ "b" : "x" , "a" : 1 })", true}, {R"({ "b" : "x" })", false}}, true);
  // more than 8 declared properties: schema order (see docs/grammar.md)
  const char* nine = R"({"type":"object","properties":{"p1":{},"p2":{},"p3":{},"p4":{},"p5":{},"p6":{},"p7":{},
                         "p8":{},"p9":{}},"additionalProperties":false})";
  check(nine, {{R"({"p1":1,"p9":9})", true}, {R"({"p9":9,"p1":1})", false}});
}

TEST_CASE("schema: minProperties, maxProperties and dependentRequired on small objects") {
  const char* counted = R"({"type":"object","properties":{"a":{},"b":{}},"minProperties":2,"maxProperties":3})";
  check(counted, {{R"({"a":1})", false}, {R"({"a":1,"b":2})", true}, {R"({"z":1,"a":1})", true},
                  {R"({"z":1,"y":2,"a":1})", true}, {R"({"z":1,"y":2,"a":1,"b":2})", false}, {"{}", false}});
  check(R"({"type":"object","properties":{"a":{}},"additionalProperties":false,"maxProperties":0})",
        {{"{}", true}, {R"({"a":1})", false}});
  const char* deps = R"({"type":"object","properties":{"card":{},"billing":{},"name":{}},
                         "dependencies":{"card":["billing"]},"dependentRequired":{"name":[]}})";
  check(deps, {{R"({"card":1,"billing":2})", true}, {R"({"billing":2})", true}, {R"({"card":1})", false},
               {R"({"name":1,"card":1})", false}});
  auto e1 = compile_json_schema(R"({"type":"object","properties":{"a":{}},"dependencies":{"a":{"required":["b"]}}})");
  REQUIRE_FALSE(e1);
  CHECK_THAT(e1.error().describe(), Catch::Contains("dependencies") && Catch::Contains("/dependencies/a"));
  auto e2 = compile_json_schema(R"({"type":"object","properties":{"a":{}},"dependentRequired":{"a":["zz"]}})");
  REQUIRE_FALSE(e2);
  CHECK_THAT(e2.error().describe(), Catch::Contains("dependentRequired") && Catch::Contains("not declared"));
  auto e3 = compile_json_schema(R"({"type":"object","properties":{"p1":{},"p2":{},"p3":{},"p4":{},"p5":{},"p6":{},
                                    "p7":{},"p8":{},"p9":{}},"minProperties":1})");
  REQUIRE_FALSE(e3);
  CHECK_THAT(e3.error().describe(), Catch::Contains("minProperties"));
  // minProperties/maxProperties apply to objects only
  check(R"({"type":"string","minProperties":3})", {{R"("x")", true}});
}

TEST_CASE("schema: object counts and dependencies agree with the validator (brute force)") {
  using tern::engine::grammar_detail::instance_validator;
  const char* schemas[] = {
      R"({"type":"object","properties":{"a":{},"b":{},"c":{}},"required":["c"],"minProperties":2,"maxProperties":3,
          "dependentRequired":{"a":["b"]}})",
      R"({"type":"object","properties":{"a":{},"b":{}},"additionalProperties":false,"minProperties":1})",
      R"({"type":"object","properties":{"a":{}},"patternProperties":{"^y":{}},"additionalProperties":false,
          "maxProperties":2})",
      R"({"type":"object","properties":{"a":{},"b":{},"c":{}},"dependencies":{"b":["a","c"]},"maxProperties":4})",
  };
  const std::string keys[] = {"a", "b", "c", "y", "z"};
  std::vector<std::vector<int>> seqs = {{}};
  for (size_t len = 1; len <= 5; ++len) {
    std::vector<std::vector<int>> next;
    for (const auto& sq : seqs)
      if (sq.size() == len - 1)
        for (int k = 0; k < 5; ++k)
          if (std::find(sq.begin(), sq.end(), k) == sq.end()) {
            auto t = sq;
            t.push_back(k);
            next.push_back(t);
          }
    seqs.insert(seqs.end(), next.begin(), next.end());
  }
  REQUIRE(seqs.size() == 326);
  for (const char* s : schemas) {
    auto schema = tern::json::parse(s);
    REQUIRE(schema);
    auto g = must(s);
    instance_validator v(*schema);
    for (const auto& sq : seqs) {
      std::string text = "{";
      for (size_t i = 0; i < sq.size(); ++i) text += (i ? ",\"" : "\"") + keys[sq[i]] + "\":" + std::to_string(i);
      text += "}";
      auto inst = tern::json::parse(text);
      REQUIRE(inst);
      auto ok = v.valid(*schema, *inst, "");
      REQUIRE(ok);
      INFO(s << "  value: " << text);
      CHECK(*ok == g->matches(text));
    }
  }
}

TEST_CASE("schema: integer multipleOf (remainder automaton)") {
  auto g = must(R"({"type":"integer","multipleOf":7,"minimum":-30,"maximum":100})");
  for (int v = -60; v <= 150; ++v) {
    INFO(v);
    CHECK(g->matches(std::to_string(v)) == (v % 7 == 0 && v >= -30 && v <= 100));
  }
  CHECK_FALSE(g->matches("007"));
  CHECK_FALSE(g->matches("-0"));
  check(R"({"type":"integer","multipleOf":1})", {{"5", true}, {"-5", true}, {"5.5", false}});
  // a number that is a multiple of an integer is an integer, written without fraction or exponent
  check(R"({"type":"number","multipleOf":1.0})", {{"12", true}, {"0", true}, {"1.5", false}, {"1e3", false}});
  check(R"({"type":"number","multipleOf":25})", {{"100", true}, {"1234567890135", false}, {"1234567890075", true}});
  auto f = compile_json_schema(R"({"type":"number","multipleOf":0.01})");
  REQUIRE_FALSE(f);
  CHECK_THAT(f.error().describe(), Catch::Contains("multipleOf"));
  CHECK_FALSE(compile_json_schema(R"({"type":"integer","multipleOf":0})"));
  CHECK_FALSE(compile_json_schema(R"({"type":"integer","multipleOf":10,"minimum":1,"maximum":9})"));
}
