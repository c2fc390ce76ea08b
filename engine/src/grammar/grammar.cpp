// Public API: compiling, byte-level checks, and the per-generation matcher.
#include "grammar/schema_compiler.hpp"
#include "grammar/token_index.hpp"

#include <tern/core/json.hpp>

#include <fmt/format.h>

#include <bit>
#include <deque>
#include <cstring>

namespace tern::engine {
using namespace grammar_detail;

namespace {

std::string fingerprint(const std::string& key) {
  // Two independent 64-bit hashes and the length; the second one eight bytes
  // at a time (keys of large schemas run to megabytes in all).
  uint64_t h1 = std::hash<std::string>{}(key), h2 = 0x9E3779B97F4A7C15ull ^ key.size();
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h2 = (h2 ^ w) * 0xFF51AFD7ED558CCDull;
    h2 ^= h2 >> 29;
  }
  for (; i < key.size(); ++i) h2 = (h2 ^ uint8_t(key[i])) * 1099511628211ull;
  return fmt::format("{:016x}{:016x}{:x}", h1, h2, key.size());
}

std::shared_ptr<const grammar> wrap(compiled g) {
  auto p = std::make_unique<grammar::impl>();
  for (const auto& k : g.term_keys) p->term_hash.push_back(fingerprint(k));
  p->g = std::move(g);
  return std::make_shared<const grammar>(std::move(p));
}

bool run_bytes(const compiled& g, std::string_view text, bool need_complete) {
  pda m(g);
  pda_state s = m.initial(), next;
  for (char c : text) {
    m.advance(s.frames, uint8_t(c), next);
    std::swap(s, next);
    if (s.dead()) return false;
    if (s.frames.empty() && !need_complete) return true;
  }
  return need_complete ? s.complete : !s.dead();
}

}  // namespace

// For grammars built outside this file (tool_calls.cpp).
std::shared_ptr<const grammar> grammar_detail::make_grammar(compiled g) { return wrap(std::move(g)); }

grammar::grammar(std::unique_ptr<impl> p) : p_(std::move(p)) {}
grammar::~grammar() = default;
bool grammar::matches(std::string_view text) const { return run_bytes(p_->g, text, true); }
bool grammar::matches_prefix(std::string_view text) const { return run_bytes(p_->g, text, false); }
uint64_t grammar::min_length() const {
  pda m(p_->g);
  return m.min_finish(m.initial());
}
size_t grammar::n_terminals() const { return p_->g.terms.size(); }
size_t grammar::n_rules() const { return p_->g.rule_alts.size(); }

result<std::shared_ptr<const grammar>> compile_json_schema(std::string_view schema_json, const grammar_options& opts) {
  TERN_TRY(auto doc, json::parse(schema_json));
  TERN_TRY(compiled g, compile_schema_value(doc, opts.free_whitespace));
  return wrap(std::move(g));
}

result<std::shared_ptr<const grammar>> compile_grammar_text(std::string_view text) {
  TERN_TRY(compiled g, compile_gbnf(text));
  return wrap(std::move(g));
}

result<std::string> canonical_json(std::string_view json_text) {
  TERN_TRY(auto doc, json::parse(json_text));
  std::string out;
  write_canonical(doc, out);
  return out;
}

// ---- matcher ---------------------------------------------------------------

struct grammar_matcher::impl {
  std::shared_ptr<const constraint> c;
  pda m;
  std::vector<pda_state> history;  // [0]: initial state; one per accepted token after
  std::vector<uint8_t> ended;       // [i]: EOS accepted at history[i]
  int64_t max_tokens = -1;
  std::deque<pda_state> bufs;       // per trie depth, for walks (deque: references stay valid)
  std::vector<uint32_t> scratch;

  impl(std::shared_ptr<const constraint> cc) : c(std::move(cc)), m(c->g()) {}

  const pda_state& cur() const { return history.back(); }

  pda_state& buf(size_t depth) {
    if (bufs.size() <= depth) bufs.resize(depth + 1);
    return bufs[depth];
  }

  static void set_tokens(const flat_trie& t, uint32_t node, std::span<uint32_t> mask) {
    for (uint32_t i = t.tok_begin[node]; i < t.tok_begin[node + 1]; ++i) {
      int32_t k = t.toks[i];
      mask[size_t(k) >> 5] |= 1u << (k & 31);
    }
  }

  // Tokens below `node` that the frames accept; budget >= 0 additionally
  // requires that the document can still be finished within that many bytes.
  void walk(const flat_trie& t, uint32_t node, const std::vector<frame>& frames, size_t depth,
            std::span<uint32_t> mask, int64_t budget) {
    for (uint32_t ch = node + 1; ch < t.end[node]; ch = t.end[ch]) {
      pda_state& s = buf(depth);
      m.advance(frames, t.byte[ch], s);
      if (s.dead()) continue;
      if (t.tok_begin[ch] != t.tok_begin[ch + 1] && (budget < 0 || m.min_finish(s) <= uint64_t(budget)))
        set_tokens(t, ch, mask);
      if (!s.frames.empty() && t.end[ch] > ch + 1) walk(t, ch, s.frames, depth + 1, mask, budget);
    }
  }

  // Frames at the start of a literal terminal that a special token spells
  // (<tool_call>): calls fn(frame, token).
  template <class F>
  void for_each_special(const pda_state& s, F&& fn) const {
    for (const frame& f : s.frames) {
      int32_t term = c->g().elems[f.pos].id;
      if (f.q != c->g().terms[term].start) continue;
      for (int32_t tok : c->specials_of(term)) fn(f, tok);
    }
  }
  // With `left` tokens left (-1: no budget), the document can still be finished
  // after a special token consumes the literal at f (one token per later byte).
  bool special_fits(const frame& f, int64_t left) {
    return left < 0 || c->g().min_suffix[f.pos + 1] + m.pool().min_finish(f.parent) <= uint64_t(left - 1);
  }

  void fill(std::span<uint32_t> mask) {
    std::memset(mask.data(), 0, mask.size_bytes());
    const pda_state& s = cur();
    if (ended.back()) return;
    const auto& v = c->vocab();
    if (s.complete)
      for (int32_t e : v.eos) mask[size_t(e) >> 5] |= 1u << (e & 31);
    int64_t left = max_tokens >= 0 ? max_tokens - int64_t(history.size() - 1) : -1;
    if (left != 0)
      for_each_special(s, [&](const frame& f, int32_t tok) {
        if (special_fits(f, left)) mask[size_t(tok) >> 5] |= 1u << (tok & 31);
      });
    if (max_tokens >= 0) {
      int64_t remaining = max_tokens - int64_t(history.size() - 1);
      if (remaining <= 0) return;
      // Near the budget, check every candidate against the shortest finish;
      // far from it no token can make finishing impossible.
      uint64_t reach = m.min_finish(s) + uint64_t(v.max_len) * c->g().growth_bound;
      if (reach > uint64_t(remaining - 1)) {
        walk(v.trie, 0, s.frames, 0, mask, remaining - 1);
        return;
      }
    }
    for (const frame& f : s.frames) {
      int32_t term = c->g().elems[f.pos].id;
      const lexer_entry& e = c->entry(term, f.q);
      const uint32_t* in = e.inner.data();
      for (size_t w = 0; w < mask.size(); ++w) mask[w] |= in[w];
      if (e.suffixes.n_nodes() > 1) {
        pda_state& conts = buf(0);
        conts.frames.clear();
        conts.complete = false;
        m.expand(f.pos + 1, f.parent, conts.frames, conts.complete);
        if (conts.frames.empty()) continue;
        normalize(conts);
        std::vector<frame> start = conts.frames;
        walk(e.suffixes, 0, start, 1, mask, -1);
      }
    }
  }
};

grammar_matcher::grammar_matcher(std::unique_ptr<impl> p) : p_(std::move(p)) {}
grammar_matcher::grammar_matcher(grammar_matcher&&) noexcept = default;
grammar_matcher& grammar_matcher::operator=(grammar_matcher&&) noexcept = default;
grammar_matcher::~grammar_matcher() = default;

result<grammar_matcher> grammar_matcher::create(std::shared_ptr<const constraint> c, const matcher_options& opts) {
  if (!c) return fail(errc::invalid_argument, "grammar_matcher: no constraint");
  auto p = std::make_unique<impl>(std::move(c));
  p->history.push_back(p->m.initial());
  p->ended.push_back(0);
  p->max_tokens = opts.max_tokens;
  if (opts.max_tokens >= 0) {
    uint64_t need = p->m.min_finish(p->history[0]);
    if (need > uint64_t(opts.max_tokens))
      return fail(errc::limit_exceeded,
                  fmt::format("token budget {} is below the shortest valid document ({} bytes, at least 1 token each "
                              "in the worst case)",
                              opts.max_tokens, need));
  }
  p->scratch.resize(p->c->vocab().words);
  return grammar_matcher(std::move(p));
}

size_t grammar_matcher::mask_words() const { return p_->c->vocab().words; }

void grammar_matcher::fill_mask(std::span<uint32_t> mask) {
  TERN_ASSERT(mask.size() == mask_words(), "fill_mask: mask size must be mask_words()");
  p_->fill(mask);
}

std::optional<int32_t> grammar_matcher::forced_token() {
  p_->fill(p_->scratch);
  std::optional<int32_t> found;
  for (size_t w = 0; w < p_->scratch.size(); ++w) {
    uint32_t x = p_->scratch[w];
    if (!x) continue;
    if ((x & (x - 1)) || found) return std::nullopt;
    found = int32_t(w * 32 + size_t(std::countr_zero(x)));
  }
  return found;
}

bool grammar_matcher::can_accept(int32_t token) {
  const auto& v = p_->c->vocab();
  if (token < 0 || size_t(token) >= v.bytes.size() || p_->ended.back()) return false;
  const pda_state& s = p_->cur();
  if (s.complete && std::find(v.eos.begin(), v.eos.end(), token) != v.eos.end()) return true;
  int64_t remaining = -1;
  if (p_->max_tokens >= 0) {
    remaining = p_->max_tokens - int64_t(p_->history.size() - 1);
    if (remaining <= 0) return false;
  }
  if (v.special[token]) {
    bool found = false;
    p_->for_each_special(s, [&](const frame& f, int32_t tok) {
      found = found || (tok == token && p_->special_fits(f, remaining));
    });
    return found;
  }
  const std::string& b = v.bytes[token];
  if (b.empty()) return false;
  pda_state& a = p_->buf(0);
  pda_state& c = p_->buf(1);
  a = s;
  for (size_t i = 0; i < b.size(); ++i) {
    if (a.frames.empty()) return false;
    p_->m.advance(a.frames, uint8_t(b[i]), c);
    std::swap(a, c);
    if (a.dead()) return false;
  }
  // As fill(): after this token the rest must fit in the tokens left, one per byte.
  return remaining < 0 || p_->m.min_finish(a) <= uint64_t(remaining - 1);
}

result<void> grammar_matcher::accept_token(int32_t token) {
  const auto& v = p_->c->vocab();
  if (token < 0 || size_t(token) >= v.bytes.size())
    return fail(errc::invalid_argument, fmt::format("token {} is outside the vocabulary", token));
  if (p_->ended.back()) return fail(errc::invalid_argument, fmt::format("token {} after the end of the document", token));
  const pda_state& s = p_->cur();
  if (std::find(v.eos.begin(), v.eos.end(), token) != v.eos.end() && v.special[token]) {
    if (!s.complete) return fail(errc::invalid_argument, fmt::format("end of text (token {}) before the document is complete", token));
    p_->history.push_back(s);
    p_->ended.push_back(1);
    return ok();
  }
  // A special token is allowed only where a literal terminal of exactly its
  // text starts; it then advances those frames alone over that text.
  pda_state a, b;
  const std::string* text = &v.bytes[token];
  if (v.special[token] || v.bytes[token].empty()) {
    p_->for_each_special(s, [&](const frame& f, int32_t tok) {
      if (tok == token) a.frames.push_back(f);
    });
    if (a.frames.empty())
      return fail(errc::invalid_argument, fmt::format("special token {} is not allowed here", token));
    text = v.special_text_of(token);
    TERN_ASSERT(text != nullptr, "a special token matched a literal, so it has a text");
  } else {
    a = s;
  }
  if (p_->max_tokens >= 0 && int64_t(p_->history.size() - 1) >= p_->max_tokens)
    return fail(errc::limit_exceeded, fmt::format("token {} exceeds the budget of {} tokens", token, p_->max_tokens));
  size_t i = 0;
  for (char ch : *text) {
    p_->m.advance(a.frames, uint8_t(ch), b);
    std::swap(a, b);
    ++i;
    if (a.dead() || (a.frames.empty() && i < text->size()))
      return fail(errc::invalid_argument, fmt::format("token {} is not allowed here (byte {} of the token)", token, i));
  }
  p_->history.push_back(std::move(a));
  p_->ended.push_back(0);
  return ok();
}

result<void> grammar_matcher::rollback(size_t k) {
  if (k >= p_->history.size())
    return fail(errc::invalid_argument, fmt::format("rollback of {} tokens, but only {} were accepted", k, p_->history.size() - 1));
  p_->history.resize(p_->history.size() - k);
  p_->ended.resize(p_->ended.size() - k);
  return ok();
}

bool grammar_matcher::is_complete() const { return p_->cur().complete; }
bool grammar_matcher::is_finished() const { return p_->ended.back() || (p_->cur().complete && p_->cur().frames.empty()); }
size_t grammar_matcher::n_accepted() const { return p_->history.size() - 1; }

}  // namespace tern::engine
