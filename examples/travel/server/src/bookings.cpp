// POST /bookings, GET /bookings/{id}, POST /bookings/{id}/cancel.
#include "handler.hpp"

#include <tern/core/json.hpp>
#include <tern/core/log.hpp>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tern::travel::detail {
namespace {

using boost::json::object;
using boost::json::value;

constexpr std::size_t k_max_name = 100;
constexpr std::size_t k_max_key = 255;

// A body field check that failed: 400 for a wrong JSON type, 422 for a bad value.
struct field_error {
  int status;
  std::string code;
  std::string message;
};

http_response to_response(const field_error& e) { return error_response(e.status, e.code, e.message); }

// Checks that obj has only the allowed fields.
std::optional<field_error> only_fields(const object& obj, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : obj)
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end()) {
      std::string names;
      for (auto a : allowed) names += fmt::format("{}{}", names.empty() ? "" : ", ", a);
      return field_error{422, "unknown_field",
                         fmt::format("{}: unknown field (allowed: {})",
                                     json::append_pointer("", echo(kv.key())), names)};
    }
  return std::nullopt;
}

std::variant<std::string, field_error> string_field(const object& obj, std::string_view name, bool required,
                                                    std::string_view pointer_base = "") {
  const std::string ptr = json::append_pointer(pointer_base, name);
  const value* v = obj.if_contains(name);
  if (!v || v->is_null()) {
    if (required) return field_error{422, "missing_field", fmt::format("{}: required", ptr)};
    return std::string();
  }
  if (!v->is_string()) return field_error{400, "wrong_type", fmt::format("{}: must be a string", ptr)};
  return std::string(v->get_string());
}

std::variant<long long, field_error> int_field(const object& obj, std::string_view name, long long lo, long long hi,
                                               std::optional<long long> fallback) {
  const std::string ptr = json::append_pointer("", name);
  const value* v = obj.if_contains(name);
  if (!v || v->is_null()) {
    if (fallback) return *fallback;
    return field_error{422, "missing_field", fmt::format("{}: required", ptr)};
  }
  long long n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    n = hi + 1;
  } else {
    return field_error{400, "wrong_type", fmt::format("{}: must be an integer", ptr)};
  }
  if (n < lo || n > hi)
    return field_error{422, "invalid_value", fmt::format("{}: must be between {} and {}", ptr, lo, hi)};
  return n;
}

// A person's name: 1..100 bytes of printable text.
std::optional<field_error> check_name(const std::string& name, const std::string& ptr) {
  const bool blank = std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || c == '\t'; });
  if (name.empty() || blank) return field_error{422, "invalid_value", fmt::format("{}: must not be empty", ptr)};
  if (name.size() > k_max_name)
    return field_error{422, "invalid_value", fmt::format("{}: at most {} bytes", ptr, k_max_name)};
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return field_error{422, "invalid_value", fmt::format("{}: control characters are not allowed", ptr)};
  return std::nullopt;
}

std::optional<field_error> date_field(const object& obj, std::string_view name, date& out) {
  auto text = string_field(obj, name, true);
  if (auto* e = std::get_if<field_error>(&text)) return *e;
  const std::string ptr = json::append_pointer("", name);
  auto d = parse_date(std::get<std::string>(text));
  if (!d) return field_error{422, "invalid_value", fmt::format("{}: must be a date as YYYY-MM-DD", ptr)};
  if (*d < first_catalogue_date() || *d > last_catalogue_date() + std::chrono::days{1})
    return field_error{422, "date_out_of_range",
                       fmt::format("{}: must be between {} and {}", ptr, format_date(first_catalogue_date()),
                                   format_date(last_catalogue_date()))};
  out = *d;
  return std::nullopt;
}

// 64-bit FNV-1a, as hex: fingerprints a request body for its idempotency key.
std::string fingerprint(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}:{}", h, text.size());
}

// The response a booking gets, both when created and when read back.
http_response booking_response(int status, const booking_record& rec) {
  auto parsed = json::parse(rec.details);
  if (!parsed || !parsed->is_object()) {
    log::error("travel api: stored booking {} is not a JSON object", rec.id);
    return error_response(500, "internal", "stored booking is unreadable");
  }
  object& o = parsed->as_object();
  o["status"] = rec.status;
  return json_response(status, *parsed);
}

struct booking_plan {
  std::string kind;
  std::vector<unit_hold> holds;
  object details;  // without booking_id and status
};

std::variant<booking_plan, http_response> plan_flight(api::impl& s, const object& body) {
  if (auto e = only_fields(body, {"type", "flight_id", "passengers", "contact_email"})) return to_response(*e);
  auto id = string_field(body, "flight_id", true);
  if (auto* e = std::get_if<field_error>(&id)) return to_response(*e);
  const value* pv = body.if_contains("passengers");
  if (!pv || pv->is_null()) return error_response(422, "missing_field", "/passengers: required (a list of {\"name\": ...})");
  if (!pv->is_array()) return error_response(400, "wrong_type", "/passengers: must be an array of {\"name\": ...}");
  const auto& list = pv->get_array();
  if (list.empty() || list.size() > 9)
    return error_response(422, "invalid_value", "/passengers: between 1 and 9 passengers per booking");
  boost::json::array names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string base = json::append_pointer("/passengers", i);
    if (!list[i].is_object()) return error_response(400, "wrong_type", fmt::format("{}: must be an object {{\"name\": ...}}", base));
    const object& p = list[i].get_object();
    if (auto e = only_fields(p, {"name"})) return to_response(*e);
    auto name = string_field(p, "name", true, base);
    if (auto* e = std::get_if<field_error>(&name)) return to_response(*e);
    if (auto e = check_name(std::get<std::string>(name), base + "/name")) return to_response(*e);
    names.push_back(object{{"name", std::get<std::string>(name)}});
  }
  auto email = string_field(body, "contact_email", false);
  if (auto* e = std::get_if<field_error>(&email)) return to_response(*e);
  const std::string& mail = std::get<std::string>(email);
  if (!mail.empty() && (mail.size() > 254 || mail.find('@') == std::string::npos ||
                        std::any_of(mail.begin(), mail.end(), [](char c) { return c <= ' ' || c == 0x7f; })))
    return error_response(422, "invalid_value", "/contact_email: not an email address");

  const std::string& fid = std::get<std::string>(id);
  auto f = s.cat.flight_by_id(fid);
  if (!f) return error_response(404, "not_found", fmt::format("/flight_id: no flight with id '{}'", echo(fid)));
  const int n = static_cast<int>(list.size());
  booking_plan plan;
  plan.kind = "flight";
  plan.holds.push_back({flight_item(*f), f->seats, n});
  plan.details = object{{"type", "flight"},
                        {"flight", flight_json(*f, -1)},
                        {"passengers", std::move(names)},
                        {"passenger_count", n},
                        {"total_price", f->price * n},
                        {"currency", "USD"}};
  if (!mail.empty()) plan.details["contact_email"] = mail;
  return plan;
}

std::variant<booking_plan, http_response> plan_hotel(api::impl& s, const object& body) {
  if (auto e = only_fields(body, {"type", "hotel_id", "room_type", "check_in", "check_out", "guests", "rooms",
                                  "guest_name", "contact_email"}))
    return to_response(*e);
  auto id = string_field(body, "hotel_id", true);
  if (auto* e = std::get_if<field_error>(&id)) return to_response(*e);
  auto room_name = string_field(body, "room_type", false);
  if (auto* e = std::get_if<field_error>(&room_name)) return to_response(*e);
  date check_in, check_out;
  if (auto e = date_field(body, "check_in", check_in)) return to_response(*e);
  if (auto e = date_field(body, "check_out", check_out)) return to_response(*e);
  bad_input slot;
  if (auto* bad = check_stay(check_in, check_out, slot)) return error_response(bad->status, bad->code, bad->message);
  auto guests = int_field(body, "guests", 1, 16, std::nullopt);
  if (auto* e = std::get_if<field_error>(&guests)) return to_response(*e);
  auto rooms = int_field(body, "rooms", 1, 5, 1);
  if (auto* e = std::get_if<field_error>(&rooms)) return to_response(*e);
  auto guest_name = string_field(body, "guest_name", true);
  if (auto* e = std::get_if<field_error>(&guest_name)) return to_response(*e);
  if (auto e = check_name(std::get<std::string>(guest_name), "/guest_name")) return to_response(*e);
  auto email = string_field(body, "contact_email", false);
  if (auto* e = std::get_if<field_error>(&email)) return to_response(*e);

  const std::string& hid = std::get<std::string>(id);
  const hotel* h = s.cat.hotel_by_id(hid);
  if (!h) return error_response(404, "not_found", fmt::format("/hotel_id: no hotel with id '{}'", echo(hid)));
  const int n_guests = static_cast<int>(std::get<long long>(guests));
  const int n_rooms = static_cast<int>(std::get<long long>(rooms));
  const std::string& wanted = std::get<std::string>(room_name);
  const room_type* room = nullptr;
  if (!wanted.empty()) {
    for (const room_type& r : h->rooms)
      if (r.name == wanted) room = &r;
    if (!room) {
      std::string names;
      for (const room_type& r : h->rooms) names += fmt::format("{}{}", names.empty() ? "" : ", ", r.name);
      return error_response(422, "invalid_value", fmt::format("/room_type: '{}' is not offered by {} (offered: {})",
                                                              echo(wanted), h->id, names));
    }
    if (room->max_guests * n_rooms < n_guests)
      return error_response(422, "invalid_value",
                            fmt::format("/guests: {} {} room(s) sleep at most {} guests", n_rooms, room->name,
                                        room->max_guests * n_rooms));
  } else {
    for (const room_type& r : h->rooms)
      if (r.max_guests * n_rooms >= n_guests) {
        room = &r;
        break;
      }
    if (!room)
      return error_response(422, "invalid_value",
                            fmt::format("/guests: {} guests do not fit in {} room(s) at {}", n_guests, n_rooms, h->id));
  }

  booking_plan plan;
  plan.kind = "hotel";
  for (date night = check_in; night < check_out; night += std::chrono::days{1})
    plan.holds.push_back({room_item(*h, *room, night), room->count, n_rooms});
  const int nights = static_cast<int>((check_out - check_in).count());
  plan.details = object{{"type", "hotel"},
                        {"hotel", hotel_summary_json(*h)},
                        {"room_type", room->name},
                        {"rooms", n_rooms},
                        {"check_in", format_date(check_in)},
                        {"check_out", format_date(check_out)},
                        {"nights", nights},
                        {"guests", n_guests},
                        {"guest_name", std::get<std::string>(guest_name)},
                        {"total_price", stay_price(s.cat, *room, check_in, check_out) * n_rooms},
                        {"currency", "USD"}};
  if (!std::get<std::string>(email).empty()) plan.details["contact_email"] = std::get<std::string>(email);
  return plan;
}

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= k_max_key &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

}  // namespace

http_response create_booking(api::impl& s, const http_request& req) {
  // The body is read as JSON whatever Content-Type says (curl -d sends a form type).
  std::optional<idempotency_entry> key;
  if (req.idempotency_key) {
    if (!valid_key(*req.idempotency_key))
      return error_response(400, "invalid_idempotency_key",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters");
    key = idempotency_entry{*req.idempotency_key, {}};
  }
  auto parsed = json::parse(req.body, {.max_bytes = 1u << 20, .max_depth = 16});
  if (!parsed) return error_response(400, "invalid_json", parsed.error().describe());
  if (!parsed->is_object()) return error_response(400, "wrong_type", "the body must be a JSON object");
  const object& body = parsed->get_object();
  auto type = string_field(body, "type", true);
  if (auto* e = std::get_if<field_error>(&type)) return to_response(*e);
  std::variant<booking_plan, http_response> planned = http_response{};
  if (std::get<std::string>(type) == "flight") {
    planned = plan_flight(s, body);
  } else if (std::get<std::string>(type) == "hotel") {
    planned = plan_hotel(s, body);
  } else {
    return error_response(422, "invalid_value", "/type: must be \"flight\" or \"hotel\"");
  }
  if (auto* r = std::get_if<http_response>(&planned)) return std::move(*r);
  booking_plan& plan = std::get<booking_plan>(planned);
  if (key) key->fingerprint = fingerprint(json::serialize(*parsed));

  auto make_details = [&](const std::string& booking_id) {
    object d{{"booking_id", booking_id}, {"status", "confirmed"}};
    for (const auto& kv : plan.details) d[kv.key()] = kv.value();
    return json::serialize(d);
  };
  auto make_response = [](const booking_record& rec) {
    auto r = booking_response(201, rec);
    return stored_response{r.status, std::move(r.body)};
  };
  auto created = s.db->create(plan.kind, plan.holds, key, make_details, make_response);
  if (!created) {
    log::error("travel api: database: {}", created.error().to_string());
    return error_response(500, "internal", "database error");
  }
  switch (created->outcome) {
    case create_outcome::created:
      return booking_response(201, created->booking);
    case create_outcome::replayed: {
      http_response r;
      r.status = created->replay.status;
      r.body = std::move(created->replay.body);
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
    case create_outcome::key_conflict:
      return error_response(422, "idempotency_key_reused",
                            "this Idempotency-Key was already used with a different request body");
    case create_outcome::sold_out: {
      const bool seats = plan.kind == "flight";
      std::string what = seats ? fmt::format("{} seat(s) left on this flight", created->short_available)
                               : fmt::format("{} room(s) of this type left on {}", created->short_available,
                                             created->short_item.substr(created->short_item.size() - 10));
      return error_response(409, "sold_out", "not enough availability: only " + what);
    }
  }
  return error_response(500, "internal", "unexpected booking outcome");
}

http_response get_booking(api::impl& s, std::string_view id) {
  auto rec = s.db->get(id);
  if (!rec) {
    log::error("travel api: database: {}", rec.error().to_string());
    return error_response(500, "internal", "database error");
  }
  if (!*rec) return error_response(404, "not_found", fmt::format("no booking with id '{}'", echo(id)));
  return booking_response(200, **rec);
}

http_response cancel_booking(api::impl& s, std::string_view id) {
  booking_record rec;
  auto outcome = s.db->cancel(id, &rec);
  if (!outcome) {
    log::error("travel api: database: {}", outcome.error().to_string());
    return error_response(500, "internal", "database error");
  }
  switch (*outcome) {
    case store::cancel_outcome::not_found:
      return error_response(404, "not_found", fmt::format("no booking with id '{}'", echo(id)));
    case store::cancel_outcome::already_cancelled:
      return error_response(409, "already_cancelled", fmt::format("booking {} is already cancelled", rec.id));
    case store::cancel_outcome::cancelled:
      break;
  }
  return booking_response(200, rec);
}

}  // namespace tern::travel::detail
