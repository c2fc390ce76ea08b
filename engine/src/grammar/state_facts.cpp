#include "grammar/state_facts.hpp"

namespace tern::engine::grammar_detail {

namespace {

constexpr int utf8_clean_step(int u, int b) {
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

constexpr std::array<std::array<int8_t, 256>, u8_n> make_utf8_clean_table() {
  std::array<std::array<int8_t, 256>, u8_n> t{};
  for (int u = 0; u < u8_n; ++u)
    for (int b = 0; b < 256; ++b) t[size_t(u)][size_t(b)] = int8_t(utf8_clean_step(u, b));
  return t;
}

constexpr uint8_t boundary_mark = 0x80;
uint8_t inside_mark(int v) { return uint8_t(1u << (v - 1)); }  // v in u8_cont1..u8_f4

}  // namespace

const std::array<std::array<int8_t, 256>, u8_n> utf8_clean_table = make_utf8_clean_table();

state_facts::state_facts(const dfa& d)
    : class_bytes_(size_t(d.n_classes)),
      idx_(d.n_states(), -1),
      text_(d.n_states(), unknown),
      reach_(d.n_states(), -1),
      mark_(d.n_states(), 0) {
  for (int b = 0; b < 256; ++b) class_bytes_[d.byte_class[b]][b >> 6] |= uint64_t(1) << (b & 63);
  for (int u = 0; u < u8_n; ++u) {
    std::vector<uint8_t> seen(size_t(d.n_classes) * u8_n, 0);
    for (int b = 0; b < 256; ++b) {
      int v = utf8_clean_next(u, uint8_t(b));
      if (v < 0) continue;
      uint8_t& s = seen[size_t(d.byte_class[b]) * u8_n + size_t(v)];
      if (s) continue;
      s = 1;
      clean_steps_[size_t(u)].push_back({uint8_t(b), int8_t(v)});
    }
  }
}

size_t state_facts::bytes() const {
  return idx_.size() * (sizeof(int32_t) * 2 + 2) + sets_.capacity() * sizeof(info) +
         class_bytes_.size() * sizeof(class_bytes_[0]) + touched_.capacity() * sizeof(int32_t);
}

const state_facts::info& state_facts::of(const dfa& d, int32_t s) {
  if (idx_[s] >= 0) return sets_[size_t(idx_[s])];
  info m;
  const int32_t* row = d.next.data() + size_t(s) * size_t(d.n_classes);
  for (int c = 0; c < d.n_classes; ++c)
    if (row[c] == s)
      for (int w = 0; w < 4; ++w) m.bytes[w] |= class_bytes_[size_t(c)][w];
  m.any = (m.bytes[0] | m.bytes[1] | m.bytes[2] | m.bytes[3]) != 0;
  // A closure check costs up to a few thousand steps; states that loop on
  // no printable ASCII byte (a counting string's) are not worth trying
  // unless an earlier check already found them inside a closed set.
  constexpr uint64_t printable_lo = 0xFFFFFFFF00000000ull, printable_hi = 0x7FFFFFFFFFFFFFFFull;
  m.text = text_[s] == closed ||
           (((m.bytes[0] & printable_lo) | (m.bytes[1] & printable_hi)) != 0 && text_closed(d, s));
  if (!m.text && ((m.bytes[0] & printable_lo) | (m.bytes[1] & printable_hi)) != 0) {
    // A negated class ([^<>/]*, \S+) fails the closure on the characters it
    // excludes; without them (those that kill s or end it), the rest of the
    // text may still be closed, and subtrees free of them are taken whole.
    std::array<uint64_t, 4> excluded{};
    for (const clean_step& cs : clean_steps_[u8_start]) {
      if (cs.v != u8_start) continue;
      int32_t z = d.step(s, cs.byte);
      if (z == dead || d.accept[size_t(z)]) {
        const auto& cb = class_bytes_[d.byte_class[cs.byte]];
        for (int w = 0; w < 2; ++w) excluded[size_t(w)] |= cb[size_t(w)];
      }
    }
    if ((excluded[0] | excluded[1]) != 0 && text_closed(d, s, &excluded)) {
      m.text = true;
      for (int w = 0; w < 4; ++w) m.text_bytes[size_t(w)] = ~excluded[size_t(w)];
      ++n_closed_without_;
    }
  }
  if (!m.text) m.reach = text_reach(d, s);
  idx_[s] = int32_t(sets_.size());
  sets_.push_back(m);
  return sets_.back();
}

void state_facts::clear_marks() {
  for (int32_t x : touched_) mark_[size_t(x)] = 0;
  touched_.clear();
}

bool state_facts::one_clean_char(const dfa& d, int32_t x, const std::array<uint64_t, 4>* without,
                                 std::vector<int32_t>& out, size_t max_out, size_t& n_mid, size_t max_mid) {
  todo_.assign(1, {x, u8_start});
  while (!todo_.empty()) {
    auto [y, u] = todo_.back();
    todo_.pop_back();
    for (const clean_step& cs : clean_steps_[size_t(u)]) {
      if (without && u == u8_start && (((*without)[cs.byte >> 6] >> (cs.byte & 63)) & 1)) continue;
      int32_t z = d.step(y, cs.byte);
      if (z == dead || d.accept[z]) return false;
      uint8_t& mk = mark_[size_t(z)];
      if (!mk) touched_.push_back(z);
      if (cs.v == u8_start) {
        if (!(mk & boundary_mark)) {
          if (out.size() >= max_out) return false;
          mk |= boundary_mark;
          out.push_back(z);
        }
      } else if (!(mk & inside_mark(cs.v))) {
        if (++n_mid > max_mid) return false;
        mk |= inside_mark(cs.v);
        todo_.emplace_back(z, cs.v);
      }
    }
  }
  return true;
}

// Breadth-first over the states clean characters reach from s, bounded so
// that a state with a large clean-text closure (a long counting string) is
// declared open quickly. The answer does not depend on the order of the
// search: any closure over the bounds, or any dead or accepting state in it,
// makes s open.
bool state_facts::text_closed(const dfa& d, int32_t s, const std::array<uint64_t, 4>* without) {
  if (!without && text_[s] != unknown) return text_[s] == closed;
  constexpr size_t max_reach = 64, max_mid = 512;
  std::vector<int32_t> reach = {s};
  size_t n_mid = 0;
  mark_[size_t(s)] |= boundary_mark;
  touched_.push_back(s);
  bool ok = true;
  for (size_t k = 0; k < reach.size() && ok; ++k) {
    int32_t x = reach[k];
    // Closed over all clean text is closed over less of it; open is not
    // decisive for less.
    if (text_[x] == closed) continue;
    if ((!without && text_[x] == open) || d.accept[x]) {
      ok = false;
      break;
    }
    ok = one_clean_char(d, x, without, reach, max_reach, n_mid, max_mid);
  }
  clear_marks();
  if (without) return ok;
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
uint32_t state_facts::text_reach(const dfa& d, int32_t s) {
  if (reach_[s] >= 0) return uint32_t(reach_[s]);
  constexpr uint32_t max_chars = 32;
  constexpr size_t max_layer = 4, max_mid = 512;
  std::vector<int32_t> layer = {s}, next;
  std::vector<int32_t> chain;  // single-state layers from s on
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
    clear_marks();
    size_t n_mid = 0;
    bool ok = true;
    for (int32_t x : layer) {
      ok = one_clean_char(d, x, nullptr, next, SIZE_MAX, n_mid, max_mid);
      if (!ok) break;
    }
    if (!ok) break;
    if (next.size() > max_layer) {
      ++k;
      exact = false;
      break;
    }
    layer.swap(next);
  }
  clear_marks();
  k = std::min(k, max_chars);
  // The j-th state of a single-state chain has k - j characters of reach;
  // exact only while no wider layer was seen before it.
  for (size_t j = 0; j < chain.size(); ++j)
    if (reach_[chain[j]] < 0) reach_[chain[j]] = int32_t(k - std::min<uint32_t>(k, uint32_t(j)));
  reach_[s] = int32_t(k);
  return k;
}

}  // namespace tern::engine::grammar_detail
