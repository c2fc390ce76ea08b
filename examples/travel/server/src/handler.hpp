// Internals of the request handler shared by its source files: the api's
// state, query-string parsing, JSON builders and error responses.
#pragma once

#include "catalogue.hpp"
#include "store.hpp"

#include <tern/travel/api.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tern::travel {

struct api::impl {
  impl(std::uint64_t seed, std::unique_ptr<detail::store> d) : cat(seed), db(std::move(d)) {}
  detail::catalogue cat;
  std::unique_ptr<detail::store> db;
  std::mutex url_mu;
  std::string base_url;
};

namespace detail {

// {"error": {"code": code, "message": message}} with the given status.
http_response error_response(int status, std::string_view code, std::string_view message);
http_response json_response(int status, const boost::json::value& body);

// Decoded query parameters. parse() fails (400) on bad percent-encoding,
// a repeated name or a name outside `allowed`.
struct query {
  std::map<std::string, std::string, std::less<>> values;

  static result<query> parse(std::string_view text, std::initializer_list<std::string_view> allowed);
  const std::string* find(std::string_view name) const;
};

// Client text quoted in an error message: at most 64 bytes, anything but
// printable ASCII shown as '?', so the JSON we write stays valid UTF-8.
std::string echo(std::string_view text);

// Percent-decoding ("%2F" and '+' as space when plus_is_space); nullopt on a
// malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// A failed parameter check, turned into a response by the caller.
struct bad_input {
  int status;  // 400 (wrong type/format, missing) or 422 (out of range, inconsistent)
  std::string code;
  std::string message;
};
template <class T>
using checked = std::variant<T, bad_input>;

checked<std::string> required_text(const query& q, std::string_view name);
checked<date> date_param(const query& q, std::string_view name, bool required);
// An integer in [lo, hi]; `fallback` when absent.
checked<long long> int_param(const query& q, std::string_view name, long long lo, long long hi, long long fallback);
checked<double> number_param(const query& q, std::string_view name, double lo, double hi, double fallback);
// A stay: check_in < check_out, at most 30 nights, inside the catalogue.
bad_input* check_stay(date check_in, date check_out, bad_input& slot);

// JSON views of catalogue items; `seats_left`/`rooms_left` < 0 leaves them out.
boost::json::object flight_json(const flight& f, int seats_left);
boost::json::object hotel_summary_json(const hotel& h);
std::string hhmm(int minutes);

// Inventory keys (see store.hpp).
std::string flight_item(const flight& f);
std::string room_item(const hotel& h, const room_type& r, date night);
// Rooms of type r free on every night of [check_in, check_out); < 0 on a database error.
int rooms_left(api::impl& s, const hotel& h, const room_type& r, date check_in, date check_out);
int stay_price(const catalogue& cat, const room_type& r, date check_in, date check_out);

// POST /bookings, GET /bookings/{id}, POST /bookings/{id}/cancel.
http_response create_booking(api::impl& s, const http_request& req);
http_response get_booking(api::impl& s, std::string_view id);
http_response cancel_booking(api::impl& s, std::string_view id);

// The OpenAPI 3.0 document, with `servers` set to base_url when non-empty.
std::string openapi_text(std::string_view base_url);

}  // namespace detail
}  // namespace tern::travel
