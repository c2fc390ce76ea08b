// Byte DFAs: the canonical form (trim + Hopcroft + BFS numbering) against a
// brute-force reference, and regex compilation against a backtracking matcher.
#include "../../engine/src/grammar/dfa.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace tern::engine::grammar_detail;

// ---- reference: the canonical machine by table filling ---------------------

int32_t run(const dfa& d, const std::vector<int>& classes) {
  if (d.empty_language()) return dead;
  // Any byte of the class will do; find one.
  int32_t q = d.start;
  for (int c : classes) {
    int b = 0;
    while (b < 256 && d.byte_class[size_t(b)] != c) ++b;
    REQUIRE(b < 256);
    q = d.step(q, uint8_t(b));
    if (q == dead) return dead;
  }
  return q;
}

bool accepts(const dfa& d, const std::vector<int>& classes) {
  int32_t q = run(d, classes);
  return q != dead && d.accept[size_t(q)];
}

// States that are reachable and can reach acceptance.
std::vector<uint8_t> live_states(const dfa& d) {
  size_t n = d.n_states(), k = size_t(d.n_classes);
  std::vector<uint8_t> reach(n, 0), coreach(n, 0);
  std::vector<size_t> todo = {size_t(d.start)};
  reach[size_t(d.start)] = 1;
  while (!todo.empty()) {
    size_t s = todo.back();
    todo.pop_back();
    for (size_t c = 0; c < k; ++c)
      if (int32_t t = d.next[s * k + c]; t != dead && !reach[size_t(t)]) {
        reach[size_t(t)] = 1;
        todo.push_back(size_t(t));
      }
  }
  for (size_t s = 0; s < n; ++s) coreach[s] = d.accept[s];
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < k && !coreach[s]; ++c)
        if (int32_t t = d.next[s * k + c]; t != dead && coreach[size_t(t)]) coreach[s] = changed = true;
  }
  std::vector<uint8_t> live(n);
  for (size_t s = 0; s < n; ++s) live[s] = reach[s] && coreach[s];
  return live;
}

// Distinguishability of live states by table filling; dead (and every state
// that cannot reach acceptance) is index n, distinct from all live states.
std::vector<std::vector<uint8_t>> distinguishable(const dfa& d, const std::vector<uint8_t>& live) {
  size_t n = d.n_states(), k = size_t(d.n_classes);
  auto to = [&](size_t s, size_t c) {
    int32_t t = d.next[s * k + c];
    return t == dead || !live[size_t(t)] ? n : size_t(t);
  };
  std::vector<std::vector<uint8_t>> dist(n + 1, std::vector<uint8_t>(n + 1, 0));
  for (size_t a = 0; a <= n; ++a)
    for (size_t b = 0; b <= n; ++b) {
      bool acc_a = a < n && d.accept[a], acc_b = b < n && d.accept[b];
      dist[a][b] = acc_a != acc_b || ((a == n) != (b == n));
    }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b) {
        if (dist[a][b] || !live[a] || !live[b]) continue;
        for (size_t c = 0; c < k; ++c)
          if (dist[to(a, c)][to(b, c)]) {
            dist[a][b] = 1;
            changed = true;
            break;
          }
      }
  }
  return dist;
}

// The expected canonical machine, built the slow way.
dfa reference_canonical(const dfa& d) {
  size_t n = d.n_states(), k = size_t(d.n_classes);
  dfa out;
  out.byte_class = d.byte_class;
  out.n_classes = d.n_classes;
  auto live = live_states(d);
  if (n == 0 || !live[size_t(d.start)]) return out;
  auto dist = distinguishable(d, live);
  std::vector<int32_t> id(n, dead);  // live state -> canonical number
  std::vector<size_t> order = {size_t(d.start)};
  auto number_of = [&](size_t s) -> int32_t {
    for (size_t i = 0; i < order.size(); ++i)
      if (!dist[s][order[i]]) return int32_t(i);
    return dead;
  };
  for (size_t i = 0; i < order.size(); ++i)
    for (size_t c = 0; c < k; ++c) {
      int32_t t = d.next[order[i] * k + c];
      if (t == dead || !live[size_t(t)]) continue;
      if (number_of(size_t(t)) == dead) order.push_back(size_t(t));
    }
  size_t m = order.size();
  out.next.assign(m * k, dead);
  out.accept.assign(m, 0);
  out.has_out.assign(m, 0);
  for (size_t i = 0; i < m; ++i) {
    out.accept[i] = d.accept[order[i]];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = d.next[order[i] * k + c];
      if (t == dead || !live[size_t(t)]) continue;
      out.next[i * k + c] = number_of(size_t(t));
      out.has_out[i] = 1;
    }
  }
  // Shortest distance to acceptance by relaxation until nothing changes.
  out.min_to_accept.assign(m, UINT32_MAX);
  for (size_t i = 0; i < m; ++i)
    if (out.accept[i]) out.min_to_accept[i] = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < m; ++i)
      for (size_t c = 0; c < k; ++c)
        if (int32_t t = out.next[i * k + c]; t != dead && out.min_to_accept[size_t(t)] != UINT32_MAX &&
                                             out.min_to_accept[size_t(t)] + 1 < out.min_to_accept[i]) {
          out.min_to_accept[i] = out.min_to_accept[size_t(t)] + 1;
          changed = true;
        }
  }
  out.start = 0;
  return out;
}

void require_same_machine(const dfa& got, const dfa& want) {
  REQUIRE(got.n_states() == want.n_states());
  REQUIRE(got.n_classes == want.n_classes);
  REQUIRE(got.byte_class == want.byte_class);
  REQUIRE(got.start == want.start);
  REQUIRE(got.next == want.next);
  REQUIRE(got.accept == want.accept);
  REQUIRE(got.has_out == want.has_out);
  REQUIRE(got.min_to_accept == want.min_to_accept);
  REQUIRE(got.key() == want.key());
}

// No two states of d are equivalent, and every state is live.
void require_minimal(const dfa& d) {
  auto live = live_states(d);
  for (uint8_t l : live) REQUIRE(l);
  auto dist = distinguishable(d, live);
  for (size_t a = 0; a < d.n_states(); ++a)
    for (size_t b = a + 1; b < d.n_states(); ++b) REQUIRE(dist[a][b]);
}

dfa random_dfa(std::mt19937& rng) {
  dfa d;
  int k = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int b = 0; b < 256; ++b) d.byte_class[size_t(b)] = uint16_t(std::min(b / 8, k - 1));
  d.n_classes = k;
  size_t n = std::uniform_int_distribution<size_t>(1, 14)(rng);
  int dead_pct = std::uniform_int_distribution<int>(0, 60)(rng);
  int acc_pct = std::uniform_int_distribution<int>(5, 60)(rng);
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<int32_t> state(0, int32_t(n) - 1);
  d.accept.resize(n);
  for (size_t s = 0; s < n; ++s) {
    d.accept[s] = pct(rng) < acc_pct;
    for (int c = 0; c < k; ++c) d.next.push_back(pct(rng) < dead_pct ? dead : state(rng));
  }
  d.start = state(rng);
  return d;
}

void all_words(int k, size_t max_len, const std::function<void(const std::vector<int>&)>& f) {
  std::vector<int> w;
  std::function<void()> rec = [&] {
    f(w);
    if (w.size() == max_len) return;
    for (int c = 0; c < k; ++c) {
      w.push_back(c);
      rec();
      w.pop_back();
    }
  };
  rec();
}

}  // namespace

TEST_CASE("dfa canonicalize: random machines equal the brute-force canonical machine", "[grammar][dfa]") {
  std::mt19937 rng(20261123);
  int merged = 0, emptied = 0;
  for (int iter = 0; iter < 600; ++iter) {
    dfa in = random_dfa(rng);
    dfa got = canonicalize(in);
    dfa want = reference_canonical(in);
    require_same_machine(got, want);
    if (got.empty_language()) {
      ++emptied;
      continue;
    }
    if (got.n_states() < in.n_states()) ++merged;
    require_minimal(got);
    size_t max_len = in.n_classes <= 2 ? 8 : 5;
    all_words(in.n_classes, max_len, [&](const std::vector<int>& w) { REQUIRE(accepts(got, w) == accepts(in, w)); });
    // Canonical: a canonical machine is a fixed point, and renumbering the
    // input's states does not change the result.
    require_same_machine(canonicalize(got), got);
    std::vector<int32_t> perm(in.n_states());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int32_t(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    dfa shuffled = in;
    size_t k = size_t(in.n_classes);
    for (size_t s = 0; s < in.n_states(); ++s) {
      shuffled.accept[size_t(perm[s])] = in.accept[s];
      for (size_t c = 0; c < k; ++c) {
        int32_t t = in.next[s * k + c];
        shuffled.next[size_t(perm[s]) * k + c] = t == dead ? dead : perm[size_t(t)];
      }
    }
    shuffled.start = perm[size_t(in.start)];
    REQUIRE(canonicalize(shuffled).key() == got.key());
  }
  // The generator must exercise both merging and empty languages.
  CHECK(merged > 50);
  CHECK(emptied > 10);
}

TEST_CASE("dfa canonicalize: large machines are minimised too", "[grammar][dfa]") {
  // Two identical chains of 6000 states after 'a' and after 'b': minimal is
  // one chain. (Machines over 4000 states used to be left as they were.)
  constexpr size_t len = 6000;
  dfa two;
  for (int b = 0; b < 256; ++b) two.byte_class[size_t(b)] = b == 'a' ? 1 : b == 'b' ? 2 : 0;
  two.n_classes = 3;
  size_t n = 1 + 2 * len;
  two.next.assign(n * 3, dead);
  two.accept.assign(n, 0);
  for (size_t chain = 0; chain < 2; ++chain) {
    size_t first = 1 + chain * len;
    two.next[0 * 3 + 1 + chain] = int32_t(first);
    for (size_t i = 0; i + 1 < len; ++i) two.next[(first + i) * 3 + 0] = int32_t(first + i + 1);
    two.accept[first + len - 1] = 1;
  }
  dfa one = two;  // both letters into the first chain
  one.next[0 * 3 + 2] = 1;
  dfa a = canonicalize(two), b = canonicalize(one);
  REQUIRE(a.n_states() == 1 + len);
  REQUIRE(a.key() == b.key());
  REQUIRE(a.min_to_accept[0] == len);
}

// ---- regexes against a backtracking matcher --------------------------------

namespace {

// End positions of matches of `r` in s starting at pos (ASCII classes only).
std::set<size_t> ends(const rx& r, const std::string& s, size_t pos) {
  std::set<size_t> out;
  switch (r->kind) {
    case rx_node::empty:
      out.insert(pos);
      break;
    case rx_node::bytes:
      if (s.compare(pos, r->literal.size(), r->literal) == 0) out.insert(pos + r->literal.size());
      break;
    case rx_node::cls:
      if (pos < s.size())
        for (const auto& x : r->ranges)
          if (uint8_t(s[pos]) >= x.lo && uint8_t(s[pos]) <= x.hi) out.insert(pos + 1);
      break;
    case rx_node::concat: {
      std::set<size_t> cur = {pos};
      for (const auto& kid : r->kids) {
        std::set<size_t> nxt;
        for (size_t p : cur)
          for (size_t e : ends(kid, s, p)) nxt.insert(e);
        cur = std::move(nxt);
      }
      out = std::move(cur);
      break;
    }
    case rx_node::alt:
      for (const auto& kid : r->kids)
        for (size_t e : ends(kid, s, pos)) out.insert(e);
      break;
    case rx_node::repeat: {
      auto step = [&](const std::set<size_t>& from) {
        std::set<size_t> to;
        for (size_t p : from)
          for (size_t e : ends(r->kids[0], s, p)) to.insert(e);
        return to;
      };
      std::set<size_t> cur = {pos};
      for (uint32_t i = 0; i < r->min; ++i) cur = step(cur);
      if (r->max == rx_node::unbounded) {
        // Any further number of repetitions: grow until nothing new appears.
        out = cur;
        for (std::set<size_t> fresh = cur; !fresh.empty();) {
          std::set<size_t> next;
          for (size_t e : step(fresh))
            if (out.insert(e).second) next.insert(e);
          fresh = std::move(next);
        }
      } else {
        out = cur;
        for (uint32_t i = r->min; i < r->max; ++i) {
          cur = step(cur);
          out.insert(cur.begin(), cur.end());
        }
      }
      break;
    }
  }
  return out;
}

rx random_rx(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 2 : 6);
  auto letter = [&] { return char('a' + std::uniform_int_distribution<int>(0, 3)(rng)); };
  switch (pick(rng)) {
    case 0: {
      std::string lit(size_t(std::uniform_int_distribution<int>(1, 2)(rng)), 'a');
      for (char& c : lit) c = letter();
      return rx_literal(lit);
    }
    case 1: {
      char a = letter(), b = letter();
      if (a > b) std::swap(a, b);
      return rx_class({{uint32_t(a), uint32_t(b)}});
    }
    case 2:
      return std::uniform_int_distribution<int>(0, 5)(rng) == 0 ? rx_empty() : rx_literal(std::string(1, letter()));
    case 3:
    case 4: {
      std::vector<rx> kids(size_t(std::uniform_int_distribution<int>(2, 3)(rng)));
      for (auto& k : kids) k = random_rx(rng, depth - 1);
      return rx_seq(std::move(kids));
    }
    case 5: {
      std::vector<rx> kids(size_t(std::uniform_int_distribution<int>(2, 3)(rng)));
      for (auto& k : kids) k = random_rx(rng, depth - 1);
      return rx_alt(std::move(kids));
    }
    default: {
      auto lo = uint32_t(std::uniform_int_distribution<int>(0, 2)(rng));
      int span = std::uniform_int_distribution<int>(-1, 2)(rng);
      uint32_t hi = span < 0 ? rx_node::unbounded : lo + uint32_t(span);
      return rx_repeat(random_rx(rng, depth - 1), lo, hi);
    }
  }
}

bool accepts(const dfa& m, const std::string& w) {
  int32_t q = m.empty_language() ? dead : m.start;
  for (char c : w)
    if (q != dead) q = m.step(q, uint8_t(c));
  return q != dead && m.accept[size_t(q)];
}

// Calls f on every string over `alphabet` of up to 5 characters.
void all_strings(const std::string& alphabet, const std::function<void(const std::string&)>& f) {
  std::string w;
  all_words(int(alphabet.size()), 5, [&](const std::vector<int>& cs) {
    w.clear();
    for (int c : cs) w += alphabet[size_t(c)];
    f(w);
  });
}

}  // namespace

TEST_CASE("dfa compile: random regexes give minimal machines for the right language", "[grammar][dfa]") {
  std::mt19937 rng(5);
  const std::string alphabet = "abcde";  // 'e' never occurs in a pattern
  for (int iter = 0; iter < 300; ++iter) {
    rx r = random_rx(rng, 3);
    auto d = compile_dfa(r);
    REQUIRE(d.has_value());
    if (!d->empty_language()) require_minimal(*d);
    all_strings(alphabet, [&](const std::string& w) {
      INFO("word '" << w << "'");
      REQUIRE(accepts(*d, w) == (ends(r, w, 0).count(w.size()) > 0));
    });
    // Equal languages over equal byte classes: equal keys.
    auto twice = compile_dfa(rx_alt({r, r}));
    REQUIRE(twice.has_value());
    REQUIRE(twice->key() == d->key());
    auto padded = compile_dfa(rx_seq({rx_empty(), r, rx_repeat(rx_empty(), 0, 3)}));
    REQUIRE(padded.has_value());
    REQUIRE(padded->key() == d->key());
    auto self = intersect(*d, *d);
    REQUIRE(self.has_value());
    REQUIRE(self->key() == d->key());
    rx other = random_rx(rng, 2);
    auto ab = compile_dfa(rx_alt({r, other})), ba = compile_dfa(rx_alt({other, r}));
    REQUIRE(ab.has_value());
    REQUIRE(ba.has_value());
    REQUIRE(ab->key() == ba->key());
  }
}

TEST_CASE("dfa compile: an empty class matches nothing", "[grammar][dfa]") {
  auto d = compile_dfa(rx_alt({rx_seq({rx_class({}), rx_literal("x")}), rx_literal("y")}));
  REQUIRE(d.has_value());
  REQUIRE(d->n_states() == 2);
  REQUIRE(d->step(d->start, 'x') == dead);
  REQUIRE(d->accept[size_t(d->step(d->start, 'y'))]);
  auto none = compile_dfa(rx_class({}));
  REQUIRE(none.has_value());
  REQUIRE(none->empty_language());
}

TEST_CASE("dfa compile: a long counting string is minimal and exact", "[grammar][dfa]") {
  // "..." with 0 to 300 characters, JSON escapes included: thousands of
  // states (each count of characters has its own states inside escapes and
  // UTF-8 sequences), the size the old minimiser skipped.
  compile_options json;
  json.json_string = true;
  auto d = compile_dfa(rx_seq({rx_literal("\""), rx_repeat(rx_any_char(), 0, 300), rx_literal("\"")}), json);
  REQUIRE(d.has_value());
  REQUIRE(d->min_to_accept[0] == 2);
  auto run_bytes = [&](const std::string& s) {
    int32_t q = d->start;
    for (char c : s)
      if (q != dead) q = d->step(q, uint8_t(c));
    return q != dead && d->accept[size_t(q)];
  };
  REQUIRE(run_bytes("\"" + std::string(300, 'x') + "\""));
  REQUIRE(!run_bytes("\"" + std::string(301, 'x') + "\""));
  REQUIRE(run_bytes("\"" + std::string(298, 'x') + "\\n\xC3\xA9\""));
  REQUIRE(run_bytes("\"" + std::string(299, 'x') + "\\u001f\""));
  REQUIRE(!run_bytes("\"" + std::string(300, 'x') + "\\n\""));
  // The same language written another way compiles to the same machine.
  auto again = compile_dfa(
      rx_seq({rx_literal("\""), rx_repeat(rx_repeat(rx_any_char(), 0, 100), 3, 3), rx_literal("\"")}), json);
  REQUIRE(again.has_value());
  REQUIRE(again->key() == d->key());
}

TEST_CASE("dfa compile: literals built directly equal the general construction", "[grammar][dfa]") {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 200; ++iter) {
    std::string lit(size_t(std::uniform_int_distribution<int>(0, 24)(rng)), ' ');
    for (char& c : lit) c = char(std::uniform_int_distribution<int>(0, 255)(rng) & (iter % 2 ? 0x07 : 0xFF));
    auto direct = compile_dfa(rx_literal(lit));
    // Split in two pieces, the literal goes through the NFA, the subset
    // construction and the minimiser.
    size_t cut = lit.empty() ? 0 : size_t(std::uniform_int_distribution<size_t>(0, lit.size())(rng));
    auto general = compile_dfa(rx_seq({rx_literal(lit.substr(0, cut)), rx_literal(lit.substr(cut))}));
    REQUIRE(direct.has_value());
    REQUIRE(general.has_value());
    require_same_machine(*direct, *general);
  }
}

TEST_CASE("dfa subtract_words: a minus a finite set of words", "[grammar][dfa]") {
  std::mt19937 rng(11);
  const std::string alphabet = "abcde";
  for (int iter = 0; iter < 200; ++iter) {
    rx r = random_rx(rng, 3);
    auto a = compile_dfa(r);
    REQUIRE(a.has_value());
    std::vector<std::string> words(size_t(std::uniform_int_distribution<int>(0, 6)(rng)));
    for (auto& w : words) {
      w.resize(size_t(std::uniform_int_distribution<int>(0, 4)(rng)));
      for (char& c : w) c = alphabet[size_t(std::uniform_int_distribution<int>(0, 4)(rng))];
    }
    auto d = subtract_words(*a, words);
    REQUIRE(d.has_value());
    if (!d->empty_language()) require_minimal(*d);
    all_strings(alphabet, [&](const std::string& w) {
      bool excluded = std::find(words.begin(), words.end(), w) != words.end();
      INFO("word '" << w << "'");
      REQUIRE(accepts(*d, w) == (accepts(*a, w) && !excluded));
    });
  }
}

TEST_CASE("dfa prepend_byte: canonical without minimising again", "[grammar][dfa]") {
  std::mt19937 rng(13);
  const std::string alphabet = "abcde";
  for (int iter = 0; iter < 300; ++iter) {
    rx r = random_rx(rng, 3);
    auto x = compile_dfa(r);
    REQUIRE(x.has_value());
    auto byte = uint8_t(alphabet[size_t(std::uniform_int_distribution<int>(0, 4)(rng))]);
    dfa y = prepend_byte(*x, byte);
    dfa again = canonicalize(y);
    // A fixed point of canonicalize: minimal, BFS-numbered.
    require_same_machine(y, again);
    auto expect = compile_dfa(rx_seq({rx_literal(std::string(1, char(byte))), r}));
    REQUIRE(expect.has_value());
    REQUIRE(y.n_states() == expect->n_states());
    all_strings(alphabet, [&](const std::string& w) {
      INFO("word '" << w << "'");
      REQUIRE(accepts(y, w) == accepts(*expect, w));
    });
  }
  // x = (aa)*: the state after one 'a' has the language a(aa)*, which is what
  // the new start would have; the result must merge them (2 states, not 3).
  auto x = compile_dfa(rx_repeat(rx_literal("aa"), 0, rx_node::unbounded));
  REQUIRE(x.has_value());
  REQUIRE(x->n_states() == 2);
  dfa y = prepend_byte(*x, 'a');
  REQUIRE(y.n_states() == 2);
  REQUIRE(!y.accept[size_t(y.start)]);
  require_same_machine(y, canonicalize(y));
}
