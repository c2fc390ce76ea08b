// Decode and prefill speed of the local engine, against the memory-bandwidth
// bound: decoding one token reads every weight once, so
//   tok/s <= read bandwidth / weight bytes per token.
//
//   tern make-model --arch qwen2 --layers 24 --hidden 896 --heads 14 --kv-heads 2 --ffn 4864 \
//       --vocab-from ../shared/models/qwen2-vocab.gguf --tied --type q8_0 -o qwen2.5-0.5b-shape-q8_0.gguf
//   bench_decode --model qwen2.5-0.5b-shape-q8_0.gguf [--bandwidth GBPS] [--threads N]
//
// --bandwidth is the figure bench_membw printed for all threads; with it the
// ratio to the bound is printed too. Prefill: one batch of --prompt tokens;
// decode: --tokens single-token steps after it (median of the per-token times).
#include <tern/core/clock.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  std::string model_path;
  double bandwidth_gbs = 0;
  int threads = 0, n_prompt = 128, n_decode = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    if (arg == "--model") model_path = argv[i + 1];
    else if (arg == "--bandwidth") bandwidth_gbs = std::atof(argv[i + 1]);
    else if (arg == "--threads") threads = std::atoi(argv[i + 1]);
    else if (arg == "--prompt") n_prompt = std::atoi(argv[i + 1]);
    else if (arg == "--tokens") n_decode = std::atoi(argv[i + 1]);
  }
  if (model_path.empty()) {
    fmt::print(stderr, "usage: bench_decode --model FILE.gguf [--bandwidth GBPS] [--threads N] [--prompt N] [--tokens N]\n");
    return 2;
  }
  auto m = tern::engine::model::load(model_path, {.n_threads = threads});
  if (!m) {
    fmt::print(stderr, "error: {}\n", m.error().describe());
    return 1;
  }
  const auto& hp = (*m)->params();
  const double bytes_per_token = static_cast<double>((*m)->weight_bytes_per_token());
  tern::engine::session s(*m, n_prompt + n_decode + 8);

  std::vector<std::int32_t> prompt(static_cast<std::size_t>(n_prompt));
  for (int i = 0; i < n_prompt; ++i) prompt[i] = static_cast<std::int32_t>((i * 7919 + 13) % hp.n_vocab);
  tern::stopwatch sw;
  auto logits = s.eval(prompt);
  const double prefill_s = sw.elapsed_s();
  if (!logits) {
    fmt::print(stderr, "error: {}\n", logits.error().describe());
    return 1;
  }
  std::vector<double> step_ms;
  for (int i = 0; i < n_decode; ++i) {
    const auto next = static_cast<std::int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
    sw.reset();
    logits = s.eval({&next, 1});
    step_ms.push_back(sw.elapsed_ms());
    if (!logits) return 1;
  }
  std::sort(step_ms.begin(), step_ms.end());
  const double median_ms = step_ms[step_ms.size() / 2];
  const double decode_tps = 1000.0 / median_ms;
  const double effective_gbs = bytes_per_token * decode_tps / 1e9;

  fmt::print("model: {} ({} layers, n_embd {}, vocab {}, {:.1f} MB of weights read per token), threads {}\n",
             model_path, hp.n_layer, hp.n_embd, hp.n_vocab, bytes_per_token / 1e6, (*m)->n_threads());
  fmt::print("prefill: {} tokens in {:.1f} ms = {:.1f} tok/s\n", n_prompt, prefill_s * 1000, n_prompt / prefill_s);
  fmt::print("decode: median {:.2f} ms/token = {:.2f} tok/s; weights read at {:.2f} GB/s\n", median_ms, decode_tps,
             effective_gbs);
  if (bandwidth_gbs > 0)
    fmt::print("bound: {:.2f} tok/s at {:.2f} GB/s measured read bandwidth; ratio to bound {:.2f}\n",
               bandwidth_gbs * 1e9 / bytes_per_token, bandwidth_gbs, effective_gbs / bandwidth_gbs);
  return 0;
}
