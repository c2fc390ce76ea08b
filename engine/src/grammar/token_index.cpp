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

void flat_trie::add_subtree_bytes() {
  below.assign(n_nodes(), {});
  clean.assign(n_nodes(), uint8_t((1u << u8_n) - 1));
  height.assign(n_nodes(), 0);
  // Children follow their parent in depth-first order, so a reverse sweep sees
  // every child before its parent.
  for (size_t i = n_nodes(); i-- > 1;) {
    for (uint32_t c = uint32_t(i) + 1; c < end[i]; c = end[c]) {
      below[i][byte[c] >> 6] |= uint64_t(1) << (byte[c] & 63);
      for (int w = 0; w < 4; ++w) below[i][w] |= below[c][w];
      height[i] = std::max<uint8_t>(height[i], uint8_t(std::min(255, height[c] + 1)));
      for (int u = 0; u < u8_n; ++u) {
        int v = utf8_clean_next(u, byte[c]);
        if (v < 0 || !((clean[c] >> v) & 1)) clean[i] &= uint8_t(~(1u << u));
      }
    }
  }
  at_depth.clear();
  for (size_t i = 1; i < n_nodes(); ++i) {
    if (at_depth.size() < depth[i]) at_depth.resize(depth[i]);
    at_depth[depth[i] - 1u][byte[i] >> 6] |= uint64_t(1) << (byte[i] & 63);
  }
  for (uint32_t c = 1; c < end[0]; c = end[c]) {
    below[0][byte[c] >> 6] |= uint64_t(1) << (byte[c] & 63);
    for (int w = 0; w < 4; ++w) below[0][w] |= below[c][w];
  }
}

namespace {

bool subset(const std::array<uint64_t, 4>& a, const std::array<uint64_t, 4>& b) {
  return ((a[0] & ~b[0]) | (a[1] & ~b[1]) | (a[2] & ~b[2]) | (a[3] & ~b[3])) == 0;
}

// One pass over the vocabulary trie in depth-first order with the DFA alone
// (this loop is the cost of a terminal state's first visit). A dead state
// skips the node's subtree; a live, non-accepting state takes the whole
// subtree without walking it when it loops on every byte below the node, or
// the subtree is clean text and the state is text-closed or reaches deeper.
// The tokens whose first byte leaves q live: how wide the state is.
size_t first_byte_live(const dfa& d, const flat_trie& t, int32_t q) {
  size_t live = 0;
  for (uint32_t c = 1; c < t.n_nodes(); c = t.end[c])
    if (d.step(q, t.byte[c]) != dead) live += t.tok_begin[t.end[c]] - t.tok_begin[c];
  return live;
}

void build_entry(const dfa& d, const flat_trie& t, const token_vocabulary::impl& v, int32_t q, size_t live,
                 state_facts& facts, lexer_entry& e, std::vector<std::pair<std::string_view, int32_t>>& suffixes) {
  std::vector<int32_t> st(v.max_len + 2);
  st[0] = q;
  const uint32_t n = uint32_t(t.n_nodes());
  // Work in the cheaper direction: a wide state (most first bytes live) starts
  // from every token and clears the ones that fall out, a narrow one sets the
  // ones that stay in. The first bytes decide which.
  const bool wide = live * 2 > t.toks.size();
  uint32_t* bits = e.inner.data();
  if (wide) std::copy(v.all_tokens.begin(), v.all_tokens.end(), e.inner.begin());
  auto set_range = [&](uint32_t a, uint32_t b) {
    for (uint32_t k = a; k < b; ++k) {
      int32_t tok = t.toks[k];
      bits[size_t(tok) >> 5] |= 1u << (tok & 31);
    }
  };
  auto clear_range = [&](uint32_t a, uint32_t b) {
    for (uint32_t k = a; k < b; ++k) {
      int32_t tok = t.toks[k];
      bits[size_t(tok) >> 5] &= ~(1u << (tok & 31));
    }
  };
  const bool can_skip = !t.below.empty();
  auto skippable = [&](const state_facts::info& l, uint32_t node) {
    // Clean text below a text-closed state, or no longer than its reach
    // (a byte is at most a character, so bytes bound characters).
    return ((l.text || t.height[node] <= l.reach) && (t.clean[node] & 1) && subset(t.below[node], l.text_bytes)) ||
           (l.any && subset(t.below[node], l.bytes));
  };
  uint32_t i = 1;
  while (i < n) {
    uint32_t dep = t.depth[i];
    int32_t s = d.step(st[dep - 1], t.byte[i]);
    const uint32_t stop = t.end[i];
    if (s == dead) {
      if (wide) clear_range(t.tok_begin[i], t.tok_begin[stop]);
      i = stop;
      continue;
    }
    if (!wide) set_range(t.tok_begin[i], t.tok_begin[i + 1]);
    if (stop == i + 1) {
      ++i;
      continue;
    }
    if (d.accept[s]) {
      for (uint32_t k = t.tok_begin[i + 1]; k < t.tok_begin[stop]; ++k) {
        int32_t tok = t.toks[k];
        suffixes.emplace_back(std::string_view(v.bytes[tok]).substr(dep), tok);
      }
    } else if (can_skip && stop - i > 4 && skippable(facts.of(d, s), i)) {
      if (!wide) set_range(t.tok_begin[i + 1], t.tok_begin[stop]);
      i = stop;
      continue;
    }
    if (d.has_out[s]) {
      st[dep] = s;
      ++i;
    } else {
      if (wide) clear_range(t.tok_begin[i + 1], t.tok_begin[stop]);
      i = stop;
    }
  }
}

}  // namespace
}  // namespace tern::engine::grammar_detail

namespace tern::engine {
using namespace grammar_detail;

namespace {

constexpr size_t entry_budget = size_t(512) << 20;  // bytes of cached entries per vocabulary
constexpr size_t side_budget = size_t(128) << 20;   // bytes of state facts and machine copies
// A state whose first bytes keep fewer than this share of the tokens live
// dies early in most of the trie: cheap to build, not worth a search.
constexpr size_t reuse_share = 32;
constexpr size_t max_checks = 4;          // candidates tried per first visit, newest first
constexpr size_t max_pairs = 8192;        // state pairs per equivalence check
constexpr size_t max_per_signature = 16;  // candidates kept per signature

}  // namespace

entry_ptr token_vocabulary::impl::entry(const dfa& d, const std::string& key_hash, int32_t q) {
  std::string key = key_hash + "#" + std::to_string(q);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) {
      it->second.last_use = ++use_clock;
      return it->second.e;
    }
  }
  auto [facts, kept] = facts_of(d, key_hash);
  std::lock_guard facts_lock(facts->mutex());
  const size_t live = first_byte_live(d, trie, q);
  const bool worth_reuse = live * reuse_share >= trie.toks.size() && live > 0 && !trie.at_depth.empty();
  uint64_t sig = 0;
  if (worth_reuse) {
    sig = behaviour_signature(d, q, uint32_t(max_len));
    if (auto found = find_equivalent(d, key_hash, q, sig)) {
      remember(std::move(key), found, true);
      return found;
    }
  }
  auto e = std::make_shared<lexer_entry>();
  e->inner.assign(words, 0);
  std::vector<std::pair<std::string_view, int32_t>> suffixes;
  const size_t facts_before = facts->bytes();
  build_entry(d, trie, *this, q, live, *facts, *e, suffixes);
  e->suffixes = flat_trie::build(std::move(suffixes));
  if (kept) {
    std::lock_guard lock(mu);
    side_bytes += facts->bytes() - facts_before;
  }
  remember(std::move(key), e, false);
  if (worth_reuse) add_rep(d, key_hash, q, sig, e);
  return e;
}

void token_vocabulary::impl::remember(std::string key, entry_ptr e, bool reused) {
  const size_t sz = reused ? 0 : e->bytes();
  std::lock_guard lock(mu);
  ++(reused ? n_reused : n_built);
  if (sz > entry_budget / 4 || cache.count(key)) return;  // too big, or another thread was first
  if (cache_bytes + sz > entry_budget) {
    // Drop the least recently used quarter of the budget at once, so that the
    // sort is paid rarely.
    std::vector<std::pair<uint64_t, decltype(cache)::iterator>> order;
    order.reserve(cache.size());
    for (auto it = cache.begin(); it != cache.end(); ++it) order.emplace_back(it->second.last_use, it);
    std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [use, it] : order) {
      if (cache_bytes + sz <= entry_budget / 4 * 3) break;
      cache_bytes -= it->second.charged;
      cache.erase(it);
    }
  }
  cache_bytes += sz;
  cache[std::move(key)] = cached_entry{std::move(e), sz, ++use_clock};
}

std::pair<std::shared_ptr<state_facts>, bool> token_vocabulary::impl::facts_of(const dfa& d,
                                                                                  const std::string& key_hash) {
  {
    std::lock_guard lock(mu);
    if (auto it = facts.find(key_hash); it != facts.end()) return {it->second, true};
  }
  // Past the budget a walk gets facts of its own, dropped after it.
  auto f = std::make_shared<state_facts>(d);
  std::lock_guard lock(mu);
  if (auto it = facts.find(key_hash); it != facts.end()) return {it->second, true};
  if (side_bytes + f->bytes() > side_budget) return {f, false};
  side_bytes += f->bytes();
  facts.emplace(key_hash, f);
  return {f, true};
}

entry_ptr token_vocabulary::impl::find_equivalent(const dfa& d, const std::string& key_hash, int32_t q, uint64_t sig) {
  std::vector<reuse_rep> keep;  // copies, so that the checks run without mu
  {
    std::lock_guard lock(mu);
    auto it = reps.find(sig);
    if (it == reps.end()) return nullptr;
    auto& bucket = it->second;
    std::erase_if(bucket, [](const reuse_rep& r) { return r.entry.expired(); });
    for (size_t i = bucket.size(); i-- > 0 && keep.size() < max_checks;) keep.push_back(bucket[i]);
  }
  thread_local pair_search_scratch scratch;
  for (const auto& r : keep) {
    entry_ptr e = r.entry.lock();
    if (!e) continue;
    const dfa& other = r.key_hash == key_hash ? d : *r.machine;
    if (equivalent_up_to(d, q, other, r.state, uint32_t(trie.at_depth.size()), max_pairs, scratch, trie.at_depth))
      return e;
  }
  return nullptr;
}

void token_vocabulary::impl::add_rep(const dfa& d, const std::string& key_hash, int32_t q, uint64_t sig,
                                     const entry_ptr& e) {
  std::lock_guard lock(mu);
  auto it = machines.find(key_hash);
  if (it == machines.end()) {
    const size_t sz = d.next.size() * sizeof(int32_t) + d.n_states() * 6 + sizeof(dfa);
    if (side_bytes + sz > side_budget) return;
    side_bytes += sz;
    it = machines.emplace(key_hash, std::make_shared<const dfa>(d)).first;
  }
  auto& bucket = reps[sig];
  if (bucket.size() >= max_per_signature) bucket.erase(bucket.begin());
  bucket.push_back({key_hash, it->second, q, e});
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

