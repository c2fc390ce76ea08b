#include "grammar/ir.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tern::engine::grammar_detail {

int32_t grammar_builder::add_term(dfa d) {
  std::string k = d.key();
  auto it = by_key_.find(k);
  if (it != by_key_.end()) return it->second;
  int32_t id = int32_t(terms_.size());
  terms_.push_back(std::move(d));
  by_key_.emplace(std::move(k), id);
  return id;
}

int32_t grammar_builder::literal(std::string_view bytes) {
  std::string k(bytes);
  if (auto it = literal_ids_.find(k); it != literal_ids_.end()) return it->second;
  auto d = compile_dfa(rx_literal(bytes));
  TERN_ASSERT(d.has_value(), "a literal always compiles");
  int32_t id = add_term(std::move(d).value());
  literal_ids_.emplace(std::move(k), id);
  return id;
}

int32_t grammar_builder::new_rule(std::string name) {
  rules_.push_back({std::move(name), {}});
  return int32_t(rules_.size() - 1);
}

void grammar_builder::add_alt(int32_t rule, std::vector<element> seq) { rules_[rule].alts.push_back(std::move(seq)); }

result<compiled> grammar_builder::finish(int32_t root, std::string_view what) {
  size_t n = rules_.size();
  constexpr uint64_t inf = UINT64_MAX / 4;
  auto term_min = [&](int32_t t) -> uint64_t {
    return terms_[t].empty_language() ? inf : terms_[t].min_to_accept[terms_[t].start];
  };
  // Shortest derivation per rule (Bellman-Ford style); inf = unproductive.
  std::vector<uint64_t> rmin(n, inf);
  for (bool changed = true; changed;) {
    changed = false;
    // Rules mostly refer to rules created after them: last to first settles
    // a non-recursive grammar in one pass.
    for (size_t r = n; r-- > 0;)
      for (const auto& alt : rules_[r].alts) {
        uint64_t sum = 0;
        for (const auto& e : alt) sum = std::min(inf, sum + (e.kind == element::term ? term_min(e.id) : rmin[e.id]));
        if (sum < rmin[r]) {
          rmin[r] = sum;
          changed = true;
        }
      }
  }
  if (rmin[root] >= inf) return fail(errc::invalid_argument, fmt::format("{} admits no value at all", what));
  auto elem_min = [&](const element& e) { return e.kind == element::term ? term_min(e.id) : rmin[e.id]; };
  for (auto& r : rules_) {
    std::erase_if(r.alts, [&](const std::vector<element>& alt) {
      for (const auto& e : alt)
        if (elem_min(e) >= inf) return true;
      return false;
    });
  }
  // Left recursion: rule A reaches rule B before consuming a byte.
  std::vector<uint8_t> nullable(n, 0);
  for (size_t r = 0; r < n; ++r) nullable[r] = rmin[r] == 0;
  std::vector<std::vector<int32_t>> left(n);
  for (size_t r = 0; r < n; ++r)
    for (const auto& alt : rules_[r].alts)
      for (const auto& e : alt) {
        if (e.kind == element::ref) left[r].push_back(e.id);
        if (elem_min(e) != 0) break;
      }
  std::vector<uint8_t> color(n, 0);
  for (size_t s = 0; s < n; ++s) {
    if (color[s]) continue;
    std::vector<std::pair<int32_t, size_t>> st = {{int32_t(s), 0}};
    color[s] = 1;
    while (!st.empty()) {
      auto& [r, i] = st.back();
      if (i < left[r].size()) {
        int32_t t = left[r][i++];
        if (color[t] == 1)
          return fail(errc::invalid_argument,
                      fmt::format("{}: rule '{}' is left-recursive (it can reach itself without consuming input)",
                                  what, rules_[t].name));
        if (color[t] == 0) {
          color[t] = 1;
          st.push_back({t, 0});
        }
      } else {
        color[r] = 2;
        st.pop_back();
      }
    }
  }
  compiled g;
  g.rule_alts.resize(n);
  uint64_t growth = 0;
  for (size_t r = 0; r < n; ++r) {
    g.rule_names.push_back(rules_[r].name);
    uint64_t worst = 0;
    for (const auto& alt : rules_[r].alts) {
      g.rule_alts[r].push_back(int32_t(g.elems.size()));
      uint64_t total = 0;
      for (const auto& e : alt) total += elem_min(e);
      worst = std::max(worst, total);
      for (const auto& e : alt) {
        g.elems.push_back(e);
        g.min_suffix.push_back(uint32_t(std::min<uint64_t>(total, UINT32_MAX)));
        total -= elem_min(e);
      }
      g.elems.push_back({element::end, int32_t(r)});
      g.min_suffix.push_back(0);
    }
    growth = std::min<uint64_t>(inf, growth + worst);
  }
  uint64_t tmax = 0;
  for (size_t t = 0; t < terms_.size(); ++t)
    if (!terms_[t].empty_language()) tmax = std::max<uint64_t>(tmax, term_min(int32_t(t)));
  g.growth_bound = growth + tmax + 1;
  g.term_keys.resize(terms_.size());
  for (const auto& [key, id] : by_key_) g.term_keys[size_t(id)] = key;
  g.terms = std::move(terms_);
  g.root = root;
  return g;
}

// ---- runtime ---------------------------------------------------------------

stack_pool::stack_pool(const compiled& g) : g_(g) { nodes_.push_back({-1, -1, 0}); }

int32_t stack_pool::push(int32_t ret, int32_t parent) {
  uint64_t k = (uint64_t(uint32_t(ret)) << 32) | uint32_t(parent);
  auto [it, fresh] = ids_.emplace(k, int32_t(nodes_.size()));
  if (fresh) nodes_.push_back({ret, parent, g_.min_suffix[ret] + nodes_[parent].min_finish});
  return it->second;
}

void pda::expand(int32_t pos, int32_t parent, std::vector<frame>& out, bool& complete) {
  const element& e = g_.elems[pos];
  switch (e.kind) {
    case element::end:
      if (parent == 0) {
        complete = true;
      } else {
        expand(pool_.ret(parent), pool_.parent(parent), out, complete);
      }
      return;
    case element::term: {
      const dfa& d = g_.terms[e.id];
      if (d.has_out[d.start]) out.push_back({pos, d.start, parent});
      if (d.accept[d.start]) expand(pos + 1, parent, out, complete);
      return;
    }
    case element::ref: {
      // Tail calls return straight to the caller's caller: repetition written
      // as right recursion then runs in constant stack depth.
      int32_t node = g_.elems[pos + 1].kind == element::end ? parent : pool_.push(pos + 1, parent);
      for (int32_t alt : g_.rule_alts[e.id]) expand(alt, node, out, complete);
      return;
    }
  }
}

void normalize(pda_state& s) {
  std::sort(s.frames.begin(), s.frames.end());
  s.frames.erase(std::unique(s.frames.begin(), s.frames.end()), s.frames.end());
}

pda_state pda::initial() {
  pda_state s;
  for (int32_t alt : g_.rule_alts[g_.root]) expand(alt, 0, s.frames, s.complete);
  normalize(s);
  return s;
}

void pda::advance(const std::vector<frame>& in, uint8_t byte, pda_state& out) {
  out.frames.clear();
  out.complete = false;
  for (const frame& f : in) {
    const dfa& d = g_.terms[g_.elems[f.pos].id];
    int32_t q = d.step(f.q, byte);
    if (q == dead) continue;
    if (d.has_out[q]) out.frames.push_back({f.pos, q, f.parent});
    if (d.accept[q]) expand(f.pos + 1, f.parent, out.frames, out.complete);
  }
  if (out.frames.size() > 1) normalize(out);
}

uint64_t pda::min_finish(const pda_state& s) const {
  if (s.complete) return 0;
  uint64_t best = UINT64_MAX;
  for (const frame& f : s.frames) {
    const dfa& d = g_.terms[g_.elems[f.pos].id];
    best = std::min(best, uint64_t(d.min_to_accept[f.q]) + g_.min_suffix[f.pos + 1] + pool_.min_finish(f.parent));
  }
  return best;
}

}  // namespace tern::engine::grammar_detail
