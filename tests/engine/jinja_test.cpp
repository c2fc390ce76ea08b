// The Jinja interpreter construct by construct. Expected outputs of the
// table-driven cases come from python3-jinja2 configured like transformers
// (tests/data/jinja/constructs.json, written by scripts/gen-template-goldens.py);
// the rest checks errors (with line and column), limits and the sandbox.
#include "fixtures.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/chat_template.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

using tern::engine::chat_template;
using tern::engine::render_options;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

render_options fixed_date() {
  render_options o;
  o.date = tern::engine::calendar_date{2024, 7, 26};
  return o;
}

void check_group(const std::string& group) {
  static const auto doc = tern::json::parse(read_file(tern::test::test_data("jinja/constructs.json")));
  REQUIRE(doc.has_value());
  int n = 0;
  for (const auto& c : doc->at("cases").as_array()) {
    if (c.at("group").as_string() != group) continue;
    ++n;
    const std::string src(c.at("template").as_string());
    INFO("template: " << src);
    auto t = chat_template::parse(src);
    std::string got;
    bool failed = !t;
    std::string why = failed ? t.error().to_string() : "";
    if (t) {
      auto r = t->render(c.at("vars").as_object(), fixed_date());
      failed = !r;
      if (r) got = *r;
      else why = r.error().to_string();
    }
    if (c.as_object().contains("error")) {
      INFO("Jinja2: " << c.at("error").as_string());
      CHECK(failed);
      // A refusal names where: "chat template: line L, column C: ...".
      CHECK_THAT(why, Catch::Contains("line ") && Catch::Contains("column "));
    } else {
      INFO("error: " << why);
      REQUIRE_FALSE(failed);
      CHECK(got == std::string(c.at("expected").as_string()));
    }
  }
  CHECK(n > 0);
}

tern::result<std::string> render(std::string_view src, const boost::json::object& vars = {},
                                  render_options opts = fixed_date()) {
  auto t = chat_template::parse(src);
  if (!t) return std::move(t).error();
  return t->render(vars, opts);
}

}  // namespace

TEST_CASE("jinja: if / elif / else") { check_group("if"); }
TEST_CASE("jinja: for loops, loop.*, loop filters, else, break/continue") { check_group("for"); }
TEST_CASE("jinja: set, tuple set, block set, scoping") { check_group("set"); }
TEST_CASE("jinja: namespace") { check_group("namespace"); }
TEST_CASE("jinja: macro, call blocks, caller") { check_group("macro"); }
TEST_CASE("jinja: whitespace control, trim_blocks, lstrip_blocks, comments, raw") { check_group("whitespace"); }
TEST_CASE("jinja: tests (is defined, is none, is string, ...)") { check_group("tests"); }
TEST_CASE("jinja: operators, precedence, comparisons, in, ~") { check_group("operators"); }
TEST_CASE("jinja: subscripts, slices and attributes") { check_group("subscript"); }
TEST_CASE("jinja: literals and Python str() of values") { check_group("literals"); }
TEST_CASE("jinja: filters") { check_group("filters"); }
TEST_CASE("jinja: tojson as transformers defines it") { check_group("tojson"); }
TEST_CASE("jinja: str, dict and list methods") { check_group("methods"); }
TEST_CASE("jinja: globals (range, dict, strftime_now, raise_exception)") { check_group("globals"); }
TEST_CASE("jinja: with and filter blocks") { check_group("with"); }
TEST_CASE("jinja: unicode strings count code points") { check_group("unicode"); }
TEST_CASE("jinja: undefined values") { check_group("undefined"); }

TEST_CASE("jinja: parse errors name the construct, line and column") {
  auto unclosed = chat_template::parse("line one\n{% if x %}\nno end", "t.jinja");
  REQUIRE_FALSE(unclosed);
  CHECK(unclosed.error().code() == tern::errc::parse_error);
  CHECK_THAT(unclosed.error().describe(), Catch::StartsWith("t.jinja: line 3, column 7: unexpected end of template"));
  CHECK_THAT(unclosed.error().describe(), Catch::Contains("'if' opened at line 2, column 4"));
  CHECK_THAT(unclosed.error().describe(), Catch::Contains("endif"));

  auto filter = chat_template::parse("ok\n  {{ x | frobnicate }}");
  REQUIRE_FALSE(filter);
  CHECK(filter.error().describe() == "chat template: line 2, column 10: no filter named 'frobnicate'");

  auto test = chat_template::parse("{% if x is frob %}{% endif %}");
  REQUIRE_FALSE(test);
  CHECK_THAT(test.error().describe(), Catch::Contains("line 1, column 9: no test named 'frob'"));

  auto tag = chat_template::parse("{% include 'other.jinja' %}");
  REQUIRE_FALSE(tag);
  CHECK(tag.error().code() == tern::errc::unsupported);
  CHECK_THAT(tag.error().describe(), Catch::Contains("tag 'include' is not supported"));

  auto brk = chat_template::parse("{% break %}");
  REQUIRE_FALSE(brk);
  CHECK_THAT(brk.error().describe(), Catch::Contains("'break' outside of a loop"));

  for (const char* bad : {"{{ ", "{{ 'abc }}", "{# never closed", "{{ (1, 2 }}", "{{ [1, 2) }}", "{% endfor %}",
                          "{% for %}", "{{ 1 + }}", "{% set %}", "{{ a[] }}", "{% macro m( %}{% endmacro %}"}) {
    INFO(bad);
    auto r = chat_template::parse(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::parse_error);
    CHECK_THAT(r.error().describe(), Catch::Contains("line 1, column "));
  }
}

TEST_CASE("jinja: runtime errors name the line and column") {
  auto r = render("a\nb {{ 'x' + 1 }}");
  REQUIRE_FALSE(r);
  CHECK(r.error().describe() == "chat template: line 2, column 10: can only concatenate str (not \"int\") to str");

  auto raised = render("{{ raise_exception('Conversation roles must alternate') }}");
  REQUIRE_FALSE(raised);
  CHECK(raised.error().code() == tern::errc::invalid_argument);
  CHECK_THAT(raised.error().describe(), Catch::Contains("line 1, column ") &&
                                            Catch::Contains("Conversation roles must alternate"));

  auto undefined_call = render("{{ nope() }}");
  REQUIRE_FALSE(undefined_call);
  CHECK_THAT(undefined_call.error().describe(), Catch::Contains("'nope' is undefined"));
}

TEST_CASE("jinja: hostile templates end in a clear error within a bound") {
  SECTION("infinite recursion") {
    auto r = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::limit_exceeded);
    CHECK_THAT(r.error().describe(), Catch::Contains("nested deeper than 64"));
  }
  SECTION("exponential macro calls") {
    auto r = render("{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::limit_exceeded);
    CHECK_THAT(r.error().describe(), Catch::Contains("macro calls"));
  }
  SECTION("huge loops") {
    auto r = render("{% for i in range(100000000) %}x{% endfor %}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::limit_exceeded);
    auto nested = render("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}"
                         "{% endfor %}{% endfor %}");
    REQUIRE_FALSE(nested);
    CHECK(nested.error().code() == tern::errc::limit_exceeded);
    CHECK_THAT(nested.error().describe(), Catch::Contains("loop iterations"));
  }
  SECTION("output and string bombs") {
    auto r = render("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
                    "{% endfor %}{{ ns.s|length }}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::limit_exceeded);
    auto mul = render("{{ 'x' * 100000000000 }}");
    REQUIRE_FALSE(mul);
    CHECK(mul.error().code() == tern::errc::limit_exceeded);
    auto list = render("{{ ([1] * 100000000)|length }}");
    REQUIRE_FALSE(list);
    CHECK(list.error().code() == tern::errc::limit_exceeded);
  }
  SECTION("attribute access to internals") {
    for (const char* src : {"{{ messages.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ range.__globals__ }}",
                            "{{ x.__init__ }}", "{{ namespace.__call__ }}", "{{ ''.__len__() }}"}) {
      INFO(src);
      boost::json::object vars;
      vars["messages"] = boost::json::array{};
      vars["x"] = boost::json::object{};
      auto r = render(src, vars);
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().describe(), Catch::Contains("not allowed in the sandbox"));
    }
    // Keys that merely start with an underscore are ordinary data.
    boost::json::object vars;
    vars["d"] = boost::json::object{{"_private", 1}};
    CHECK(render("{{ d._private }}", vars).value() == "1");
  }
  SECTION("a namespace holding itself is freed (LeakSanitizer checks)") {
    auto r = render("{% set ns = namespace(a=namespace()) %}{% set ns.me = ns %}{% set inner = ns.a %}{% set inner.up = ns %}"
                    "{{ ns.me.me.a.up is defined }}");
    CHECK(r.value() == "True");
  }
  SECTION("deep nesting in the source") {
    auto r = chat_template::parse("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == tern::errc::limit_exceeded);
    std::string blocks;
    for (int i = 0; i < 5000; ++i) blocks += "{% if true %}";
    auto b = chat_template::parse(blocks);
    REQUIRE_FALSE(b);
    CHECK(b.error().code() == tern::errc::limit_exceeded);
  }
  SECTION("limits are settings") {
    render_options o = fixed_date();
    // The items a range() creates count, as do the iterations over them.
    o.limits.max_loop_iterations = 20;
    CHECK(render("{% for i in range(10) %}{% endfor %}ok", {}, o).value() == "ok");
    CHECK_FALSE(render("{% for i in range(11) %}{% endfor %}ok", {}, o));
    CHECK_FALSE(render("{% for i in 'abcdefghijklmnopqrstu' %}{% endfor %}ok", {}, o));
    o.limits.max_output_bytes = 5;
    CHECK(render("12345", {}, o).value() == "12345");
    auto big = render("123456", {}, o);
    REQUIRE_FALSE(big);
    CHECK(big.error().code() == tern::errc::limit_exceeded);
  }
}

TEST_CASE("jinja: transformers' {% generation %} block renders its body") {
  boost::json::object vars;
  vars["x"] = "answer";
  CHECK(render("A{% generation %}{{ x }}{% endgeneration %}B", vars).value() == "AanswerB");
  CHECK_FALSE(chat_template::parse("{% generation %}no end"));
}

TEST_CASE("jinja: strftime_now uses the given date or the clock") {
  auto fixed = render("{{ strftime_now('%d %b %Y') }}");
  CHECK(fixed.value() == "26 Jul 2024");
  render_options clock;
  auto now = render("{{ strftime_now('%Y') }}", {}, clock);
  REQUIRE(now);
  CHECK(now->size() == 4);
  CHECK(tern::engine::parse_calendar_date("2025-02-28").has_value());
  CHECK_FALSE(tern::engine::parse_calendar_date("2025-02-29"));
  CHECK_FALSE(tern::engine::parse_calendar_date("2025-13-01"));
  CHECK_FALSE(tern::engine::parse_calendar_date("25-01-01"));
}

TEST_CASE("jinja: a parsed template renders concurrently") {
  auto t = chat_template::parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}");
  REQUIRE(t);
  boost::json::object vars;
  vars["messages"] = boost::json::array{boost::json::object{{"role", "user"}, {"content", "hi"}}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 200; ++k)
        if (t->render(vars).value_or("") == "user:hi;") ++ok;
    });
  for (auto& th : threads) th.join();
  CHECK(ok == 800);
}

TEST_CASE("jinja: conversation_variables builds apply_chat_template's variables") {
  auto doc = tern::json::parse(R"({"messages": [{"role": "user", "content": "hi"}], "enable_thinking": false})");
  REQUIRE(doc);
  auto vars = tern::engine::conversation_variables(*doc);
  REQUIRE(vars);
  CHECK(vars->at("tools").is_null());
  CHECK(vars->at("add_generation_prompt") == false);
  CHECK(vars->at("enable_thinking") == false);
  CHECK(vars->at("messages").as_array().size() == 1);
  CHECK_FALSE(tern::engine::conversation_variables(boost::json::value(3)));
  auto no_messages = tern::json::parse(R"({"messages": 3})");
  CHECK_FALSE(tern::engine::conversation_variables(*no_messages));
}
