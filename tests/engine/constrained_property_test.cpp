// Property: whatever a model samples, a constrained generation is a complete
// JSON document that validates against its schema. Random-weight models pick
// tokens almost at random, so they walk into every corner of a grammar (free
// strings that never close, arrays at their bounds, recursion) far more than a
// trained model would. Judged by simdjson + tools::schema_validator (see
// constrained_property.hpp), never by our own grammar.
//
// Seeds: 20 per schema (ASan/UBSan builds: 4, which keeps that pass within
// minutes), spread over the models round-robin so each schema meets every
// vocabulary: SentencePiece with byte fallback (stories260K: 512 tokens,
// llama-2-tiny-random: 32k) and byte-level BPE (qwen3-tiny-random, and
// qwen2-tiny-random from ../shared when present: 151k). bench_constrained_property
// runs 200 seeds per schema.
#include "constrained_property.hpp"
#include "fixtures.hpp"

#include <catch2/catch.hpp>

using namespace tern::test::constrained;

namespace {

#if TERN_SANITIZE_BUILD
constexpr int seeds_per_schema = 4;
#else
constexpr int seeds_per_schema = 20;
#endif
constexpr std::int64_t slack = 48;  // tokens beyond the shortest document

std::vector<model_case> load_models() {
  std::vector<model_case> models;
  // qwen3-tiny-random has no tokenizer keys; its 512-row output matches stories260K's vocabulary.
  const std::pair<const char*, const char*> files[] = {{"models/stories260K.gguf", ""},
                                                       {"models/llama-2-tiny-random.gguf", ""},
                                                       {"models/qwen3-tiny-random.gguf", "models/stories260K.gguf"},
                                                       {"models/qwen2-tiny-random.gguf", ""}};
  for (const auto& [rel, vocab_rel] : files) {
    auto p = tern::test::fixture(rel);
    if (!p) continue;
    auto m = load_model(*p, 512, *vocab_rel ? tern::test::test_data(vocab_rel) : std::filesystem::path());
    INFO(rel << ": " << (m ? "" : m.error().describe()));
    REQUIRE(m);
    models.push_back(std::move(*m));
  }
  return models;
}

void check_all(std::vector<schema_case>& cases, std::vector<model_case>& models) {
  REQUIRE_FALSE(models.empty());
  std::size_t runs = 0, valid = 0;
  for (const auto& c : cases) {
    for (int seed = 0; seed < seeds_per_schema; ++seed) {
      auto& m = models[static_cast<std::size_t>(seed) % models.size()];
      auto r = run_once(m, c, static_cast<std::uint64_t>(seed) * 7919 + 1);
      ++runs;
      if (r.valid) {
        ++valid;
        continue;
      }
      INFO("schema " << c.name << ", model " << m.name << ", seed " << seed << ": " << r.problem << "\n" << r.text);
      CHECK(r.valid);
    }
  }
  CHECK(valid == runs);
  CHECK(runs == cases.size() * seeds_per_schema);
}

}  // namespace

TEST_CASE("constrained property: tool-parameter schemas, sampled on random-weight models, always validate") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  auto cases = tool_schemas(tern::test::test_data("tool-schemas"), slack);
  REQUIRE(cases);
  REQUIRE(cases->size() >= 20);
  auto models = load_models();
  check_all(*cases, models);
}

TEST_CASE("constrained property: 50 MaskBench schemas, sampled on random-weight models, always validate") {
  TERN_NEED_SHARED(dir, "maskbench");
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  auto cases = maskbench_schemas(dir, 50, 11, slack);
  REQUIRE(cases.size() == 50);
  auto models = load_models();
  check_all(cases, models);
}
