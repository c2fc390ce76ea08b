#include <tern/engine/vocab.hpp>

namespace tern::engine {

namespace {
struct pre_name {
  std::string_view name;
  pre_tokenizer pre;
};
// tokenizer.ggml.pre names and the split regex llama.cpp (3f545bec) uses for
// each; names whose regex we do not implement are left out (and fall back to
// the default, as in llama.cpp for an unknown name).
constexpr pre_name pre_names[] = {
    {"default", pre_tokenizer::default_bpe},
    {"llama3", pre_tokenizer::llama3},        {"llama-v3", pre_tokenizer::llama3},
    {"llama-bpe", pre_tokenizer::llama3},     {"falcon3", pre_tokenizer::llama3},
    {"falcon-h1", pre_tokenizer::llama3},     {"pixtral", pre_tokenizer::llama3},
    {"midm-2.0", pre_tokenizer::llama3},      {"lfm2", pre_tokenizer::llama3},
    {"qwen2", pre_tokenizer::qwen2},          {"deepseek-r1-qwen", pre_tokenizer::qwen2},
    {"kormo", pre_tokenizer::qwen2},          {"stablelm2", pre_tokenizer::qwen2},
    {"megrez", pre_tokenizer::qwen2},         {"hunyuan", pre_tokenizer::qwen2},
    {"smollm", pre_tokenizer::smollm},        {"starcoder", pre_tokenizer::smollm},
    {"refact", pre_tokenizer::smollm},        {"command-r", pre_tokenizer::smollm},
    {"codeshell", pre_tokenizer::smollm},     {"exaone", pre_tokenizer::smollm},
    {"minerva-7b", pre_tokenizer::smollm},
    {"gpt-2", pre_tokenizer::gpt2},           {"phi-2", pre_tokenizer::gpt2},
    {"jina-es", pre_tokenizer::gpt2},         {"jina-de", pre_tokenizer::gpt2},
    {"gigachat", pre_tokenizer::gpt2},        {"jina-v2-es", pre_tokenizer::gpt2},
    {"jina-v2-de", pre_tokenizer::gpt2},      {"a.x-4.0", pre_tokenizer::gpt2},
    {"mellum", pre_tokenizer::gpt2},          {"jina-v1-en", pre_tokenizer::gpt2},
    {"jina-v2-code", pre_tokenizer::gpt2},    {"roberta-bpe", pre_tokenizer::gpt2},
    {"mpt", pre_tokenizer::gpt2},             {"olmo", pre_tokenizer::gpt2},
    {"jais", pre_tokenizer::gpt2},            {"trillion", pre_tokenizer::gpt2},
    {"granite-docling", pre_tokenizer::gpt2}, {"exaone4", pre_tokenizer::gpt2},
};
}  // namespace

pre_tokenizer pre_tokenizer_from_name(std::string_view name, bool* known) noexcept {
  for (const auto& p : pre_names) {
    if (p.name == name) {
      if (known) *known = true;
      return p.pre;
    }
  }
  if (known) *known = false;
  return pre_tokenizer::default_bpe;
}

std::string_view to_string(pre_tokenizer pre) noexcept {
  switch (pre) {
    case pre_tokenizer::none: return "none";
    case pre_tokenizer::default_bpe: return "default";
    case pre_tokenizer::gpt2: return "gpt2";
    case pre_tokenizer::llama3: return "llama3";
    case pre_tokenizer::qwen2: return "qwen2";
    case pre_tokenizer::smollm: return "smollm";
  }
  return "?";
}

}  // namespace tern::engine
