// Token masks: the cached fast path against a brute-force reference over the
// real Qwen2 vocabulary, rollback, forced tokens, budgets, special tokens.
#include <tern/engine/grammar.hpp>
#include <tern/engine/maskbench.hpp>

#include "brute_mask.hpp"
#include "fixtures.hpp"

#include <catch2/catch.hpp>

using namespace tern::engine;

namespace {

bool allowed(const std::vector<uint32_t>& mask, int32_t t) { return (mask[size_t(t) >> 5] >> (t & 31)) & 1u; }

size_t popcount(const std::vector<uint32_t>& mask) {
  size_t n = 0;
  for (auto w : mask) n += size_t(__builtin_popcount(w));
  return n;
}

using tern::test::brute_mask;

std::shared_ptr<const token_vocabulary> qwen() {
  static std::shared_ptr<const token_vocabulary> v = [] {
    auto p = tern::test::fixture("models/qwen2-vocab.gguf");
    if (!p) return std::shared_ptr<const token_vocabulary>();
    auto r = load_token_vocabulary(*p);
    REQUIRE(r);
    return *r;
  }();
  return v;
}

std::shared_ptr<const token_vocabulary> tiny(std::vector<std::string> toks) {
  std::vector<uint8_t> special(toks.size(), 0);
  toks.push_back("");
  special.push_back(1);
  auto v = make_token_vocabulary(toks, special, {int32_t(toks.size() - 1)});
  REQUIRE(v);
  return *v;
}

}  // namespace

TEST_CASE("matcher: Qwen2 vocabulary loads with special tokens marked") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto v = qwen();
  REQUIRE(v);
  CHECK(v->size() > 150000);
  CHECK_FALSE(v->eos_tokens().empty());
  for (int32_t e : v->eos_tokens()) CHECK(v->is_special(e));
  // byte-level decoding: "Ġ" spells a space
  auto toks = maskbench::greedy_tokenize(*v, " hello");
  REQUIRE(toks);
  CHECK(toks->size() == 1);
  CHECK(v->token_bytes((*toks)[0]) == " hello");
}

TEST_CASE("matcher: masks equal the brute-force reference along a document") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto v = qwen();
  auto g = compile_json_schema(R"({"type":"object","properties":{
      "name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":150},
      "tags":{"type":"array","items":{"enum":["a","bé"]}}},"required":["name"],"additionalProperties":false})");
  REQUIRE(g);
  auto c = make_constraint(*g, v);
  auto m = grammar_matcher::create(c);
  REQUIRE(m);
  std::string doc = R"({"name":"Zoë 😀","age":42,"tags":["bé","a"]})";
  auto toks = maskbench::greedy_tokenize(*v, doc);
  REQUIRE(toks);
  std::vector<uint32_t> mask(m->mask_words());
  for (size_t i = 0; i < toks->size(); ++i) {
    m->fill_mask(mask);
    if (i % 3 == 0 || i + 1 == toks->size()) {  // the reference is slow: every third state
      auto ref = brute_mask(*m, *v);
      INFO("token " << i);
      CHECK(mask == ref);
    }
    REQUIRE(allowed(mask, (*toks)[i]));
    REQUIRE(m->accept_token((*toks)[i]));
  }
  CHECK(m->is_complete());
  m->fill_mask(mask);
  CHECK(popcount(mask) == v->eos_tokens().size());
  CHECK(m->forced_token().has_value() == (v->eos_tokens().size() == 1));
}

TEST_CASE("matcher: special tokens never appear inside a document, EOS only when complete") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto v = qwen();
  auto g = compile_json_schema(R"({"type":"array","items":{"type":"string"}})");
  REQUIRE(g);
  auto m = grammar_matcher::create(make_constraint(*g, v));
  REQUIRE(m);
  std::vector<uint32_t> mask(m->mask_words());
  auto toks = maskbench::greedy_tokenize(*v, R"(["a\"b",""])");
  REQUIRE(toks);
  for (int32_t t : *toks) {
    m->fill_mask(mask);
    for (int32_t s = 0; s < int32_t(v->size()); ++s)
      if (v->is_special(s)) REQUIRE_FALSE(allowed(mask, s));
    REQUIRE(m->accept_token(t));
  }
  CHECK(m->is_complete());
  REQUIRE(m->accept_token(v->eos_tokens()[0]));
  CHECK(m->is_finished());
  CHECK_FALSE(m->accept_token((*toks)[0]));
}

TEST_CASE("matcher: rollback restores earlier masks; bad tokens leave the state unchanged") {
  auto v = tiny({"{", "}", "\"", "a", "\":", "1", "\"a\":", ","});
  auto g = compile_json_schema(R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})");
  REQUIRE(g);
  auto m = grammar_matcher::create(make_constraint(*g, v));
  REQUIRE(m);
  std::vector<uint32_t> m0(m->mask_words()), m1(m->mask_words()), again(m->mask_words());
  m->fill_mask(m0);
  CHECK(m0[0] == 0b1u);  // only "{"
  CHECK(m->forced_token() == 0);
  REQUIRE(m->accept_token(0));
  m->fill_mask(m1);
  CHECK(allowed(m1, 1));  // "}"
  CHECK(allowed(m1, 2));  // "\""
  CHECK(allowed(m1, 6));  // "\"a\":"
  CHECK_FALSE(allowed(m1, 7));
  CHECK_FALSE(m->accept_token(7));  // refused, state unchanged
  REQUIRE(m->accept_token(6));
  REQUIRE(m->accept_token(5));
  CHECK(m->n_accepted() == 3);
  REQUIRE(m->rollback(2));
  m->fill_mask(again);
  CHECK(again == m1);
  CHECK_FALSE(m->rollback(5));
}

TEST_CASE("matcher: a token budget always ends in a complete document") {
  auto v = tiny({"[", "]", ",", "1", "12", ",1", "[1"});
  auto g = compile_json_schema(R"({"type":"array","items":{"type":"integer"},"minItems":1})");
  REQUIRE(g);
  auto c = make_constraint(*g, v);
  for (int64_t budget : {3, 4, 7, 12}) {
    auto m = grammar_matcher::create(c, {.max_tokens = budget});
    REQUIRE(m);
    std::vector<uint32_t> mask(m->mask_words());
    std::string doc;
    for (;;) {
      m->fill_mask(mask);
      // adversarial sampler: never closes or stops unless forced to
      int32_t pick = -1;
      for (int32_t t : {2, 5, 4, 3, 6, 0, 1, 7})
        if (allowed(mask, t)) {
          pick = t;
          break;
        }
      REQUIRE(pick >= 0);
      if (pick == 7) break;
      REQUIRE(m->accept_token(pick));
      doc += v->token_bytes(pick);
    }
    INFO("budget " << budget << " doc " << doc);
    CHECK(int64_t(m->n_accepted()) <= budget);
    CHECK((*g)->matches(doc));
  }
  // The shortest finish is counted in bytes (one token per byte is always
  // possible in byte-level vocabularies), so "[1]" needs a budget of 3.
  auto too_small = grammar_matcher::create(c, {.max_tokens = 2});
  CHECK_FALSE(too_small);
  auto obj = compile_json_schema(R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})");
  REQUIRE(obj);
  auto refused = grammar_matcher::create(make_constraint(*obj, v), {.max_tokens = 5});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == tern::errc::limit_exceeded);
}
