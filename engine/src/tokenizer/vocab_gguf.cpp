// The vocabulary of a GGUF file (tokenizer.ggml.* keys), with the defaults
// llama.cpp (llama-vocab.cpp, 3f545bec) uses when a key is absent.
#include <tern/core/log.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/tokenizer.hpp>

#include <fmt/format.h>

namespace tern::engine {

namespace {

error key_fail(const gguf_file& f, errc code, std::string_view key, std::string message) {
  return fail(code, std::move(message)).at(fmt::format("key '{}'", key)).at(f.name());
}

// Names whose detokenization keeps spaces as they are (llama.cpp's
// clean_spaces = false); other BPE vocabularies clean them up.
bool keeps_spaces(std::string_view pre) {
  for (std::string_view n : {"qwen2", "deepseek-r1-qwen", "kormo", "smollm", "command-r", "deepseek-llm",
                             "deepseek-coder", "deepseek-v3", "poro-chat", "viking", "tekken", "chameleon",
                             "gpt-4o", "llama4", "superbpe", "trillion", "granite-docling"})
    if (pre == n) return true;
  return false;
}

}  // namespace

result<vocab> vocab_from_gguf(const gguf_file& f) {
  vocab v;
  TERN_TRY(std::string_view model, f.get_string("tokenizer.ggml.model"));
  TERN_TRY(std::string_view pre, f.get_string_or("tokenizer.ggml.pre", ""));
  v.pre_name = std::string(pre);

  if (model == "llama") {
    v.model = vocab_model::spm;
    v.pre = pre_tokenizer::none;
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
  } else if (model == "gpt2") {
    v.model = vocab_model::bpe;
    bool known = false;
    v.pre = pre_tokenizer_from_name(pre, &known);
    if (!known)
      log::warn("{}: tokenizer.ggml.pre '{}' is not one we know; using the default pre-tokenizer", f.name(), pre);
    v.bos = 11;
    v.eos = 11;
    v.clean_spaces = !keeps_spaces(pre);
    if (v.pre == pre_tokenizer::llama3) {
      v.ignore_merges = true;
      v.add_bos = true;
    }
  } else {
    return key_fail(f, errc::unsupported, "tokenizer.ggml.model",
                    fmt::format("tokenizer model '{}' is not supported (only 'llama' and 'gpt2')", model));
  }

  TERN_TRY(std::span<const std::string_view> tokens, f.get_string_array("tokenizer.ggml.tokens"));
  const std::size_t n = tokens.size();
  if (n == 0) return key_fail(f, errc::parse_error, "tokenizer.ggml.tokens", "the token list is empty");
  v.tokens.reserve(n);
  for (std::string_view t : tokens) v.tokens.emplace_back(t);

  if (f.has("tokenizer.ggml.scores")) {
    TERN_TRY(v.scores, f.get_f32_array("tokenizer.ggml.scores"));
    if (v.scores.size() != n)
      return key_fail(f, errc::parse_error, "tokenizer.ggml.scores",
                      fmt::format("has {} elements for {} tokens", v.scores.size(), n));
  }
  if (f.has("tokenizer.ggml.token_type")) {
    TERN_TRY(std::vector<std::int32_t> types, f.get_i32_array("tokenizer.ggml.token_type"));
    if (types.size() != n)
      return key_fail(f, errc::parse_error, "tokenizer.ggml.token_type",
                      fmt::format("has {} elements for {} tokens", types.size(), n));
    v.types.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      v.types[i] = types[i] >= 0 && types[i] <= 6 ? static_cast<token_type>(types[i]) : token_type::undefined;
  }
  if (v.model == vocab_model::bpe) {
    TERN_TRY(std::span<const std::string_view> merges, f.get_string_array("tokenizer.ggml.merges"));
    v.merges.reserve(merges.size());
    for (std::string_view m : merges) v.merges.emplace_back(m);
  }

  struct id_key {
    const char* key;
    token_id* id;
  };
  for (const id_key& k : {id_key{"tokenizer.ggml.bos_token_id", &v.bos}, id_key{"tokenizer.ggml.eos_token_id", &v.eos},
                          id_key{"tokenizer.ggml.eot_token_id", &v.eot},
                          id_key{"tokenizer.ggml.unknown_token_id", &v.unk},
                          id_key{"tokenizer.ggml.padding_token_id", &v.pad}}) {
    if (!f.has(k.key)) continue;
    TERN_TRY(std::uint64_t id, f.get_uint(k.key));
    if (id >= n) {
      log::warn("{}: {} = {} is out of range ({} tokens); using {}", f.name(), k.key, id, n, *k.id);
      continue;
    }
    *k.id = static_cast<token_id>(id);
  }
  for (token_id* id : {&v.bos, &v.eos, &v.eot, &v.unk, &v.pad})
    if (*id != no_token && static_cast<std::size_t>(*id) >= n) *id = no_token;  // a default past a tiny vocabulary

  TERN_TRY(v.add_bos, f.get_bool_or("tokenizer.ggml.add_bos_token", v.add_bos));
  TERN_TRY(v.add_eos, f.get_bool_or("tokenizer.ggml.add_eos_token", v.add_eos));
  TERN_TRY(v.add_space_prefix, f.get_bool_or("tokenizer.ggml.add_space_prefix", v.add_space_prefix));
  if (v.add_bos && v.bos == no_token) {
    log::warn("{}: add_bos_token is set but there is no BOS token; not adding one", f.name());
    v.add_bos = false;
  }
  if (v.add_eos && v.eos == no_token) {
    log::warn("{}: add_eos_token is set but there is no EOS token; not adding one", f.name());
    v.add_eos = false;
  }
  return v;
}

result<tokenizer> tokenizer::from_gguf(const gguf_file& file) {
  TERN_TRY(vocab v, vocab_from_gguf(file));
  auto tok = create(std::move(v));
  if (!tok) return std::move(tok).error().at("tokenizer").at(file.name());
  return tok;
}

result<tokenizer> tokenizer::load(const std::filesystem::path& gguf_path) {
  TERN_TRY(gguf_file file, gguf_file::open(gguf_path));
  return from_gguf(file);
}

}  // namespace tern::engine
