// Checkpoints and resume, the context policy, plan-and-execute and the trace,
// against the real travel API.
#include "travel_env.hpp"

#include <tern/agent/checkpoint.hpp>

#include <fstream>

using namespace tern;
using namespace tern::test;
using agent::scripted_model;
using agent::stop_reason;
using turn = scripted_model::turn;

namespace {

// A store that stops saving once `dead` is set: what a killed process leaves behind.
struct dying_store : agent::checkpoint_store {
  std::shared_ptr<agent::checkpoint_store> inner;
  bool dead = false;
  int n_saves = 0;
  explicit dying_store(std::shared_ptr<agent::checkpoint_store> s) : inner(std::move(s)) {}
  result<void> save(std::string_view id, int step, std::string_view state) override {
    if (dead) return tern::ok();
    ++n_saves;
    return inner->save(id, step, state);
  }
  result<std::string> load(std::string_view id) override { return inner->load(id); }
  result<std::vector<std::string>> runs() override { return inner->runs(); }
};

}  // namespace

TEST_CASE("a run killed right after booking resumes and books exactly once") {
  travel_env env;
  const auto ckpt_path = temp_path("checkpoints", ".db");
  auto sqlite = agent::sqlite_checkpoint_store::open(ckpt_path.string());
  REQUIRE(sqlite);
  auto store = std::make_shared<dying_store>(*sqlite);

  // Phase 1: the booking goes through, then the process "dies" before the
  // step's checkpoint is written (the store stops saving, the run is cancelled).
  asio::cancellation_signal kill;
  std::string first_booking_id;
  auto killer = wrap(env.tool("book_flight"), [&](const tools::tool_ptr& in, bj::value args, const tools::invoke_context& ctx)
                                                  -> asio::awaitable<tools::tool_outcome> {
    auto out = co_await in->invoke(std::move(args), ctx);
    if (out.ok()) first_booking_id = std::string(out.value().at("booking_id").as_string());
    store->dead = true;
    kill.emit(asio::cancellation_type::terminal);
    co_return out;
  });
  agent::agent_settings s;
  s.checkpoints = store;
  s.policies["book_flight"].side_effecting = true;
  auto model1 = std::make_shared<scripted_model>(std::vector<turn>{
      turn::calls({call("s", "search_flights", k_search)}), book_cheapest("s", "b"), turn::answer("never reached")});
  agent::agent first(model1, replace_tool(env.tools, killer), s);
  agent::run_result r1;
  env.drive([&]() -> asio::awaitable<void> { r1 = co_await first.run("Book a flight to Rio.", "trip-42"); },
            std::nullopt, &kill);
  CHECK(r1.reason == stop_reason::cancelled);
  REQUIRE_FALSE(first_booking_id.empty());
  CHECK(env.count_bookings("flight") == 1);
  CHECK(store->n_saves == 1);  // only the step with the search was saved

  // Phase 2: a new process resumes from the last checkpoint (after step 1).
  // The model asks for the same booking again: same run, step and position,
  // so the same idempotency key, and the API replays the first booking.
  store->dead = false;
  auto model2 = std::make_shared<scripted_model>(std::vector<turn>{
      book_cheapest("s", "b"),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        return scripted_model::answer("Booked " + std::string(tool_result_in(req, "b").at("booking_id").as_string()));
      })});
  agent::agent second(model2, env.tools, s);
  agent::run_result r2;
  env.drive([&]() -> asio::awaitable<void> { r2 = co_await second.resume("trip-42"); });
  INFO(r2.error);
  for (const auto& c : r2.tool_calls) UNSCOPED_INFO(json::serialize(c.to_json()));
  if (r2.tool_calls.size() > 1) INFO(json::serialize(r2.tool_calls.back().observation));
  REQUIRE(r2.reason == stop_reason::answered);
  CHECK(r2.answer == "Booked " + first_booking_id);
  CHECK(env.count_bookings("flight") == 1);  // exactly once
  // The resumed model saw the search result restored from the checkpoint.
  CHECK(tool_result_in(model2->requests().at(0), "s").as_object().contains("flights"));
  REQUIRE(r2.tool_calls.size() == 2);
  CHECK(r2.tool_calls[1].idempotency_key == "trip-42:2:1");

  // Phase 3: resuming the finished run again repeats nothing.
  auto model3 = std::make_shared<scripted_model>(std::vector<turn>{turn::answer("Already done.")});
  agent::agent third(model3, env.tools, s);
  agent::run_result r3;
  env.drive([&]() -> asio::awaitable<void> { r3 = co_await third.resume("trip-42"); });
  CHECK(r3.reason == stop_reason::answered);
  CHECK(r3.tool_calls.size() == 2);  // restored, not re-run
  CHECK(env.count_bookings("flight") == 1);

  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(ckpt_path.string() + suffix, ec);
}

TEST_CASE("resume without a checkpoint reports checkpoint_error") {
  travel_env env;
  agent::agent_settings s;
  s.checkpoints = std::make_shared<agent::memory_checkpoint_store>();
  agent::agent a(std::make_shared<scripted_model>(std::vector<turn>{}), env.tools, s);
  agent::run_result r;
  env.drive([&]() -> asio::awaitable<void> { r = co_await a.resume("nope"); });
  CHECK(r.reason == stop_reason::checkpoint_error);
  CHECK_THAT(r.error, Catch::Contains("nope"));
}

TEST_CASE("the context policy drops the oldest tool results, says so, and never overflows") {
  travel_env env;
  std::vector<turn> turns;
  for (int i = 0; i < 6; ++i) turns.push_back(turn::calls({call("s" + std::to_string(i), "search_flights", k_search)}));
  turns.push_back(book_cheapest("s5", "b"));
  turns.push_back(turn::answer("ok"));
  scripted_model::options o;
  o.context_length = 2400;
  auto model = std::make_shared<scripted_model>(turns, o);
  agent::agent_settings s;
  s.context_reserve_tokens = 200;
  std::vector<agent::event> trims;
  s.on_event = [&](const agent::event& e) {
    if (e.kind == agent::event_kind::context_trimmed) trims.push_back(e);
  };
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Search a lot, then book.");
  INFO(r.error);
  REQUIRE(r.reason == stop_reason::answered);
  REQUIRE_FALSE(trims.empty());
  CHECK(trims[0].data.at("dropped").at(0) == "s0");  // oldest first
  for (const auto& req : model->requests())
    CHECK(model->count_tokens(req.messages, req.tools) <= o.context_length - s.context_reserve_tokens);
  // The newest result the model needs was kept, and the booking went through.
  CHECK(env.count_bookings("flight") == 1);
  auto last = model->requests().back();
  CHECK(tool_result_in(last, "s0").at("dropped") == true);
}

TEST_CASE("earlier reasoning is not fed back; large results are capped visibly") {
  travel_env env;
  agent::model_response first = scripted_model::call({call("s", "search_flights", k_search)});
  first.reply.reasoning = "secret chain of thought";
  auto model = std::make_shared<scripted_model>(std::vector<turn>{turn::reply(first), turn::answer("done")});
  agent::agent_settings s;
  s.max_tool_result_bytes = 200;
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Search.");
  REQUIRE(r.reason == stop_reason::answered);
  auto second = model->requests().at(1);
  for (const auto& m : second.messages) CHECK(m.reasoning.empty());
  auto obs = tool_result_in(second, "s");
  CHECK(obs.at("truncated") == true);
  CHECK(obs.at("preview").as_string().size() <= 200);
  CHECK(r.tool_calls[0].result.at("flights").as_array().size() > 0);  // the full result stays in the record
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("plan-and-execute: plans, executes, re-plans after a failed step") {
  travel_env env;
  auto plan_reply = [](std::string_view to) {
    return scripted_model::answer(fmt::format(
        R"({{"steps":[{{"id":1,"description":"search flights to {}","tool":"search_flights"}},)"
        R"({{"id":2,"description":"book the cheapest","tool":"book_flight"}},{{"id":3,"description":"answer"}}]}})", to));
  };
  auto model = std::make_shared<scripted_model>(std::vector<turn>{
      turn::reply(plan_reply("RIO")),
      turn::calls({call("bad", "search_flights", {{"from", "BOS"}, {"to", "RIO"}, {"date", "2027-03-10"}})}),
      turn::reply(plan_reply("GIG")),  // the re-plan after the failure
      turn::calls({call("s", "search_flights", k_search)}),
      book_cheapest("s", "b"),
      turn::answer("Booked."),
  });
  agent::agent_settings s;
  s.mode = agent::agent_mode::plan_and_execute;
  std::string trace = temp_path("trace", ".jsonl").string();
  s.trace_path = trace;
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Fly to Rio.");
  INFO(r.error);
  REQUIRE(r.reason == stop_reason::answered);
  REQUIRE(r.plan);
  CHECK(r.plan->revision == 1);
  REQUIRE(r.plan->steps.size() == 3);
  for (const auto& st : r.plan->steps) CHECK(st.status == "done");
  // The planning requests asked for structured output without tools.
  auto reqs = model->requests();
  CHECK(reqs[0].response_schema.has_value());
  CHECK(reqs[0].choice.kind == agent::tool_choice::mode::none);
  CHECK(reqs[2].response_schema.has_value());
  CHECK_FALSE(reqs[1].response_schema.has_value());
  CHECK(env.count_bookings("flight") == 1);

  // The trace: one JSON object per line, plans and tool latencies included.
  std::ifstream in(trace);
  std::string line;
  int n_plans = 0, n_finished_calls = 0, n_lines = 0;
  std::string last_type;
  while (std::getline(in, line)) {
    auto ev = json::parse(line);
    REQUIRE(ev);
    ++n_lines;
    last_type = std::string(ev->at("type").as_string());
    CHECK(ev->at("run_id").as_string() == r.run_id);
    if (last_type == "plan") ++n_plans;
    if (last_type == "tool_call_finished") {
      ++n_finished_calls;
      CHECK(ev->at("latency_ms").to_number<double>() >= 0);
    }
  }
  CHECK(n_plans == 2);
  CHECK(n_finished_calls == 3);
  CHECK(last_type == "run_finished");
  std::filesystem::remove(trace);
}

TEST_CASE("a tool the model invents is a not_found observation") {
  travel_env env;
  auto model = std::make_shared<scripted_model>(std::vector<turn>{
      turn::calls({call("x", "teleport", {{"to", "Rio"}})}),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        return scripted_model::answer(std::string(tool_result_in(req, "x").at("error").at("kind").as_string()));
      })});
  agent::agent a(model, env.tools, {});
  auto r = env.run(a, "Go.");
  CHECK(r.answer == "not-found");
  CHECK(env.count_bookings() == 0);
}
