// Entry reuse between DFA states that behave alike on every token
// (state_equivalence.hpp), checked against plain references: the pair search
// against Moore partition refinement over all 256 bytes, and reused entries on
// the real Qwen2 vocabulary against running the DFA over every token.
#include <tern/engine/grammar.hpp>

#include "grammar/token_index.hpp"

#include "fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <thread>

using namespace tern::engine;
using namespace tern::engine::grammar_detail;

namespace {

const dfa& widest_term(const grammar& g, size_t* index = nullptr) {
  const auto& terms = g.internals().g.terms;
  size_t best = 0;
  for (size_t t = 1; t < terms.size(); ++t)
    if (terms[t].n_states() > terms[best].n_states()) best = t;
  if (index) *index = best;
  return terms[best];
}

std::shared_ptr<const grammar> schema(const char* text) {
  auto g = compile_json_schema(text);
  REQUIRE(g);
  return *g;
}

int status(const dfa& d, int32_t s) { return s == dead ? 0 : d.accept[size_t(s)] ? 2 : 1; }

// Reference: blocks of states (of a and b together, plus a dead sink) that
// agree on every string of up to `depth` bytes whose d-th byte is in
// sets[d - 1] (all bytes when sets is empty), by backward induction: after
// the last byte only the status counts; one byte earlier, the status and the
// blocks that each allowed byte leads to.
std::vector<int> refine(const dfa& a, const dfa& b, uint32_t depth, const std::vector<byte_set>& sets) {
  const size_t na = a.n_states(), nb = b.n_states(), sink = na + nb;
  auto succ = [&](size_t x, int byte) -> size_t {
    if (x == sink) return sink;
    int32_t y = x < na ? a.step(int32_t(x), uint8_t(byte)) : b.step(int32_t(x - na), uint8_t(byte));
    return y == dead ? sink : (x < na ? size_t(y) : na + size_t(y));
  };
  std::vector<int> st(sink + 1), block;
  for (size_t x = 0; x < na; ++x) st[x] = status(a, int32_t(x));
  for (size_t x = 0; x < nb; ++x) st[na + x] = status(b, int32_t(x));
  st[sink] = 0;
  block = st;
  for (uint32_t d = depth; d >= 1; --d) {
    std::map<std::vector<int>, int> ids;
    std::vector<int> next(block.size());
    for (size_t x = 0; x <= sink; ++x) {
      std::vector<int> sig = {st[x]};
      for (int byte = 0; byte < 256; ++byte)
        if (sets.empty() || ((sets[d - 1][size_t(byte) >> 6] >> (byte & 63)) & 1)) sig.push_back(block[succ(x, byte)]);
      next[x] = ids.emplace(std::move(sig), int(ids.size())).first->second;
    }
    block.swap(next);
  }
  return block;
}

// Reference entry: the DFA run over each token's bytes from q.
struct plain_entry {
  std::vector<uint32_t> inner;
  std::vector<std::pair<std::string, int32_t>> suffixes;  // sorted
};

plain_entry plain(const dfa& d, const token_vocabulary& v, int32_t q) {
  const auto& vi = v.internals();
  plain_entry p;
  p.inner.assign(vi.words, 0);
  for (int32_t t = 0; t < int32_t(v.size()); ++t) {
    if (v.is_special(t)) continue;
    const std::string& b = vi.bytes[size_t(t)];
    if (b.empty()) continue;
    int32_t s = q;
    for (size_t i = 0; i < b.size() && s != dead; ++i) {
      s = d.step(s, uint8_t(b[i]));
      if (s != dead && d.accept[size_t(s)] && i + 1 < b.size()) p.suffixes.emplace_back(b.substr(i + 1), t);
    }
    if (s != dead) p.inner[size_t(t) >> 5] |= 1u << (t & 31);
  }
  std::sort(p.suffixes.begin(), p.suffixes.end());
  return p;
}

void require_same(const lexer_entry& e, const plain_entry& p) {
  REQUIRE(e.inner == p.inner);
  std::vector<std::pair<std::string, int32_t>> got;
  const flat_trie& t = e.suffixes;
  std::string path;
  for (uint32_t n = 1; n < t.n_nodes(); ++n) {
    path.resize(t.depth[n] - 1);
    path.push_back(char(t.byte[n]));
    for (uint32_t k = t.tok_begin[n]; k < t.tok_begin[n + 1]; ++k) got.emplace_back(path, t.toks[k]);
  }
  std::sort(got.begin(), got.end());
  REQUIRE(got == p.suffixes);
}

int32_t run(const dfa& d, int32_t q, std::string_view bytes) {
  for (char c : bytes) q = q == dead ? dead : d.step(q, uint8_t(c));
  return q;
}

}  // namespace

TEST_CASE("state equivalence: the pair search equals partition refinement") {
  // Counting strings (with and without a lower bound), a free string, a
  // counting pattern and an unanchored one: machines whose states differ
  // only deep down, compared with themselves and with each other; over all
  // bytes, and over random byte sets per depth (as a trie's depths give).
  std::vector<std::shared_ptr<const grammar>> gs = {
      schema(R"({"type":"string","maxLength":12})"),
      schema(R"({"type":"string","minLength":3,"maxLength":9})"),
      schema(R"({"type":"string"})"),
      schema(R"({"type":"string","pattern":"^[a-c][a-c0-9]{0,6}$"})"),
      schema(R"({"type":"string","pattern":"ab\\.c"})"),
  };
  std::mt19937 rng(7);
  size_t n_equal = 0, n_differ = 0;
  for (size_t i = 0; i < gs.size(); ++i) {
    for (size_t j = i; j < gs.size(); ++j) {
      const dfa& a = widest_term(*gs[i]);
      const dfa& b = widest_term(*gs[j]);
      for (bool restricted : {false, true}) {
        for (uint32_t depth : {1u, 2u, 5u, 9u, 16u}) {
          std::vector<byte_set> sets;
          if (restricted) {
            // Dense near the root, sparse deeper, as in a vocabulary.
            for (uint32_t d = 0; d < depth; ++d) {
              byte_set m{};
              for (int byte = 0; byte < 256; ++byte)
                if (rng() % 100 < (d < 2 ? 90u : 25u)) m[size_t(byte) >> 6] |= uint64_t(1) << (byte & 63);
              m[0] |= uint64_t(1) << '"';  // the quote usually occurs, which ends strings
              sets.push_back(m);
            }
          }
          const auto block = refine(a, b, depth, sets);
          pair_search_scratch sc;
          for (int32_t p = 0; p < int32_t(a.n_states()); ++p) {
            for (int32_t q = 0; q < int32_t(b.n_states()); ++q) {
              INFO("schemas " << i << "," << j << " depth " << depth << " restricted " << restricted << " states "
                              << p << "," << q);
              const bool want = block[size_t(p)] == block[a.n_states() + size_t(q)];
              REQUIRE(equivalent_up_to(a, p, b, q, depth, 1u << 20, sc, sets) == want);
              // A tight bound may give up, never claim a false equivalence.
              if (equivalent_up_to(a, p, b, q, depth, 3, sc, sets)) REQUIRE(want);
              // Signatures look at all bytes: equal for states equal on all of them.
              if (want && !restricted) REQUIRE(behaviour_signature(a, p, depth) == behaviour_signature(b, q, depth));
              ++(want ? n_equal : n_differ);
            }
          }
        }
      }
    }
  }
  // Both answers occur often enough for the comparison to mean something.
  CHECK(n_equal > 500);
  CHECK(n_differ > 500);
}

TEST_CASE("state equivalence: Qwen2 counting strings reuse the free string's entry, exactly") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto vr = load_token_vocabulary(path);
  REQUIRE(vr);
  auto v = *vr;
  const auto& vi = v->internals();
  REQUIRE(vi.max_len == 128);

  size_t free_term = 0;
  auto free_g = schema(R"({"type":"string"})");
  auto free_c = make_constraint(free_g, v);
  const dfa& free_d = widest_term(*free_g, &free_term);
  const int32_t free_body = run(free_d, free_d.start, "\"");
  const lexer_entry* free_e = &free_c->entry(int32_t(free_term), free_body);
  require_same(*free_e, plain(free_d, *v, free_body));

  // A 300-character string: with at least 128 characters left (the longest
  // token) a state is the free string's body; below that its entry is its own.
  size_t term = 0;
  auto g = schema(R"({"type":"string","maxLength":300})");
  auto c = make_constraint(g, v);
  const dfa& d = widest_term(*g, &term);
  const size_t built_before = vi.n_built;
  for (size_t used : {0u, 1u, 60u, 150u, 171u, 172u, 173u, 174u, 200u, 290u}) {
    const int32_t q = run(d, d.start, "\"" + std::string(used, 'a'));
    REQUIRE(q != dead);
    INFO(used << " characters used");
    const lexer_entry& e = c->entry(int32_t(term), q);
    require_same(e, plain(d, *v, q));
    // With fewer characters left the state may or may not equal the free
    // body (that depends on which long tokens exist); require_same decides.
    if (300 - used >= 128) CHECK(&e == free_e);
  }
  CHECK(vi.n_built - built_before <= 4);  // only the states with fewer than 128 characters left

  // Inside a multi-byte character and after an escape's backslash (narrow
  // states, built rather than searched): still exact.
  for (std::string_view mid : {"\xE4\xB8", "\\", "\\u00"}) {
    const int32_t q = run(d, d.start, "\"ab" + std::string(mid));
    REQUIRE(q != dead);
    require_same(c->entry(int32_t(term), q), plain(d, *v, q));
  }
}

TEST_CASE("state equivalence: Qwen2 counting pattern states reuse one another, exactly") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto vr = load_token_vocabulary(path);
  REQUIRE(vr);
  auto v = *vr;
  // Many characters with a few excluded, counted: no subtree skip applies
  // (the class is not clean text), so each first visit walks the trie unless
  // it finds an equivalent state.
  size_t term = 0;
  auto g = schema(R"({"type":"string","pattern":"^[^<>*#]*$","maxLength":260})");
  auto c = make_constraint(g, v);
  const dfa& d = widest_term(*g, &term);
  const lexer_entry* first = nullptr;
  for (size_t used : {1u, 2u, 7u, 40u, 120u, 131u, 132u, 133u, 140u, 250u}) {
    const int32_t q = run(d, d.start, "\"x" + std::string(used - 1, 'y'));
    REQUIRE(q != dead);
    INFO(used << " characters used");
    const lexer_entry& e = c->entry(int32_t(term), q);
    require_same(e, plain(d, *v, q));
    if (!first) first = &e;
    if (260 - used >= 128) CHECK(&e == first);
  }
}

// Several threads ask for entries of equal and equivalent machines at once
// (the facts of one DFA are shared, reuse candidates cross grammars): every
// entry must still equal the per-token reference.
TEST_CASE("state equivalence: concurrent first visits stay exact") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto vr = load_token_vocabulary(path);
  REQUIRE(vr);
  auto v = *vr;
  const char* schemas[] = {R"({"type":"string","maxLength":300})", R"({"type":"string","maxLength":400})",
                           R"({"type":"string","pattern":"^[^<>*#]*$","maxLength":200})", R"({"type":"string"})"};
  const size_t used[] = {0, 3, 90, 150, 185};
  struct job {
    std::shared_ptr<const grammar> g;
    std::shared_ptr<const constraint> c;
    size_t term = 0;
  };
  std::vector<job> jobs;
  for (const char* s : schemas) {
    job j;
    j.g = schema(s);
    j.c = make_constraint(j.g, v);
    widest_term(*j.g, &j.term);
    jobs.push_back(j);
  }
  auto state_of = [&](const job& j, size_t k) {
    const dfa& d = j.g->internals().g.terms[j.term];
    return run(d, d.start, "\"" + std::string(k, 'a'));
  };
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<size_t, const lexer_entry*>>> got(4);
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      // Each thread in its own order, so that builds and searches overlap.
      for (size_t n = 0; n < jobs.size() * std::size(used); ++n) {
        size_t idx = (n * (2 * t + 1) + t) % (jobs.size() * std::size(used));
        const job& j = jobs[idx / std::size(used)];
        int32_t q = state_of(j, used[idx % std::size(used)]);
        got[t].emplace_back(idx, q == dead ? nullptr : &j.c->entry(int32_t(j.term), q));
      }
    });
  for (auto& th : threads) th.join();
  for (size_t idx = 0; idx < jobs.size() * std::size(used); ++idx) {
    const job& j = jobs[idx / std::size(used)];
    int32_t q = state_of(j, used[idx % std::size(used)]);
    if (q == dead) continue;
    INFO("job " << idx);
    const lexer_entry& e = j.c->entry(int32_t(j.term), q);
    require_same(e, plain(j.g->internals().g.terms[j.term], *v, q));
  }
  // One entry per (constraint, state), whichever thread built it.
  for (const auto& per : got)
    for (const auto& [idx, p] : per) {
      const job& j = jobs[idx / std::size(used)];
      int32_t q = state_of(j, used[idx % std::size(used)]);
      CHECK(p == (q == dead ? nullptr : &j.c->entry(int32_t(j.term), q)));
    }
}
