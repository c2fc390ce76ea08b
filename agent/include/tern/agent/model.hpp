// The model interface an agent talks to. Three implementations:
//   local_model             the in-process engine (agent/local_model.hpp)
//   openai_compatible_model chat completions over HTTP(S) (agent/openai_model.hpp)
//   scripted_model          replays scripted turns, for tests (agent/scripted_model.hpp)
//
//   tern::agent::model_request req;
//   req.messages = {message::system("You book trips."), message::user("Boston to Rio")};
//   req.tools = registry.specs();
//   auto reply = co_await model.complete(std::move(req));   // result<model_response>
//
// complete() never throws; failures (transport, bad response, context
// overflow, cancellation) come back as a tern::error. It may be called
// concurrently from many agents: each implementation says how it schedules
// them. Cancellation: the per-operation cancellation slot of the awaiting
// coroutine is honoured (e.g. asio::cancel_after, or a cancelled parent).
#pragma once

#include <tern/agent/message.hpp>
#include <tern/core/result.hpp>
#include <tern/tools/tool.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::agent {

namespace asio = boost::asio;

// What the model may do this turn (OpenAI's tool_choice).
struct tool_choice {
  enum class mode { automatic, required, none, named } kind = mode::automatic;
  std::string name;  // for mode::named: the one tool to call
  static tool_choice automatic() { return {}; }
  static tool_choice required() { return {mode::required, {}}; }
  static tool_choice none() { return {mode::none, {}}; }
  static tool_choice named(std::string tool) { return {mode::named, std::move(tool)}; }
};

struct generation_settings {
  std::optional<double> temperature;   // unset: the model's default (greedy for local models)
  std::optional<double> top_p;
  std::optional<std::int64_t> max_tokens;  // unset: the implementation's default
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;
};

// Streaming callbacks; called on the caller's executor, never concurrently for one request.
struct stream_callbacks {
  std::function<void(std::string_view text)> on_token;      // answer text as it arrives
  std::function<void(std::string_view text)> on_reasoning;  // thought text as it arrives
};

struct model_request {
  std::vector<message> messages;
  std::vector<tools::tool_spec> tools;  // what the model may call; empty = none
  tool_choice choice;
  // When set, the answer text (no tools) must be JSON valid against this
  // schema (structured output / plan-and-execute plans).
  std::optional<boost::json::object> response_schema;
  generation_settings settings;
  stream_callbacks stream;
};

struct model_usage {
  std::int64_t prompt_tokens = 0;         // tokens the model read for this turn
  std::int64_t cached_prompt_tokens = 0;  // of which came from a prefix cache (not recomputed)
  std::int64_t completion_tokens = 0;     // tokens it wrote (reasoning included)
  model_usage& operator+=(const model_usage& o) {
    prompt_tokens += o.prompt_tokens;
    cached_prompt_tokens += o.cached_prompt_tokens;
    completion_tokens += o.completion_tokens;
    return *this;
  }
};

struct model_response {
  message reply;                  // role assistant: content and/or tool_calls (+ reasoning)
  model_usage usage;
  std::string finish_reason;      // "stop", "tool_calls", "length", ...
};

class model {
 public:
  virtual ~model() = default;
  virtual asio::awaitable<result<model_response>> complete(model_request request) = 0;
  // A short description for logs and traces ("scripted", "local:qwen2.5-0.5b-q8_0.gguf").
  virtual std::string name() const = 0;
  // Tokens the model can attend to; 0 when unknown. The agent's context
  // policy keeps requests under it.
  virtual std::int64_t context_length() const { return 0; }
  // Tokens the messages (and tools) would take in a prompt; an estimate is
  // fine where the exact count is unknown (remote models). Used by the
  // context policy before each request.
  virtual std::int64_t count_tokens(const std::vector<message>& messages,
                                    const std::vector<tools::tool_spec>& tools) const;
};

}  // namespace tern::agent
