// The OpenAPI 3.0 document for the travel API, served at /openapi.json and
// imported by the example agents to build their HTTP tools. Keep it in step
// with the routes in api.cpp; tests check that every operation answers.
#include "handler.hpp"

#include <tern/core/json.hpp>

#include <boost/json/array.hpp>

namespace tern::travel::detail {
namespace {

constexpr std::string_view k_document = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "Tern Travel API",
    "version": "1.0.0",
    "description": "A seeded, deterministic travel catalogue (flights and hotels between about forty world cities, Brazil included) with bookings stored in SQLite. All prices are whole US dollars. Dates are YYYY-MM-DD, between 2025-01-01 and 2028-12-31. Flights are one way; search twice for a round trip."
  },
  "paths": {
    "/health": {
      "get": {
        "operationId": "health",
        "summary": "Liveness check.",
        "responses": {
          "200": {"description": "The server is up.", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}, "required": ["status"]}}}}
        }
      }
    },
    "/airports": {
      "get": {
        "operationId": "listAirports",
        "summary": "List the airports and cities the catalogue covers.",
        "responses": {
          "200": {"description": "Every airport.", "content": {"application/json": {"schema": {"type": "object", "properties": {"airports": {"type": "array", "items": {"$ref": "#/components/schemas/Airport"}}}, "required": ["airports"]}}}}
        }
      }
    },
    "/flights": {
      "get": {
        "operationId": "searchFlights",
        "summary": "Search one-way economy flights for a date, cheapest first.",
        "parameters": [
          {"name": "from", "in": "query", "required": true, "description": "Departure airport IATA code (e.g. BOS) or city name (e.g. Boston).", "schema": {"type": "string", "minLength": 1}},
          {"name": "to", "in": "query", "required": true, "description": "Arrival airport IATA code (e.g. GIG) or city name (e.g. Rio de Janeiro).", "schema": {"type": "string", "minLength": 1}},
          {"name": "date", "in": "query", "required": true, "description": "Departure date (local), YYYY-MM-DD.", "schema": {"type": "string", "format": "date"}},
          {"name": "passengers", "in": "query", "required": false, "description": "Number of passengers; only flights with that many free seats are listed.", "schema": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1}},
          {"name": "max_price", "in": "query", "required": false, "description": "Maximum price per passenger, USD.", "schema": {"type": "integer", "minimum": 0}},
          {"name": "max_stops", "in": "query", "required": false, "description": "0 for nonstop only.", "schema": {"type": "integer", "minimum": 0, "maximum": 1, "default": 1}},
          {"name": "limit", "in": "query", "required": false, "description": "Maximum number of results.", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}
        ],
        "responses": {
          "200": {"description": "Matching flights, cheapest first.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FlightSearchResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/flights/{flight_id}": {
      "get": {
        "operationId": "getFlight",
        "summary": "Get one flight with its current free seats.",
        "parameters": [
          {"name": "flight_id", "in": "path", "required": true, "description": "A flight id from searchFlights, e.g. FL-BOS-GIG-20270115-2.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The flight.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flight"}}}},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/hotels": {
      "get": {
        "operationId": "searchHotels",
        "summary": "Search hotels in a city for a stay, cheapest total first. Each result is the hotel's cheapest room type that fits the guests.",
        "parameters": [
          {"name": "city", "in": "query", "required": true, "description": "City name (e.g. Rio de Janeiro) or its airport code (e.g. GIG).", "schema": {"type": "string", "minLength": 1}},
          {"name": "check_in", "in": "query", "required": true, "description": "Check-in date, YYYY-MM-DD.", "schema": {"type": "string", "format": "date"}},
          {"name": "check_out", "in": "query", "required": true, "description": "Check-out date, YYYY-MM-DD; after check_in, at most 30 nights later.", "schema": {"type": "string", "format": "date"}},
          {"name": "guests", "in": "query", "required": false, "description": "Number of guests.", "schema": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1}},
          {"name": "rooms", "in": "query", "required": false, "description": "Number of rooms.", "schema": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1}},
          {"name": "max_price", "in": "query", "required": false, "description": "Maximum average price per room per night, USD.", "schema": {"type": "integer", "minimum": 0}},
          {"name": "min_rating", "in": "query", "required": false, "description": "Minimum guest rating, 0 to 10.", "schema": {"type": "number", "minimum": 0, "maximum": 10}},
          {"name": "limit", "in": "query", "required": false, "description": "Maximum number of results.", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}
        ],
        "responses": {
          "200": {"description": "Matching hotels, cheapest total first.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HotelSearchResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/hotels/{hotel_id}": {
      "get": {
        "operationId": "getHotel",
        "summary": "Get one hotel with its room types; with check_in and check_out, also each room type's price and free rooms for that stay.",
        "parameters": [
          {"name": "hotel_id", "in": "path", "required": true, "description": "A hotel id from searchHotels, e.g. HT-GIG-03.", "schema": {"type": "string"}},
          {"name": "check_in", "in": "query", "required": false, "description": "Check-in date, YYYY-MM-DD (give with check_out).", "schema": {"type": "string", "format": "date"}},
          {"name": "check_out", "in": "query", "required": false, "description": "Check-out date, YYYY-MM-DD (give with check_in).", "schema": {"type": "string", "format": "date"}}
        ],
        "responses": {
          "200": {"description": "The hotel.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HotelDetails"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/bookings": {
      "post": {
        "operationId": "createBooking",
        "summary": "Book a flight (type flight: flight_id, passengers) or a hotel stay (type hotel: hotel_id, check_in, check_out, guests, guest_name). Send an Idempotency-Key header so that a retried request never books twice.",
        "parameters": [
          {"name": "Idempotency-Key", "in": "header", "required": false, "description": "A unique key per intended booking (1 to 255 visible ASCII characters). Repeating a request with the same key and body returns the first answer without booking again.", "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
        ],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BookingRequest"}}}
        },
        "responses": {
          "201": {"description": "Booked.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/bookings/{booking_id}": {
      "get": {
        "operationId": "getBooking",
        "summary": "Get a booking and its status.",
        "parameters": [
          {"name": "booking_id", "in": "path", "required": true, "description": "The booking_id returned by createBooking, e.g. BK-000001.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The booking.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}}},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/bookings/{booking_id}/cancel": {
      "post": {
        "operationId": "cancelBooking",
        "summary": "Cancel a booking and release its seats or rooms.",
        "parameters": [
          {"name": "booking_id", "in": "path", "required": true, "description": "The booking_id to cancel.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "The cancelled booking.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Booking"}}}},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]}},
        "required": ["error"]
      },
      "Airport": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["code", "city", "country"]
      },
      "Flight": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "airline": {"type": "string"},
          "flight_number": {"type": "string"},
          "from": {"type": "string", "description": "IATA code"},
          "from_city": {"type": "string"},
          "to": {"type": "string", "description": "IATA code"},
          "to_city": {"type": "string"},
          "departure_date": {"type": "string", "format": "date"},
          "departure_time": {"type": "string", "description": "HH:MM local time"},
          "arrival_date": {"type": "string", "format": "date"},
          "arrival_time": {"type": "string", "description": "HH:MM local time"},
          "duration_minutes": {"type": "integer"},
          "stops": {"type": "integer"},
          "via": {"type": "string", "description": "Connecting airport when stops is 1"},
          "cabin": {"type": "string"},
          "price": {"type": "integer", "description": "USD per passenger"},
          "currency": {"type": "string", "enum": ["USD"]},
          "seats_available": {"type": "integer"},
          "passengers": {"type": "integer", "description": "In search results: the passengers searched for"},
          "total_price": {"type": "integer", "description": "In search results: price times passengers, USD"}
        },
        "required": ["id", "airline", "flight_number", "from", "to", "departure_date", "departure_time", "arrival_date", "arrival_time", "duration_minutes", "stops", "price", "currency"]
      },
      "FlightSearchResult": {
        "type": "object",
        "properties": {
          "from": {"type": "string"}, "to": {"type": "string"}, "date": {"type": "string", "format": "date"},
          "passengers": {"type": "integer"}, "currency": {"type": "string"}, "count": {"type": "integer"},
          "flights": {"type": "array", "items": {"$ref": "#/components/schemas/Flight"}}
        },
        "required": ["flights", "count"]
      },
      "HotelSummary": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "name": {"type": "string"},
          "city": {"type": "string"},
          "country": {"type": "string"},
          "neighbourhood": {"type": "string"},
          "stars": {"type": "integer"},
          "rating": {"type": "number", "description": "Guest rating out of 10"},
          "amenities": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["id", "name", "city", "neighbourhood", "stars", "rating"]
      },
      "HotelOffer": {
        "allOf": [
          {"$ref": "#/components/schemas/HotelSummary"},
          {"type": "object", "properties": {
            "room_type": {"type": "string"},
            "max_guests_per_room": {"type": "integer"},
            "rooms": {"type": "integer"},
            "nightly_price": {"type": "integer", "description": "Average USD per room per night"},
            "nights": {"type": "integer"},
            "total_price": {"type": "integer", "description": "USD for the whole stay, all rooms"},
            "currency": {"type": "string", "enum": ["USD"]},
            "rooms_available": {"type": "integer"}
          }, "required": ["room_type", "nightly_price", "nights", "total_price", "currency"]}
        ]
      },
      "HotelSearchResult": {
        "type": "object",
        "properties": {
          "city": {"type": "string"}, "check_in": {"type": "string", "format": "date"}, "check_out": {"type": "string", "format": "date"},
          "nights": {"type": "integer"}, "guests": {"type": "integer"}, "currency": {"type": "string"}, "count": {"type": "integer"},
          "hotels": {"type": "array", "items": {"$ref": "#/components/schemas/HotelOffer"}}
        },
        "required": ["hotels", "count"]
      },
      "HotelDetails": {
        "allOf": [
          {"$ref": "#/components/schemas/HotelSummary"},
          {"type": "object", "properties": {
            "rooms": {"type": "array", "items": {"type": "object", "properties": {
              "room_type": {"type": "string"},
              "max_guests": {"type": "integer"},
              "base_nightly_price": {"type": "integer", "description": "USD, a weekday night outside high season"},
              "total_price": {"type": "integer", "description": "USD for the requested stay, one room"},
              "rooms_available": {"type": "integer"}
            }, "required": ["room_type", "max_guests", "base_nightly_price"]}},
            "currency": {"type": "string"},
            "check_in": {"type": "string", "format": "date"},
            "check_out": {"type": "string", "format": "date"},
            "nights": {"type": "integer"}
          }, "required": ["rooms"]}
        ]
      },
      "Passenger": {
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Full name"}},
        "required": ["name"],
        "additionalProperties": false
      },
      "BookingRequest": {
        "type": "object",
        "description": "For a flight: type, flight_id, passengers. For a hotel: type, hotel_id, check_in, check_out, guests, guest_name (room_type and rooms optional).",
        "properties": {
          "type": {"type": "string", "enum": ["flight", "hotel"]},
          "flight_id": {"type": "string", "description": "Flight bookings: the flight id"},
          "passengers": {"type": "array", "minItems": 1, "maxItems": 9, "items": {"$ref": "#/components/schemas/Passenger"}, "description": "Flight bookings: one entry per traveller"},
          "hotel_id": {"type": "string", "description": "Hotel bookings: the hotel id"},
          "room_type": {"type": "string", "description": "Hotel bookings: standard, deluxe or suite; default the cheapest that fits the guests"},
          "check_in": {"type": "string", "format": "date", "description": "Hotel bookings"},
          "check_out": {"type": "string", "format": "date", "description": "Hotel bookings"},
          "guests": {"type": "integer", "minimum": 1, "maximum": 16, "description": "Hotel bookings"},
          "rooms": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1, "description": "Hotel bookings"},
          "guest_name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Hotel bookings: the lead guest's full name"},
          "contact_email": {"type": "string"}
        },
        "required": ["type"],
        "additionalProperties": false
      },
      "Booking": {
        "type": "object",
        "properties": {
          "booking_id": {"type": "string"},
          "type": {"type": "string", "enum": ["flight", "hotel"]},
          "status": {"type": "string", "enum": ["confirmed", "cancelled"]},
          "total_price": {"type": "integer", "description": "USD"},
          "currency": {"type": "string", "enum": ["USD"]},
          "flight": {"$ref": "#/components/schemas/Flight"},
          "passengers": {"type": "array", "items": {"$ref": "#/components/schemas/Passenger"}},
          "passenger_count": {"type": "integer"},
          "hotel": {"$ref": "#/components/schemas/HotelSummary"},
          "room_type": {"type": "string"},
          "rooms": {"type": "integer"},
          "check_in": {"type": "string", "format": "date"},
          "check_out": {"type": "string", "format": "date"},
          "nights": {"type": "integer"},
          "guests": {"type": "integer"},
          "guest_name": {"type": "string"},
          "contact_email": {"type": "string"}
        },
        "required": ["booking_id", "type", "status", "total_price", "currency"]
      }
    },
    "responses": {
      "BadRequest": {"description": "Malformed request: bad JSON, wrong types, unknown or missing parameters.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such flight, hotel or booking.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "Sold out, or already cancelled.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Invalid": {"description": "Well-formed but invalid values (unknown airport, dates out of range or in the wrong order, too many guests).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
})json";

}  // namespace

std::string openapi_text(std::string_view base_url) {
  if (base_url.empty()) return std::string(k_document);
  auto doc = json::parse(k_document);
  TERN_ASSERT(doc.has_value() && doc->is_object(), "the built-in OpenAPI document must be valid JSON");
  doc->as_object()["servers"] = boost::json::array{boost::json::object{{"url", base_url}}};
  return json::serialize(*doc);
}

}  // namespace tern::travel::detail
