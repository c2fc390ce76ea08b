// Test support for local_model: a random-weight qwen2 model carrying the real
// Qwen2.5 tokenizer and chat template (copied from
// tests/data/models/qwen2-vocab.gguf by the engine's random-model writer),
// built once per test process; tool specs with real schemas; a way to run one
// coroutine to completion.
#pragma once

#include "local_model_impl.hpp"

#include <tern/agent/local_model.hpp>
#include <tern/core/json.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/random_model.hpp>
#include <tern/tools/tool.hpp>

#include "fixtures.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace tern::test {

namespace asio = boost::asio;

// 2 layers, 64 wide, Q8_0, the full 151,936-token Qwen2 vocabulary.
inline std::shared_ptr<const engine::model> tiny_qwen() {
  static const std::shared_ptr<const engine::model> m = [] {
    auto vocab = engine::gguf_file::open(test_data("models/qwen2-vocab.gguf"));
    REQUIRE(vocab);
    engine::random_model_spec spec;
    spec.arch = "qwen2";
    spec.n_layer = 2;
    spec.n_embd = 64;
    spec.n_head = 4;
    spec.n_head_kv = 2;
    spec.n_ff = 128;
    spec.n_ctx = 4096;
    spec.type = engine::tensor_type::q8_0;
    spec.seed = 11;
    spec.vocab = &*vocab;
    const auto path = std::filesystem::temp_directory_path() / fmt::format("tern-localmodel-{}.gguf", ::getpid());
    REQUIRE(engine::write_random_model(spec, path));
    auto loaded = engine::model::load(path, {.n_threads = 1});
    std::error_code ec;
    std::filesystem::remove(path, ec);  // the mapping stays valid
    REQUIRE(loaded);
    return *loaded;
  }();
  return m;
}

inline std::shared_ptr<agent::local_model> open_tiny_qwen(agent::local_model_options o = {}) {
  if (o.path.empty()) o.path = "qwen2-tiny-random.gguf";  // only names the model
  auto m = agent::local_model::from_engine(tiny_qwen(), std::move(o));
  REQUIRE(m);
  return *m;
}

inline std::string read_text(const std::filesystem::path& p);

// llama-2-tiny-random (8 wide, one layer, the 32,000-token Llama 2 vocabulary)
// with the Qwen2.5 chat template: the cheapest model that still runs the
// whole path (Hermes tool calls matched by plain bytes). For tests that
// generate many tokens.
inline std::shared_ptr<agent::local_model> open_tiny_llama() {
  static const std::shared_ptr<const engine::model> m = [] {
    auto loaded = engine::model::load(test_data("models/llama-2-tiny-random.gguf"), {.n_threads = 1});
    REQUIRE(loaded);
    return *loaded;
  }();
  agent::local_model_options o;
  o.path = "llama-2-tiny-random.gguf";
  o.chat_template = read_text(test_data("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
  auto lm = agent::local_model::from_engine(m, std::move(o));
  REQUIRE(lm);
  return *lm;
}

inline boost::json::object schema(std::string_view text) {
  auto v = json::parse(text);
  REQUIRE(v);
  REQUIRE(v->is_object());
  return v->as_object();
}

inline std::vector<tools::tool_spec> flight_tools() {
  return {
      {"search_flights", "Searches flights between two airports on a date.",
       schema(R"({"type":"object","properties":{"from":{"type":"string","pattern":"^[A-Z]{3}$"},)"
              R"("to":{"type":"string","pattern":"^[A-Z]{3}$"},"date":{"type":"string","format":"date"},)"
              R"("adults":{"type":"integer","minimum":1,"maximum":9}},"required":["from","to","date"],)"
              R"("additionalProperties":false})")},
      {"book_flight", "Books a flight by its id.",
       schema(R"({"type":"object","properties":{"flight_id":{"type":"string","minLength":1,"maxLength":16},)"
              R"("passengers":{"type":"array","items":{"type":"string","minLength":1,"maxLength":20},)"
              R"("minItems":1,"maxItems":4}},"required":["flight_id","passengers"],"additionalProperties":false})")},
  };
}

inline std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs one awaitable on io until it finishes; io is restarted for reuse.
template <class T>
T run_sync(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(aw)); }, asio::detached);
  io.run();
  io.restart();
  REQUIRE(out);
  return std::move(*out);
}

}  // namespace tern::test
