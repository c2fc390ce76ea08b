// Checkpoints: the whole state of a run as JSON, saved after every step, so a
// killed run can resume (agent::resume) from its last completed step.
//
//   auto store = tern::agent::sqlite_checkpoint_store::open("runs.db");   // or ":memory:"
//   settings.checkpoints = *store;
//
// A checkpoint is opaque JSON text written by the agent (docs/agent.md,
// "Checkpoints"); a store keeps the latest one per run id (and may keep older
// ones). Thread safety: both implementations are safe to call from several
// threads at once.
#pragma once

#include <tern/core/result.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;
  // Saves the state after `step` of run `run_id` (replacing an older save of the same step).
  virtual result<void> save(std::string_view run_id, int step, std::string_view state_json) = 0;
  // The latest saved state of a run; not_found when none.
  virtual result<std::string> load(std::string_view run_id) = 0;
  // Run ids with a checkpoint, oldest first.
  virtual result<std::vector<std::string>> runs() = 0;
};

class memory_checkpoint_store final : public checkpoint_store {
 public:
  result<void> save(std::string_view run_id, int step, std::string_view state_json) override;
  result<std::string> load(std::string_view run_id) override;
  result<std::vector<std::string>> runs() override;

 private:
  std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, std::pair<int, std::string>, std::less<>> latest_;
};

// SQLite: table checkpoints(run_id, step, saved_at, state), one row per step.
class sqlite_checkpoint_store final : public checkpoint_store {
 public:
  // Opens or creates the database (WAL mode for files). Errors: io_error.
  static result<std::shared_ptr<sqlite_checkpoint_store>> open(const std::string& path);
  ~sqlite_checkpoint_store() override;

  result<void> save(std::string_view run_id, int step, std::string_view state_json) override;
  result<std::string> load(std::string_view run_id) override;
  result<std::vector<std::string>> runs() override;

  struct impl;
  explicit sqlite_checkpoint_store(std::unique_ptr<impl> p);

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::agent
