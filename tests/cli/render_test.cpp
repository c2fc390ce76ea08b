// `tern render` prints exactly the rendered prompt: compared byte for byte
// with the python3-jinja2 goldens.
#include "fixtures.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string data(const std::string& rel) { return "'" + tern::test::test_data(rel).string() + "'"; }
std::string golden(const std::string& rel) { return read_file(tern::test::test_data("chat-templates/golden/" + rel)); }

}  // namespace

TEST_CASE("cli: tern render -m uses the model's chat template") {
  TERN_NEED_FIXTURE(model, "models/qwen2-vocab.gguf");
  auto r = tern::test::run_command(
      tern_cmd("render -m '" + model.string() + "' " + data("chat-templates/conversations/tool_call.json")));
  CHECK(r.exit_code == 0);
  CHECK(r.output == golden("Qwen-Qwen2.5-7B-Instruct/tool_call.nogen.txt"));
}

TEST_CASE("cli: tern render --chat-template, --var and --date") {
  auto r = tern::test::run_command(tern_cmd(
      "render --chat-template " + data("chat-templates/Qwen-Qwen3-0.6B.jinja") +
      " --var enable_thinking=false --var add_generation_prompt=true " + data("chat-templates/conversations/reasoning.json")));
  CHECK(r.exit_code == 0);
  CHECK(r.output == golden("Qwen-Qwen3-0.6B/reasoning.gen.nothink.txt"));

  auto llama = tern::test::run_command(tern_cmd(
      "render --chat-template " + data("chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja") +
      " --date 2024-07-26 --var 'bos_token=\"<|begin_of_text|>\"' " + data("chat-templates/conversations/system.json")));
  CHECK(llama.exit_code == 0);
  CHECK(llama.output == golden("meta-llama-Llama-3.2-3B-Instruct/system.nogen.txt"));

  auto other_day = tern::test::run_command(tern_cmd(
      "render --chat-template " + data("chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja") +
      " --date 2025-01-02 " + data("chat-templates/conversations/system.json")));
  CHECK(other_day.exit_code == 0);
  CHECK_THAT(other_day.output, Catch::Contains("Today Date: 02 Jan 2025\n"));
}

TEST_CASE("cli: tern render reports errors with where, and prints no prompt") {
  auto raised = tern::test::run_command(tern_cmd(
      "render --chat-template " + data("chat-templates/meta-llama-Llama-3.1-8B-Instruct.jinja") + " " +
      data("chat-templates/conversations/parallel_calls.json") + " 2>&1"));
  CHECK(raised.exit_code == 1);
  CHECK_THAT(raised.output, Catch::StartsWith("tern render: ") && Catch::Contains("line 71, column 32") &&
                                Catch::Contains("only supports single tool-calls"));

  auto bad_var = tern::test::run_command(tern_cmd("render --var x=nojson --chat-template " +
                                                  data("chat-templates/Qwen-QwQ-32B.jinja") + " " +
                                                  data("chat-templates/conversations/system.json") + " 2>&1"));
  CHECK(bad_var.exit_code == 1);
  CHECK_THAT(bad_var.output, Catch::Contains("--var x"));

  auto bad_date = tern::test::run_command(tern_cmd("render --date 2024-13-01 --chat-template " +
                                                   data("chat-templates/Qwen-QwQ-32B.jinja") + " " +
                                                   data("chat-templates/conversations/system.json") + " 2>&1"));
  CHECK(bad_date.exit_code == 1);
  CHECK_THAT(bad_date.output, Catch::Contains("YYYY-MM-DD"));

  auto nothing = tern::test::run_command(tern_cmd("render " + data("chat-templates/conversations/system.json") + " 2>&1"));
  CHECK(nothing.exit_code == 1);
  CHECK_THAT(nothing.output, Catch::Contains("--chat-template"));
}
