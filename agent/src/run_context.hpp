// Per-run machinery of the agent loop: events and the trace, the wall-time
// deadline, the context policy, concurrent tool execution (approval, timeouts,
// retries), plans and checkpoints. One run_context lives for one run() or
// resume() call, on the run's executor; nothing here is shared between runs.
#pragma once

#include "run_state.hpp"

#include <tern/core/clock.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tern::agent {

using stop_info = std::pair<stop_reason, std::string>;

class run_context {
 public:
  run_context(const agent& a, agent::run_state& st, asio::any_io_executor ex);

  double elapsed_ms() const { return st_.prior_wall_ms + sw_.elapsed_ms(); }
  bool wall_exceeded() const;
  void emit(event_kind kind, boost::json::object data);

  // Runs op, cancelled when the wall-time budget runs out: nullopt then, or
  // when op ended by an exception (its text is kept in last_exception()).
  template <class T>
  asio::awaitable<std::optional<T>> with_deadline(asio::awaitable<T> op) {
    using namespace boost::asio::experimental::awaitable_operators;
    last_exception_.clear();
    try {
      if (!deadline_) co_return co_await std::move(op);
      asio::steady_timer timer(ex_, *deadline_);
      auto v = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
      if (v.index() == 0) co_return std::move(std::get<0>(v));
    } catch (const std::exception& e) {
      last_exception_ = e.what();
      if (last_exception_.empty()) last_exception_ = "an exception";
    }
    co_return std::nullopt;
  }
  // Non-empty when the last with_deadline() ended by an exception.
  const std::string& last_exception() const { return last_exception_; }

  // The context policy (docs/agent.md); a stop when nothing more can be dropped.
  std::optional<stop_reason> fit_context();
  std::vector<message> request_messages() const;
  model_request build_request();

  // Runs a turn's calls concurrently; records in call order.
  asio::awaitable<std::vector<tool_call_record>> run_calls(const std::vector<tool_call>& calls);

  // Plan-and-execute.
  asio::awaitable<std::optional<stop_info>> make_plan(std::string note);
  bool check_plan(std::size_t first_new_call);  // true when a plan step failed
  void mark_plan_answered();

  void step_finished(std::size_t n_calls);
  const std::string& checkpoint_failure() const { return checkpoint_failure_; }
  run_result finish(stop_reason reason, std::string error = {}, std::string answer = {});
  run_result finish(const stop_info& s) { return finish(s.first, s.second); }

 private:
  asio::awaitable<void> execute_call(std::shared_ptr<std::vector<tool_call_record>> slots, std::size_t i);
  void save_checkpoint();

  const agent& a_;
  const agent_settings& settings_;
  agent::run_state& st_;
  asio::any_io_executor ex_;
  stopwatch sw_;
  std::optional<mono_clock::time_point> deadline_;
  std::ofstream trace_;
  std::string checkpoint_failure_;
  std::string last_exception_;
};

}  // namespace tern::agent
