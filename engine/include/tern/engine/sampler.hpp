// Turning logits into the next token: greedy, temperature, top-k, top-p,
// min-p, repetition / presence / frequency penalties. Seeded and
// reproducible: the same params, seed, logits and history give the same
// token on every machine (the random stream is mt19937_64, which the C++
// standard fixes bit for bit, turned into uniforms by our own code).
//
//   tern::engine::sampler s({.temperature = 0.7f, .top_p = 0.9f, .seed = 42});
//   int32_t next = s.sample(logits, history);
//
// Order of the chain (as llama.cpp's default): penalties -> top-k -> top-p ->
// min-p -> temperature -> draw. temperature <= 0 means greedy: the argmax of
// the penalised logits, ties to the lowest id. Without a top-k/top-p/min-p
// cut the draw walks the tokens in id order (no sort); with one, in order of
// logit.
// Thread safety: a sampler holds its own random state; use one per sequence.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tern::engine {

struct sampling_params {
  float temperature = 0.0f;         // <= 0: greedy
  int top_k = 0;                    // keep the k most likely; 0 = off
  float top_p = 1.0f;               // nucleus: smallest set with probability >= top_p; 1 = off
  float min_p = 0.0f;               // drop tokens with p < min_p * p_max; 0 = off
  float repetition_penalty = 1.0f;  // > 1 discourages tokens in the recent history (CTRL-style:
                                    // positive logits divided, negative multiplied); 1 = off
  float presence_penalty = 0.0f;    // subtracted once from each token in the recent history
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the recent history
  int penalty_last_n = 64;          // how much history the penalties look at; -1 = all
  std::uint64_t seed = 0;
};

class sampler {
 public:
  explicit sampler(const sampling_params& params);

  // Picks the next token. logits: one value per vocabulary entry (not
  // modified). history: the tokens so far (prompt and output), for penalties.
  // allowed: optional bitset over token ids (bit i of word i/64 set = token i
  // allowed), e.g. from a grammar; empty = all allowed. Returns -1 only if no
  // token is allowed.
  std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history,
                      std::span<const std::uint64_t> allowed = {});

  const sampling_params& params() const noexcept { return params_; }

 private:
  double next_uniform();  // in [0, 1)

  sampling_params params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, std::int32_t>> candidates_;  // reused between calls
};

}  // namespace tern::engine
