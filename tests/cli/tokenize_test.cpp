// `tern tokenize`, run as a child process on the fixture models.
#include "fixtures.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {
std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }
std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
}  // namespace

TEST_CASE("cli: tern tokenize prints ids on one line") {
  TERN_NEED_FIXTURE(qwen, "models/qwen2-vocab.gguf");
  TERN_NEED_FIXTURE(llama, "models/llama-2-tiny-random.gguf");
  auto r = tern::test::run_command(tern_cmd("tokenize -m " + q(qwen) + " 'Hello world'"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "9707 1879\n");

  r = tern::test::run_command(tern_cmd("tokenize -m " + q(llama) + " 'Hello world'"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "1 15043 3186\n");

  r = tern::test::run_command(tern_cmd("tokenize --no-special -m " + q(llama) + " 'Hello world'"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "15043 3186\n");
}

TEST_CASE("cli: tern tokenize --parse-special and --pieces") {
  TERN_NEED_FIXTURE(qwen, "models/qwen2-vocab.gguf");
  TERN_NEED_FIXTURE(llama, "models/llama-2-tiny-random.gguf");
  auto r = tern::test::run_command(tern_cmd("tokenize --parse-special -m " + q(qwen) + " '<|im_start|>user'"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "151644 872\n");
  // Without --parse-special the control token's text is tokenized as text.
  r = tern::test::run_command(tern_cmd("tokenize -m " + q(qwen) + " '<|im_start|>user'"));
  CHECK(r.exit_code == 0);
  CHECK(r.output != "151644 872\n");

  r = tern::test::run_command(tern_cmd("tokenize --pieces -m " + q(llama) + " \"$(printf 'Hi\\nyou')\""));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "     1 -> '<s>'\n  6324 -> ' Hi'\n    13 -> '\\n'\n  6293 -> 'you'\n");
}

TEST_CASE("cli: tern tokenize reports a bad model file and exits non-zero") {
  auto r = tern::test::run_command(tern_cmd("tokenize -m /nonexistent/model.gguf hello 2>&1"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("/nonexistent/model.gguf"));
  r = tern::test::run_command(tern_cmd("tokenize hello 2>&1"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("--model"));
}
