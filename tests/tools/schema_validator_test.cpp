#include <tern/core/json.hpp>
#include <tern/tools/schema_validator.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

using tern::tools::schema_validator;
namespace bj = boost::json;

namespace {

schema_validator compile(std::string_view text) {
  auto doc = tern::json::parse(text);
  REQUIRE(doc);
  auto v = schema_validator::compile(*doc);
  INFO((v ? std::string() : v.error().to_string()));
  REQUIRE(v);
  return *v;
}

// The violations of instance as "pointer: message" strings.
std::vector<std::string> violations(const schema_validator& v, std::string_view instance) {
  auto doc = tern::json::parse(instance);
  REQUIRE(doc);
  std::vector<std::string> out;
  for (auto& x : v.check(*doc)) out.push_back(x.pointer + ": " + x.message);
  return out;
}

bool valid(const schema_validator& v, std::string_view instance) { return violations(v, instance).empty(); }

}  // namespace

TEST_CASE("schema: types, including lists and integral doubles") {
  auto v = compile(R"({"type":"integer"})");
  CHECK(valid(v, "3"));
  CHECK(valid(v, "3.0"));
  CHECK(valid(v, "-7"));
  CHECK(violations(v, "3.5") == std::vector<std::string>{": expected integer, got number"});
  CHECK(violations(v, R"("3")") == std::vector<std::string>{": expected integer, got string"});

  auto n = compile(R"({"type":["string","null"]})");
  CHECK(valid(n, R"("x")"));
  CHECK(valid(n, "null"));
  CHECK(violations(n, "1") == std::vector<std::string>{": expected string or null, got integer"});

  auto num = compile(R"({"type":"number"})");
  CHECK(valid(num, "1"));
  CHECK(valid(num, "1.5"));
  CHECK_FALSE(valid(num, "true"));
}

TEST_CASE("schema: object keywords name the JSON pointer of each violation") {
  auto v = compile(R"({
    "type":"object",
    "properties":{
      "origin":{"type":"string","minLength":3,"maxLength":3,"pattern":"^[A-Z]+$"},
      "passengers":{"type":"integer","minimum":1,"maximum":9},
      "dates":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2},
      "cabin":{"enum":["economy","business"]},
      "a/b":{"const":true}
    },
    "required":["origin","passengers"],
    "additionalProperties":false
  })");
  CHECK(valid(v, R"({"origin":"LHR","passengers":2,"dates":["2026-01-01"],"cabin":"economy"})"));

  auto errs = violations(v, R"({"origin":"lhr","passengers":0,"dates":["x",1,"y"],"cabin":"first","extra":1,"a/b":false})");
  CHECK(errs == std::vector<std::string>{
                    "/origin: must match the pattern \"^[A-Z]+$\"",
                    "/passengers: must be >= 1",
                    "/dates: must have at most 2 items",
                    "/dates/1: expected string, got integer",
                    "/cabin: must be one of [\"economy\",\"business\"]",
                    "/extra: unexpected property 'extra'",
                    "/a~1b: must be true",
                });
  CHECK(violations(v, "{}") == std::vector<std::string>{": missing required property 'origin'",
                                                         ": missing required property 'passengers'"});
  // minLength counts code points, not bytes.
  auto s = compile(R"({"type":"string","maxLength":2})");
  CHECK(valid(s, R"("é✈")"));
  CHECK_FALSE(valid(s, R"("abc")"));
}

TEST_CASE("schema: additionalProperties as a schema, patternProperties, propertyNames") {
  auto v = compile(R"({"type":"object","properties":{"a":{}},
                       "patternProperties":{"^x-":{"type":"string"}},
                       "additionalProperties":{"type":"integer"},
                       "propertyNames":{"maxLength":5}})");
  CHECK(valid(v, R"({"a":[],"x-1":"s","n":3})"));
  CHECK(violations(v, R"({"x-1":2})") == std::vector<std::string>{"/x-1: expected string, got integer"});
  CHECK(violations(v, R"({"n":"s"})") == std::vector<std::string>{"/n: expected integer, got string"});
  CHECK(violations(v, R"({"toolong":1})") == std::vector<std::string>{"/toolong: property name 'toolong' is not allowed"});
}

TEST_CASE("schema: numbers: exclusive bounds (both drafts) and multipleOf") {
  auto v = compile(R"({"exclusiveMinimum":0,"exclusiveMaximum":10,"multipleOf":0.5})");
  CHECK(valid(v, "0.5"));
  CHECK(valid(v, "9.5"));
  CHECK_FALSE(valid(v, "0"));
  CHECK_FALSE(valid(v, "10"));
  CHECK(violations(v, "1.25") == std::vector<std::string>{": must be a multiple of 0.5"});
  auto d4 = compile(R"({"minimum":1,"exclusiveMinimum":true})");
  CHECK_FALSE(valid(d4, "1"));
  CHECK(valid(d4, "1.1"));
  auto m = compile(R"({"multipleOf":3})");
  CHECK(valid(m, "-9"));
  CHECK_FALSE(valid(m, "10"));
}

TEST_CASE("schema: anyOf, oneOf, allOf, not, if/then/else") {
  auto any = compile(R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":0}]})");
  CHECK(valid(any, R"("x")"));
  CHECK(valid(any, "3"));
  auto e = violations(any, "-1");
  REQUIRE(e.size() == 1);
  CHECK(e[0] == ": matches none of the 2 anyOf schemas (first: (root): expected string, got integer)");

  auto one = compile(R"({"oneOf":[{"type":"integer"},{"type":"number","minimum":2}]})");
  CHECK(valid(one, "1"));
  CHECK(valid(one, "2.5"));
  CHECK(violations(one, "3") == std::vector<std::string>{": matches 2 of the oneOf schemas; exactly one is allowed"});

  auto all = compile(R"({"allOf":[{"type":"string"},{"minLength":2}]})");
  CHECK(valid(all, R"("ab")"));
  CHECK(violations(all, R"("a")") == std::vector<std::string>{": must be at least 2 characters long"});

  auto no = compile(R"({"not":{"type":"null"}})");
  CHECK(valid(no, "1"));
  CHECK_FALSE(valid(no, "null"));

  auto cond = compile(R"({"if":{"properties":{"kind":{"const":"flight"}}},
                          "then":{"required":["origin"]},"else":{"required":["city"]}})");
  CHECK(valid(cond, R"({"kind":"flight","origin":"LHR"})"));
  CHECK_FALSE(valid(cond, R"({"kind":"flight"})"));
  CHECK(valid(cond, R"({"kind":"hotel","city":"Rome"})"));
  CHECK_FALSE(valid(cond, R"({"kind":"hotel"})"));
}

TEST_CASE("schema: $ref into $defs and definitions, recursive schemas, cycles") {
  auto v = compile(R"({"type":"object","properties":{
                         "home":{"$ref":"#/$defs/airport"},
                         "away":{"$ref":"#/definitions/airport"},
                         "tree":{"$ref":"#/$defs/node"}},
                       "$defs":{"airport":{"type":"string","pattern":"^[A-Z]{3}$"},
                                "node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}}}},
                       "definitions":{"airport":{"type":"string","minLength":3}}})");
  CHECK(valid(v, R"({"home":"LHR","away":"Rome","tree":{"kids":[{"kids":[]},{}]}})"));
  CHECK(violations(v, R"({"home":"lhr"})") == std::vector<std::string>{"/home: must match the pattern \"^[A-Z]{3}$\""});
  CHECK(violations(v, R"({"tree":{"kids":[{"kids":[3]}]}})") ==
        std::vector<std::string>{"/tree/kids/0/kids/0: expected object, got integer"});

  // A pure reference cycle is reported, not followed forever.
  auto cyc = compile(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})");
  auto errs = violations(cyc, "1");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("$ref chain too long") != std::string::npos);
}

TEST_CASE("schema: arrays: tuples, uniqueItems, contains") {
  auto t = compile(R"({"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  CHECK(valid(t, R"(["a",1])"));
  CHECK_FALSE(valid(t, R"([1,"a"])"));
  CHECK(violations(t, R"(["a",1,2])") == std::vector<std::string>{": must have at most 2 items"});
  auto u = compile(R"({"uniqueItems":true,"contains":{"const":1}})");
  CHECK(valid(u, "[1,2]"));
  CHECK(violations(u, "[1,1.0]") == std::vector<std::string>{": items 0 and 1 are equal; items must be unique"});
  CHECK(violations(u, "[2]") == std::vector<std::string>{": no item matches the 'contains' schema"});
}

TEST_CASE("schema: OpenAPI nullable and boolean schemas") {
  auto v = compile(R"({"type":"string","nullable":true})");
  CHECK(valid(v, "null"));
  CHECK(valid(v, R"("s")"));
  CHECK_FALSE(valid(v, "1"));
  auto f = compile("false");
  CHECK_FALSE(valid(f, "1"));
  CHECK(valid(compile("true"), "1"));
  CHECK(valid(schema_validator(), R"({"anything":[1]})"));
}

TEST_CASE("schema: malformed schemas are errors that name the schema pointer") {
  auto bad = [](std::string_view text) {
    auto doc = tern::json::parse(text);
    REQUIRE(doc);
    auto v = schema_validator::compile(*doc);
    REQUIRE_FALSE(v);
    return v.error().describe();
  };
  CHECK(bad(R"({"type":"strnig"})") == "schema /type: unknown type 'strnig'");
  CHECK(bad(R"({"properties":{"x":{"pattern":"(["}}})").rfind("schema /properties/x/pattern: invalid pattern '(['", 0) == 0);
  CHECK(bad(R"({"properties":{"x":{"$ref":"#/$defs/missing"}}})") ==
        "schema /properties/x/$ref: $ref '#/$defs/missing' points to nothing in the schema");
  CHECK(bad(R"({"required":"x"})") == "schema /required: must be a list of property names");
  CHECK(bad(R"({"minLength":-1})") == "schema /minLength: must be a non-negative integer");
  CHECK(bad(R"({"items":3})") == "schema /items: a schema must be an object or a boolean, got integer");
  CHECK(bad(R"({"$ref":"http://example.com/s.json"})").find("only references inside the same document") !=
        std::string::npos);
}

TEST_CASE("schema: validate() folds violations into one invalid_argument error") {
  auto v = compile(R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["m"]})");
  auto r = v.validate(*tern::json::parse(R"({"n":"x"})"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == tern::errc::invalid_argument);
  CHECK(r.error().describe() == "arguments: (root): missing required property 'm'; /n: expected integer, got string");
  CHECK(v.validate(*tern::json::parse(R"({"m":1})")));
}

TEST_CASE("schema: violation count is capped and huge strings do not reach std::regex") {
  auto v = compile(R"({"type":"array","items":{"type":"string"}})");
  bj::array many;
  for (int i = 0; i < 100; ++i) many.push_back(i);
  CHECK(v.check(many, 5).size() == 5);
  auto p = compile(R"({"type":"string","pattern":"a"})");
  bj::value big = bj::string(std::string(100000, 'a'));
  auto errs = p.check(big);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message.find("too long to check against a pattern") != std::string::npos);
}
