// local_model: the in-process engine behind the agent model interface.
//
//   tern::agent::local_model_options o;
//   o.path = "qwen2.5-0.5b-instruct-q8_0.gguf";
//   TERN_TRY(auto m, tern::agent::local_model::open(o));   // shared_ptr<local_model>
//   tern::agent::agent a(m, tools, "You book trips.");      // many agents may share m
//   auto reply = co_await m->complete(std::move(request));
//
// Scheduling: one engine worker thread per local_model runs requests one at a
// time from a FIFO queue (first come, first served, per request): a request
// that arrives while another is generating waits for it and for every request
// queued before it. complete() never blocks the caller's executor; it enqueues
// and suspends, and resumes on the awaiting coroutine's executor.
//
// Prefix reuse: the model keeps up to max_sessions engine sessions (KV
// caches). A request goes to the session whose tokens share the longest prefix
// with its prompt (else the least recently used one); only the rest of the
// prompt is evaluated, so an agent's next step costs what the step adds.
// usage.prompt_tokens is the whole prompt, usage.cached_prompt_tokens the part
// that was reused.
//
// Prompt: the messages and tools rendered by the chat template (the GGUF's
// tokenizer.chat_template, or options.chat_template), with
// add_generation_prompt; earlier assistant turns' reasoning is not rendered.
// Output: parsed by parse_model_output (Hermes <tool_call> blocks, Llama 3
// JSON calls, <think> reasoning); tool calls are constrained by the engine's
// tool-call grammar and JSON answers by request.response_schema when the
// engine provides them (constrain_tool_calls).
//
// Streaming: request.stream.on_token / on_reasoning receive pieces on the
// awaiting coroutine's executor, in order, never concurrently, all before
// complete() returns.
//
// Cancellation: the awaiting coroutine's cancellation slot. A queued request
// is removed from the queue; a running one stops at the next token; either
// way complete() returns errc::cancelled.
//
// Errors (tern::error): the engine's model-file errors (open, from_engine);
// invalid_argument for bad options or settings (temperature < 0, top_p outside
// (0, 1], max_tokens < 1) or a template that fails to render (its line:column);
// limit_exceeded with a message starting "context overflow" when the prompt
// plus one generated token does not fit context_length(); cancelled.
//
// Thread safety: all member functions may be called from any thread; the
// engine worker is the only thread that touches the sessions. The destructor
// cancels queued requests and joins the worker after the running one stops.
#pragma once

#include <tern/agent/model.hpp>
#include <tern/core/result.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tern::engine {
class model;
}

namespace tern::agent {

struct local_model_options {
  std::filesystem::path path;                 // GGUF file (open() only)
  std::int64_t context_length = 0;            // tokens per session; 0: min(the model's, 8192)
  int threads = 0;                            // engine threads; 0: hardware concurrency (open() only)
  std::size_t max_sessions = 4;               // KV caches kept for prefix reuse (LRU); >= 1
  std::string chat_template;                  // Jinja source overriding the GGUF's; empty: the file's
  std::optional<int> max_thinking_tokens;     // reasoning models: thought budget (budget forcing)
  std::int64_t default_max_tokens = 1024;     // when the request sets no max_tokens
  bool constrain_tool_calls = true;           // grammar-constrained tool calls (engine tool_calls.hpp)
  int max_parallel_calls = 3;                 // constrained tool calls per turn, >= 1
  bool feed_back_reasoning = false;           // render assistant messages' reasoning (else dropped)
  std::string name;                           // name() override; empty: "local:<file name>"
};

// Counters since construction (for tests, benchmarks and metrics).
struct local_model_stats {
  std::int64_t n_requests = 0;           // completed (any outcome) by the worker
  std::int64_t n_cancelled = 0;          // removed from the queue or stopped while running
  std::int64_t n_prompt_tokens = 0;      // summed usage.prompt_tokens
  std::int64_t n_prompt_evaluated = 0;   // of which evaluated (not reused from a session)
  std::int64_t n_generated = 0;
  std::size_t queue_depth = 0;           // waiting now
  std::size_t n_sessions = 0;            // KV caches allocated now
};

class local_model final : public model {
 public:
  // Loads the GGUF file at options.path. Errors: the engine's (file, key or
  // tensor named), invalid_argument for bad options or a model without a
  // tokenizer or chat template (when options.chat_template is empty).
  static result<std::shared_ptr<local_model>> open(local_model_options options);
  // Serves an already loaded model (shared with other users; options.path and
  // threads are ignored, except that path's file name is used for name()).
  static result<std::shared_ptr<local_model>> from_engine(std::shared_ptr<const engine::model> m,
                                                          local_model_options options);

  ~local_model() override;
  local_model(const local_model&) = delete;
  local_model& operator=(const local_model&) = delete;

  asio::awaitable<result<model_response>> complete(model_request request) override;
  std::string name() const override;              // "local:<file name>"
  std::int64_t context_length() const override;
  // Exact: renders the messages and tools with the chat template (with the
  // generation prompt) and tokenizes. When the template fails to render, the
  // base class's estimate (complete() then reports the template's error).
  std::int64_t count_tokens(const std::vector<message>& messages,
                            const std::vector<tools::tool_spec>& tools) const override;

  // The prompt text complete() would evaluate for these messages and tools.
  result<std::string> render_prompt(const std::vector<message>& messages,
                                    const std::vector<tools::tool_spec>& tools) const;

  local_model_stats stats() const;
  const engine::model& engine_model() const noexcept;

  struct impl;

 private:
  explicit local_model(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

}  // namespace tern::agent
