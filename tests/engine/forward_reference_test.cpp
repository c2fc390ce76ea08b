// The reference forward pass against llama.cpp's outputs (tests/data/reference,
// ../shared/reference). Teacher forcing: feed the reference prompt, then the
// reference output tokens one by one; at every step compare the reference's
// top-10 logits with ours and check the argmax wherever the reference's
// top-two gap exceeds the tolerance (random-weight models have near-ties that
// legitimately flip). llama.cpp keeps its KV cache in F16 and we keep F32,
// which accounts for differences around 1e-3.
#include <tern/core/json.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>

#include "fixtures.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace tern::engine;

namespace {

boost::json::value read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = tern::json::parse(ss.str());
  REQUIRE(doc);
  return std::move(*doc);
}

std::vector<std::int32_t> ids_of(const boost::json::value& v) {
  std::vector<std::int32_t> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<std::int32_t>(x.to_number<std::int64_t>()));
  return out;
}

struct stats {
  double max_abs_diff = 0;
  int argmax_checked = 0;
  int steps = 0;
};

// Teacher-forces every generate case of a reference file; returns the worst difference.
stats teacher_force(const std::filesystem::path& model_path, const std::filesystem::path& ref_path, double tolerance) {
  auto m = model::load(model_path);
  REQUIRE(m);
  const auto ref = read_json(ref_path);
  stats st;
  // "generate" is one case or a list of them.
  std::vector<const boost::json::value*> list;
  for (const char* key : {"generate"}) {
    const auto* cases = ref.as_object().if_contains(key);
    if (!cases) continue;
    if (cases->is_array())
      for (const auto& c : cases->as_array()) list.push_back(&c);
    else
      list.push_back(cases);
  }
  REQUIRE_FALSE(list.empty());
  for (const auto* c : list) {
    const auto prompt = ids_of(c->at("prompt_ids"));
    const auto output = ids_of(c->at("output_ids"));
    const auto& steps = c->at("steps").as_array();
    session s(*m, 512, compute_path::reference);  // the oracle; the fast path is checked against it below
    auto logits = s.eval(prompt);
    REQUIRE(logits);
    for (std::size_t step = 0; step < steps.size(); ++step) {
      const auto& top = steps[step].at("top").as_array();
      INFO("prompt " << c->at("prompt") << " step " << step);
      for (const auto& entry : top) {
        const auto id = static_cast<std::size_t>(entry.at("id").to_number<std::int64_t>());
        const double want = entry.at("logit").to_number<double>();
        const double got = (*logits)[id];
        st.max_abs_diff = std::max(st.max_abs_diff, std::abs(got - want));
        CHECK(got == Approx(want).margin(tolerance));
      }
      const double gap = top[0].at("logit").to_number<double>() - top[1].at("logit").to_number<double>();
      if (gap > tolerance) {
        const auto best = std::max_element(logits->begin(), logits->end()) - logits->begin();
        CHECK(best == top[0].at("id").to_number<std::int64_t>());
        ++st.argmax_checked;
      }
      ++st.steps;
      if (step < output.size()) {
        logits = s.eval({&output[step], 1});
        REQUIRE(logits);
      }
    }
  }
  return st;
}

}  // namespace

TEST_CASE("forward: stories260K matches llama.cpp's logits step by step") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(ref_path, "reference/stories260K.json");
  const auto st = teacher_force(model_path, ref_path, 1e-2);
  INFO("max |diff| " << st.max_abs_diff);
  CHECK(st.argmax_checked == st.steps);  // a trained model: every step's gap is clear
  CHECK(st.max_abs_diff < 1e-2);
}

TEST_CASE("forward: llama-2-tiny-random (F16 weights) matches llama.cpp's logits") {
  TERN_NEED_FIXTURE(model_path, "models/llama-2-tiny-random.gguf");
  TERN_NEED_FIXTURE(ref_path, "reference/llama-2-tiny-random.json");
  const auto st = teacher_force(model_path, ref_path, 1e-2);
  INFO("max |diff| " << st.max_abs_diff);
  CHECK(st.steps > 0);
}

TEST_CASE("forward: qwen2-tiny-random (biases, GQA, NeoX RoPE, tied output) matches llama.cpp's logits") {
  TERN_NEED_SHARED(model_path, "models/qwen2-tiny-random.gguf");
  TERN_NEED_FIXTURE(ref_path, "reference/qwen2-tiny-random.json");
  const auto st = teacher_force(model_path, ref_path, 1e-2);
  INFO("max |diff| " << st.max_abs_diff);
  CHECK(st.steps > 0);
}

TEST_CASE("forward: stories260K greedy from BOS reproduces llama2.c's 200 tokens") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(ref_path, "reference/stories260K.json");
  const auto ref = read_json(ref_path);
  const auto& cross = ref.at("crosscheck_llama2c_bos_200");
  const auto prompt = ids_of(cross.at("prompt_ids"));
  const auto want = ids_of(cross.at("output_ids"));
  auto m = model::load(model_path);
  REQUIRE(m);
  session s(*m, 512);
  auto logits = s.eval(prompt);
  REQUIRE(logits);
  std::vector<std::int32_t> got;
  while (got.size() < want.size()) {
    const auto next = static_cast<std::int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
    got.push_back(next);
    logits = s.eval({&next, 1});
    REQUIRE(logits);
  }
  CHECK(got == want);
}

TEST_CASE("forward: bad input to eval is an error, and truncate rolls back exactly") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  auto m = model::load(model_path);
  REQUIRE(m);
  session s(*m, 8);
  CHECK_FALSE(s.eval({}));
  const std::vector<std::int32_t> bad = {1, 512};
  auto r = s.eval(bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("batch index 1"));
  CHECK(s.n_past() == 0);

  const std::vector<std::int32_t> prompt = {1, 403, 407};
  auto first = s.eval(prompt);
  REQUIRE(first);
  const std::vector<float> before(first->begin(), first->end());
  const std::int32_t extra = 5;
  REQUIRE(s.eval({&extra, 1}));
  s.truncate(2);
  auto again = s.eval({&prompt[2], 1});
  REQUIRE(again);
  CHECK(std::vector<float>(again->begin(), again->end()) == before);

  const std::vector<std::int32_t> too_many(6, 1);
  auto full = s.eval(too_many);
  REQUIRE_FALSE(full);
  CHECK(full.error().code() == tern::errc::limit_exceeded);
}

TEST_CASE("forward: the fast path (SIMD, threads, batched prefill) agrees with the reference path") {
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  for (const char* name : {"models/stories260K.gguf", "models/llama-2-tiny-random.gguf"}) {
    auto path = tern::test::fixture(name);
    REQUIRE(path);
    auto m = model::load(*path, {.n_threads = 2});
    REQUIRE(m);
    session fast(*m, 256, compute_path::fast), ref(*m, 256, compute_path::reference);
    std::vector<std::int32_t> prompt;
    for (int i = 0; i < 37; ++i) prompt.push_back(1 + (i * 17) % 300);  // an awkward batch size
    auto a = fast.eval(prompt);
    auto b = ref.eval(prompt);
    REQUIRE(a);
    REQUIRE(b);
    for (int step = 0; step < 8; ++step) {
      double worst = 0;
      for (std::size_t i = 0; i < a->size(); ++i) worst = std::max(worst, double(std::abs((*a)[i] - (*b)[i])));
      INFO(name << " step " << step);
      CHECK(worst < 1e-3);
      const auto next = static_cast<std::int32_t>(std::max_element(b->begin(), b->end()) - b->begin());
      a = fast.eval({&next, 1});
      b = ref.eval({&next, 1});
      REQUIRE(a);
      REQUIRE(b);
    }
  }
}

TEST_CASE("forward: qwen3 (per-head Q/K norm, head_dim != n_embd / n_head) matches Hugging Face transformers") {
  TERN_NEED_FIXTURE(model_path, "models/qwen3-tiny-random.gguf");
  TERN_NEED_FIXTURE(ref_path, "reference/qwen3-tiny-random.hf.json");
  const auto ref = read_json(ref_path);
  const auto tokens = ids_of(ref.at("tokens"));
  const auto& want = ref.at("logits").as_array();
  auto m = model::load(model_path);
  REQUIRE(m);
  CHECK((*m)->params().head_dim == 32);
  CHECK((*m)->params().n_embd / (*m)->params().n_head == 16);
  for (auto path : {compute_path::reference, compute_path::fast}) {
    session s(*m, 64, path);
    double worst = 0;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      auto logits = s.eval({&tokens[t], 1});
      REQUIRE(logits);
      const auto& row = want[t].as_array();
      REQUIRE(row.size() == logits->size());
      for (std::size_t i = 0; i < row.size(); ++i)
        worst = std::max(worst, std::abs(double((*logits)[i]) - row[i].to_number<double>()));
    }
    INFO("max |diff| " << worst);
    CHECK(worst < 1e-4);  // both float32; only summation order differs
  }
}
