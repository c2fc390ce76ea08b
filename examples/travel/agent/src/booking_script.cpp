#include <tern/travel/booking_script.hpp>

#include <tern/core/json.hpp>

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <optional>

namespace tern::travel {

namespace bj = boost::json;
using agent::model_request;
using agent::model_response;
using agent::scripted_model;
using agent::tool_call;

namespace {

std::string add_days(const std::string& ymd, int days) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(ymd.c_str(), "%d-%d-%d", &y, &m, &d) != 3) return ymd;
  using namespace std::chrono;
  const year_month_day out{sys_days{year{y} / month{static_cast<unsigned>(m)} / day{static_cast<unsigned>(d)}} +
                           std::chrono::days{days}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(out.year()), static_cast<unsigned>(out.month()),
                     static_cast<unsigned>(out.day()));
}

// The JSON result of the tool call `id` in the request, or the error text.
struct observed {
  bj::value value;
  std::string error;  // non-empty when the call failed
};

observed result_of(const model_request& req, std::string_view id) {
  for (const auto& m : req.messages) {
    if (m.role != agent::role::tool || m.tool_call_id != id) continue;
    auto doc = json::parse(m.content);
    if (!doc) return {{}, "unreadable result"};
    if (doc->is_object())
      if (const auto* e = doc->as_object().if_contains("error"); e && e->is_object()) {
        const auto* msg = e->as_object().if_contains("message");
        return {{}, msg && msg->is_string() ? std::string(msg->get_string()) : json::serialize(*e)};
      }
    return {std::move(*doc), {}};
  }
  return {{}, fmt::format("no result for call {}", id)};
}

std::int64_t int_of(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->get_int64() : 0;
}
std::string str_of(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const bj::array* list_of(const bj::value& v, const char* k) {
  if (!v.is_object()) return nullptr;
  const auto* a = v.as_object().if_contains(k);
  return a && a->is_array() ? &a->get_array() : nullptr;
}

tool_call call(std::string id, std::string name, bj::object args) { return {std::move(id), std::move(name), std::move(args)}; }

model_response give_up(std::string why) {
  return scripted_model::answer("I could not complete the booking: " + why +
                                " (scripted model: this reply comes from a fixed script.)");
}

}  // namespace

std::string trip::return_date() const { return add_days(depart, nights); }

std::string trip::task() const {
  std::string names;
  for (const auto& n : travellers) names += (names.empty() ? "" : ", ") + n;
  return fmt::format(
      "Book a trip from {} to {} ({}): leave on {}, {} nights, {} adults ({}). Total budget {} USD for the flights "
      "both ways and the hotel. Book the flights and the hotel, then confirm the bookings.",
      from, city, to, depart, nights, travellers.size(), names, budget_usd);
}

std::vector<scripted_model::turn> booking_script(const trip& t) {
  const int n = static_cast<int>(t.travellers.size());
  std::vector<scripted_model::turn> turns;

  // 1. Outbound flights: the arrival date decides the hotel dates.
  turns.push_back(scripted_model::turn::calls(
      {call("out", "search_flights", {{"from", t.from}, {"to", t.to}, {"date", t.depart}, {"passengers", n}})},
      "First the outbound flights; the arrival date fixes the hotel's check-in."));

  // 2. Pick the cheapest outbound flight; search return flights and hotels at once.
  turns.push_back(scripted_model::turn::react([t, n](const model_request& req) -> result<model_response> {
    auto out = result_of(req, "out");
    if (!out.error.empty()) return give_up("the flight search failed: " + out.error);
    const auto* flights = list_of(out.value, "flights");
    if (!flights || flights->empty()) return give_up("no outbound flight on " + t.depart);
    const auto& f = (*flights)[0].as_object();  // the API sorts cheapest first
    const std::string check_in = str_of(f, "arrival_date");
    const std::string check_out = add_days(check_in, t.nights);
    return scripted_model::call(
        {call("back", "search_flights", {{"from", t.to}, {"to", t.from}, {"date", check_out}, {"passengers", n}}),
         call("hotels", "search_hotels",
              {{"city", t.city}, {"check_in", check_in}, {"check_out", check_out}, {"guests", n}, {"limit", 20}})},
        fmt::format("Cheapest outbound: {} at {} USD per person, arriving {}. Now return flights on {} and hotels "
                    "for {} to {}, in parallel.",
                    str_of(f, "id"), int_of(f, "price"), check_in, check_out, check_in, check_out));
  }));

  // 3. Compare against the budget: cheapest flights, then the best-rated hotel that fits.
  turns.push_back(scripted_model::turn::react([t, n](const model_request& req) -> result<model_response> {
    auto out = result_of(req, "out");
    auto back = result_of(req, "back");
    auto hotels = result_of(req, "hotels");
    if (!back.error.empty()) return give_up("the return flight search failed: " + back.error);
    if (!hotels.error.empty()) return give_up("the hotel search failed: " + hotels.error);
    const auto& fo = (*list_of(out.value, "flights"))[0].as_object();
    const auto* fb_list = list_of(back.value, "flights");
    const auto* h_list = list_of(hotels.value, "hotels");
    if (!fb_list || fb_list->empty()) return give_up("no return flight");
    if (!h_list || h_list->empty()) return give_up("no hotel with a free room");
    const auto& fb = (*fb_list)[0].as_object();
    const std::int64_t flights_total = (int_of(fo, "price") + int_of(fb, "price")) * n;
    const bj::object* best = nullptr;
    double best_rating = -1;
    for (const auto& hv : *h_list) {
      const auto& h = hv.as_object();
      const double rating = h.at("rating").to_number<double>();
      if (flights_total + int_of(h, "total_price") <= t.budget_usd && rating > best_rating) {
        best = &h;
        best_rating = rating;
      }
    }
    if (!best)
      return give_up(fmt::format("the cheapest flights cost {} USD and no hotel fits in the remaining {} USD",
                                 flights_total, t.budget_usd - flights_total));
    const std::int64_t total = flights_total + int_of(*best, "total_price");
    bj::array names;
    for (const auto& p : t.travellers) names.emplace_back(p);
    const std::string check_in = str_of(fo, "arrival_date");
    return scripted_model::call(
        {call("book_out", "book_flight", {{"flight_id", str_of(fo, "id")}, {"passengers", names}}),
         call("book_back", "book_flight", {{"flight_id", str_of(fb, "id")}, {"passengers", names}}),
         call("book_hotel", "book_hotel",
              {{"hotel_id", str_of(*best, "id")},
               {"check_in", check_in},
               {"check_out", add_days(check_in, t.nights)},
               {"guests", n},
               {"guest_name", t.travellers.front()},
               {"room_type", str_of(*best, "room_type")}})},
        fmt::format("Flights {} USD for {} people; {} ({} stars, rated {}) {} USD for {} nights; total {} USD of the "
                    "{} USD budget. Booking all three.",
                    flights_total, n, str_of(*best, "name"), int_of(*best, "stars"), best_rating,
                    int_of(*best, "total_price"), t.nights, total, t.budget_usd));
  }));

  // 4. Confirm each booking by reading it back.
  turns.push_back(scripted_model::turn::react([](const model_request& req) -> result<model_response> {
    std::vector<tool_call> calls;
    for (const char* id : {"book_out", "book_back", "book_hotel"}) {
      auto r = result_of(req, id);
      if (!r.error.empty()) return give_up(fmt::format("booking {} failed: {}", id, r.error));
      calls.push_back(call(std::string("confirm_") + id, "get_booking",
                           {{"booking_id", str_of(r.value.as_object(), "booking_id")}}));
    }
    return scripted_model::call(std::move(calls), "All three booked; reading them back to confirm.");
  }));

  // 5. The answer.
  turns.push_back(scripted_model::turn::react([t](const model_request& req) -> result<model_response> {
    std::string lines;
    std::int64_t total = 0;
    for (const char* id : {"confirm_book_out", "confirm_book_back", "confirm_book_hotel"}) {
      auto r = result_of(req, id);
      if (!r.error.empty()) return give_up(fmt::format("confirming {} failed: {}", id, r.error));
      const auto& b = r.value.as_object();
      total += int_of(b, "total_price");
      lines += fmt::format("\n- {} {} ({}): {} USD", str_of(b, "booking_id"), str_of(b, "type"), str_of(b, "status"),
                           int_of(b, "total_price"));
    }
    return scripted_model::answer(fmt::format(
        "Booked {} to {} for {} travellers, {} nights:{}\nTotal {} USD, within the {} USD budget.", t.from, t.city,
        t.travellers.size(), t.nights, lines, total, t.budget_usd));
  }));
  return turns;
}

}  // namespace tern::travel
