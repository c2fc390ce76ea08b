// isolated_runner: a checker that crashes or hangs is counted and replaced,
// and one worker process serves file after file until then.
#include <tern/engine/maskbench.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <thread>

#include <unistd.h>

namespace mb = tern::engine::maskbench;
using namespace std::chrono_literals;

namespace {

// Dies of `sig` the way an unhandled crash does. The worker inherits the test
// process's handlers (Catch2's fatal-signal reporter, ASan's), which would
// report and exit instead; a real checker crash outside a test dies this way.
[[noreturn]] void die_of(int sig) {
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  std::_Exit(99);  // not reached
}

// Behaves by file name: "crash" dies of SIGSEGV, "abort" of SIGABRT, "hang"
// never answers, "error" fails; otherwise it passes and reports the worker's pid.
tern::result<mb::schema_result> scripted_check(const std::filesystem::path& f, std::chrono::steady_clock::time_point) {
  std::string name = f.filename().string();
  if (name == "crash") die_of(SIGSEGV);
  if (name == "abort") die_of(SIGABRT);
  if (name == "exit") std::_Exit(3);
  if (name == "hang")
    for (;;) std::this_thread::sleep_for(1s);
  if (name == "error") return tern::fail(tern::errc::parse_error, "not a MaskBench file").at(name);
  mb::schema_result r;
  r.file = name;
  r.result = mb::outcome::passed;
  r.detail = std::to_string(getpid());
  r.mask_ns = {1000, 2000, 3000};
  r.first_mask_ns = 42;
  return r;
}

}  // namespace

TEST_CASE("maskbench isolate: one worker serves file after file and returns their results") {
  mb::isolated_runner runner(scripted_check);
  auto a = runner.run("a.json", 5s);
  auto b = runner.run("b.json", 5s);
  CHECK(a.result == mb::outcome::passed);
  CHECK(b.result == mb::outcome::passed);
  CHECK(a.file == "a.json");
  CHECK(a.mask_ns == std::vector<uint32_t>{1000, 2000, 3000});
  CHECK(a.first_mask_ns == 42);
  CHECK(a.detail == b.detail);  // same worker pid
  CHECK(a.detail != std::to_string(getpid()));
  CHECK(runner.workers_started() == 1);
}

TEST_CASE("maskbench isolate: a crash is counted with its signal and the next file gets a new worker") {
  mb::isolated_runner runner(scripted_check);
  auto before = runner.run("a.json", 5s);
  auto crash = runner.run("crash", 5s);
  CHECK(crash.result == mb::outcome::crashed);
  CHECK(crash.detail == "checker died with signal " + std::to_string(SIGSEGV));
  auto aborted = runner.run("abort", 5s);
  CHECK(aborted.result == mb::outcome::crashed);
  CHECK(aborted.detail == "checker died with signal " + std::to_string(SIGABRT));
  auto exited = runner.run("exit", 5s);
  CHECK(exited.result == mb::outcome::crashed);
  CHECK(exited.detail == "checker exited without a result");
  auto after = runner.run("b.json", 5s);
  CHECK(after.result == mb::outcome::passed);
  CHECK(after.detail != before.detail);
  CHECK(runner.workers_started() == 4);
}

TEST_CASE("maskbench isolate: a hang is a timeout, the worker is killed and replaced") {
  mb::isolated_runner runner(scripted_check);
  auto t0 = std::chrono::steady_clock::now();
  auto hang = runner.run("hang", 200ms);
  CHECK(hang.result == mb::outcome::timeout);
  CHECK(hang.detail == "no answer within 200 ms");
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  auto after = runner.run("a.json", 5s);
  CHECK(after.result == mb::outcome::passed);
  CHECK(runner.workers_started() == 2);
}

TEST_CASE("maskbench isolate: a checker error is a failed file, and the worker stays") {
  mb::isolated_runner runner(scripted_check);
  auto e = runner.run("error", 5s);
  CHECK(e.result == mb::outcome::failed);
  CHECK(e.detail.find("not a MaskBench file") != std::string::npos);
  CHECK(runner.run("a.json", 5s).result == mb::outcome::passed);
  CHECK(runner.workers_started() == 1);
}

TEST_CASE("maskbench isolate: fresh_each forks a new worker per file") {
  mb::isolated_runner runner(scripted_check, true);
  auto a = runner.run("a.json", 5s);
  auto b = runner.run("b.json", 5s);
  CHECK(a.result == mb::outcome::passed);
  CHECK(b.result == mb::outcome::passed);
  CHECK(a.detail != b.detail);
  CHECK(runner.workers_started() == 2);
}
