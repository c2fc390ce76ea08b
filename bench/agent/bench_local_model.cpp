// local_model costs beside generation itself:
//  1. queue overhead per request: complete() of a request whose prompt is all
//     in the KV cache, generating one token, minus engine::generate doing the
//     same on a session directly (median of many). What remains is the job,
//     the queue, the worker hand-off, the template render, tokenizing, and the
//     post back to the caller's executor. Bound: 100 us (the agent loop's
//     per-step target, which a model turn should not eat alone).
//  2. decode tokens/s through local_model (streamed to on_token on the
//     caller's executor) vs engine::generate directly, same model, prompt,
//     sampling and token count. Bound: 1.0 (no slowdown).
// Model: tests/data/models/llama-2-tiny-random.gguf with the Qwen2.5 chat
// template (or a GGUF given as argv[1], with its own template).
#include <tern/agent/local_model.hpp>
#include <tern/core/clock.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

using namespace tern;
namespace asio = boost::asio;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class T>
T run_sync(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(aw)); }, asio::detached);
  io.run();
  io.restart();
  return std::move(*out);
}

}  // namespace

int main(int argc, char** argv) {
  // Default: llama-2-tiny-random (8 wide, 1 layer, 32,000-token vocabulary)
  // with the Qwen2.5 template, so the engine's own time is small and the
  // overhead around it shows. argv[1]: another GGUF (with its own template).
  const std::filesystem::path src(TERN_SOURCE_DIR);
  std::filesystem::path path = argc > 1 ? std::filesystem::path(argv[1]) : src / "tests/data/models/llama-2-tiny-random.gguf";
  auto em = engine::model::load(path, {.n_threads = 1});
  if (!em) return fmt::print(stderr, "{}\n", em.error().describe()), 1;
  agent::local_model_options lo;
  lo.path = path;
  if (argc <= 1) {
    std::ifstream in(src / "tests/data/chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    lo.chat_template = ss.str();
  }
  auto lm = agent::local_model::from_engine(*em, lo);
  if (!lm) return fmt::print(stderr, "{}\n", lm.error().describe()), 1;
  auto& m = **lm;
  const auto& tok = *(*em)->vocab();
  asio::io_context io;

  std::vector<agent::message> msgs{agent::message::system("You are a travel agent."),
                                   agent::message::user("Find me a flight from Boston to Rio.")};
  const auto prompt_text = *m.render_prompt(msgs, {});
  const auto prompt = tok.encode(prompt_text, true, true);

  // 1. Queue overhead, one cached-prompt token per request.
  const int n = 300;
  std::vector<double> via_model, direct;
  for (int i = 0; i < n + 10; ++i) {
    agent::model_request req;
    req.messages = msgs;
    req.settings.max_tokens = 1;
    stopwatch sw;
    auto r = run_sync(io, m.complete(std::move(req)));
    const double us = sw.elapsed_ms() * 1000;
    if (!r) return fmt::print(stderr, "{}\n", r.error().describe()), 1;
    if (i >= 10) via_model.push_back(us);
  }
  engine::session s(*em, 4096);
  engine::generate_options go;
  go.max_tokens = 1;
  for (int i = 0; i < n + 10; ++i) {
    stopwatch sw;
    auto g = engine::generate(s, tok, prompt, go);
    const double us = sw.elapsed_ms() * 1000;
    if (!g) return fmt::print(stderr, "{}\n", g.error().describe()), 1;
    if (i >= 10) direct.push_back(us);
  }
  const double overhead = median(via_model) - median(direct);
  fmt::print("queue overhead per request (cached prompt of {} tokens, 1 token generated): local_model {:.1f} us, "
             "engine::generate {:.1f} us, overhead {:.1f} us; bound 100 us; ratio {:.3f}\n",
             prompt.size(), median(via_model), median(direct), overhead, overhead / 100.0);

  // 2. Decode speed, 256 sampled tokens (seeded; a greedy random model repeats a control token).
  const int n_tok = 256;
  std::vector<double> tps_model, tps_direct;
  for (int rep = 0; rep < 5; ++rep) {
    agent::model_request req;
    req.messages = msgs;
    req.messages.push_back(agent::message::user(fmt::format("Attempt {}.", rep)));  // a fresh tail each time
    req.settings.max_tokens = n_tok;
    req.settings.temperature = 1.0;
    req.settings.seed = 42;
    std::size_t streamed = 0;
    req.stream.on_token = [&](std::string_view piece) { streamed += piece.size(); };
    stopwatch sw;
    auto r = run_sync(io, m.complete(std::move(req)));
    const double ms = sw.elapsed_ms();
    if (!r) return fmt::print(stderr, "{}\n", r.error().describe()), 1;
    tps_model.push_back(static_cast<double>(r->usage.completion_tokens) / (ms / 1000));

    std::vector<agent::message> m2 = msgs;
    m2.push_back(agent::message::user(fmt::format("Attempt {}.", rep)));
    const auto p2 = tok.encode(*m.render_prompt(m2, {}), true, true);
    engine::generate_options g2;
    g2.max_tokens = n_tok;
    g2.sampling.temperature = 1.0f;
    g2.sampling.seed = 42;
    stopwatch sw2;
    auto g = engine::generate(s, tok, p2, g2, [&](std::string_view piece) { streamed += piece.size(); return true; });
    const double ms2 = sw2.elapsed_ms();
    if (!g) return fmt::print(stderr, "{}\n", g.error().describe()), 1;
    tps_direct.push_back(static_cast<double>(g->stats.n_generated) / (ms2 / 1000));
  }
  const double a = median(tps_model), b = median(tps_direct);
  fmt::print("decode, {} tokens, median of 5: local_model {:.0f} tok/s, engine::generate {:.0f} tok/s; "
             "bound 1.0; ratio {:.3f}\n",
             n_tok, a, b, a / b);
  return 0;
}
