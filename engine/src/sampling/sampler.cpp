#include <tern/engine/sampler.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace tern::engine {
namespace {

bool is_allowed(std::span<const std::uint64_t> allowed, std::int32_t id) {
  if (allowed.empty()) return true;
  const auto word = static_cast<std::size_t>(id) / 64;
  return word < allowed.size() && ((allowed[word] >> (static_cast<unsigned>(id) % 64)) & 1u);
}

}  // namespace

sampler::sampler(const sampling_params& params) : params_(params), rng_(params.seed) {}

double sampler::next_uniform() {
  // 53 random bits -> [0, 1); the same on every platform (unlike std::uniform_real_distribution).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

std::int32_t sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history,
                             std::span<const std::uint64_t> allowed) {
  const auto n_vocab = static_cast<std::int32_t>(logits.size());

  // Penalties from the recent history: token -> occurrence count.
  const bool penalise = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  std::unordered_map<std::int32_t, int> counts;
  if (penalise) {
    std::size_t n = history.size();
    if (params_.penalty_last_n >= 0) n = std::min(n, static_cast<std::size_t>(params_.penalty_last_n));
    for (std::size_t i = history.size() - n; i < history.size(); ++i) ++counts[history[i]];
  }
  auto penalised = [&](std::int32_t id) {
    float logit = logits[static_cast<std::size_t>(id)];
    if (!penalise) return logit;
    auto it = counts.find(id);
    if (it == counts.end()) return logit;
    if (params_.repetition_penalty != 1.0f)
      logit = logit > 0 ? logit / params_.repetition_penalty : logit * params_.repetition_penalty;
    logit -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(it->second);
    return logit;
  };

  if (params_.temperature <= 0.0f) {
    std::int32_t best = -1;
    float best_logit = -std::numeric_limits<float>::infinity();
    for (std::int32_t id = 0; id < n_vocab; ++id) {
      if (!is_allowed(allowed, id)) continue;
      const float l = penalised(id);
      if (best < 0 || l > best_logit) {  // strict '>': ties go to the lowest id
        best = id;
        best_logit = l;
      }
    }
    return best;
  }

  candidates_.clear();
  for (std::int32_t id = 0; id < n_vocab; ++id)
    if (is_allowed(allowed, id)) candidates_.emplace_back(penalised(id), id);
  if (candidates_.empty()) return -1;

  // No cut (plain temperature): draw in id order, no sort. Same distribution;
  // sorting 150k candidates per token would cost more than a small model's
  // forward pass.
  const bool cut = (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < candidates_.size()) ||
                   params_.top_p < 1.0f || params_.min_p > 0.0f;
  if (!cut) {
    float top = candidates_.front().first;
    for (const auto& c : candidates_) top = std::max(top, c.first);
    double sum = 0;
    for (auto& c : candidates_) sum += c.first = static_cast<float>(std::exp((double(c.first) - top) / params_.temperature));
    double r = next_uniform() * sum;
    for (const auto& c : candidates_) {
      r -= c.first;
      if (r < 0) return c.second;
    }
    return candidates_.back().second;
  }

  // Sort by logit, descending; ties by id so the order is deterministic.
  auto by_logit = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < candidates_.size()) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + params_.top_k, candidates_.end(), by_logit);
    candidates_.resize(static_cast<std::size_t>(params_.top_k));
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }

  // Softmax at temperature 1 for the top-p / min-p cuts (as llama.cpp's chain does),
  // then the temperature applies to what is left.
  const float max_logit = candidates_.front().first;
  std::vector<double> probs(candidates_.size());
  double total = 0;
  for (std::size_t i = 0; i < candidates_.size(); ++i) total += probs[i] = std::exp(double(candidates_[i].first) - max_logit);

  std::size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
      cumulative += probs[i] / total;
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double threshold = params_.min_p * (probs[0] / total);
    std::size_t i = 1;
    while (i < keep && probs[i] / total >= threshold) ++i;
    keep = i;
  }
  candidates_.resize(keep);

  double sum = 0;
  std::vector<double> weights(keep);
  for (std::size_t i = 0; i < keep; ++i)
    sum += weights[i] = std::exp((double(candidates_[i].first) - max_logit) / params_.temperature);
  double r = next_uniform() * sum;
  for (std::size_t i = 0; i < keep; ++i) {
    r -= weights[i];
    if (r < 0) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace tern::engine
