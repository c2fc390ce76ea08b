// `tern maskbench -m MODEL.gguf DIR...`: scores MaskBench files (JSON Schema
// with labelled instances) against the grammar engine and the model's vocabulary.
#include "command_registry.hpp"

#include <tern/engine/maskbench.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace {

struct maskbench_opts {
  std::string model;
  std::vector<std::string> paths;
  double timeout_s = 60;
  bool verbose = false;
  bool in_process = false;
  bool fork_each = false;
  std::string per_schema;  // TSV path, one row per schema
};

// One row per schema: where the mask time goes (sum and worst mask, and how
// many masks exceed the p99 target), for finding the schemas to work on.
void write_per_schema(const std::string& path, const std::vector<tern::engine::maskbench::schema_result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    fmt::print(stderr, "tern maskbench: cannot write {}\n", path);
    return;
  }
  fmt::print(f, "file\toutcome\tmasks\tsum_us\tmax_us\tover_500us\tfirst_mask_ms\n");
  for (const auto& r : results) {
    uint64_t sum = 0, worst = 0;
    size_t over = 0;
    for (auto ns : r.mask_ns) {
      sum += ns;
      worst = std::max<uint64_t>(worst, ns);
      over += ns > 500'000;
    }
    fmt::print(f, "{}\t{}\t{}\t{:.1f}\t{:.1f}\t{}\t{:.2f}\n", r.file, tern::engine::maskbench::to_string(r.result),
               r.mask_ns.size(), double(sum) / 1e3, double(worst) / 1e3, over, double(r.first_mask_ns) / 1e6);
  }
  std::fclose(f);
}

int run_maskbench(const maskbench_opts& o) {
  namespace mb = tern::engine::maskbench;
  auto vocab = tern::engine::load_token_vocabulary(o.model);
  if (!vocab) {
    fmt::print(stderr, "tern maskbench: {}\n", vocab.error().describe());
    return 1;
  }
  std::vector<std::filesystem::path> paths(o.paths.begin(), o.paths.end());
  auto files = mb::list_files(paths);
  if (files.empty()) {
    fmt::print(stderr, "tern maskbench: no MaskBench files under the given paths\n");
    return 1;
  }
  mb::prewarm(*vocab);
  auto limit = std::chrono::milliseconds(int64_t(o.timeout_s * 1000));
  std::vector<mb::schema_result> results;
  mb::isolated_runner runner(mb::file_checker(*vocab), o.fork_each);
  for (const auto& f : files) {
    mb::schema_result r;
    if (o.in_process) {
      auto res = mb::run_file(f, *vocab, std::chrono::steady_clock::now() + limit);
      if (res) {
        r = std::move(res).value();
      } else {
        r.file = f.filename().string();
        r.result = mb::outcome::failed;
        r.detail = res.error().describe();
      }
    } else {
      r = runner.run(f, limit);
    }
    if (o.verbose && r.result != mb::outcome::passed)
      fmt::print("{:8} {}: {}\n", mb::to_string(r.result), r.file, r.detail);
    results.push_back(std::move(r));
  }
  if (!o.per_schema.empty()) write_per_schema(o.per_schema, results);
  auto s = mb::summarize(results);
  size_t invalid_accepted = 0, valid_rejected = 0;
  for (const auto& r : results) {
    invalid_accepted += r.n_invalid_accepted;
    valid_rejected += r.n_valid_rejected;
  }
  fmt::print("\n| MaskBench ({} schemas)      | count |\n|---|---|\n", s.total());
  fmt::print("| passing                     | {} ({:.1f}%) |\n", s.passed, 100.0 * double(s.passed) / double(s.total()));
  fmt::print("| failing                     | {} |\n", s.failed);
  fmt::print("|   invalid instances accepted | {} |\n", invalid_accepted);
  fmt::print("|   valid instances rejected   | {} |\n", valid_rejected);
  fmt::print("| refused at compile          | {} |\n", s.refused);
  for (const auto& [kw, n] : s.refused_by_keyword) fmt::print("|   {:26} | {} |\n", kw, n);
  fmt::print("| crashed                     | {} |\n| timeout                     | {} |\n", s.crashed, s.timeout);
  fmt::print("| mask us mean / p50 / p99    | {:.1f} / {:.1f} / {:.1f} |\n", s.mask_us_mean, s.mask_us_p50, s.mask_us_p99);
  fmt::print("| first mask ms (mean)        | {:.2f} |\n\n", s.first_mask_ms_mean);
  fmt::print("{}\n", mb::summary_line(s));
  return 0;
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto opts = std::make_shared<maskbench_opts>();
  auto* cmd = app.add_subcommand("maskbench", "Score MaskBench files (JSON Schema + labelled instances) token by token");
  cmd->add_option("-m,--model", opts->model, "GGUF file whose vocabulary is used")->required();
  cmd->add_option("paths", opts->paths, "MaskBench folders or files")->required();
  cmd->add_option("--timeout", opts->timeout_s, "Seconds per schema before it counts as a timeout (default 60)");
  cmd->add_flag("-v,--verbose", opts->verbose, "Print each schema that does not pass, with the reason");
  cmd->add_flag("--in-process", opts->in_process, "Check in this process (no containment of crashes or hangs)");
  cmd->add_flag("--fork-each", opts->fork_each,
                "A fresh checker process per schema (default: one checker process serves schema after schema and is "
                "replaced after a crash or timeout)");
  cmd->add_option("--per-schema", opts->per_schema, "Write one TSV row per schema (mask time sum, worst, first mask) to FILE");
  cmd->callback([&status, opts] { status.code = run_maskbench(*opts); });
});

}  // namespace
