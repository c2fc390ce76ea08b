#include <tern/agent/checkpoint.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>

namespace tern::agent {

result<void> memory_checkpoint_store::save(std::string_view run_id, int step, std::string_view state_json) {
  std::lock_guard lock(mu_);
  auto it = latest_.find(run_id);
  if (it == latest_.end()) {
    order_.emplace_back(run_id);
    latest_.emplace(std::string(run_id), std::pair{step, std::string(state_json)});
  } else {
    it->second = {step, std::string(state_json)};
  }
  return tern::ok();
}

result<std::string> memory_checkpoint_store::load(std::string_view run_id) {
  std::lock_guard lock(mu_);
  auto it = latest_.find(run_id);
  if (it == latest_.end()) return tern::fail(errc::not_found, fmt::format("no checkpoint for run '{}'", run_id));
  return it->second.second;
}

result<std::vector<std::string>> memory_checkpoint_store::runs() {
  std::lock_guard lock(mu_);
  return order_;
}

struct sqlite_checkpoint_store::impl {
  sqlite3* db = nullptr;
  std::mutex mu;  // one connection, used by one thread at a time
  ~impl() {
    if (db) sqlite3_close(db);
  }
  tern::error db_error(std::string_view what) const {
    return tern::fail(errc::io_error, fmt::format("{}: {}", what, sqlite3_errmsg(db))).at("checkpoint store");
  }
};

sqlite_checkpoint_store::sqlite_checkpoint_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
sqlite_checkpoint_store::~sqlite_checkpoint_store() = default;

result<std::shared_ptr<sqlite_checkpoint_store>> sqlite_checkpoint_store::open(const std::string& path) {
  auto p = std::make_unique<impl>();
  if (sqlite3_open_v2(path.c_str(), &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    return p->db_error("open").at(path);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS checkpoints(run_id TEXT NOT NULL, step INTEGER NOT NULL,"
      " saved_at INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY(run_id, step));";
  char* msg = nullptr;
  if (sqlite3_exec(p->db, schema, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "schema";
    sqlite3_free(msg);
    return tern::fail(errc::io_error, m).at(path);
  }
  return std::make_shared<sqlite_checkpoint_store>(std::move(p));
}

namespace {
struct stmt {
  sqlite3_stmt* s = nullptr;
  ~stmt() { sqlite3_finalize(s); }
};
}  // namespace

result<void> sqlite_checkpoint_store::save(std::string_view run_id, int step, std::string_view state_json) {
  std::lock_guard lock(impl_->mu);
  stmt st;
  if (sqlite3_prepare_v2(impl_->db, "INSERT OR REPLACE INTO checkpoints VALUES(?,?,?,?)", -1, &st.s, nullptr) !=
      SQLITE_OK)
    return impl_->db_error("prepare save");
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  sqlite3_bind_text(st.s, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st.s, 2, step);
  sqlite3_bind_int64(st.s, 3, now);
  sqlite3_bind_text(st.s, 4, state_json.data(), static_cast<int>(state_json.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) != SQLITE_DONE) return impl_->db_error("save");
  return tern::ok();
}

result<std::string> sqlite_checkpoint_store::load(std::string_view run_id) {
  std::lock_guard lock(impl_->mu);
  stmt st;
  if (sqlite3_prepare_v2(impl_->db, "SELECT state FROM checkpoints WHERE run_id=? ORDER BY step DESC LIMIT 1", -1,
                         &st.s, nullptr) != SQLITE_OK)
    return impl_->db_error("prepare load");
  sqlite3_bind_text(st.s, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return tern::fail(errc::not_found, fmt::format("no checkpoint for run '{}'", run_id));
  if (rc != SQLITE_ROW) return impl_->db_error("load");
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  return std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(st.s, 0)));
}

result<std::vector<std::string>> sqlite_checkpoint_store::runs() {
  std::lock_guard lock(impl_->mu);
  stmt st;
  if (sqlite3_prepare_v2(impl_->db, "SELECT run_id FROM checkpoints GROUP BY run_id ORDER BY MIN(saved_at), run_id",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return impl_->db_error("prepare runs");
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    out.emplace_back(text ? text : "");
  }
  if (rc != SQLITE_DONE) return impl_->db_error("runs");
  return out;
}

}  // namespace tern::agent
