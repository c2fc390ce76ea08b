// The agent: a model, tools, instructions and settings; run() carries out a
// task by calling the model and the tools in a loop until the model answers.
//
//   auto store = *tern::agent::sqlite_checkpoint_store::open("runs.db");
//   tern::agent::agent_settings s;
//   s.instructions = "You book trips within budget.";
//   s.limits.max_steps = 12;
//   s.policies["book_flight"].side_effecting = true;     // needs approval
//   s.approve = [](const approval_request& r) -> asio::awaitable<approval_decision> {
//     co_return approval_decision::approve();
//   };
//   s.checkpoints = store;
//   tern::agent::agent a(model, {search_flights, book_flight}, s);
//   run_result r = co_await a.run("Boston to Rio, 5 nights, 2 adults, 3000 USD");
//   // r.reason == stop_reason::answered, r.answer, r.tool_calls, r.usage ...
//
// The loop (docs/agent.md): build the request (context policy applied) ->
// model.complete (tool_choice auto with the tools) -> run every tool call of
// the turn concurrently -> append the results (errors as structured JSON
// observations) -> repeat until a reply without tool calls or a limit.
//
// run() and resume() never throw and never fail as such: every outcome
// (answer, budget hit, cancellation, model error) is a run_result with a
// stop_reason and what was done so far.
// Cancellation: the awaiting coroutine's cancellation slot (e.g.
// co_spawn(ex, a.run(t), bind_cancellation_slot(signal.slot(), ...)) and
// signal.emit(cancellation_type::terminal)); the model call or tool calls in
// flight are cancelled and the run returns promptly with stop_reason::cancelled.
// Thread safety: an agent is immutable after construction; several runs may
// use one agent at once (each run has its own state). The model and tools are
// shared (shared_ptr) and must allow concurrent use. A run executes on the
// executor of the coroutine that awaits it; tool calls of a turn are spawned
// on that executor.
#pragma once

#include <tern/agent/checkpoint.hpp>
#include <tern/agent/events.hpp>
#include <tern/agent/message.hpp>
#include <tern/agent/model.hpp>
#include <tern/tools/tool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

enum class stop_reason {
  answered,          // the model replied without tool calls
  max_steps,         // budgets::max_steps model turns were used
  max_tool_calls,    // the next turn's calls would exceed budgets::max_tool_calls
  max_tokens,        // prompt + completion tokens reached budgets::max_tokens
  max_wall_time,     // budgets::max_wall_time passed (the work in flight was cancelled)
  tool_call_limit,   // a tool was called more often than its per-tool limit allows
  cancelled,         // the caller cancelled the run
  context_overflow,  // even with every old tool result dropped the request does not fit
  model_error,       // the model failed (transport, bad output, script exhausted)
  plan_failed,       // plan-and-execute: no valid plan, or re-plans exhausted
  checkpoint_error,  // the checkpoint store failed (or resume found nothing)
};
std::string_view to_string(stop_reason r) noexcept;

// Zero (or an absent entry) means "no limit".
struct budgets {
  int max_steps = 20;                        // model turns
  int max_tool_calls = 64;                   // over the whole run
  std::int64_t max_tokens = 0;               // prompt + completion, over the whole run
  std::chrono::milliseconds max_wall_time{0};
  std::map<std::string, int, std::less<>> per_tool;  // tool name -> most calls in a run
};

// How the agent treats one tool.
struct tool_policy {
  bool side_effecting = false;               // books, pays, writes: needs approval (when a callback is set)
  std::chrono::milliseconds timeout{0};      // per attempt; zero = none beyond the tool's own
  int max_attempts = 1;                      // retries of retryable errors = max_attempts - 1
  std::chrono::milliseconds retry_base_delay{50};  // backoff: base * 2^(attempt-1)
};

struct approval_request {
  std::string run_id;
  int step = 0;
  tool_call call;  // the call as the model made it
};

struct approval_decision {
  enum class verdict { approve, reject, edit } kind = verdict::approve;
  std::string reason;               // reject: what the model is told
  boost::json::object arguments;    // edit: the arguments to use instead
  static approval_decision approve() { return {}; }
  static approval_decision reject(std::string why) { return {verdict::reject, std::move(why), {}}; }
  static approval_decision edit(boost::json::object args) { return {verdict::edit, {}, std::move(args)}; }
};

// Awaited on the run's executor; the run waits for it (it counts against the wall-time budget).
using approval_fn = std::function<asio::awaitable<approval_decision>(const approval_request&)>;

enum class agent_mode { react, plan_and_execute };

struct plan_step {
  int id = 0;
  std::string description;
  std::string tool;              // the tool this step expects to call; empty for a reasoning/answer step
  std::string status = "pending";  // pending, done, failed
};

struct plan {
  std::vector<plan_step> steps;
  int revision = 0;  // 0 for the first plan, +1 per re-plan
  boost::json::object to_json() const;
  // Reads {"steps":[{"id"?,"description","tool"?,"status"?}]}; errors name the JSON pointer.
  static result<plan> from_json(const boost::json::value& v);
  // The JSON Schema sent as response_schema when asking for a plan.
  static boost::json::object schema();
};

struct tool_call_record {
  int step = 0;
  tool_call call;                       // arguments as executed (after an approval edit)
  boost::json::object original_arguments;  // as the model wrote them (differs after an edit)
  bool ok = false;
  boost::json::value result;            // the tool's JSON result when ok
  std::optional<tools::tool_error> error;  // when !ok
  boost::json::value observation;       // what the model was shown (capped)
  std::string approval;                 // "", "approved", "rejected", "edited"
  std::string idempotency_key;
  int attempts = 0;
  double started_ms = 0;                // since the run started
  double latency_ms = 0;
  boost::json::object to_json() const;
};

struct step_record {
  int index = 0;                        // 1-based model turn
  std::string content;                  // the reply text (answer or the text beside calls)
  std::string reasoning;
  std::vector<std::string> call_ids;
  model_usage usage;
  double model_ms = 0;
  double tools_ms = 0;
  boost::json::object to_json() const;
};

struct run_result {
  std::string run_id;
  stop_reason reason = stop_reason::answered;
  std::string answer;                   // the final answer (empty unless answered)
  std::string error;                    // what went wrong, for the non-answer reasons
  std::vector<step_record> steps;
  std::vector<tool_call_record> tool_calls;
  std::optional<tern::agent::plan> plan;
  model_usage usage;
  std::int64_t total_tokens() const { return usage.prompt_tokens + usage.completion_tokens; }
  double wall_ms = 0;                   // this run (for a resumed run: both parts together)
  double model_ms = 0;
  double tool_ms = 0;                   // sum over turns of the longest call
  std::vector<message> messages;        // the conversation as it stands
  boost::json::object to_json() const;
};

struct agent_settings {
  std::string instructions;             // the system message
  agent_mode mode = agent_mode::react;
  budgets limits;
  std::map<std::string, tool_policy, std::less<>> policies;  // per tool name
  tool_policy default_policy;
  approval_fn approve;                  // unset: side-effecting calls run unasked
  generation_settings generation;
  // What the model may do each turn (OpenAI's tool_choice). With
  // reset_tool_choice (as in the OpenAI Agents SDK), turns after the run's
  // first tool call go back to automatic, so `required` cannot loop forever.
  tool_choice choice = tool_choice::automatic();
  bool reset_tool_choice = true;
  event_callback on_event;
  std::shared_ptr<checkpoint_store> checkpoints;  // unset: no checkpoints (resume impossible)
  std::string trace_path;               // a JSON-lines trace per run: "{run_id}" is replaced; empty = none
  std::size_t max_tool_result_bytes = 16 * 1024;  // larger observations are capped (marked, never silently)
  bool feed_back_reasoning = false;     // earlier turns' reasoning is not sent again by default
  // Context policy (docs/agent.md): when a request would take more than
  // context_high_water of (context_length - reserve) tokens, the oldest tool
  // results are replaced by stubs until it takes at most context_low_water.
  double context_high_water = 0.9;
  double context_low_water = 0.6;
  std::int64_t context_reserve_tokens = 512;  // kept free for the reply (or generation.max_tokens)
  int max_replans = 2;                  // plan-and-execute
};

class agent {
 public:
  agent(std::shared_ptr<model> m, std::vector<tools::tool_ptr> tools, agent_settings settings);

  // Runs a task. run_id: empty picks a fresh random one (used for the trace,
  // checkpoints and idempotency keys).
  asio::awaitable<run_result> run(std::string task, std::string run_id = {}) const;
  // Continues a run from its last checkpoint (settings.checkpoints). Tool
  // calls of completed steps are not repeated; a step cut short is run again
  // with the same idempotency keys. A run with no checkpoint stops with
  // checkpoint_error.
  asio::awaitable<run_result> resume(std::string run_id) const;

  const agent_settings& settings() const noexcept { return settings_; }
  tern::agent::model& get_model() const noexcept { return *model_; }
  const std::vector<tools::tool_spec>& specs() const noexcept { return specs_; }
  const std::vector<tools::tool_ptr>& tools() const noexcept { return tools_; }
  const tools::tool_ptr* find_tool(std::string_view name) const;
  tool_policy policy_for(std::string_view tool) const;

  struct run_state;

 private:
  asio::awaitable<run_result> loop(std::shared_ptr<run_state> st) const;

  std::shared_ptr<model> model_;
  std::vector<tools::tool_ptr> tools_;
  std::vector<tools::tool_spec> specs_;
  agent_settings settings_;
};

}  // namespace tern::agent
