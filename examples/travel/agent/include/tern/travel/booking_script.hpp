// The scripted booking model: a script for tern::agent::scripted_model that
// books a trip the way a capable model would (search flights both ways and
// hotels in one turn, compare the combinations against the budget, book
// flights and hotel in one turn, confirm the bookings, answer), reacting to
// the real tool results it is given. Used by the demo (tern-travel-agent) and
// the agent tests. It is NOT a model: it says so in its answer.
#pragma once

#include <tern/agent/scripted_model.hpp>

#include <string>
#include <vector>

namespace tern::travel {

struct trip {
  std::string from = "BOS";
  std::string to = "GIG";
  std::string city = "Rio de Janeiro";
  std::string depart = "2027-03-10";   // YYYY-MM-DD
  int nights = 5;
  std::vector<std::string> travellers{"Ana Silva", "Bruno Costa"};
  int budget_usd = 3000;

  std::string return_date() const;     // depart + nights
  std::string task() const;            // the task text given to the agent
};

// Turns for scripted_model; each reacting turn reads the tool results of the
// previous one from the request it gets.
std::vector<agent::scripted_model::turn> booking_script(const trip& t);

}  // namespace tern::travel
