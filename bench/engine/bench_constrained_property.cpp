// The constrained-generation property at scale: for every tool schema in
// tests/data/tool-schemas and 50 MaskBench schemas (../shared/maskbench),
// N seeds (default 200) of temperature-1 sampling on random-weight models, each
// document judged by simdjson + tools::schema_validator. Prints the valid
// fraction (bound: 1.0) and the time per model.
//
//   bench_constrained_property [--seeds N] [--schemas tools|maskbench|all] [--models a.gguf,b.gguf] [--verbose]
//                              [--shard K/N]   (schemas K, K+N, ...: run N processes and add up their counts)
#include "../../tests/engine/constrained_property.hpp"

#include <tern/core/clock.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <string_view>

using namespace tern::test::constrained;

int main(int argc, char** argv) {
  int seeds = 200;
  std::size_t shard = 0, n_shards = 1;
  std::string which = "all";
  bool verbose = false;
  std::vector<std::string> model_list;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--seeds" && i + 1 < argc) seeds = std::atoi(argv[++i]);
    else if (a == "--schemas" && i + 1 < argc) which = argv[++i];
    else if (a == "--verbose") verbose = true;
    else if (a == "--shard" && i + 1 < argc) {
      const std::string v = argv[++i];
      shard = std::stoul(v.substr(0, v.find('/')));
      n_shards = std::max<std::size_t>(1, std::stoul(v.substr(v.find('/') + 1)));
    }
    else if (a == "--models" && i + 1 < argc) {
      std::string s = argv[++i];
      for (std::size_t p = 0; p <= s.size();) {
        auto q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        if (q > p) model_list.push_back(s.substr(p, q - p));
        p = q + 1;
      }
    }
  }
  const std::filesystem::path src(TERN_SOURCE_DIR), shared(TERN_SHARED_DIR);
  const std::int64_t slack = 48;
  std::vector<schema_case> cases;
  if (which != "maskbench") {
    auto t = tool_schemas(src / "tests/data/tool-schemas", slack);
    if (!t) {
      fmt::print(stderr, "error: {}\n", t.error().describe());
      return 1;
    }
    for (auto& c : *t) cases.push_back(std::move(c));
  }
  if (which != "tools" && std::filesystem::exists(shared / "maskbench"))
    for (auto& c : maskbench_schemas(shared / "maskbench", 50, 11, slack)) cases.push_back(std::move(c));

  if (model_list.empty())
    model_list = {(src / "tests/data/models/stories260K.gguf").string(), (src / "tests/data/models/llama-2-tiny-random.gguf").string(),
                  (src / "tests/data/models/qwen3-tiny-random.gguf").string(), (shared / "models/qwen2-tiny-random.gguf").string()};
  std::vector<model_case> models;
  for (const auto& p : model_list) {
    if (!std::filesystem::exists(p)) continue;
    const bool no_tok = p.find("qwen3-tiny-random") != std::string::npos;  // borrows stories260K's 512-token vocabulary
    auto m = load_model(p, 512, no_tok ? src / "tests/data/models/stories260K.gguf" : std::filesystem::path());
    if (!m) {
      fmt::print(stderr, "error: {}\n", m.error().describe());
      return 1;
    }
    models.push_back(std::move(*m));
  }
  if (models.empty() || cases.empty()) {
    fmt::print(stderr, "error: no models or no schemas\n");
    return 1;
  }
  fmt::print("constrained property: {} schemas (shard {}/{}) x {} seeds over {} models (8:8:3:1 of every 20), temperature 1\n",
             cases.size(), shard, n_shards, seeds, models.size());
  struct per_model { std::size_t runs = 0, valid = 0; std::int64_t tokens = 0; double ms = 0; };
  std::vector<per_model> stats(models.size());
  std::size_t runs = 0, valid = 0;
  for (std::size_t ci = shard; ci < cases.size(); ci += n_shards) {
    const auto& c = cases[ci];
    std::size_t c_valid = 0;
    for (int seed = 0; seed < seeds; ++seed) {
      const std::size_t mi = models.size() >= 3 ? model_for(seed, models.size()) : static_cast<std::size_t>(seed) % models.size();
      tern::stopwatch sw;
      auto r = run_once(models[mi], c, static_cast<std::uint64_t>(seed) * 7919 + 1);
      stats[mi].ms += sw.elapsed_ms();
      stats[mi].tokens += r.n_tokens;
      ++stats[mi].runs;
      ++runs;
      if (r.valid) {
        ++valid;
        ++c_valid;
        ++stats[mi].valid;
      } else {
        fmt::print("INVALID {} on {} seed {}: {}\n  {}\n", c.name, models[mi].name, seed, r.problem, r.text);
      }
    }
    if (verbose) fmt::print("{:<48} {}/{}\n", c.name, c_valid, seeds);
  }
  for (std::size_t i = 0; i < models.size(); ++i)
    fmt::print("{:<60} runs {:>6} valid {:>6} tokens {:>8} {:>8.3f} ms/token\n", models[i].name, stats[i].runs,
               stats[i].valid, stats[i].tokens, stats[i].tokens ? stats[i].ms / double(stats[i].tokens) : 0.0);
  fmt::print("valid fraction: {}/{} = {:.4f} (bound 1.0, ratio {:.4f})\n", valid, runs, double(valid) / double(runs),
             double(valid) / double(runs));
  return valid == runs ? 0 : 1;
}
