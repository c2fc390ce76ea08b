// MaskBench over a folder: schemas checked in a worker process (crashes and
// hangs are counted, the worker replaced), token masks over a real vocabulary.
// --fork-each: a fresh worker per schema, as `tern maskbench --fork-each`. Prints the table
// and compares with the targets: >= 85% passing, mask mean <= 50 us, p99 <=
// 500 us, first mask <= 10 ms.
//
//   bench_maskbench [--fork-each] [MODEL.gguf [DIR]]   (defaults: ../shared/models/qwen2-vocab.gguf, ../shared/maskbench)
#include <tern/engine/maskbench.hpp>

#include <fmt/format.h>

int main(int argc, char** argv) {
  namespace mb = tern::engine::maskbench;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool fork_each = !args.empty() && args[0] == "--fork-each";
  if (fork_each) args.erase(args.begin());
  std::string model = args.size() > 0 ? args[0] : std::string(TERN_SHARED_DIR) + "/models/qwen2-vocab.gguf";
  std::string dir = args.size() > 1 ? args[1] : std::string(TERN_SHARED_DIR) + "/maskbench";
  auto vocab = tern::engine::load_token_vocabulary(model);
  if (!vocab) {
    fmt::print(stderr, "bench_maskbench: {}\n", vocab.error().describe());
    return 1;
  }
  auto files = mb::list_files({dir});
  if (files.empty()) {
    fmt::print(stderr, "bench_maskbench: no files in {}\n", dir);
    return 1;
  }
  mb::prewarm(*vocab);
  std::vector<mb::schema_result> results;
  mb::isolated_runner runner(mb::file_checker(*vocab), fork_each);
  for (const auto& f : files) results.push_back(runner.run(f, std::chrono::seconds(60)));
  auto s = mb::summarize(results);
  double pass = 100.0 * double(s.passed) / double(s.total());
  fmt::print("{:28} {:>10} {:>10} {:>8}\n", "measure", "value", "bound", "ratio");
  fmt::print("{:28} {:>9.1f}% {:>9.1f}% {:>8.2f}\n", "schemas passing", pass, 85.0, pass / 85.0);
  fmt::print("{:28} {:>10.1f} {:>10.1f} {:>8.2f}\n", "mask us mean", s.mask_us_mean, 50.0, s.mask_us_mean / 50.0);
  fmt::print("{:28} {:>10.1f} {:>10.1f} {:>8.2f}\n", "mask us p50", s.mask_us_p50, 50.0, s.mask_us_p50 / 50.0);
  fmt::print("{:28} {:>10.1f} {:>10.1f} {:>8.2f}\n", "mask us p99", s.mask_us_p99, 500.0, s.mask_us_p99 / 500.0);
  fmt::print("{:28} {:>10.2f} {:>10.2f} {:>8.2f}\n", "first mask ms (mean)", s.first_mask_ms_mean, 10.0,
             s.first_mask_ms_mean / 10.0);
  fmt::print("refused by keyword:");
  for (const auto& [kw, n] : s.refused_by_keyword) fmt::print(" {}={}", kw, n);
  fmt::print("\n{}\n", mb::summary_line(s));
  return s.crashed == 0 && s.timeout == 0 ? 0 : 1;
}
