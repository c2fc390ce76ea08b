// The travel catalogue: airports, flights and hotels generated from a seed.
//
// The same seed always gives the same catalogue (ids, times, prices, seats,
// rooms), on every platform: all randomness comes from a splitmix64 hash of
// the seed and the item's identity, never from std::random distributions.
// Hotels are generated at construction; flights lazily, per (route, date),
// so the catalogue can cover years of dates in a few kilobytes. A flight id
// ("FL-BOS-GIG-20270115-2") names its route, date and index, so it can be
// regenerated from the id alone.
//
// Thread safety: const after construction; every member is safe to call
// from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::travel::detail {

using date = std::chrono::sys_days;

// "2027-01-15" -> date; nullopt for anything that is not a valid calendar date.
std::optional<date> parse_date(std::string_view text);
std::string format_date(date d);
// The dates the catalogue covers, inclusive.
date first_catalogue_date();
date last_catalogue_date();

struct airport {
  std::string_view code;     // IATA code, e.g. "GIG"
  std::string_view city;     // "Rio de Janeiro" (ASCII)
  std::string_view country;  // "Brazil"
  double lat = 0, lon = 0;   // degrees
  int utc_offset_min = 0;    // standard time; the catalogue ignores daylight saving
  double cost_factor = 1.0;  // scales hotel prices for the city
};

struct flight {
  std::string id;
  const airport* from = nullptr;
  const airport* to = nullptr;
  date departure_date;
  int departure_min = 0;  // local time at `from`, minutes after midnight
  date arrival_date;
  int arrival_min = 0;    // local time at `to`
  int duration_min = 0;
  std::string airline;
  std::string flight_number;  // "TA 1234"
  int stops = 0;
  std::string_view via;  // connecting airport code when stops == 1
  int price = 0;         // USD per passenger, economy, one way
  int seats = 0;         // seats for sale before any booking
};

struct room_type {
  std::string_view name;  // "standard", "deluxe", "suite"
  int max_guests = 2;
  int base_price = 0;  // USD per night, weekday
  int count = 0;       // rooms of this type for sale each night
};

struct hotel {
  std::string id;  // "HT-GIG-03"
  const airport* city = nullptr;
  std::string name;
  std::string_view neighbourhood;
  int stars = 3;
  double rating = 8.0;  // guest rating out of 10, one decimal
  std::vector<std::string_view> amenities;
  std::vector<room_type> rooms;  // cheapest first
};

class catalogue {
 public:
  explicit catalogue(std::uint64_t seed);

  std::uint64_t seed() const noexcept { return seed_; }
  std::span<const airport> airports() const noexcept;
  // An airport by IATA code or city name (ASCII, case-insensitive); nullptr if unknown.
  const airport* find_airport(std::string_view code_or_city) const noexcept;

  // Flights from -> to departing on `d` (local date), sorted by departure
  // time. Empty for from == to or dates outside the catalogue.
  std::vector<flight> flights(const airport& from, const airport& to, date d) const;
  std::optional<flight> flight_by_id(std::string_view id) const;

  std::vector<const hotel*> hotels_in(const airport& city) const;
  const hotel* hotel_by_id(std::string_view id) const noexcept;
  // The price of one room for the night starting on `night`.
  int nightly_price(const room_type& room, date night) const noexcept;

 private:
  std::uint64_t seed_;
  std::vector<hotel> hotels_;
};

}  // namespace tern::travel::detail
