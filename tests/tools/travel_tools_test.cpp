// Every travel API endpoint through HttpTools imported from the server's own
// OpenAPI document (GET /openapi.json), the way an agent would use them.
#include <tern/core/json.hpp>
#include <tern/tools/openapi.hpp>
#include <tern/tools/tool_registry.hpp>
#include <tern/travel/server.hpp>

#include "async_test.hpp"

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <thread>

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using namespace tern::tools;

namespace {

// The travel API on its own thread and io_context, on an ephemeral port.
struct travel_server {
  asio::io_context io;
  std::unique_ptr<tern::travel::server> server;
  std::thread thread;
  travel_server() {
    tern::travel::server_options o;
    o.port = 0;
    auto s = tern::travel::server::start(io, o);
    REQUIRE(s);
    server = std::move(*s);
    thread = std::thread([this] { io.run(); });
  }
  ~travel_server() {
    server->stop();
    thread.join();
    server.reset();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
};

bj::value parse(std::string_view text) {
  auto v = tern::json::parse(text);
  REQUIRE(v);
  return std::move(*v);
}

}  // namespace

TEST_CASE("travel: every endpoint through HttpTools imported from /openapi.json") {
  travel_server travel;
  tern::test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    auto client = std::make_shared<http_client>(io.get_executor());
    auto doc = co_await client->request(http_request("GET", travel.url() + "/openapi.json"));
    REQUIRE(doc);
    REQUIRE(doc->status == 200);
    auto spec = tern::json::parse(doc->body);
    REQUIRE(spec);
    openapi_options o;
    o.base_url = travel.url();
    auto tools = import_openapi(*spec, client, o);
    INFO((tools ? std::string() : tools.error().describe()));
    REQUIRE(tools);
    tool_registry reg;
    for (auto& t : *tools) REQUIRE(reg.add(t));
    std::vector<std::string> names;
    for (auto& t : reg.list()) names.push_back(t->name());
    CHECK(names == std::vector<std::string>{"health", "listAirports", "searchFlights", "getFlight", "searchHotels",
                                            "getHotel", "createBooking", "getBooking", "cancelBooking"});

    auto health = co_await reg.invoke("health", bj::object{});
    REQUIRE(health.ok());
    CHECK(health.value().at("status") == "ok");

    auto airports = co_await reg.invoke("listAirports", bj::object{});
    REQUIRE(airports.ok());
    bool has_bos = false;
    for (const auto& a : airports.value().at("airports").as_array()) has_bos = has_bos || a.at("code") == "BOS";
    CHECK(has_bos);

    auto flights = co_await reg.invoke("searchFlights", parse(R"({"from":"BOS","to":"GIG","date":"2027-01-15","limit":3})"));
    INFO(tern::json::serialize(flights.to_json()));
    REQUIRE(flights.ok());
    const auto& list = flights.value().at("flights").as_array();
    REQUIRE_FALSE(list.empty());
    CHECK(list.size() <= 3);
    std::string flight_id(list[0].at("id").as_string());

    bj::value flight_args = bj::object{{"flight_id", flight_id}};
    auto flight = co_await reg.invoke("getFlight", flight_args);
    REQUIRE(flight.ok());
    CHECK(flight.value().at("id").as_string() == flight_id);

    auto hotels = co_await reg.invoke("searchHotels",
                                      parse(R"({"city":"GIG","check_in":"2027-01-15","check_out":"2027-01-18","limit":2})"));
    INFO(tern::json::serialize(hotels.to_json()));
    REQUIRE(hotels.ok());
    REQUIRE_FALSE(hotels.value().at("hotels").as_array().empty());
    std::string hotel_id(hotels.value().at("hotels").as_array()[0].at("id").as_string());

    bj::value hotel_args = bj::object{{"hotel_id", hotel_id}, {"check_in", "2027-01-15"}, {"check_out", "2027-01-18"}};
    auto hotel = co_await reg.invoke("getHotel", hotel_args);
    REQUIRE(hotel.ok());
    CHECK(hotel.value().at("id").as_string() == hotel_id);

    bj::value booking_args = bj::object{{"type", "flight"}, {"flight_id", flight_id}, {"passengers", bj::array{bj::object{{"name", "Ada Lovelace"}}}},
                   {"Idempotency-Key", "tern-test-1"}};
    auto booking = co_await reg.invoke(
        "createBooking",
        booking_args);
    INFO(tern::json::serialize(booking.to_json()));
    REQUIRE(booking.ok());
    std::string booking_id(booking.value().at("booking_id").as_string());
    // The same key and body: the first answer again, not a second booking.
    bj::value replay_args = bj::object{{"type", "flight"}, {"flight_id", flight_id}, {"passengers", bj::array{bj::object{{"name", "Ada Lovelace"}}}},
                   {"Idempotency-Key", "tern-test-1"}};
    auto replay = co_await reg.invoke(
        "createBooking",
        replay_args);
    REQUIRE(replay.ok());
    CHECK(replay.value().at("booking_id").as_string() == booking_id);

    bj::value hotel_booking_args = bj::object{{"type", "hotel"}, {"hotel_id", hotel_id}, {"check_in", "2027-01-15"},
                                    {"check_out", "2027-01-18"}, {"guests", 1}, {"guest_name", "Ada Lovelace"}};
    auto hotel_booking = co_await reg.invoke(
        "createBooking", hotel_booking_args);
    INFO(tern::json::serialize(hotel_booking.to_json()));
    REQUIRE(hotel_booking.ok());

    bj::value got_args = bj::object{{"booking_id", booking_id}};
    auto got = co_await reg.invoke("getBooking", got_args);
    REQUIRE(got.ok());
    CHECK(got.value().at("booking_id").as_string() == booking_id);

    bj::value cancelled_args = bj::object{{"booking_id", booking_id}};
    auto cancelled = co_await reg.invoke("cancelBooking", cancelled_args);
    REQUIRE(cancelled.ok());
    CHECK(cancelled.value().at("status") == "cancelled");

    // Failures come back as structured errors.
    bj::value again_args = bj::object{{"booking_id", booking_id}};
    auto again = co_await reg.invoke("cancelBooking", again_args);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == tool_error_kind::http_status);
    CHECK(again.error().http_status == 409);
    bj::value unknown_args = bj::object{{"flight_id", "FL-NOPE"}};
    auto unknown = co_await reg.invoke("getFlight", unknown_args);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().http_status == 404);
    auto bad = co_await reg.invoke("searchFlights", parse(R"({"from":"BOS","to":"GIG","date":"2027-01-15","passengers":0})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == tool_error_kind::invalid_arguments);
    CHECK(bad.error().message == "arguments: /passengers: must be >= 1");
    bj::value extra_args = bj::object{{"type", "flight"}, {"seat", "1A"}};
    auto extra = co_await reg.invoke("createBooking", extra_args);
    REQUIRE_FALSE(extra.ok());
    CHECK(extra.error().kind == tool_error_kind::invalid_arguments);
    co_return true;
  });
}
