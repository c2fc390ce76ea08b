// `tern trace FILE`: prints an agent run's JSON-lines trace (docs/agent.md,
// "Trace format") as a step table: per model turn, its tokens, model and tool
// time, and each tool call with its outcome and latency; then the totals.
#include "command_registry.hpp"

#include <tern/core/json.hpp>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

namespace bj = boost::json;

struct step_row {
  std::int64_t prompt = 0, completion = 0;
  double model_ms = 0, tools_ms = 0;
  bool finished = false;
  std::vector<std::string> calls;
};

double num(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_number() ? v->to_number<double>() : 0.0;
}
std::string str(const bj::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int run_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "tern trace: {}: cannot open\n", path);
    return 1;
  }
  std::map<std::int64_t, step_row> steps;
  std::vector<std::string> notes;
  bj::object started, finished;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto doc = tern::json::parse(line);
    if (!doc || !doc->is_object()) {
      fmt::print(stderr, "tern trace: {}:{}: {}\n", path, line_no,
                 doc ? "an event must be a JSON object" : doc.error().describe());
      return 1;
    }
    const auto& ev = doc->get_object();
    const std::string type = str(ev, "type");
    const auto* sv = ev.if_contains("step");
    const std::int64_t step = sv && sv->is_int64() ? sv->get_int64() : 0;
    if (type == "run_started") {
      started = ev;
    } else if (type == "run_finished") {
      finished = ev;
    } else if (type == "tool_call_finished") {
      const bool ok = ev.contains("ok") && ev.at("ok").is_bool() && ev.at("ok").get_bool();
      std::string what = ok ? "ok" : "error";
      if (!ok)
        if (const auto* e = ev.if_contains("error"); e && e->is_object())
          if (const auto* inner = e->get_object().if_contains("error"); inner && inner->is_object())
            what = str(inner->get_object(), "kind");
      const std::string approval = str(ev, "approval");
      steps[step].calls.push_back(fmt::format("{} {}{} {:.1f} ms", str(ev, "tool"), what,
                                              approval.empty() ? "" : " (" + approval + ")", num(ev, "latency_ms")));
    } else if (type == "step_finished") {
      auto& s = steps[step];
      s.finished = true;
      s.prompt = static_cast<std::int64_t>(num(ev, "prompt_tokens"));
      s.completion = static_cast<std::int64_t>(num(ev, "completion_tokens"));
      s.model_ms = num(ev, "model_ms");
      s.tools_ms = num(ev, "tools_ms");
    } else if (type == "context_trimmed") {
      const auto* d = ev.if_contains("dropped");
      notes.push_back(fmt::format("step {}: context trimmed, {} tool result(s) dropped ({} -> {} tokens)", step + 1,
                                  d && d->is_array() ? d->get_array().size() : 0, num(ev, "tokens_before"),
                                  num(ev, "tokens_after")));
    } else if (type == "plan") {
      const auto* p = ev.if_contains("plan");
      std::size_t n = 0;
      if (p && p->is_object())
        if (const auto* st = p->get_object().if_contains("steps"); st && st->is_array()) n = st->get_array().size();
      notes.push_back(fmt::format("plan revision {} with {} steps (before step {})", num(ev, "revision"), n, step + 1));
    }
  }
  if (started.empty() && steps.empty()) {
    fmt::print(stderr, "tern trace: {}: no agent events\n", path);
    return 1;
  }
  fmt::print("run {}  model {}  mode {}{}\n", str(started, "run_id"), str(started, "model"), str(started, "mode"),
             started.contains("resumed") && started.at("resumed") == true ? "  (resumed)" : "");
  fmt::print("{:>4} | {:>8} | {:>8} | {:>9} | {:>9} | {}\n", "step", "prompt", "output", "model ms", "tools ms",
             "tool calls");
  fmt::print("{:-<4}-+-{:-<8}-+-{:-<8}-+-{:-<9}-+-{:-<9}-+-{:-<30}\n", "", "", "", "", "", "");
  for (const auto& [n, s] : steps) {
    if (!s.finished && s.calls.empty()) continue;
    std::string calls;
    for (const auto& c : s.calls) calls += (calls.empty() ? "" : ", ") + c;
    fmt::print("{:>4} | {:>8} | {:>8} | {:>9.2f} | {:>9.2f} | {}\n", n, s.prompt, s.completion, s.model_ms,
               s.tools_ms, calls.empty() ? "(answer)" : calls);
  }
  for (const auto& note : notes) fmt::print("note: {}\n", note);
  if (finished.empty()) {
    fmt::print("the run did not finish (no run_finished event: killed, or still running)\n");
    return 0;
  }
  fmt::print("stop: {}{}  steps {}  tool calls {}  tokens {} prompt + {} output  wall {:.1f} ms (model {:.1f}, tools {:.1f})\n",
             str(finished, "stop_reason"), str(finished, "error").empty() ? "" : " (" + str(finished, "error") + ")",
             num(finished, "n_steps"), num(finished, "n_tool_calls"), num(finished, "prompt_tokens"),
             num(finished, "completion_tokens"), num(finished, "wall_ms"), num(finished, "model_ms"),
             num(finished, "tool_ms"));
  return 0;
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto* cmd = app.add_subcommand("trace", "Print an agent run's JSON-lines trace as a step table");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "the trace (settings.trace_path of the run)")->required();
  cmd->callback([&status, path] { status.code = run_trace(*path); });
});

}  // namespace
