// The sandbox refuses each dangerous capability with a clear error; limits stop
// runaway scripts without taking the host down.
#include "lua_test_support.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using tern::test::run_lua;
namespace ts = tern::scripting;

namespace {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& name) {
    path = std::filesystem::temp_directory_path() / ("tern_lua_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories((path / rel).parent_path());
    std::ofstream(path / rel) << text;
  }
};

}  // namespace

TEST_CASE("sandbox: each forbidden capability is refused with a clear error") {
  struct refusal {
    const char* code;
    const char* expected;
  };
  const refusal cases[] = {
      {"io.open('/etc/passwd')", "io is not available in the sandbox"},
      {"os.execute('true')", "os.execute is not available in the sandbox"},
      {"os.remove('/tmp/x')", "os.remove is not available in the sandbox"},
      {"os.exit(1)", "os.exit is not available in the sandbox"},
      {"os.getenv('HOME')", "os.getenv is not available in the sandbox"},
      {"debug.getregistry()", "debug is not available in the sandbox"},
      {"package.loadlib('libc.so.6', 'system')", "package is not available in the sandbox"},
      {"string.dump(function() end)", "string.dump is not available in the sandbox"},
      {"('').dump(function() end)", "string.dump is not available in the sandbox"},
      {"dofile('/etc/passwd')", "dofile is not available in the sandbox"},
      {"loadfile('/etc/passwd')", "loadfile is not available in the sandbox"},
      {"load('return 1', 'x', 'b')", "binary chunks are not allowed in the sandbox"},
      {"local f, e = load('\\27Lua\\x54\\0')\nerror(e)", "binary chunks are not allowed in the sandbox"},
      {"require('nosuch')", "module 'nosuch' not found in the script's folder or the allowed paths"},
      {"require('../etc/passwd')", "module name '../etc/passwd' is not allowed"},
      {"require('/etc/passwd')", "is not allowed"},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    auto out = run_lua(std::string("local x = 1\n") + c.code + "\n");
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.message(), Catch::Contains(c.expected));
    CHECK_THAT(out.message(), Catch::Contains("inline.lua:"));  // where it happened
  }
}

TEST_CASE("sandbox: the safe library is there and text chunks load") {
  auto out = run_lua(R"(
    local f = assert(load("return 6 * 7"))
    local t = {3, 1, 2}
    table.sort(t)
    assert(os.time() > 0 and os.clock() >= 0 and os.date("%Y"):match("^%d+$"))
    return { answer = f(), sorted = t, upper = string.upper("ok"), utf8 = utf8.len("héllo"),
             floor = math.floor(2.5), co = coroutine.wrap(function() coroutine.yield(5) end)() }
  )");
  REQUIRE(out.ok());
  CHECK(out.json() == boost::json::parse(R"({"answer":42,"sorted":[1,2,3],"upper":"OK","utf8":5,"floor":2,"co":5})"));
}

TEST_CASE("sandbox: --unsafe opens the full standard library") {
  ts::script_options opts;
  opts.unsafe = true;
  auto out = run_lua("return type(io.open) .. ' ' .. type(os.execute) .. ' ' .. type(debug.traceback)", opts);
  REQUIRE(out.ok());
  CHECK(out.json() == "function function function");
}

TEST_CASE("sandbox: require loads from the script's folder and the allowed paths only") {
  temp_dir dir("require");
  dir.write("main/helper.lua", "local M = {}\nfunction M.twice(x) return 2 * x end\nreturn M\n");
  dir.write("main/pkg/init.lua", "return { name = 'pkg' }\n");
  dir.write("lib/shared.lua", "return { value = 7 }\n");
  dir.write("outside/secret.lua", "return { leaked = true }\n");
  dir.write("main/run.lua",
            "local h = require('helper')\nlocal p = require('pkg')\nlocal s = require('shared')\n"
            "assert(require('helper') == h)\nreturn { h.twice(21), p.name, s.value, require('tern') == tern }\n");
  std::filesystem::create_directory_symlink(dir.path / "outside", dir.path / "main" / "escape");

  ts::script_options opts;
  opts.require_paths = {dir.path / "lib"};
  auto r = ts::run_file(dir.path / "main/run.lua", opts);
  REQUIRE(r.has_value());
  CHECK(*r == boost::json::parse(R"([42, "pkg", 7, true])"));

  // Without the allowed path the shared module is not found.
  auto missing = ts::run_file(dir.path / "main/run.lua");
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().describe(), Catch::Contains("module 'shared' not found"));

  // A symlink out of the folder does not count as inside it.
  dir.write("main/escape_test.lua", "return require('escape.secret')\n");
  auto escaped = ts::run_file(dir.path / "main/escape_test.lua");
  REQUIRE_FALSE(escaped.has_value());
  CHECK_THAT(escaped.error().describe(), Catch::Contains("module 'escape.secret' not found"));
}

TEST_CASE("limits: an infinite loop is stopped, even under pcall") {
  ts::script_options opts;
  opts.limits.max_instructions = 1'000'000;
  const char* loops[] = {
      "while true do end",
      "pcall(function() while true do end end)\nreturn 'escaped'",
      "while true do pcall(function() while true do end end) end",
      "local ok = pcall(error)\nwhile true do local ok2 = pcall(function() local x = 0 while true do x = x + 1 end end) end",
      "coroutine.wrap(function() while true do end end)()\nreturn 'escaped'",
      "local t = {3, 2, 1}\ntable.sort(t, function(a, b) while true do end end)\nreturn 'escaped'",
      "while true do pcall(table.sort, {3, 2, 1}, function(a, b) while true do end end) end",
  };
  for (const char* code : loops) {
    INFO(code);
    auto out = run_lua(code, opts);
    REQUIRE_FALSE(out.ok());
    CHECK(out.code() == tern::errc::limit_exceeded);
    CHECK_THAT(out.message(), Catch::Contains("instruction limit of 1000000 exceeded"));
    CHECK_THAT(out.message(), Catch::Contains("inline.lua:"));
  }
}

TEST_CASE("limits: a memory bomb is stopped, even under pcall") {
  ts::script_options opts;
  opts.limits.max_memory_bytes = 16u << 20;
  const char* bombs[] = {
      "local t = {}\nwhile true do t[#t + 1] = string.rep('x', 1 << 20) .. #t end",
      "local s = string.rep('x', 1 << 30)",
      "pcall(function() local t = {} while true do t[#t + 1] = {} end end)\nlocal keep = {}\n"
      "while true do keep[#keep + 1] = 1 end",
      "local ok = pcall(string.rep, 'x', 1 << 30)\nreturn ok",
  };
  for (const char* code : bombs) {
    INFO(code);
    auto out = run_lua(code, opts);
    REQUIRE_FALSE(out.ok());
    CHECK(out.code() == tern::errc::limit_exceeded);
    CHECK_THAT(out.message(), Catch::Contains("memory limit of 16777216 bytes (16.0 MiB) exceeded"));
  }
}

TEST_CASE("limits: the host keeps running other scripts while one is stopped") {
  boost::asio::io_context io;
  ts::script_options bomb_opts, loop_opts;
  bomb_opts.limits.max_memory_bytes = 8u << 20;
  loop_opts.limits.max_instructions = 2'000'000;
  auto bomb = ts::script::from_string(io.get_executor(),
                                      "tern.sleep(0.01)\nlocal t = {}\nwhile true do t[#t+1] = {1, 2, 3} end",
                                      "bomb.lua", bomb_opts);
  auto loop = ts::script::from_string(io.get_executor(), "tern.sleep(0.01)\nwhile true do end", "loop.lua", loop_opts);
  auto good = ts::script::from_string(io.get_executor(),
                                      "local n = 0\nfor i = 1, 5 do tern.sleep(0.01) n = n + i end\nreturn n",
                                      "good.lua");
  REQUIRE(bomb);
  REQUIRE(loop);
  REQUIRE(good);
  std::optional<tern::result<boost::json::value>> r_bomb, r_loop, r_good;
  (*bomb)->start([&](auto r) { r_bomb.emplace(std::move(r)); });
  (*loop)->start([&](auto r) { r_loop.emplace(std::move(r)); });
  (*good)->start([&](auto r) { r_good.emplace(std::move(r)); });
  io.run();
  REQUIRE(r_bomb);
  REQUIRE(r_loop);
  REQUIRE(r_good);
  REQUIRE_FALSE(r_bomb->has_value());
  CHECK_THAT(r_bomb->error().describe(), Catch::Contains("memory limit"));
  REQUIRE_FALSE(r_loop->has_value());
  CHECK_THAT(r_loop->error().describe(), Catch::Contains("loop.lua:2: instruction limit"));
  REQUIRE(r_good->has_value());
  CHECK(**r_good == 15);
}

TEST_CASE("limits: both limits are configurable and off with 0") {
  ts::script_options opts;
  opts.limits.max_instructions = 0;
  opts.limits.max_memory_bytes = 0;
  auto out = run_lua("local n = 0\nfor i = 1, 3000000 do n = n + 1 end\nreturn n", opts);
  REQUIRE(out.ok());
  CHECK(out.json() == 3000000);

  opts.limits.max_instructions = 100;
  auto small = run_lua("local n = 0\nfor i = 1, 1000 do n = n + 1 end\nreturn n", opts);
  REQUIRE_FALSE(small.ok());
  CHECK_THAT(small.message(), Catch::Contains("instruction limit of 100 exceeded"));
}
