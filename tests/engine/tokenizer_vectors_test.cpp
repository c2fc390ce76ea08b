// Golden tests: llama.cpp's tokenizer vectors (tests/data/models/vocab-tests)
// and the tokenize section of each reference JSON (llama.cpp 3f545bec), id for
// id and piece byte for piece byte.
#include "fixtures.hpp"
#include "utf8_check.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/tokenizer.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using tern::engine::token_id;
using tern::engine::tokenizer;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = s.find(sep, pos);
    if (at == std::string::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, at - pos));
    pos = at + sep.size();
  }
}

std::vector<token_id> parse_ids(const std::string& line) {
  std::vector<token_id> ids;
  std::istringstream in(line);
  token_id id;
  while (in >> id) ids.push_back(id);
  return ids;
}


std::string hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// Runs the .inp/.out pair `name` against the tokenizer of `model`: every
// vector must match (add_special = false, parse_special = false, as
// llama.cpp's test-tokenizer-0).
void check_vocab_vectors(const std::filesystem::path& model, const std::filesystem::path& inp,
                         const std::filesystem::path& outp) {
  auto tok = tokenizer::load(model);
  REQUIRE(tok.has_value());
  const auto texts = split(read_file(inp), "\n__ggml_vocab_test__\n");
  const auto lines = split(read_file(outp), "\n");
  // Both files end with a separator / newline: the last element is empty.
  REQUIRE(texts.size() == 47);
  REQUIRE(lines.size() == 47);
  std::size_t n_match = 0;
  for (std::size_t i = 0; i + 1 < texts.size(); ++i) {
    INFO("vector " << i << ": '" << texts[i] << "'");
    const auto expected = parse_ids(lines[i]);
    const auto got = tok->encode(texts[i], false, false);
    CHECK(got == expected);
    if (got == expected) ++n_match;
    // The text comes back from its ids.
    CHECK(tok->decode(got) == texts[i]);
  }
  CHECK(n_match == 46);
}

void check_reference(const std::filesystem::path& model, const std::filesystem::path& json_path) {
  auto tok = tokenizer::load(model);
  REQUIRE(tok.has_value());
  auto doc = tern::json::parse(read_file(json_path));
  REQUIRE(doc.has_value());
  const auto& cases = doc->as_object().at("tokenize").as_array();
  REQUIRE(cases.size() >= 16);
  for (const auto& c : cases) {
    const auto& o = c.as_object();
    const std::string text(o.at("text").as_string());
    const bool add_special = o.at("add_special").as_bool();
    const bool parse_special = o.at("parse_special").as_bool();
    std::vector<token_id> expected;
    for (const auto& id : o.at("ids").as_array()) expected.push_back(static_cast<token_id>(id.as_int64()));
    INFO("text '" << text << "' add_special " << add_special << " parse_special " << parse_special);
    const auto got = tok->encode(text, add_special, parse_special);
    REQUIRE(got == expected);
    const auto& pieces = o.at("pieces").as_array();
    REQUIRE(pieces.size() == got.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("token " << i << " = " << got[i]);
      CHECK(hex(tok->token_to_piece(got[i], true)) == std::string(pieces[i].as_object().at("hex").as_string()));
    }
    // Round trip: plain text decodes back exactly; with specials parsed, the
    // byte-level vocabulary gives back the text when control tokens are rendered.
    if (!add_special && !parse_special) CHECK(tok->decode(got) == text);
    if (parse_special && tok->vocabulary().model == tern::engine::vocab_model::bpe)
      CHECK(tok->decode(got, false, true) == text);
    // Streamed one token at a time, every chunk is valid UTF-8 and together
    // they are the text (SPM: with the space its encoding put in front).
    if (!add_special && !parse_special) {
      tern::engine::detokenizer stream(*tok);
      std::string all;
      for (auto id : got) {
        const std::string_view chunk = stream.push(id);
        CHECK(tern::test::valid_utf8(chunk));
        all += chunk;
      }
      all += stream.flush();
      const bool spm = tok->vocabulary().model == tern::engine::vocab_model::spm;
      CHECK(all == (spm ? " " + text : text));
    }
  }
}

}  // namespace

TEST_CASE("tokenizer: llama.cpp qwen2 vectors on qwen2-vocab.gguf") {
  TERN_NEED_FIXTURE(model, "models/qwen2-vocab.gguf");
  TERN_NEED_FIXTURE(inp, "models/vocab-tests/ggml-vocab-qwen2.gguf.inp");
  TERN_NEED_FIXTURE(outp, "models/vocab-tests/ggml-vocab-qwen2.gguf.out");
  check_vocab_vectors(model, inp, outp);
}

TEST_CASE("tokenizer: llama.cpp llama-spm vectors on llama-2-tiny-random.gguf") {
  TERN_NEED_FIXTURE(model, "models/llama-2-tiny-random.gguf");
  TERN_NEED_FIXTURE(inp, "models/vocab-tests/ggml-vocab-llama-spm.gguf.inp");
  TERN_NEED_FIXTURE(outp, "models/vocab-tests/ggml-vocab-llama-spm.gguf.out");
  check_vocab_vectors(model, inp, outp);
}

TEST_CASE("tokenizer: reference tokenizations of qwen2-tiny-random (Qwen2.5 BPE)") {
  TERN_NEED_FIXTURE(model, "models/qwen2-vocab.gguf");
  TERN_NEED_FIXTURE(ref, "reference/qwen2-tiny-random.json");
  check_reference(model, ref);
}

TEST_CASE("tokenizer: reference tokenizations of llama-2-tiny-random (Llama-2 SPM)") {
  TERN_NEED_FIXTURE(model, "models/llama-2-tiny-random.gguf");
  TERN_NEED_FIXTURE(ref, "reference/llama-2-tiny-random.json");
  check_reference(model, ref);
}

TEST_CASE("tokenizer: reference tokenizations of stories260K (512-token SPM, byte fallback)") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(ref, "reference/stories260K.json");
  check_reference(model, ref);
}

TEST_CASE("tokenizer: qwen2-tiny-random.gguf carries the same tokenizer as qwen2-vocab.gguf") {
  TERN_NEED_SHARED(model, "models/qwen2-tiny-random.gguf");
  TERN_NEED_FIXTURE(vocab_only, "models/qwen2-vocab.gguf");
  auto a = tokenizer::load(model);
  auto b = tokenizer::load(vocab_only);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->n_tokens() == 151936);
  const std::string text = "<|im_start|>user\nBook a flight to Rio 🇧🇷<|im_end|>\n";
  CHECK(a->encode(text, true, true) == b->encode(text, true, true));
}

TEST_CASE("tokenizer: special ids and flags read from the GGUF files") {
  TERN_NEED_FIXTURE(qwen_path, "models/qwen2-vocab.gguf");
  TERN_NEED_FIXTURE(llama_path, "models/llama-2-tiny-random.gguf");
  auto qwen = tokenizer::load(qwen_path);
  REQUIRE(qwen.has_value());
  const auto& qv = qwen->vocabulary();
  CHECK(qv.model == tern::engine::vocab_model::bpe);
  CHECK(qv.pre == tern::engine::pre_tokenizer::qwen2);
  CHECK(qwen->n_tokens() == 151936);
  CHECK(qv.merges.size() == 151387);
  CHECK(qwen->bos() == 151643);
  CHECK(qwen->eos() == 151645);
  CHECK(qv.add_bos == false);
  CHECK(qwen->is_eog(151645));  // <|im_end|>
  CHECK(qwen->is_eog(151643));  // <|endoftext|>
  CHECK(!qwen->is_eog(151644));  // <|im_start|>
  CHECK(qwen->type_of(151644) == tern::engine::token_type::control);
  CHECK(qwen->type_of(151657) == tern::engine::token_type::user_defined);  // <tool_call>
  CHECK(qwen->find("<|im_start|>") == 151644);
  // Control tokens render only when asked.
  CHECK(qwen->token_to_piece(151644, true) == "<|im_start|>");
  CHECK(qwen->token_to_piece(151644, false).empty());
  // User-defined tokens are split out of text even without parse_special.
  CHECK(qwen->encode("<tool_call>", false, false) == std::vector<token_id>{151657});
  CHECK(qwen->encode("<|im_start|>", false, false).size() > 1);

  auto llama = tokenizer::load(llama_path);
  REQUIRE(llama.has_value());
  const auto& lv = llama->vocabulary();
  CHECK(lv.model == tern::engine::vocab_model::spm);
  CHECK(llama->n_tokens() == 32000);
  CHECK(llama->bos() == 1);
  CHECK(llama->eos() == 2);
  CHECK(lv.add_bos);
  CHECK(!lv.add_eos);
  CHECK(lv.add_space_prefix);
  CHECK(llama->encode("", true, false) == std::vector<token_id>{1});
  CHECK(llama->encode("", false, false).empty());
  // decode with remove_special drops the BOS encode added; as in llama.cpp's
  // llama_detokenize, the first piece after a removed BOS keeps its space.
  CHECK(llama->decode(llama->encode("Hello world"), true) == " Hello world");
  CHECK(llama->decode(llama->encode("Hello world", false)) == "Hello world");
}
