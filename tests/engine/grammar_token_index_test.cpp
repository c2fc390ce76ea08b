// The first-visit token tables (subtree skips for JSON text and looping
// states, wide states built by clearing a full bitset) against a brute-force
// reference: random vocabularies made of awkward pieces (multi-byte UTF-8,
// cut characters, quotes, backslashes, controls), random walks through
// several schemas and grammars, every mask compared with accept_token tried
// on every token.
#include <tern/engine/grammar.hpp>
#include <tern/engine/maskbench.hpp>

#include "brute_mask.hpp"
#include "fixtures.hpp"
#include "grammar/token_index.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <set>

using namespace tern::engine;

namespace {

using tern::test::brute_mask;

// Feeds `doc` token by token (greedy tokens over the Qwen2 vocabulary at
// `path`) through a matcher of `schema`, comparing the mask with trying every
// token at every `stride`-th position and at the end, where the document must
// be complete. Returns the vocabulary, for checks of its counters.
std::shared_ptr<const token_vocabulary> qwen2_walk_and_compare(const std::filesystem::path& path, const char* schema,
                                                               const std::string& doc, size_t stride = 1) {
  auto vr = load_token_vocabulary(path);
  REQUIRE(vr);
  auto v = *vr;
  auto g = compile_json_schema(schema);
  REQUIRE(g);
  auto m = grammar_matcher::create(make_constraint(*g, v));
  REQUIRE(m);
  auto toks = maskbench::greedy_tokenize(*v, doc);
  REQUIRE(toks);
  std::vector<uint32_t> mask(m->mask_words());
  for (size_t i = 0; i < toks->size(); ++i) {
    if (i % stride == stride - 1) {
      m->fill_mask(mask);
      INFO("token " << i);
      CHECK(mask == brute_mask(*m, *v));
    }
    REQUIRE(m->accept_token((*toks)[i]));
  }
  m->fill_mask(mask);
  CHECK(mask == brute_mask(*m, *v));
  CHECK(m->is_complete());
  return v;
}

// Every single byte (so any document can be spelled), then random
// concatenations of pieces: long runs of clean text make subtrees the skips
// can take, the odd quote, escape, control or cut UTF-8 sequence breaks them.
std::shared_ptr<const token_vocabulary> random_vocab(uint32_t seed, size_t n) {
  static const std::vector<std::string> pieces = {
      "a", "b", "e", "z", "Q", "0", "7", " ", "-", ".", "\"", "\\", "\\n", "\\\"", "\\u00e9", ",", ":", "{", "}",
      "[", "]", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xED\x9F\xBF", "\xE4", "\xB8\xAD", "\x80", "\x01",
      "\x7F", "ab", "name", "true", "null", "12", "e+"};
  std::mt19937 rng(seed);
  std::set<std::string> toks;
  for (int b = 0; b < 256; ++b) toks.insert(std::string(1, char(b)));
  while (toks.size() < n) {
    size_t k = 1 + rng() % 8;
    std::string t;
    // Mostly clean text, so that subtrees below a prefix are large.
    for (size_t i = 0; i < k; ++i) t += pieces[rng() % 100 < 80 ? rng() % 10 : rng() % pieces.size()];
    toks.insert(t);
  }
  std::vector<std::string> bytes(toks.begin(), toks.end());
  std::shuffle(bytes.begin(), bytes.end(), rng);  // token ids unrelated to trie order
  std::vector<uint8_t> special(bytes.size(), 0);
  bytes.push_back("");
  special.push_back(1);
  auto v = make_token_vocabulary(bytes, special, {int32_t(bytes.size() - 1)});
  REQUIRE(v);
  return *v;
}

// Random walk: at each step the mask must equal the reference; then take a
// random allowed token (preferring long ones, which move deeper into strings).
void walk_and_compare(const std::shared_ptr<const constraint>& c, const token_vocabulary& v, std::mt19937& rng,
                      size_t steps) {
  auto m = grammar_matcher::create(c);
  REQUIRE(m);
  std::vector<uint32_t> mask(m->mask_words());
  for (size_t step = 0; step < steps; ++step) {
    m->fill_mask(mask);
    auto ref = brute_mask(*m, v);
    INFO("step " << step);
    REQUIRE(mask == ref);
    std::vector<int32_t> allowed;
    for (int32_t t = 0; t < int32_t(v.size()); ++t)
      if ((mask[size_t(t) >> 5] >> (t & 31)) & 1u && !v.is_special(t)) allowed.push_back(t);
    if (allowed.empty()) break;
    int32_t pick = allowed[rng() % allowed.size()];
    for (int k = 0; k < 3; ++k) {
      int32_t other = allowed[rng() % allowed.size()];
      if (v.token_bytes(other).size() > v.token_bytes(pick).size()) pick = other;
    }
    REQUIRE(m->accept_token(pick));
  }
}

}  // namespace

TEST_CASE("grammar token tables: random vocabularies and walks equal the brute-force masks") {
  const std::vector<std::string> schemas = {
      R"({"type":"string"})",
      R"({"type":"string","maxLength":6})",
      R"({"type":"string","minLength":3,"maxLength":40})",
      R"({"type":"string","pattern":"^[a-z ]*$"})",
      R"({"type":"string","pattern":"^(ab|[0-9e.-])+z?$"})",
      R"({"type":"string","pattern":"ab\\.e"})",  // unanchored: a search automaton, text until the match
      R"({"type":"object","additionalProperties":{"type":"string"}})",
      R"({"type":"object","properties":{"name":{"type":"string"},"ab":{"type":"integer"}},"additionalProperties":{"type":"number"}})",
      R"({"type":"array","items":{"anyOf":[{"type":"string","maxLength":3},{"type":"null"},{"type":"boolean"}]}})",
      R"({"enum":["a","é中","\"q\""]})",
  };
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto v = random_vocab(seed, 1500);
    std::mt19937 rng(seed * 7919u);
    for (const auto& s : schemas) {
      INFO("seed " << seed << " schema " << s);
      auto g = compile_json_schema(s);
      REQUIRE(g);
      // A fresh constraint per walk; the vocabulary's shared tables carry over.
      for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 14);
    }
  }
}

TEST_CASE("grammar token tables: grammar text with a text-like loop and a byte loop") {
  auto v = random_vocab(11, 1200);
  std::mt19937 rng(5);
  for (const char* text : {R"(root ::= "x" [^"\\\x00-\x1f]* "\"" [a-z]* ";")",
                           R"(root ::= ([ -~] | [\u00e9\u4e2d])+ "}")",
                           R"(root ::= "[" [a-z0-9 ]{0,12} "]")"}) {
    INFO(text);
    auto g = compile_grammar_text(text);
    REQUIRE(g);
    for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 12);
  }
}

TEST_CASE("grammar token tables: Qwen2 free strings and additional keys equal the brute-force masks") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  // Positions inside the declared key, an additional key, and string bodies.
  qwen2_walk_and_compare(
      path,
      R"({"type":"object","properties":{"id":{"type":"string","maxLength":30}},"additionalProperties":{"type":"string"}})",
      R"({"id":"中文 text, ok","idx":"Zoë said \"hi\" 😀"})", 2);
}

// Length-counting strings: states near the end skip clean subtrees no deeper
// than their remaining characters (the reach, counted up to 32); the masks
// must still equal trying every token, for lengths below, at and above 32,
// with multi-byte and cut characters.
TEST_CASE("grammar token tables: counting strings of many lengths equal the brute-force masks") {
  for (uint32_t seed : {21u, 22u}) {
    auto v = random_vocab(seed, 1500);
    std::mt19937 rng(seed * 31u);
    for (const char* s : {R"({"type":"string","maxLength":1})", R"({"type":"string","maxLength":2})",
                          R"({"type":"string","minLength":2,"maxLength":5})",
                          R"({"type":"string","maxLength":13})", R"({"type":"string","maxLength":33})",
                          R"({"type":"string","minLength":30,"maxLength":45})",
                          R"({"type":"object","properties":{"k":{"type":"string","maxLength":9}},"required":["k"]})",
                          R"({"type":"string","pattern":"^[a-z ]{0,7}$"})"}) {
      INFO("seed " << seed << " schema " << s);
      auto g = compile_json_schema(s);
      REQUIRE(g);
      for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 20);
    }
  }
}

TEST_CASE("grammar token tables: Qwen2 counting string equals the brute-force masks") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  // Every position of a string that fills the 12 characters with ASCII,
  // two-, three- and four-byte characters and an escape.
  qwen2_walk_and_compare(path, R"({"type":"string","maxLength":12})", "\"ab é中😀\\\"xyz w\"");
}

// Wide states equivalent up to the longest token share one entry (the far
// states of counting strings and patterns longer than every token, across
// grammars too): masks must still equal trying every token, and the sharing
// must actually have happened.
TEST_CASE("grammar token tables: entries reused between equivalent states equal the brute-force masks") {
  for (uint32_t seed : {41u, 42u}) {
    auto v = random_vocab(seed, 1500);
    const auto& vi = v->internals();
    REQUIRE(vi.max_len < 60);
    std::mt19937 rng(seed * 13u);
    for (const char* s : {R"({"type":"string"})", R"({"type":"string","maxLength":100})",
                          R"({"type":"string","minLength":70,"maxLength":120})",
                          R"({"type":"string","maxLength":60})",
                          R"({"type":"string","pattern":"^[a-z .]{0,90}$"})",
                          R"({"type":"string","pattern":"^[^{}]*$","maxLength":80})",
                          R"({"type":"object","additionalProperties":{"type":"string","maxLength":75}})"}) {
      INFO("seed " << seed << " schema " << s);
      auto g = compile_json_schema(s);
      REQUIRE(g);
      for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 24);
    }
    CHECK(vi.n_reused > 10);
  }
}

// Negated classes ([^a ]*, \S+): text-closed only without the excluded
// characters, so subtrees free of them are taken whole; masks must still
// equal trying every token, and that rule must actually have been used.
TEST_CASE("grammar token tables: negated classes equal the brute-force masks") {
  for (uint32_t seed : {51u, 52u}) {
    auto v = random_vocab(seed, 1500);
    std::mt19937 rng(seed * 17u);
    for (const char* s : {R"({"type":"string","pattern":"^[^a ]*$"})", R"({"type":"string","pattern":"^[^0-9.]+$"})",
                          R"({"type":"string","pattern":"^\\S+$"})", R"({"type":"string","pattern":"^x[^-]*y$"})",
                          R"({"type":"string","pattern":"^[^e]*$","maxLength":70})",
                          R"({"type":"string","pattern":"^[^Q]*[^z]$"})",
                          R"({"type":"object","additionalProperties":{"type":"string","pattern":"^[^z,]+$"}})"}) {
      INFO("seed " << seed << " schema " << s);
      auto g = compile_json_schema(s);
      REQUIRE(g);
      for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 16);
    }
    for (const char* text : {R"(root ::= [^a\x00-\x1f]+ ";")", R"(root ::= "\"" [^"\\ b]* "\"")"}) {
      INFO("seed " << seed << " grammar " << text);
      auto g = compile_grammar_text(text);
      REQUIRE(g);
      for (int w = 0; w < 3; ++w) walk_and_compare(make_constraint(*g, v), *v, rng, 16);
    }
    size_t used = 0;
    for (const auto& [key, f] : v->internals().facts) used += f->n_closed_without();
    CHECK(used >= 5);
  }
}

TEST_CASE("grammar token tables: Qwen2 negated class equals the brute-force masks") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto v = qwen2_walk_and_compare(path, R"({"type":"array","items":{"type":"string","pattern":"^[^A-Z_ ]+$"}})",
                                  R"(["abc-def.g","x1é中/😀\"q","z"])");
  size_t used = 0;
  for (const auto& [key, f] : v->internals().facts) used += f->n_closed_without();
  CHECK(used >= 1);
}
