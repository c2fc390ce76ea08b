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

int utf8_clean_next(int u, uint8_t b) {
  const bool cont = b >= 0x80 && b <= 0xBF;
  switch (u) {
    case u8_start:
      if (b >= 0x20 && b <= 0x7E) return b == '"' || b == '\\' ? -1 : u8_start;
      if (b >= 0xC2 && b <= 0xDF) return u8_cont1;
      if (b == 0xE0) return u8_e0;
      if (b == 0xED) return u8_ed;
      if (b >= 0xE1 && b <= 0xEF) return u8_cont2;
      if (b == 0xF0) return u8_f0;
      if (b >= 0xF1 && b <= 0xF3) return u8_cont3;
      if (b == 0xF4) return u8_f4;
      return -1;
    case u8_cont1: return cont ? u8_start : -1;
    case u8_cont2: return cont ? u8_cont1 : -1;
    case u8_cont3: return cont ? u8_cont2 : -1;
    case u8_e0: return b >= 0xA0 && b <= 0xBF ? u8_cont1 : -1;
    case u8_ed: return b >= 0x80 && b <= 0x9F ? u8_cont1 : -1;
    case u8_f0: return b >= 0x90 && b <= 0xBF ? u8_cont2 : -1;
    case u8_f4: return b >= 0x80 && b <= 0x8F ? u8_cont2 : -1;
    default: return -1;
  }
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
  for (uint32_t c = 1; c < end[0]; c = end[c]) {
    below[0][byte[c] >> 6] |= uint64_t(1) << (byte[c] & 63);
    for (int w = 0; w < 4; ++w) below[0][w] |= below[c][w];
  }
}

namespace {

// What a DFA state does to subtrees, computed for the states a walk meets:
// `bytes`, the bytes on which it stays where it is; `text`, whether clean UTF-8
// text (see utf8_clean_next) of any length keeps the DFA live and short of
// accepting: the states that clean characters reach from it, and the states
// inside multi-byte characters, are all live and non-accepting (a JSON string
// body: free strings, additional-property keys, unanchored patterns waiting
// for their match). Either lets a whole subtree be taken without a walk.
class loop_sets {
 public:
  struct info {
    std::array<uint64_t, 4> bytes{};
    bool any = false;
    bool text = false;
    uint32_t reach = 0;  // clean text of up to this many bytes stays live and non-accepting
  };
  explicit loop_sets(const dfa& d) : d_(d), idx_(d.n_states(), -1), text_(d.n_states(), 0) {}
  const info& of(int32_t s) {
    if (idx_[s] < 0) {
      info m;
      for (int b = 0; b < 256; ++b)
        if (d_.step(s, uint8_t(b)) == s) m.bytes[b >> 6] |= uint64_t(1) << (b & 63), m.any = true;
      // A closure check costs up to a few thousand steps; states that loop on
      // no printable ASCII byte (a counting string's) are not worth trying
      // unless an earlier check already found them inside a closed set.
      constexpr uint64_t printable_lo = 0xFFFFFFFF00000000ull, printable_hi = 0x7FFFFFFFFFFFFFFFull;
      m.text = text_[s] == closed ||
               (((m.bytes[0] & printable_lo) | (m.bytes[1] & printable_hi)) != 0 && text_closed(s));
      if (!m.text) m.reach = text_reach(s);
      idx_[s] = int32_t(sets_.size());
      sets_.push_back(m);
    }
    return sets_[size_t(idx_[s])];
  }

 private:
  enum : uint8_t { unknown, closed, open };
  // Breadth-first over the states clean characters reach from s, bounded so
  // that a state with a large clean-text closure (a long counting string) is
  // declared open quickly.
  bool text_closed(int32_t s) {
    if (text_[s] != unknown) return text_[s] == closed;
    constexpr size_t max_reach = 64, max_mid = 512;
    std::vector<int32_t> reach = {s};
    std::vector<std::pair<int32_t, int>> todo, mid;
    bool ok = true;
    for (size_t k = 0; k < reach.size() && ok; ++k) {
      int32_t x = reach[k];
      if (text_[x] == closed) continue;
      if (text_[x] == open || d_.accept[x]) {
        ok = false;
        break;
      }
      todo.assign(1, {x, u8_start});
      while (!todo.empty() && ok) {
        auto [y, u] = todo.back();
        todo.pop_back();
        for (int b = 0; b < 256 && ok; ++b) {
          int v = utf8_clean_next(u, uint8_t(b));
          if (v < 0) continue;
          int32_t z = d_.step(y, uint8_t(b));
          if (z == dead || d_.accept[z]) {
            ok = false;
          } else if (v == u8_start) {
            if (std::find(reach.begin(), reach.end(), z) == reach.end()) {
              if (reach.size() >= max_reach) ok = false;
              else reach.push_back(z);
            }
          } else if (std::find(mid.begin(), mid.end(), std::make_pair(z, v)) == mid.end()) {
            if (mid.size() >= max_mid) ok = false;
            mid.emplace_back(z, v);
            todo.emplace_back(z, v);
          }
        }
      }
    }
    if (!ok) {
      text_[s] = open;
      return false;
    }
    for (int32_t x : reach) text_[x] = closed;
    return true;
  }

  // How many characters of clean text from s are known to stay live and
  // short of accepting: layer by layer over the states they reach (one state
  // per layer in a counting string, whose later states learn their own
  // answers from the same pass). Layers wider than a few states stop the
  // count early, which only makes the answer smaller (still sound).
  uint32_t text_reach(int32_t s) {
    if (reach_.empty()) reach_.assign(d_.n_states(), -1);
    if (reach_[s] >= 0) return uint32_t(reach_[s]);
    constexpr uint32_t max_chars = 32;
    constexpr size_t max_layer = 4, max_mid = 512;
    std::vector<int32_t> layer = {s}, next;
    std::vector<int32_t> chain;  // single-state layers from s on
    std::vector<std::pair<int32_t, int>> todo, mid;
    uint32_t k = 0;
    bool exact = true;  // every layer so far held one state
    for (; k < max_chars; ++k) {
      if (layer.size() == 1) {
        if (exact) chain.push_back(layer[0]);
        if (reach_[layer[0]] >= 0 && exact) {
          k += uint32_t(reach_[layer[0]]);
          break;
        }
      } else {
        exact = false;
      }
      next.clear();
      mid.clear();
      bool ok = true;
      for (int32_t x : layer) {
        todo.assign(1, {x, u8_start});
        while (!todo.empty() && ok) {
          auto [y, u] = todo.back();
          todo.pop_back();
          for (int b = 0; b < 256 && ok; ++b) {
            int v = utf8_clean_next(u, uint8_t(b));
            if (v < 0) continue;
            int32_t z = d_.step(y, uint8_t(b));
            if (z == dead || d_.accept[z]) {
              ok = false;
            } else if (v == u8_start) {
              if (std::find(next.begin(), next.end(), z) == next.end()) next.push_back(z);
            } else if (std::find(mid.begin(), mid.end(), std::make_pair(z, v)) == mid.end()) {
              if (mid.size() >= max_mid) ok = false;
              mid.emplace_back(z, v);
              todo.emplace_back(z, v);
            }
          }
        }
      }
      if (!ok) break;
      if (next.size() > max_layer) {
        ++k;
        exact = false;
        break;
      }
      layer.swap(next);
    }
    k = std::min(k, max_chars);
    // The j-th state of a single-state chain has k - j characters of reach;
    // exact only while no wider layer was seen before it.
    for (size_t j = 0; j < chain.size(); ++j)
      if (reach_[chain[j]] < 0) reach_[chain[j]] = int32_t(k - std::min<uint32_t>(k, uint32_t(j)));
    reach_[s] = int32_t(k);
    return k;
  }

  const dfa& d_;
  std::vector<int32_t> idx_;
  std::vector<info> sets_;
  std::vector<uint8_t> text_;
  std::vector<int32_t> reach_;
};

bool subset(const std::array<uint64_t, 4>& a, const std::array<uint64_t, 4>& b) {
  return ((a[0] & ~b[0]) | (a[1] & ~b[1]) | (a[2] & ~b[2]) | (a[3] & ~b[3])) == 0;
}

// One pass over the vocabulary trie in depth-first order with the DFA alone
// (this loop is the cost of a terminal state's first visit). A dead state
// skips the node's subtree; a live, non-accepting state takes the whole
// subtree without walking it when it loops on every byte below the node, or
// the subtree is clean text and the state is text-closed or reaches deeper.
void build_entry(const dfa& d, const flat_trie& t, const token_vocabulary::impl& v, int32_t q, lexer_entry& e,
                 std::vector<std::pair<std::string_view, int32_t>>& suffixes) {
  std::vector<int32_t> st(v.max_len + 2);
  st[0] = q;
  loop_sets loops(d);
  const uint32_t n = uint32_t(t.n_nodes());
  // Work in the cheaper direction: a wide state (most first bytes live) starts
  // from every token and clears the ones that fall out, a narrow one sets the
  // ones that stay in. The first bytes decide which.
  size_t live = 0;
  for (uint32_t c = 1; c < n; c = t.end[c])
    if (d.step(q, t.byte[c]) != dead) live += t.tok_begin[t.end[c]] - t.tok_begin[c];
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
  auto skippable = [&](const loop_sets::info& l, uint32_t node) {
    // Clean text below a text-closed state, or no longer than its reach
    // (a byte is at most a character, so bytes bound characters).
    return ((l.text || t.height[node] <= l.reach) && (t.clean[node] & 1)) ||
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
    } else if (can_skip && stop - i > 4 && skippable(loops.of(s), i)) {
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

entry_ptr token_vocabulary::impl::entry(const dfa& d, const std::string& key_hash, int32_t q) {
  std::string key = key_hash + "#" + std::to_string(q);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto e = std::make_shared<lexer_entry>();
  e->inner.assign(words, 0);
  std::vector<std::pair<std::string_view, int32_t>> suffixes;
  build_entry(d, trie, *this, q, *e, suffixes);
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

