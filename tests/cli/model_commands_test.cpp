// `tern inspect` and `tern make-model`, run as the real binary.
#include "fixtures.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <unistd.h>

namespace {

std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tern-cli-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("cli: inspect prints metadata (arrays abbreviated) and tensors") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto r = tern::test::run_command(tern_cmd("inspect '" + path.string() + "' 2>&1"));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("gguf version 3, 1185376 bytes, alignment 32"));
  CHECK_THAT(r.output, Catch::Contains("metadata: 19 keys"));
  CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*general\.architecture +string +"llama"\n[\s\S]*)"));
  CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*llama\.block_count +u32 +5\n[\s\S]*)"));
  CHECK_THAT(r.output, Catch::Contains(R"(string[512]    ["<unk>", "<s>", "</s>", "<0x00>",)"));
  CHECK_THAT(r.output, Catch::Contains("...] (512 items)"));
  CHECK_THAT(r.output, Catch::Contains("tensors: 48 (1171200 bytes of data)"));
  CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*token_embd\.weight +f32 +\[64, 512\] +131072 bytes +@ 14176\n[\s\S]*)"));
}

TEST_CASE("cli: inspect of a missing or corrupt file fails with the reason") {
  auto r = tern::test::run_command(tern_cmd("inspect /nonexistent/x.gguf 2>&1"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::StartsWith("tern inspect: /nonexistent/x.gguf: cannot open: No such file"));

  const auto bad = temp_file("bad.gguf");
  {
    std::ofstream out(bad, std::ios::binary);
    out.write("GGUF\x01\x00\x00\x00", 8);
  }
  r = tern::test::run_command(tern_cmd("inspect '" + bad + "' 2>&1"));
  std::filesystem::remove(bad);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::StartsWith("tern inspect: " + bad + ": byte 4: GGUF version 1 is not supported"));
}

TEST_CASE("cli: make-model writes each architecture, and inspect reads it back") {
  TERN_NEED_FIXTURE(vocab, "models/stories260K.gguf");
  struct arch_case {
    std::string arch;
    std::string expect;  // a tensor line that only this architecture has
  };
  for (const auto& c : {arch_case{"llama", "output.weight"}, arch_case{"qwen2", "blk.1.attn_k.bias"},
                        arch_case{"qwen3", "blk.1.attn_q_norm.weight"}}) {
    INFO(c.arch);
    const auto out = temp_file(c.arch + ".gguf");
    auto r = tern::test::run_command(tern_cmd("make-model --arch " + c.arch +
                                              " --layers 2 --hidden 64 --heads 4 --kv-heads 2 --ffn 128 --vocab-from '" +
                                              vocab.string() + "' --type q8_0 --seed 7 -o '" + out + "' 2>&1"));
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::StartsWith("wrote " + out + ": " + c.arch + " 2 layers, hidden 64,"));
    r = tern::test::run_command(tern_cmd("inspect '" + out + "' 2>&1"));
    std::filesystem::remove(out);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("\"" + c.arch + "\""));
    CHECK_THAT(r.output, Catch::Matches("[\\s\\S]*" + c.arch + "\\.block_count +u32 +2\n[\\s\\S]*"));
    CHECK_THAT(r.output, Catch::Matches("[\\s\\S]*" + c.arch + "\\.attention\\.head_count_kv +u32 +2\n[\\s\\S]*"));
    CHECK_THAT(r.output, Catch::Contains("tokenizer.ggml.tokens"));
    CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*token_embd\.weight +q8_0 +\[64, 512\][\s\S]*)"));
    CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*blk\.1\.ffn_down\.weight +q8_0 +\[128, 64\][\s\S]*)"));
    CHECK_THAT(r.output, Catch::Matches(R"([\s\S]*blk\.0\.attn_norm\.weight +f32 +\[64\][\s\S]*)"));
    CHECK_THAT(r.output, Catch::Contains(c.expect));
  }
}

TEST_CASE("cli: make-model refuses impossible shapes with the option named") {
  const auto out = temp_file("never.gguf");
  auto r = tern::test::run_command(tern_cmd("make-model --hidden 48 --heads 4 --vocab 100 --type q8_0 -o '" + out + "' 2>&1"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--hidden = 48 is not a multiple of the q8_0 block size 32"));
  r = tern::test::run_command(tern_cmd("make-model --hidden 64 --heads 4 --kv-heads 3 --vocab 100 -o '" + out + "' 2>&1"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--heads 4 is not a multiple of --kv-heads 3"));
  r = tern::test::run_command(tern_cmd("make-model --hidden 64 -o '" + out + "' 2>&1"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("give --vocab-from FILE"));
  r = tern::test::run_command(tern_cmd("make-model --vocab 100 --type q3_k -o '" + out + "' 2>&1"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--type q3_k: cannot be encoded"));
  r = tern::test::run_command(tern_cmd("make-model --vocab-from /nonexistent.gguf -o '" + out + "' 2>&1"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("--vocab-from: /nonexistent.gguf: cannot open"));
  CHECK(!std::filesystem::exists(out));
}
