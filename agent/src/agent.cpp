// The agent loop. See agent.hpp for the contract and docs/agent.md for the
// policies (budgets, approval, context, checkpoints, trace).
#include "run_state.hpp"
#include "run_context.hpp"

#include <tern/core/clock.hpp>
#include <tern/core/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace tern::agent {

namespace bj = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

std::string fresh_run_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(now_ns())};
  return fmt::format("run-{:016x}", rng());
}

bool is_cancelled(const asio::cancellation_state& cs) { return cs.cancelled() != asio::cancellation_type::none; }

}  // namespace

agent::agent(std::shared_ptr<model> m, std::vector<tools::tool_ptr> tools, agent_settings settings)
    : model_(std::move(m)), tools_(std::move(tools)), settings_(std::move(settings)) {
  for (const auto& t : tools_) specs_.push_back(t->spec());
}

const tools::tool_ptr* agent::find_tool(std::string_view name) const {
  for (const auto& t : tools_)
    if (t->name() == name) return &t;
  return nullptr;
}

tool_policy agent::policy_for(std::string_view tool) const {
  auto it = settings_.policies.find(tool);
  return it == settings_.policies.end() ? settings_.default_policy : it->second;
}

asio::awaitable<run_result> agent::run(std::string task, std::string run_id) const {
  auto st = std::make_shared<run_state>();
  st->run_id = run_id.empty() ? fresh_run_id() : std::move(run_id);
  st->task = std::move(task);
  if (!settings_.instructions.empty()) st->messages.push_back(message::system(settings_.instructions));
  st->messages.push_back(message::user(st->task));
  co_return co_await loop(std::move(st));
}

asio::awaitable<run_result> agent::resume(std::string run_id) const {
  auto fail_result = [&](std::string why) {
    run_result r;
    r.run_id = run_id;
    r.reason = stop_reason::checkpoint_error;
    r.error = std::move(why);
    return r;
  };
  if (!settings_.checkpoints) co_return fail_result("resume needs settings.checkpoints");
  auto text = settings_.checkpoints->load(run_id);
  if (!text) co_return fail_result(text.error().describe());
  auto doc = json::parse(*text);
  if (!doc) co_return fail_result(doc.error().at("checkpoint of " + run_id).describe());
  auto st = state_from_json(*doc);
  if (!st) co_return fail_result(st.error().at("checkpoint of " + run_id).describe());
  st->resumed = true;
  co_return co_await loop(std::make_shared<run_state>(std::move(*st)));
}

// ---- the loop ---------------------------------------------------------------

asio::awaitable<run_result> agent::loop(std::shared_ptr<run_state> st) const {
  co_await asio::this_coro::throw_if_cancelled(false);
  run_context rc(*this, *st, co_await asio::this_coro::executor);
  const auto cs = co_await asio::this_coro::cancellation_state;
  const budgets& lim = settings_.limits;

  rc.emit(event_kind::run_started, bj::object{{"task", st->task},
                                              {"model", model_->name()},
                                              {"mode", settings_.mode == agent_mode::react ? "react" : "plan_and_execute"},
                                              {"resumed", st->resumed},
                                              {"tools", specs_.size()}});

  if (settings_.mode == agent_mode::plan_and_execute && !st->plan) {
    if (auto stop = co_await rc.make_plan(""); stop) co_return rc.finish(*stop);
  }

  for (;;) {
    if (is_cancelled(cs)) co_return rc.finish(stop_reason::cancelled, "cancelled by the caller");
    if (!rc.checkpoint_failure().empty()) co_return rc.finish(stop_reason::checkpoint_error, rc.checkpoint_failure());
    if (lim.max_steps > 0 && st->step >= lim.max_steps)
      co_return rc.finish(stop_reason::max_steps, fmt::format("step budget of {} used", lim.max_steps));
    if (rc.wall_exceeded())
      co_return rc.finish(stop_reason::max_wall_time, fmt::format("wall-time budget of {} ms used", lim.max_wall_time.count()));
    if (lim.max_tokens > 0 && st->usage.prompt_tokens + st->usage.completion_tokens >= lim.max_tokens)
      co_return rc.finish(stop_reason::max_tokens, fmt::format("token budget of {} used", lim.max_tokens));

    // Context policy, then the request.
    if (auto stop = rc.fit_context(); stop) co_return rc.finish(*stop, "the conversation does not fit the model's context");
    model_request req = rc.build_request();

    stopwatch model_sw;
    auto reply = co_await rc.with_deadline(model_->complete(std::move(req)));
    const double model_ms = model_sw.elapsed_ms();
    st->model_ms += model_ms;
    if (is_cancelled(cs)) co_return rc.finish(stop_reason::cancelled, "cancelled by the caller during a model call");
    if (!reply && !rc.last_exception().empty())
      co_return rc.finish(stop_reason::model_error, "the model threw: " + rc.last_exception());
    if (!reply)
      co_return rc.finish(stop_reason::max_wall_time, "wall-time budget ran out during a model call");
    if (!*reply) {
      if (reply->error().code() == errc::cancelled)
        co_return rc.finish(stop_reason::cancelled, reply->error().describe());
      co_return rc.finish(stop_reason::model_error, reply->error().describe());
    }
    model_response resp = std::move(**reply);

    ++st->step;
    st->usage += resp.usage;
    step_record rec;
    rec.index = st->step;
    rec.content = resp.reply.content;
    rec.reasoning = resp.reply.reasoning;
    rec.usage = resp.usage;
    rec.model_ms = model_ms;

    // Ids the model left out are filled in (they must be unique in the run).
    for (std::size_t i = 0; i < resp.reply.tool_calls.size(); ++i)
      if (resp.reply.tool_calls[i].id.empty()) resp.reply.tool_calls[i].id = fmt::format("call_{}_{}", st->step, i + 1);
    for (const auto& c : resp.reply.tool_calls) rec.call_ids.push_back(c.id);

    if (!resp.reply.reasoning.empty() || (!resp.reply.tool_calls.empty() && !resp.reply.content.empty()))
      rc.emit(event_kind::thought, bj::object{{"text", resp.reply.reasoning.empty() ? resp.reply.content : resp.reply.reasoning}});
    st->messages.push_back(resp.reply);

    if (resp.reply.tool_calls.empty()) {
      rc.mark_plan_answered();
      st->steps.push_back(std::move(rec));
      rc.step_finished(0);
      co_return rc.finish(stop_reason::answered, "", resp.reply.content);
    }

    const bool over_tokens =
        lim.max_tokens > 0 && st->usage.prompt_tokens + st->usage.completion_tokens >= lim.max_tokens;
    std::optional<std::pair<stop_reason, std::string>> stop;
    if (over_tokens)
      stop = {stop_reason::max_tokens, fmt::format("token budget of {} used", lim.max_tokens)};
    else if (lim.max_tool_calls > 0 &&
             st->calls.size() + resp.reply.tool_calls.size() > static_cast<std::size_t>(lim.max_tool_calls))
      stop = {stop_reason::max_tool_calls,
              fmt::format("the turn's {} calls would exceed the budget of {} tool calls ({} made)",
                          resp.reply.tool_calls.size(), lim.max_tool_calls, st->calls.size())};
    else {
      std::map<std::string, int, std::less<>> wanted = st->per_tool;
      for (const auto& c : resp.reply.tool_calls) {
        auto it = lim.per_tool.find(c.name);
        if (it != lim.per_tool.end() && it->second > 0 && ++wanted[c.name] > it->second) {
          stop = {stop_reason::tool_call_limit,
                  fmt::format("tool '{}' may be called at most {} times in a run", c.name, it->second)};
          break;
        }
      }
    }
    if (stop) {
      // The calls of this turn were not run: the conversation keeps the turn
      // (a resumed run with a larger budget would run them).
      st->steps.push_back(std::move(rec));
      rc.step_finished(0);
      co_return rc.finish(stop->first, stop->second);
    }

    stopwatch tools_sw;
    auto records = co_await rc.run_calls(resp.reply.tool_calls);
    rec.tools_ms = tools_sw.elapsed_ms();
    st->tool_ms += rec.tools_ms;
    for (auto& r : records) {
      ++st->per_tool[r.call.name];
      st->messages.push_back(message::tool_result(r.call.id, r.call.name, json::serialize(r.observation)));
      st->calls.push_back(std::move(r));
    }
    st->steps.push_back(std::move(rec));
    if (is_cancelled(cs)) {
      rc.step_finished(records.size());
      co_return rc.finish(stop_reason::cancelled, "cancelled by the caller during tool calls");
    }
    if (rc.wall_exceeded()) {
      rc.step_finished(records.size());
      co_return rc.finish(stop_reason::max_wall_time,
                          fmt::format("wall-time budget of {} ms used", lim.max_wall_time.count()));
    }
    const bool failed = rc.check_plan(st->calls.size() - records.size());
    rc.step_finished(records.size());
    if (failed && settings_.mode == agent_mode::plan_and_execute) {
      if (st->replans >= settings_.max_replans)
        co_return rc.finish(stop_reason::plan_failed,
                            fmt::format("a plan step failed after {} re-plans", st->replans));
      ++st->replans;
      if (auto s = co_await rc.make_plan("A step of the previous plan failed; see the tool results above."); s)
        co_return rc.finish(*s);
    }
  }
}

}  // namespace tern::agent
