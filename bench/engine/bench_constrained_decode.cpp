// Decode speed with a JSON-Schema constraint against the same decode without
// one (issue #5 target: constrained >= 0.95x unconstrained). Both go through
// generate() with the same prompt and token count; tok/s = generated tokens /
// decode time. The constraint is built once and reused, as an application
// caches it per (schema, model); the first run of a fresh constraint (which
// builds its mask tables) is printed separately.
//
//   tern make-model --arch qwen2 --layers 24 --hidden 896 --heads 14 --kv-heads 2 --ffn 4864 \
//       --vocab-from tests/data/models/qwen2-vocab.gguf --tied --type q8_0 -o qwen2.5-0.5b-shape-q8_0.gguf
//   bench_constrained_decode --model qwen2.5-0.5b-shape-q8_0.gguf --schema tests/data/tool-schemas/search_flights.json \
//       [--threads 2] [--tokens 64] [--runs 3]
#include <tern/engine/generator.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/model.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace tern::engine;

namespace {

struct measured {
  double tok_s = 0;
  std::int64_t tokens = 0, masks = 0, forced = 0;
  std::string reason;
};

measured run(session& s, const tokenizer& tok, const std::vector<std::int32_t>& prompt, int n, float temperature,
             std::shared_ptr<const constraint> c) {
  generate_options o;
  o.max_tokens = n;
  o.stop_at_end_of_generation = false;
  o.sampling = {.temperature = temperature, .seed = 7};
  o.constraint = std::move(c);
  auto g = generate(s, tok, prompt, o);
  if (!g) {
    fmt::print(stderr, "error: {}\n", g.error().describe());
    std::exit(1);
  }
  measured m;
  m.tokens = g->stats.n_generated;
  m.tok_s = g->stats.decode_ms > 0 ? 1000.0 * double(g->stats.n_generated) / g->stats.decode_ms : 0;
  m.masks = g->stats.n_masks;
  m.forced = g->stats.n_forced;
  m.reason = std::string(to_string(g->reason));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, schema_path;
  int threads = 2, n_tokens = 64, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--model") model_path = argv[i + 1];
    else if (a == "--schema") schema_path = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--tokens") n_tokens = std::atoi(argv[i + 1]);
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
  }
  if (model_path.empty() || schema_path.empty()) {
    fmt::print(stderr, "usage: bench_constrained_decode --model FILE.gguf --schema SCHEMA.json [--threads N] [--tokens N] [--runs N]\n");
    return 2;
  }
  auto m = model::load(model_path, {.n_threads = threads});
  if (!m || !(*m)->vocab()) {
    fmt::print(stderr, "error: {}\n", m ? "the model has no tokenizer" : m.error().describe());
    return 1;
  }
  const tokenizer& tok = *(*m)->vocab();
  std::ifstream f(schema_path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto g = compile_json_schema(ss.str());
  auto vocab = make_token_vocabulary(tok);
  if (!g || !vocab) {
    fmt::print(stderr, "error: {}\n", !g ? g.error().describe() : vocab.error().describe());
    return 1;
  }
  const auto prompt = tok.encode("Search flights from Paris to Tokyo for two adults in May. Arguments as JSON:", true, false);
  session s(*m, static_cast<std::int64_t>(prompt.size()) + n_tokens + 8);
  fmt::print("model {}  threads {}  {} tokens per run, {} runs, schema {}\n", model_path, threads, n_tokens, runs,
             schema_path);

  for (float temperature : {0.0f, 1.0f}) {
    auto c = make_constraint(*g, *vocab);
    const measured cold = run(s, tok, prompt, n_tokens, temperature, c);
    std::vector<double> free_tps, con_tps;
    measured last;
    for (int r = 0; r < runs; ++r) {  // interleaved, so drift from the shared machine hits both alike
      free_tps.push_back(run(s, tok, prompt, n_tokens, temperature, nullptr).tok_s);
      last = run(s, tok, prompt, n_tokens, temperature, c);
      con_tps.push_back(last.tok_s);
    }
    std::sort(free_tps.begin(), free_tps.end());
    std::sort(con_tps.begin(), con_tps.end());
    const double free_med = free_tps[free_tps.size() / 2], con_med = con_tps[con_tps.size() / 2];
    fmt::print("{}: unconstrained {:.2f} tok/s | constrained {:.2f} tok/s ({} tokens, {} masks, {} forced, stop {}) | "
               "first run of a fresh constraint {:.2f} tok/s\n",
               temperature > 0 ? "temperature 1" : "greedy", free_med, con_med, last.tokens, last.masks, last.forced,
               last.reason, cold.tok_s);
    fmt::print("  ratio constrained/unconstrained: {:.3f} (target >= 0.95); cold {:.3f}\n", con_med / free_med,
               cold.tok_s / free_med);
  }
  return 0;
}
