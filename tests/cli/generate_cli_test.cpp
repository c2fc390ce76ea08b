#include "fixtures.hpp"
#include "process.hpp"

#include <tern/core/json.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

namespace {
std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }

std::string reference_text(const std::filesystem::path& ref, bool bos_200) {
  std::ifstream in(ref);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = tern::json::parse(ss.str());
  REQUIRE(doc);
  if (!bos_200) return std::string(doc->at("generate").at("output_text").as_string());
  return std::string(doc->at("crosscheck_llama2c_bos_200").at("output_text").as_string());
}
}  // namespace

TEST_CASE("cli: greedy tern generate on stories260K reproduces the reference text") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(ref, "reference/stories260K.json");
  auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p 'Once upon a time' -n 16"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == reference_text(ref, false) + "\n");
}

TEST_CASE("cli: greedy tern generate from BOS alone reproduces llama2.c's 200 tokens") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(ref, "reference/stories260K.json");
  auto r = tern::test::run_command(tern_cmd("generate -m '" + model.string() + "' -p '' -n 200"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == reference_text(ref, true) + "\n");
}

TEST_CASE("cli: tern generate with sampling is reproducible by seed, and errors are clear") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto cmd = tern_cmd("generate -m '" + model.string() + "' -p 'Once upon a time' -n 24 --temp 0.8 --top-p 0.95 --seed ");
  auto a = tern::test::run_command(cmd + "5");
  auto b = tern::test::run_command(cmd + "5");
  auto c = tern::test::run_command(cmd + "6");
  CHECK(a.exit_code == 0);
  CHECK(a.output == b.output);
  CHECK(a.output != c.output);

  auto missing = tern::test::run_command(tern_cmd("generate -m /nonexistent.gguf -p hi 2>&1"));
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.output, Catch::Contains("/nonexistent.gguf"));
}
