// openai_compatible_model against a fake OpenAI-compatible server
// (openai_fake_server.hpp) answering scripted raw bytes.
#include "openai_fake_server.hpp"

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;
using namespace tern::agent;
using namespace tern::test;
}  // namespace

TEST_CASE("openai model: non-streamed answer, usage, and what the client sent") {
  ::setenv("TERN_TEST_OPENAI_KEY", "sk-test-123", 1);
  asio::io_context io;
  fake_server server;
  server.script(json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", "Found 3 flights."}})));
  auto o = options_for(server);
  o.api_key_env = "TERN_TEST_OPENAI_KEY";
  openai_compatible_model m(o);
  auto req = travel_request();
  req.settings.temperature = 0.25;
  req.settings.max_tokens = 64;
  req.settings.seed = 7;
  req.settings.stop = {"</done>"};
  auto r = run_complete(io, m, req);
  REQUIRE(r);
  CHECK(r->reply.role == role::assistant);
  CHECK(r->reply.content == "Found 3 flights.");
  CHECK(r->finish_reason == "stop");
  CHECK(r->usage.prompt_tokens == 12);
  CHECK(r->usage.completion_tokens == 3);
  CHECK(r->usage.cached_prompt_tokens == 8);

  REQUIRE(server.received().size() == 1);
  const auto got = server.received().at(0);
  CHECK(got.method == "POST");
  CHECK(got.target == "/v1/chat/completions");
  CHECK(got.headers.at("authorization") == "Bearer sk-test-123");
  CHECK(got.headers.at("content-type") == "application/json");
  CHECK(got.headers.at("host") == fmt::format("127.0.0.1:{}", server.port()));
  auto body = got.json();
  CHECK(body.at("model") == "fake-model");
  REQUIRE(body.at("messages").as_array().size() == 2);
  CHECK(body.at("messages").as_array()[0].at("role") == "system");
  CHECK(body.at("messages").as_array()[1].at("content") == "Boston to Rio, 2 adults");
  const auto& tool = body.at("tools").as_array().at(0).as_object();
  CHECK(tool.at("type") == "function");
  CHECK(tool.at("function").at("name") == "search_flights");
  CHECK(tool.at("function").at("parameters").at("type") == "object");
  CHECK(body.at("tool_choice") == "auto");
  CHECK(body.at("temperature").as_double() == 0.25);
  CHECK(body.at("max_tokens").to_number<std::int64_t>() == 64);
  CHECK(body.at("seed").to_number<std::int64_t>() == 7);
  CHECK(body.at("stop").as_array().at(0) == "</done>");
  CHECK(!body.contains("stream"));
  CHECK(m.name() == "openai:fake-model");
}

TEST_CASE("openai model: base_url ending in /v1 is not doubled") {
  asio::io_context io;
  fake_server server;
  server.script(json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", "ok"}})));
  auto o = options_for(server);
  o.base_url = server.base_url() + "/api/v1/";
  openai_compatible_model m(o);
  auto r = run_complete(io, m, travel_request());
  REQUIRE(r);
  REQUIRE(server.received().size() == 1);
  CHECK(server.received()[0].target == "/api/v1/chat/completions");
  CHECK(server.received()[0].headers.count("authorization") == 0);
}

TEST_CASE("openai model: non-streamed tool calls; history is sent with string arguments") {
  asio::io_context io;
  fake_server server;
  bj::array calls{
      bj::object{{"id", "call_a"}, {"type", "function"},
                 {"function", bj::object{{"name", "search_flights"}, {"arguments", R"({"from":"BOS","to":"GIG"})"}}}},
      bj::object{{"id", "call_b"}, {"type", "function"},
                 {"function", bj::object{{"name", "search_hotels"}, {"arguments", R"({"city":"Rio"})"}}}}};
  server.script(json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}}, "tool_calls")));
  openai_compatible_model m(options_for(server));
  auto req = travel_request();
  message prior = message::assistant("");
  prior.tool_calls.push_back({"call_0", "search_flights", bj::object{{"from", "BOS"}}});
  prior.reasoning = "private thought";
  req.messages.push_back(prior);
  req.messages.push_back(message::tool_result("call_0", "search_flights", R"({"flights":[]})"));
  req.choice = tool_choice::required();
  auto r = run_complete(io, m, req);
  REQUIRE(r);
  CHECK(r->finish_reason == "tool_calls");
  REQUIRE(r->reply.tool_calls.size() == 2);
  CHECK(r->reply.tool_calls[0].id == "call_a");
  CHECK(r->reply.tool_calls[0].arguments.at("to") == "GIG");
  CHECK(r->reply.tool_calls[1].name == "search_hotels");
  CHECK(r->reply.content.empty());

  auto body = server.received().at(0).json();
  CHECK(body.at("tool_choice") == "required");
  const auto& msgs = body.at("messages").as_array();
  REQUIRE(msgs.size() == 4);
  const auto& sent_call = msgs[2].at("tool_calls").as_array().at(0);
  CHECK(sent_call.at("function").at("arguments").is_string());
  CHECK(sent_call.at("function").at("arguments") == R"({"from":"BOS"})");
  CHECK(msgs[2].at("content").is_null());
  CHECK(!msgs[2].as_object().contains("reasoning_content"));
  CHECK(msgs[3].at("role") == "tool");
  CHECK(msgs[3].at("tool_call_id") == "call_0");
}

TEST_CASE("openai model: streamed text arrives token by token, usage from the last chunk") {
  asio::io_context io;
  fake_server server;
  auto reply = sse_reply({chunk_json(bj::object{{"role", "assistant"}, {"content", ""}}),
                          chunk_json(bj::object{{"content", "Hel"}}), chunk_json(bj::object{{"content", "lo, "}}),
                          chunk_json(bj::object{{"content", "Rio!"}}), chunk_json(bj::object{}, "stop"),
                          bj::serialize(bj::object{{"choices", bj::array{}},
                                                   {"usage", bj::object{{"prompt_tokens", 30}, {"completion_tokens", 4}}}}),
                          "[DONE]"});
  // Split every piece in two so events straddle TCP writes.
  std::vector<std::string> split{reply.pieces[0]};
  for (std::size_t i = 1; i < reply.pieces.size(); ++i) {
    const auto& p = reply.pieces[i];
    split.push_back(p.substr(0, p.size() / 2));
    split.push_back(p.substr(p.size() / 2));
  }
  reply.pieces = split;
  reply.gap = 2ms;
  server.script(reply);
  auto o = options_for(server);
  o.stream = true;
  openai_compatible_model m(o);
  auto req = travel_request();
  std::vector<std::string> tokens;
  req.stream.on_token = [&](std::string_view t) { tokens.emplace_back(t); };
  auto r = run_complete(io, m, req);
  REQUIRE(r);
  CHECK(r->reply.content == "Hello, Rio!");
  CHECK(tokens == std::vector<std::string>{"Hel", "lo, ", "Rio!"});
  CHECK(r->finish_reason == "stop");
  CHECK(r->usage.prompt_tokens == 30);
  CHECK(r->usage.completion_tokens == 4);
  auto body = server.received().at(0).json();
  CHECK(body.at("stream") == true);
  CHECK(body.at("stream_options").at("include_usage") == true);
  CHECK(server.received()[0].headers.at("accept") == "text/event-stream");
}

TEST_CASE("openai model: parallel tool calls streamed as interleaved deltas (chunked body)") {
  asio::io_context io;
  fake_server server;
  auto call_delta = [](int index, std::string_view id, std::string_view name, std::string_view args) {
    bj::object fn;
    if (!name.empty()) fn["name"] = name;
    fn["arguments"] = args;
    bj::object c{{"index", index}, {"function", fn}};
    if (!id.empty()) {
      c["id"] = id;
      c["type"] = "function";
    }
    return bj::object{{"tool_calls", bj::array{c}}};
  };
  server.script(sse_reply(
      {chunk_json(call_delta(0, "call_f", "search_flights", "")), chunk_json(call_delta(1, "call_h", "search_hotels", "")),
       chunk_json(call_delta(0, "", "", R"({"from":)")), chunk_json(call_delta(1, "", "", R"({"city")")),
       chunk_json(call_delta(0, "", "", R"("BOS"})")), chunk_json(call_delta(1, "", "", R"(:"Rio","nights":5})")),
       chunk_json(bj::object{}, "tool_calls"), "[DONE]"},
      /*chunked=*/true));
  auto o = options_for(server);
  o.stream = true;
  openai_compatible_model m(o);
  auto r = run_complete(io, m, travel_request());
  REQUIRE(r);
  CHECK(r->finish_reason == "tool_calls");
  REQUIRE(r->reply.tool_calls.size() == 2);
  CHECK(r->reply.tool_calls[0].id == "call_f");
  CHECK(r->reply.tool_calls[0].name == "search_flights");
  CHECK(r->reply.tool_calls[0].arguments == bj::object{{"from", "BOS"}});
  CHECK(r->reply.tool_calls[1].id == "call_h");
  CHECK(r->reply.tool_calls[1].arguments.at("nights").to_number<int>() == 5);
}

TEST_CASE("openai model: streamed reasoning goes to on_reasoning, not the answer") {
  asio::io_context io;
  fake_server server;
  server.script(sse_reply({chunk_json(bj::object{{"reasoning_content", "Budget is 3000. "}}),
                           chunk_json(bj::object{{"content", "Booked."}}), chunk_json(bj::object{}, "stop"), "[DONE]"}));
  auto o = options_for(server);
  o.stream = true;
  openai_compatible_model m(o);
  auto req = travel_request();
  std::string thought;
  req.stream.on_reasoning = [&](std::string_view t) { thought += t; };
  auto r = run_complete(io, m, req);
  REQUIRE(r);
  CHECK(thought == "Budget is 3000. ");
  CHECK(r->reply.reasoning == "Budget is 3000. ");
  CHECK(r->reply.content == "Booked.");
}

TEST_CASE("openai model: HTTP 401 reports the server's message, never the key") {
  ::setenv("TERN_TEST_OPENAI_KEY", "sk-secret-999", 1);
  asio::io_context io;
  fake_server server;
  server.script(json_reply(401, bj::object{{"error", bj::object{{"message", "Incorrect API key provided"}, {"type", "invalid_request_error"}}}}));
  auto o = options_for(server);
  o.api_key_env = "TERN_TEST_OPENAI_KEY";
  openai_compatible_model m(o);
  auto r = run_complete(io, m, travel_request());
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::http_status);
  CHECK(r.error().message() == "HTTP 401: Incorrect API key provided");
  CHECK(r.error().to_string().find("sk-secret") == std::string::npos);
  CHECK(server.received().size() == 1);  // 401 is not retried
}

TEST_CASE("openai model: 429 with Retry-After is retried; without retries it is an error naming the delay") {
  asio::io_context io;
  fake_server server;
  auto limited = json_reply(429, bj::object{{"error", bj::object{{"message", "Rate limit reached"}}}}, "Retry-After: 0\r\n");
  server.script(limited);
  server.script(json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", "after retry"}})));
  openai_compatible_model m(options_for(server));
  auto r = run_complete(io, m, travel_request());
  REQUIRE(r);
  CHECK(r->reply.content == "after retry");
  CHECK(server.received().size() == 2);

  server.script(json_reply(429, bj::object{{"error", bj::object{{"message", "Rate limit reached"}}}}, "Retry-After: 7\r\n"));
  auto o = options_for(server);
  o.max_attempts = 1;
  openai_compatible_model once(o);
  auto e = run_complete(io, once, travel_request());
  REQUIRE(!e);
  CHECK(e.error().code() == tern::errc::http_status);
  CHECK(e.error().message() == "HTTP 429: Rate limit reached (retry after 7 s)");

  // A Retry-After beyond max_retry_after is not waited for.
  server.script(json_reply(429, bj::object{{"error", "slow down"}}, "Retry-After: 120\r\n"));
  openai_compatible_model patient(options_for(server));
  auto e2 = run_complete(io, patient, travel_request());
  REQUIRE(!e2);
  CHECK(e2.error().message() == "HTTP 429: slow down (retry after 120 s)");
}

TEST_CASE("openai model: 500 is retried up to max_attempts, then reported with a text body") {
  asio::io_context io;
  fake_server server;
  for (int i = 0; i < 3; ++i) server.script({{raw_response(500, "text/plain", "upstream exploded")}});
  openai_compatible_model m(options_for(server));
  auto r = run_complete(io, m, travel_request());
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::http_status);
  CHECK(r.error().message() == "HTTP 500: upstream exploded");
  CHECK(server.received().size() == 3);
  CHECK(r.error().describe().find("/v1/chat/completions") != std::string::npos);
}

TEST_CASE("openai model: malformed JSON and malformed stream chunks are named") {
  asio::io_context io;
  fake_server server;
  server.script({{raw_response(200, "application/json", R"({"choices": [ {"message": )")}});
  openai_compatible_model m(options_for(server));
  auto r = run_complete(io, m, travel_request());
  REQUIRE(!r);
  CHECK(r.error().to_string().find("chat completion response") != std::string::npos);

  server.script(json_reply(200, bj::object{{"object", "chat.completion"}, {"choices", bj::array{}}}));
  auto r2 = run_complete(io, m, travel_request());
  REQUIRE(!r2);
  CHECK(r2.error().code() == tern::errc::bad_response);
  CHECK(r2.error().message() == "chat completion response has no choices");

  auto o = options_for(server);
  o.stream = true;
  openai_compatible_model streaming(o);
  server.script(sse_reply({chunk_json(bj::object{{"content", "ok"}}), R"({"choices": [{"delta": {"content": "x"})", "[DONE]"}));
  auto r3 = run_complete(io, streaming, travel_request());
  REQUIRE(!r3);
  CHECK(r3.error().code() == tern::errc::bad_response);
  CHECK(r3.error().describe().find("stream event 2") != std::string::npos);
  CHECK(r3.error().message().find("malformed JSON in stream chunk") != std::string::npos);

  // Tool-call arguments that are not JSON.
  server.script(sse_reply({chunk_json(bj::object{{"tool_calls", bj::array{bj::object{{"index", 0}, {"id", "c"},
      {"function", bj::object{{"name", "book"}, {"arguments", "{\"hotel\": "}}}}}}}), "[DONE]"}));
  auto r4 = run_complete(io, streaming, travel_request());
  REQUIRE(!r4);
  CHECK(r4.error().describe().find("arguments of streamed tool call 0 ('book')") != std::string::npos);

  // An error object inside the stream.
  server.script(sse_reply({R"({"error": {"message": "model overloaded"}})"}));
  auto r5 = run_complete(io, streaming, travel_request());
  REQUIRE(!r5);
  CHECK(r5.error().message() == "server error in stream: model overloaded");

  // A stream with no chunks at all.
  server.script(sse_reply({}));
  auto r6 = run_complete(io, streaming, travel_request());
  REQUIRE(!r6);
  CHECK(r6.error().message() == "the event stream ended without any chunk");
}

TEST_CASE("openai model: a stalled server times out; an oversized response is refused") {
  asio::io_context io;
  fake_server server;
  scripted_reply stall;
  stall.stall = true;
  server.script(stall);
  auto o = options_for(server);
  o.read_timeout = 150ms;
  o.max_attempts = 1;
  openai_compatible_model m(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_complete(io, m, travel_request());
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::timeout);
  CHECK(r.error().message() == "timed out while reading the response header");
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);

  // A server that drips an event stream: each read is quick, total_timeout ends it.
  auto drip = sse_reply(std::vector<std::string>(100, chunk_json(bj::object{{"content", "."}})));
  drip.gap = 20ms;
  server.script(drip);
  auto o2 = options_for(server);
  o2.stream = true;
  o2.total_timeout = 200ms;
  openai_compatible_model dripping(o2);
  auto r2 = run_complete(io, dripping, travel_request());
  REQUIRE(!r2);
  CHECK(r2.error().code() == tern::errc::timeout);

  server.script(json_reply(200, completion(bj::object{{"role", "assistant"}, {"content", std::string(4096, 'x')}})));
  auto o3 = options_for(server);
  o3.max_response_bytes = 1024;
  openai_compatible_model small(o3);
  auto r3 = run_complete(io, small, travel_request());
  REQUIRE(!r3);
  CHECK(r3.error().code() == tern::errc::limit_exceeded);
}

TEST_CASE("openai model: cancellation through the awaiting coroutine's slot") {
  asio::io_context io;
  fake_server server;
  scripted_reply stall;
  stall.stall = true;
  server.script(stall);
  auto o = options_for(server);
  o.read_timeout = 10s;
  openai_compatible_model m(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_complete(io, m, travel_request(), 50ms);
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("openai model: transport and configuration errors") {
  asio::io_context io;
  unsigned short closed_port = 0;
  {
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  openai_model_options o;
  o.base_url = fmt::format("http://127.0.0.1:{}", closed_port);
  o.model = "m";
  openai_compatible_model refused(o);
  auto r = run_complete(io, refused, travel_request());
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::transport);

  o.api_key_env = "TERN_TEST_SURELY_UNSET_KEY_VARIABLE";
  ::unsetenv("TERN_TEST_SURELY_UNSET_KEY_VARIABLE");
  openai_compatible_model no_key(o);
  auto r2 = run_complete(io, no_key, travel_request());
  REQUIRE(!r2);
  CHECK(r2.error().code() == tern::errc::invalid_argument);
  CHECK(r2.error().message().find("TERN_TEST_SURELY_UNSET_KEY_VARIABLE") != std::string::npos);

  for (const char* bad : {"ftp://x", "http://", "http://host:99999", "http://[::1"}) {
    openai_model_options b;
    b.base_url = bad;
    openai_compatible_model m(b);
    auto e = run_complete(io, m, travel_request());
    REQUIRE(!e);
    CHECK(e.error().code() == tern::errc::invalid_argument);
  }
}

TEST_CASE("openai model: request body for a named tool, a response schema, and no tools") {
  openai_model_options o;
  o.base_url = "https://api.example.com/v1";
  o.model = "gpt-x";
  openai_compatible_model m(o);
  auto req = travel_request();
  req.choice = tool_choice::named("search_flights");
  req.response_schema = bj::object{{"type", "object"}, {"required", bj::array{"steps"}}};
  req.settings.top_p = 0.9;
  auto body = m.request_body(req);
  CHECK(body.at("tool_choice").at("type") == "function");
  CHECK(body.at("tool_choice").at("function").at("name") == "search_flights");
  CHECK(body.at("response_format").at("type") == "json_schema");
  CHECK(body.at("response_format").at("json_schema").at("schema").at("required").as_array().at(0) == "steps");
  CHECK(body.at("top_p").as_double() == 0.9);
  CHECK(body.at("stream") == true);

  req.tools.clear();
  auto plain = m.request_body(req);
  CHECK(!plain.contains("tools"));
  CHECK(!plain.contains("tool_choice"));
}
