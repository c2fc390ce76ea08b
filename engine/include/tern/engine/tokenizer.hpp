// Tokenizers for GGUF models: byte-level BPE (tokenizer.ggml.model "gpt2", with
// each family's pre-tokenizer) and SentencePiece (model "llama", byte
// fallback), matching llama.cpp's tokenization id for id.
//
//   TERN_TRY(auto tok, tern::engine::tokenizer::load("qwen2.5.gguf"));
//   std::vector<tern::engine::token_id> ids = tok.encode("Hello world");
//   std::string text = tok.decode(ids);
//
//   tern::engine::detokenizer stream(tok);      // for generated tokens
//   for (auto id : generated) std::cout << stream.push(id);
//   std::cout << stream.flush();
//
// Ownership: a tokenizer owns a copy of its vocabulary and all lookup tables;
// it is move-only. Thread safety: every const member function may be called
// from several threads at once. Errors: only building a tokenizer can fail
// (tern::result); encoding and decoding accept any input.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/vocab.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine {

class gguf_file;

class tokenizer {
 public:
  // Validates `v` (special ids in range, scores/types sizes, no duplicate token
  // texts, every byte reachable) and builds the lookup tables. Errors:
  // invalid_argument, naming the token id or merge index.
  static result<tokenizer> create(vocab v);
  // Reads the vocabulary of a GGUF file (vocab_from_gguf) and builds it.
  static result<tokenizer> from_gguf(const gguf_file& file);
  static result<tokenizer> load(const std::filesystem::path& gguf_path);

  tokenizer(tokenizer&&) noexcept;
  tokenizer& operator=(tokenizer&&) noexcept;
  tokenizer(const tokenizer&) = delete;
  tokenizer& operator=(const tokenizer&) = delete;
  ~tokenizer();

  // The vocabulary as built (token types after llama.cpp's overrides: texts such
  // as <|im_end|> and <|endoftext|> are made control tokens).
  const vocab& vocabulary() const noexcept;
  std::size_t n_tokens() const noexcept;

  // Text to ids, as llama.cpp's llama_tokenize(text, add_special, parse_special):
  // add_special adds BOS / EOS where the vocabulary says so (add_bos, add_eos);
  // parse_special turns the texts of control tokens in `text` into those
  // tokens (user-defined tokens such as <tool_call> are always split out).
  // Invalid UTF-8 is tokenized as U+FFFD (BPE) or through byte fallback (SPM).
  std::vector<token_id> encode(std::string_view text, bool add_special = true, bool parse_special = false) const;
  // The same, appending to `out`.
  void encode(std::string_view text, bool add_special, bool parse_special, std::vector<token_id>& out) const;

  // The bytes a token stands for (may be part of a UTF-8 sequence). Control and
  // unknown tokens give their text when `special`, else "". Unused tokens and
  // ids out of range give "". The view lives as long as the tokenizer.
  std::string_view token_to_piece(token_id id, bool special = true) const noexcept;

  // Ids to text, as llama.cpp's llama_detokenize: remove_special drops a
  // leading BOS / trailing EOS that encode would have added; unparse_special
  // renders control tokens as their text; SPM removes the space its encoding
  // put in front. May contain invalid UTF-8 if the ids do (a cut sequence).
  std::string decode(std::span<const token_id> ids, bool remove_special = false, bool unparse_special = false) const;

  token_id find(std::string_view token_text) const noexcept;  // no_token when absent
  token_type type_of(token_id id) const noexcept;             // undefined when out of range
  std::string_view text_of(token_id id) const noexcept;       // the stored text; "" out of range
  bool is_eog(token_id id) const noexcept;  // ends generation: eos, eot, <|im_end|>, <|endoftext|>, ...
  std::span<const token_id> eog_ids() const noexcept;  // sorted
  token_id bos() const noexcept;
  token_id eos() const noexcept;
  token_id eot() const noexcept;

  struct impl;  // internal (engine/src/tokenizer/tokenizer_impl.hpp)

 private:
  explicit tokenizer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Streaming detokenization of generated tokens: push() returns only complete,
// valid UTF-8; bytes of a sequence cut across tokens are held until the
// sequence completes. Bytes that can never form valid UTF-8 come out as U+FFFD
// (one per maximal invalid subpart), so the output is always valid UTF-8.
// Keeps a reference to the tokenizer, which must outlive it. Not thread-safe.
class detokenizer {
 public:
  // render_special: control tokens as their text (else they add nothing).
  explicit detokenizer(const tokenizer& tok, bool render_special = false);

  // Adds a token; returns the text it completes. The view is valid until the
  // next call on this object.
  std::string_view push(token_id id);
  // Adds raw bytes (for callers that hold pieces themselves).
  std::string_view push_bytes(std::string_view bytes);
  // Ends the stream: returns what was held back, each incomplete sequence as
  // U+FFFD, and resets.
  std::string flush();
  void reset();
  std::size_t pending_bytes() const noexcept { return pending_.size(); }

 private:
  std::string_view drain(bool final);

  const tokenizer* tok_;
  bool render_special_;
  std::string pending_;
  std::string out_;
};

// The vocabulary of a GGUF file: tokenizer.ggml.model ("llama" or "gpt2"),
// .pre, .tokens, .scores, .token_type, .merges, .bos_token_id, .eos_token_id,
// .eot_token_id, .unknown_token_id, .padding_token_id, .add_bos_token,
// .add_eos_token, .add_space_prefix, with llama.cpp's defaults for absent keys.
// Errors (context: the file name, then the key): not_found for a missing
// tokens/model/merges key, parse_error for a key of the wrong type or an array
// whose length differs from the token count, unsupported for another model.
// A special id out of range is ignored (the default stays), as llama.cpp does.
result<vocab> vocab_from_gguf(const gguf_file& file);

}  // namespace tern::engine
