// Per-vocabulary structures for token masks: a flat trie of token byte strings
// in depth-first order, and per-terminal-state "lexer entries" (the tokens a
// terminal's DFA consumes whole from a state, plus the suffixes of tokens that
// run past the terminal's end, which the parser decides at mask time).
#pragma once

#include "grammar/ir.hpp"
#include "grammar/state_equivalence.hpp"
#include "grammar/state_facts.hpp"

#include <tern/engine/grammar.hpp>

#include <array>
#include <mutex>
#include <span>
#include <unordered_map>

namespace tern::engine::grammar_detail {

struct flat_trie {
  std::vector<uint8_t> byte;        // [node]; node 0 is the root
  std::vector<uint32_t> end;        // [node]: one past the node's last descendant
  std::vector<uint16_t> depth;      // [node]: bytes from the root
  std::vector<uint32_t> tok_begin;  // [node + 1]: tokens of node n are toks[tok_begin[n], tok_begin[n+1])
  std::vector<int32_t> toks;
  // [node]: 256-bit set of the bytes on edges strictly below the node (filled
  // by add_subtree_bytes, only for the vocabulary trie). A DFA state that loops
  // on all of them accepts the whole subtree without a walk.
  std::vector<std::array<uint64_t, 4>> below;
  // [node]: bit u set when every path below the node, read from UTF-8 decoder
  // state u (utf8_state), is clean JSON string text: whole characters other
  // than '"', '\\' and controls, the last one possibly cut short.
  std::vector<uint8_t> clean;
  // [node]: the longest path below the node in bytes, capped at 255.
  std::vector<uint8_t> height;
  // [d - 1]: the bytes found at depth d (the d-th bytes of the tokens).
  std::vector<byte_set> at_depth;
  size_t n_nodes() const { return byte.size(); }
  void add_subtree_bytes();
  // entries: (bytes, token); empty byte strings are skipped.
  static flat_trie build(std::vector<std::pair<std::string_view, int32_t>> entries);
};

struct lexer_entry {
  std::vector<uint32_t> inner;  // bitset over the vocabulary
  flat_trie suffixes;           // bytes after the terminal ended, per token
  size_t bytes() const { return inner.size() * 4 + suffixes.n_nodes() * 9 + suffixes.toks.size() * 4; }
};

using entry_ptr = std::shared_ptr<const lexer_entry>;

}  // namespace tern::engine::grammar_detail

namespace tern::engine {

struct token_vocabulary::impl {
  std::vector<std::string> bytes;
  std::vector<uint8_t> special;
  std::vector<int32_t> eos;
  grammar_detail::flat_trie trie;
  size_t max_len = 0;
  size_t words = 0;  // mask words
  // Non-EOS special tokens that have a text (<tool_call>, <｜tool▁sep｜>), sorted by
  // id: a grammar terminal that is exactly this literal may be matched by the token.
  std::vector<std::pair<int32_t, std::string>> special_text;
  const std::string* special_text_of(int32_t id) const;
  std::vector<uint32_t> all_tokens;  // bitset of the tokens in the trie (not special, not empty)
  // The entry of state q of a terminal DFA (d, with key_hash its fingerprint),
  // from the caches below or built now. Thread-safe.
  grammar_detail::entry_ptr entry(const grammar_detail::dfa& d, const std::string& key_hash, int32_t q);

  // Shared across grammars, under mu: terminals with equal DFAs (a free JSON
  // string is the same everywhere) compute their entries once per model.
  // Entries are dropped least recently used first past a byte budget; a
  // constraint keeps its own pointers, so dropping one costs a rebuild only.
  struct cached_entry {
    grammar_detail::entry_ptr e;
    size_t charged = 0;  // bytes counted in cache_bytes (0 for a second key of a reused entry)
    uint64_t last_use = 0;
  };
  std::mutex mu;
  std::unordered_map<std::string, cached_entry> cache;  // "<key hash>#<state>"
  size_t cache_bytes = 0;
  uint64_t use_clock = 0;
  // Per distinct terminal DFA (by key hash): the subtree facts of its states,
  // shared by every entry build of that machine; and copies of the machines
  // that reuse_reps refer to. Kept while side_bytes stays in its budget.
  std::unordered_map<std::string, std::shared_ptr<grammar_detail::state_facts>> facts;
  std::unordered_map<std::string, std::shared_ptr<const grammar_detail::dfa>> machines;
  size_t side_bytes = 0;  // facts (as they grow) and machines
  // Built entries of wide states by behaviour_signature, newest last, for
  // states equivalent up to the longest token (state_equivalence.hpp).
  struct reuse_rep {
    std::string key_hash;
    std::shared_ptr<const grammar_detail::dfa> machine;
    int32_t state;
    std::weak_ptr<const grammar_detail::lexer_entry> entry;  // gone once evicted and unused
  };
  std::unordered_map<uint64_t, std::vector<reuse_rep>> reps;
  size_t n_built = 0, n_reused = 0;  // first visits that built an entry, and that reused one

  // Helpers of entry(), each taking mu itself.
  // The facts of d's machine, and whether they are kept for later walks.
  std::pair<std::shared_ptr<grammar_detail::state_facts>, bool> facts_of(const grammar_detail::dfa& d,
                                                                         const std::string& key_hash);
  grammar_detail::entry_ptr find_equivalent(const grammar_detail::dfa& d, const std::string& key_hash, int32_t q,
                                            uint64_t sig);
  void remember(std::string key, grammar_detail::entry_ptr e, bool reused);
  void add_rep(const grammar_detail::dfa& d, const std::string& key_hash, int32_t q, uint64_t sig,
               const grammar_detail::entry_ptr& e);
};

struct grammar::impl {
  grammar_detail::compiled g;
  std::vector<std::string> term_hash;  // short fingerprints of g.term_keys
};

class constraint {
 public:
  constraint(std::shared_ptr<const grammar> g, std::shared_ptr<const token_vocabulary> v);
  const grammar_detail::lexer_entry& entry(int32_t term, int32_t q) const;
  const grammar_detail::compiled& g() const { return g_->internals().g; }
  const token_vocabulary::impl& vocab() const { return v_->internals(); }
  std::shared_ptr<const grammar> grammar_ptr() const { return g_; }
  // Special tokens whose text equals literal terminal `term` (usually none).
  std::span<const int32_t> specials_of(int32_t term) const {
    return special_terms_.empty() ? std::span<const int32_t>() : std::span<const int32_t>(special_terms_[term]);
  }

 private:
  std::shared_ptr<const grammar> g_;
  std::shared_ptr<const token_vocabulary> v_;
  mutable std::mutex mu_;
  mutable std::vector<std::vector<grammar_detail::entry_ptr>> entries_;  // [term][state]
  std::vector<std::vector<int32_t>> special_terms_;  // [term] -> tokens; empty when none at all
};

}  // namespace tern::engine
