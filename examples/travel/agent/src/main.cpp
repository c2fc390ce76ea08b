// tern-travel-agent: the main job. Starts the travel API in-process on an
// ephemeral loopback port, runs the booking agent against it with the
// scripted model, and prints a transcript (steps, tool calls, results, the
// booking, totals). By default the model is scripted (Tern's local models
// cannot do this task reliably yet, and the output says so); --model FILE.gguf
// runs the same loop with local_model on that file instead, and reports
// plainly whatever that model manages.
#include <tern/agent/agent.hpp>
#include <tern/agent/local_model.hpp>
#include <tern/agent/scripted_model.hpp>
#include <tern/core/json.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/travel/agent_tools.hpp>
#include <tern/travel/booking_script.hpp>
#include <tern/travel/server.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>

namespace {

namespace bj = boost::json;
using namespace tern;

// A one-line summary of a tool result for the transcript.
std::string summarise(const std::string& tool, const bj::value& v) {
  if (!v.is_object()) return json::serialize(v);
  const auto& o = v.as_object();
  if (const auto* e = o.if_contains("error"); e && e->is_object()) {
    const auto& eo = e->as_object();
    return fmt::format("ERROR {}: {}", json::serialize(eo.at("kind")), json::serialize(eo.at("message")));
  }
  if (tool == "search_flights" || tool == "search_hotels") {
    const char* key = tool == "search_flights" ? "flights" : "hotels";
    const auto* list = o.if_contains(key);
    if (!list || !list->is_array()) return json::serialize(v);
    const auto& a = list->as_array();
    if (a.empty()) return fmt::format("0 {} found", key);
    const auto& first = a[0].as_object();
    if (tool == "search_flights")
      return fmt::format("{} flights; cheapest {} ({}) departs {} arrives {} {}, {} USD/person, {} stop(s)", a.size(),
                         first.at("id").as_string().c_str(), first.at("flight_number").as_string().c_str(),
                         first.at("departure_time").as_string().c_str(), first.at("arrival_date").as_string().c_str(),
                         first.at("arrival_time").as_string().c_str(), json::serialize(first.at("price")),
                         json::serialize(first.at("stops")));
    return fmt::format("{} hotels; cheapest {} {} ({} stars) {} USD total", a.size(), json::serialize(first.at("id")),
                       json::serialize(first.at("name")), json::serialize(first.at("stars")),
                       json::serialize(first.at("total_price")));
  }
  if (o.contains("booking_id"))
    return fmt::format("booking {} {} {} USD", json::serialize(o.at("booking_id")),
                       o.contains("status") ? json::serialize(o.at("status")) : "",
                       o.contains("total_price") ? json::serialize(o.at("total_price")) : "?");
  std::string s = json::serialize(v);
  return s.size() > 160 ? s.substr(0, 157) + "..." : s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tern-travel-agent: the travel booking agent against an in-process travel API (scripted model)"};
  travel::trip trip;
  std::string trace_path;
  app.add_option("--depart", trip.depart, "departure date YYYY-MM-DD")->capture_default_str();
  app.add_option("--nights", trip.nights, "nights in Rio")->capture_default_str()->check(CLI::Range(1, 30));
  app.add_option("--budget", trip.budget_usd, "total budget in USD")->capture_default_str();
  app.add_option("--trace", trace_path, "write the run's JSON-lines trace to this file");
  std::string model_path, template_path;
  int threads = 0;
  std::int64_t max_tokens = 256;
  app.add_option("--model", model_path, "run with Tern's local engine on this GGUF file instead of the script")
      ->check(CLI::ExistingFile);
  app.add_option("--chat-template", template_path, "with --model: a Jinja chat template file (for a GGUF without one)")
      ->check(CLI::ExistingFile);
  app.add_option("--threads", threads, "with --model: engine threads (0: all cores)")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "with --model: tokens per model turn at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  CLI11_PARSE(app, argc, argv);

  std::shared_ptr<agent::model> model;
  std::shared_ptr<agent::local_model> local;
  if (!model_path.empty()) {
    agent::local_model_options lo;
    lo.path = model_path;
    lo.threads = threads;
    if (!template_path.empty()) {
      std::ifstream in(template_path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      lo.chat_template = ss.str();
    }
    auto m = agent::local_model::open(lo);
    if (!m) {
      fmt::print(stderr, "tern-travel-agent: cannot open the model: {}\n", m.error().describe());
      return 1;
    }
    local = *m;
    model = local;
  } else {
    model = std::make_shared<agent::scripted_model>(travel::booking_script(trip));
  }

  boost::asio::io_context io;
  auto srv = travel::server::start(io, {});
  if (!srv) {
    fmt::print(stderr, "tern-travel-agent: cannot start the travel API: {}\n", srv.error().describe());
    return 1;
  }
  const std::string base = fmt::format("http://{}:{}", (*srv)->host(), (*srv)->port());
  auto client = std::make_shared<tools::http_client>(io.get_executor());
  auto tools = travel::make_travel_tools(client, base);
  if (!tools) {
    fmt::print(stderr, "tern-travel-agent: {}\n", tools.error().describe());
    return 1;
  }

  fmt::print("Tern travel agent: the main job\n");
  fmt::print("Travel API: {} (in-process, in-memory bookings, seed 42)\n", base);
  if (local)
    fmt::print("Model: LOCAL ({}, Tern's engine, {} tokens of context). Its own output drives the run, with tool\n"
               "      calls constrained to the tools' schemas; whether it books well depends on the model.\n",
               local->name(), local->context_length());
  else
    fmt::print("Model: SCRIPTED. The model's turns come from a fixed script (scripted_model) that reacts to the real\n"
               "      tool results; Tern's local model cannot do this task yet. The loop, tools, HTTP, approval,\n"
               "      budgets and checkpoints are real.\n");
  fmt::print("Task: {}\n\n", trip.task());

  agent::agent_settings s;
  if (local) s.generation.max_tokens = max_tokens;
  s.instructions = "You are a travel agent. Stay within the budget. Book only what the traveller asked for.";
  s.limits.max_steps = 10;
  s.limits.max_tool_calls = 20;
  s.limits.max_wall_time = std::chrono::seconds(60);
  s.limits.per_tool["book_flight"] = 2;
  s.limits.per_tool["book_hotel"] = 1;
  for (const auto& name : travel::side_effecting_travel_tools()) {
    s.policies[name].side_effecting = true;
    s.policies[name].timeout = std::chrono::seconds(10);
  }
  s.default_policy.timeout = std::chrono::seconds(10);
  s.default_policy.max_attempts = 2;
  s.checkpoints = std::make_shared<agent::memory_checkpoint_store>();
  s.trace_path = trace_path;
  s.approve = [](const agent::approval_request& r) -> boost::asio::awaitable<agent::approval_decision> {
    // Behind the events already posted, so the transcript stays in order.
    co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    fmt::print("    approval: {} {} -> approved (policy: auto-approve within budget)\n", r.call.name,
               json::serialize(r.call.arguments));
    co_return agent::approval_decision::approve();
  };
  s.on_event = [](const agent::event& ev) {
    const auto& d = ev.data;
    switch (ev.kind) {
      case agent::event_kind::thought:
        fmt::print("  thought: {}\n", d.at("text").as_string().c_str());
        break;
      case agent::event_kind::tool_call_started:
        fmt::print("  -> {}({})\n", d.at("tool").as_string().c_str(), json::serialize(d.at("arguments")));
        break;
      case agent::event_kind::tool_call_finished: {
        const auto& obs = d.contains("result") ? d.at("result") : d.at("error");
        fmt::print("  <- {} [{:.1f} ms] {}\n", d.at("tool").as_string().c_str(), d.at("latency_ms").to_number<double>(),
                   summarise(std::string(d.at("tool").as_string()), obs));
        break;
      }
      case agent::event_kind::step_finished:
        fmt::print("Step {} done: {} prompt + {} completion tokens, model {:.2f} ms, tools {:.1f} ms\n\n", ev.step,
                   d.at("prompt_tokens").as_int64(), d.at("completion_tokens").as_int64(),
                   d.at("model_ms").to_number<double>(), d.at("tools_ms").to_number<double>());
        break;
      default:
        break;
    }
  };
  agent::agent a(model, *tools, s);

  std::optional<agent::run_result> result;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    result = co_await a.run(trip.task(), "travel-demo");
    client->close_idle();
    (*srv)->stop();
  }, boost::asio::detached);
  io.run();

  if (!result) return 1;
  const auto& r = *result;
  fmt::print("Answer:\n{}\n\n", r.answer.empty() ? "(none)" : r.answer);
  fmt::print("Bookings made:\n");
  int n_booked = 0;
  for (const auto& c : r.tool_calls) {
    const auto* booked = c.result.is_object() ? c.result.as_object().if_contains("booking_id") : nullptr;
    if ((c.call.name == "book_flight" || c.call.name == "book_hotel") && c.ok && booked && booked->is_string()) {
      ++n_booked;
      fmt::print("  {} {} {} USD (approval: {}, idempotency key {})\n", booked->as_string().c_str(),
                 c.call.name, json::serialize(c.result.at("total_price")), c.approval, c.idempotency_key);
    }
  }
  fmt::print("\nTotals: stop reason {}, {} steps, {} tool calls, {} prompt + {} completion tokens, "
             "wall {:.1f} ms (model {:.1f} ms, tools {:.1f} ms)\n",
             agent::to_string(r.reason), r.steps.size(), r.tool_calls.size(), r.usage.prompt_tokens,
             r.usage.completion_tokens, r.wall_ms, r.model_ms, r.tool_ms);
  if (local)
    fmt::print("Model: {} (token counts from its tokenizer; {} prompt tokens were reused from its KV cache).\n",
               local->name(), r.usage.cached_prompt_tokens);
  else
    fmt::print("Model: scripted (token counts are estimates from message sizes, not a tokenizer).\n");
  if (!trace_path.empty()) fmt::print("Trace: {} (read it with: tern trace {})\n", trace_path, trace_path);
  if (r.reason != agent::stop_reason::answered || n_booked != 3) {
    fmt::print(stderr, "tern-travel-agent: the run did not complete the booking ({}{}{}){}\n",
               agent::to_string(r.reason), r.error.empty() ? "" : ": ", r.error,
               local ? fmt::format("; {} booking(s) made by {}", n_booked, local->name()) : "");
    return 1;
  }
  return 0;
}
