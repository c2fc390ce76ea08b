#include <tern/engine/sampler.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <vector>

using namespace tern::engine;

TEST_CASE("sampler: greedy takes the argmax, ties to the lowest id") {
  sampler s({});
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  CHECK(s.sample(logits, {}) == 1);
}

TEST_CASE("sampler: the allowed mask restricts every mode") {
  const std::vector<float> logits = {5.0f, 1.0f, 0.0f, 3.0f};
  const std::vector<std::uint64_t> only_2_and_3 = {0b1100};
  sampler greedy({});
  CHECK(greedy.sample(logits, {}, only_2_and_3) == 3);
  sampler hot({.temperature = 5.0f, .seed = 3});
  for (int i = 0; i < 200; ++i) {
    auto t = hot.sample(logits, {}, only_2_and_3);
    CHECK((t == 2 || t == 3));
  }
  const std::vector<std::uint64_t> none = {0};
  CHECK(greedy.sample(logits, {}, none) == -1);
}

TEST_CASE("sampler: penalties push repeated tokens down") {
  const std::vector<float> logits = {3.0f, 2.9f, 0.0f};
  const std::vector<std::int32_t> history = {0, 0};
  sampler rep({.repetition_penalty = 1.5f});
  CHECK(rep.sample(logits, history) == 1);  // 3.0 / 1.5 = 2.0 < 2.9
  sampler presence({.presence_penalty = 0.2f});
  CHECK(presence.sample(logits, history) == 1);  // 3.0 - 0.2 = 2.8
  sampler frequency({.frequency_penalty = 0.04f});
  CHECK(frequency.sample(logits, history) == 0);  // 3.0 - 0.08 = 2.92 > 2.9
  sampler out_of_window({.presence_penalty = 0.2f, .penalty_last_n = 1});
  CHECK(out_of_window.sample(logits, std::vector<std::int32_t>{0, 1}) == 0);  // only token 1 is in the window
}

TEST_CASE("sampler: the same seed gives the same sequence; another seed differs") {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = static_cast<float>(i % 7) * 0.3f;
  auto run = [&](std::uint64_t seed) {
    sampler s({.temperature = 1.0f, .seed = seed});
    std::vector<std::int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits, {}));
    return out;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("sampler: top-k, top-p and min-p cut the tail") {
  const std::vector<float> logits = {4.0f, 3.0f, 2.0f, -10.0f, -10.0f};
  sampler topk({.temperature = 1.0f, .top_k = 2, .seed = 1});
  sampler topp({.temperature = 1.0f, .top_p = 0.6f, .seed = 1});
  sampler minp({.temperature = 1.0f, .min_p = 0.2f, .seed = 1});
  for (int i = 0; i < 300; ++i) {
    CHECK(topk.sample(logits, {}) <= 1);
    CHECK(topp.sample(logits, {}) == 0);  // p(0) = 0.665 >= 0.6 alone
    CHECK(minp.sample(logits, {}) <= 1);  // p(2)/p(0) = e^-2 = 0.135 < 0.2
  }
}

TEST_CASE("sampler: temperature draws follow the softmax") {
  const std::vector<float> logits = {0.0f, std::log(3.0f)};  // p = 1/4, 3/4
  sampler s({.temperature = 1.0f, .seed = 99});
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits, {})];
  CHECK(counts[1] / double(n) == Approx(0.75).margin(0.02));
}
