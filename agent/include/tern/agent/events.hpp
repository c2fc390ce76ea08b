// Typed events of an agent run, delivered to callbacks and written to the trace.
//
// Every event has a kind, the run id, the step it belongs to (0 before the
// first model turn), a time in milliseconds since the run started, and a JSON
// object of kind-specific fields (documented per kind below and in
// docs/agent.md, "Trace format"). to_json() is the trace line.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tern::agent {

enum class event_kind {
  run_started,          // {task, model, mode, resumed}
  token,                // {text}: answer text as the model streams it
  thought,              // {text}: the model's reasoning or the text beside its tool calls
  plan,                 // {plan:{steps:[...]}, revision}
  tool_call_started,    // {call_id, tool, arguments, idempotency_key}
  tool_call_finished,   // {call_id, tool, ok, result|error, latency_ms, attempts, approval}
  step_finished,        // {prompt_tokens, completion_tokens, model_ms, n_tool_calls}
  context_trimmed,      // {dropped:[call ids], tokens_before, tokens_after, limit}
  run_finished,         // {stop_reason, answer, usage, wall_ms, n_steps, n_tool_calls}
};

std::string_view to_string(event_kind k) noexcept;

struct event {
  event_kind kind = event_kind::run_started;
  std::string run_id;
  int step = 0;
  double t_ms = 0;  // since the run (or the resumed run) started
  boost::json::object data;

  // {"t_ms":..,"type":"tool_call_finished","run_id":..,"step":..,...data}
  boost::json::object to_json() const;
};

// Called on the agent's executor, after the loop has moved on (posted), one
// event at a time and in order; must not block.
using event_callback = std::function<void(const event&)>;

}  // namespace tern::agent
