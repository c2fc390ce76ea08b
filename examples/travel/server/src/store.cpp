#include "store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace tern::travel::detail {
namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inventory(
  item TEXT PRIMARY KEY,
  capacity INTEGER NOT NULL,
  taken INTEGER NOT NULL,
  CHECK (taken >= 0 AND taken <= capacity));
CREATE TABLE IF NOT EXISTS bookings(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  details TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS booking_units(
  booking_seq INTEGER NOT NULL REFERENCES bookings(seq),
  item TEXT NOT NULL,
  quantity INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS booking_units_by_booking ON booking_units(booking_seq);
CREATE TABLE IF NOT EXISTS idempotency(
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL);
)sql";

// A prepared statement, reset after each use so it can be run again.
class statement {
 public:
  statement() = default;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(stmt_); }

  result<void> prepare(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      return fail(errc::internal, fmt::format("preparing '{}': {}", sql, sqlite3_errmsg(db)));
    return ok();
  }
  statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::int64_t int_at(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text_at(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, whatever path leaves it.
struct reset_on_exit {
  statement& s;
  ~reset_on_exit() { s.reset(); }
};

}  // namespace

struct store::statements {
  statement begin, commit, rollback;
  statement taken, insert_item, take_units, release_units;
  statement insert_booking, name_booking, insert_unit, units_of, get_booking, set_status;
  statement find_key, insert_key;
};

store::~store() {
  st_.reset();  // statements must be finalised before the connection closes
  if (db_) sqlite3_close(db_);
}

result<void> store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return fail(errc::io_error, text);
  }
  return ok();
}

result<std::unique_ptr<store>> store::open(const std::string& path, std::uint64_t seed) {
  std::unique_ptr<store> s(new store());
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = s->db_ ? sqlite3_errmsg(s->db_) : "out of memory";
    return fail(errc::io_error, msg).at(path);
  }
  sqlite3_busy_timeout(s->db_, 5000);
  if (path != ":memory:") {
    if (auto r = s->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !r)
      return std::move(r).error().at(path);
  }
  if (auto r = s->exec(k_schema); !r) return std::move(r).error().at(path);

  s->st_ = std::make_unique<statements>();
  auto& st = *s->st_;
  struct {
    statement* stmt;
    const char* sql;
  } const all[] = {
      {&st.begin, "BEGIN IMMEDIATE"},
      {&st.commit, "COMMIT"},
      {&st.rollback, "ROLLBACK"},
      {&st.taken, "SELECT taken FROM inventory WHERE item = ?1"},
      {&st.insert_item, "INSERT OR IGNORE INTO inventory(item, capacity, taken) VALUES(?1, ?2, 0)"},
      {&st.take_units, "UPDATE inventory SET taken = taken + ?2 WHERE item = ?1 AND taken + ?2 <= capacity"},
      {&st.release_units, "UPDATE inventory SET taken = taken - ?2 WHERE item = ?1 AND taken >= ?2"},
      {&st.insert_booking, "INSERT INTO bookings(kind, status, details) VALUES(?1, 'confirmed', '')"},
      {&st.name_booking, "UPDATE bookings SET id = ?2, details = ?3 WHERE seq = ?1"},
      {&st.insert_unit, "INSERT INTO booking_units(booking_seq, item, quantity) VALUES(?1, ?2, ?3)"},
      {&st.units_of, "SELECT item, quantity FROM booking_units WHERE booking_seq = ?1"},
      {&st.get_booking, "SELECT seq, id, kind, status, details FROM bookings WHERE id = ?1"},
      {&st.set_status, "UPDATE bookings SET status = ?2 WHERE seq = ?1"},
      {&st.find_key, "SELECT fingerprint, status, body FROM idempotency WHERE key = ?1"},
      {&st.insert_key, "INSERT INTO idempotency(key, fingerprint, status, body) VALUES(?1, ?2, ?3, ?4)"},
  };
  for (const auto& p : all)
    if (auto r = p.stmt->prepare(s->db_, p.sql); !r) return std::move(r).error().at(path);

  // The seed the inventory counts belong to.
  const std::string seed_text = std::to_string(seed);
  statement q;
  TERN_CHECK(q.prepare(s->db_, "SELECT value FROM meta WHERE key = 'seed'"));
  if (q.step() == SQLITE_ROW) {
    if (q.text_at(0) != seed_text)
      return fail(errc::invalid_argument,
                  fmt::format("database was created with --seed {}, not {}", q.text_at(0), seed_text))
          .at(path);
  } else {
    statement ins;
    TERN_CHECK(ins.prepare(s->db_, "INSERT INTO meta(key, value) VALUES('seed', ?1)"));
    ins.bind(1, seed_text);
    if (ins.step() != SQLITE_DONE) return fail(errc::io_error, sqlite3_errmsg(s->db_)).at(path);
  }
  return s;
}

result<int> store::taken(std::string_view item) {
  std::lock_guard lock(mu_);
  auto& q = st_->taken;
  reset_on_exit guard{q};
  q.bind(1, item);
  const int rc = q.step();
  if (rc == SQLITE_ROW) return static_cast<int>(q.int_at(0));
  if (rc == SQLITE_DONE) return 0;
  return fail(errc::io_error, sqlite3_errmsg(db_));
}

namespace {
// Runs one statement to completion.
bool run(statement& s) {
  reset_on_exit guard{s};
  return s.step() == SQLITE_DONE;
}
}  // namespace

result<create_result> store::create(std::string_view kind, const std::vector<unit_hold>& holds,
                                    const std::optional<idempotency_entry>& key,
                                    const std::function<std::string(const std::string&)>& make_details,
                                    const std::function<stored_response(const booking_record&)>& make_response) {
  std::lock_guard lock(mu_);
  auto& st = *st_;
  if (!run(st.begin)) return fail(errc::io_error, sqlite3_errmsg(db_)).at("begin");
  bool committed = false;
  struct rollback_guard {
    store::statements& st;
    bool& committed;
    ~rollback_guard() {
      if (!committed) run(st.rollback);
    }
  } guard{st, committed};
  auto db_error = [&](const char* step) { return fail(errc::io_error, sqlite3_errmsg(db_)).at(step); };

  create_result out;
  if (key) {
    auto& q = st.find_key;
    reset_on_exit g{q};
    q.bind(1, key->key);
    const int rc = q.step();
    if (rc == SQLITE_ROW) {
      if (q.text_at(0) != key->fingerprint) {
        out.outcome = create_outcome::key_conflict;
        return out;
      }
      out.outcome = create_outcome::replayed;
      out.replay = {static_cast<int>(q.int_at(1)), q.text_at(2)};
      return out;
    }
    if (rc != SQLITE_DONE) return db_error("idempotency lookup");
  }

  for (const unit_hold& h : holds) {
    st.insert_item.bind(1, h.item).bind(2, h.capacity);
    if (!run(st.insert_item)) return db_error("inventory");
    st.take_units.bind(1, h.item).bind(2, h.quantity);
    if (!run(st.take_units)) return db_error("inventory");
    if (sqlite3_changes(db_) != 1) {
      out.outcome = create_outcome::sold_out;
      out.short_item = h.item;
      auto& q = st.taken;
      reset_on_exit g{q};
      q.bind(1, h.item);
      out.short_available = q.step() == SQLITE_ROW ? h.capacity - static_cast<int>(q.int_at(0)) : 0;
      return out;  // the guard rolls back units taken so far
    }
  }

  st.insert_booking.bind(1, kind);
  if (!run(st.insert_booking)) return db_error("booking");
  const std::int64_t seq = sqlite3_last_insert_rowid(db_);
  booking_record rec;
  rec.id = fmt::format("BK-{:06}", seq);
  rec.kind = std::string(kind);
  rec.status = "confirmed";
  rec.details = make_details(rec.id);
  st.name_booking.bind(1, seq).bind(2, rec.id).bind(3, rec.details);
  if (!run(st.name_booking)) return db_error("booking");
  for (const unit_hold& h : holds) {
    st.insert_unit.bind(1, seq).bind(2, h.item).bind(3, h.quantity);
    if (!run(st.insert_unit)) return db_error("booking units");
  }
  if (key) {
    const stored_response resp = make_response(rec);
    st.insert_key.bind(1, key->key).bind(2, key->fingerprint).bind(3, resp.status).bind(4, resp.body);
    if (!run(st.insert_key)) return db_error("idempotency");
  }
  if (!run(st.commit)) return db_error("commit");
  committed = true;
  out.outcome = create_outcome::created;
  out.booking = std::move(rec);
  return out;
}

result<std::optional<booking_record>> store::get(std::string_view id) {
  std::lock_guard lock(mu_);
  auto& q = st_->get_booking;
  reset_on_exit g{q};
  q.bind(1, id);
  const int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<booking_record>();
  if (rc != SQLITE_ROW) return fail(errc::io_error, sqlite3_errmsg(db_));
  return std::optional<booking_record>(booking_record{q.text_at(1), q.text_at(2), q.text_at(3), q.text_at(4)});
}

result<store::cancel_outcome> store::cancel(std::string_view id, booking_record* out) {
  std::lock_guard lock(mu_);
  auto& st = *st_;
  if (!run(st.begin)) return fail(errc::io_error, sqlite3_errmsg(db_)).at("begin");
  bool committed = false;
  struct rollback_guard {
    store::statements& st;
    bool& committed;
    ~rollback_guard() {
      if (!committed) run(st.rollback);
    }
  } guard{st, committed};
  auto db_error = [&](const char* step) { return fail(errc::io_error, sqlite3_errmsg(db_)).at(step); };

  std::int64_t seq = 0;
  {
    auto& q = st.get_booking;
    reset_on_exit g{q};
    q.bind(1, id);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return cancel_outcome::not_found;
    if (rc != SQLITE_ROW) return db_error("lookup");
    seq = q.int_at(0);
    *out = booking_record{q.text_at(1), q.text_at(2), q.text_at(3), q.text_at(4)};
  }
  if (out->status == "cancelled") return cancel_outcome::already_cancelled;

  std::vector<std::pair<std::string, std::int64_t>> units;
  {
    auto& q = st.units_of;
    reset_on_exit g{q};
    q.bind(1, seq);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) units.emplace_back(q.text_at(0), q.int_at(1));
    if (rc != SQLITE_DONE) return db_error("units");
  }
  for (const auto& [item, quantity] : units) {
    st.release_units.bind(1, item).bind(2, quantity);
    if (!run(st.release_units) || sqlite3_changes(db_) != 1)
      return fail(errc::internal, fmt::format("inventory of {} is below what booking {} holds", item, id));
  }
  st.set_status.bind(1, seq).bind(2, std::string_view("cancelled"));
  if (!run(st.set_status)) return db_error("status");
  if (!run(st.commit)) return db_error("commit");
  committed = true;
  out->status = "cancelled";
  return cancel_outcome::cancelled;
}

}  // namespace tern::travel::detail
