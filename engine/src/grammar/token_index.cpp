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
// The vocabulary trie with bytes replaced by a DFA's byte classes: tokens
// whose class sequences are equal share a path, so one DFA's states walk a much
// smaller trie (a free JSON string has a handful of classes).
struct class_merger {
  const flat_trie& bt;
  const std::array<uint16_t, 256>& cls;
  flat_trie& out;
  std::vector<std::vector<uint32_t>> scratch;  // per depth: the group being built

  // `nodes` are byte-trie nodes with equal class paths; out's last node stands for them.
  void merge(const std::vector<uint32_t>& nodes, uint16_t depth) {
    uint32_t me = uint32_t(out.n_nodes() - 1);
    for (uint32_t n : nodes)
      for (uint32_t k = bt.tok_begin[n]; k < bt.tok_begin[n + 1]; ++k) out.toks.push_back(bt.toks[k]);
    // children by class: classes in order, each class's children in trie order
    std::array<uint32_t, 257> count{};
    size_t total = 0;
    for (uint32_t n : nodes)
      for (uint32_t c = n + 1; c < bt.end[n]; c = bt.end[c]) ++count[cls[bt.byte[c]] + 1], ++total;
    if (total == 0) {
      out.end[me] = uint32_t(out.n_nodes());
      return;
    }
    for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
    if (scratch.size() <= depth) scratch.resize(depth + 1);
    std::vector<uint32_t> sorted(total);
    std::array<uint32_t, 257> fill = count;
    for (uint32_t n : nodes)
      for (uint32_t c = n + 1; c < bt.end[n]; c = bt.end[c]) sorted[fill[cls[bt.byte[c]]]++] = c;
    for (size_t k = 0; k < 256; ++k) {
      if (count[k] == count[k + 1]) continue;
      auto& group = scratch[depth];
      group.assign(sorted.begin() + count[k], sorted.begin() + count[k + 1]);
      out.byte.push_back(uint8_t(k));
      out.end.push_back(0);
      out.depth.push_back(uint16_t(depth + 1));
      out.tok_begin.push_back(uint32_t(out.toks.size()));
      std::vector<uint32_t> mine;
      mine.swap(group);
      merge(mine, uint16_t(depth + 1));
    }
    out.end[me] = uint32_t(out.n_nodes());
  }
};

void build_entry(const dfa& d, const flat_trie& t, bool by_class, const token_vocabulary::impl& v, int32_t q,
                 lexer_entry& e,
                 std::vector<std::pair<std::string_view, int32_t>>& suffixes) {
  std::vector<int32_t> st(v.max_len + 2);
  st[0] = q;
  const uint32_t n = uint32_t(t.n_nodes());
  uint32_t* bits = e.inner.data();
  uint32_t i = 1;
  while (i < n) {
    uint32_t dep = t.depth[i];
    int32_t s = by_class ? d.next[size_t(st[dep - 1]) * size_t(d.n_classes) + t.byte[i]] : d.step(st[dep - 1], t.byte[i]);
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

std::shared_ptr<const flat_trie> token_vocabulary::impl::classes(const dfa& d) {
  std::string key(reinterpret_cast<const char*>(d.byte_class.data()), sizeof(d.byte_class));
  {
    std::lock_guard lock(mu);
    if (auto it = class_tries.find(key); it != class_tries.end()) return it->second;
  }
  auto t = std::make_shared<flat_trie>();
  t->byte.push_back(0);
  t->end.push_back(0);
  t->depth.push_back(0);
  t->tok_begin.push_back(0);
  class_merger m{trie, d.byte_class, *t, {}};
  m.merge({0}, 0);
  t->tok_begin.push_back(uint32_t(t->toks.size()));
  std::lock_guard lock(mu);
  if (class_tries.size() < 4096) class_tries.emplace(std::move(key), t);
  return t;
}

entry_ptr token_vocabulary::impl::entry(const dfa& d, const std::string& key_hash, int32_t q) {
  std::string key = key_hash + "#" + std::to_string(q);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto e = std::make_shared<lexer_entry>();
  e->inner.assign(words, 0);
  std::vector<std::pair<std::string_view, int32_t>> suffixes;
  // A class trie costs about ten byte-trie walks to build: worth it for DFAs
  // with many states (length-counting strings), or when already built.
  std::shared_ptr<const flat_trie> ct;
  if (d.n_states() > 16) ct = classes(d);
  if (ct) {
    build_entry(d, *ct, true, *this, q, *e, suffixes);
  } else {
    build_entry(d, trie, false, *this, q, *e, suffixes);
  }
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
  // A special token stands for a terminal that is exactly its text: the
  // literal's DFA accepts the text from its start, and the machines are equal
  // (a cheap walk first, the DFA key only for candidates).
  const auto& terms = this->g().terms;
  for (const auto& [tok, text] : v_->internals().special_text) {
    std::string lit_key;
    for (size_t t = 0; t < terms.size(); ++t) {
      const dfa& d = terms[t];
      if (d.empty_language()) continue;
      int32_t q = d.start;
      for (size_t i = 0; i < text.size() && q != dead; ++i) q = d.step(q, uint8_t(text[i]));
      if (q == dead || !d.accept[q] || d.has_out[q] || d.min_to_accept[d.start] != text.size()) continue;
      if (lit_key.empty()) {
        auto ld = compile_dfa(rx_literal(text));
        if (!ld) break;
        lit_key = ld->key();
      }
      if (this->g().term_keys[t] != lit_key) continue;
      if (special_terms_.empty()) special_terms_.resize(terms.size());
      special_terms_[t].push_back(tok);
    }
  }
}

const std::string* token_vocabulary::impl::special_text_of(int32_t id) const {
  auto it = std::lower_bound(special_text.begin(), special_text.end(), id,
                             [](const auto& e, int32_t k) { return e.first < k; });
  return it != special_text.end() && it->first == id ? &it->second : nullptr;
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
