// The travel booking run with openai_compatible_model: a fake OpenAI-compatible
// server (real Beast, loopback) answers each chat completion by asking the
// scripted booking model and streaming its reply back as server-sent events,
// so every request and reply crosses the wire (messages, tool calls with
// string arguments, tool results, usage). Checks what the travel API stored.
#include "travel_env.hpp"

#include <tern/agent/openai_model.hpp>
#include <tern/travel/booking_script.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

using namespace tern;
using namespace tern::test;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string sse(const bj::value& v) { return "data: " + bj::serialize(v) + "\n\n"; }

bj::object delta_chunk(bj::object delta, std::string_view finish = "") {
  bj::object choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish.empty() ? bj::value(nullptr) : bj::value(bj::string(finish));
  return {{"object", "chat.completion.chunk"}, {"choices", bj::array{std::move(choice)}}};
}

// The scripted model behind an OpenAI-compatible wire.
class scripted_openai_server {
 public:
  scripted_openai_server(asio::io_context& io, std::shared_ptr<agent::scripted_model> m)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), model_(std::move(m)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }
  std::string base_url() const { return fmt::format("http://127.0.0.1:{}/v1", acceptor_.local_endpoint().port()); }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }
  int n_requests = 0;
  std::vector<bj::object> bodies;

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto r = co_await http::async_read(socket, buffer, req, asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(r)) co_return;
    ++n_requests;
    auto parsed = json::parse(req.body());
    REQUIRE(parsed);
    bodies.push_back(parsed->as_object());
    const auto& body = bodies.back();
    agent::model_request mr;
    for (const auto& mv : body.at("messages").as_array()) {
      auto m = agent::message::from_json(mv);
      REQUIRE(m);
      mr.messages.push_back(std::move(*m));
    }
    if (const auto* tools = body.if_contains("tools"))
      for (const auto& tv : tools->as_array()) {
        const auto& fn = tv.at("function").as_object();
        tools::tool_spec spec;
        spec.name = fn.at("name").as_string();
        spec.description = fn.at("description").as_string();
        spec.parameters = fn.at("parameters").as_object();
        mr.tools.push_back(std::move(spec));
      }
    auto reply = co_await model_->complete(std::move(mr));
    std::string out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
    if (!reply) {
      out += sse(bj::object{{"error", bj::object{{"message", reply.error().describe()}}}});
    } else {
      const auto& msg = reply->reply;
      out += sse(delta_chunk({{"role", "assistant"}}));
      if (!msg.reasoning.empty()) out += sse(delta_chunk({{"reasoning_content", msg.reasoning}}));
      // The answer in two pieces, tool calls as interleaved deltas by index.
      if (!msg.content.empty()) {
        out += sse(delta_chunk({{"content", msg.content.substr(0, msg.content.size() / 2)}}));
        out += sse(delta_chunk({{"content", msg.content.substr(msg.content.size() / 2)}}));
      }
      for (std::size_t i = 0; i < msg.tool_calls.size(); ++i) {
        const auto& c = msg.tool_calls[i];
        out += sse(delta_chunk({{"tool_calls", bj::array{bj::object{{"index", i}, {"id", c.id}, {"type", "function"},
                                                                     {"function", bj::object{{"name", c.name}, {"arguments", ""}}}}}}}));
      }
      for (int half = 0; half < 2; ++half)
        for (std::size_t i = 0; i < msg.tool_calls.size(); ++i) {
          const auto args = bj::serialize(msg.tool_calls[i].arguments);
          const auto piece = half == 0 ? args.substr(0, args.size() / 2) : args.substr(args.size() / 2);
          out += sse(delta_chunk({{"tool_calls", bj::array{bj::object{{"index", i}, {"function", bj::object{{"arguments", piece}}}}}}}));
        }
      out += sse(delta_chunk({}, msg.tool_calls.empty() ? "stop" : "tool_calls"));
      out += sse(bj::object{{"choices", bj::array{}},
                            {"usage", bj::object{{"prompt_tokens", reply->usage.prompt_tokens},
                                                 {"completion_tokens", reply->usage.completion_tokens}}}});
    }
    out += "data: [DONE]\n\n";
    co_await asio::async_write(socket, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<agent::scripted_model> model_;
};

}  // namespace

TEST_CASE("openai model: books Boston to Rio through a fake OpenAI-compatible server") {
  travel_env env;
  travel::trip trip;
  auto scripted = std::make_shared<agent::scripted_model>(travel::booking_script(trip));
  scripted_openai_server server(env.io, scripted);
  agent::openai_model_options o;
  o.base_url = server.base_url();
  o.model = "scripted-over-http";
  auto model = std::make_shared<agent::openai_compatible_model>(o);
  agent::agent_settings s;
  s.instructions = "You book trips.";
  std::string streamed;
  s.on_event = [&](const agent::event& e) {
    if (e.kind == agent::event_kind::token) streamed += std::string(e.data.at("text").as_string());
  };
  agent::agent a(model, env.tools, s);
  agent::run_result r;
  env.drive([&]() -> asio::awaitable<void> {
    r = co_await a.run(trip.task());
    server.stop();
  });

  INFO(r.error);
  REQUIRE(r.reason == agent::stop_reason::answered);
  CHECK(r.steps.size() == 5);
  CHECK(r.tool_calls.size() == 1 + 2 + 3 + 3);
  for (const auto& c : r.tool_calls) CHECK(c.ok);
  CHECK(env.count_bookings("flight") == 2);
  CHECK(env.count_bookings("hotel") == 1);
  std::int64_t total = 0;
  for (const auto& c : r.tool_calls)
    if (c.call.name == "book_flight" || c.call.name == "book_hotel") total += c.result.at("total_price").as_int64();
  CHECK(total > 0);
  CHECK(total <= trip.budget_usd);
  CHECK_THAT(r.answer, Catch::Contains("within the 3000 USD budget"));
  // Every turn crossed the wire; the server saw tool results as tool messages
  // answering the ids it sent, and arguments as JSON strings.
  CHECK(server.n_requests == 5);
  REQUIRE(server.bodies.size() == 5);
  CHECK(server.bodies[0].at("tools").as_array().size() == env.tools.size());
  CHECK(server.bodies[0].at("stream") == true);
  bool saw_tool_message = false, saw_string_arguments = false;
  for (const auto& m : server.bodies.back().at("messages").as_array()) {
    if (m.at("role") == "tool") saw_tool_message = true;
    if (const auto* calls = m.as_object().if_contains("tool_calls"))
      for (const auto& c : calls->as_array()) saw_string_arguments |= c.at("function").at("arguments").is_string();
  }
  CHECK(saw_tool_message);
  CHECK(saw_string_arguments);
  CHECK(r.usage.prompt_tokens > 0);
  CHECK(r.usage.completion_tokens > 0);
  // The answer was streamed token by token through the agent's events.
  CHECK_THAT(streamed, Catch::Contains("within the 3000 USD budget"));
}
