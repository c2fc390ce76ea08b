-- A trip-planning workflow: search flights and hotels concurrently with Lua tools,
-- keep within the budget, return the plan as JSON.
--
--   tern run examples/lua/trip_plan.lua [BUDGET] [CITY]
--
-- The searches are Lua tools over canned offers, called directly; travel_agent.lua
-- does the booking with an agent and HTTP tools against the travel API.

local budget = tonumber(tern.args[1] or "900")
local city = tern.args[2] or "Lisbon"

local offers = require("offers")

local search_flights = tern.tool{
  name = "search_flights",
  description = "Flights to a city, cheapest first.",
  parameters = { type = "object", properties = { city = { type = "string" } }, required = { "city" } },
  run = function(args)
    tern.sleep(0.02) -- stands in for the HTTP round trip
    return offers.sorted(offers.flights[args.city] or {})
  end,
}

local search_hotels = tern.tool{
  name = "search_hotels",
  description = "Hotels in a city for a number of nights, cheapest first.",
  parameters = { type = "object",
                 properties = { city = { type = "string" }, nights = { type = "integer", minimum = 1 } },
                 required = { "city", "nights" } },
  run = function(args)
    tern.sleep(0.03)
    local list = {}
    for _, h in ipairs(offers.hotels[args.city] or {}) do
      list[#list + 1] = { name = h.name, price = h.per_night * args.nights }
    end
    return offers.sorted(list)
  end,
}

local t0 = tern.now()
local found = tern.parallel(
  function() return search_flights:call({ city = city }) end,
  function() return search_hotels:call({ city = city, nights = 3 }) end)
local flights, hotels = found[1], found[2]
tern.log.info(#flights, "flights and", #hotels, "hotels in", string.format("%.0f ms", (tern.now() - t0) * 1000))

-- The cheapest hotel that fits with the cheapest flight, else the best we can say.
local flight = flights[1]
if not flight then error("no flights to " .. city) end
for _, hotel in ipairs(hotels) do
  if flight.price + hotel.price <= budget then
    return { city = city, flight = flight, hotel = hotel, total = flight.price + hotel.price, budget = budget }
  end
end
return { city = city, error = "over budget", cheapest_total = flight.price + (hotels[1] and hotels[1].price or 0),
         budget = budget }
