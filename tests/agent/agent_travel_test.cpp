// The agent loop against the real travel API (in-process server, loopback,
// bookings in a temporary SQLite file), with the scripted model. Each test
// checks what the API stored.
#include "travel_env.hpp"

#include <tern/core/clock.hpp>
#include <tern/travel/booking_script.hpp>

#include <algorithm>

using namespace tern;
using namespace tern::test;
using agent::scripted_model;
using agent::stop_reason;
using turn = scripted_model::turn;

namespace {

std::shared_ptr<scripted_model> script(std::vector<turn> turns, scripted_model::options o = {}) {
  return std::make_shared<scripted_model>(std::move(turns), std::move(o));
}

}  // namespace

TEST_CASE("books Boston to Rio, 5 nights, 2 adults, within 3000 USD") {
  travel_env env;
  travel::trip trip;  // BOS -> GIG, 2027-03-10, 5 nights, Ana Silva and Bruno Costa, 3000 USD
  auto model = script(travel::booking_script(trip));
  agent::agent_settings s;
  s.instructions = "You book trips.";
  int n_approvals = 0;
  for (const auto& name : travel::side_effecting_travel_tools()) s.policies[name].side_effecting = true;
  s.approve = [&](const agent::approval_request& r) -> asio::awaitable<agent::approval_decision> {
    ++n_approvals;
    CHECK((r.call.name == "book_flight" || r.call.name == "book_hotel"));
    co_return agent::approval_decision::approve();
  };
  std::vector<agent::event> events;
  s.on_event = [&](const agent::event& e) { events.push_back(e); };
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, trip.task());

  check_booked_trip(env, r, trip.budget_usd);
  CHECK(n_approvals == 3);
  // What the API stored: flight bookings of two seats each.
  for (const auto& d : env.booking_details())
    if (d.at("type") == "flight") CHECK(d.at("passengers").as_array().size() == 2);
  // The model saw the tool results: the third request holds the return-flight search.
  auto reqs = model->requests();
  REQUIRE(reqs.size() == 5);
  CHECK(tool_result_in(reqs[2], "back").as_object().contains("flights"));
  CHECK(reqs[0].tools.size() == env.tools.size());
  // Events arrive in order, the last one says how the run ended.
  REQUIRE(!events.empty());
  CHECK(events.front().kind == agent::event_kind::run_started);
  CHECK(events.back().kind == agent::event_kind::run_finished);
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.kind == agent::event_kind::step_finished; }) == 5);
  CHECK(r.usage.prompt_tokens > 0);
  CHECK(r.usage.completion_tokens > 0);
}

TEST_CASE("a failing tool call is an observation the model recovers from") {
  travel_env env;
  // "RIO" is a city code, not an airport: the API answers 422.
  auto model = script({
      turn::calls({call("bad", "search_flights", {{"from", "BOS"}, {"to", "RIO"}, {"date", "2027-03-10"}})}),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        auto err = tool_result_in(req, "bad");
        if (!err.is_object() || !err.as_object().contains("error")) return tern::fail(errc::bad_response, "expected an error");
        return scripted_model::call({call("good", "search_flights", k_search)}, "RIO is not an airport; Rio is GIG.");
      }),
      book_cheapest("good", "book"),
      turn::answer("Booked."),
  });
  agent::agent a(model, env.tools, {});
  auto r = env.run(a, "Fly two people to Rio.");
  INFO(r.error);
  REQUIRE(r.reason == stop_reason::answered);
  REQUIRE(r.tool_calls.size() == 3);
  const auto& bad = r.tool_calls[0];
  CHECK_FALSE(bad.ok);
  REQUIRE(bad.error);
  CHECK(bad.error->kind == tools::tool_error_kind::http_status);
  CHECK(bad.error->http_status == 422);
  CHECK(bad.observation.at("error").at("kind") == "http-status");
  CHECK(r.tool_calls[2].ok);
  CHECK(env.count_bookings("flight") == 1);
}

TEST_CASE("retryable tool errors are retried with backoff") {
  travel_env env;
  int n_calls = 0;
  auto flaky = wrap(env.tool("search_flights"), [&](const tools::tool_ptr& in, bj::value args, const tools::invoke_context& ctx)
                                                    -> asio::awaitable<tools::tool_outcome> {
    if (++n_calls < 3) co_return tools::tool_error{tools::tool_error_kind::http_status, "HTTP 503", true, 503, {}};
    co_return co_await in->invoke(std::move(args), ctx);
  });
  auto model = script({turn::calls({call("s", "search_flights", k_search)}), book_cheapest("s", "b"), turn::answer("ok")});
  agent::agent_settings s;
  s.policies["search_flights"].max_attempts = 3;
  s.policies["search_flights"].retry_base_delay = std::chrono::milliseconds(5);
  agent::agent a(model, replace_tool(env.tools, flaky), s);
  auto r = env.run(a, "Fly to Rio.");
  REQUIRE(r.reason == stop_reason::answered);
  CHECK(n_calls == 3);
  CHECK(r.tool_calls[0].attempts == 3);
  CHECK(r.tool_calls[0].ok);
  CHECK(env.count_bookings("flight") == 1);
}

TEST_CASE("the calls of one turn run concurrently") {
  travel_env env;
  const auto delay = std::chrono::milliseconds(200);
  auto tools = replace_tool(env.tools, slow(env.tool("book_flight"), delay));
  tools = replace_tool(tools, slow(env.tool("search_flights"), delay));
  const bj::object back{{"from", "GIG"}, {"to", "BOS"}, {"date", "2027-03-15"}, {"passengers", 2}};
  auto model = script({
      turn::calls({call("out", "search_flights", k_search), call("back", "search_flights", back)}),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        bj::array pax{"Ana Silva", "Bruno Costa"};
        return scripted_model::call(
            {call("b1", "book_flight", {{"flight_id", tool_result_in(req, "out").at("flights").at(0).at("id")}, {"passengers", pax}}),
             call("b2", "book_flight", {{"flight_id", tool_result_in(req, "back").at("flights").at(0).at("id")}, {"passengers", pax}})});
      }),
      turn::answer("Both flights booked."),
  });
  agent::agent a(model, tools, {});
  auto r = env.run(a, "Book both flights.");
  REQUIRE(r.reason == stop_reason::answered);
  REQUIRE(r.tool_calls.size() == 4);
  for (int pair = 0; pair < 2; ++pair) {
    const auto& x = r.tool_calls[pair * 2];
    const auto& y = r.tool_calls[pair * 2 + 1];
    // Overlap: each started before the other finished.
    CHECK(x.started_ms < y.started_ms + y.latency_ms);
    CHECK(y.started_ms < x.started_ms + x.latency_ms);
    CHECK(x.latency_ms >= 190);
    // The turn took about one delay, not two.
    CHECK(r.steps[pair].tools_ms < x.latency_ms + y.latency_ms - 100);
  }
  CHECK(env.count_bookings("flight") == 2);
}

TEST_CASE("budget: steps") {
  travel_env env;
  std::vector<turn> turns;
  for (int i = 0; i < 5; ++i) turns.push_back(turn::calls({call("s" + std::to_string(i), "search_flights", k_search)}));
  agent::agent_settings s;
  s.limits.max_steps = 2;
  agent::agent a(script(turns), env.tools, s);
  auto r = env.run(a, "Search forever.");
  CHECK(r.reason == stop_reason::max_steps);
  CHECK(r.steps.size() == 2);
  CHECK(r.tool_calls.size() == 2);
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("budget: tool calls") {
  travel_env env;
  auto model = script({
      turn::calls({call("s1", "search_flights", k_search), call("s2", "search_flights", k_search)}),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        bj::array pax{"Ana Silva"};
        return scripted_model::call({call("b", "book_flight", {{"flight_id", tool_result_in(req, "s1").at("flights").at(0).at("id")}, {"passengers", pax}}),
                                     call("s3", "search_flights", k_search)});
      }),
      turn::answer("done"),
  });
  agent::agent_settings s;
  s.limits.max_tool_calls = 3;
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Book.");
  CHECK(r.reason == stop_reason::max_tool_calls);
  CHECK(r.tool_calls.size() == 2);  // the turn that would exceed the budget did not run
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("budget: tokens") {
  travel_env env;
  agent::model_response first = scripted_model::call({call("s", "search_flights", k_search)});
  first.usage = {400, 0, 50};
  agent::model_response second = scripted_model::call({call("b", "book_flight", {{"flight_id", "FL-X"}, {"passengers", bj::array{"A B"}}})});
  second.usage = {600, 0, 50};
  agent::agent_settings s;
  s.limits.max_tokens = 1000;
  agent::agent a(script({turn::reply(first), turn::reply(second), turn::answer("x")}), env.tools, s);
  auto r = env.run(a, "Book.");
  CHECK(r.reason == stop_reason::max_tokens);
  CHECK(r.total_tokens() == 1100);
  CHECK(r.tool_calls.size() == 1);  // the booking of the turn over budget was not made
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("budget: wall time") {
  travel_env env;
  std::vector<turn> turns;
  for (int i = 0; i < 50; ++i)
    turns.push_back(turn::calls({call("s" + std::to_string(i), "search_flights", k_search)}, "", std::chrono::milliseconds(60)));
  agent::agent_settings s;
  s.limits.max_wall_time = std::chrono::milliseconds(300);
  agent::agent a(script(turns), env.tools, s);
  stopwatch sw;
  auto r = env.run(a, "Search forever.");
  CHECK(r.reason == stop_reason::max_wall_time);
  CHECK(sw.elapsed_ms() < 1500);
  CHECK(r.steps.size() >= 2);
  CHECK(r.steps.size() < 50);
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("budget: per-tool call limit") {
  travel_env env;
  auto model = script({
      turn::calls({call("s", "search_flights", k_search)}),
      book_cheapest("s", "b1"),
      book_cheapest("s", "b2"),
      turn::answer("done"),
  });
  agent::agent_settings s;
  s.limits.per_tool["book_flight"] = 1;
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Book twice.");
  CHECK(r.reason == stop_reason::tool_call_limit);
  CHECK_THAT(r.error, Catch::Contains("book_flight"));
  CHECK(env.count_bookings("flight") == 1);
}

TEST_CASE("cancellation mid-tool-call stops promptly and reports what was done") {
  travel_env env;
  auto tools = replace_tool(env.tools, slow(env.tool("book_flight"), std::chrono::milliseconds(3000)));
  auto model = script({turn::calls({call("s", "search_flights", k_search)}), book_cheapest("s", "b"), turn::answer("x")});
  agent::agent a(model, tools, {});
  stopwatch sw;
  auto r = env.run(a, "Book.", std::chrono::milliseconds(300));
  CHECK(sw.elapsed_ms() < 2000);
  CHECK(r.reason == stop_reason::cancelled);
  REQUIRE(r.tool_calls.size() == 2);
  CHECK(r.tool_calls[0].ok);  // the search that finished is reported
  CHECK_FALSE(r.tool_calls[1].ok);
  REQUIRE(r.tool_calls[1].error);
  CHECK(r.tool_calls[1].error->kind == tools::tool_error_kind::cancelled);
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("approval: a rejection is shown to the model, nothing is booked") {
  travel_env env;
  auto model = script({
      turn::calls({call("s", "search_flights", k_search)}),
      book_cheapest("s", "b"),
      turn::react([](const agent::model_request& req) -> result<agent::model_response> {
        auto obs = tool_result_in(req, "b");
        return scripted_model::answer("Not booked: " + std::string(obs.at("error").at("message").as_string()));
      }),
  });
  agent::agent_settings s;
  s.policies["book_flight"].side_effecting = true;
  s.approve = [](const agent::approval_request&) -> asio::awaitable<agent::approval_decision> {
    co_return agent::approval_decision::reject("over the traveller's budget");
  };
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Book.");
  REQUIRE(r.reason == stop_reason::answered);
  CHECK(r.answer == "Not booked: over the traveller's budget");
  CHECK(r.tool_calls[1].approval == "rejected");
  CHECK(r.tool_calls[1].observation.at("error").at("kind") == "rejected");
  CHECK(env.count_bookings() == 0);
}

TEST_CASE("approval: edited arguments are what gets booked") {
  travel_env env;
  auto model = script({turn::calls({call("s", "search_flights", k_search)}), book_cheapest("s", "b"), turn::answer("ok")});
  agent::agent_settings s;
  s.policies["book_flight"].side_effecting = true;
  s.approve = [](const agent::approval_request& r) -> asio::awaitable<agent::approval_decision> {
    auto args = r.call.arguments;
    args["passengers"] = bj::array{"Ana Silva"};  // only one traveller is confirmed
    co_return agent::approval_decision::edit(std::move(args));
  };
  agent::agent a(model, env.tools, s);
  auto r = env.run(a, "Book.");
  REQUIRE(r.reason == stop_reason::answered);
  const auto& b = r.tool_calls[1];
  CHECK(b.approval == "edited");
  CHECK(b.original_arguments.at("passengers").as_array().size() == 2);
  CHECK(b.call.arguments.at("passengers").as_array().size() == 1);
  auto stored = env.booking_details();
  REQUIRE(stored.size() == 1);
  REQUIRE(stored[0].at("passengers").as_array().size() == 1);
  CHECK(stored[0].at("passengers").at(0).at("name") == "Ana Silva");
}
