// The chat template and special tokens come from the model's GGUF metadata.
#include "fixtures.hpp"

#include <tern/engine/chat_template.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/gguf_writer.hpp>

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
}  // namespace

TEST_CASE("chat template from GGUF: qwen2-vocab carries the Qwen2.5 template and its tokens") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto file = tern::engine::gguf_file::open(path);
  REQUIRE(file);
  auto t = tern::engine::read_chat_template(*file);
  if (!t) FAIL(t.error().to_string());
  CHECK(t->source == read_file(tern::test::test_data("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja")));
  CHECK_THAT(t->name, Catch::EndsWith("tokenizer.chat_template"));
  CHECK(t->tokens.bos_token == std::optional<std::string>("<|endoftext|>"));
  CHECK(t->tokens.eos_token == std::optional<std::string>("<|im_end|>"));

  auto missing = tern::engine::read_chat_template(*file, "tool_use");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == tern::errc::not_found);
  CHECK_THAT(missing.error().describe(), Catch::Contains("tokenizer.chat_template.tool_use") &&
                                             Catch::Contains("the file has: tokenizer.chat_template"));
}

TEST_CASE("chat template from GGUF: named variants, absent tokens, bad token ids") {
  tern::engine::gguf_writer w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.chat_template", "default {{ bos_token }}");
  w.set_string("tokenizer.chat_template.tool_use", "tools {{ eos_token }}");
  w.set_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"<s>", "</s>", "a"});
  w.set_u32("tokenizer.ggml.eos_token_id", 1);
  auto bytes = w.to_bytes();
  REQUIRE(bytes);
  auto file = tern::engine::gguf_file::from_bytes(*bytes, "variants.gguf");
  REQUIRE(file);
  auto def = tern::engine::read_chat_template(*file);
  REQUIRE(def);
  CHECK(def->source == "default {{ bos_token }}");
  CHECK_FALSE(def->tokens.bos_token.has_value());
  CHECK(def->tokens.eos_token == std::optional<std::string>("</s>"));
  auto tools = tern::engine::read_chat_template(*file, "tool_use");
  REQUIRE(tools);
  CHECK(tools->source == "tools {{ eos_token }}");
  CHECK(tools->name == "variants.gguf: tokenizer.chat_template.tool_use");

  tern::engine::gguf_writer bad;
  bad.set_string("tokenizer.chat_template", "x");
  bad.set_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"a"});
  bad.set_u32("tokenizer.ggml.bos_token_id", 7);
  auto bad_bytes = bad.to_bytes();
  REQUIRE(bad_bytes);
  auto bad_file = tern::engine::gguf_file::from_bytes(*bad_bytes, "bad.gguf");
  REQUIRE(bad_file);
  auto r = tern::engine::read_chat_template(*bad_file);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == tern::errc::parse_error);
  CHECK_THAT(r.error().describe(), Catch::Contains("bad.gguf") && Catch::Contains("tokenizer.ggml.bos_token_id is 7"));

  tern::engine::gguf_writer none;
  none.set_string("general.architecture", "llama");
  auto none_bytes = none.to_bytes();
  REQUIRE(none_bytes);
  auto none_file = tern::engine::gguf_file::from_bytes(*none_bytes, "plain.gguf");
  REQUIRE(none_file);
  auto nt = tern::engine::read_chat_template(*none_file);
  REQUIRE_FALSE(nt);
  CHECK_THAT(nt.error().describe(), Catch::Contains("the file has no chat template"));
}
