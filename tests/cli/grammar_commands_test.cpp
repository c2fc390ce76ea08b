// `tern maskbench` on a small folder written by the test: one schema that
// passes, one refused (the keyword is reported), one that fails.
#include "fixtures.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

namespace {
std::string tern_cmd(const std::string& args) { return std::string("'") + TERN_CLI_PATH + "' " + args; }

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

// An empty folder under the test's binary dir with a passing schema and a
// refused one in it.
std::filesystem::path schema_folder(const std::string& name) {
  auto dir = tern::test::binary_dir() / "tmp" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write(dir / "a_pass.json", R"({"schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]},
    "tests":[{"valid":true,"data":{"n":5}},{"valid":false,"data":{"n":"x"}},{"valid":false,"data":{}}]})");
  write(dir / "b_refused.json", R"({"schema":{"type":"array","uniqueItems":true},"tests":[]})");
  return dir;
}
}  // namespace

TEST_CASE("cli: maskbench scores a folder and ends with the summary line") {
  TERN_NEED_FIXTURE(model, "models/qwen2-vocab.gguf");
  auto dir = schema_folder("maskbench-cli");
  write(dir / "c_fail.json", R"({"schema":{"type":"string"},"tests":[{"valid":true,"data":1}]})");
  auto r = tern::test::run_command(tern_cmd("maskbench -v -m '" + model.string() + "' '" + dir.string() + "' 2>&1"));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("uniqueItems"));
  CHECK_THAT(r.output, Catch::Contains("c_fail.json"));
  auto last = r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1);
  std::regex line(
      R"(maskbench: passed 1/3 failed 1 refused 1 crashed 0 timeout 0 mask_us mean [0-9.]+ p50 [0-9.]+ p99 [0-9.]+ first_mask_ms [0-9.]+\n)");
  CHECK(std::regex_match(last, line));
}

TEST_CASE("cli: maskbench --fork-each and --in-process agree, and --per-schema writes one row per schema") {
  TERN_NEED_FIXTURE(model, "models/qwen2-vocab.gguf");
  auto dir = schema_folder("maskbench-cli-modes");
  auto counts = [](const std::string& out) {
    auto at = out.find("maskbench: passed");
    return at == std::string::npos ? std::string() : out.substr(at, out.find(" mask_us", at) - at);
  };
  std::string args = "-m '" + model.string() + "' '" + dir.string() + "' 2>&1";
  auto forked = tern::test::run_command(tern_cmd("maskbench --fork-each " + args));
  auto inproc = tern::test::run_command(tern_cmd("maskbench --in-process " + args));
  auto tsv = dir / "per-schema.tsv";
  auto worker = tern::test::run_command(tern_cmd("maskbench --per-schema '" + tsv.string() + "' " + args));
  INFO(forked.output << inproc.output << worker.output);
  CHECK(counts(forked.output) == "maskbench: passed 1/2 failed 0 refused 1 crashed 0 timeout 0");
  CHECK(counts(inproc.output) == counts(forked.output));
  CHECK(counts(worker.output) == counts(forked.output));
  std::ifstream f(tsv);
  std::vector<std::string> rows;
  for (std::string l; std::getline(f, l);) rows.push_back(l);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == "file\toutcome\tmasks\tsum_us\tmax_us\tover_500us\tfirst_mask_ms");
  CHECK(rows[1].rfind("a_pass.json\tpassed\t", 0) == 0);
  CHECK(rows[2].rfind("b_refused.json\trefused\t0\t", 0) == 0);
}

TEST_CASE("cli: maskbench without files or with a bad model is an error") {
  auto r = tern::test::run_command(tern_cmd("maskbench -m /no/such/model.gguf /no/such/dir 2>&1"));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("model.gguf"));
}
