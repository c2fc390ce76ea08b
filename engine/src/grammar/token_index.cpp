#include "grammar/token_index.hpp"

#include <algorithm>

namespace tern::engine::grammar_detail {

flat_trie flat_trie::build(std::vector<std::pair<std::string_view, int32_t>> entries) {
  std::sort(entries.begin(), entries.end());
  flat_trie t;
  t.byte.push_back(0);
  t.end.push_back(0);
  t.depth.push_back(0);
  t.tok_begin.push_back(0);
  std::vector<uint32_t> path = {0};  // node per depth
  std::string_view prev;
  for (const auto& [s, tok] : entries) {
    if (s.empty()) continue;
    size_t lcp = 0;
    while (lcp < prev.size() && lcp < s.size() && prev[lcp] == s[lcp]) ++lcp;
    while (path.size() > lcp + 1) {
      t.end[path.back()] = uint32_t(t.byte.size());
      path.pop_back();
    }
    for (size_t i = lcp; i < s.size(); ++i) {
      uint32_t n = uint32_t(t.byte.size());
      t.byte.push_back(uint8_t(s[i]));
      t.end.push_back(0);
      t.depth.push_back(uint16_t(std::min<size_t>(i + 1, 65535)));
      t.tok_begin.push_back(uint32_t(t.toks.size()));
      path.push_back(n);
    }
    t.toks.push_back(tok);
    prev = s;
  }
  while (!path.empty()) {
    t.end[path.back()] = uint32_t(t.byte.size());
    path.pop_back();
  }
  t.tok_begin.push_back(uint32_t(t.toks.size()));
  return t;
}

namespace {

// One pass over the trie in depth-first order; a dead DFA state skips the
// node's whole subtree. Iterative: this loop is the cost of a new terminal state.
void build_entry(const dfa& d, const token_vocabulary::impl& v, int32_t q, lexer_entry& e,
                 std::vector<std::pair<std::string_view, int32_t>>& suffixes) {
  const flat_trie& t = v.trie;
  std::vector<int32_t> st(v.max_len + 2);
  st[0] = q;
  const uint32_t n = uint32_t(t.n_nodes());
  uint32_t* bits = e.inner.data();
  uint32_t i = 1;
  while (i < n) {
    uint32_t dep = t.depth[i];
    int32_t s = d.step(st[dep - 1], t.byte[i]);
    if (s == dead) {
      i = t.end[i];
      continue;
    }
    for (uint32_t k = t.tok_begin[i]; k < t.tok_begin[i + 1]; ++k) {
      int32_t tok = t.toks[k];
      bits[size_t(tok) >> 5] |= 1u << (tok & 31);
    }
    if (t.end[i] == i + 1) {
      ++i;
      continue;
    }
    if (d.accept[s])
      for (uint32_t k = t.tok_begin[i + 1]; k < t.tok_begin[t.end[i]]; ++k) {
        int32_t tok = t.toks[k];
        suffixes.emplace_back(std::string_view(v.bytes[tok]).substr(dep), tok);
      }
    if (d.has_out[s]) {
      st[dep] = s;
      ++i;
    } else {
      i = t.end[i];
    }
  }
}

}  // namespace
}  // namespace tern::engine::grammar_detail

namespace tern::engine {
using namespace grammar_detail;

entry_ptr token_vocabulary::impl::entry(const dfa& d, const std::string& key_hash, int32_t q) {
  std::string key = key_hash + "#" + std::to_string(q);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto e = std::make_shared<lexer_entry>();
  e->inner.assign(words, 0);
  std::vector<std::pair<std::string_view, int32_t>> suffixes;
  build_entry(d, *this, q, *e, suffixes);
  e->suffixes = flat_trie::build(std::move(suffixes));
  std::lock_guard lock(mu);
  constexpr size_t cache_limit = size_t(512) << 20;
  if (cache_bytes + e->bytes() <= cache_limit) {
    cache_bytes += e->bytes();
    cache.emplace(std::move(key), e);
  }
  return e;
}

constraint::constraint(std::shared_ptr<const grammar> g, std::shared_ptr<const token_vocabulary> v)
    : g_(std::move(g)), v_(std::move(v)) {
  entries_.resize(g_->internals().g.terms.size());
}

const lexer_entry& constraint::entry(int32_t term, int32_t q) const {
  {
    std::lock_guard lock(mu_);
    auto& per = entries_[term];
    if (per.empty()) per.resize(g().terms[term].n_states());
    if (per[q]) return *per[q];
  }
  auto e = v_->internals().entry(g().terms[term], g_->internals().term_hash[term], q);
  std::lock_guard lock(mu_);
  auto& slot = entries_[term][q];
  if (!slot) slot = std::move(e);
  return *slot;
}

std::shared_ptr<const constraint> make_constraint(std::shared_ptr<const grammar> g,
                                                  std::shared_ptr<const token_vocabulary> vocab) {
  return std::make_shared<const constraint>(std::move(g), std::move(vocab));
}

}  // namespace tern::engine
