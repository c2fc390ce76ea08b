// tern::scripting::script: one Lua 5.4 workflow script, run as coroutines on an Asio executor.
//
//   boost::asio::io_context io;
//   tern::scripting::script_options opts;
//   opts.args = {"Paris"};
//   TERN_TRY(auto s, tern::scripting::script::from_file(io.get_executor(), "trip.lua", opts));
//   s->start([](tern::result<boost::json::value> r) { ... });   // or co_await s->run()
//   io.run();
//
// Each script owns its own Lua state (its own globals, memory accounting and
// instruction counter). Its main chunk runs as a Lua coroutine; a call that awaits
// C++ work (tern.sleep, tern.host.*, tool:call, agent:run, tern.openapi, tern.mcp)
// yields that coroutine and the operation's completion resumes it on the executor,
// so many scripts and many coroutines share one io_context and none blocks it. Models, agents and HTTP tools
// made by a script (tern.model, tern.agent, tern.http_tool, ...) run on that executor
// and live as long as the script; docs/lua.md is the reference.
//
// Sandbox (default): only safe libraries (base without dofile/loadfile, string
// without dump, table, math, utf8, coroutine, os.clock/time/date/difftime); `load`
// takes text chunks only; `require` finds `NAME.lua` / `NAME/init.lua` in the
// script's folder and the allowed paths, never C modules. `unsafe` opens the full
// standard library. Limits (instructions, memory) apply in both modes.
//
// Thread safety: a script is used from its executor's thread only (a
// single-threaded io_context, or a strand). Different scripts are independent.
// Errors: everything a script can trigger comes back as a tern::error value,
// never an exception or a crash.
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/tool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::scripting {

struct script_limits {
  // Lua VM instructions over the whole run (all coroutines); 0 = no limit.
  // Checked every 1000 instructions. Awaiting costs no instructions.
  std::uint64_t max_instructions = 1'000'000'000;
  // Bytes the Lua state may hold at once (its allocator refuses more); 0 = no limit.
  std::size_t max_memory_bytes = std::size_t{256} << 20;
};

// An async C++ function a script calls as `tern.host.NAME(value)`: the Lua argument
// arrives as JSON (null when absent), the result goes back as Lua values, an error
// becomes a Lua error with its message. Runs on the script's executor.
using host_function =
    std::function<boost::asio::awaitable<result<boost::json::value>>(boost::json::value)>;

struct script_options {
  script_limits limits;
  // Opens the full standard library (io, os, debug, package, binary chunks).
  bool unsafe = false;
  // `tern.args`: the script's arguments, in order.
  std::vector<std::string> args;
  // Extra folders `require` searches after the script's own folder.
  std::vector<std::filesystem::path> require_paths;
  // Variables `tern.env(name)` may read; nullopt = any.
  std::optional<std::vector<std::string>> env_allow;
  // Functions exposed as `tern.host.NAME`.
  std::map<std::string, host_function> host_functions;
  // Where `print` writes (one call per print, the line ends with '\n'); default stdout.
  std::function<void(std::string_view)> print;
};

struct script_stats {
  std::uint64_t instructions = 0;      // counted in steps of 1000
  std::size_t memory_bytes = 0;        // held by the Lua state now
  std::size_t peak_memory_bytes = 0;
};

namespace detail {
class host;
}

class script {
 public:
  // Compiles a script file (text only) without running it. Errors: io_error (cannot
  // read), parse_error ("trip.lua:3: ..."), limit_exceeded (memory).
  static result<std::shared_ptr<script>> from_file(boost::asio::any_io_executor executor,
                                                   const std::filesystem::path& file,
                                                   script_options options = {});
  // Same for source text; `chunk_name` is what errors show ("inline.lua:2: ...").
  // `require` then searches the current directory and the allowed paths.
  static result<std::shared_ptr<script>> from_string(boost::asio::any_io_executor executor,
                                                     std::string_view source, std::string chunk_name,
                                                     script_options options = {});

  script(const script&) = delete;
  script& operator=(const script&) = delete;
  ~script();

  // Starts the main chunk; `done` runs once on the executor with the chunk's first
  // return value as JSON (null for nothing or nil), or the error: the Lua message with
  // file:line (traceback() holds the stack), limit_exceeded for a limit, cancelled
  // after cancel(). Start a script once.
  void start(std::function<void(result<boost::json::value>)> done);
  // start() as an awaitable; cancelling the awaiting coroutine cancels the script.
  boost::asio::awaitable<result<boost::json::value>> run();

  // Stops the script: pending operations are cancelled, its coroutines closed, `done`
  // gets errc::cancelled. Safe to call at any time, also from inside the script's
  // own callbacks (it then stops at its next instruction-count check).
  void cancel();

  // The tools the script defined with tern.tool so far, in order. A tool runs its
  // Lua function as a new coroutine of this script, on the script's executor; a Lua
  // error there is a tool error (kind "failed", message with file:line), never a
  // crash. Once the script has ended, invoking one is a "failed" tool error.
  const std::vector<tools::tool_ptr>& tools() const;

  // Lua's "stack traceback:" text for the last error, empty when none.
  const std::string& traceback() const;
  script_stats stats() const;

 private:
  explicit script(std::shared_ptr<detail::host> host);
  std::shared_ptr<detail::host> host_;
};

// Runs one script file to completion on a private io_context (what `tern run` does).
result<boost::json::value> run_file(const std::filesystem::path& file, script_options options = {},
                                    std::string* traceback = nullptr);

}  // namespace tern::scripting
