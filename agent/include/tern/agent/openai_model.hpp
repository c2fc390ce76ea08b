// openai_compatible_model: a model behind an OpenAI-compatible chat
// completions endpoint (vLLM, SGLang, llama.cpp's server, Ollama, a hosted API).
//
//   tern::agent::openai_model_options o;
//   o.base_url = "http://127.0.0.1:8000";    // or "https://api.example.com/v1"
//   o.model = "qwen2.5-7b-instruct";
//   o.api_key_env = "OPENAI_API_KEY";         // the variable's name, never the key
//   tern::agent::openai_compatible_model m(o);
//   auto reply = co_await m.complete(std::move(request));
//
// Wire: POST {base_url}/v1/chat/completions (just /chat/completions when
// base_url already ends in /v1) with model, messages (tool-call arguments as
// JSON strings), tools (OpenAI function format), tool_choice, temperature,
// top_p, max_tokens, seed, stop and response_format json_schema. Streamed
// (stream: true, server-sent events, usage via stream_options.include_usage)
// or not; streamed text reaches request.stream.on_token / on_reasoning as it
// arrives, tool-call deltas are assembled by index.
//
// Connections (HTTP/1.1; HTTPS with certificate and host-name verification
// against the system store plus an optional CA file) are kept alive and
// reused: after a complete response the connection is parked, and the next
// request from a coroutine on the same executor takes it instead of
// connecting (and handshaking) again. Concurrent requests each get their own
// connection. At most max_idle_connections stay parked per execution
// context (the oldest goes first), each for at most idle_timeout; one the
// server has closed meanwhile is noticed before use and dropped, and a
// reused connection that fails before any response byte is retried once on
// a new connection (the server never read that request).
// max_idle_connections = 0 gives one connection per request.
// Parked connections belong to the execution context they were opened on
// and are closed when it shuts down, so the model and the io_context may be
// destroyed in either order.
// Every step has a deadline: connect (resolve, TCP, TLS), each read (a silent
// server fails after read_timeout) and the whole request (total_timeout).
// Responses larger than max_response_bytes are refused.
// 429, 500, 502, 503 and 504 are retried up to max_attempts in all, honouring
// Retry-After (seconds) up to max_retry_after, else exponential backoff.
//
// Errors (tern::error): http_status ("HTTP 401: <the server's message>"),
// bad_response (malformed JSON or SSE chunk, named with its position),
// timeout, transport (DNS, connect, reset, TLS), limit_exceeded (size),
// cancelled (the awaiting coroutine's cancellation slot fired),
// invalid_argument (bad base_url, API key variable not set).
//
// Thread safety: complete(), connection_stats() and close_idle() may be
// called concurrently from any threads and coroutines on any executors; the
// pool is the only shared mutable state and is locked. The API key is read from
// the environment at construction and never logged or put in an error.
#pragma once

#include <tern/agent/model.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tern::agent {

struct openai_model_options {
  std::string base_url;       // scheme://host[:port][/prefix]; http or https
  std::string model;          // the "model" field sent
  std::string api_key_env;    // name of the environment variable holding the key; empty = no auth
  bool stream = true;         // server-sent events; false = one JSON response
  std::int64_t context_length = 0;  // reported by context_length(); 0 = unknown
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{60000};
  std::chrono::milliseconds total_timeout{600000};
  std::size_t max_response_bytes = 16u << 20;
  int max_attempts = 3;                           // 1 = no retries
  std::chrono::milliseconds retry_base_delay{500};
  std::chrono::milliseconds max_retry_after{30000};  // a longer Retry-After returns the error
  std::string ca_file;                            // extra trusted CA (PEM)
  bool verify_peer = true;                        // false only for tests against self-signed servers
  std::size_t max_idle_connections = 8;           // parked per execution context; 0 = no keep-alive
  std::chrono::milliseconds idle_timeout{30000};  // a parked connection older than this is closed
};

// Connection counters since construction (for tests, benchmarks, monitoring).
struct openai_connection_stats {
  std::uint64_t n_connects = 0;        // new connections (TCP connect, plus TLS handshake for https)
  std::uint64_t n_reused = 0;          // requests sent on a parked connection
  std::uint64_t n_stale_retries = 0;   // reused connections found closed and retried on a new one
  std::size_t n_idle = 0;              // connections parked now
};

class openai_compatible_model final : public model {
 public:
  explicit openai_compatible_model(openai_model_options options);
  ~openai_compatible_model() override;

  // Runs on the awaiting coroutine's executor (all I/O is asynchronous).
  asio::awaitable<result<model_response>> complete(model_request request) override;
  std::string name() const override;  // "openai:<model>"
  std::int64_t context_length() const override;

  openai_connection_stats connection_stats() const;
  // Closes the parked connections (those in use finish their request first).
  void close_idle();

  // The JSON body complete() would send (for tests and debugging).
  boost::json::object request_body(const model_request& request) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tern::agent
