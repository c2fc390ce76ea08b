// tern.json: Lua tables <-> JSON, with errors that name the path.
#include "lua_test_support.hpp"

#include <catch2/catch.hpp>

using tern::test::run_lua;

TEST_CASE("json: decode then encode round-trips documents") {
  const char* docs[] = {
      R"({"a":1,"b":[true,false,null],"c":{"d":"é ✓","e":-2.5},"f":[],"g":{}})",
      R"([1,2,3])",
      R"("just a string")",
      R"(9007199254740993)",
      R"({"nested":[[[{"x":[1,[2,[3]]]}]]]})",
      R"({"unicode":"\u00e9\ud83d\ude00","esc":"line\nbreak \"quoted\""})",
  };
  for (const char* doc : docs) {
    INFO(doc);
    tern::scripting::script_options opts;
    opts.args = {doc};
    auto out = run_lua("return tern.json.encode(tern.json.decode(tern.args[1]))", opts);
    REQUIRE(out.ok());
    CHECK(boost::json::parse(out.json().as_string()) == boost::json::parse(doc));
  }
}

TEST_CASE("json: Lua values map to JSON as documented") {
  auto out = run_lua(R"(
    local j = tern.json
    return {
      j.encode({ b = 2, a = 1, c = { 3, 4 } }),
      j.encode({}),
      j.encode(j.array({})),
      j.encode({ 1.0, 2.5, 10 // 3, 2^53 }),
      j.encode(j.null),
      j.encode(nil),
      j.encode({ x = j.null }),
      j.decode('null') == j.null,
      #j.decode('[1, 2, 3]'),
      j.decode('{"k": [10, 20]}').k[2],
    }
  )");
  REQUIRE(out.ok());
  const auto& a = out.json().as_array();
  CHECK(a[0] == R"({"a":1,"b":2,"c":[3,4]})");  // keys sorted: deterministic output
  CHECK(a[1] == "{}");
  CHECK(a[2] == "[]");
  CHECK(a[3] == "[1,2.5,3,9007199254740992]");
  CHECK(a[4] == "null");
  CHECK(a[5] == "null");
  CHECK(a[6] == R"({"x":null})");
  CHECK(a[7] == true);
  CHECK(a[8] == 3);
  CHECK(a[9] == 20);
}

TEST_CASE("json: values without a JSON form are errors naming the path") {
  struct bad {
    const char* code;
    const char* expected;
  };
  const bad cases[] = {
      {"tern.json.encode({ a = { b = { print } } })", "tern.json.encode: at /a/b/0: cannot encode a function"},
      {"tern.json.encode({ 1, 2, nil, 4 })", "at the top level: sparse array"},
      {"tern.json.encode({ list = { [1] = 1, x = 2 } })", "at /list: table mixes integer and string keys"},
      {"tern.json.encode({ [true] = 1 })", "a table key of type boolean has no JSON form"},
      {"tern.json.encode({ v = 0/0 })", "at /v: NaN and infinities have no JSON form"},
      {"tern.json.encode({ s = '\\255' })", "at /s: string is not valid UTF-8"},
      {"local t = {} t.self = t return tern.json.encode(t)", "nesting deeper than 256 levels"},
      {"tern.json.decode('{\"a\": [1, 2,, 3]}')", "tern.json.decode: byte"},
      {"tern.json.decode('{\"a\": 1} trailing')", "tern.json.decode:"},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    auto out = run_lua(c.code);
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.message(), Catch::Contains(c.expected));
    CHECK_THAT(out.message(), Catch::StartsWith("inline.lua:1:"));
  }
}

TEST_CASE("json: a script's return value comes back to C++ as JSON") {
  auto out = run_lua("return { name = 'trip', legs = { { from = 'PAR', to = 'NYC', price = 420.5 } }, ok = true }");
  REQUIRE(out.ok());
  CHECK(out.json() == boost::json::parse(R"({"name":"trip","legs":[{"from":"PAR","to":"NYC","price":420.5}],"ok":true})"));
  auto none = run_lua("local x = 1");
  REQUIRE(none.ok());
  CHECK(none.json().is_null());
  auto fn = run_lua("return print");
  REQUIRE_FALSE(fn.ok());
  CHECK_THAT(fn.message(), Catch::Contains("the script's return value: at the top level: cannot encode a function"));
}
