// The split regexes, as llama.cpp (llama-vocab.cpp, commit 3f545bec) and the
// models' tokenizer.json files give them:
//
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:  the llama3 regex with \p{N} instead of \p{N}{1,3}
//           (also deepseek-r1-qwen; (?i:) applies to ASCII letters only, as
//           llama.cpp rewrites it to '[sS]|'[tT]|...)
//   smollm: \p{N} first, then gpt2
//   default: [\p{P}\$\+<=>\^~\|]+ , then gpt2, then \p{N}+ , then [0-9][0-9][0-9]
//
// Each matcher returns the length of the match starting exactly at `p` (0 if
// none); the splitter tries positions left to right like a regex iterator.
#include "pretokenize.hpp"

#include "unicode.hpp"

namespace tern::engine::detail {

namespace {

struct text_view {
  const std::uint32_t* c;
  const std::uint8_t* f;
};

inline bool is_l(const text_view& t, std::size_t i) { return (t.f[i] & f_letter) != 0; }
inline bool is_n(const text_view& t, std::size_t i) { return (t.f[i] & f_number) != 0; }
inline bool is_s(const text_view& t, std::size_t i) { return (t.f[i] & f_space) != 0; }
// [^\s\p{L}\p{N}]
inline bool is_o(const text_view& t, std::size_t i) { return (t.f[i] & (f_letter | f_number | f_space)) == 0; }
inline bool is_nl(std::uint32_t c) { return c == '\r' || c == '\n'; }

// 's|'t|'re|'ve|'m|'ll|'d, optionally ASCII case-insensitive.
std::size_t match_contraction(const text_view& t, std::size_t p, std::size_t end, bool icase) {
  if (t.c[p] != '\'' || p + 1 >= end) return 0;
  auto low = [&](std::size_t i) -> std::uint32_t {
    const std::uint32_t c = t.c[i];
    return (icase && c >= 'A' && c <= 'Z') ? c + 32 : c;
  };
  const std::uint32_t c1 = low(p + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (p + 2 >= end) return 0;
  const std::uint32_t c2 = low(p + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// \s+(?!\S) then (where the regex has it) \s+: a run of whitespace followed by
// a non-space gives that non-space its last whitespace character, unless the
// run is a single character.
std::size_t match_space_run(const text_view& t, std::size_t p, std::size_t end) {
  std::size_t q = p;
  while (q < end && is_s(t, q)) ++q;
  const std::size_t k = q - p;
  if (k == 0) return 0;
  if (q < end && k > 1) return k - 1;
  return k;
}

std::size_t match_gpt2(const text_view& t, std::size_t p, std::size_t end) {
  if (std::size_t n = match_contraction(t, p, end, false)) return n;
  const std::size_t q = (t.c[p] == ' ' && p + 1 < end) ? p + 1 : p;
  if (is_l(t, q)) {  //  ?\p{L}+
    std::size_t r = q + 1;
    while (r < end && is_l(t, r)) ++r;
    return r - p;
  }
  if (is_n(t, q)) {  //  ?\p{N}+
    std::size_t r = q + 1;
    while (r < end && is_n(t, r)) ++r;
    return r - p;
  }
  if (is_o(t, q)) {  //  ?[^\s\p{L}\p{N}]+
    std::size_t r = q + 1;
    while (r < end && is_o(t, r)) ++r;
    return r - p;
  }
  // \s+(?!\S); a lone whitespace before a non-space matches nothing here, and
  // becomes a piece of its own either way.
  return match_space_run(t, p, end);
}

template <std::size_t MaxDigits>
std::size_t match_llama3_like(const text_view& t, std::size_t p, std::size_t end) {
  if (std::size_t n = match_contraction(t, p, end, true)) return n;
  const std::uint32_t c0 = t.c[p];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  {
    std::size_t q = p;
    if (!is_l(t, p) && !is_n(t, p) && !is_nl(c0) && p + 1 < end && is_l(t, p + 1)) q = p + 1;
    if (is_l(t, q)) {
      std::size_t r = q + 1;
      while (r < end && is_l(t, r)) ++r;
      return r - p;
    }
  }
  // \p{N}{1,MaxDigits}
  if (is_n(t, p)) {
    std::size_t r = p + 1;
    while (r < end && r - p < MaxDigits && is_n(t, r)) ++r;
    return r - p;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  {
    const std::size_t q = (c0 == ' ' && p + 1 < end) ? p + 1 : p;
    if (is_o(t, q)) {
      std::size_t r = q + 1;
      while (r < end && is_o(t, r)) ++r;
      while (r < end && is_nl(t.c[r])) ++r;
      return r - p;
    }
  }
  if (!is_s(t, p)) return 0;
  // \s*[\r\n]+ : the whitespace run up to and including its last newline.
  std::size_t q = p;
  std::size_t last_nl = end;
  while (q < end && is_s(t, q)) {
    if (is_nl(t.c[q])) last_nl = q;
    ++q;
  }
  if (last_nl != end) return last_nl + 1 - p;
  // \s+(?!\S)|\s+
  return match_space_run(t, p, end);
}

// [\p{P}\$\+<=>\^~\|]+
std::size_t match_default_punct(const text_view& t, std::size_t p, std::size_t end) {
  auto ok = [&](std::size_t i) {
    const std::uint32_t c = t.c[i];
    return (t.f[i] & f_punct) != 0 || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
           c == '~' || c == '|';
  };
  std::size_t r = p;
  while (r < end && ok(r)) ++r;
  return r - p;
}

// \p{N}+ (or a single \p{N} when `single`)
std::size_t match_numbers(const text_view& t, std::size_t p, std::size_t end, bool single) {
  if (!is_n(t, p)) return 0;
  if (single) return 1;
  std::size_t r = p + 1;
  while (r < end && is_n(t, r)) ++r;
  return r - p;
}

// [0-9][0-9][0-9]
std::size_t match_three_ascii_digits(const text_view& t, std::size_t p, std::size_t end) {
  if (p + 3 > end) return 0;
  for (std::size_t i = p; i < p + 3; ++i)
    if (t.c[i] < '0' || t.c[i] > '9') return 0;
  return 3;
}

// Applies one regex (as a matcher) to every piece in `pieces`, writing the
// finer pieces to `out`; text between matches stays a piece of its own.
template <class Matcher>
void split_pieces(const text_view& t, const std::vector<cp_span>& pieces, std::vector<cp_span>& out, Matcher match) {
  out.clear();
  for (const cp_span& piece : pieces) {
    std::size_t gap = piece.begin;
    std::size_t p = piece.begin;
    while (p < piece.end) {
      const std::size_t n = match(t, p, piece.end);
      if (n == 0) {
        ++p;
        continue;
      }
      if (p > gap) out.push_back({gap, p});
      out.push_back({p, p + n});
      p += n;
      gap = p;
    }
    if (gap < piece.end) out.push_back({gap, piece.end});
  }
}

// One regex over the whole text: the common case, without the piece list.
template <class Matcher>
void split_whole(const text_view& t, std::size_t n, std::vector<cp_span>& out, Matcher match) {
  std::vector<cp_span> whole{{0, n}};
  split_pieces(t, whole, out, match);
}

}  // namespace

void pretokenize(pre_tokenizer pre, const std::uint32_t* cps, const std::uint8_t* flags, std::size_t n,
                 std::vector<cp_span>& out) {
  out.clear();
  if (n == 0) return;
  const text_view t{cps, flags};
  switch (pre) {
    case pre_tokenizer::gpt2:
      split_whole(t, n, out, match_gpt2);
      return;
    case pre_tokenizer::llama3:
      split_whole(t, n, out, match_llama3_like<3>);
      return;
    case pre_tokenizer::qwen2:
      split_whole(t, n, out, match_llama3_like<1>);
      return;
    case pre_tokenizer::smollm: {
      std::vector<cp_span> digits;
      split_whole(t, n, digits, [](const text_view& tv, std::size_t p, std::size_t e) {
        return match_numbers(tv, p, e, true);
      });
      split_pieces(t, digits, out, match_gpt2);
      return;
    }
    case pre_tokenizer::default_bpe: {
      std::vector<cp_span> a, b;
      split_whole(t, n, a, match_default_punct);
      split_pieces(t, a, b, match_gpt2);
      split_pieces(t, b, a, [](const text_view& tv, std::size_t p, std::size_t e) {
        return match_numbers(tv, p, e, false);
      });
      split_pieces(t, a, out, match_three_ascii_digits);
      return;
    }
    case pre_tokenizer::none:
      out.push_back({0, n});
      return;
  }
  out.push_back({0, n});
}

}  // namespace tern::engine::detail
