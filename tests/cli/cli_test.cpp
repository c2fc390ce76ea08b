#include "process.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {
std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }
}  // namespace

TEST_CASE("cli: --version prints the version and one CUDA line") {
  auto r = tern::test::run_command(tern_cmd("--version 2>&1"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::StartsWith("tern 0.1.0\ncuda: "));
  // Exactly two lines: the version and the backend report.
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 2);
}

TEST_CASE("cli: --help lists usage and exits 0") {
  auto r = tern::test::run_command(tern_cmd("--help 2>&1"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("Usage:"));
  CHECK_THAT(r.output, Catch::Contains("--version"));
}

TEST_CASE("cli: an unknown option is an error with a non-zero exit") {
  auto r = tern::test::run_command(tern_cmd("--no-such-flag 2>&1"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("no-such-flag"));
}
