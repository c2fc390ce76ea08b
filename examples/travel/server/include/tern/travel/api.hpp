// The travel API as a pure function: one HTTP request in, one response out,
// no sockets. The HTTP server (server.hpp) feeds it; tests call it directly.
//
//   TERN_TRY(auto api, tern::travel::api::open({.db_path = ":memory:", .seed = 42}));
//   auto res = api->handle({.method = "GET", .target = "/flights?from=BOS&to=GIG&date=2027-01-15"});
//   // res.status == 200, res.body is a JSON object {"flights": [...]}
//
// Routes (described exactly by the OpenAPI 3.0 document at /openapi.json):
//   GET  /health                      liveness
//   GET  /openapi.json                the API description
//   GET  /airports                    listAirports
//   GET  /flights?from&to&date&passengers&max_price&max_stops&limit     searchFlights
//   GET  /flights/{flight_id}         getFlight
//   GET  /hotels?city&check_in&check_out&guests&max_price&min_rating&limit  searchHotels
//   GET  /hotels/{hotel_id}           getHotel
//   POST /bookings                    createBooking (flight or hotel; Idempotency-Key header)
//   GET  /bookings/{booking_id}       getBooking
//   POST /bookings/{booking_id}/cancel  cancelBooking
// Errors are {"error": {"code": "...", "message": "..."}} with 400 (malformed
// request), 404 (unknown route or id), 405, 409 (sold out, already
// cancelled), 413, 422 (well-formed but invalid values); 500 only for our
// own failures (a database error), never for anything a client sends.
//
// Thread safety: handle() may be called from many threads at once; bookings
// are serialised in the store. Prices are whole US dollars.
#pragma once

#include <tern/core/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tern::travel {

struct api_options {
  std::string db_path = ":memory:";  // a file (WAL) or ":memory:"
  std::uint64_t seed = 42;           // the same seed always gives the same catalogue
};

struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: "/flights?from=BOS&..."
  std::string body;
  std::optional<std::string> idempotency_key;  // the Idempotency-Key header, when sent
  std::string content_type;                    // the Content-Type header ("" when absent)
};

struct http_response {
  int status = 200;
  std::string body;  // JSON text
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, Idempotent-Replayed)
};

class api {
 public:
  // Opens (or creates) the booking database. Errors: the file cannot be
  // opened, or it was created with another seed.
  static result<std::unique_ptr<api>> open(const api_options& options);
  ~api();
  api(const api&) = delete;
  api& operator=(const api&) = delete;

  // Never throws; a client mistake gives a 4xx response.
  http_response handle(const http_request& request);

  // Sets the "servers" URL the OpenAPI document advertises ("http://127.0.0.1:8080").
  void set_base_url(std::string url);

  struct impl;

 private:
  explicit api(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace tern::travel
