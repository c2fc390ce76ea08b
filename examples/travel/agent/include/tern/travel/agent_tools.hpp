// Tools for the travel booking agent: function tools that call the travel
// API (examples/travel/server) over HTTP with tern::tools::http_client.
//
//   auto client = std::make_shared<tern::tools::http_client>(io.get_executor());
//   TERN_TRY(auto tools, tern::travel::make_travel_tools(client, "http://127.0.0.1:8080"));
//
// Tools: search_flights, search_hotels, book_flight, book_hotel, get_booking.
// A 4xx/5xx answer becomes a tool_error of kind http_status carrying the API's
// error message (retryable for 429 and 5xx), so the model can correct itself.
// book_flight and book_hotel send the agent's idempotency key
// (invoke_context::idempotency_key) as the Idempotency-Key header: a call
// repeated after a resume books nothing twice.
// Thread safety: as http_client (one thread at a time); the client must
// outlive the tools' calls.
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/tools/tool.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tern::travel {

result<std::vector<tools::tool_ptr>> make_travel_tools(std::shared_ptr<tools::http_client> client,
                                                       std::string base_url);

// The names of the tools that change state (for the agent's approval policy).
inline const std::vector<std::string>& side_effecting_travel_tools() {
  static const std::vector<std::string> names{"book_flight", "book_hotel"};
  return names;
}

}  // namespace tern::travel
