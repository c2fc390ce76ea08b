#include <tern/agent/scripted_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace tern::agent {

scripted_model::turn scripted_model::turn::calls(std::vector<tool_call> c, std::string thought,
                                                 std::chrono::milliseconds delay) {
  return {scripted_model::call(std::move(c), std::move(thought)), delay};
}

scripted_model::turn scripted_model::turn::answer(std::string text, std::chrono::milliseconds delay) {
  return {scripted_model::answer(std::move(text)), delay};
}

model_response scripted_model::answer(std::string text) {
  model_response r;
  r.reply = message::assistant(std::move(text));
  r.finish_reason = "stop";
  return r;
}

model_response scripted_model::call(std::vector<tool_call> calls, std::string thought) {
  model_response r;
  r.reply = message::assistant(std::move(thought));
  r.reply.tool_calls = std::move(calls);
  r.finish_reason = "tool_calls";
  return r;
}

scripted_model::scripted_model(std::vector<turn> script) : scripted_model(std::move(script), options{}) {}

scripted_model::scripted_model(std::vector<turn> script, options opts)
    : opts_(std::move(opts)), script_(std::move(script)) {}

void scripted_model::push(turn t) {
  std::lock_guard lock(mu_);
  script_.push_back(std::move(t));
}

std::vector<model_request> scripted_model::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t scripted_model::n_requests() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

std::size_t scripted_model::n_remaining() const {
  std::lock_guard lock(mu_);
  return script_.size() - next_;
}

asio::awaitable<result<model_response>> scripted_model::complete(model_request request) {
  turn t;
  {
    std::lock_guard lock(mu_);
    model_request copy = request;
    copy.stream = {};
    requests_.push_back(std::move(copy));
    if (next_ >= script_.size())
      co_return tern::fail(errc::limit_exceeded,
                           fmt::format("scripted model: script exhausted after {} turns", script_.size()));
    t = script_[next_++];
  }
  if (t.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, t.delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return tern::fail(errc::cancelled, "scripted model: cancelled while waiting");
  }
  model_response r;
  if (auto* fixed = std::get_if<model_response>(&t.body)) {
    r = *fixed;
  } else {
    auto produced = std::get<react_fn>(t.body)(request);
    if (!produced) co_return std::move(produced).error().at("scripted model turn");
    r = std::move(*produced);
  }
  r.reply.role = role::assistant;
  if (r.finish_reason.empty()) r.finish_reason = r.reply.tool_calls.empty() ? "stop" : "tool_calls";
  const bool no_usage = r.usage.prompt_tokens == 0 && r.usage.completion_tokens == 0;
  if (opts_.simulate_usage && no_usage) {
    r.usage.prompt_tokens = count_tokens(request.messages, request.tools);
    std::size_t bytes = r.reply.content.size() + r.reply.reasoning.size();
    for (const auto& c : r.reply.tool_calls) bytes += c.name.size() + boost::json::serialize(c.arguments).size() + 8;
    r.usage.completion_tokens = static_cast<std::int64_t>(bytes / 4 + 1);
  }
  if (request.stream.on_reasoning && !r.reply.reasoning.empty()) request.stream.on_reasoning(r.reply.reasoning);
  if (request.stream.on_token && !r.reply.content.empty()) request.stream.on_token(r.reply.content);
  co_return r;
}

}  // namespace tern::agent
