// The `tern` command-line tool: a thin CLI11 front over the libraries.
#include "command_registry.hpp"

#include <tern/core/log.hpp>
#include <tern/core/version.hpp>
#include <tern/engine/backend.hpp>

#include <fmt/format.h>

#include <cstdio>

namespace tern::cli {
std::vector<register_fn>& registrations() {
  static std::vector<register_fn> fns;
  return fns;
}
}  // namespace tern::cli

int main(int argc, char** argv) {
  tern::log::init_from_env();

  CLI::App app{"Tern: agents with a local inference engine, HTTP tools and Lua workflows", "tern"};
  app.require_subcommand(0, 1);
  app.footer("Logging: TERN_LOG=trace|debug|info|warn|error|off (default warn), or --log LEVEL.");

  bool show_version = false;
  app.add_flag("-V,--version", show_version, "Print the version and the compute backends, then exit");
  std::string log_level;
  app.add_option("--log", log_level, "Log level for this run (trace, debug, info, warn, error, off)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  tern::cli::exit_status status;
  for (auto& fn : tern::cli::registrations()) fn(app, status);

  app.parse_complete_callback([&] {
    if (!log_level.empty())
      if (auto lvl = tern::log::parse_level(log_level)) tern::log::set_level(*lvl);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (show_version) {
    fmt::print("tern {}\n", tern::version());
    fmt::print("{}\n", tern::engine::probe_backends().cuda_line);
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  return status.code;
}
