// `tern run`: the real binary running Lua scripts.
#include "process.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

std::string tern_run(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' run " + args + " 2>&1"; }

std::filesystem::path write_script(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / ("tern_cli_run_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

}  // namespace

TEST_CASE("cli run: runs a workflow with arguments and prints its result as JSON") {
  auto path = write_script("args.lua",
                           "print('hello from lua')\n"
                           "local r = tern.parallel(function() tern.sleep(0.01) return tern.args[1] end,\n"
                           "                        function() return #tern.args end)\n"
                           "return { first = r[1], n = r[2] }\n");
  auto r = tern::test::run_command(tern_run("'" + path.string() + "' -- Paris --not-an-option"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "hello from lua\n{\"first\":\"Paris\",\"n\":2}\n");
}

TEST_CASE("cli run: a sandbox refusal is an error with file:line, --unsafe allows it") {
  auto path = write_script("io.lua", "local x = 1\nreturn io.type(io.stdout)\n");
  auto refused = tern::test::run_command(tern_run("'" + path.string() + "'"));
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("error: "));
  CHECK_THAT(refused.output, Catch::Contains("io.lua:2: io is not available in the sandbox"));
  CHECK_THAT(refused.output, Catch::Contains("stack traceback:"));

  auto allowed = tern::test::run_command(tern_run("--unsafe '" + path.string() + "'"));
  CHECK(allowed.exit_code == 0);
  CHECK(allowed.output == "\"file\"\n");
}

TEST_CASE("cli run: --max-instructions and --max-memory stop runaway scripts") {
  auto loop = write_script("loop.lua", "while true do end\n");
  auto r = tern::test::run_command(tern_run("--max-instructions 100000 '" + loop.string() + "'"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("loop.lua:1: instruction limit of 100000 exceeded"));

  auto bomb = write_script("bomb.lua", "local t = {}\nwhile true do t[#t + 1] = string.rep('x', 4096) .. #t end\n");
  auto m = tern::test::run_command(tern_run("--max-memory 8 '" + bomb.string() + "'"));
  CHECK(m.exit_code == 1);
  CHECK_THAT(m.output, Catch::Contains("memory limit of 8388608 bytes (8.0 MiB) exceeded"));
}

TEST_CASE("cli run: a missing script is a clear error") {
  auto r = tern::test::run_command(tern_run("/nonexistent/nope.lua"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("nope.lua"));
}

TEST_CASE("cli run: the trip-planning example runs") {
  const std::string script = std::string(TERN_SOURCE_DIR) + "/examples/lua/trip_plan.lua";
  auto fits = tern::test::run_command(tern_run("'" + script + "' 600 Lisbon"));
  CHECK(fits.exit_code == 0);
  CHECK(fits.output ==
        R"({"budget":600,"city":"Lisbon","flight":{"id":"U2 7615","price":185},"hotel":{"name":"Alfama Rooms","price":285},"total":470})"
        "\n");
  auto over = tern::test::run_command(tern_run("'" + script + "' 300 Paris"));
  CHECK(over.exit_code == 0);
  CHECK(over.output == R"({"budget":300,"cheapest_total":620,"city":"Paris","error":"over budget"})" "\n");
}
