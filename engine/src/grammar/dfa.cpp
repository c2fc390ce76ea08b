// Regex subset -> byte NFA (Thompson) -> DFA (subset construction) -> canonical DFA
// (dfa_minimize.cpp): trimmed, minimal, numbered in BFS order.
#include "grammar/dfa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
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

// Thompson NFA as flat edge lists (one allocation per list, not per state);
// the subset construction turns them into compressed rows.
struct nfa {
  struct edge {
    int32_t from;
    uint8_t lo, hi;
    int32_t to;
  };
  std::vector<std::pair<int32_t, int32_t>> eps;  // (from, to)
  std::vector<edge> edges;
  int32_t n_states = 0;
  int32_t limit = 400000;
  bool overflow = false;
  int32_t add() {
    if (n_states >= limit) {
      overflow = true;
      return 0;
    }
    return n_states++;
  }
  void link(int32_t from, int32_t to) { eps.emplace_back(from, to); }
  void step(int32_t from, uint8_t lo, uint8_t hi, int32_t to) { edges.push_back({from, lo, hi, to}); }
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
        n_.link(from, to);
        return;
      case rx_node::bytes: {
        int32_t cur = from;
        for (size_t i = 0; i < node->literal.size(); ++i) {
          int32_t nx = i + 1 == node->literal.size() ? to : n_.add();
          uint8_t b = uint8_t(node->literal[i]);
          n_.step(cur, b, b, nx);
          cur = nx;
        }
        if (node->literal.empty()) n_.link(from, to);
        return;
      }
      case rx_node::cls:
        build_class(node.get(), from, to);
        return;
      case rx_node::concat: {
        int32_t cur = from;
        for (size_t i = 0; i < node->kids.size(); ++i) {
          int32_t nx = i + 1 == node->kids.size() ? to : n_.add();
          build(node->kids[i], cur, nx);
          cur = nx;
        }
        if (node->kids.empty()) n_.link(from, to);
        return;
      }
      case rx_node::alt:
        for (const auto& k : node->kids) {
          int32_t a = n_.add(), b = n_.add();
          n_.link(from, a);
          build(k, a, b);
          n_.link(b, to);
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
          n_.link(cur, loop);
          int32_t body_end = n_.add();
          build(node->kids[0], loop, body_end);
          n_.link(body_end, loop);
          n_.link(loop, to);
        } else {
          for (uint32_t i = node->min; i < node->max && !n_.overflow; ++i) {
            int32_t nx = n_.add();
            n_.link(cur, to);
            build(node->kids[0], cur, nx);
            cur = nx;
          }
          n_.link(cur, to);
        }
        return;
      }
    }
  }

 private:
  // A class's byte sequences (UTF-8 forms, JSON escapes) merged into a trie
  // once per class node: a bounded repeat instantiates it hundreds of times,
  // and shared prefixes (`\u00`, lead bytes) keep the NFA and its subsets small.
  struct seq_trie {
    struct edge {
      uint8_t lo, hi;
      int32_t child;  // -1: the end of the character
    };
    std::vector<std::vector<edge>> nodes{1};  // node 0 is the root
    void insert(const byte_seq& seq) {
      int32_t cur = 0;
      for (size_t i = 0; i < seq.size(); ++i) {
        bool last = i + 1 == seq.size();
        auto& out = nodes[size_t(cur)];
        auto it = std::find_if(out.begin(), out.end(), [&](const edge& e) {
          return e.lo == seq[i].first && e.hi == seq[i].second && (e.child < 0) == last;
        });
        if (it != out.end()) {
          cur = it->child;
          continue;
        }
        int32_t child = last ? -1 : int32_t(nodes.size());
        out.push_back({seq[i].first, seq[i].second, child});
        if (!last) nodes.emplace_back();
        cur = child;
      }
    }
  };

  const seq_trie& class_trie(const rx_node* node) {
    auto [it, fresh] = class_tries_.try_emplace(node);
    if (!fresh) return it->second;
    seq_trie& t = it->second;
    const auto& ranges = node->ranges;
    std::vector<cp_range> raw = ranges;
    auto literal = [](std::string_view s) {
      byte_seq seq;
      for (char c : s) seq.push_back({uint8_t(c), uint8_t(c)});
      return seq;
    };
    if (json_) {
      raw = subtract(ranges, {{0, 0x1F}, {0x22, 0x22}, {0x5C, 0x5C}});
      static const std::pair<uint32_t, const char*> named[] = {
          {0x22, "\\\""}, {0x5C, "\\\\"}, {0x2F, "\\/"}, {0x08, "\\b"},
          {0x0C, "\\f"},  {0x0A, "\\n"},  {0x0D, "\\r"}, {0x09, "\\t"}};
      for (const auto& [c, esc] : named)
        if (contains(ranges, c)) t.insert(literal(esc));
      for (uint32_t c = 0; c < 0x20; ++c) {
        if (!contains(ranges, c)) continue;
        byte_seq seq = {{'\\', '\\'}, {'u', 'u'}, {'0', '0'}, {'0', '0'}};
        seq.push_back({uint8_t('0' + (c >> 4)), uint8_t('0' + (c >> 4))});
        uint32_t low = c & 15;
        if (low < 10) {
          seq.push_back({uint8_t('0' + low), uint8_t('0' + low)});
          t.insert(seq);
        } else {
          seq.push_back({uint8_t('a' + low - 10), uint8_t('a' + low - 10)});
          t.insert(seq);
          seq.back() = {uint8_t('A' + low - 10), uint8_t('A' + low - 10)};
          t.insert(seq);
        }
      }
    }
    std::vector<byte_seq> seqs;
    for (const auto& r : normalize(raw)) utf8_sequences(r.lo, r.hi, seqs);
    for (const auto& seq : seqs) t.insert(seq);
    return t;
  }

  void build_class(const rx_node* node, int32_t from, int32_t to) {
    const seq_trie& t = class_trie(node);
    std::vector<int32_t> state(t.nodes.size(), from);
    for (size_t i = 1; i < t.nodes.size(); ++i) state[i] = n_.add();
    for (size_t i = 0; i < t.nodes.size(); ++i)
      for (const auto& e : t.nodes[i]) n_.step(state[i], e.lo, e.hi, e.child < 0 ? to : state[size_t(e.child)]);
  }

  nfa& n_;
  bool json_;
  std::unordered_map<const rx_node*, seq_trie> class_tries_;
};

// The NFA in compressed rows, with each byte edge's range turned into the
// range of byte classes it covers (classes are runs of consecutive bytes).
struct nfa_rows {
  struct edge {
    uint16_t c_lo, c_hi;
    int32_t to;
  };
  std::vector<uint32_t> eps_begin;
  std::vector<int32_t> eps_to;
  std::vector<uint32_t> edge_begin;
  std::vector<edge> edges;
  // States that matter to a DFA state: those with byte edges, and the final
  // state. Two closures with the same such states behave the same.
  std::vector<uint8_t> kept;

  nfa_rows(const nfa& n, const std::array<uint16_t, 256>& byte_class, int32_t final_state) {
    size_t m = size_t(n.n_states);
    eps_begin.assign(m + 1, 0);
    for (const auto& [from, to] : n.eps) ++eps_begin[size_t(from) + 1];
    for (size_t s = 0; s < m; ++s) eps_begin[s + 1] += eps_begin[s];
    eps_to.resize(n.eps.size());
    std::vector<uint32_t> fill(eps_begin.begin(), eps_begin.end() - 1);
    for (const auto& [from, to] : n.eps) eps_to[fill[size_t(from)]++] = to;
    edge_begin.assign(m + 1, 0);
    for (const auto& e : n.edges) ++edge_begin[size_t(e.from) + 1];
    for (size_t s = 0; s < m; ++s) edge_begin[s + 1] += edge_begin[s];
    edges.resize(n.edges.size());
    fill.assign(edge_begin.begin(), edge_begin.end() - 1);
    for (const auto& e : n.edges) edges[fill[size_t(e.from)]++] = {byte_class[e.lo], byte_class[e.hi], e.to};
    kept.assign(m, 0);
    for (size_t s = 0; s < m; ++s) kept[s] = edge_begin[s + 1] > edge_begin[s];
    kept[size_t(final_state)] = 1;
  }
};

// Epsilon closures with a generation stamp instead of clearing marks.
class closer {
 public:
  explicit closer(const nfa_rows& rows) : rows_(rows), seen_(rows.kept.size(), 0) {}

  // The kept states of the closure of `seeds` (duplicates allowed), sorted.
  void close(const std::vector<int32_t>& seeds, std::vector<int32_t>& out) {
    ++stamp_;
    out.clear();
    stack_.clear();
    for (int32_t s : seeds)
      if (seen_[size_t(s)] != stamp_) {
        seen_[size_t(s)] = stamp_;
        stack_.push_back(s);
      }
    while (!stack_.empty()) {
      int32_t s = stack_.back();
      stack_.pop_back();
      if (rows_.kept[size_t(s)]) out.push_back(s);
      for (uint32_t i = rows_.eps_begin[size_t(s)]; i < rows_.eps_begin[size_t(s) + 1]; ++i)
        if (int32_t t = rows_.eps_to[i]; seen_[size_t(t)] != stamp_) {
          seen_[size_t(t)] = stamp_;
          stack_.push_back(t);
        }
    }
    std::sort(out.begin(), out.end());
  }

 private:
  const nfa_rows& rows_;
  std::vector<uint32_t> seen_;
  uint32_t stamp_ = 0;
  std::vector<int32_t> stack_;
};

// Interned NFA state sets: one flat pool and an open-addressing table of ids.
class set_table {
 public:
  set_table() : begin_{0}, slots_(64, -1) {}

  size_t size() const { return begin_.size() - 1; }
  void get(size_t id, std::vector<int32_t>& out) const {
    out.assign(pool_.begin() + begin_[id], pool_.begin() + begin_[id + 1]);
  }
  int32_t intern(const std::vector<int32_t>& set) {
    uint64_t h = hash(set);
    size_t mask = slots_.size() - 1;
    for (size_t i = size_t(h) & mask;; i = (i + 1) & mask) {
      int32_t id = slots_[i];
      if (id < 0) break;
      if (hashes_[size_t(id)] == h && equal(size_t(id), set)) return id;
    }
    auto id = int32_t(size());
    pool_.insert(pool_.end(), set.begin(), set.end());
    begin_.push_back(uint32_t(pool_.size()));
    hashes_.push_back(h);
    if (2 * size() > slots_.size()) {
      slots_.assign(slots_.size() * 2, -1);
      for (size_t j = 0; j < size(); ++j) place(int32_t(j));
    } else {
      place(id);
    }
    return id;
  }

 private:
  static uint64_t hash(const std::vector<int32_t>& set) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ set.size();
    for (int32_t x : set) h = (h ^ uint32_t(x)) * 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 32);
  }
  bool equal(size_t id, const std::vector<int32_t>& set) const {
    size_t len = begin_[id + 1] - begin_[id];
    return len == set.size() && std::equal(set.begin(), set.end(), pool_.begin() + begin_[id]);
  }
  void place(int32_t id) {
    size_t mask = slots_.size() - 1;
    size_t i = size_t(hashes_[size_t(id)]) & mask;
    while (slots_[i] >= 0) i = (i + 1) & mask;
    slots_[i] = id;
  }

  std::vector<int32_t> pool_;
  std::vector<uint32_t> begin_;
  std::vector<uint64_t> hashes_;
  std::vector<int32_t> slots_;
};

}  // namespace

std::string dfa::key() const {
  // Byte classes, sizes, then per state its acceptance and its row of
  // targets as runs (length, target + 1; 0 for dead): a prefix-free encoding,
  // so equal keys are equal machines. Rows are mostly long runs (a string
  // body goes on to itself on almost every class), so keys stay short, and
  // hashing them (sharing terminals, token tables) stays cheap.
  size_t n = n_states(), k = size_t(n_classes);
  size_t width = n + 1 < 0x100 ? 1 : n + 1 < 0x10000 ? 2 : 4;
  // Written into an uninitialised buffer sized for the worst case (untouched
  // pages cost nothing), then copied out at its real length.
  std::unique_ptr<char[]> buf(new char[256 + 10 + n * (1 + k * (1 + width))]);
  char* w = buf.get();
  auto put = [&w](uint32_t x, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) *w++ = char(uint8_t(x >> (8 * i)));
  };
  for (uint16_t c : byte_class) *w++ = char(uint8_t(c));  // classes are < 256
  put(uint32_t(n), 4);
  put(uint32_t(start), 4);
  put(uint32_t(k), 2);
  for (size_t s = 0; s < n; ++s) {
    *w++ = char(accept[s]);
    const int32_t* row = next.data() + s * k;
    for (size_t c = 0; c < k;) {
      size_t end = c + 1;
      while (end < k && row[end] == row[c]) ++end;
      put(uint32_t(end - c - 1), 1);  // runs are at most 256 classes
      put(uint32_t(row[c] + 1), width);
      c = end;
    }
  }
  return std::string(buf.get(), w);
}

namespace {

void append_key(const rx& re, std::string& out) {
  auto put = [&out](uint32_t x) { out.append(reinterpret_cast<const char*>(&x), sizeof x); };
  out.push_back(char('0' + re->kind));
  switch (re->kind) {
    case rx_node::empty:
      return;
    case rx_node::cls:
      put(uint32_t(re->ranges.size()));
      for (const auto& r : re->ranges) {
        put(r.lo);
        put(r.hi);
      }
      return;
    case rx_node::bytes:
      put(uint32_t(re->literal.size()));
      out += re->literal;
      return;
    case rx_node::repeat:
      put(re->min);
      put(re->max);
      break;
    case rx_node::concat:
    case rx_node::alt:
      put(uint32_t(re->kids.size()));
      break;
  }
  for (const auto& kid : re->kids) append_key(kid, out);
}

}  // namespace

std::string rx_key(const rx& re) {
  std::string out;
  append_key(re, out);
  return out;
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

namespace {

// A literal's canonical machine, built directly: a chain of states with one
// byte class per distinct byte (and the runs between them), exactly what the
// general path gives (the classes come from the same cuts), without its
// quadratic minimisation. Large schemas have thousands of property keys.
dfa literal_dfa(std::string_view bytes) {
  std::array<uint8_t, 257> cut{};
  for (char ch : bytes) {
    cut[uint8_t(ch)] = 1;
    cut[size_t(uint8_t(ch)) + 1] = 1;
  }
  dfa d;
  int cls = -1;
  for (int b = 0; b < 256; ++b) {
    if (b == 0 || cut[size_t(b)]) ++cls;
    d.byte_class[size_t(b)] = uint16_t(cls);
  }
  d.n_classes = cls + 1;
  size_t n = bytes.size() + 1, k = size_t(d.n_classes);
  d.next.assign(n * k, dead);
  d.accept.assign(n, 0);
  d.has_out.assign(n, 1);
  d.min_to_accept.resize(n);
  for (size_t i = 0; i < bytes.size(); ++i) d.next[i * k + d.byte_class[uint8_t(bytes[i])]] = int32_t(i + 1);
  for (size_t i = 0; i < n; ++i) d.min_to_accept[i] = uint32_t(n - 1 - i);
  d.accept[n - 1] = 1;
  d.has_out[n - 1] = 0;
  d.start = 0;
  return d;
}

}  // namespace

result<dfa> compile_dfa(const rx& re, const compile_options& opts) {
  if (re->kind == rx_node::bytes) return literal_dfa(re->literal);
  nfa n;
  int32_t start = n.add(), final_state = n.add();
  nfa_builder(n, opts.json_string).build(re, start, final_state);
  if (n.overflow)
    return fail(errc::limit_exceeded, fmt::format("expression too large (over {} automaton states)", n.limit));

  // Byte equivalence classes: bytes that no edge boundary separates.
  std::array<uint8_t, 257> cut{};
  for (const auto& e : n.edges) {
    cut[e.lo] = 1;
    cut[size_t(e.hi) + 1] = 1;
  }
  dfa d;
  int cls = -1;
  for (int b = 0; b < 256; ++b) {
    if (b == 0 || cut[b]) ++cls;
    d.byte_class[b] = uint16_t(cls);
  }
  d.n_classes = cls + 1;
  auto k = size_t(d.n_classes);

  // Subset construction. Per DFA state, one pass over its NFA states' edges
  // collects the targets of every class at once.
  nfa_rows rows(n, d.byte_class, final_state);
  closer close(rows);
  set_table sets;
  std::vector<int32_t> cur = {start}, closed;
  close.close(cur, closed);
  sets.intern(closed);
  std::vector<std::vector<int32_t>> targets(k);
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets.size() > opts.max_states)
      return fail(errc::limit_exceeded, fmt::format("expression too large (over {} DFA states)", opts.max_states));
    sets.get(i, cur);
    d.accept.push_back(std::binary_search(cur.begin(), cur.end(), final_state) ? 1 : 0);
    for (auto& t : targets) t.clear();
    for (int32_t s : cur)
      for (uint32_t j = rows.edge_begin[size_t(s)]; j < rows.edge_begin[size_t(s) + 1]; ++j) {
        const auto& e = rows.edges[j];
        for (size_t c = e.c_lo; c <= e.c_hi; ++c) targets[c].push_back(e.to);
      }
    for (size_t c = 0; c < k; ++c) {
      int32_t id = dead;
      if (c > 0 && targets[c] == targets[c - 1]) {
        id = d.next.back();  // wide edges give runs of classes with equal targets
      } else if (!targets[c].empty()) {
        close.close(targets[c], closed);
        if (!closed.empty()) id = sets.intern(closed);
      }
      d.next.push_back(id);
    }
  }
  d.start = 0;
  return canonicalize(d);
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
  // Pair ids: a dense table when the product is small (the common case:
  // a key terminal minus a few names), a hash map otherwise.
  size_t nb1 = b.n_states() + 1;  // b's state + 1, so that dead is 0
  bool dense = a.n_states() * nb1 <= (size_t(1) << 16);
  std::vector<int32_t> dense_ids(dense ? a.n_states() * nb1 : 0, dead);
  std::unordered_map<uint64_t, int32_t> ids;
  std::vector<std::pair<int32_t, int32_t>> states;
  auto id_of = [&](int32_t x, int32_t y) {
    auto fresh = int32_t(states.size());
    int32_t* slot;
    if (dense) {
      slot = &dense_ids[size_t(x) * nb1 + size_t(y + 1)];
    } else {
      slot = &ids.try_emplace((uint64_t(uint32_t(x)) << 32) | uint32_t(y), dead).first->second;
    }
    if (*slot == dead) {
      *slot = fresh;
      states.push_back({x, y});
    }
    return *slot;
  };
  id_of(a.start, b.empty_language() ? dead : b.start);
  for (size_t i = 0; i < states.size(); ++i) {
    if (states.size() > max_states)
      return fail(errc::limit_exceeded, fmt::format("combined constraints too large (over {} DFA states)", max_states));
    auto [sa, sb] = states[i];
    bool acc_b = sb != dead && b.accept[size_t(sb)];
    d.accept.push_back(subtract_b ? (a.accept[size_t(sa)] && !acc_b) : (a.accept[size_t(sa)] && acc_b));
    for (int c = 0; c < d.n_classes; ++c) {
      int32_t ta = a.step(sa, rep[size_t(c)]);
      int32_t tb = sb == dead ? dead : b.step(sb, rep[size_t(c)]);
      d.next.push_back(ta != dead && (tb != dead || subtract_b) ? id_of(ta, tb) : dead);
    }
  }
  d.start = 0;
  return canonicalize(d);
}

result<dfa> subtract_words(const dfa& a, const std::vector<std::string>& words, size_t max_states) {
  dfa d;
  if (a.empty_language()) return d;
  // The trie: children as (byte, node) lists, few per node.
  std::vector<std::vector<std::pair<uint8_t, int32_t>>> kids(1);
  std::vector<uint8_t> word_end(1, 0);
  std::array<uint8_t, 256> in_word{};
  auto child = [&](int32_t t, uint8_t b) {
    for (const auto& [kb, kt] : kids[size_t(t)])
      if (kb == b) return kt;
    return dead;
  };
  for (const auto& w : words) {
    int32_t t = 0;
    for (char ch : w) {
      auto b = uint8_t(ch);
      in_word[b] = 1;
      int32_t next = child(t, b);
      if (next == dead) {
        next = int32_t(kids.size());
        kids[size_t(t)].push_back({b, next});
        kids.emplace_back();
        word_end.push_back(0);
      }
      t = next;
    }
    word_end[size_t(t)] = 1;
  }
  // Classes: a's classes split so that every byte of a word stands alone.
  std::map<std::pair<int, int>, int> pair_class;
  std::vector<uint8_t> rep;
  for (int x = 0; x < 256; ++x) {
    auto [it, fresh] = pair_class.emplace(std::make_pair(int(a.byte_class[size_t(x)]), in_word[size_t(x)] ? x : 256),
                                          int(rep.size()));
    if (fresh) rep.push_back(uint8_t(x));
    d.byte_class[size_t(x)] = uint16_t(it->second);
  }
  d.n_classes = int(rep.size());
  size_t nt1 = kids.size() + 1;  // trie node + 1, so that dead is 0
  bool dense = a.n_states() * nt1 <= (size_t(1) << 16);
  std::vector<int32_t> dense_ids(dense ? a.n_states() * nt1 : 0, dead);
  std::unordered_map<uint64_t, int32_t> ids;
  std::vector<std::pair<int32_t, int32_t>> states;
  auto id_of = [&](int32_t x, int32_t y) {
    int32_t* slot = dense ? &dense_ids[size_t(x) * nt1 + size_t(y + 1)]
                          : &ids.try_emplace((uint64_t(uint32_t(x)) << 32) | uint32_t(y), dead).first->second;
    if (*slot == dead) {
      *slot = int32_t(states.size());
      states.push_back({x, y});
    }
    return *slot;
  };
  id_of(a.start, 0);
  for (size_t i = 0; i < states.size(); ++i) {
    if (states.size() > max_states)
      return fail(errc::limit_exceeded, fmt::format("combined constraints too large (over {} DFA states)", max_states));
    auto [sa, st] = states[i];
    d.accept.push_back(a.accept[size_t(sa)] && !(st != dead && word_end[size_t(st)]));
    // Every class leaves the trie except the bytes of the node's children
    // (each a class of its own), which are set afterwards.
    size_t row = d.next.size();
    for (int c = 0; c < d.n_classes; ++c) {
      int32_t ta = a.step(sa, rep[size_t(c)]);
      d.next.push_back(ta == dead ? dead : id_of(ta, dead));
    }
    if (st == dead) continue;
    for (const auto& [b, kt] : kids[size_t(st)]) {
      int32_t ta = a.step(sa, b);
      if (ta != dead) d.next[row + d.byte_class[b]] = id_of(ta, kt);
    }
  }
  d.start = 0;
  return canonicalize(d);
}

dfa prepend_byte(const dfa& x, uint8_t byte) {
  if (x.empty_language()) return x;
  // Classes: x's, with `byte` split out of its class. Numbered by first byte,
  // as x's are, so the BFS over classes meets x's states in x's order.
  size_t k = size_t(x.n_classes);
  std::vector<int32_t> new_of_old(k, -1);
  std::vector<uint16_t> old_of_new;
  int32_t byte_class = -1;
  dfa y;
  for (int b = 0; b < 256; ++b) {
    uint16_t o = x.byte_class[size_t(b)];
    int32_t& id = b == byte ? byte_class : new_of_old[o];
    if (id < 0) {
      id = int32_t(old_of_new.size());
      old_of_new.push_back(o);
    }
    y.byte_class[size_t(b)] = uint16_t(id);
  }
  size_t nk = old_of_new.size(), n = x.n_states() + 1;
  y.n_classes = int(nk);
  y.next.assign(n * nk, dead);
  y.next[size_t(byte_class)] = 1;
  for (size_t s = 0; s + 1 < n; ++s)
    for (size_t c = 0; c < nk; ++c)
      if (int32_t t = x.next[s * k + old_of_new[c]]; t != dead) y.next[(s + 1) * nk + c] = t + 1;
  y.accept.assign(1, 0);
  y.accept.insert(y.accept.end(), x.accept.begin(), x.accept.end());
  y.has_out.assign(1, 1);
  y.has_out.insert(y.has_out.end(), x.has_out.begin(), x.has_out.end());
  y.min_to_accept.assign(1, x.min_to_accept[size_t(x.start)] + 1);
  y.min_to_accept.insert(y.min_to_accept.end(), x.min_to_accept.begin(), x.min_to_accept.end());
  y.start = 0;
  // y is minimal unless x has a state with the new start's language: not
  // accepting, `byte` alone in its class, leading to x's start, and dead on
  // everything else. Then the general path merges them.
  uint16_t cb = x.byte_class[byte];
  if (new_of_old[cb] < 0) {
    for (size_t s = 0; s + 1 < n; ++s) {
      if (x.accept[s] || x.next[s * k + cb] != x.start) continue;
      bool only = true;
      for (size_t c = 0; c < k && only; ++c) only = c == cb || x.next[s * k + c] == dead;
      if (only) return canonicalize(y);
    }
  }
  return y;
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
  return canonicalize(d);
}

}  // namespace tern::engine::grammar_detail
