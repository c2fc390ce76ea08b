// Each area of Tern adds its subcommands from its own file in cli/src/
// (engine_commands.cpp, tools_commands.cpp, ...) without touching main.cpp:
//
//   static tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
//     auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
//     ...
//     cmd->callback([&status, opts] { status.code = run_tokenize(*opts); });
//   });
//
// Callbacks report failure by setting status.code (0 = success) and printing
// the error to stderr; they never throw out of the command.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace tern::cli {

struct exit_status {
  int code = 0;
};

using register_fn = std::function<void(CLI::App&, exit_status&)>;

// Registrations, in static-initialisation order (command listing is sorted by CLI11 anyway).
std::vector<register_fn>& registrations();

struct registrar {
  explicit registrar(register_fn fn) { registrations().push_back(std::move(fn)); }
};

}  // namespace tern::cli
