// Regex subset -> byte NFA (Thompson) -> DFA (subset construction) -> trimmed DFA.
#include "grammar/dfa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

namespace tern::engine::grammar_detail {
namespace {

constexpr uint32_t max_cp = 0x10FFFF;

std::vector<cp_range> normalize(std::vector<cp_range> r) {
  std::sort(r.begin(), r.end(), [](const cp_range& a, const cp_range& b) { return a.lo < b.lo; });
  std::vector<cp_range> out;
  for (const auto& x : r) {
    if (x.lo > x.hi) continue;
    if (!out.empty() && x.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, x.hi);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

std::vector<cp_range> complement(const std::vector<cp_range>& in) {
  auto r = normalize(in);
  std::vector<cp_range> out;
  uint32_t next = 0;
  for (const auto& x : r) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= max_cp) out.push_back({next, max_cp});
  return out;
}

std::vector<cp_range> subtract(const std::vector<cp_range>& a, const std::vector<cp_range>& b) {
  auto nb = complement(b);
  std::vector<cp_range> out;
  for (const auto& x : normalize(a)) {
    for (const auto& y : nb) {
      uint32_t lo = std::max(x.lo, y.lo), hi = std::min(x.hi, y.hi);
      if (lo <= hi) out.push_back({lo, hi});
    }
  }
  return out;
}

bool contains(const std::vector<cp_range>& r, uint32_t c) {
  for (const auto& x : r)
    if (c >= x.lo && c <= x.hi) return true;
  return false;
}

// ---- NFA -------------------------------------------------------------------

struct nfa_edge {
  uint8_t lo, hi;
  int32_t to;
};

struct nfa {
  std::vector<std::vector<int32_t>> eps;
  std::vector<std::vector<nfa_edge>> edges;
  size_t limit = 400000;
  bool overflow = false;
  int32_t add() {
    if (eps.size() >= limit) {
      overflow = true;
      return 0;
    }
    eps.emplace_back();
    edges.emplace_back();
    return int32_t(eps.size() - 1);
  }
};

using byte_seq = std::vector<std::pair<uint8_t, uint8_t>>;

int utf8_len(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

void encode(uint32_t c, int n, uint8_t* out) {
  if (n == 1) {
    out[0] = uint8_t(c);
  } else if (n == 2) {
    out[0] = uint8_t(0xC0 | (c >> 6));
    out[1] = uint8_t(0x80 | (c & 0x3F));
  } else if (n == 3) {
    out[0] = uint8_t(0xE0 | (c >> 12));
    out[1] = uint8_t(0x80 | ((c >> 6) & 0x3F));
    out[2] = uint8_t(0x80 | (c & 0x3F));
  } else {
    out[0] = uint8_t(0xF0 | (c >> 18));
    out[1] = uint8_t(0x80 | ((c >> 12) & 0x3F));
    out[2] = uint8_t(0x80 | ((c >> 6) & 0x3F));
    out[3] = uint8_t(0x80 | (c & 0x3F));
  }
}

// Byte-range sequences covering the UTF-8 encodings of [lo, hi] (same length n).
void split_same_len(const uint8_t* lo, const uint8_t* hi, int n, byte_seq prefix,
                    std::vector<byte_seq>& out) {
  if (n == 1) {
    prefix.push_back({lo[0], hi[0]});
    out.push_back(std::move(prefix));
    return;
  }
  if (lo[0] == hi[0]) {
    prefix.push_back({lo[0], lo[0]});
    split_same_len(lo + 1, hi + 1, n - 1, std::move(prefix), out);
    return;
  }
  bool lo_min = true, hi_max = true;
  for (int i = 1; i < n; ++i) {
    lo_min = lo_min && lo[i] == 0x80;
    hi_max = hi_max && hi[i] == 0xBF;
  }
  if (lo_min && hi_max) {
    prefix.push_back({lo[0], hi[0]});
    for (int i = 1; i < n; ++i) prefix.push_back({0x80, 0xBF});
    out.push_back(std::move(prefix));
    return;
  }
  uint8_t maxs[4] = {0xBF, 0xBF, 0xBF, 0xBF}, mins[4] = {0x80, 0x80, 0x80, 0x80};
  uint8_t first_lo = lo[0], first_hi = hi[0];
  if (!lo_min) {
    byte_seq p = prefix;
    p.push_back({lo[0], lo[0]});
    split_same_len(lo + 1, maxs, n - 1, std::move(p), out);
    ++first_lo;
  }
  if (!hi_max) {
    byte_seq p = prefix;
    p.push_back({hi[0], hi[0]});
    split_same_len(mins, hi + 1, n - 1, std::move(p), out);
    --first_hi;
  }
  if (first_lo <= first_hi) {
    byte_seq p = prefix;
    p.push_back({first_lo, first_hi});
    for (int i = 1; i < n; ++i) p.push_back({0x80, 0xBF});
    out.push_back(std::move(p));
  }
}

void utf8_sequences(uint32_t lo, uint32_t hi, std::vector<byte_seq>& out) {
  static const uint32_t bounds[] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  // Surrogates are not scalar values and never appear in valid UTF-8.
  if (lo <= 0xDFFF && hi >= 0xD800) {
    if (lo < 0xD800) utf8_sequences(lo, 0xD7FF, out);
    if (hi > 0xDFFF) utf8_sequences(0xE000, hi, out);
    return;
  }
  for (uint32_t b : bounds) {
    if (lo > hi) return;
    uint32_t top = std::min(hi, b);
    if (lo <= top) {
      int n = utf8_len(lo);
      uint8_t a[4], z[4];
      encode(lo, n, a);
      encode(top, n, z);
      split_same_len(a, z, n, {}, out);
      lo = top + 1;
    }
  }
}

class nfa_builder {
 public:
  nfa_builder(nfa& n, bool json) : n_(n), json_(json) {}

  void build(const rx& node, int32_t from, int32_t to) {
    if (n_.overflow) return;
    switch (node->kind) {
      case rx_node::empty:
        n_.eps[from].push_back(to);
        return;
      case rx_node::bytes: {
        int32_t cur = from;
        for (size_t i = 0; i < node->literal.size(); ++i) {
          int32_t nx = i + 1 == node->literal.size() ? to : n_.add();
          uint8_t b = uint8_t(node->literal[i]);
          n_.edges[cur].push_back({b, b, nx});
          cur = nx;
        }
        if (node->literal.empty()) n_.eps[from].push_back(to);
        return;
      }
      case rx_node::cls:
        build_class(node->ranges, from, to);
        return;
      case rx_node::concat: {
        int32_t cur = from;
        for (size_t i = 0; i < node->kids.size(); ++i) {
          int32_t nx = i + 1 == node->kids.size() ? to : n_.add();
          build(node->kids[i], cur, nx);
          cur = nx;
        }
        if (node->kids.empty()) n_.eps[from].push_back(to);
        return;
      }
      case rx_node::alt:
        for (const auto& k : node->kids) {
          int32_t a = n_.add(), b = n_.add();
          n_.eps[from].push_back(a);
          build(k, a, b);
          n_.eps[b].push_back(to);
        }
        return;
      case rx_node::repeat: {
        int32_t cur = from;
        for (uint32_t i = 0; i < node->min && !n_.overflow; ++i) {
          int32_t nx = n_.add();
          build(node->kids[0], cur, nx);
          cur = nx;
        }
        if (node->max == rx_node::unbounded) {
          int32_t loop = n_.add();
          n_.eps[cur].push_back(loop);
          int32_t body_end = n_.add();
          build(node->kids[0], loop, body_end);
          n_.eps[body_end].push_back(loop);
          n_.eps[loop].push_back(to);
        } else {
          for (uint32_t i = node->min; i < node->max && !n_.overflow; ++i) {
            int32_t nx = n_.add();
            n_.eps[cur].push_back(to);
            build(node->kids[0], cur, nx);
            cur = nx;
          }
          n_.eps[cur].push_back(to);
        }
        return;
      }
    }
  }

 private:
  void add_seq(const byte_seq& seq, int32_t from, int32_t to) {
    int32_t cur = from;
    for (size_t i = 0; i < seq.size(); ++i) {
      int32_t nx = i + 1 == seq.size() ? to : n_.add();
      n_.edges[cur].push_back({seq[i].first, seq[i].second, nx});
      cur = nx;
    }
  }
  void add_literal(std::string_view s, int32_t from, int32_t to) {
    byte_seq seq;
    for (char c : s) seq.push_back({uint8_t(c), uint8_t(c)});
    add_seq(seq, from, to);
  }

  void build_class(const std::vector<cp_range>& ranges, int32_t from, int32_t to) {
    std::vector<cp_range> raw = ranges;
    if (json_) {
      raw = subtract(ranges, {{0, 0x1F}, {0x22, 0x22}, {0x5C, 0x5C}});
      static const std::pair<uint32_t, const char*> named[] = {
          {0x22, "\\\""}, {0x5C, "\\\\"}, {0x2F, "\\/"}, {0x08, "\\b"},
          {0x0C, "\\f"},  {0x0A, "\\n"},  {0x0D, "\\r"}, {0x09, "\\t"}};
      for (const auto& [c, esc] : named)
        if (contains(ranges, c)) add_literal(esc, from, to);
      for (uint32_t c = 0; c < 0x20; ++c) {
        if (!contains(ranges, c)) continue;
        byte_seq seq = {{'\\', '\\'}, {'u', 'u'}, {'0', '0'}, {'0', '0'}};
        seq.push_back({uint8_t('0' + (c >> 4)), uint8_t('0' + (c >> 4))});
        uint32_t low = c & 15;
        if (low < 10) {
          seq.push_back({uint8_t('0' + low), uint8_t('0' + low)});
          add_seq(seq, from, to);
        } else {
          seq.push_back({uint8_t('a' + low - 10), uint8_t('a' + low - 10)});
          add_seq(seq, from, to);
          seq.back() = {uint8_t('A' + low - 10), uint8_t('A' + low - 10)};
          add_seq(seq, from, to);
        }
      }
    }
    std::vector<byte_seq> seqs;
    for (const auto& r : normalize(raw)) utf8_sequences(r.lo, r.hi, seqs);
    for (const auto& s : seqs) add_seq(s, from, to);
  }

  nfa& n_;
  bool json_;
};

void closure(const nfa& n, std::vector<int32_t>& set, std::vector<uint8_t>& mark) {
  std::vector<int32_t> stack(set.begin(), set.end());
  for (int32_t s : set) mark[s] = 1;
  while (!stack.empty()) {
    int32_t s = stack.back();
    stack.pop_back();
    for (int32_t t : n.eps[s]) {
      if (!mark[t]) {
        mark[t] = 1;
        set.push_back(t);
        stack.push_back(t);
      }
    }
  }
  for (int32_t s : set) mark[s] = 0;
  std::sort(set.begin(), set.end());
}

struct vec_hash {
  size_t operator()(const std::vector<int32_t>& v) const noexcept {
    size_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ uint32_t(x)) * 1099511628211ull;
    return h;
  }
};

// Moore's partition refinement: states with the same acceptance and the same
// successor blocks merge. Fewer states means fewer token tables to build.
// Skipped for large machines (the refinement is quadratic in the worst case).
dfa minimize(const dfa& in) {
  size_t n = in.n_states();
  if (n <= 1 || n > 4000) return in;
  size_t k = size_t(in.n_classes);
  std::vector<int32_t> block(n), next_block(n);
  for (size_t s = 0; s < n; ++s) block[s] = in.accept[s] ? 1 : 0;
  size_t n_blocks = 0;
  for (;;) {
    std::map<std::vector<int32_t>, int32_t> ids;
    std::vector<int32_t> sig(k + 1);
    for (size_t s = 0; s < n; ++s) {
      sig[0] = block[s];
      for (size_t c = 0; c < k; ++c) {
        int32_t t = in.next[s * k + c];
        sig[c + 1] = t == dead ? -1 : block[t];
      }
      auto [it, fresh] = ids.emplace(sig, int32_t(ids.size()));
      next_block[s] = it->second;
    }
    bool stable = ids.size() == n_blocks;
    n_blocks = ids.size();
    block.swap(next_block);
    if (stable) break;
  }
  if (n_blocks == n) return in;
  // Renumber blocks in BFS order from the start, as trim does.
  std::vector<int32_t> remap(n_blocks, dead), rep(n_blocks, dead);
  for (size_t s = 0; s < n; ++s)
    if (rep[block[s]] == dead) rep[block[s]] = int32_t(s);
  std::vector<int32_t> order = {block[in.start]};
  remap[block[in.start]] = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    int32_t s = rep[order[i]];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[size_t(s) * k + c];
      if (t != dead && remap[block[t]] == dead) {
        remap[block[t]] = int32_t(order.size());
        order.push_back(block[t]);
      }
    }
  }
  dfa out;
  out.byte_class = in.byte_class;
  out.n_classes = in.n_classes;
  size_t m = order.size();
  out.next.assign(m * k, dead);
  out.accept.resize(m);
  out.has_out.resize(m);
  out.min_to_accept.resize(m);
  for (size_t i = 0; i < m; ++i) {
    int32_t s = rep[order[i]];
    out.accept[i] = in.accept[s];
    out.has_out[i] = in.has_out[s];
    out.min_to_accept[i] = in.min_to_accept[s];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[size_t(s) * k + c];
      if (t != dead) out.next[i * k + c] = remap[block[t]];
    }
  }
  out.start = 0;
  return out;
}

// Keeps only states that are reachable and can reach an accepting state; fills
// has_out and min_to_accept. States are renumbered in BFS order from start.
dfa trim(const dfa& in) {
  size_t n = in.n_states();
  dfa out;
  out.byte_class = in.byte_class;
  out.n_classes = in.n_classes;
  if (n == 0) return out;
  // Reverse edges in one flat array (compressed rows): schemas with
  // thousands of terminals call this thousands of times.
  std::vector<uint32_t> rev_begin(n + 1, 0);
  for (int32_t t : in.next)
    if (t != dead) ++rev_begin[size_t(t) + 1];
  for (size_t s = 0; s < n; ++s) rev_begin[s + 1] += rev_begin[s];
  std::vector<int32_t> rev(rev_begin[n]);
  {
    std::vector<uint32_t> fill(rev_begin.begin(), rev_begin.end() - 1);
    for (size_t s = 0; s < n; ++s)
      for (int c = 0; c < in.n_classes; ++c) {
        int32_t t = in.next[s * in.n_classes + c];
        if (t != dead) rev[fill[size_t(t)]++] = int32_t(s);
      }
  }
  std::vector<uint32_t> dist(n, UINT32_MAX);
  std::deque<int32_t> q;
  for (size_t s = 0; s < n; ++s)
    if (in.accept[s]) {
      dist[s] = 0;
      q.push_back(int32_t(s));
    }
  while (!q.empty()) {
    int32_t s = q.front();
    q.pop_front();
    for (uint32_t k = rev_begin[size_t(s)]; k < rev_begin[size_t(s) + 1]; ++k)
      if (int32_t p = rev[k]; dist[p] == UINT32_MAX) {
        dist[p] = dist[s] + 1;
        q.push_back(p);
      }
  }
  if (dist[in.start] == UINT32_MAX) return out;  // empty language
  std::vector<int32_t> remap(n, dead);
  std::vector<int32_t> order;
  remap[in.start] = 0;
  order.push_back(in.start);
  for (size_t i = 0; i < order.size(); ++i) {
    int32_t s = order[i];
    for (int c = 0; c < in.n_classes; ++c) {
      int32_t t = in.next[size_t(s) * in.n_classes + c];
      if (t != dead && dist[t] != UINT32_MAX && remap[t] == dead) {
        remap[t] = int32_t(order.size());
        order.push_back(t);
      }
    }
  }
  size_t m = order.size();
  out.next.assign(m * in.n_classes, dead);
  out.accept.assign(m, 0);
  out.has_out.assign(m, 0);
  out.min_to_accept.assign(m, 0);
  for (size_t i = 0; i < m; ++i) {
    int32_t s = order[i];
    out.accept[i] = in.accept[s];
    out.min_to_accept[i] = dist[s];
    for (int c = 0; c < in.n_classes; ++c) {
      int32_t t = in.next[size_t(s) * in.n_classes + c];
      if (t != dead && remap[t] != dead) {
        out.next[i * in.n_classes + c] = remap[t];
        out.has_out[i] = 1;
      }
    }
  }
  out.start = 0;
  return minimize(out);
}

}  // namespace

std::string dfa::key() const {
  std::string k;
  k.reserve(256 * 2 + next.size() * 4 + accept.size() + 8);
  k.append(reinterpret_cast<const char*>(byte_class.data()), sizeof(byte_class));
  k.append(reinterpret_cast<const char*>(next.data()), next.size() * sizeof(int32_t));
  k.append(reinterpret_cast<const char*>(accept.data()), accept.size());
  return k;
}

rx rx_empty() { return std::make_shared<rx_node>(); }
rx rx_literal(std::string_view raw_bytes) {
  auto n = std::make_shared<rx_node>();
  n->kind = rx_node::bytes;
  n->literal = std::string(raw_bytes);
  return n;
}
rx rx_class(std::vector<cp_range> ranges) {
  auto n = std::make_shared<rx_node>();
  n->kind = rx_node::cls;
  n->ranges = normalize(std::move(ranges));
  return n;
}
rx rx_any_char() { return rx_class({{0, max_cp}}); }
rx rx_seq(std::vector<rx> parts) {
  if (parts.size() == 1) return parts[0];
  auto n = std::make_shared<rx_node>();
  n->kind = rx_node::concat;
  n->kids = std::move(parts);
  return n;
}
rx rx_alt(std::vector<rx> parts) {
  if (parts.size() == 1) return parts[0];
  auto n = std::make_shared<rx_node>();
  n->kind = rx_node::alt;
  n->kids = std::move(parts);
  return n;
}
rx rx_repeat(rx kid, uint32_t min, uint32_t max) {
  auto n = std::make_shared<rx_node>();
  n->kind = rx_node::repeat;
  n->kids = {std::move(kid)};
  n->min = min;
  n->max = max;
  return n;
}

result<dfa> compile_dfa(const rx& re, const compile_options& opts) {
  nfa n;
  int32_t start = n.add(), final_state = n.add();
  nfa_builder(n, opts.json_string).build(re, start, final_state);
  if (n.overflow)
    return fail(errc::limit_exceeded, fmt::format("expression too large (over {} automaton states)", n.limit));

  // Byte equivalence classes: bytes that no edge boundary separates.
  std::array<uint8_t, 257> cut{};
  for (const auto& es : n.edges)
    for (const auto& e : es) {
      cut[e.lo] = 1;
      cut[size_t(e.hi) + 1] = 1;
    }
  dfa d;
  int cls = -1;
  std::vector<uint8_t> rep;
  for (int b = 0; b < 256; ++b) {
    if (b == 0 || cut[b]) {
      ++cls;
      rep.push_back(uint8_t(b));
    }
    d.byte_class[b] = uint16_t(cls);
  }
  d.n_classes = cls + 1;

  std::vector<uint8_t> mark(n.eps.size(), 0);
  std::unordered_map<std::vector<int32_t>, int32_t, vec_hash> ids;
  std::vector<std::vector<int32_t>> sets;
  std::vector<int32_t> s0 = {start};
  closure(n, s0, mark);
  ids.emplace(s0, 0);
  sets.push_back(s0);
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets.size() > opts.max_states)
      return fail(errc::limit_exceeded, fmt::format("expression too large (over {} DFA states)", opts.max_states));
    d.accept.push_back(std::binary_search(sets[i].begin(), sets[i].end(), final_state) ? 1 : 0);
    for (int c = 0; c < d.n_classes; ++c) {
      uint8_t b = rep[c];
      std::vector<int32_t> tgt;
      for (int32_t s : sets[i])
        for (const auto& e : n.edges[s])
          if (b >= e.lo && b <= e.hi) tgt.push_back(e.to);
      int32_t id = dead;
      if (!tgt.empty()) {
        std::sort(tgt.begin(), tgt.end());
        tgt.erase(std::unique(tgt.begin(), tgt.end()), tgt.end());
        closure(n, tgt, mark);
        auto [it, fresh] = ids.emplace(tgt, int32_t(sets.size()));
        if (fresh) sets.push_back(std::move(tgt));
        id = it->second;
      }
      d.next.push_back(id);
    }
  }
  d.start = 0;
  return trim(d);
}

result<dfa> intersect(const dfa& a, const dfa& b, bool subtract_b, size_t max_states) {
  dfa d;
  if (a.empty_language()) return d;
  if (b.empty_language() && !subtract_b) return d;
  std::map<std::pair<int, int>, int> pair_class;
  std::vector<uint8_t> rep;
  for (int x = 0; x < 256; ++x) {
    int cb = b.empty_language() ? 0 : b.byte_class[x];
    auto [it, fresh] = pair_class.emplace(std::make_pair(int(a.byte_class[x]), cb), int(rep.size()));
    if (fresh) rep.push_back(uint8_t(x));
    d.byte_class[x] = uint16_t(it->second);
  }
  d.n_classes = int(rep.size());
  auto key = [](int32_t x, int32_t y) { return (uint64_t(uint32_t(x)) << 32) | uint32_t(y); };
  std::unordered_map<uint64_t, int32_t> ids;
  std::vector<std::pair<int32_t, int32_t>> states;
  int32_t b0 = b.empty_language() ? dead : b.start;
  ids.emplace(key(a.start, b0), 0);
  states.push_back({a.start, b0});
  for (size_t i = 0; i < states.size(); ++i) {
    if (states.size() > max_states)
      return fail(errc::limit_exceeded, fmt::format("combined constraints too large (over {} DFA states)", max_states));
    auto [sa, sb] = states[i];
    bool acc_b = sb != dead && b.accept[sb];
    d.accept.push_back(subtract_b ? (a.accept[sa] && !acc_b) : (a.accept[sa] && acc_b));
    for (int c = 0; c < d.n_classes; ++c) {
      int32_t ta = a.step(sa, rep[c]);
      int32_t tb = sb == dead ? dead : b.step(sb, rep[c]);
      int32_t id = dead;
      if (ta != dead && (tb != dead || subtract_b)) {
        auto [it, fresh] = ids.emplace(key(ta, tb), int32_t(states.size()));
        if (fresh) states.push_back({ta, tb});
        id = it->second;
      }
      d.next.push_back(id);
    }
  }
  d.start = 0;
  return trim(d);
}

dfa divisible_by(uint32_t m) {
  // States: 0 start, 1 after '-', 2 + r: digits read so far, value mod m == r.
  dfa d;
  for (int b = 0; b < 256; ++b) d.byte_class[b] = b == '-' ? 1 : (b >= '0' && b <= '9') ? uint16_t(2 + b - '0') : 0;
  d.n_classes = 12;
  size_t n = 2 + size_t(m);
  d.next.assign(n * 12, dead);
  d.accept.assign(n, 0);
  d.accept[2] = 1;
  d.next[0 * 12 + 1] = 1;
  for (size_t s = 0; s < n; ++s) {
    uint64_t r = s < 2 ? 0 : s - 2;
    for (uint32_t digit = 0; digit < 10; ++digit) d.next[s * 12 + 2 + digit] = int32_t(2 + (r * 10 + digit) % m);
  }
  d.start = 0;
  return trim(d);
}

}  // namespace tern::engine::grammar_detail
