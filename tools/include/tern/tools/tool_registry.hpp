// ToolRegistry: the tools an agent may call, by name.
//
//   tern::tools::tool_registry reg;
//   TERN_CHECK(reg.add(std::move(tool)));
//   boost::json::array for_prompt = reg.openai_tools_json();
//   auto outcomes = co_await reg.invoke_all(calls, 8);   // one outcome per call, in call order
//
// Every call is bounded: invoke() enforces the context's timeout (or the
// registry's default) around any tool, so a tool that never answers ends as a
// "timeout" tool_error instead of hanging the agent.
//
// Thread safety: add/remove must not run concurrently with anything else;
// find/list/invoke are const and may run concurrently with each other.
#pragma once

#include <tern/core/result.hpp>
#include <tern/tools/tool.hpp>

#include <boost/json/array.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::tools {

// One call a model asked for.
struct tool_call {
  tool_call() = default;  // not an aggregate: see http_request
  tool_call(std::string id_, std::string name_, boost::json::value arguments_)
      : id(std::move(id_)), name(std::move(name_)), arguments(std::move(arguments_)) {}
  std::string id;  // the model's call id, passed on as invoke_context::call_id
  std::string name;
  boost::json::value arguments;
};

class tool_registry {
 public:
  // default_timeout bounds calls whose context gives none (0 = unbounded).
  explicit tool_registry(std::chrono::milliseconds default_timeout = std::chrono::milliseconds(60000));

  // Errors: invalid_argument when a tool of that name is already registered.
  result<void> add(tool_ptr t);
  // Adds or replaces by name.
  void add_or_replace(tool_ptr t);
  bool remove(std::string_view name);

  // nullptr when absent.
  tool_ptr find(std::string_view name) const;
  // In registration order (stable prompts).
  const std::vector<tool_ptr>& list() const noexcept { return tools_; }
  std::size_t size() const noexcept { return tools_.size(); }

  // [{"name","description","parameters"}...]
  boost::json::array specs_json() const;
  // [{"type":"function","function":{...}}...], the OpenAI "tools" field.
  boost::json::array openai_tools_json() const;

  // Calls one tool. An unknown name is a not_found tool_error that lists the
  // known names; a call running past its timeout is a retryable timeout error.
  asio::awaitable<tool_outcome> invoke(std::string_view name, boost::json::value args, invoke_context ctx = {}) const;

  // Runs the calls with at most max_concurrency in flight (0 = 1), on the
  // caller's executor; outcomes in the order of `calls`. Cancelling the
  // awaiting coroutine cancels the calls in flight (they end as "cancelled").
  asio::awaitable<std::vector<tool_outcome>> invoke_all(std::vector<tool_call> calls, std::size_t max_concurrency = 8,
                                                        std::chrono::milliseconds per_call_timeout = std::chrono::milliseconds(0)) const;

 private:
  std::chrono::milliseconds default_timeout_;
  std::vector<tool_ptr> tools_;
};

}  // namespace tern::tools
