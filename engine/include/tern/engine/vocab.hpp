// A tokenizer vocabulary as plain data: what a GGUF file's tokenizer.ggml.*
// keys hold (see vocab_from_gguf in tokenizer.hpp), or what a test builds by
// hand. tern::engine::tokenizer::create() validates it and builds the lookup
// structures; this struct does no checking itself.
//
//   tern::engine::vocab v;
//   v.model = tern::engine::vocab_model::bpe;
//   v.pre = tern::engine::pre_tokenizer::qwen2;
//   v.tokens = {...};            // id -> text (byte-level BPE: GPT-2 byte symbols)
//   v.merges = {"Ġ t", ...};    // rank = index, "left right" as in GGUF
//   TERN_TRY(auto tok, tern::engine::tokenizer::create(std::move(v)));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine {

using token_id = std::int32_t;
inline constexpr token_id no_token = -1;  // "no such token" (an absent special id)

// tokenizer.ggml.token_type values (GGUF spec / llama.cpp llama_token_type).
enum class token_type : std::uint8_t {
  undefined = 0,
  normal = 1,
  unknown = 2,       // <unk>
  control = 3,       // <s>, <|im_start|>: split out of text only with parse_special
  user_defined = 4,  // added tokens such as <tool_call>: always split out of text
  unused = 5,
  byte = 6,          // SentencePiece byte fallback <0xXX>
};

// tokenizer.ggml.model: "llama" = SentencePiece (score-based merges over
// characters, byte fallback), "gpt2" = byte-level BPE (ranked merges).
enum class vocab_model : std::uint8_t { spm, bpe };

// tokenizer.ggml.pre: how byte-level BPE splits text into words before merging.
enum class pre_tokenizer : std::uint8_t {
  none,         // SentencePiece: no split
  default_bpe,  // "default" and unknown names (llama.cpp's fallback)
  gpt2,         // "gpt-2", "phi-2", "mpt", "olmo", ...
  llama3,       // "llama-bpe", "llama3", "llama-v3", "falcon3", ...
  qwen2,        // "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", ...
  smollm,       // "smollm", "starcoder", "refact", "command-r", ...
};

struct vocab {
  vocab_model model = vocab_model::bpe;
  pre_tokenizer pre = pre_tokenizer::default_bpe;
  std::string pre_name;  // tokenizer.ggml.pre as stored ("" when absent)

  std::vector<std::string> tokens;  // id -> text; ids are 0..tokens.size()-1
  std::vector<float> scores;        // SPM merge scores; empty, or one per token
  std::vector<token_type> types;    // empty (all normal), or one per token
  // BPE merges, "left right" (split at the first space after the first byte),
  // rank = index (lower merges first).
  std::vector<std::string> merges;

  token_id bos = no_token;
  token_id eos = no_token;
  token_id eot = no_token;  // end of turn (<|im_end|>, <|eot_id|>)
  token_id unk = no_token;
  token_id pad = no_token;

  bool add_bos = false;           // encode(add_special=true) starts with bos
  bool add_eos = false;           // encode(add_special=true) ends with eos
  bool add_space_prefix = false;  // SPM: a space before text at the start / after a special token
  bool ignore_merges = false;     // BPE (llama3): a word that is a whole token skips merging
  bool clean_spaces = false;      // decode() removes spaces before ?!., and some apostrophes
};

// The pre_tokenizer for a tokenizer.ggml.pre name, as llama.cpp maps them;
// unknown names give default_bpe (llama.cpp's fallback, with a warning).
pre_tokenizer pre_tokenizer_from_name(std::string_view name, bool* known = nullptr) noexcept;
std::string_view to_string(pre_tokenizer pre) noexcept;

}  // namespace tern::engine
