#include <tern/core/json.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <limits>

using tern::errc;
namespace json = tern::json;

TEST_CASE("json: parse then serialize round-trips values of every type") {
  const std::string text =
      R"({"a":1,"b":-2,"c":18446744073709551615,"d":1.5,"e":"héllo ✈ \"q\"","f":[true,false,null],"g":{}})";
  auto doc = json::parse(text);
  REQUIRE(doc);
  const auto& obj = doc->as_object();
  CHECK(obj.at("a").as_int64() == 1);
  CHECK(obj.at("b").as_int64() == -2);
  CHECK(obj.at("c").as_uint64() == 18446744073709551615ull);
  CHECK(obj.at("d").as_double() == 1.5);
  CHECK(obj.at("e").as_string() == "héllo ✈ \"q\"");
  CHECK(obj.at("f").as_array().size() == 3);
  CHECK(obj.at("f").as_array()[2].is_null());
  CHECK(obj.at("g").as_object().empty());

  // Serialising keeps UTF-8 as is, and parsing that again gives an equal value.
  const std::string out = json::serialize(*doc);
  CHECK(out.find("héllo ✈") != std::string::npos);
  auto again = json::parse(out);
  REQUIRE(again);
  CHECK(*again == *doc);
}

TEST_CASE("json: scalars and nested documents parse at top level") {
  CHECK(json::parse("42")->as_int64() == 42);
  CHECK(json::parse(" \"x\" ")->as_string() == "x");
  CHECK(json::parse("null")->is_null());
  CHECK(json::parse("[[[]]]")->as_array()[0].as_array()[0].as_array().empty());
  // Beyond 64-bit integers become doubles rather than errors.
  auto big = json::parse("123456789012345678901234567890");
  REQUIRE(big);
  CHECK(big->is_double());
}

TEST_CASE("json: invalid input is a parse_error naming byte, line and column") {
  struct bad_case {
    std::string text;
    std::string where;  // expected position text
  };
  const bad_case cases[] = {
      {"{\"a\":1,\n \"b\": tru}", "line 2"},
      {"[1,2", "byte"},
      {"{\"a\":1} extra", "byte 8 (line 1, column 9)"},
      {"", "byte 0"},
      {"{\"a\" 1}", "byte"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto doc = json::parse(c.text);
    REQUIRE_FALSE(doc);
    CHECK(doc.error().code() == errc::parse_error);
    CHECK_THAT(doc.error().describe(), Catch::Contains(c.where));
  }
}

TEST_CASE("json: invalid UTF-8 is rejected") {
  auto doc = json::parse("\"\xff\xfe\"");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().code() == errc::parse_error);
}

TEST_CASE("json: limits refuse oversized and overly deep input") {
  json::parse_limits limits;
  limits.max_bytes = 8;
  auto big = json::parse("[1,2,3,4,5,6]", limits);
  REQUIRE_FALSE(big);
  CHECK(big.error().code() == errc::limit_exceeded);

  limits = {};
  limits.max_depth = 3;
  CHECK(json::parse("[[[1]]]", limits));
  auto deep = json::parse("[[[[1]]]]", limits);
  REQUIRE_FALSE(deep);
  CHECK_THAT(deep.error().message(), Catch::Contains("deeper than 3"));
}

TEST_CASE("json: pointers escape ~ and / (RFC 6901)") {
  CHECK(json::append_pointer("", "a") == "/a");
  CHECK(json::append_pointer("/a", "b/c~d") == "/a/b~1c~0d");
  CHECK(json::append_pointer("/items", std::size_t{3}) == "/items/3");
}

TEST_CASE("json: describe_offset counts lines and columns from 1") {
  CHECK(json::describe_offset("ab\ncd", 4) == "byte 4 (line 2, column 2)");
  CHECK(json::describe_offset("ab", 99) == "byte 2 (line 1, column 3)");
}

TEST_CASE("json: doubles serialise in short round-trip form, not exponent form") {
  boost::json::value v = {{"a", 8.0}, {"b", 8.1}, {"c", 1e300}, {"d", -0.5}, {"e", 0.1 + 0.2}, {"f", 7}};
  const auto text = json::serialize(v);
  CHECK(text == R"({"a":8.0,"b":8.1,"c":1e+300,"d":-0.5,"e":0.30000000000000004,"f":7})");
  auto back = json::parse(text);
  REQUIRE(back);
  CHECK(*back == v);  // doubles stay doubles, ints stay ints
  CHECK(json::serialize(boost::json::value(std::numeric_limits<double>::quiet_NaN())) == "null");
  CHECK(json::serialize(boost::json::value("tab\there \"q\" é")) == R"("tab\there \"q\" é")");
}

TEST_CASE("json: decimals with more than 19 significant digits keep their value") {
  // simdjson 3.0.1's get_number() returns 0 for these; a model writes them freely.
  auto doc = json::parse(R"({"a":54.706713700430321889111722100115430591893526756266,"b":-1.00000000000000000001e2})");
  REQUIRE(doc);
  CHECK(doc->as_object().at("a").as_double() == Approx(54.7067137004303));
  CHECK(doc->as_object().at("b").as_double() == Approx(-100.0));
  auto top = json::parse("0.12345678901234567890123");
  REQUIRE(top);
  CHECK(top->as_double() == Approx(0.123456789012345678));
}
