// local_model: the engine behind the agent model interface, on a random-weight
// qwen2 model that carries the real Qwen2.5 tokenizer and chat template
// (built once per test process from tests/data/models/qwen2-vocab.gguf).
#include "local_model_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <numeric>
#include <thread>

namespace tern::test {
namespace {

using agent::local_model;
using agent::message;
using agent::model_request;
using agent::model_response;

TEST_CASE("local_model renders the request with the model's chat template and counts tokens exactly") {
  auto m = open_tiny_qwen();
  std::vector<message> msgs{message::system("You book trips."), message::user("Boston to Rio, 5 nights.")};
  auto reply = message::assistant("Searching.");
  reply.reasoning = "the user wants flights";
  reply.tool_calls.push_back({"call_1", "search_flights", {{"from", "BOS"}, {"to", "GIG"}}});
  msgs.push_back(reply);
  msgs.push_back(message::tool_result("call_1", "search_flights", R"({"flights":[]})"));
  const auto tools = flight_tools();

  auto text = m->render_prompt(msgs, tools);
  REQUIRE(text);
  CHECK(text->starts_with("<|im_start|>system\nYou book trips."));
  CHECK(text->find("\"name\": \"search_flights\"") != std::string::npos);  // the tool list, as the template writes it
  CHECK(text->find("<tool_call>\n{\"name\": \"search_flights\"") != std::string::npos);  // the earlier call
  CHECK(text->find("the user wants flights") == std::string::npos);  // earlier reasoning is not fed back
  CHECK(text->ends_with("<|im_start|>assistant\n"));

  const auto ids = m->engine_model().vocab()->encode(*text, true, true);
  CHECK(m->count_tokens(msgs, tools) == static_cast<std::int64_t>(ids.size()));
  CHECK(m->name() == "local:qwen2-tiny-random.gguf");
  CHECK(m->context_length() == 4096);
}

TEST_CASE("local_model answers with usage, and streams pieces on the caller's executor in order") {
  auto m = open_tiny_qwen();
  asio::io_context io;
  std::string streamed;
  int n_pieces = 0;
  bool off_thread = false;
  const auto io_thread = std::this_thread::get_id();

  // Sampled: greedy decoding of this random model repeats a control token,
  // which has no text.
  model_request req;
  req.messages = {message::user("Say something.")};
  req.settings.max_tokens = 12;
  req.settings.temperature = 1.0;
  req.settings.seed = 7;
  req.stream.on_token = [&](std::string_view piece) {
    off_thread = off_thread || std::this_thread::get_id() != io_thread;
    streamed += piece;
    ++n_pieces;
  };
  const auto expected_prompt = m->count_tokens(req.messages, {});
  auto r = run_sync(io, m->complete(std::move(req)));
  REQUIRE(r);
  CHECK(r->reply.role == agent::role::assistant);
  CHECK(r->usage.prompt_tokens == expected_prompt);
  CHECK(r->usage.cached_prompt_tokens == 0);
  CHECK(r->usage.completion_tokens >= 1);
  CHECK(r->usage.completion_tokens <= 12);
  CHECK((r->finish_reason == "length" || r->finish_reason == "stop"));
  CHECK_FALSE(off_thread);
  CHECK(n_pieces >= 1);
  CHECK(trimmed(streamed) == r->reply.content);

  // Seeded: the same request gives the same answer.
  model_request again;
  again.messages = {message::user("Say something.")};
  again.settings.max_tokens = 12;
  again.settings.temperature = 1.0;
  again.settings.seed = 7;
  auto r2 = run_sync(io, m->complete(std::move(again)));
  REQUIRE(r2);
  CHECK(r2->reply.content == r->reply.content);
  CHECK(r2->usage.cached_prompt_tokens == r2->usage.prompt_tokens - 1);  // all reused but the one re-evaluated
}

TEST_CASE("local_model: evaluated prompt tokens over a 10-step conversation grow with its length, not quadratically") {
  auto m = open_tiny_qwen();
  asio::io_context io;
  std::vector<message> conv{message::system("You are a travel agent. Answer briefly."),
                            message::user("Plan a trip from Boston to Rio for two adults.")};
  std::int64_t sum_prompt = 0, sum_evaluated = 0, sum_completion = 0;
  for (int step = 0; step < 10; ++step) {
    model_request req;
    req.messages = conv;
    req.settings.max_tokens = 8;
    auto r = run_sync(io, m->complete(std::move(req)));
    REQUIRE(r);
    if (step > 0) CHECK(r->usage.cached_prompt_tokens > 0);
    sum_prompt += r->usage.prompt_tokens;
    sum_evaluated += r->usage.prompt_tokens - r->usage.cached_prompt_tokens;
    sum_completion += r->usage.completion_tokens;
    conv.push_back(r->reply);
    conv.push_back(message::user(fmt::format("Step {}: the hotel search returned three options near the beach.", step)));
  }
  const std::int64_t final_len = m->count_tokens(conv, {});
  INFO("sum of prompts " << sum_prompt << ", evaluated " << sum_evaluated << ", final conversation " << final_len
                         << ", completions " << sum_completion);
  // Each step evaluates only what it adds: its new message, and the reply it
  // wrote re-tokenized by the template (at most its 8 tokens plus the template's
  // few framing tokens per turn). So the total is the conversation's length
  // plus a small constant per step...
  CHECK(sum_evaluated <= final_len + 10 * 8);
  // ...while re-reading every prefix would cost the sum of all prompts.
  CHECK(sum_prompt >= 4 * sum_evaluated);
  CHECK(m->stats().n_prompt_evaluated == sum_evaluated);
}

TEST_CASE("local_model serves concurrent requests first come, first served") {
  auto m = open_tiny_qwen();
  asio::io_context io;
  std::vector<int> finished;
  std::vector<int> first_piece;
  const int n = 6;
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          model_request req;
          req.messages = {message::user(fmt::format("Request {}{}", i, std::string(static_cast<std::size_t>(n - i) * 8, '!')))};
          req.settings.max_tokens = 2 + 2 * (n - i);  // the first is the longest: shortest-first would reorder
          req.settings.temperature = 1.0;
          req.settings.seed = static_cast<std::uint64_t>(i);
          req.stream.on_token = [&, i](std::string_view) {
            if (std::find(first_piece.begin(), first_piece.end(), i) == first_piece.end()) first_piece.push_back(i);
          };
          auto r = co_await m->complete(std::move(req));
          CHECK(r);
          finished.push_back(i);
        },
        asio::detached);
  }
  io.run();
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  CHECK(finished == order);
  // Streams do not interleave: each request's pieces come before the next one's.
  CHECK(first_piece == order);
  CHECK(m->stats().n_requests == n);
  CHECK(m->stats().queue_depth == 0);
}

TEST_CASE("local_model cancellation: a queued request leaves the queue, a running one stops at the next token") {
  auto m = open_tiny_qwen();
  asio::io_context io;
  asio::cancellation_signal cancel_a, cancel_b;
  std::optional<result<model_response>> ra, rb;
  int a_pieces = 0;
  bool a_done_when_b_cancelled = true;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        model_request req;
        req.messages = {message::user("Write a very long story.")};
        req.settings.max_tokens = 3000;
        req.settings.temperature = 1.0;
        req.settings.seed = 3;
        req.stream.on_token = [&](std::string_view) {
          // The first piece of A: B is queued behind it. Cancel B now, and A
          // a few pieces later.
          if (++a_pieces == 1) {
            a_done_when_b_cancelled = ra.has_value();
            cancel_b.emit(asio::cancellation_type::terminal);
          }
          if (a_pieces == 3) cancel_a.emit(asio::cancellation_type::terminal);
        };
        ra.emplace(co_await m->complete(std::move(req)));
      },
      asio::bind_cancellation_slot(cancel_a.slot(), asio::detached));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        model_request req;
        req.messages = {message::user("Second request.")};
        req.settings.max_tokens = 4;
        rb.emplace(co_await m->complete(std::move(req)));
      },
      asio::bind_cancellation_slot(cancel_b.slot(), asio::detached));
  io.run();

  REQUIRE(ra);
  REQUIRE(rb);
  CHECK_FALSE(a_done_when_b_cancelled);
  REQUIRE_FALSE(*rb);
  CHECK(rb->error().code() == errc::cancelled);
  CHECK(rb->error().describe().find("queue") != std::string::npos);
  REQUIRE_FALSE(*ra);
  CHECK(ra->error().code() == errc::cancelled);
  CHECK(a_pieces < 3000);  // stopped long before its budget
  CHECK(m->stats().n_cancelled == 2);

  // The model goes on serving after cancellations.
  io.restart();
  model_request req;
  req.messages = {message::user("Still there?")};
  req.settings.max_tokens = 3;
  auto r = run_sync(io, m->complete(std::move(req)));
  CHECK(r);
}

TEST_CASE("local_model errors: bad files, bad options, bad settings, context overflow") {
  SECTION("a missing file names the path") {
    agent::local_model_options o;
    o.path = "/nonexistent/model.gguf";
    auto m = local_model::open(o);
    REQUIRE_FALSE(m);
    CHECK(m.error().describe().find("/nonexistent/model.gguf") != std::string::npos);
  }
  SECTION("a model without a chat template needs one in the options") {
    TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
    agent::local_model_options o;
    o.path = path;
    auto m = local_model::open(o);
    REQUIRE_FALSE(m);
    CHECK(m.error().describe().find("chat_template") != std::string::npos);

    TERN_NEED_FIXTURE(tmpl, "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    o.chat_template = read_text(tmpl);
    o.threads = 1;
    auto m2 = local_model::open(o);
    REQUIRE(m2);
    CHECK((*m2)->name() == "local:stories260K.gguf");
    asio::io_context io;
    model_request req;
    req.messages = {message::user("Once upon a time")};
    req.settings.max_tokens = 5;
    auto r = run_sync(io, (*m2)->complete(std::move(req)));
    CHECK(r);
  }
  SECTION("bad options") {
    agent::local_model_options o;
    o.max_sessions = 0;
    auto m = local_model::from_engine(tiny_qwen(), o);
    REQUIRE_FALSE(m);
    CHECK(m.error().code() == errc::invalid_argument);
    CHECK(m.error().describe().find("max_sessions") != std::string::npos);
    auto bad_template = local_model::from_engine(tiny_qwen(), {.chat_template = "{% if %}"});
    REQUIRE_FALSE(bad_template);
    CHECK(bad_template.error().code() == errc::parse_error);
  }
  SECTION("bad settings name the setting") {
    auto m = open_tiny_qwen();
    asio::io_context io;
    auto with = [&](auto edit) {
      model_request req;
      req.messages = {message::user("hi")};
      edit(req);
      return run_sync(io, m->complete(std::move(req)));
    };
    auto t = with([](model_request& r) { r.settings.temperature = -1; });
    REQUIRE_FALSE(t);
    CHECK(t.error().code() == errc::invalid_argument);
    CHECK(t.error().describe().find("temperature") != std::string::npos);
    auto p = with([](model_request& r) { r.settings.top_p = 0; });
    REQUIRE_FALSE(p);
    CHECK(p.error().describe().find("top_p") != std::string::npos);
    auto k = with([](model_request& r) { r.settings.max_tokens = 0; });
    REQUIRE_FALSE(k);
    CHECK(k.error().describe().find("max_tokens") != std::string::npos);
    auto named = with([](model_request& r) { r.choice = agent::tool_choice::named("book_flight"); });
    REQUIRE_FALSE(named);
    CHECK(named.error().describe().find("book_flight") != std::string::npos);
    auto empty = with([](model_request& r) { r.messages.clear(); });
    CHECK_FALSE(empty);
    CHECK(m->stats().n_requests == 0);  // none of these reached the engine
  }
  SECTION("a prompt longer than the context is a context overflow, not a cut") {
    auto m = local_model::from_engine(tiny_qwen(), {.path = "qwen2-tiny-random.gguf", .context_length = 64});
    REQUIRE(m);
    asio::io_context io;
    model_request req;
    std::string long_text;
    for (int i = 0; i < 40; ++i) long_text += fmt::format("word{} ", i);
    req.messages = {message::user(long_text)};
    auto r = run_sync(io, (*m)->complete(std::move(req)));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::limit_exceeded);
    CHECK(r.error().describe().find("context overflow") != std::string::npos);
    CHECK((*m)->count_tokens({message::user(long_text)}, {}) > 64);  // what the agent's context policy checks first
  }
}

TEST_CASE("local_model stream splitter: reasoning, answer and held-back tool-call syntax") {
  using agent::detail::stream_splitter;
  auto collect = [](std::vector<stream_splitter::piece>& into, std::vector<stream_splitter::piece> more) {
    for (auto& p : more) into.push_back(std::move(p));
  };
  auto text_of = [](const std::vector<stream_splitter::piece>& ps, stream_splitter::kind k) {
    std::string s;
    for (const auto& p : ps)
      if (p.k == k) s += p.text;
    return s;
  };
  SECTION("a thought opened by the prompt, its close split across pieces") {
    stream_splitter sp(true, false);
    std::vector<stream_splitter::piece> out;
    for (std::string_view piece : {"I should", " check.</th", "ink>\n\nThe ", "answer."}) collect(out, sp.feed(piece));
    collect(out, sp.finish("The answer.", false));
    CHECK(text_of(out, stream_splitter::kind::reasoning) == "I should check.");
    CHECK(text_of(out, stream_splitter::kind::answer) == "The answer.");
  }
  SECTION("the model opens its own thought") {
    stream_splitter sp(false, false);
    std::vector<stream_splitter::piece> out;
    for (std::string_view piece : {"<thi", "nk>hmm</think>", "ok"}) collect(out, sp.feed(piece));
    collect(out, sp.finish("ok", false));
    CHECK(text_of(out, stream_splitter::kind::reasoning) == "hmm");
    CHECK(text_of(out, stream_splitter::kind::answer) == "ok");
  }
  SECTION("text before a tool call is streamed, the call is not") {
    stream_splitter sp(false, true);
    std::vector<stream_splitter::piece> out;
    for (std::string_view piece : {"Let me look.\n<tool", "_call>\n{\"name\": \"x\"}", "\n</tool_call>"})
      collect(out, sp.feed(piece));
    collect(out, sp.finish("Let me look.", true));
    CHECK(text_of(out, stream_splitter::kind::answer) == "Let me look.\n");
    CHECK(text_of(out, stream_splitter::kind::reasoning).empty());
  }
  SECTION("a JSON answer with tools offered is held until it is known not to be a call") {
    stream_splitter sp(false, true);
    std::vector<stream_splitter::piece> out;
    collect(out, sp.feed("{\"total\": "));
    CHECK(out.empty());
    collect(out, sp.feed("3}"));
    CHECK(out.empty());
    collect(out, sp.finish("{\"total\": 3}", false));
    CHECK(text_of(out, stream_splitter::kind::answer) == "{\"total\": 3}");
  }
}

}  // namespace
}  // namespace tern::test
