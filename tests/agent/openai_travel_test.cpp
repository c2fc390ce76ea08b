// The travel booking run with openai_compatible_model: a fake OpenAI-compatible
// server (real Beast, loopback) answers each chat completion by asking the
// scripted booking model and streaming its reply back as server-sent events,
// so every request and reply crosses the wire (messages, tool calls with
// string arguments, tool results, usage). Checks what the travel API stored.
#include "loopback_server.hpp"
#include "travel_env.hpp"

#include <tern/agent/openai_model.hpp>
#include <tern/travel/booking_script.hpp>

#include <boost/json.hpp>

#include <mutex>

using namespace tern;
using namespace tern::test;

namespace {

std::string sse(const bj::value& v) { return "data: " + bj::serialize(v) + "\n\n"; }

bj::object delta_chunk(bj::object delta, std::string_view finish = "") {
  bj::object choice{{"index", 0}, {"delta", std::move(delta)}};
  choice["finish_reason"] = finish.empty() ? bj::value(nullptr) : bj::value(bj::string(finish));
  return {{"object", "chat.completion.chunk"}, {"choices", bj::array{std::move(choice)}}};
}

// The scripted model behind an OpenAI-compatible wire, on the shared loopback
// server (its own thread), keeping connections alive as vLLM or Ollama do.
class scripted_openai_server {
 public:
  explicit scripted_openai_server(std::shared_ptr<agent::scripted_model> m)
      : model_(std::move(m)), server_([this](server_connection& c) { return serve(c); }) {}
  std::string base_url() const { return server_.url("/v1"); }
  int n_connections() const { return server_.n_connections(); }
  int n_requests() const { return server_.n_requests(); }
  std::vector<bj::object> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  // The scripted model's request from a chat completions body, or why not.
  static result<agent::model_request> to_model_request(const bj::object& body) {
    agent::model_request mr;
    const auto* messages = body.if_contains("messages");
    if (!messages || !messages->is_array()) return fail(errc::invalid_argument, "no messages");
    for (const auto& mv : messages->as_array()) {
      TERN_TRY(auto m, agent::message::from_json(mv));
      mr.messages.push_back(std::move(m));
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
    return mr;
  }

  static std::string events_for(const result<agent::model_response>& reply) {
    std::string out;
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
    return out;
  }

  asio::awaitable<void> serve(server_connection& c) {
    while (auto req = co_await c.read_request()) {
      auto parsed = json::parse(req->body);
      if (!parsed || !parsed->is_object()) {
        const test_response bad(400, std::string(R"({"error":{"message":"body is not a JSON object"}})"));
        co_await c.respond(bad);
        co_return;
      }
      {
        std::lock_guard lock(mutex_);
        bodies_.push_back(parsed->as_object());
      }
      auto mr = to_model_request(parsed->as_object());
      if (!mr) {
        const test_response bad(400, bj::serialize(bj::object{{"error", bj::object{{"message", mr.error().describe()}}}}));
        co_await c.respond(bad);
        co_return;
      }
      auto reply = co_await model_->complete(std::move(*mr));
      test_response res(200, events_for(reply), {{"Content-Type", "text/event-stream"}});
      res.chunked = true;
      if (!co_await c.respond(res)) co_return;
    }
  }

  std::shared_ptr<agent::scripted_model> model_;
  mutable std::mutex mutex_;
  std::vector<bj::object> bodies_;
  loopback_server server_;  // last: started after, stopped before, the members above
};

}  // namespace

TEST_CASE("openai model: books Boston to Rio through a fake OpenAI-compatible server") {
  travel_env env;
  travel::trip trip;
  auto scripted = std::make_shared<agent::scripted_model>(travel::booking_script(trip));
  scripted_openai_server server(scripted);
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
  });

  check_booked_trip(env, r, trip.budget_usd);
  // Every turn crossed the wire; the server saw tool results as tool messages
  // answering the ids it sent, and arguments as JSON strings.
  CHECK(server.n_requests() == 5);
  const auto bodies = server.bodies();
  REQUIRE(bodies.size() == 5);
  CHECK(bodies[0].at("tools").as_array().size() == env.tools.size());
  CHECK(bodies[0].at("stream") == true);
  // Every turn went over one kept-alive connection.
  CHECK(server.n_connections() == 1);
  CHECK(model->connection_stats().n_reused == 4);
  bool saw_tool_message = false, saw_string_arguments = false;
  for (const auto& m : bodies.back().at("messages").as_array()) {
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
