#include "catalogue.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <numbers>

namespace tern::travel::detail {
namespace {

using namespace std::chrono;

// Coordinates and UTC offsets are public facts (standard time, rounded).
// cost_factor scales hotel prices: 1.0 is a mid-priced city.
constexpr std::array<airport, 41> k_airports{{
    {"GIG", "Rio de Janeiro", "Brazil", -22.81, -43.25, -180, 0.9},
    {"GRU", "Sao Paulo", "Brazil", -23.43, -46.47, -180, 0.9},
    {"SSA", "Salvador", "Brazil", -12.91, -38.33, -180, 0.7},
    {"FLN", "Florianopolis", "Brazil", -27.67, -48.55, -180, 0.75},
    {"MAO", "Manaus", "Brazil", -3.04, -60.05, -240, 0.65},
    {"BSB", "Brasilia", "Brazil", -15.87, -47.92, -180, 0.7},
    {"REC", "Recife", "Brazil", -8.13, -34.92, -180, 0.65},
    {"BOS", "Boston", "United States", 42.36, -71.01, -300, 1.35},
    {"JFK", "New York", "United States", 40.64, -73.78, -300, 1.6},
    {"MIA", "Miami", "United States", 25.80, -80.29, -300, 1.25},
    {"ORD", "Chicago", "United States", 41.98, -87.90, -360, 1.2},
    {"ATL", "Atlanta", "United States", 33.64, -84.43, -300, 1.0},
    {"IAD", "Washington", "United States", 38.95, -77.46, -300, 1.3},
    {"LAX", "Los Angeles", "United States", 33.94, -118.41, -480, 1.35},
    {"SFO", "San Francisco", "United States", 37.62, -122.38, -480, 1.5},
    {"SEA", "Seattle", "United States", 47.45, -122.31, -480, 1.2},
    {"YYZ", "Toronto", "Canada", 43.68, -79.63, -300, 1.1},
    {"YVR", "Vancouver", "Canada", 49.19, -123.18, -480, 1.15},
    {"MEX", "Mexico City", "Mexico", 19.44, -99.07, -360, 0.7},
    {"BOG", "Bogota", "Colombia", 4.70, -74.15, -300, 0.6},
    {"LIM", "Lima", "Peru", -12.02, -77.11, -300, 0.65},
    {"SCL", "Santiago", "Chile", -33.39, -70.79, -240, 0.75},
    {"EZE", "Buenos Aires", "Argentina", -34.82, -58.54, -180, 0.7},
    {"LHR", "London", "United Kingdom", 51.47, -0.45, 0, 1.6},
    {"CDG", "Paris", "France", 49.01, 2.55, 60, 1.5},
    {"AMS", "Amsterdam", "Netherlands", 52.31, 4.76, 60, 1.35},
    {"FRA", "Frankfurt", "Germany", 50.04, 8.56, 60, 1.1},
    {"MAD", "Madrid", "Spain", 40.47, -3.56, 60, 1.0},
    {"BCN", "Barcelona", "Spain", 41.30, 2.08, 60, 1.1},
    {"LIS", "Lisbon", "Portugal", 38.77, -9.13, 0, 0.95},
    {"FCO", "Rome", "Italy", 41.80, 12.25, 60, 1.15},
    {"IST", "Istanbul", "Turkey", 41.26, 28.74, 180, 0.75},
    {"CAI", "Cairo", "Egypt", 30.12, 31.41, 120, 0.55},
    {"JNB", "Johannesburg", "South Africa", -26.14, 28.24, 120, 0.6},
    {"DXB", "Dubai", "United Arab Emirates", 25.25, 55.36, 240, 1.3},
    {"DEL", "Delhi", "India", 28.56, 77.10, 330, 0.5},
    {"BKK", "Bangkok", "Thailand", 13.69, 100.75, 420, 0.55},
    {"SIN", "Singapore", "Singapore", 1.36, 103.99, 480, 1.3},
    {"HKG", "Hong Kong", "China", 22.31, 113.91, 480, 1.25},
    {"NRT", "Tokyo", "Japan", 35.77, 140.39, 540, 1.2},
    {"SYD", "Sydney", "Australia", -33.95, 151.18, 600, 1.25},
}};

// Connecting airports for one-stop itineraries.
constexpr std::array<std::string_view, 10> k_hubs{"MIA", "ATL", "JFK", "GRU", "LIS",
                                                  "MAD", "FRA", "DXB", "IST", "BOG"};

struct airline {
  std::string_view code, name;
};
// Fictional carriers.
constexpr std::array<airline, 6> k_airlines{{{"TA", "Tern Air"},
                                             {"SB", "Southern Breeze"},
                                             {"NA", "North Atlantic Airways"},
                                             {"CZ", "Condor Azul"},
                                             {"PX", "Pacific Crossing"},
                                             {"MR", "Meridian Regional"}}};

struct city_areas {
  std::string_view code;
  std::array<std::string_view, 8> names;
};
// Real neighbourhoods for the Brazilian cities and a few others; the rest
// use the generic list below.
constexpr std::array<city_areas, 11> k_areas{{
    {"GIG", {"Copacabana", "Ipanema", "Leblon", "Botafogo", "Santa Teresa", "Centro", "Barra da Tijuca", "Lapa"}},
    {"GRU", {"Jardins", "Vila Madalena", "Pinheiros", "Itaim Bibi", "Centro", "Moema", "Liberdade", "Paulista"}},
    {"SSA", {"Pelourinho", "Barra", "Rio Vermelho", "Ondina", "Itapua", "Comercio", "Graca", "Pituba"}},
    {"FLN", {"Jurere", "Lagoa da Conceicao", "Canasvieiras", "Centro", "Ingleses", "Campeche", "Santo Antonio de Lisboa", "Barra da Lagoa"}},
    {"MAO", {"Centro", "Ponta Negra", "Adrianopolis", "Vieiralves", "Aleixo", "Flores", "Chapada", "Sao Geraldo"}},
    {"BOS", {"Back Bay", "Beacon Hill", "Seaport", "North End", "Downtown", "Cambridge", "South End", "Fenway"}},
    {"JFK", {"Midtown", "SoHo", "Chelsea", "Upper West Side", "Tribeca", "Brooklyn Heights", "Financial District", "Harlem"}},
    {"LHR", {"Covent Garden", "Kensington", "Shoreditch", "Southwark", "Mayfair", "Camden", "Paddington", "Westminster"}},
    {"CDG", {"Le Marais", "Saint-Germain", "Montmartre", "Latin Quarter", "Opera", "Bastille", "Champs-Elysees", "Canal Saint-Martin"}},
    {"LIS", {"Alfama", "Baixa", "Chiado", "Bairro Alto", "Belem", "Principe Real", "Avenidas Novas", "Parque das Nacoes"}},
    {"NRT", {"Shinjuku", "Shibuya", "Ginza", "Asakusa", "Roppongi", "Ueno", "Ikebukuro", "Marunouchi"}},
}};
constexpr std::array<std::string_view, 8> k_generic_areas{
    "City Centre", "Old Town", "Waterfront", "Business District", "Arts Quarter", "University District",
    "Riverside", "Airport Area"};

constexpr std::array<std::string_view, 8> k_brand_pt{"Atlantico", "Solar", "Mirante", "Horizonte",
                                                     "Aurora", "Estrela", "Palmeira", "Brisa"};
constexpr std::array<std::string_view, 8> k_brand_en{"Grand", "Harbor", "Park", "Royal",
                                                     "Meridian", "Summit", "Garden", "Crown"};
constexpr std::array<std::string_view, 5> k_kinds{"Hotel", "Inn", "Suites", "Residence", "Boutique Hotel"};
constexpr std::array<std::string_view, 8> k_amenities{"wifi", "breakfast", "pool", "gym",
                                                      "spa", "parking", "airport shuttle", "beach access"};

// splitmix64: a fixed, well-mixed 64-bit hash step.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
std::uint64_t hash_str(std::uint64_t h, std::string_view s) noexcept {
  for (unsigned char c : s) h = mix(h ^ c);
  return mix(h ^ s.size());
}
// A value in [lo, hi] drawn from h.
int pick(std::uint64_t h, int lo, int hi) noexcept {
  return lo + static_cast<int>(h % static_cast<std::uint64_t>(hi - lo + 1));
}
double unit(std::uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }

double distance_km(const airport& a, const airport& b) {
  constexpr double rad = std::numbers::pi / 180.0;
  const double dlat = (b.lat - a.lat) * rad, dlon = (b.lon - a.lon) * rad;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.lat * rad) * std::cos(b.lat * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0 * std::asin(std::sqrt(h));
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string compact_date(date d) {
  const year_month_day ymd{d};
  return fmt::format("{:04}{:02}{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

}  // namespace

std::optional<date> parse_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t pos, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (y < 0 || m < 0 || d < 0) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

std::string format_date(date d) {
  const year_month_day ymd{d};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

date first_catalogue_date() { return sys_days{year{2025} / January / 1}; }
date last_catalogue_date() { return sys_days{year{2028} / December / 31}; }

catalogue::catalogue(std::uint64_t seed) : seed_(seed) {
  for (const airport& a : k_airports) {
    const std::uint64_t city_hash = hash_str(mix(seed_ ^ 0x686f74656c73ull), a.code);
    std::span<const std::string_view> areas = k_generic_areas;
    bool known_areas = false;
    for (const auto& c : k_areas)
      if (c.code == a.code) {
        areas = c.names;
        known_areas = true;
      }
    const bool brazil = a.country == "Brazil";
    const int n_hotels = a.code == "GIG" ? 12 : brazil ? 8 : 6;
    for (int i = 0; i < n_hotels; ++i) {
      std::uint64_t h = mix(city_hash + static_cast<std::uint64_t>(i));
      hotel ht;
      ht.id = fmt::format("HT-{}-{:02}", a.code, i + 1);
      ht.city = &a;
      // Every city gets the full range of stars so budgets can be met or missed.
      ht.stars = 2 + (i + static_cast<int>(h % 4)) % 4;
      h = mix(h);
      ht.neighbourhood = areas[(static_cast<std::size_t>(i) + h % areas.size()) % areas.size()];
      h = mix(h);
      const auto brand = brazil ? k_brand_pt[h % k_brand_pt.size()] : k_brand_en[h % k_brand_en.size()];
      h = mix(h);
      const auto kind = k_kinds[h % k_kinds.size()];
      ht.name = known_areas ? fmt::format("{} {} {}", brand, ht.neighbourhood, kind)
                            : fmt::format("{} {} {}", brand, a.city, kind);
      h = mix(h);
      ht.rating = std::round((5.8 + 0.7 * ht.stars + unit(h) * 1.2) * 10.0) / 10.0;
      ht.rating = std::min(ht.rating, 9.8);
      h = mix(h);
      for (std::size_t k = 0; k < k_amenities.size(); ++k)
        if (k == 0 || ((h >> (k * 3)) & 7) < static_cast<std::uint64_t>(ht.stars + 1))
          if (k_amenities[k] != "beach access" || a.code == "GIG" || a.code == "SSA" || a.code == "FLN" ||
              a.code == "REC" || a.code == "MIA")
            ht.amenities.push_back(k_amenities[k]);
      h = mix(h);
      const double star_price[] = {0, 0, 70, 120, 200, 380};
      const int standard = static_cast<int>(std::lround(star_price[ht.stars] * a.cost_factor * (0.8 + 0.45 * unit(h))));
      h = mix(h);
      ht.rooms.push_back({"standard", 2, standard, pick(h, 6, 30)});
      h = mix(h);
      ht.rooms.push_back({"deluxe", 3, static_cast<int>(std::lround(standard * 1.5)), pick(h, 3, 10)});
      if (ht.stars >= 4) {
        h = mix(h);
        ht.rooms.push_back({"suite", 4, static_cast<int>(std::lround(standard * 2.4)), pick(h, 1, 4)});
      }
      hotels_.push_back(std::move(ht));
    }
  }
}

std::span<const airport> catalogue::airports() const noexcept { return k_airports; }

const airport* catalogue::find_airport(std::string_view q) const noexcept {
  for (const airport& a : k_airports)
    if (iequals(a.code, q) || iequals(a.city, q)) return &a;
  return nullptr;
}

std::vector<flight> catalogue::flights(const airport& from, const airport& to, date d) const {
  std::vector<flight> out;
  if (&from == &to || d < first_catalogue_date() || d > last_catalogue_date()) return out;
  const std::uint64_t route = hash_str(hash_str(mix(seed_ ^ 0x666c69676874ull), from.code), to.code);
  const std::uint64_t day_hash = mix(route ^ static_cast<std::uint64_t>(d.time_since_epoch().count()));
  const double km = distance_km(from, to);
  const int n = pick(day_hash, 3, 5);
  const weekday wd{d};
  const double day_factor = (wd == Friday || wd == Sunday) ? 1.12 : (wd == Tuesday || wd == Wednesday) ? 0.92 : 1.0;
  for (int k = 0; k < n; ++k) {
    std::uint64_t h = mix(day_hash + static_cast<std::uint64_t>(k) * 0x9e37ull);
    flight f;
    f.id = fmt::format("FL-{}-{}-{}-{}", from.code, to.code, compact_date(d), k + 1);
    f.from = &from;
    f.to = &to;
    f.departure_date = d;
    // Spread departures over 06:00-22:00 on a 5-minute grid.
    const int slot = 16 * 60 / n;
    f.departure_min = 6 * 60 + k * slot + pick(h, 0, (slot - 30) / 5) * 5;
    h = mix(h);
    const auto& al = k_airlines[(route + static_cast<std::uint64_t>(k)) % k_airlines.size()];
    f.airline = std::string(al.name);
    f.flight_number = fmt::format("{} {}", al.code, 100 + (route >> 8) % 8000 + static_cast<std::uint64_t>(k) * 7);
    // Long routes mostly connect; every route keeps at least one nonstop-or-not mix.
    const bool connect = km > 9000 || (km > 2500 && h % 3 == 0);
    h = mix(h);
    if (connect) {
      f.stops = 1;
      for (std::size_t j = 0; j < k_hubs.size(); ++j) {
        const auto hub = k_hubs[(h + j) % k_hubs.size()];
        if (hub != from.code && hub != to.code) {
          f.via = hub;
          break;
        }
      }
    }
    h = mix(h);
    f.duration_min = static_cast<int>(std::lround(km / 820.0 * 60.0)) + 35 + (f.stops ? pick(h, 70, 200) : 0);
    f.duration_min = (f.duration_min + 4) / 5 * 5;
    h = mix(h);
    const double base = 60.0 + 0.105 * km;
    const double noise = 0.55 + 0.8 * unit(h);
    f.price = static_cast<int>(std::lround(base * noise * day_factor * (f.stops ? 0.78 : 1.0)));
    h = mix(h);
    f.seats = h % 7 == 0 ? pick(mix(h), 2, 9) : pick(mix(h), 12, 60);
    // Arrival in local time at the destination.
    const int arrival_utc_shift = to.utc_offset_min - from.utc_offset_min;
    const int arrive = f.departure_min + f.duration_min + arrival_utc_shift;
    const int day_shift = arrive >= 0 ? arrive / 1440 : -((1439 - arrive) / 1440);
    f.arrival_date = d + days{day_shift};
    f.arrival_min = arrive - day_shift * 1440;
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<flight> catalogue::flight_by_id(std::string_view id) const {
  // FL-AAA-BBB-YYYYMMDD-K
  if (id.size() != 21 || id.substr(0, 3) != "FL-" || id[6] != '-' || id[10] != '-' || id[19] != '-')
    return std::nullopt;
  const airport* from = nullptr;
  const airport* to = nullptr;
  for (const airport& a : k_airports) {
    if (a.code == id.substr(3, 3)) from = &a;
    if (a.code == id.substr(7, 3)) to = &a;
  }
  if (!from || !to) return std::nullopt;
  const std::string iso = fmt::format("{}-{}-{}", id.substr(11, 4), id.substr(15, 2), id.substr(17, 2));
  const auto d = parse_date(iso);
  if (!d) return std::nullopt;
  for (auto& f : flights(*from, *to, *d))
    if (f.id == id) return std::move(f);
  return std::nullopt;
}

std::vector<const hotel*> catalogue::hotels_in(const airport& city) const {
  std::vector<const hotel*> out;
  for (const hotel& h : hotels_)
    if (h.city == &city) out.push_back(&h);
  return out;
}

const hotel* catalogue::hotel_by_id(std::string_view id) const noexcept {
  for (const hotel& h : hotels_)
    if (h.id == id) return &h;
  return nullptr;
}

int catalogue::nightly_price(const room_type& room, date night) const noexcept {
  const weekday wd{night};
  const unsigned m = static_cast<unsigned>(year_month_day{night}.month());
  double f = (wd == Friday || wd == Saturday) ? 1.15 : 1.0;
  if (m == 12 || m == 1 || m == 7) f *= 1.2;  // high season
  return static_cast<int>(std::lround(room.base_price * f));
}

}  // namespace tern::travel::detail
