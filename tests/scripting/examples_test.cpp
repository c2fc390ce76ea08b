// examples/lua through the real `tern` binary: `tern run examples/lua/travel_agent.lua URL`
// against the travel API (in-process, on its own thread), then the API's store is checked.
#include "../agent/travel_env.hpp"
#include "fixtures.hpp"
#include "process.hpp"

#include <thread>

using namespace tern;
using namespace tern::test;

TEST_CASE("examples: tern run examples/lua/travel_agent.lua URL books the trip") {
  const auto db = temp_path("lua-example", ".db");
  asio::io_context io;
  travel::server_options o;
  o.db_path = db.string();
  auto srv = travel::server::start(io, o);
  REQUIRE(srv);
  std::thread thread([&] { io.run(); });
  const std::string url = fmt::format("http://{}:{}", (*srv)->host(), (*srv)->port());
  auto r = run_command(fmt::format("'{}' run '{}' {} 2>&1", TERN_CLI_PATH,
                                   (source_dir() / "examples/lua/travel_agent.lua").string(), url));
  (*srv)->stop();
  thread.join();
  srv->reset();

  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto out = json::parse(r.output);
  REQUIRE(out);
  CHECK(out->at("stop_reason") == "answered");
  CHECK(out->at("bookings").as_array().size() == 3);
  CHECK(out->at("total").as_int64() <= 3000);
  CHECK_THAT(std::string(out->at("answer").as_string()), Catch::Contains("within the 3000 USD budget"));

  // Three confirmed bookings in the API's database.
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.string().c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT count(*) FROM bookings WHERE status='confirmed'", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 3);
  sqlite3_finalize(st);
  sqlite3_close(h);
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix, ec);

  // Without the URL: a clear usage error.
  auto usage = run_command(fmt::format("'{}' run '{}' 2>&1", TERN_CLI_PATH,
                                       (source_dir() / "examples/lua/travel_agent.lua").string()));
  CHECK(usage.exit_code == 1);
  CHECK_THAT(usage.output, Catch::Contains("usage: tern run travel_agent.lua API_URL"));
}
