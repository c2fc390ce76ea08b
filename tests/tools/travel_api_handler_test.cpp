// The travel API's request handler as a pure function (no sockets): routes,
// searches, details, bookings, idempotency and bad input.
#include <tern/core/json.hpp>
#include <tern/travel/api.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <unistd.h>

namespace {

using tern::travel::api;
using tern::travel::http_request;
using tern::travel::http_response;
namespace bj = boost::json;

std::unique_ptr<api> open_api(std::uint64_t seed = 42, std::string db = ":memory:") {
  auto a = api::open({.db_path = std::move(db), .seed = seed});
  REQUIRE(a.has_value());
  return std::move(a).value();
}

bj::value body_of(const http_response& r) {
  auto v = tern::json::parse(r.body);
  INFO(r.body);
  REQUIRE(v.has_value());
  return std::move(v).value();
}

http_response get(api& a, std::string target) { return a.handle({.method = "GET", .target = std::move(target)}); }
http_response post(api& a, std::string target, std::string body, std::optional<std::string> key = std::nullopt) {
  return a.handle({.method = "POST", .target = std::move(target), .body = std::move(body), .idempotency_key = key});
}

// Asserts a JSON error response with the given status and code.
void require_error(const http_response& r, int status, std::string_view code) {
  INFO(r.body);
  REQUIRE(r.status == status);
  auto v = body_of(r);
  REQUIRE(v.is_object());
  const auto* err = v.as_object().if_contains("error");
  REQUIRE(err);
  REQUIRE(err->is_object());
  CHECK(err->as_object().at("code").as_string() == code);
  CHECK(!err->as_object().at("message").as_string().empty());
}

const char* k_search = "/flights?from=BOS&to=GIG&date=2027-01-15&passengers=2";
const char* k_hotels = "/hotels?city=Rio%20de%20Janeiro&check_in=2027-01-15&check_out=2027-01-20&guests=2";

std::string flight_booking(std::string_view id, int n) {
  bj::array passengers;
  for (int i = 0; i < n; ++i) passengers.push_back(bj::object{{"name", "Traveller " + std::to_string(i + 1)}});
  return tern::json::serialize(bj::object{{"type", "flight"}, {"flight_id", id}, {"passengers", std::move(passengers)}});
}

}  // namespace

TEST_CASE("travel api: health and airports") {
  auto a = open_api();
  auto h = get(*a, "/health");
  REQUIRE(h.status == 200);
  CHECK(body_of(h).at("status").as_string() == "ok");
  auto r = get(*a, "/airports");
  REQUIRE(r.status == 200);
  std::set<std::string> cities;
  for (const auto& ap : bj::array(body_of(r).at("airports").as_array())) cities.insert(std::string(ap.at("city").as_string()));
  for (const char* c : {"Rio de Janeiro", "Sao Paulo", "Salvador", "Florianopolis", "Manaus", "Boston"})
    CHECK(cities.count(c) == 1);
  CHECK(cities.size() >= 30);
}

TEST_CASE("travel api: flight search is deterministic, sorted and consistent with getFlight") {
  auto a = open_api(42);
  auto b = open_api(42);
  auto c = open_api(7);
  auto ra = get(*a, k_search);
  REQUIRE(ra.status == 200);
  CHECK(ra.body == get(*b, k_search).body);  // same seed, same catalogue
  CHECK(ra.body != get(*c, k_search).body);  // another seed, another one
  auto v = body_of(ra);
  const auto& flights = v.at("flights").as_array();
  REQUIRE(flights.size() >= 3);
  std::int64_t last_price = 0;
  for (const auto& f : flights) {
    const auto& o = f.as_object();
    CHECK(o.at("from").as_string() == "BOS");
    CHECK(o.at("to").as_string() == "GIG");
    CHECK(o.at("departure_date").as_string() == "2027-01-15");
    CHECK(o.at("currency").as_string() == "USD");
    CHECK(o.at("price").as_int64() >= last_price);
    CHECK(o.at("total_price").as_int64() == 2 * o.at("price").as_int64());
    CHECK(o.at("seats_available").as_int64() >= 2);
    last_price = o.at("price").as_int64();
    // Details agree with the search result.
    const std::string id(o.at("id").as_string());
    auto d = get(*a, "/flights/" + id);
    REQUIRE(d.status == 200);
    auto dv = body_of(d);
    CHECK(dv.at("price") == o.at("price"));
    CHECK(dv.at("departure_time") == o.at("departure_time"));
    CHECK(dv.at("seats_available") == o.at("seats_available"));
  }
  // City names work as well as codes, and max_price filters.
  auto by_city = get(*a, "/flights?from=boston&to=Rio+de+Janeiro&date=2027-01-15&passengers=2");
  REQUIRE(by_city.status == 200);
  CHECK(body_of(by_city).at("flights") == v.at("flights"));
  auto cheap = get(*a, std::string(k_search) + "&max_price=" + std::to_string(last_price - 1));
  REQUIRE(cheap.status == 200);
  CHECK(body_of(cheap).at("flights").as_array().size() < flights.size());
}

TEST_CASE("travel api: Boston to Rio has options inside and outside a 3000 USD budget") {
  // The flagship task: 2 adults, 5 nights; flights both ways plus a hotel.
  auto a = open_api();
  auto min_max = [&](const std::string& target, const char* list) {
    auto r = get(*a, target);
    REQUIRE(r.status == 200);
    std::int64_t lo = INT64_MAX, hi = 0;
    for (const auto& x : bj::array(body_of(r).at(list).as_array())) {
      lo = std::min(lo, x.at("total_price").as_int64());
      hi = std::max(hi, x.at("total_price").as_int64());
    }
    REQUIRE(hi > 0);
    return std::pair{lo, hi};
  };
  int fitting_days = 0;
  for (int day = 10; day <= 20; ++day) {
    const std::string out_date = "2027-03-" + std::to_string(day);
    const std::string back_date = "2027-03-" + std::to_string(day + 5);
    auto [out_lo, out_hi] = min_max("/flights?from=BOS&to=GIG&passengers=2&date=" + out_date, "flights");
    auto [back_lo, back_hi] = min_max("/flights?from=GIG&to=BOS&passengers=2&date=" + back_date, "flights");
    auto [h_lo, h_hi] = min_max("/hotels?city=GIG&guests=2&check_in=" + out_date + "&check_out=" + back_date, "hotels");
    if (out_lo + back_lo + h_lo <= 3000) ++fitting_days;
    CHECK(out_hi + back_hi + h_hi > 3000);  // the dearest choice never fits
  }
  CHECK(fitting_days >= 5);
}

TEST_CASE("travel api: hotel search and details") {
  auto a = open_api();
  auto r = get(*a, k_hotels);
  REQUIRE(r.status == 200);
  auto v = body_of(r);
  CHECK(v.at("nights").as_int64() == 5);
  const auto& hotels = v.at("hotels").as_array();
  REQUIRE(hotels.size() >= 8);
  std::set<std::string> areas;
  std::int64_t last_total = 0;
  for (const auto& h : hotels) {
    const auto& o = h.as_object();
    CHECK(o.at("city").as_string() == "Rio de Janeiro");
    CHECK(o.at("total_price").as_int64() >= last_total);
    last_total = o.at("total_price").as_int64();
    CHECK(o.at("max_guests_per_room").as_int64() >= 2);
    areas.insert(std::string(o.at("neighbourhood").as_string()));
    const std::string id(o.at("id").as_string());
    auto d = get(*a, "/hotels/" + id + "?check_in=2027-01-15&check_out=2027-01-20");
    REQUIRE(d.status == 200);
    auto dv = body_of(d);
    bool found = false;
    for (const auto& room : dv.at("rooms").as_array())
      if (room.at("room_type") == o.at("room_type")) {
        found = true;
        CHECK(room.at("total_price") == o.at("total_price"));
        CHECK(room.at("rooms_available") == o.at("rooms_available"));
      }
    CHECK(found);
  }
  CHECK(areas.size() >= 3);
  auto filtered = get(*a, std::string(k_hotels) + "&max_price=150&min_rating=7.5");
  REQUIRE(filtered.status == 200);
  for (const auto& h : bj::array(body_of(filtered).at("hotels").as_array())) {
    CHECK(h.at("nightly_price").as_int64() <= 150);
    CHECK(h.at("rating").to_number<double>() >= 7.5);
  }
  CHECK(get(*a, "/hotels/HT-GIG-01").status == 200);
}

TEST_CASE("travel api: booking a flight, reading it back and cancelling it") {
  auto a = open_api();
  auto flights = body_of(get(*a, k_search)).at("flights").as_array();
  const std::string id(flights[0].at("id").as_string());
  const auto seats = flights[0].at("seats_available").as_int64();
  const auto price = flights[0].at("price").as_int64();

  auto created = post(*a, "/bookings", flight_booking(id, 2));
  REQUIRE(created.status == 201);
  auto b = body_of(created);
  const std::string booking_id(b.at("booking_id").as_string());
  CHECK(booking_id.rfind("BK-", 0) == 0);
  CHECK(b.at("status").as_string() == "confirmed");
  CHECK(b.at("total_price").as_int64() == 2 * price);
  CHECK(b.at("currency").as_string() == "USD");
  CHECK(b.at("passengers").as_array().size() == 2);
  CHECK(body_of(get(*a, "/flights/" + id)).at("seats_available").as_int64() == seats - 2);

  auto read = get(*a, "/bookings/" + booking_id);
  REQUIRE(read.status == 200);
  CHECK(read.body == created.body);

  auto cancelled = post(*a, "/bookings/" + booking_id + "/cancel", "");
  REQUIRE(cancelled.status == 200);
  CHECK(body_of(cancelled).at("status").as_string() == "cancelled");
  CHECK(body_of(get(*a, "/bookings/" + booking_id)).at("status").as_string() == "cancelled");
  CHECK(body_of(get(*a, "/flights/" + id)).at("seats_available").as_int64() == seats);
  require_error(post(*a, "/bookings/" + booking_id + "/cancel", ""), 409, "already_cancelled");
  require_error(post(*a, "/bookings/BK-999999/cancel", ""), 404, "not_found");
  require_error(get(*a, "/bookings/BK-999999"), 404, "not_found");
}

TEST_CASE("travel api: booking a hotel takes rooms on every night of the stay") {
  auto a = open_api();
  const std::string body = R"({"type":"hotel","hotel_id":"HT-GIG-02","check_in":"2027-01-15",
      "check_out":"2027-01-20","guests":2,"guest_name":"Ana Silva"})";
  auto before = body_of(get(*a, "/hotels/HT-GIG-02?check_in=2027-01-15&check_out=2027-01-20"));
  auto created = post(*a, "/bookings", body);
  REQUIRE(created.status == 201);
  auto b = body_of(created);
  CHECK(b.at("nights").as_int64() == 5);
  CHECK(b.at("room_type").as_string() == "standard");
  CHECK(b.at("total_price") == before.at("rooms").at(0).at("total_price"));
  // One night inside the stay sees one room fewer; the night after it does not.
  auto inside = body_of(get(*a, "/hotels/HT-GIG-02?check_in=2027-01-17&check_out=2027-01-18"));
  auto after = body_of(get(*a, "/hotels/HT-GIG-02?check_in=2027-01-20&check_out=2027-01-21"));
  const auto count = before.at("rooms").at(0).at("rooms_available").as_int64();
  CHECK(inside.at("rooms").at(0).at("rooms_available").as_int64() == count - 1);
  CHECK(after.at("rooms").at(0).at("rooms_available").as_int64() == count);
  // Too many guests for the room type asked for.
  require_error(post(*a, "/bookings", R"({"type":"hotel","hotel_id":"HT-GIG-02","room_type":"standard",
      "check_in":"2027-01-15","check_out":"2027-01-20","guests":3,"guest_name":"A B"})"), 422, "invalid_value");
}

TEST_CASE("travel api: the same Idempotency-Key books once") {
  auto a = open_api();
  auto flights = body_of(get(*a, k_search)).at("flights").as_array();
  const std::string id(flights[0].at("id").as_string());
  const auto seats = flights[0].at("seats_available").as_int64();
  auto first = post(*a, "/bookings", flight_booking(id, 2), "trip-42");
  auto second = post(*a, "/bookings", flight_booking(id, 2), "trip-42");
  REQUIRE(first.status == 201);
  REQUIRE(second.status == 201);
  CHECK(first.body == second.body);
  bool replayed = false;
  for (auto& [k, v] : second.headers) replayed = replayed || (k == "Idempotent-Replayed" && v == "true");
  CHECK(replayed);
  CHECK(body_of(get(*a, "/flights/" + id)).at("seats_available").as_int64() == seats - 2);
  // The same key with another body is refused; another key books again.
  require_error(post(*a, "/bookings", flight_booking(id, 1), "trip-42"), 422, "idempotency_key_reused");
  auto other = post(*a, "/bookings", flight_booking(id, 1), "trip-43");
  REQUIRE(other.status == 201);
  CHECK(body_of(other).at("booking_id") != body_of(first).at("booking_id"));
  CHECK(body_of(get(*a, "/flights/" + id)).at("seats_available").as_int64() == seats - 3);
  require_error(post(*a, "/bookings", flight_booking(id, 1), ""), 400, "invalid_idempotency_key");
  require_error(post(*a, "/bookings", flight_booking(id, 1), std::string(300, 'k')), 400, "invalid_idempotency_key");
}

TEST_CASE("travel api: selling out gives 409 and inventory never goes negative") {
  auto a = open_api();
  auto flights = body_of(get(*a, k_search)).at("flights").as_array();
  const std::string id(flights[0].at("id").as_string());
  auto seats = flights[0].at("seats_available").as_int64();
  while (seats > 0) {
    const int n = static_cast<int>(std::min<std::int64_t>(seats, 9));
    REQUIRE(post(*a, "/bookings", flight_booking(id, n)).status == 201);
    seats -= n;
  }
  require_error(post(*a, "/bookings", flight_booking(id, 1)), 409, "sold_out");
  CHECK(body_of(get(*a, "/flights/" + id)).at("seats_available").as_int64() == 0);
  // A sold-out flight drops out of a search for that many passengers.
  for (const auto& f : bj::array(body_of(get(*a, k_search)).at("flights").as_array())) CHECK(f.at("id").as_string() != id);
}

TEST_CASE("travel api: bad query parameters are 400 or 422 with a JSON error") {
  auto a = open_api();
  require_error(get(*a, "/flights?from=BOS&to=GIG"), 400, "missing_parameter");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2027-02-30"), 400, "invalid_parameter");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=15/01/2027"), 400, "invalid_parameter");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2031-01-01"), 422, "date_out_of_range");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2027-01-15&passengers=two"), 400, "invalid_parameter");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2027-01-15&passengers=0"), 422, "invalid_parameter");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2027-01-15&passengers=99999999999999999999"), 400,
                "invalid_parameter");
  require_error(get(*a, "/flights?from=XXX&to=GIG&date=2027-01-15"), 422, "unknown_airport");
  require_error(get(*a, "/flights?from=GIG&to=GIG&date=2027-01-15"), 422, "invalid_route");
  require_error(get(*a, "/flights?from=BOS&to=GIG&date=2027-01-15&adults=2"), 400, "invalid_parameter");
  require_error(get(*a, "/flights?from=BOS&from=JFK&to=GIG&date=2027-01-15"), 400, "invalid_parameter");
  require_error(get(*a, "/flights?from=B%ZZ&to=GIG&date=2027-01-15"), 400, "malformed_query");
  require_error(get(*a, "/flights?from=B%00&to=GIG&date=2027-01-15"), 400, "malformed_query");
  // Client bytes quoted back in messages never make the JSON invalid (body_of validates UTF-8).
  require_error(get(*a, "/flights?from=%FF%FE%01&to=GIG&date=2027-01-15"), 422, "unknown_airport");
  require_error(get(*a, "/flights/%C3%28" + std::string(500, 'x')), 404, "not_found");
  require_error(get(*a, "/%FF%FF"), 404, "not_found");
  require_error(get(*a, "/flights?%FF=1"), 400, "invalid_parameter");
  require_error(get(*a, "/hotels?city=Rio&check_in=2027-01-20&check_out=2027-01-15"), 422, "invalid_dates");
  require_error(get(*a, "/hotels?city=GIG&check_in=2027-01-20&check_out=2027-03-15"), 422, "invalid_dates");
  require_error(get(*a, "/hotels?city=Atlantis&check_in=2027-01-15&check_out=2027-01-20"), 422, "unknown_city");
  require_error(get(*a, "/hotels?city=GIG&check_in=2027-01-15&check_out=2027-01-20&min_rating=nan"), 400,
                "invalid_parameter");
  require_error(get(*a, "/hotels/HT-GIG-01?check_in=2027-01-15"), 400, "missing_parameter");
  require_error(get(*a, "/flights/FL-BOS-GIG-20270115-9"), 404, "not_found");
  require_error(get(*a, "/flights/FL-XXX-GIG-20270115-1"), 404, "not_found");
  require_error(get(*a, "/flights/garbage"), 404, "not_found");
  require_error(get(*a, "/hotels/HT-NOPE-1"), 404, "not_found");
  require_error(get(*a, "/nowhere"), 404, "not_found");
  require_error(get(*a, "nowhere"), 400, "bad_request");
  auto wrong_method = a->handle({.method = "DELETE", .target = "/bookings"});
  require_error(wrong_method, 405, "method_not_allowed");
  REQUIRE(wrong_method.headers.size() == 1);
  CHECK(wrong_method.headers[0].second == "POST");
}

TEST_CASE("travel api: bad booking bodies are 400 or 422 with a JSON error") {
  auto a = open_api();
  const std::string fid = "FL-BOS-GIG-20270115-1";
  require_error(post(*a, "/bookings", "{not json"), 400, "invalid_json");
  require_error(post(*a, "/bookings", ""), 400, "invalid_json");
  require_error(post(*a, "/bookings", "[1,2]"), 400, "wrong_type");
  require_error(post(*a, "/bookings", std::string(100, '[') + std::string(100, ']')), 400, "invalid_json");
  require_error(post(*a, "/bookings", "{\"type\":\"flight\",\"flight_id\":\"" + fid + "\",\"passengers\":[{\"name\":\"\xff\"}]}"),
                400, "invalid_json");
  require_error(post(*a, "/bookings", R"({})"), 422, "missing_field");
  require_error(post(*a, "/bookings", R"({"type":"train"})"), 422, "invalid_value");
  require_error(post(*a, "/bookings", R"({"type":42})"), 400, "wrong_type");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":7,"passengers":[{"name":"A"}]})"), 400,
                "wrong_type");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":"FL-NOPE","passengers":[{"name":"A"}]})"), 404,
                "not_found");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":2})"), 400,
                "wrong_type");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":[]})"), 422,
                "invalid_value");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":["Ana"]})"), 400,
                "wrong_type");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":[{"name":"  "}]})"),
                422, "invalid_value");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":[{"name":"A\u0001"}]})"),
                422, "invalid_value");
  require_error(post(*a, "/bookings", R"({"type":"flight","flight_id":")" + fid + R"(","passengers":[{"name":"A"}],"seat":"1A"})"),
                422, "unknown_field");
  require_error(post(*a, "/bookings", flight_booking(fid, 10)), 422, "invalid_value");
  const std::string hotel = R"({"type":"hotel","hotel_id":"HT-GIG-01","guest_name":"A B",)";
  require_error(post(*a, "/bookings", hotel + R"("check_in":"2027-01-15","check_out":"2027-01-20","guests":"2"})"), 400,
                "wrong_type");
  require_error(post(*a, "/bookings", hotel + R"("check_in":"2027-01-15","check_out":"2027-01-20","guests":2.5})"), 400,
                "wrong_type");
  require_error(post(*a, "/bookings", hotel + R"("check_in":"2027-01-15","check_out":"2027-01-20","guests":18446744073709551615})"),
                422, "invalid_value");
  require_error(post(*a, "/bookings", hotel + R"("check_in":"2027-01-15","check_out":"2027-01-15","guests":2})"), 422,
                "invalid_dates");
  require_error(post(*a, "/bookings", hotel + R"("check_in":"tomorrow","check_out":"2027-01-15","guests":2})"), 422,
                "invalid_value");
  require_error(post(*a, "/bookings", hotel + R"("check_in":"2027-01-15","check_out":"2027-01-20","guests":2,"room_type":"penthouse"})"),
                422, "invalid_value");
  require_error(post(*a, "/bookings", R"({"type":"hotel","hotel_id":"HT-GIG-01","check_in":"2027-01-15","check_out":"2027-01-20","guests":2})"),
                422, "missing_field");
  // Nothing above booked anything.
  CHECK(get(*a, "/bookings/BK-000001").status == 404);
}

TEST_CASE("travel api: a file database keeps bookings across restarts and refuses another seed") {
  const auto path = std::filesystem::temp_directory_path() / ("tern-travel-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  std::string booking_id;
  {
    auto a = open_api(42, path.string());
    auto created = post(*a, "/bookings", flight_booking("FL-BOS-GIG-20270115-1", 1));
    REQUIRE(created.status == 201);
    booking_id = std::string(body_of(created).at("booking_id").as_string());
  }
  {
    auto a = open_api(42, path.string());
    auto read = get(*a, "/bookings/" + booking_id);
    REQUIRE(read.status == 200);
    CHECK(body_of(read).at("status").as_string() == "confirmed");
  }
  auto other = api::open({.db_path = path.string(), .seed = 7});
  REQUIRE(!other.has_value());
  CHECK(other.error().describe().find("seed") != std::string::npos);
  CHECK(!api::open({.db_path = "/nonexistent-dir/x.db"}).has_value());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

TEST_CASE("travel api: /openapi.json is an OpenAPI 3.0 document whose operations answer") {
  auto a = open_api();
  a->set_base_url("http://127.0.0.1:1234");
  auto r = get(*a, "/openapi.json");
  REQUIRE(r.status == 200);
  auto doc = body_of(r);
  CHECK(doc.at("openapi").as_string().starts_with("3.0"));
  CHECK(doc.at("servers").at(0).at("url").as_string() == "http://127.0.0.1:1234");
  // Each operation, called with example arguments, reaches its handler (not a 404/405 route miss).
  const std::map<std::string, std::pair<std::string, std::string>> calls{
      {"health", {"GET", "/health"}},
      {"listAirports", {"GET", "/airports"}},
      {"searchFlights", {"GET", k_search}},
      {"getFlight", {"GET", "/flights/FL-BOS-GIG-20270115-1"}},
      {"searchHotels", {"GET", k_hotels}},
      {"getHotel", {"GET", "/hotels/HT-GIG-01"}},
      {"createBooking", {"POST", "/bookings"}},
      {"getBooking", {"GET", "/bookings/BK-000001"}},
      {"cancelBooking", {"POST", "/bookings/BK-000001/cancel"}},
  };
  std::set<std::string> seen;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      const std::string op_id(op.at("operationId").as_string());
      INFO(op_id);
      seen.insert(op_id);
      REQUIRE(calls.count(op_id) == 1);
      const auto& [m, target] = calls.at(op_id);
      std::string upper(method);
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      CHECK(upper == m);
      // The documented path template matches the concrete target.
      std::string tmpl(path);
      const auto brace = tmpl.find('{');
      CHECK(target.rfind(tmpl.substr(0, brace), 0) == 0);
      const std::string body = op_id == "createBooking" ? flight_booking("FL-BOS-GIG-20270115-1", 1) : "";
      auto res = a->handle({.method = m, .target = target, .body = body});
      CHECK(res.status != 405);
      CHECK(res.status < 500);
      if (res.status == 404) CHECK(body_of(res).at("error").at("message").as_string().find("no route") == std::string::npos);
      // Every parameter the document names is accepted (no "unknown parameter").
      if (const auto* params = op.as_object().if_contains("parameters"))
        for (const auto& p : params->as_array())
          if (p.at("in").as_string() == "query") {
            const std::string name(p.at("name").as_string());
            auto probe = a->handle({.method = m, .target = target + (target.find('?') == std::string::npos ? "?" : "&") + name + "=1"});
            if (probe.status >= 400) CHECK(probe.body.find("unknown parameter") == std::string::npos);
          }
    }
  }
  CHECK(seen.size() == calls.size());
}

TEST_CASE("travel api: seed 42 catalogue golden values") {
  // Pinned so that an accidental change to the generator (which would move
  // every example's expected ids and prices) is noticed.
  auto a = open_api(42);
  auto f = body_of(get(*a, "/flights/FL-BOS-GIG-20270115-3"));
  CHECK(f.at("price").as_int64() == 455);
  CHECK(f.at("departure_time").as_string() == "14:20");
  CHECK(f.at("arrival_date").as_string() == "2027-01-16");
  CHECK(f.at("arrival_time").as_string() == "05:00");
  CHECK(f.at("via").as_string() == "ATL");
  CHECK(f.at("airline").as_string() == "Condor Azul");
  auto h = body_of(get(*a, "/hotels/HT-GIG-02?check_in=2027-01-15&check_out=2027-01-20"));
  CHECK(h.at("name").as_string() == "Estrela Copacabana Hotel");
  CHECK(h.at("neighbourhood").as_string() == "Copacabana");
  CHECK(h.at("stars").as_int64() == 2);
  CHECK(h.at("rooms").at(0).at("total_price").as_int64() == 414);
}

TEST_CASE("travel api: mutated requests never give a 5xx or invalid JSON") {
  // Byte-level mutations of valid requests, from a fixed seed: every answer
  // must be a JSON object with a status below 500.
  auto a = open_api();
  const std::vector<std::pair<std::string, std::string>> seeds{
      {"GET", k_search},
      {"GET", k_hotels},
      {"GET", "/hotels/HT-GIG-02?check_in=2027-01-15&check_out=2027-01-20"},
      {"GET", "/flights/FL-BOS-GIG-20270115-3"},
      {"POST", "/bookings"},
      {"GET", "/bookings/BK-000001"},
      {"POST", "/bookings/BK-000001/cancel"},
  };
  const std::vector<std::string> bodies{
      flight_booking("FL-BOS-GIG-20270115-3", 2),
      R"({"type":"hotel","hotel_id":"HT-GIG-02","check_in":"2027-01-15","check_out":"2027-01-20","guests":2,"guest_name":"Ana Silva","rooms":1,"room_type":"standard"})",
  };
  using namespace std::string_literals;
  const std::string alphabet = "%&=?/{}[]\":,0123456789-+.eE \\u\x00\xff\xc3tfn"s;  // NUL included
  REQUIRE(alphabet.size() == 36);
  std::uint64_t state = 0x243f6a8885a308d3ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto mutate = [&](std::string s) {
    const int n = 1 + static_cast<int>(next() % 4);
    for (int i = 0; i < n; ++i) {
      const std::size_t pos = s.empty() ? 0 : next() % s.size();
      const char c = alphabet[next() % alphabet.size()];
      switch (next() % 4) {
        case 0: if (!s.empty()) s[pos] = c; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
        case 2: if (!s.empty()) s.erase(pos, 1 + next() % 8); break;
        default: s = s.substr(0, pos); break;
      }
    }
    return s;
  };
  int n_2xx = 0;
  for (int i = 0; i < 3000; ++i) {
    const auto& [method, target] = seeds[next() % seeds.size()];
    http_request req{.method = method, .target = target};
    if (method == "POST" && target == "/bookings") req.body = bodies[next() % bodies.size()];
    if (next() % 2) req.target = mutate(req.target);
    if (!req.body.empty() && next() % 4 != 0) req.body = mutate(req.body);
    auto res = a->handle(req);
    INFO(req.method << " " << req.target << " " << req.body);
    REQUIRE(res.status < 500);
    auto v = tern::json::parse(res.body);
    REQUIRE(v.has_value());
    REQUIRE(v->is_object());
    if (res.status < 300) ++n_2xx;
  }
  CHECK(n_2xx > 100);  // the mutations leave plenty of valid requests too
}
