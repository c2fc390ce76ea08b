#include "grammar/state_equivalence.hpp"

#include <bit>
#include <string_view>

namespace tern::engine::grammar_detail {

namespace {

// 0 dead, 1 live, 2 accepting.
uint64_t status(const dfa& d, int32_t s) { return s == dead ? 0 : d.accept[size_t(s)] ? 2 : 1; }

uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

uint64_t pair_key(int32_t x, int32_t y) { return (uint64_t(uint32_t(x)) << 32) | uint32_t(y); }

}  // namespace

uint64_t behaviour_signature(const dfa& d, int32_t s, uint32_t depth) {
  uint64_t h = mix(0, status(d, s));
  if (depth == 0) return h;
  for (int b = 0; b < 256; ++b) h = mix(h, status(d, d.step(s, uint8_t(b))));
  // Runs of characters that strings, numbers and patterns commonly take:
  // they tell apart the states of a counting string (by how far each run
  // survives) and where accepting points fall on the way.
  static constexpr std::string_view probes[] = {"a", "0", " ", "A", "-", "\xC3\xA9"};
  for (std::string_view unit : probes) {
    int32_t x = s;
    uint32_t n = 0;
    uint64_t acc = 0;
    while (x != dead && n < depth) {
      x = d.step(x, uint8_t(unit[n % unit.size()]));
      ++n;
      if (x != dead && d.accept[size_t(x)]) acc = mix(acc, n);
    }
    h = mix(mix(h, x == dead ? n : depth + 1), acc);
  }
  return h;
}

bool equivalent_up_to(const dfa& a, int32_t p, const dfa& b, int32_t q, uint32_t depth, size_t max_pairs,
                      pair_search_scratch& sc, std::span<const byte_set> bytes_at) {
  if (status(a, p) != status(b, q)) return false;
  const bool same = &a == &b;
  if (same && p == q) return true;
  // Bytes grouped by their class in both machines: bytes of one group move
  // every pair alike, so one byte of the group (among those allowed at the
  // depth) stands for all.
  const size_t na = size_t(a.n_classes), nb = size_t(b.n_classes);
  sc.groups.clear();
  std::vector<int32_t>& group_of = sc.group_of;
  group_of.assign(na * nb <= 4096 ? na * nb : 0, -1);
  for (int x = 0; x < 256; ++x) {
    int32_t g = int32_t(sc.groups.size());
    if (!group_of.empty()) {
      int32_t& slot = group_of[size_t(a.byte_class[x]) * nb + b.byte_class[x]];
      if (slot < 0) slot = g;
      g = slot;
    }
    if (size_t(g) == sc.groups.size()) sc.groups.emplace_back();
    sc.groups[size_t(g)][size_t(x) >> 6] |= uint64_t(1) << (x & 63);
  }
  auto bytes_for_depth = [&](uint32_t d) {
    sc.reps.clear();
    for (const byte_set& g : sc.groups) {
      byte_set m = g;
      if (!bytes_at.empty()) {
        if (d > bytes_at.size()) return;  // deeper than any token
        for (int w = 0; w < 4; ++w) m[size_t(w)] &= bytes_at[d - 1][size_t(w)];
      }
      for (int w = 0; w < 4; ++w)
        if (m[size_t(w)]) {
          sc.reps.push_back(uint8_t(w * 64 + std::countr_zero(m[size_t(w)])));
          break;
        }
    }
  };
  // Open addressing, grown as pairs come in: most searches end after a few
  // hundred pairs, so the table starts small.
  constexpr uint64_t empty_slot = ~uint64_t(0);
  size_t cap = 512;
  sc.seen.assign(cap, empty_slot);
  size_t n_seen = 0;
  auto place = [&](uint64_t k) {
    size_t i = size_t(mix(0, k)) & (cap - 1);
    while (sc.seen[i] != empty_slot) {
      if (sc.seen[i] == k) return false;
      i = (i + 1) & (cap - 1);
    }
    sc.seen[i] = k;
    return true;
  };
  // True when (x, y) is new.
  auto insert = [&](int32_t x, int32_t y) {
    if (!place(pair_key(x, y))) return false;
    if (++n_seen * 2 > cap) {
      std::vector<uint64_t> old(cap * 2, empty_slot);
      old.swap(sc.seen);
      cap *= 2;
      for (uint64_t k : old)
        if (k != empty_slot) place(k);
    }
    return true;
  };
  sc.layer.assign(1, {p, q});
  insert(p, q);
  for (uint32_t d = 1; d <= depth && !sc.layer.empty(); ++d) {
    sc.next.clear();
    bytes_for_depth(d);
    for (auto [x, y] : sc.layer) {
      for (uint8_t c : sc.reps) {
        int32_t x2 = a.step(x, c), y2 = b.step(y, c);
        if (status(a, x2) != status(b, y2)) return false;
        if (x2 == dead || (same && x2 == y2) || d == depth) continue;
        if (insert(x2, y2)) {
          if (n_seen > max_pairs) return false;
          sc.next.emplace_back(x2, y2);
        }
      }
    }
    sc.layer.swap(sc.next);
  }
  return true;
}

}  // namespace tern::engine::grammar_detail
