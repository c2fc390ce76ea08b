// `tern generate --json-schema / --grammar / --think-budget`, run as a real
// process: stdout is exactly the document, errors go to stderr with exit 1.
#include "fixtures.hpp"
#include "process.hpp"

#include <tern/core/json.hpp>

#include <catch2/catch.hpp>

#include <fstream>

namespace {
std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("tern_constrained_cli_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}
}  // namespace

TEST_CASE("cli: tern generate --json-schema prints exactly a valid document") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto schema = tern::test::test_data("tool-schemas/search_flights.json");
  for (const char* sampling : {"", " --temp 1 --seed 3", " --temp 1 --seed 4 --top-k 20"}) {
    auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p 'Once upon a time' -n 200 --echo --stats --json-schema '" +
                                              schema.string() + "'" + sampling + " 2>/dev/null"));
    INFO(sampling << ": " << r.output);
    CHECK(r.exit_code == 0);
    REQUIRE_FALSE(r.output.empty());
    CHECK(r.output.front() == '{');
    CHECK(r.output.back() == '}');  // no newline, no stats, no echo on stdout
    auto doc = tern::json::parse(r.output);
    REQUIRE(doc);
    CHECK(doc->as_object().contains("origin"));
    CHECK(doc->as_object().contains("passengers"));
  }
}

TEST_CASE("cli: tern generate --grammar constrains to a grammar text") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto g = write_temp("yesno.gbnf", "root ::= (\"yes\" | \"no\") \", because \" [a-z ]{1,20} \".\"\n");
  auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p 'Q' -n 40 --temp 1 --seed 1 --grammar '" +
                                            g.string() + "'"));
  CHECK(r.exit_code == 0);
  INFO(r.output);
  CHECK((r.output.starts_with("yes, because ") || r.output.starts_with("no, because ")));
  CHECK(r.output.back() == '.');
  std::filesystem::remove(g);
}

TEST_CASE("cli: tern generate refuses a bad schema, a small budget and a missing file, on stderr") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto bad = write_temp("bad.json", R"({"type":"object","properties":{"a":{"type":"string","uniqueItems":true,"not":{}}}})");
  auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p hi --json-schema '" + bad.string() +
                                            "' 2>&1 >/dev/null"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("not"));
  CHECK_THAT(r.output, Catch::Contains(bad.filename().string()));
  auto out_only = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p hi --json-schema '" + bad.string() +
                                                   "' 2>/dev/null"));
  CHECK(out_only.output.empty());

  const auto schema = tern::test::test_data("tool-schemas/search_flights.json");
  auto small = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p hi -n 5 --json-schema '" +
                                                schema.string() + "' 2>&1"));
  CHECK(small.exit_code != 0);
  CHECK_THAT(small.output, Catch::Contains("shortest valid document"));

  auto missing = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p hi --grammar /nonexistent.gbnf 2>&1"));
  CHECK(missing.exit_code != 0);
  std::filesystem::remove(bad);
}

TEST_CASE("cli: tern generate --think-budget keeps the thought off stdout") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto schema = tern::test::test_data("tool-schemas/convert_currency.json");
  auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p 'Think first. <think>' -n 120 --temp 1 --seed 2 "
                                            "--think-budget 6 --json-schema '" + schema.string() + "' 2>/dev/null"));
  CHECK(r.exit_code == 0);
  INFO(r.output);
  auto doc = tern::json::parse(r.output);
  REQUIRE(doc);
  CHECK(doc->as_object().contains("amount"));
  auto err = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p 'Think first. <think>' -n 120 --temp 1 --seed 2 "
                                              "--think-budget 6 --json-schema '" + schema.string() + "' 2>&1 >/dev/null"));
  CHECK_THAT(err.output, Catch::Contains("thought ("));
}
