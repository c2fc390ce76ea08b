// Routing, parameter checks, searches and details. Bookings are in bookings.cpp.
#include "handler.hpp"

#include <tern/core/json.hpp>
#include <tern/core/log.hpp>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tern::travel {
namespace detail {

http_response json_response(int status, const boost::json::value& body) {
  http_response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

http_response error_response(int status, std::string_view code, std::string_view message) {
  boost::json::object err{{"code", code}, {"message", message}};
  return json_response(status, boost::json::object{{"error", std::move(err)}});
}

std::string echo(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > 64) out += "...";
  return out;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

result<query> query::parse(std::string_view text, std::initializer_list<std::string_view> allowed) {
  query q;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return fail(errc::parse_error, "malformed percent-encoding in the query string");
    if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
      std::string names;
      for (auto a : allowed) names += fmt::format("{}{}", names.empty() ? "" : ", ", a);
      return fail(errc::invalid_argument, fmt::format("unknown parameter '{}' (expected one of: {})",
                                                      echo(*name), names));
    }
    if (!q.values.emplace(std::move(*name), std::move(*value)).second)
      return fail(errc::invalid_argument, fmt::format("parameter '{}' given more than once", echo(*name)));
  }
  return q;
}

const std::string* query::find(std::string_view name) const {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

checked<std::string> required_text(const query& q, std::string_view name) {
  const std::string* v = q.find(name);
  if (!v || v->empty())
    return bad_input{400, "missing_parameter", fmt::format("query parameter '{}' is required", name)};
  return *v;
}

checked<date> date_param(const query& q, std::string_view name, bool required) {
  const std::string* v = q.find(name);
  if (!v || v->empty()) {
    if (required) return bad_input{400, "missing_parameter", fmt::format("query parameter '{}' is required", name)};
    return date{};
  }
  auto d = parse_date(*v);
  if (!d)
    return bad_input{400, "invalid_parameter",
                     fmt::format("'{}' must be a date as YYYY-MM-DD, got '{}'", name, echo(*v))};
  if (*d < first_catalogue_date() || *d > last_catalogue_date() + std::chrono::days{1})
    return bad_input{422, "date_out_of_range",
                     fmt::format("'{}' must be between {} and {}", name, format_date(first_catalogue_date()),
                                 format_date(last_catalogue_date()))};
  return *d;
}

checked<long long> int_param(const query& q, std::string_view name, long long lo, long long hi, long long fallback) {
  const std::string* v = q.find(name);
  if (!v) return fallback;
  long long n = 0;
  const char* end = v->data() + v->size();
  auto [p, ec] = std::from_chars(v->data(), end, n);
  if (v->empty() || ec != std::errc() || p != end)
    return bad_input{400, "invalid_parameter", fmt::format("'{}' must be an integer, got '{}'", name, echo(*v))};
  if (n < lo || n > hi)
    return bad_input{422, "invalid_parameter", fmt::format("'{}' must be between {} and {}", name, lo, hi)};
  return n;
}

checked<double> number_param(const query& q, std::string_view name, double lo, double hi, double fallback) {
  const std::string* v = q.find(name);
  if (!v) return fallback;
  double n = 0;
  const char* end = v->data() + v->size();
  auto [p, ec] = std::from_chars(v->data(), end, n);
  if (v->empty() || ec != std::errc() || p != end || !std::isfinite(n))
    return bad_input{400, "invalid_parameter", fmt::format("'{}' must be a number, got '{}'", name, echo(*v))};
  if (n < lo || n > hi)
    return bad_input{422, "invalid_parameter", fmt::format("'{}' must be between {} and {}", name, lo, hi)};
  return n;
}

bad_input* check_stay(date check_in, date check_out, bad_input& slot) {
  if (check_out <= check_in) {
    slot = {422, "invalid_dates", "check_out must be after check_in"};
    return &slot;
  }
  if (check_out - check_in > std::chrono::days{30}) {
    slot = {422, "invalid_dates", "a stay is at most 30 nights"};
    return &slot;
  }
  if (check_in > last_catalogue_date()) {
    slot = {422, "date_out_of_range", fmt::format("check_in must be on or before {}", format_date(last_catalogue_date()))};
    return &slot;
  }
  return nullptr;
}

std::string hhmm(int minutes) { return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60); }

boost::json::object flight_json(const flight& f, int seats_left) {
  boost::json::object o{
      {"id", f.id},
      {"airline", f.airline},
      {"flight_number", f.flight_number},
      {"from", f.from->code},
      {"from_city", f.from->city},
      {"to", f.to->code},
      {"to_city", f.to->city},
      {"departure_date", format_date(f.departure_date)},
      {"departure_time", hhmm(f.departure_min)},
      {"arrival_date", format_date(f.arrival_date)},
      {"arrival_time", hhmm(f.arrival_min)},
      {"duration_minutes", f.duration_min},
      {"stops", f.stops},
      {"cabin", "economy"},
      {"price", f.price},
      {"currency", "USD"},
  };
  if (f.stops > 0) o["via"] = f.via;
  if (seats_left >= 0) o["seats_available"] = seats_left;
  return o;
}

boost::json::object hotel_summary_json(const hotel& h) {
  boost::json::array amenities;
  for (auto a : h.amenities) amenities.emplace_back(a);
  return boost::json::object{{"id", h.id},
                             {"name", h.name},
                             {"city", h.city->city},
                             {"country", h.city->country},
                             {"neighbourhood", h.neighbourhood},
                             {"stars", h.stars},
                             {"rating", h.rating},
                             {"amenities", std::move(amenities)}};
}

std::string flight_item(const flight& f) { return "flight:" + f.id; }
std::string room_item(const hotel& h, const room_type& r, date night) {
  return fmt::format("room:{}:{}:{}", h.id, r.name, format_date(night));
}

int rooms_left(api::impl& s, const hotel& h, const room_type& r, date check_in, date check_out) {
  int left = r.count;
  for (date night = check_in; night < check_out; night += std::chrono::days{1}) {
    auto taken = s.db->taken(room_item(h, r, night));
    if (!taken) return -1;
    left = std::min(left, r.count - *taken);
  }
  return left;
}

int stay_price(const catalogue& cat, const room_type& r, date check_in, date check_out) {
  int total = 0;
  for (date night = check_in; night < check_out; night += std::chrono::days{1}) total += cat.nightly_price(r, night);
  return total;
}

namespace {

// Unwraps a checked<T> or returns its error response from the enclosing function.
#define TRAVEL_GET(var, expr)                                              \
  auto var##_checked = (expr);                                             \
  if (auto* bad = std::get_if<bad_input>(&var##_checked))                  \
    return error_response(bad->status, bad->code, bad->message);           \
  auto var = std::get<0>(std::move(var##_checked))

http_response query_error(const tern::error& e) {
  return error_response(400, e.code() == errc::parse_error ? "malformed_query" : "invalid_parameter", e.message());
}

http_response database_error(const tern::error& e) {
  log::error("travel api: database: {}", e.to_string());
  return error_response(500, "internal", "database error");
}

http_response list_airports(const catalogue& cat) {
  boost::json::array list;
  for (const airport& a : cat.airports())
    list.push_back(boost::json::object{{"code", a.code}, {"city", a.city}, {"country", a.country}});
  return json_response(200, boost::json::object{{"airports", std::move(list)}});
}

http_response search_flights(api::impl& s, std::string_view qs) {
  auto parsed = query::parse(qs, {"from", "to", "date", "passengers", "max_price", "max_stops", "limit"});
  if (!parsed) return query_error(parsed.error());
  const query& q = *parsed;
  TRAVEL_GET(from_text, required_text(q, "from"));
  TRAVEL_GET(to_text, required_text(q, "to"));
  TRAVEL_GET(day, date_param(q, "date", true));
  TRAVEL_GET(passengers, int_param(q, "passengers", 1, 9, 1));
  TRAVEL_GET(max_price, int_param(q, "max_price", 0, 1000000, 1000000));
  TRAVEL_GET(max_stops, int_param(q, "max_stops", 0, 1, 1));
  TRAVEL_GET(limit, int_param(q, "limit", 1, 50, 20));
  const airport* from = s.cat.find_airport(from_text);
  const airport* to = s.cat.find_airport(to_text);
  if (!from)
    return error_response(422, "unknown_airport", fmt::format("unknown airport or city '{}' in 'from'; see GET /airports", echo(from_text)));
  if (!to)
    return error_response(422, "unknown_airport", fmt::format("unknown airport or city '{}' in 'to'; see GET /airports", echo(to_text)));
  if (from == to) return error_response(422, "invalid_route", "'from' and 'to' are the same airport");
  if (day > last_catalogue_date())
    return error_response(422, "date_out_of_range", fmt::format("'date' must be on or before {}", format_date(last_catalogue_date())));

  struct offer {
    flight f;
    int left;
  };
  std::vector<offer> offers;
  for (auto& f : s.cat.flights(*from, *to, day)) {
    if (f.price > max_price || f.stops > max_stops) continue;
    auto taken = s.db->taken(flight_item(f));
    if (!taken) return database_error(taken.error());
    const int left = f.seats - *taken;
    if (left < passengers) continue;
    offers.push_back({std::move(f), left});
  }
  std::stable_sort(offers.begin(), offers.end(), [](const offer& a, const offer& b) { return a.f.price < b.f.price; });
  if (offers.size() > static_cast<std::size_t>(limit)) offers.resize(static_cast<std::size_t>(limit));
  boost::json::array list;
  for (const offer& o : offers) {
    auto j = flight_json(o.f, o.left);
    j["passengers"] = passengers;
    j["total_price"] = o.f.price * passengers;
    list.push_back(std::move(j));
  }
  return json_response(200, boost::json::object{{"from", from->code},
                                                {"to", to->code},
                                                {"date", format_date(day)},
                                                {"passengers", passengers},
                                                {"currency", "USD"},
                                                {"count", list.size()},
                                                {"flights", std::move(list)}});
}

http_response get_flight(api::impl& s, std::string_view id) {
  auto f = s.cat.flight_by_id(id);
  if (!f) return error_response(404, "not_found", fmt::format("no flight with id '{}'", echo(id)));
  auto taken = s.db->taken(flight_item(*f));
  if (!taken) return database_error(taken.error());
  return json_response(200, flight_json(*f, f->seats - *taken));
}

http_response search_hotels(api::impl& s, std::string_view qs) {
  auto parsed = query::parse(qs, {"city", "check_in", "check_out", "guests", "rooms", "max_price", "min_rating", "limit"});
  if (!parsed) return query_error(parsed.error());
  const query& q = *parsed;
  TRAVEL_GET(city_text, required_text(q, "city"));
  TRAVEL_GET(check_in, date_param(q, "check_in", true));
  TRAVEL_GET(check_out, date_param(q, "check_out", true));
  TRAVEL_GET(guests, int_param(q, "guests", 1, 16, 1));
  TRAVEL_GET(rooms, int_param(q, "rooms", 1, 5, 1));
  TRAVEL_GET(max_price, int_param(q, "max_price", 0, 1000000, 1000000));
  TRAVEL_GET(min_rating, number_param(q, "min_rating", 0, 10, 0));
  TRAVEL_GET(limit, int_param(q, "limit", 1, 50, 20));
  bad_input slot;
  if (auto* bad = check_stay(check_in, check_out, slot)) return error_response(bad->status, bad->code, bad->message);
  const airport* city = s.cat.find_airport(city_text);
  if (!city)
    return error_response(422, "unknown_city", fmt::format("unknown city or airport '{}'; see GET /airports", echo(city_text)));
  const int nights = static_cast<int>((check_out - check_in).count());

  struct offer {
    const hotel* h;
    const room_type* r;
    int total;
    int left;
  };
  std::vector<offer> offers;
  for (const hotel* h : s.cat.hotels_in(*city)) {
    if (h->rating < min_rating) continue;
    // The cheapest room type that fits the party and is free every night.
    for (const room_type& r : h->rooms) {
      if (r.max_guests * rooms < guests) continue;
      const int total = stay_price(s.cat, r, check_in, check_out) * static_cast<int>(rooms);
      if (total > max_price * nights * rooms) continue;
      const int left = rooms_left(s, *h, r, check_in, check_out);
      if (left < 0) return error_response(500, "internal", "database error");
      if (left < rooms) continue;
      offers.push_back({h, &r, total, left});
      break;
    }
  }
  std::stable_sort(offers.begin(), offers.end(), [](const offer& a, const offer& b) { return a.total < b.total; });
  if (offers.size() > static_cast<std::size_t>(limit)) offers.resize(static_cast<std::size_t>(limit));
  boost::json::array list;
  for (const offer& o : offers) {
    auto j = hotel_summary_json(*o.h);
    j["room_type"] = o.r->name;
    j["max_guests_per_room"] = o.r->max_guests;
    j["rooms"] = rooms;
    j["nightly_price"] = static_cast<int>(std::lround(static_cast<double>(o.total) / nights / static_cast<double>(rooms)));
    j["nights"] = nights;
    j["total_price"] = o.total;
    j["currency"] = "USD";
    j["rooms_available"] = o.left;
    list.push_back(std::move(j));
  }
  return json_response(200, boost::json::object{{"city", city->city},
                                                {"check_in", format_date(check_in)},
                                                {"check_out", format_date(check_out)},
                                                {"nights", nights},
                                                {"guests", guests},
                                                {"currency", "USD"},
                                                {"count", list.size()},
                                                {"hotels", std::move(list)}});
}

http_response get_hotel(api::impl& s, std::string_view id, std::string_view qs) {
  const hotel* h = s.cat.hotel_by_id(id);
  if (!h) return error_response(404, "not_found", fmt::format("no hotel with id '{}'", echo(id)));
  auto parsed = query::parse(qs, {"check_in", "check_out"});
  if (!parsed) return query_error(parsed.error());
  TRAVEL_GET(check_in, date_param(*parsed, "check_in", false));
  TRAVEL_GET(check_out, date_param(*parsed, "check_out", false));
  const bool stay = check_in != date{} || check_out != date{};
  if (stay && (check_in == date{} || check_out == date{}))
    return error_response(400, "missing_parameter", "give both check_in and check_out, or neither");
  bad_input slot;
  if (stay)
    if (auto* bad = check_stay(check_in, check_out, slot)) return error_response(bad->status, bad->code, bad->message);
  auto j = hotel_summary_json(*h);
  boost::json::array room_list;
  for (const room_type& r : h->rooms) {
    boost::json::object ro{{"room_type", r.name}, {"max_guests", r.max_guests}, {"base_nightly_price", r.base_price}};
    if (stay) {
      const int left = rooms_left(s, *h, r, check_in, check_out);
      if (left < 0) return error_response(500, "internal", "database error");
      ro["total_price"] = stay_price(s.cat, r, check_in, check_out);
      ro["rooms_available"] = left;
    }
    room_list.push_back(std::move(ro));
  }
  j["rooms"] = std::move(room_list);
  j["currency"] = "USD";
  if (stay) {
    j["check_in"] = format_date(check_in);
    j["check_out"] = format_date(check_out);
    j["nights"] = (check_out - check_in).count();
  }
  return json_response(200, j);
}

#undef TRAVEL_GET

// Splits "/a/b/c" into decoded segments; nullopt on bad encoding or a '/' inside one.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path[0] != '/') return std::nullopt;
  path.remove_prefix(1);
  while (!path.empty()) {
    const auto slash = path.find('/');
    auto seg = percent_decode(path.substr(0, slash), false);
    if (!seg) return std::nullopt;
    out.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.emplace_back();  // trailing slash
  }
  if (out.size() > 8) return std::nullopt;
  return out;
}

http_response method_not_allowed(std::string_view allow) {
  auto r = error_response(405, "method_not_allowed", fmt::format("this route accepts {}", allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace
}  // namespace detail

using namespace detail;

api::api(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
api::~api() = default;

result<std::unique_ptr<api>> api::open(const api_options& options) {
  TERN_TRY(auto db, store::open(options.db_path, options.seed));
  auto p = std::make_unique<impl>(options.seed, std::move(db));
  return std::unique_ptr<api>(new api(std::move(p)));
}

void api::set_base_url(std::string url) {
  std::lock_guard lock(impl_->url_mu);
  impl_->base_url = std::move(url);
}

http_response api::handle(const http_request& req) {
  impl& s = *impl_;
  const std::string_view target = req.target;
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view qs = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  auto segments = split_path(path);
  if (!segments) return error_response(400, "bad_request", "the request target must be an absolute path");
  const auto& seg = *segments;
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  const std::size_t n = seg.size();

  if (n == 1 && seg[0] == "health") {
    if (!get) return method_not_allowed("GET");
    return json_response(200, boost::json::object{{"status", "ok"}});
  }
  if (n == 1 && seg[0] == "openapi.json") {
    if (!get) return method_not_allowed("GET");
    std::string url;
    {
      std::lock_guard lock(s.url_mu);
      url = s.base_url;
    }
    http_response r;
    r.body = openapi_text(url);
    return r;
  }
  if (n == 1 && seg[0] == "airports") {
    if (!get) return method_not_allowed("GET");
    return list_airports(s.cat);
  }
  if (n >= 1 && n <= 2 && seg[0] == "flights") {
    if (!get) return method_not_allowed("GET");
    return n == 1 ? search_flights(s, qs) : get_flight(s, seg[1]);
  }
  if (n >= 1 && n <= 2 && seg[0] == "hotels") {
    if (!get) return method_not_allowed("GET");
    return n == 1 ? search_hotels(s, qs) : get_hotel(s, seg[1], qs);
  }
  if (n == 1 && seg[0] == "bookings") {
    if (!post) return method_not_allowed("POST");
    return create_booking(s, req);
  }
  if (n == 2 && seg[0] == "bookings") {
    if (!get) return method_not_allowed("GET");
    return get_booking(s, seg[1]);
  }
  if (n == 3 && seg[0] == "bookings" && seg[2] == "cancel") {
    if (!post) return method_not_allowed("POST");
    return cancel_booking(s, seg[1]);
  }
  return error_response(404, "not_found", fmt::format("no route for {} {}", echo(req.method), echo(path)));
}

}  // namespace tern::travel
