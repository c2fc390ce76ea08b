// generate() with a grammar constraint and with a reasoning phase: stopping,
// budgets, errors before evaluation, streaming, prefix reuse, budget forcing,
// and grammar_matcher::can_accept against the mask it stands in for.
#include <tern/core/json.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/maskbench.hpp>
#include <tern/engine/model.hpp>

#include "fixtures.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace tern::engine;

namespace {

const char* const person_schema = R"({"type":"object","properties":{
    "name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
    "role":{"enum":["admin","user"]}},"required":["name","age","role"],"additionalProperties":false})";

struct loaded {
  std::shared_ptr<const model> m;
  const tokenizer* tok = nullptr;
  std::shared_ptr<const token_vocabulary> vocab;
};

loaded load(const std::filesystem::path& p) {
  loaded l;
  auto m = model::load(p, {.n_threads = 1});
  REQUIRE(m);
  l.m = *m;
  l.tok = l.m->vocab();
  REQUIRE(l.tok);
  auto v = make_token_vocabulary(*l.tok);
  REQUIRE(v);
  l.vocab = *v;
  return l;
}

std::shared_ptr<const constraint> constrain(const loaded& l, const char* schema) {
  auto g = compile_json_schema(schema);
  REQUIRE(g);
  return make_constraint(*g, l.vocab);
}

std::string pieces(const tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t t : ids) s += tok.token_to_piece(t, true);
  return s;
}

bool bit(const std::vector<uint32_t>& mask, int32_t t) { return (mask[size_t(t) >> 5] >> (t & 31)) & 1u; }

}  // namespace

TEST_CASE("generate constrained: make_token_vocabulary(tokenizer) spells tokens as the detokenizer does") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto tok = tokenizer::load(path);
  REQUIRE(tok);
  auto v = make_token_vocabulary(*tok);
  REQUIRE(v);
  auto from_file = load_token_vocabulary(path);
  REQUIRE(from_file);
  REQUIRE((*v)->size() == tok->n_tokens());
  CHECK((*v)->size() == (*from_file)->size());
  size_t n_special = 0;
  for (int32_t t = 0; t < int32_t((*v)->size()); ++t) {
    if ((*v)->is_special(t)) {
      ++n_special;
      continue;
    }
    REQUIRE((*v)->token_bytes(t) == tok->token_to_piece(t, false));
  }
  CHECK(n_special > 0);
  CHECK(n_special < 1000);
  for (int32_t e : (*v)->eos_tokens()) CHECK(tok->is_eog(e));
  CHECK_FALSE((*v)->eos_tokens().empty());
}

TEST_CASE("generate constrained: greedy output is a complete document and stops there") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto l = load(path);
  session s(l.m, 256);
  const auto prompt = l.tok->encode("Once upon a time", true, false);
  generate_options o;
  o.max_tokens = 120;
  o.constraint = constrain(l, person_schema);
  std::string streamed;
  auto out = generate(s, *l.tok, prompt, o, [&](std::string_view piece) {
    streamed += piece;
    return true;
  });
  REQUIRE(out);
  INFO(out->text);
  CHECK(out->reason == stop_reason::grammar_complete);
  CHECK(streamed == out->text);
  CHECK(out->text == l.tok->decode(out->tokens));
  auto doc = tern::json::parse(out->text);
  REQUIRE(doc);
  CHECK(doc->as_object().at("age").is_int64());
  CHECK(doc->as_object().size() == 3);
  CHECK(out->stats.n_generated <= 120);
  CHECK(out->stats.n_masks > 0);  // a random model's argmax is rarely allowed
  CHECK(out->stats.n_masks <= out->stats.n_generated + 1);

  SECTION("prefix reuse: the same request again reuses the prompt and gives the same document") {
    auto again = generate(s, *l.tok, prompt, o);
    REQUIRE(again);
    CHECK(again->stats.n_prompt_reused == static_cast<std::int64_t>(prompt.size()) - 1);
    CHECK(again->text == out->text);
  }
  SECTION("cancelling from the callback stops the document early, reported as cancelled") {
    auto cut = generate(s, *l.tok, prompt, o, [](std::string_view) { return false; });
    REQUIRE(cut);
    CHECK(cut->reason == stop_reason::cancelled);
  }
}

TEST_CASE("generate constrained: a small budget still ends in a valid document") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto l = load(path);
  session s(l.m, 256);
  const auto prompt = l.tok->encode("Once", true, false);
  auto c = constrain(l, R"({"type":"object","properties":{"note":{"type":"string"}},"required":["note"],"additionalProperties":false})");
  const std::int64_t shortest = 11;  // {"note":""}
  for (int budget : {11, 12, 15, 24}) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      generate_options o;
      o.max_tokens = budget;
      o.sampling = {.temperature = 1.0f, .seed = seed};
      o.constraint = c;
      auto out = generate(s, *l.tok, prompt, o);
      REQUIRE(out);
      INFO("budget " << budget << ": " << out->text);
      CHECK(out->reason == stop_reason::grammar_complete);
      CHECK(out->stats.n_generated <= budget);
      auto doc = tern::json::parse(out->text);
      REQUIRE(doc);
      CHECK(doc->as_object().at("note").is_string());
    }
  }
  SECTION("a budget below the shortest document is refused before anything is evaluated") {
    session fresh(l.m, 256);
    generate_options o;
    o.max_tokens = shortest - 1;
    o.constraint = c;
    auto out = generate(fresh, *l.tok, prompt, o);
    REQUIRE_FALSE(out);
    CHECK(out.error().code() == tern::errc::limit_exceeded);
    CHECK(out.error().describe().find("shortest valid document") != std::string::npos);
    CHECK(fresh.n_past() == 0);
  }
  SECTION("the context limits the budget too") {
    session small(l.m, static_cast<std::int64_t>(prompt.size()) + 4);
    generate_options o;
    o.max_tokens = 100;
    o.constraint = c;
    auto out = generate(small, *l.tok, prompt, o);
    REQUIRE_FALSE(out);
    CHECK(out.error().code() == tern::errc::limit_exceeded);
    CHECK(out.error().describe().find("context") != std::string::npos);
  }
}

TEST_CASE("generate constrained: a constraint for another vocabulary is refused, never ignored") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(qwen_path, "models/qwen2-vocab.gguf");
  auto l = load(path);
  auto other = load_token_vocabulary(qwen_path);
  REQUIRE(other);
  auto g = compile_json_schema(R"({"type":"integer"})");
  REQUIRE(g);
  session s(l.m, 64);
  generate_options o;
  o.constraint = make_constraint(*g, *other);
  auto out = generate(s, *l.tok, l.tok->encode("x", true, false), o);
  REQUIRE_FALSE(out);
  CHECK(out.error().code() == tern::errc::invalid_argument);
}

TEST_CASE("generate constrained: a grammar text constrains too") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto l = load(path);
  auto g = compile_grammar_text(R"(root ::= "answer: " ("yes" | "no") "\n")");
  REQUIRE(g);
  session s(l.m, 128);
  generate_options o;
  o.max_tokens = 20;
  o.sampling = {.temperature = 1.0f, .seed = 5};
  o.constraint = make_constraint(*g, l.vocab);
  auto out = generate(s, *l.tok, l.tok->encode("Q", true, false), o);
  REQUIRE(out);
  CHECK((out->text == "answer: yes\n" || out->text == "answer: no\n"));
  CHECK(out->reason == stop_reason::grammar_complete);
}

TEST_CASE("generate constrained: can_accept agrees with fill_mask, the budget included") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto v = load_token_vocabulary(path);
  REQUIRE(v);
  auto g = compile_json_schema(person_schema);
  REQUIRE(g);
  auto c = make_constraint(*g, *v);
  std::mt19937 rng(11);
  for (int64_t budget : {-1, 50, 40}) {
    auto m = grammar_matcher::create(c, {.max_tokens = budget});
    REQUIRE(m);
    std::vector<uint32_t> mask(m->mask_words());
    for (int step = 0; step < 60 && !m->is_finished(); ++step) {
      m->fill_mask(mask);
      std::vector<int32_t> allowed;
      for (int32_t t = 0; t < int32_t((*v)->size()); ++t) {
        const bool in_mask = bit(mask, t);
        if (in_mask) allowed.push_back(t);
        if (m->can_accept(t) != in_mask) {
          INFO("budget " << budget << " step " << step << " token " << t);
          REQUIRE(m->can_accept(t) == in_mask);
        }
      }
      REQUIRE_FALSE(allowed.empty());
      // Prefer long tokens so the walk reaches strings, numbers and the budget's edge.
      std::uniform_int_distribution<size_t> pick(0, allowed.size() - 1);
      int32_t t = allowed[pick(rng)];
      if (m->is_complete() && (*v)->is_special(t)) break;
      REQUIRE(m->accept_token(t));
    }
  }
}

TEST_CASE("generate reasoning: budget forcing closes the thought, then the answer is constrained") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto l = load(path);
  session s(l.m, 256);
  const auto prompt = l.tok->encode("Think", true, false);
  const auto open_ids = l.tok->encode("<think>", false, true);
  const auto close_ids = l.tok->encode("</think>", false, true);
  REQUIRE(close_ids.size() > 1);  // several ordinary tokens in this vocabulary
  generate_options o;
  o.max_tokens = 150;
  o.sampling = {.temperature = 1.0f, .seed = 9};
  o.constraint = constrain(l, person_schema);
  o.reasoning = {.enabled = true, .opened_by_prompt = false, .max_thinking_tokens = 7};
  auto out = generate(s, *l.tok, prompt, o);
  REQUIRE(out);
  INFO("thought: " << out->reasoning << "\nanswer: " << out->text);
  CHECK(out->reason == stop_reason::grammar_complete);
  CHECK(out->n_thinking_tokens <= static_cast<std::int64_t>(open_ids.size() + 7 + close_ids.size()));
  CHECK(out->n_thinking_tokens >= static_cast<std::int64_t>(open_ids.size() + close_ids.size()));
  CHECK(std::equal(open_ids.begin(), open_ids.end(), out->tokens.begin()));
  CHECK(out->reasoning.find("</think>") == std::string::npos);
  CHECK(out->reasoning.find("<think>") == std::string::npos);
  REQUIRE(tern::json::parse(out->text));
  // The tokens hold the whole output: open, thought, close, then the document.
  const std::string all = pieces(*l.tok, out->tokens);
  CHECK(all.find("<think>") < all.find(out->reasoning));
  CHECK(all.ends_with("</think>" + out->text));

  SECTION("without a thinking budget the overall budget forces the close in time for the answer") {
    o.reasoning.max_thinking_tokens = -1;
    o.max_tokens = 60;
    auto tight = generate(s, *l.tok, prompt, o);
    REQUIRE(tight);
    CHECK(tight->reason == stop_reason::grammar_complete);
    CHECK(tight->stats.n_generated <= 60);
    CHECK(tern::json::parse(tight->text));
  }
  SECTION("a budget that cannot hold the markers and the document is refused up front") {
    o.max_tokens = static_cast<int>(open_ids.size() + close_ids.size()) + 10;
    auto refused = generate(s, *l.tok, prompt, o);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == tern::errc::limit_exceeded);
  }
  SECTION("a thinking budget of zero closes at once") {
    o.reasoning.max_thinking_tokens = 0;
    o.reasoning.opened_by_prompt = true;
    auto none = generate(s, *l.tok, prompt, o);
    REQUIRE(none);
    INFO("none: thought '" << none->reasoning << "' answer " << none->text);
    CHECK(none->reasoning.empty());
    CHECK(none->n_thinking_tokens == static_cast<std::int64_t>(close_ids.size()));
    CHECK(tern::json::parse(none->text));
  }
}

TEST_CASE("generate reasoning: a one-token close marker (a control token) is matched by its text") {
  TERN_NEED_FIXTURE(model_path, "models/qwen3-tiny-random.gguf");
  TERN_NEED_FIXTURE(vocab_path, "models/stories260K.gguf");
  // qwen3-tiny-random has a 512-row output and no tokenizer; give it
  // stories260K's vocabulary with the last token turned into a control token
  // spelled </think>, as in Qwen3.
  auto m = model::load(model_path, {.n_threads = 1});
  REQUIRE(m);
  auto base = tokenizer::load(vocab_path);
  REQUIRE(base);
  vocab v = base->vocabulary();
  const auto think_id = static_cast<token_id>(v.tokens.size() - 1);
  v.tokens[size_t(think_id)] = "</think>";
  if (v.types.empty()) v.types.assign(v.tokens.size(), token_type::normal);
  v.types[size_t(think_id)] = token_type::control;
  auto tok = tokenizer::create(std::move(v));
  REQUIRE(tok);
  REQUIRE(tok->encode("</think>", false, true) == std::vector<token_id>{think_id});
  auto vocab_bytes = make_token_vocabulary(*tok);
  REQUIRE(vocab_bytes);
  CHECK((*vocab_bytes)->is_special(think_id));
  auto g = compile_json_schema(R"({"type":"array","items":{"type":"integer"},"maxItems":3})");
  REQUIRE(g);
  session s(*m, 200);
  const auto prompt = tok->encode("Hi", true, false);
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    generate_options o;
    o.max_tokens = 80;
    o.sampling = {.temperature = 1.0f, .seed = seed};
    o.constraint = make_constraint(*g, *vocab_bytes);
    o.reasoning = {.enabled = true, .opened_by_prompt = true, .max_thinking_tokens = 5};
    auto out = generate(s, *tok, prompt, o);
    REQUIRE(out);
    INFO("seed " << seed << " thought " << out->reasoning << " answer " << out->text);
    CHECK(out->n_thinking_tokens <= 6);
    CHECK(out->tokens[size_t(out->n_thinking_tokens - 1)] == think_id);
    CHECK(out->reason == stop_reason::grammar_complete);
    auto doc = tern::json::parse(out->text);
    REQUIRE(doc);
    CHECK(doc->is_array());
  }
}

TEST_CASE("generate reasoning: unconstrained, the thought and the answer are separated") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto l = load(path);
  session s(l.m, 256);
  generate_options o;
  o.max_tokens = 30;
  o.stop_at_end_of_generation = false;
  o.reasoning = {.enabled = true, .opened_by_prompt = true, .max_thinking_tokens = 4};
  std::string streamed;
  auto out = generate(s, *l.tok, l.tok->encode("Once", true, false), o, [&](std::string_view p) {
    streamed += p;
    return true;
  });
  REQUIRE(out);
  const auto close_ids = l.tok->encode("</think>", false, true);
  CHECK(out->n_thinking_tokens == static_cast<std::int64_t>(4 + close_ids.size()));
  CHECK(out->stats.n_generated == 30);
  CHECK(streamed == out->text);  // the thought is not streamed
  const std::string all = pieces(*l.tok, out->tokens);
  CHECK(all.find(out->reasoning) != std::string::npos);
  CHECK(all.ends_with("</think>" + out->text));
}
