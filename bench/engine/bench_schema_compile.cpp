// JSON Schema compile time over MaskBench files: the part of "time to first
// mask" that does not depend on the vocabulary (regexes -> DFAs, products,
// minimisation, rules). Each schema is compiled `reps` times and the fastest
// run counts, so the figure is steady on a busy machine. Prints the mean, the
// slowest schemas, and the mean against the first-mask bound (10 ms).
//
//   bench_schema_compile [--reps N] [--top K] [PATH...]   (default: ../shared/maskbench)
#include <tern/engine/grammar.hpp>
#include <tern/engine/maskbench.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace {

struct row {
  std::string file;
  double ms = 0;
  bool compiled = false;
};

}  // namespace

int main(int argc, char** argv) {
  namespace mb = tern::engine::maskbench;
  using clock = std::chrono::steady_clock;
  int reps = 3;
  size_t top = 10;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--top" && i + 1 < argc) {
      top = size_t(std::max(0, std::atoi(argv[++i])));
    } else {
      paths.emplace_back(a);
    }
  }
  if (paths.empty()) paths.emplace_back(std::string(TERN_SHARED_DIR) + "/maskbench");
  auto files = mb::list_files(paths);
  if (files.empty()) {
    fmt::print(stderr, "bench_schema_compile: no MaskBench files\n");
    return 1;
  }
  std::vector<row> rows;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::json::error_code ec;
    auto doc = boost::json::parse(text, ec);
    if (ec || !doc.is_object() || !doc.get_object().if_contains("schema")) continue;
    std::string schema = boost::json::serialize(doc.get_object().at("schema"));
    row r;
    r.file = f.filename().string();
    r.ms = 1e300;
    for (int k = 0; k < reps; ++k) {
      auto t0 = clock::now();
      auto g = tern::engine::compile_json_schema(schema);
      double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      r.compiled = g.has_value();
      r.ms = std::min(r.ms, ms);
    }
    rows.push_back(std::move(r));
  }
  double sum = 0;
  size_t n_ok = 0;
  for (const auto& r : rows) {
    sum += r.ms;
    n_ok += r.compiled;
  }
  double mean = sum / double(rows.size());
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) { return a.ms > b.ms; });
  fmt::print("slowest schemas (compile ms, best of {}):\n", reps);
  for (size_t i = 0; i < std::min(top, rows.size()); ++i) fmt::print("  {:9.2f}  {}\n", rows[i].ms, rows[i].file);
  fmt::print("{:28} {:>10} {:>10} {:>8}\n", "measure", "value", "bound", "ratio");
  fmt::print("{:28} {:>10.3f} {:>10.2f} {:>8.3f}\n", "compile ms (mean)", mean, 10.0, mean / 10.0);
  fmt::print("schemas {} compiled {} total compile ms {:.1f}\n", rows.size(), n_ok, sum);
  return 0;
}
