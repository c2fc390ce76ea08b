// Internals of local_model: the request queue, the engine worker and the
// session cache (local_model_worker.cpp), prompt rendering and the streaming
// splitter (local_model_prompt.cpp). The public side (local_model.cpp) turns a
// request into a job, queues it and resumes the caller when the job is done.
#pragma once

#include <tern/agent/local_model.hpp>
#include <tern/agent/tool_call_parser.hpp>
#include <tern/engine/chat_template.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/tool_calls.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace tern::agent::detail {

// ---- prompt -----------------------------------------------------------------

struct prompt_format {
  std::optional<engine::chat_template> tmpl;
  engine::model_special_tokens special;
  engine::tool_call_format calls = engine::tool_call_format::hermes;
  tool_call_syntax syntax = tool_call_syntax::automatic;
  bool reasoning_model = false;  // the template knows <think>
};

// The template variables for a request: messages (reasoning removed unless
// keep_reasoning), tools in OpenAI function form (absent when empty),
// add_generation_prompt, bos_token, eos_token.
boost::json::object template_variables(const prompt_format& f, const std::vector<message>& messages,
                                       const std::vector<tools::tool_spec>& tools, bool keep_reasoning);

// True when the rendered prompt leaves the model inside an open <think>.
bool prompt_opens_thought(std::string_view prompt);
// True when the generation prompt already holds a closed thought (Qwen3 with
// thinking switched off writes an empty <think></think>).
bool prompt_closes_thought(std::string_view prompt);

// A cache key for the constraint of a request: tools, tool choice, schema.
std::string constraint_key(const model_request& r);

// Splits streamed output into reasoning and answer pieces as it arrives.
// Tags split across pieces are held back until they are complete. Tool-call
// syntax is not streamed: answer text stops at a <tool_call> or
// <|python_tag|> marker, and when tools are offered an answer that starts with
// '{' or '[' (a Llama 3 JSON call, perhaps) is held until the end, where
// finish() releases it if it was not a call.
class stream_splitter {
 public:
  enum class kind { reasoning, answer };
  struct piece {
    kind k;
    std::string text;
  };

  stream_splitter(bool in_thought, bool tools_offered) : in_thought_(in_thought), tools_offered_(tools_offered) {}

  // Adds generated text; returns what can be shown now.
  std::vector<piece> feed(std::string_view text);
  // The generation ended; parsed_content is the parsed answer (tool calls
  // removed). Returns what was held back and is answer or reasoning text.
  std::vector<piece> finish(const std::string& parsed_content, bool has_calls);

 private:
  enum class state { thought, answer_start, answer, calls, withheld };
  void advance(std::vector<piece>& out, bool final);

  std::string buf_;
  std::size_t pos_ = 0;  // bytes of buf_ consumed
  bool in_thought_;
  bool tools_offered_;
  state st_ = state::answer_start;
  bool started_ = false;
  bool answered_ = false;  // some answer text was shown
};

// ---- jobs -------------------------------------------------------------------

// What a job tells its caller, in order: stream pieces, then the outcome.
using job_event = std::variant<stream_splitter::piece, result<model_response>>;

struct job : std::enable_shared_from_this<job> {
  model_request request;
  std::uint64_t serial = 0;                 // arrival order
  std::atomic<bool> cancel_requested{false};
  enum class phase { queued, running, done } where = phase::queued;  // guarded by the queue mutex

  // Delivery back to the caller's executor.
  boost::asio::any_io_executor executor;
  std::optional<boost::asio::executor_work_guard<boost::asio::any_io_executor>> work;
  std::function<void(result<model_response>)> complete;  // the caller's handler
  boost::asio::cancellation_slot slot;
  std::mutex events_mu;
  std::deque<job_event> events;
  bool drain_posted = false;
  bool finished = false;  // the handler has run (set on the caller's executor)

  // Queues an event and makes sure a drain runs on the executor.
  void push(std::shared_ptr<job> self, job_event e);
  void drain();
};

// ---- the model --------------------------------------------------------------

struct cached_session {
  std::unique_ptr<engine::session> s;
  std::uint64_t last_used = 0;
  std::size_t n_prompt = 0;  // tokens of the last prompt it served
};

}  // namespace tern::agent::detail

namespace tern::agent {

struct local_model::impl {
  local_model_options opts;
  std::shared_ptr<const engine::model> model;
  const engine::tokenizer* tok = nullptr;
  detail::prompt_format format;
  std::string name;
  std::int64_t n_ctx = 0;

  // Queue (FIFO by arrival) and worker state.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<detail::job>> queue;
  std::shared_ptr<detail::job> running;
  bool stopping = false;
  std::uint64_t next_serial = 0;
  local_model_stats counters;
  std::thread worker;

  // Only the worker thread touches these.
  std::vector<detail::cached_session> sessions;
  std::uint64_t clock = 0;
  std::shared_ptr<const engine::token_vocabulary> vocabulary;  // built on the first constrained request
  std::map<std::string, std::shared_ptr<const engine::constraint>> constraints;  // by constraint_key

  static result<std::shared_ptr<impl>> create(std::shared_ptr<const engine::model> m, local_model_options o);
  ~impl();

  void start();
  void shutdown();
  // Adds a job; returns false when the model is shutting down.
  bool enqueue(const std::shared_ptr<detail::job>& j);
  // From the caller's cancellation slot: a queued job leaves the queue and
  // completes now; a running one stops at its next token.
  void cancel(const std::shared_ptr<detail::job>& j);

  result<std::string> render(const std::vector<message>& messages, const std::vector<tools::tool_spec>& tools) const;
  std::vector<std::int32_t> tokenize(std::string_view prompt) const;

 private:
  void run();
  void serve(const std::shared_ptr<detail::job>& j);
  result<model_response> generate(detail::job& j);
  engine::session& pick_session(std::span<const std::int32_t> prompt);
  // The grammar for a request's output (tool calls by their schemas, or the
  // response schema); null when the output is free text.
  result<std::shared_ptr<const engine::constraint>> constraint_for(const model_request& r);
};

}  // namespace tern::agent
