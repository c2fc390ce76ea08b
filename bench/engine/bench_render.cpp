// Chat templates: parse and render time per model family, for a typical
// agent prompt (system prompt, two tool definitions, a user turn, one tool
// call and its result, the answer; generation prompt on). The bound is 1 ms
// per render; `ratio_to_1ms` is the measured time divided by it.
//
//   cmake -S . -B build-bench -G Ninja -DTERN_CUDA=OFF -DTERN_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release
//   ninja -C build-bench bench_render && build-bench/bench/bench_render
#include <tern/core/json.hpp>
#include <tern/engine/chat_template.hpp>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

const std::filesystem::path dir = std::filesystem::path(TERN_SOURCE_DIR) / "tests/data/chat-templates";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

boost::json::object conversation() {
  auto doc = tern::json::parse(read_file(dir / "conversations/tool_call.json"));
  auto vars = tern::engine::conversation_variables(*doc);
  (*vars)["add_generation_prompt"] = true;
  (*vars)["bos_token"] = "<s>";
  (*vars)["eos_token"] = "</s>";
  return *vars;
}

const benchmark::Counter ratio_to_1ms(1e-3, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);

void bench_parse(benchmark::State& state, std::string file) {
  const std::string source = read_file(dir / file);
  for (auto _ : state) {
    auto t = tern::engine::chat_template::parse(source, file);
    if (!t) state.SkipWithError(t.error().to_string().c_str());
    benchmark::DoNotOptimize(t);
  }
  state.counters["ratio_to_1ms"] = ratio_to_1ms;
}

void bench_render(benchmark::State& state, std::string file) {
  auto t = tern::engine::chat_template::parse(read_file(dir / file), file);
  if (!t) {
    state.SkipWithError(t.error().to_string().c_str());
    return;
  }
  const auto vars = conversation();
  tern::engine::render_options opts;
  opts.date = tern::engine::calendar_date{2024, 7, 26};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto out = t->render(vars, opts);
    if (!out) {
      state.SkipWithError(out.error().to_string().c_str());
      break;
    }
    bytes = out->size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["prompt_bytes"] = static_cast<double>(bytes);
  state.counters["ratio_to_1ms"] = ratio_to_1ms;
}

const char* templates[] = {
    "Qwen-Qwen2.5-7B-Instruct.jinja",         "Qwen-Qwen3-0.6B.jinja",
    "Qwen-QwQ-32B.jinja",                     "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "meta-llama-Llama-3.2-3B-Instruct.jinja", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "HuggingFaceTB-SmolLM3-3B.jinja",         "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
};

}  // namespace

int main(int argc, char** argv) {
  for (const char* t : templates) {
    benchmark::RegisterBenchmark((std::string("parse/") + t).c_str(), bench_parse, std::string(t))
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("render/") + t).c_str(), bench_render, std::string(t))
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
