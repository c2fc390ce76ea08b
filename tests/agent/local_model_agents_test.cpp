// The issue's mechanics test: many agents (agent::agent) share one
// local_model on a random-weight model; every tool call they make is
// produced under the tool-call grammar and must validate against its tool's
// schema, checked here with an independent validator (tools::schema_validator).
#include "local_model_fixture.hpp"

#include <tern/agent/agent.hpp>
#include <tern/tools/schema_validator.hpp>

#include <atomic>
#include <map>

namespace tern::test {
namespace {

namespace bj = boost::json;

struct counted_tools {
  std::vector<tools::tool_ptr> tools;
  std::map<std::string, tools::schema_validator, std::less<>> validators;
  std::shared_ptr<std::atomic<int>> invoked = std::make_shared<std::atomic<int>>(0);
};

counted_tools make_tools() {
  counted_tools out;
  for (auto& spec : flight_tools()) {
    auto v = tools::schema_validator::compile(spec.parameters);
    REQUIRE(v);
    out.validators.emplace(spec.name, std::move(*v));
    auto n = out.invoked;
    auto t = tools::make_function_tool(spec, [n](const bj::value& args) -> tools::tool_outcome {
      ++*n;
      return bj::value{{"ok", true}, {"echo", args}};
    });
    REQUIRE(t);
    out.tools.push_back(std::move(*t));
  }
  return out;
}

TEST_CASE("20 concurrent agents on one local_model finish, and every tool call they make is schema-valid") {
  auto m = open_tiny_llama();
  auto kit = make_tools();
  asio::io_context io;
  constexpr int n_agents = 20;
  std::vector<std::optional<agent::run_result>> results(n_agents);
  std::vector<std::shared_ptr<agent::agent>> agents;
  for (int i = 0; i < n_agents; ++i) {
    agent::agent_settings st;
    st.instructions = "You book flights for travellers.";
    st.limits.max_steps = 3;
    st.generation.max_tokens = 128;
    st.generation.temperature = 1.0;
    st.generation.seed = static_cast<std::uint64_t>(1000 + i);
    // The first turn must call a tool (a random model would otherwise mostly
    // write text); later turns are automatic again (reset_tool_choice).
    st.choice = agent::tool_choice::required();
    agents.push_back(std::make_shared<agent::agent>(m, kit.tools, st));
    asio::co_spawn(
        io,
        [a = agents.back(), &results, i]() -> asio::awaitable<void> {
          results[static_cast<std::size_t>(i)] = co_await a->run(fmt::format("Find a flight from BOS to GIG, trip {}", i));
        },
        asio::detached);
  }
  io.run();

  int n_calls = 0, n_invalid = 0;
  for (int i = 0; i < n_agents; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    REQUIRE(r);
    INFO("agent " << i << ": " << agent::to_string(r->reason) << " " << r->error);
    CHECK((r->reason == agent::stop_reason::answered || r->reason == agent::stop_reason::max_steps));
    CHECK(r->steps.size() >= 1);
    CHECK_FALSE(r->tool_calls.empty());  // the required first turn called
    for (const auto& c : r->tool_calls) {
      ++n_calls;
      const auto v = kit.validators.find(c.call.name);
      REQUIRE(v != kit.validators.end());
      const auto violations = v->second.check(c.call.arguments);
      INFO("call " << c.call.name << " " << bj::serialize(c.call.arguments));
      CHECK(violations.empty());
      CHECK(c.ok);
      if (!violations.empty() || !c.ok) ++n_invalid;
    }
  }
  CHECK(n_calls >= n_agents);
  CHECK(n_invalid == 0);
  CHECK(*kit.invoked == n_calls);
  const auto stats = m->stats();
  CHECK(stats.queue_depth == 0);
  CHECK(stats.n_sessions <= 4);
  CHECK(stats.n_cancelled == 0);
}

TEST_CASE("local_model: a response schema constrains the answer; a named tool choice constrains the call") {
  auto m = open_tiny_llama();
  asio::io_context io;
  SECTION("response_schema") {
    const auto schema = tern::test::schema(
        R"({"type":"object","properties":{"city":{"type":"string","maxLength":12},"nights":{"type":"integer","minimum":1,"maximum":30}},"required":["city","nights"],"additionalProperties":false})");
    auto validator = tools::schema_validator::compile(schema);
    REQUIRE(validator);
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      agent::model_request req;
      req.messages = {agent::message::user("Where and how long?")};
      req.response_schema = schema;
      req.settings.max_tokens = 64;
      req.settings.temperature = 1.0;
      req.settings.seed = seed;
      auto r = run_sync(io, m->complete(std::move(req)));
      REQUIRE(r);
      auto doc = json::parse(r->reply.content);
      REQUIRE(doc);
      CHECK(validator->check(*doc).empty());
      CHECK(r->reply.tool_calls.empty());
    }
  }
  SECTION("named tool") {
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      agent::model_request req;
      req.messages = {agent::message::user("Book it.")};
      req.tools = flight_tools();
      req.choice = agent::tool_choice::named("book_flight");
      req.settings.max_tokens = 160;
      req.settings.temperature = 1.0;
      req.settings.seed = seed;
      auto r = run_sync(io, m->complete(std::move(req)));
      REQUIRE(r);
      REQUIRE_FALSE(r->reply.tool_calls.empty());
      CHECK(r->finish_reason == "tool_calls");
      for (const auto& c : r->reply.tool_calls) {
        CHECK(c.name == "book_flight");
        CHECK_FALSE(c.id.empty());
      }
    }
  }
  SECTION("named tool, Qwen vocabulary (<tool_call> is one special token there)") {
    auto q = open_tiny_qwen();
    agent::model_request req;
    req.messages = {agent::message::user("Book it.")};
    req.tools = flight_tools();
    req.choice = agent::tool_choice::named("book_flight");
    req.settings.max_tokens = 128;
    req.settings.temperature = 1.0;
    req.settings.seed = 5;
    auto r = run_sync(io, q->complete(std::move(req)));
    REQUIRE(r);
    REQUIRE(r->reply.tool_calls.size() >= 1);
    CHECK(r->reply.tool_calls[0].name == "book_flight");
  }
  SECTION("a schema the grammar compiler refuses fails closed, naming where") {
    agent::model_request req;
    req.messages = {agent::message::user("x")};
    req.response_schema = tern::test::schema(R"({"type":"array","uniqueItems":true})");
    auto r = run_sync(io, m->complete(std::move(req)));
    REQUIRE_FALSE(r);
    CHECK(r.error().describe().find("response_schema") != std::string::npos);
  }
}

}  // namespace
}  // namespace tern::test
