// Errors carry file:line and a traceback; the host never crashes on them.
#include "lua_test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using tern::test::run_lua;
namespace ts = tern::scripting;

TEST_CASE("errors: a runtime error names file:line and keeps a traceback") {
  auto out = run_lua("local function inner()\n  error('bad input')\nend\nlocal function outer() inner() end\nouter()\n",
                     {}, "flow.lua");
  REQUIRE_FALSE(out.ok());
  CHECK(out.message() == "flow.lua:2: bad input");
  CHECK_THAT(out.traceback, Catch::StartsWith("stack traceback:"));
  CHECK_THAT(out.traceback, Catch::Contains("flow.lua:2: in"));
  CHECK_THAT(out.traceback, Catch::Contains("flow.lua:4: in"));
  CHECK_THAT(out.traceback, Catch::Contains("flow.lua:5: in main chunk"));
}

TEST_CASE("errors: a syntax error is a parse_error with file:line") {
  auto out = run_lua("local x = 1\nlocal y = = 2\n", {}, "broken.lua");
  REQUIRE_FALSE(out.ok());
  CHECK(out.code() == tern::errc::parse_error);
  CHECK_THAT(out.message(), Catch::StartsWith("broken.lua:2:"));
}

TEST_CASE("errors: error values that are not strings are described") {
  auto tbl = run_lua("error(setmetatable({}, { __tostring = function() return 'custom error' end }))");
  REQUIRE_FALSE(tbl.ok());
  CHECK(tbl.message() == "custom error");
  auto plain = run_lua("error({ code = 7 })");
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(plain.message(), Catch::StartsWith("table: 0x"));
}

TEST_CASE("errors: an error inside a required module names the module's file") {
  auto dir = std::filesystem::temp_directory_path() / ("tern_lua_errors_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mod.lua") << "local M = {}\nfunction M.f()\n  return nil + 1\nend\nreturn M\n";
  std::ofstream(dir / "main.lua") << "local m = require('mod')\nm.f()\n";
  std::string tb;
  auto r = ts::run_file(dir / "main.lua", {}, &tb);
  std::filesystem::remove_all(dir);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error().describe(), Catch::Contains("mod.lua:3: attempt to perform arithmetic on a nil value"));
  CHECK_THAT(tb, Catch::Contains("main.lua:2: in main chunk"));
}

TEST_CASE("errors: a missing script file is an io_error naming it") {
  auto r = ts::run_file("/nonexistent/flow.lua");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == tern::errc::io_error);
  CHECK_THAT(r.error().describe(), Catch::Contains("/nonexistent/flow.lua"));
}

TEST_CASE("errors: print, tern.log, tern.env and tern.args") {
  ts::script_options opts;
  opts.args = {"one", "two words"};
  opts.env_allow = std::vector<std::string>{"HOME"};
  auto out = run_lua(R"(
    print("hello", 1, nil, true)
    tern.log("visible only with --log info")
    tern.log.debug("debug line")
    local ok, err = pcall(function() return tern.env("PATH") end)
    return { args = tern.args, n = #tern.args, home = tern.env("HOME") ~= nil, err = err,
             version = type(tern.version) }
  )", opts);
  REQUIRE(out.ok());
  CHECK(out.printed == "hello\t1\tnil\ttrue\n");
  CHECK(out.json().at("args") == boost::json::array{"one", "two words"});
  CHECK(out.json().at("n") == 2);
  CHECK(out.json().at("version") == "string");
  CHECK_THAT(std::string(out.json().at("err").as_string()),
             Catch::Contains("tern.env: 'PATH' is not in the allowed list"));
}
