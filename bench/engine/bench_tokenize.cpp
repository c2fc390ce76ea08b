// Tokenizer speed: building the Qwen2.5 vocabulary (151936 tokens, 151387
// merges) from its GGUF file, and encode / decode throughput.
//
//   cmake -S . -B build -G Ninja -DTERN_CUDA=OFF -DTERN_BUILD_BENCH=ON
//   ninja -C build bench_tokenize && ./build/bench/bench_tokenize
//
// Bounds printed for comparison: the GGUF parse alone (what any loader pays
// before building tables), and for encode the memory copy of the same text.
#include <tern/engine/gguf.hpp>
#include <tern/engine/tokenizer.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

using namespace tern::engine;

namespace {

std::string model_path(const char* name) { return std::string(TERN_SOURCE_DIR) + "/tests/data/models/" + name; }

// About 1 MB of text: llama.cpp's tokenizer test strings (mixed scripts,
// whitespace, code) and pseudo-English prose, deterministic.
const std::string& sample_text() {
  static const std::string text = [] {
    std::ifstream in(model_path("vocab-tests/ggml-vocab-qwen2.gguf.inp"), std::ios::binary);
    const std::string mixed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    static const char* words[] = {"the", "flight", "from", "Boston", "to", "Rio", "leaves", "at", "9:45", "and",
                                  "costs", "$1,234.56;", "book", "a", "hotel", "near", "the", "beach", "for",
                                  "two", "adults,", "please.", "Don't", "exceed", "budget!", "{\"date\":",
                                  "\"2026-03-14\"}", "tokenizer", "merges", "quickly"};
    std::mt19937 rng(42);
    std::string s;
    while (s.size() < 1'000'000) {
      for (int i = 0; i < 200; ++i) {
        s += words[rng() % std::size(words)];
        s += (rng() % 17 == 0) ? "\n" : " ";
      }
      if (rng() % 4 == 0) s += mixed;
    }
    return s;
  }();
  return text;
}

const tokenizer& qwen() {
  static tokenizer t = std::move(tokenizer::load(model_path("qwen2-vocab.gguf"))).value();
  return t;
}
const tokenizer& llama() {
  static tokenizer t = std::move(tokenizer::load(model_path("llama-2-tiny-random.gguf"))).value();
  return t;
}

void BM_gguf_parse_qwen(benchmark::State& state) {
  for (auto _ : state) {
    auto f = gguf_file::open(model_path("qwen2-vocab.gguf"));
    benchmark::DoNotOptimize(f.has_value());
  }
}
BENCHMARK(BM_gguf_parse_qwen)->Unit(benchmark::kMillisecond);

void BM_load_qwen_tokenizer(benchmark::State& state) {
  for (auto _ : state) {
    auto t = tokenizer::load(model_path("qwen2-vocab.gguf"));
    if (!t) state.SkipWithError("cannot load qwen2-vocab.gguf");
    benchmark::DoNotOptimize(t.has_value());
  }
}
BENCHMARK(BM_load_qwen_tokenizer)->Unit(benchmark::kMillisecond);

void BM_load_llama_tokenizer(benchmark::State& state) {
  for (auto _ : state) {
    auto t = tokenizer::load(model_path("llama-2-tiny-random.gguf"));
    benchmark::DoNotOptimize(t.has_value());
  }
}
BENCHMARK(BM_load_llama_tokenizer)->Unit(benchmark::kMillisecond);

void BM_memcpy_text(benchmark::State& state) {
  const std::string& text = sample_text();
  std::string copy(text.size(), '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), text.data(), text.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_memcpy_text);

void BM_encode_qwen(benchmark::State& state) {
  const std::string& text = sample_text();
  const tokenizer& t = qwen();
  std::size_t n = 0;
  for (auto _ : state) {
    auto ids = t.encode(text, false, false);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n);
}
BENCHMARK(BM_encode_qwen)->Unit(benchmark::kMillisecond);

void BM_encode_llama_spm(benchmark::State& state) {
  const std::string& text = sample_text();
  const tokenizer& t = llama();
  std::size_t n = 0;
  for (auto _ : state) {
    auto ids = t.encode(text, false, false);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n);
}
BENCHMARK(BM_encode_llama_spm)->Unit(benchmark::kMillisecond);

void BM_decode_qwen(benchmark::State& state) {
  const std::string& text = sample_text();
  const tokenizer& t = qwen();
  const auto ids = t.encode(text, false, false);
  for (auto _ : state) {
    auto s = t.decode(ids);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_decode_qwen)->Unit(benchmark::kMillisecond);

void BM_stream_detok_qwen(benchmark::State& state) {
  const std::string& text = sample_text();
  const tokenizer& t = qwen();
  const auto ids = t.encode(text, false, false);
  for (auto _ : state) {
    detokenizer d(t);
    std::size_t n = 0;
    for (auto id : ids) n += d.push(id).size();
    n += d.flush().size();
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_stream_detok_qwen)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
