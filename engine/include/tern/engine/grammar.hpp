// Constrained decoding: JSON Schema or grammar text -> byte-level pushdown
// automaton -> token masks over a model's vocabulary.
//
//   TERN_TRY(auto g, tern::engine::compile_json_schema(schema_text));
//   TERN_TRY(auto vocab, tern::engine::load_token_vocabulary("model.gguf"));
//   auto constraint = tern::engine::make_constraint(g, vocab);   // cache per schema
//   TERN_TRY(auto m, tern::engine::grammar_matcher::create(constraint, {.max_tokens = 256}));
//   std::vector<uint32_t> mask(m.mask_words());
//   while (!done) {
//     m.fill_mask(mask);                  // bit t set: token t allowed
//     int32_t t = sample_with(mask);      // or m.forced_token() to skip sampling
//     TERN_CHECK(m.accept_token(t));
//     done = m.is_finished();
//   }
//
// Fail closed: a schema or grammar that cannot be compiled is an error (naming
// the keyword and JSON pointer, or the line and column); there is no fallback to
// unconstrained output. See docs/grammar.md for the supported subset.
#pragma once

#include <tern/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine {

class tokenizer;

struct grammar_options {
  // false: JSON output has no free whitespace (compact). true: optional
  // whitespace (space, tab, CR, LF) around every structural character.
  bool free_whitespace = false;
};

// A compiled grammar. Immutable, thread-safe to share.
class grammar {
 public:
  struct impl;
  explicit grammar(std::unique_ptr<impl> p);
  ~grammar();
  // True when `text` is a complete document of this grammar (byte level).
  bool matches(std::string_view text) const;
  // True when `text` can be extended into a complete document.
  bool matches_prefix(std::string_view text) const;
  // Shortest complete document length in bytes.
  uint64_t min_length() const;
  size_t n_terminals() const;
  size_t n_rules() const;
  const impl& internals() const { return *p_; }

 private:
  std::unique_ptr<impl> p_;
};

// JSON Schema (draft 4 to 2020-12 keywords listed in docs/grammar.md) -> grammar.
// Errors: invalid_argument / unsupported, with the JSON pointer of the schema
// node and the keyword ("/properties/a: 'uniqueItems' is not supported").
result<std::shared_ptr<const grammar>> compile_json_schema(std::string_view schema_json,
                                                           const grammar_options& opts = {});

// Grammar text (GBNF-like EBNF, see docs/grammar.md); the start rule is `root`.
// Errors name line:column.
result<std::shared_ptr<const grammar>> compile_grammar_text(std::string_view text);

// The serialisation that grammars built from JSON Schema expect by default:
// compact, keys in document order, doubles in shortest round-trip form ("2.5",
// not "2.5E0"), strings as Boost.JSON writes them. Errors: parse_error.
result<std::string> canonical_json(std::string_view json_text);

// A model's tokens as byte strings, with a trie built once. Immutable apart from
// internal caches guarded by a mutex; share one per model across threads.
class token_vocabulary {
 public:
  struct impl;
  explicit token_vocabulary(std::unique_ptr<impl> p);
  ~token_vocabulary();
  size_t size() const;
  // Bytes of token id (empty for special tokens). Precondition: id < size().
  const std::string& token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  const std::vector<int32_t>& eos_tokens() const;
  impl& internals() const { return *p_; }

 private:
  std::unique_ptr<impl> p_;
};

// token_bytes[i]: the bytes of token i; special[i]: a control token, never
// text inside a document. eos: tokens that end generation once complete.
// A special token that is not EOS and is given a text (token_bytes[i], e.g.
// "<tool_call>") may still stand for a grammar terminal that is exactly that
// literal (tool-call markers; docs/grammar.md, "Masks"); token_bytes(i)
// returns "" for it all the same. load_token_vocabulary and the tokenizer
// overload pass the text of control and user-defined tokens.
result<std::shared_ptr<const token_vocabulary>> make_token_vocabulary(std::vector<std::string> token_bytes,
                                                                      std::vector<uint8_t> special,
                                                                      std::vector<int32_t> eos);

// Reads tokenizer.ggml.{tokens,token_type,eos_token_id,model} from a GGUF file
// (gpt2 byte-level and llama/SentencePiece token spellings). Errors name the file
// and byte offset.
result<std::shared_ptr<const token_vocabulary>> load_token_vocabulary(const std::filesystem::path& gguf_path);

// The vocabulary of a loaded tokenizer (token_to_piece bytes), with the same
// rules as load_token_vocabulary: control, user-defined, unknown and unused
// tokens are special (never in a document); EOS tokens are the tokenizer's
// end-of-generation ids (eos, eot, <|im_end|>, ...). The tokenizer may be
// destroyed afterwards (the bytes are copied). Errors: an empty vocabulary.
result<std::shared_ptr<const token_vocabulary>> make_token_vocabulary(const tokenizer& tok);

// A grammar bound to a vocabulary with its mask caches: build once per
// (schema, model) and share between generations (thread-safe).
class constraint;
std::shared_ptr<const constraint> make_constraint(std::shared_ptr<const grammar> g,
                                                  std::shared_ptr<const token_vocabulary> vocab);

struct matcher_options {
  // Upper bound on tokens accepted before the document is complete (EOS not
  // counted); -1: none. Near the bound only tokens that can still finish in time
  // are allowed. create() fails (limit_exceeded) if even the shortest document
  // does not fit.
  int64_t max_tokens = -1;
};

// One generation's state. Not thread-safe; one per sequence. Cheap to create.
class grammar_matcher {
 public:
  struct impl;
  static result<grammar_matcher> create(std::shared_ptr<const constraint> c, const matcher_options& opts = {});
  grammar_matcher(grammar_matcher&&) noexcept;
  grammar_matcher& operator=(grammar_matcher&&) noexcept;
  ~grammar_matcher();

  // Number of uint32_t words in a mask: ceil(vocab size / 32).
  size_t mask_words() const;
  // Writes the allowed-token bitset (bit t % 32 of word t / 32). mask.size()
  // must be mask_words(). EOS tokens are allowed exactly when is_complete().
  void fill_mask(std::span<uint32_t> mask);
  // The only allowed token, if exactly one is allowed (sampling can be skipped).
  std::optional<int32_t> forced_token();
  // True exactly when fill_mask would set token's bit (the budget included),
  // without computing a mask: O(bytes of the token) apart from near the budget.
  // Lets a sampler check its proposal first and compute a mask only on
  // rejection (exact for greedy and for plain temperature sampling).
  bool can_accept(int32_t token);
  // Advances by a sampled token; an error (state unchanged) if not allowed.
  result<void> accept_token(int32_t token);
  // Undoes the last k accepted tokens. Error if fewer were accepted.
  result<void> rollback(size_t k);
  // The document may end here (EOS allowed).
  bool is_complete() const;
  // EOS was accepted, or the document is complete and nothing can follow.
  bool is_finished() const;
  size_t n_accepted() const;

 private:
  explicit grammar_matcher(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

}  // namespace tern::engine
