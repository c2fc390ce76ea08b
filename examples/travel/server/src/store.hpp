// The SQLite store: bookings, inventory counters and idempotency keys.
//
// Inventory is counted per unit of sale ("flight:FL-..." for a flight's
// seats, "room:HT-GIG-03:deluxe:2027-01-15" for one night of one room type):
// a row holds the catalogue capacity and how many are taken, with
// CHECK(taken BETWEEN 0 AND capacity) so the database itself refuses to
// oversell. A booking takes all its units, records itself and its
// idempotency key in one IMMEDIATE transaction, or changes nothing.
//
// Thread safety: every member locks one mutex, so calls from many threads are
// serialised (SQLite calls are short: in-memory or WAL, prepared statements).
// Errors: open() reports an unusable file or a seed mismatch; other members
// report SQLite failures as errc::io_error.
#pragma once

#include <tern/core/result.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tern::travel::detail {

struct unit_hold {
  std::string item;  // inventory key
  int capacity = 0;  // from the catalogue
  int quantity = 0;  // units this booking takes
};

struct booking_record {
  std::string id;
  std::string kind;     // "flight" | "hotel"
  std::string status;   // "confirmed" | "cancelled"
  std::string details;  // JSON object text written by the handler
};

struct idempotency_entry {
  std::string key;
  std::string fingerprint;  // of the request body; a reused key with another body is refused
};

struct stored_response {
  int status = 0;
  std::string body;
};

enum class create_outcome {
  created,       // booking written; `booking` holds it
  replayed,      // the idempotency key was seen with the same body; `replay` holds the first answer
  sold_out,      // some unit lacked capacity; `short_item` names it
  key_conflict,  // the idempotency key was used with a different body
};

struct create_result {
  create_outcome outcome = create_outcome::created;
  booking_record booking;
  stored_response replay;
  std::string short_item;
  int short_available = 0;
};

class store {
 public:
  // path: a file (created if absent, WAL journal) or ":memory:". The seed is
  // recorded on first use; a file made with another seed is refused, since its
  // inventory counts would not match the catalogue.
  static result<std::unique_ptr<store>> open(const std::string& path, std::uint64_t seed);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Units taken of an inventory item (0 when never booked).
  result<int> taken(std::string_view item);

  // Creates a booking atomically. make_details receives the new booking id and
  // returns the JSON text stored for it; make_response turns the created
  // record into the (status, body) replayed for a repeated idempotency key.
  result<create_result> create(std::string_view kind, const std::vector<unit_hold>& holds,
                               const std::optional<idempotency_entry>& key,
                               const std::function<std::string(const std::string&)>& make_details,
                               const std::function<stored_response(const booking_record&)>& make_response);

  result<std::optional<booking_record>> get(std::string_view id);

  enum class cancel_outcome { cancelled, not_found, already_cancelled };
  // Cancels a booking and gives its units back, in one transaction.
  result<cancel_outcome> cancel(std::string_view id, booking_record* out);

 private:
  struct statements;
  store() = default;
  result<void> exec(const char* sql);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> st_;
};

}  // namespace tern::travel::detail
