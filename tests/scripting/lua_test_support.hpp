// Runs Lua source through tern::scripting on a private io_context, for the tests.
#pragma once

#include <tern/scripting/script.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>

namespace tern::test {

struct lua_outcome {
  std::optional<result<boost::json::value>> value;
  std::string traceback;
  std::string printed;

  bool ok() const { return value && value->has_value(); }
  const boost::json::value& json() const { return value->value(); }
  std::string message() const { return value && !value->has_value() ? value->error().describe() : std::string(); }
  errc code() const { return value->error().code(); }
};

inline lua_outcome run_lua(const std::string& source, scripting::script_options options = {},
                           const std::string& name = "inline.lua") {
  lua_outcome out;
  options.print = [&out](std::string_view s) { out.printed.append(s); };
  boost::asio::io_context io;
  auto s = scripting::script::from_string(io.get_executor(), source, name, std::move(options));
  if (!s) {
    out.value.emplace(std::move(s).error());
    return out;
  }
  (*s)->start([&out](result<boost::json::value> r) { out.value.emplace(std::move(r)); });
  io.run();
  out.traceback = (*s)->traceback();
  return out;
}

}  // namespace tern::test
