// Runs every ```lua example in docs/lua.md, so the reference cannot rot.
#include "fixtures.hpp"
#include "lua_test_support.hpp"
#include "mcp_test_server.hpp"

#include <tern/travel/server.hpp>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace {

struct example {
  int line = 0;
  std::string code;
};

std::vector<example> lua_examples(const std::filesystem::path& md) {
  std::ifstream in(md);
  std::vector<example> out;
  std::string line;
  int n = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++n;
    if (!inside && line == "```lua") {
      inside = true;
      out.push_back({n + 1, {}});
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      out.back().code += line + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("docs: every Lua example in docs/lua.md runs") {
  auto examples = lua_examples(tern::test::source_dir() / "docs/lua.md");
  REQUIRE(examples.size() >= 16);
  ::setenv("TERN_DOC_CITY", "Lyon", 1);
  // The HTTP examples talk to the travel API (its own thread, bookings in memory) and
  // a small MCP server, both on loopback.
  boost::asio::io_context api_io;
  auto api = tern::travel::server::start(api_io, {});
  REQUIRE(api);
  std::thread api_thread([&] { api_io.run(); });
  struct stop_api {
    std::unique_ptr<tern::travel::server>& srv;
    std::thread& t;
    ~stop_api() {
      srv->stop();
      t.join();
    }
  } stop{*api, api_thread};
  tern::test::mcp_test_server mcp;
  ::setenv("TERN_DOC_API", fmt::format("http://{}:{}", (*api)->host(), (*api)->port()).c_str(), 1);
  ::setenv("TERN_DOC_MCP", mcp.url().c_str(), 1);
  // The local-model example: a tiny GGUF model and a chat template for it.
  TERN_NEED_FIXTURE(model_path, "models/stories260K.gguf");
  TERN_NEED_FIXTURE(template_path, "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  std::ifstream template_in(template_path);
  const std::string chat_template((std::istreambuf_iterator<char>(template_in)), std::istreambuf_iterator<char>());
  ::setenv("TERN_DOC_MODEL", model_path.string().c_str(), 1);
  ::setenv("TERN_DOC_TEMPLATE", chat_template.c_str(), 1);
  for (const auto& ex : examples) {
    INFO("docs/lua.md example at line " << ex.line << ":\n" << ex.code);
    tern::scripting::script_options opts;
    opts.args = {"Paris", "3"};
    opts.require_paths = {tern::test::source_dir() / "tests/data/openapi"};
    opts.host_functions["add"] =
        [](boost::json::value v) -> boost::asio::awaitable<tern::result<boost::json::value>> {
      co_return boost::json::value(v.at("a").as_int64() + v.at("b").as_int64());
    };
    auto out = tern::test::run_lua(ex.code, opts, "lua.md");
    CHECK(out.message() == "");
    CHECK(out.ok());
  }
}
