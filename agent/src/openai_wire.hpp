// Internals of openai_compatible_model that need no socket: the request body,
// the non-streamed response, and the server-sent-event stream assembler.
#pragma once

#include <tern/agent/model.hpp>

#include <map>
#include <string>
#include <string_view>

namespace tern::agent::detail {

boost::json::object openai_request_body(const model_request& request, const std::string& model_name, bool stream);

// Parses a chat.completion object (non-streamed body).
result<model_response> parse_openai_completion(std::string_view body);

// "HTTP 401: <message>" from an error body ({"error":{"message":..}} or text).
std::string openai_error_message(int status, std::string_view body);

// Feeds bytes of a text/event-stream body; assembles chat.completion.chunk
// deltas (content, reasoning, tool calls by index, finish reason, usage).
class sse_assembler {
 public:
  explicit sse_assembler(const stream_callbacks* callbacks) : callbacks_(callbacks) {}
  // Bytes as they arrive, split anywhere. Errors name the event's number.
  result<void> feed(std::string_view bytes);
  // At the end of the body: flushes a last unterminated event, builds the reply.
  result<model_response> finish();
  bool done() const noexcept { return done_; }

 private:
  result<void> line(std::string_view l);
  result<void> dispatch();
  result<void> chunk(std::string_view data);

  struct partial_call {
    std::string id, name, arguments;
  };
  const stream_callbacks* callbacks_;
  std::string pending_;   // an incomplete line
  std::string data_;      // data lines of the current event
  bool has_data_ = false;
  bool done_ = false;     // saw [DONE]
  std::size_t n_events_ = 0;
  std::string content_, reasoning_, finish_reason_;
  std::map<std::int64_t, partial_call> calls_;
  model_usage usage_;
  bool saw_chunk_ = false;
};

}  // namespace tern::agent::detail
