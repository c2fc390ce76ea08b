// `tern run SCRIPT.lua [args...]`: runs a Lua workflow to completion.
#include "command_registry.hpp"

#include <tern/core/json.hpp>
#include <tern/scripting/script.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

struct run_options {
  std::string script;
  std::vector<std::string> args;
  bool unsafe = false;
  std::uint64_t max_instructions = tern::scripting::script_limits{}.max_instructions;
  std::uint64_t max_memory_mb = tern::scripting::script_limits{}.max_memory_bytes >> 20;
  std::vector<std::string> require_paths;
  std::vector<std::string> allow_env;
};

int run_script(const run_options& o) {
  tern::scripting::script_options so;
  so.unsafe = o.unsafe;
  so.args = o.args;
  so.limits.max_instructions = o.max_instructions;
  so.limits.max_memory_bytes = static_cast<std::size_t>(o.max_memory_mb) << 20;
  for (const auto& p : o.require_paths) so.require_paths.emplace_back(p);
  if (!o.allow_env.empty()) so.env_allow = o.allow_env;

  std::string traceback;
  auto r = tern::scripting::run_file(o.script, std::move(so), &traceback);
  std::fflush(stdout);  // the script's own prints come first
  if (!r) {
    fmt::print(stderr, "error: {}\n", r.error().describe());
    if (!traceback.empty()) fmt::print(stderr, "{}\n", traceback);
    return 1;
  }
  if (!r->is_null()) fmt::print("{}\n", tern::json::serialize(*r));
  return 0;
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand("run", "Run a Lua workflow script (its return value is printed as JSON)");
  cmd->add_option("script", opts->script, "The script (SCRIPT.lua)")->required();
  cmd->add_option("args", opts->args, "The script's arguments (tern.args); write -- right after SCRIPT when one starts with '-'");
  cmd->add_flag("--unsafe", opts->unsafe, "Open the full Lua standard library (io, os, debug, package)");
  cmd->add_option("--max-instructions", opts->max_instructions, "Lua instructions the script may run (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--max-memory", opts->max_memory_mb, "MiB the script's Lua state may hold (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--require-path", opts->require_paths, "A folder `require` may load modules from (repeatable)");
  cmd->add_option("--allow-env", opts->allow_env, "An environment variable tern.env may read (repeatable; default all)");
  cmd->callback([&status, opts] { status.code = run_script(*opts); });
});

}  // namespace
