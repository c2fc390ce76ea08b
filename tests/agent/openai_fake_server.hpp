// A fake OpenAI-compatible server for the openai_compatible_model tests: the
// shared loopback server (tests/support, a real Beast server on its own
// thread and an ephemeral 127.0.0.1 port, plain or TLS) answering each
// request with the next scripted reply, written as raw bytes. A reply closes
// its connection unless made keep_alive(); with no reply left the server
// closes the connection.
#pragma once

#include "loopback_server.hpp"

#include <tern/agent/openai_model.hpp>
#include <tern/core/json.hpp>

#include <boost/asio.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tern::test {

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;

struct received_request {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case names
  int connection = 0;                           // the server's connection index it came on
  bj::object json() const { return tern::json::parse(body).value().as_object(); }
};

// One scripted answer: raw byte pieces written in order (gap between them),
// or a stall (reads the request, then says nothing).
struct scripted_reply {
  std::vector<std::string> pieces;
  std::chrono::milliseconds gap{0};
  bool stall = false;
  bool close = true;  // close the connection after the reply
};

inline std::string raw_response(int status, std::string_view content_type, std::string_view body,
                                std::string_view extra_headers = "") {
  return fmt::format("HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
                     status, content_type, body.size(), extra_headers, body);
}

inline scripted_reply json_reply(int status, const bj::value& body, std::string_view extra_headers = "") {
  return {{raw_response(status, "application/json", bj::serialize(body), extra_headers)}};
}

// Server-sent events, one piece per event; chunked: HTTP chunked framing,
// else the body ends when the connection closes.
inline scripted_reply sse_reply(const std::vector<std::string>& data, bool chunked = false) {
  scripted_reply r;
  r.pieces.push_back(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{}Connection: close\r\n\r\n",
                                 chunked ? "Transfer-Encoding: chunked\r\n" : ""));
  for (const auto& d : data) {
    std::string event = "data: " + d + "\n\n";
    r.pieces.push_back(chunked ? fmt::format("{:x}\r\n{}\r\n", event.size(), event) : event);
  }
  if (chunked) r.pieces.push_back("0\r\n\r\n");
  return r;
}

// The same reply without "Connection: close", the connection left open
// (the reply must frame its body: Content-Length or chunked).
inline scripted_reply keep_alive(scripted_reply r) {
  auto& head = r.pieces.front();
  if (auto at = head.find("Connection: close\r\n"); at != std::string::npos) head.erase(at, 19);
  r.close = false;
  return r;
}

inline std::string chunk_json(const bj::object& delta, std::string_view finish = "") {
  bj::object choice{{"index", 0}, {"delta", delta}};
  choice["finish_reason"] = finish.empty() ? bj::value(nullptr) : bj::value(bj::string(finish));
  return bj::serialize(bj::object{{"object", "chat.completion.chunk"}, {"choices", bj::array{choice}}});
}

inline bj::object completion(const bj::object& msg, std::string_view finish = "stop") {
  return bj::object{{"id", "cmpl-1"},
                    {"object", "chat.completion"},
                    {"choices", bj::array{bj::object{{"index", 0}, {"message", msg}, {"finish_reason", finish}}}},
                    {"usage", bj::object{{"prompt_tokens", 12},
                                         {"completion_tokens", 3},
                                         {"total_tokens", 15},
                                         {"prompt_tokens_details", bj::object{{"cached_tokens", 8}}}}}};
}

inline scripted_reply answer_reply(std::string_view text) {
  return json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", text}}));
}

class fake_server {
 public:
  explicit fake_server(std::optional<tls_identity> tls = std::nullopt)
      : server_([this](server_connection& c) { return serve(c); }, std::move(tls)) {}

  unsigned short port() const { return server_.port(); }
  std::string base_url() const { return server_.url(""); }
  int n_connections() const { return server_.n_connections(); }
  void script(scripted_reply r) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(r));
  }
  // What the server has read so far, in order (a copy: the server runs on its own thread).
  std::vector<received_request> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  asio::awaitable<void> serve(server_connection& c) {
    while (auto req = co_await c.read_request()) {
      received_request rec{req->method, req->target, req->body, {}, c.index()};
      for (const auto& [k, v] : req->headers) {
        std::string name = k;
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        rec.headers[name] = v;
      }
      std::optional<scripted_reply> reply;
      {
        std::lock_guard lock(mutex_);
        received_.push_back(std::move(rec));
        if (!script_.empty()) {
          reply = std::move(script_.front());
          script_.pop_front();
        }
      }
      if (!reply) co_return;
      if (reply->stall) {
        co_await c.sleep(30s);
        co_return;
      }
      for (const auto& piece : reply->pieces) {
        if (!co_await c.write_raw(piece)) co_return;
        if (reply->gap.count()) co_await c.sleep(reply->gap);
      }
      if (reply->close) co_return;  // the connection closes with the handler
    }
  }

  mutable std::mutex mutex_;
  std::deque<scripted_reply> script_;
  std::vector<received_request> received_;
  loopback_server server_;  // last: its thread starts after, and stops before, the members above
};

// Runs one complete() to its end on io (the server runs on its own thread).
inline result<agent::model_response> run_complete(asio::io_context& io, agent::model& m, agent::model_request req,
                                                  std::chrono::milliseconds cancel_after = 0ms) {
  std::optional<result<agent::model_response>> out;
  asio::cancellation_signal signal;
  asio::steady_timer canceller(io);
  auto body = [&]() -> asio::awaitable<void> { out.emplace(co_await m.complete(std::move(req))); };
  std::exception_ptr failure;
  asio::co_spawn(io, body(), asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) {
                   failure = e;
                   io.stop();
                 }));
  if (cancel_after.count()) {
    canceller.expires_after(cancel_after);
    canceller.async_wait([&](boost::system::error_code ec) {
      if (!ec) signal.emit(asio::cancellation_type::terminal);
    });
  }
  io.run();
  io.restart();
  REQUIRE(!failure);
  REQUIRE(out.has_value());
  return std::move(*out);
}

inline agent::openai_model_options options_for(const fake_server& s) {
  agent::openai_model_options o;
  o.base_url = s.base_url();
  o.model = "fake-model";
  o.stream = false;
  o.read_timeout = 2s;
  o.total_timeout = 10s;
  o.retry_base_delay = 1ms;
  return o;
}

inline agent::model_request travel_request() {
  agent::model_request req;
  req.messages = {agent::message::system("You book trips."), agent::message::user("Boston to Rio, 2 adults")};
  tools::tool_spec spec;
  spec.name = "search_flights";
  spec.description = "Search flights";
  spec.parameters = bj::object{{"type", "object"}, {"properties", bj::object{{"from", bj::object{{"type", "string"}}}}}};
  req.tools.push_back(spec);
  return req;
}

}  // namespace tern::test
