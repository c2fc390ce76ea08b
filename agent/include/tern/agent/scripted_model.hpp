// scripted_model: a model that replays a script of turns, for deterministic
// tests of the agent loop (and the scripted travel demo).
//
//   tern::agent::scripted_model m({
//       scripted_model::turn::calls({{"c1", "search_flights", {{"from", "BOS"}}}}),
//       scripted_model::turn::react([](const model_request& req) -> result<model_response> {
//         // look at req.messages.back() (the tool result) and decide
//         return scripted_model::answer("Booked.");
//       }),
//   });
//   auto reply = co_await m.complete(std::move(request));
//
// Each complete() consumes the next turn. A turn is a fixed model_response or
// a function of the request (so a script can react to tool results). Every
// request is recorded (stream callbacks dropped) so tests can assert what the
// model saw. When the script runs out, complete() fails with
// errc::limit_exceeded ("script exhausted after N turns"), never loops.
// Usage: a response whose usage is all zero gets simulated usage
// (prompt_tokens = count_tokens(request), completion_tokens from the reply's
// size) unless options.simulate_usage is false. A turn may have a delay,
// waited on an Asio timer that honours cancellation (errc::cancelled).
// Streaming: the reply's content is delivered to stream.on_token (and its
// reasoning to on_reasoning) before complete() returns.
//
// Thread safety: complete() may be called from several coroutines; the
// script position and the recorded requests are guarded by a mutex.
#pragma once

#include <tern/agent/model.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace tern::agent {

class scripted_model final : public model {
 public:
  using react_fn = std::function<result<model_response>(const model_request&)>;

  struct turn {
    std::variant<model_response, react_fn> body;
    std::chrono::milliseconds delay{0};  // waited before answering (cancellable)

    static turn reply(model_response r, std::chrono::milliseconds delay = {}) { return {std::move(r), delay}; }
    static turn react(react_fn fn, std::chrono::milliseconds delay = {}) { return {std::move(fn), delay}; }
    static turn calls(std::vector<tool_call> calls, std::string thought = {}, std::chrono::milliseconds delay = {});
    static turn answer(std::string text, std::chrono::milliseconds delay = {});
  };

  struct options {
    std::string name = "scripted";
    std::int64_t context_length = 0;  // 0: unknown (no context policy)
    bool simulate_usage = true;
  };

  explicit scripted_model(std::vector<turn> script);
  scripted_model(std::vector<turn> script, options opts);

  asio::awaitable<result<model_response>> complete(model_request request) override;
  std::string name() const override { return opts_.name; }
  std::int64_t context_length() const override { return opts_.context_length; }

  // Appends turns (e.g. a test extending the script as it goes).
  void push(turn t);
  // Copies of every request received, in order (stream callbacks cleared).
  std::vector<model_request> requests() const;
  std::size_t n_requests() const;
  std::size_t n_remaining() const;

  // Building blocks for turns.
  static model_response answer(std::string text);
  static model_response call(std::vector<tool_call> calls, std::string thought = {});

 private:
  options opts_;
  mutable std::mutex mu_;
  std::vector<turn> script_;
  std::size_t next_ = 0;
  std::vector<model_request> requests_;
};

}  // namespace tern::agent
