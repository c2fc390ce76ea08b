// `tern trace FILE` on a small hand-written trace (docs/agent.md, "Trace format").
#include "process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

std::string tern_trace(const std::string& file) {
  return std::string("'") + TERN_CLI_PATH + "' trace '" + file + "' 2>&1";
}

std::string temp_file(const char* stem) {
  return (std::filesystem::temp_directory_path() / (std::string(stem) + std::to_string(::getpid()) + ".jsonl")).string();
}

}  // namespace

TEST_CASE("cli: trace prints a step table with tool calls and totals") {
  const std::string path = temp_file("tern-trace-ok-");
  {
    std::ofstream f(path);
    f << R"({"t_ms":0,"type":"run_started","run_id":"r1","step":0,"task":"t","model":"scripted","mode":"react","resumed":false,"tools":2})" "\n"
      << R"({"t_ms":1,"type":"tool_call_finished","run_id":"r1","step":1,"call_id":"a","tool":"search_flights","ok":true,"result":{},"latency_ms":7.25,"attempts":1,"approval":""})" "\n"
      << R"({"t_ms":2,"type":"tool_call_finished","run_id":"r1","step":1,"call_id":"b","tool":"book_flight","ok":false,"error":{"error":{"kind":"rejected","message":"no"}},"latency_ms":0.5,"attempts":0,"approval":"rejected"})" "\n"
      << R"({"t_ms":3,"type":"step_finished","run_id":"r1","step":1,"prompt_tokens":561,"cached_prompt_tokens":0,"completion_tokens":39,"model_ms":1.5,"tools_ms":7.5,"n_tool_calls":2})" "\n"
      << R"({"t_ms":4,"type":"step_finished","run_id":"r1","step":2,"prompt_tokens":700,"cached_prompt_tokens":0,"completion_tokens":12,"model_ms":1.0,"tools_ms":0,"n_tool_calls":0})" "\n"
      << R"({"t_ms":5,"type":"run_finished","run_id":"r1","step":2,"stop_reason":"answered","answer":"ok","error":"","prompt_tokens":1261,"cached_prompt_tokens":0,"completion_tokens":51,"wall_ms":9.5,"model_ms":2.5,"tool_ms":7.5,"n_steps":2,"n_tool_calls":2})" "\n";
  }
  auto r = tern::test::run_command(tern_trace(path));
  std::remove(path.c_str());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("run r1  model scripted  mode react"));
  CHECK_THAT(r.output, Catch::Contains("   1 |      561 |       39 |      1.50 |      7.50 | search_flights ok 7.2 ms, book_flight rejected (rejected) 0.5 ms"));
  CHECK_THAT(r.output, Catch::Contains("   2 |      700 |       12 |      1.00 |      0.00 | (answer)"));
  CHECK_THAT(r.output, Catch::Contains("stop: answered  steps 2  tool calls 2  tokens 1261 prompt + 51 output"));
}

TEST_CASE("cli: trace names the line of a malformed event") {
  const std::string path = temp_file("tern-trace-bad-");
  {
    std::ofstream f(path);
    f << R"({"t_ms":0,"type":"run_started","run_id":"r1","step":0})" "\n"
      << "{not json\n";
  }
  auto r = tern::test::run_command(tern_trace(path));
  std::remove(path.c_str());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains(":2: "));
}

TEST_CASE("cli: trace of a missing file fails") {
  auto r = tern::test::run_command(tern_trace("/nonexistent/trace.jsonl"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("cannot open"));
}
