-- Canned offers for trip_plan.lua (a module: found by require in the script's folder).
local M = {}

M.flights = {
  Lisbon = { { id = "TP441", price = 310 }, { id = "U2 7615", price = 185 }, { id = "FR 1882", price = 240 } },
  Paris = { { id = "AF1024", price = 140 } },
}

M.hotels = {
  Lisbon = { { name = "Alfama Rooms", per_night = 95 }, { name = "Baixa Grand", per_night = 210 } },
  Paris = { { name = "Hotel du Nord", per_night = 160 } },
}

-- Cheapest first, as a JSON array (so an empty list stays [] in the output).
function M.sorted(list)
  table.sort(list, function(a, b) return a.price < b.price end)
  return tern.json.array(list)
end

return M
