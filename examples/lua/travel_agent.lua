-- The travel booking agent in Lua: Boston to Rio, 5 nights, 2 adults, budget 3000 USD,
-- against the travel API (examples/travel/server), with a SCRIPTED model: the turns
-- below play the part a language model would, reacting to the real tool results.
--
--   tern-travel-api --port 8080 &
--   tern run examples/lua/travel_agent.lua http://127.0.0.1:8080
--
-- Prints the run's answer, stop reason, bookings and total as JSON.

local api = tern.args[1] or error("usage: tern run travel_agent.lua API_URL (e.g. http://127.0.0.1:8080)")

local trip = {
  from = "BOS", to = "GIG", city = "Rio de Janeiro", depart = "2027-03-10", nights = 5,
  travellers = { "Ana Silva", "Bruno Costa" }, budget = 3000,
}

-- ---- tools: HTTP tools declared as data, and Lua tools built on them ----

local search_flights = tern.http_tool{
  name = "search_flights",
  description = "One-way economy flights between two airports on a date, cheapest first.",
  method = "GET",
  url = api .. "/flights",
  parameters = { type = "object", required = { "from", "to", "date" }, properties = {
    from = { type = "string", description = "IATA code, e.g. BOS" },
    to = { type = "string", description = "IATA code, e.g. GIG" },
    date = { type = "string", description = "YYYY-MM-DD" },
    passengers = { type = "integer", minimum = 1, maximum = 9 } } },
}

local search_hotels = tern.http_tool{
  name = "search_hotels",
  description = "Hotels with a free room for a stay, cheapest total first.",
  method = "GET",
  url = api .. "/hotels",
  parameters = { type = "object", required = { "city", "check_in", "check_out" }, properties = {
    city = { type = "string" }, check_in = { type = "string" }, check_out = { type = "string" },
    guests = { type = "integer", minimum = 1 }, limit = { type = "integer", minimum = 1, maximum = 50 } } },
}

local create_booking = tern.http_tool{
  name = "create_booking",
  description = "POST /bookings: a flight or a hotel booking.",
  method = "POST",
  url = api .. "/bookings",
  parameters = { type = "object", required = { "type" }, properties = {
    type = { type = "string", enum = { "flight", "hotel" } },
    flight_id = { type = "string" },
    passengers = { type = "array", items = { type = "object", properties = { name = { type = "string" } } } },
    hotel_id = { type = "string" }, check_in = { type = "string" }, check_out = { type = "string" },
    guests = { type = "integer" }, guest_name = { type = "string" }, room_type = { type = "string" } } },
}

local get_booking = tern.http_tool{
  name = "get_booking",
  description = "The current state of a booking.",
  method = "GET",
  url = api .. "/bookings/{booking_id}",
  parameters = { type = "object", required = { "booking_id" }, properties = { booking_id = { type = "string" } } },
}

-- What the model sees for booking: simpler arguments than the API's, shaped in Lua.
local book_flight = tern.tool{
  name = "book_flight",
  description = "Books seats on a flight for the named passengers. Side effect: charges the traveller.",
  parameters = { type = "object", required = { "flight_id", "passengers" }, properties = {
    flight_id = { type = "string" },
    passengers = { type = "array", minItems = 1, maxItems = 9, items = { type = "string" } } } },
  run = function(args)
    local pax = {}
    for i, name in ipairs(args.passengers) do pax[i] = { name = name } end
    return create_booking:call{ type = "flight", flight_id = args.flight_id, passengers = pax }
  end,
}

local book_hotel = tern.tool{
  name = "book_hotel",
  description = "Books a hotel room for a stay. Side effect: charges the traveller.",
  parameters = { type = "object", required = { "hotel_id", "check_in", "check_out", "guests", "guest_name" },
                 properties = { hotel_id = { type = "string" }, check_in = { type = "string" },
                                check_out = { type = "string" }, guests = { type = "integer", minimum = 1 },
                                guest_name = { type = "string" }, room_type = { type = "string" } } },
  run = function(args)
    local body = { type = "hotel" }
    for k, v in pairs(args) do body[k] = v end
    return create_booking:call(body)
  end,
}

-- ---- the scripted model ----

local function add_days(ymd, days)
  local y, m, d = ymd:match("^(%d+)-(%d+)-(%d+)$")
  return os.date("%Y-%m-%d", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d) + days, hour = 12 })
end

local function give_up(why)
  return { answer = "I could not complete the booking: " .. why .. " (scripted model: this reply comes from a fixed script.)" }
end

-- A tool result the model was shown; failed calls come back as {error = {kind, message}}.
local function result_of(req, id)
  local r = req.results[id]
  if r == nil then return nil, "no result for " .. id end
  if type(r) == "table" and r.error then return nil, r.error.message or "failed" end
  return r
end

local n = #trip.travellers

local model = tern.model{ name = "scripted-travel", script = {
  -- 1. Outbound flights: the arrival date decides the hotel dates.
  { calls = { { id = "out", name = "search_flights",
                arguments = { from = trip.from, to = trip.to, date = trip.depart, passengers = n } } },
    thought = "First the outbound flights; the arrival date fixes the hotel's check-in." },

  -- 2. The cheapest outbound flight; return flights and hotels at once.
  function(req)
    local out, err = result_of(req, "out")
    if not out then return give_up("the flight search failed: " .. err) end
    local f = out.flights[1]
    if not f then return give_up("no outbound flight on " .. trip.depart) end
    local check_in = f.arrival_date
    local check_out = add_days(check_in, trip.nights)
    return { calls = {
        { id = "back", name = "search_flights", arguments = { from = trip.to, to = trip.from, date = check_out, passengers = n } },
        { id = "hotels", name = "search_hotels",
          arguments = { city = trip.city, check_in = check_in, check_out = check_out, guests = n, limit = 20 } } },
      thought = string.format("Cheapest outbound: %s at %d USD per person. Now return flights and hotels.", f.id, f.price) }
  end,

  -- 3. Within budget: the cheapest flights, then the best-rated hotel that fits.
  function(req)
    local out = result_of(req, "out")
    local back, e1 = result_of(req, "back")
    local hotels, e2 = result_of(req, "hotels")
    if not back then return give_up("the return flight search failed: " .. e1) end
    if not hotels then return give_up("the hotel search failed: " .. e2) end
    local fo, fb = out.flights[1], back.flights[1]
    if not fb then return give_up("no return flight") end
    local flights_total = (fo.price + fb.price) * n
    local best
    for _, h in ipairs(hotels.hotels) do
      if flights_total + h.total_price <= trip.budget and (not best or h.rating > best.rating) then best = h end
    end
    if not best then return give_up("no hotel fits in the remaining " .. (trip.budget - flights_total) .. " USD") end
    local check_in = fo.arrival_date
    return { calls = {
        { id = "book_out", name = "book_flight", arguments = { flight_id = fo.id, passengers = trip.travellers } },
        { id = "book_back", name = "book_flight", arguments = { flight_id = fb.id, passengers = trip.travellers } },
        { id = "book_hotel", name = "book_hotel", arguments = {
            hotel_id = best.id, check_in = check_in, check_out = add_days(check_in, trip.nights), guests = n,
            guest_name = trip.travellers[1], room_type = best.room_type } } },
      thought = string.format("Flights %d USD, %s %d USD: total %d of %d USD. Booking all three.", flights_total,
                              best.name, best.total_price, flights_total + best.total_price, trip.budget) }
  end,

  -- 4. Confirm each booking by reading it back.
  function(req)
    local calls = {}
    for _, id in ipairs({ "book_out", "book_back", "book_hotel" }) do
      local b, err = result_of(req, id)
      if not b then return give_up("booking " .. id .. " failed: " .. err) end
      calls[#calls + 1] = { id = "confirm_" .. id, name = "get_booking", arguments = { booking_id = b.booking_id } }
    end
    return { calls = calls, thought = "All three booked; reading them back to confirm." }
  end,

  -- 5. The answer.
  function(req)
    local lines, total = {}, 0
    for _, id in ipairs({ "confirm_book_out", "confirm_book_back", "confirm_book_hotel" }) do
      local b, err = result_of(req, id)
      if not b then return give_up("confirming " .. id .. " failed: " .. err) end
      total = total + b.total_price
      lines[#lines + 1] = string.format("- %s %s (%s): %d USD", b.booking_id, b.type, b.status, b.total_price)
    end
    return { answer = string.format("Booked %s to %s for %d travellers, %d nights:\n%s\nTotal %d USD, within the %d USD budget.",
                                    trip.from, trip.city, n, trip.nights, table.concat(lines, "\n"), total, trip.budget) }
  end,
} }

-- ---- the agent ----

local agent = tern.agent{
  model = model,
  tools = { search_flights, search_hotels, book_flight, book_hotel, get_booking },
  instructions = "You book trips within budget.",
  budget = { steps = 8, tool_calls = 16, seconds = 60 },
  policies = { book_flight = { side_effecting = true }, book_hotel = { side_effecting = true } },
  approve = function(call)
    tern.log.info("approving", call.name, tern.json.encode(call.arguments))
    return true
  end,
  on_event = function(ev)
    if ev.type == "tool_call_finished" then tern.log.debug(ev.tool, ev.ok and "ok" or "failed") end
  end,
}

local names = table.concat(trip.travellers, ", ")
local r = agent:run(string.format("Book a trip from %s to %s (%s): leave on %s, %d nights, %d adults (%s). " ..
                                  "Total budget %d USD for the flights both ways and the hotel.",
                                  trip.from, trip.city, trip.to, trip.depart, trip.nights, n, names, trip.budget))

local bookings, total = tern.json.array(), 0
for _, c in ipairs(r.tool_calls) do
  if (c.tool == "book_flight" or c.tool == "book_hotel") and c.ok then
    bookings[#bookings + 1] = c.result.booking_id
    total = total + c.result.total_price
  end
end
return { answer = r.answer, stop_reason = r.stop_reason, bookings = bookings, total = total, budget = trip.budget,
         steps = #r.steps, tool_calls = #r.tool_calls }
