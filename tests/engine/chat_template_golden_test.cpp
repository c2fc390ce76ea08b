// Every model family's chat template, rendered over every committed
// conversation, must match python3-jinja2 configured like transformers
// (scripts/gen-template-goldens.py) byte for byte. Cases where Jinja2
// refused the conversation (the template raises, or iterates over tools
// that are None) must be refused by Tern too.
#include "fixtures.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/chat_template.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::filesystem::path& templates_dir() {
  static const auto dir = tern::test::test_data("chat-templates");
  return dir;
}

void check_template(const std::string& file) {
  const auto manifest_text = read_file(templates_dir() / "golden" / "manifest.json");
  auto manifest = tern::json::parse(manifest_text);
  REQUIRE(manifest.has_value());
  const auto source = read_file(templates_dir() / file);
  REQUIRE(!source.empty());
  auto tmpl = tern::engine::chat_template::parse(source, file);
  if (!tmpl) FAIL(tmpl.error().to_string());

  tern::engine::render_options opts;
  opts.date = tern::engine::calendar_date{2024, 7, 26};  // the generator's fixed strftime_now date
  int n_cases = 0;
  for (const auto& c : manifest->at("cases").as_array()) {
    const auto& cs = c.as_object();
    if (cs.at("template").as_string() != file) continue;
    ++n_cases;
    const std::string conv_name(cs.at("conversation").as_string());
    auto conv = tern::json::parse(read_file(templates_dir() / "conversations" / conv_name));
    REQUIRE(conv.has_value());
    auto vars = tern::engine::conversation_variables(*conv);
    REQUIRE(vars.has_value());
    (*vars)["add_generation_prompt"] = cs.at("add_generation_prompt");
    (*vars)["bos_token"] = cs.at("bos_token");
    (*vars)["eos_token"] = cs.at("eos_token");
    if (cs.contains("enable_thinking")) (*vars)["enable_thinking"] = cs.at("enable_thinking");
    INFO("template " << file << ", conversation " << conv_name << ", case " << boost::json::serialize(c));
    auto out = tmpl->render(*vars, opts);
    if (cs.contains("error")) {
      CHECK_FALSE(out.has_value());
      continue;
    }
    if (!out) FAIL(out.error().to_string());
    const auto expected = read_file(templates_dir() / "golden" / std::string(cs.at("expected").as_string()));
    CHECK(*out == expected);
  }
  CHECK(n_cases >= 16);
}

}  // namespace

TEST_CASE("chat template golden: Qwen2.5") { check_template("Qwen-Qwen2.5-7B-Instruct.jinja"); }
TEST_CASE("chat template golden: Qwen3") { check_template("Qwen-Qwen3-0.6B.jinja"); }
TEST_CASE("chat template golden: QwQ") { check_template("Qwen-QwQ-32B.jinja"); }
TEST_CASE("chat template golden: Llama 3.1") { check_template("meta-llama-Llama-3.1-8B-Instruct.jinja"); }
TEST_CASE("chat template golden: Llama 3.2") { check_template("meta-llama-Llama-3.2-3B-Instruct.jinja"); }
TEST_CASE("chat template golden: DeepSeek-R1-Distill") { check_template("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"); }
TEST_CASE("chat template golden: SmolLM3") { check_template("HuggingFaceTB-SmolLM3-3B.jinja"); }
TEST_CASE("chat template golden: Hermes-3 tool use") { check_template("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"); }
