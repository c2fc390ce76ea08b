// MaskBench scoring: a JSON Schema with labelled valid/invalid instances is
// compiled, and each instance (serialised compactly, see canonical_json) is fed
// token by token through a grammar_matcher over a real vocabulary. A valid
// instance must be allowed at every token and complete at the end; an invalid
// one must be refused at some token or be incomplete at the end.
//
// Instances are split into tokens by greedy longest match over the vocabulary
// (a valid tokenisation, not necessarily the model tokenizer's own).
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/grammar.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tern::engine::maskbench {

enum class outcome : uint8_t { passed, failed, refused, crashed, timeout };
std::string_view to_string(outcome o);

struct schema_result {
  std::string file;
  outcome result = outcome::failed;
  std::string detail;             // refused: the compile error; failed: the first bad instance
  std::string refused_keyword;    // refused: the keyword the error names ("uniqueItems"), or the error code
  size_t n_tests = 0;
  size_t n_invalid_accepted = 0;  // invalid instances the matcher let through
  size_t n_valid_rejected = 0;
  std::vector<uint32_t> mask_ns;  // one per computed mask
  uint64_t first_mask_ns = 0;     // compile + matcher + first mask
};

// Scores one MaskBench file. deadline: the run gives up (outcome timeout) when
// passed. Errors: the file cannot be read or is not MaskBench-shaped.
result<schema_result> run_file(const std::filesystem::path& file, const std::shared_ptr<const token_vocabulary>& vocab,
                               std::chrono::steady_clock::time_point deadline);

// Runs files through a checker in a worker process forked from this one
// (POSIX), so that a schema that crashes or hangs the checker is counted
// (outcome crashed / timeout) instead of ending the run. By default one
// worker serves file after file, keeping its caches the way a long-running
// server does, and is replaced after a crash or a timeout; fresh_each forks a
// new worker per file (every file then starts from this process's caches).
// Not thread-safe; one file at a time. run() never fails itself.
class isolated_runner {
 public:
  using check_fn = std::function<result<schema_result>(const std::filesystem::path&, std::chrono::steady_clock::time_point)>;
  explicit isolated_runner(check_fn check, bool fresh_each = false);
  ~isolated_runner();
  isolated_runner(const isolated_runner&) = delete;
  isolated_runner& operator=(const isolated_runner&) = delete;

  schema_result run(const std::filesystem::path& file, std::chrono::milliseconds limit);
  size_t workers_started() const { return started_; }

 private:
  bool start_worker();
  void stop_worker(bool kill_it);
  check_fn check_;
  bool fresh_each_;
  int fd_ = -1;    // parent's end of the socket pair
  int pid_ = -1;   // worker, or -1
  size_t started_ = 0;
};

// The checker isolated_runner runs for MaskBench files: run_file over `vocab`.
isolated_runner::check_fn file_checker(std::shared_ptr<const token_vocabulary> vocab);

// Builds the per-model token tables every JSON schema shares (free strings,
// numbers), so that forked checkers start with them.
void prewarm(const std::shared_ptr<const token_vocabulary>& vocab);

// Greedy longest-match tokenisation of bytes over the non-special tokens.
// Error if some byte has no token at all.
result<std::vector<int32_t>> greedy_tokenize(const token_vocabulary& vocab, std::string_view text);

// MaskBench files (*.json, excluding README) under the given paths, sorted.
std::vector<std::filesystem::path> list_files(const std::vector<std::filesystem::path>& paths);

struct summary {
  size_t passed = 0, failed = 0, refused = 0, crashed = 0, timeout = 0;
  double mask_us_mean = 0, mask_us_p50 = 0, mask_us_p99 = 0, first_mask_ms_mean = 0;
  std::vector<std::pair<std::string, size_t>> refused_by_keyword;  // most frequent first
  size_t total() const { return passed + failed + refused + crashed + timeout; }
};
summary summarize(const std::vector<schema_result>& results);
// "maskbench: passed P/N failed F refused R crashed C timeout T mask_us mean M p50 X p99 Y first_mask_ms Z"
std::string summary_line(const summary& s);

}  // namespace tern::engine::maskbench
