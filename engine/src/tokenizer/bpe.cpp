// Byte-level BPE (tokenizer.ggml.model "gpt2"): split the text into words with
// the family's pre-tokenizer, then in each word merge adjacent symbols by
// rank, lowest first (ties: leftmost), as llama.cpp's llm_tokenizer_bpe does.
//
// Symbols start as one byte each (the byte's GPT-2 symbol) and are tracked by
// token id, so a merge is one hash lookup of an id pair; a merge whose parts
// are not tokens (never in a well-formed vocabulary) falls back to text.
#include "pretokenize.hpp"
#include "tokenizer_impl.hpp"
#include "unicode.hpp"

#include <queue>

namespace tern::engine {

namespace {

struct symbol {
  token_id id;  // no_token when the text is not a token
  std::uint32_t start;
  std::uint32_t len;  // bytes of the original text; 0 once merged into the left
  std::int32_t prev;
  std::int32_t next;
};

struct bigram {
  std::int32_t rank;
  std::int32_t left;
  std::int32_t right;
  std::uint32_t len;
  token_id result;
};

struct bigram_later {
  bool operator()(const bigram& a, const bigram& b) const noexcept {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

// The byte-level text of bytes [start, start + len) of a word.
std::string symbol_text(const tokenizer::impl& p, std::string_view word, std::uint32_t start, std::uint32_t len) {
  std::string s;
  for (std::uint32_t i = start; i < start + len; ++i) s += p.byte_symbol_utf8[static_cast<unsigned char>(word[i])];
  return s;
}

}  // namespace

void tokenizer::impl::encode_bpe(std::string_view text, std::vector<token_id>& out) const {
  std::vector<std::uint32_t> cps;
  detail::decode_utf8(text, cps);
  std::vector<std::uint8_t> flags(cps.size());
  for (std::size_t i = 0; i < cps.size(); ++i) flags[i] = detail::flags_of(cps[i]);
  std::vector<detail::cp_span> words;
  detail::pretokenize(v.pre, cps.data(), flags.data(), cps.size(), words);

  std::string word;
  std::vector<symbol> symbols;
  std::vector<bigram> heap_storage;
  std::priority_queue<bigram, std::vector<bigram>, bigram_later> queue(bigram_later{}, std::move(heap_storage));

  auto add_bigram = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const symbol& a = symbols[static_cast<std::size_t>(l)];
    const symbol& b = symbols[static_cast<std::size_t>(r)];
    if (a.id != no_token && b.id != no_token) {
      if (const auto* e = merges.find(a.id, b.id)) queue.push({e->rank, l, r, a.len + b.len, e->result});
      return;
    }
    if (odd_merges.empty()) return;
    std::string lt = symbol_text(*this, word, a.start, a.len);
    std::string rt = symbol_text(*this, word, b.start, b.len);
    auto it = odd_merges.find({lt, rt});
    if (it == odd_merges.end()) return;
    queue.push({it->second, l, r, a.len + b.len, texts.find(lt + rt)});
  };

  for (const detail::cp_span& w : words) {
    // Invalid UTF-8 was read as U+FFFD: re-encode so each word is valid.
    word.clear();
    for (std::size_t i = w.begin; i < w.end; ++i) detail::append_utf8(word, cps[i]);

    if (v.ignore_merges) {
      const token_id whole = texts.find(symbol_text(*this, word, 0, static_cast<std::uint32_t>(word.size())));
      if (whole != no_token) {
        out.push_back(whole);
        continue;
      }
    }

    symbols.clear();
    for (std::uint32_t i = 0; i < word.size(); ++i) {
      const auto n = static_cast<std::int32_t>(word.size());
      const auto idx = static_cast<std::int32_t>(i);
      symbols.push_back({byte_symbol_token[static_cast<unsigned char>(word[i])], i, 1, idx - 1,
                         idx + 1 < n ? idx + 1 : -1});
    }
    for (std::int32_t i = 1; i < static_cast<std::int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

    while (!queue.empty()) {
      const bigram bg = queue.top();
      queue.pop();
      symbol& a = symbols[static_cast<std::size_t>(bg.left)];
      symbol& b = symbols[static_cast<std::size_t>(bg.right)];
      // Sizes only grow, so an unchanged total means both sides are unchanged.
      if (a.len == 0 || b.len == 0 || a.len + b.len != bg.len) continue;
      a.len += b.len;
      a.id = bg.result;
      b.len = 0;
      a.next = b.next;
      if (b.next >= 0) symbols[static_cast<std::size_t>(b.next)].prev = bg.left;
      add_bigram(a.prev, bg.left);
      add_bigram(bg.left, a.next);
    }

    for (const symbol& s : symbols) {
      if (s.len == 0) continue;
      if (s.id != no_token) {
        out.push_back(s.id);
        continue;
      }
      // Not a token: llama.cpp looks up each byte of the symbol's text alone.
      const std::string t = symbol_text(*this, word, s.start, s.len);
      for (char c : t) {
        const token_id id = texts.find(std::string_view(&c, 1));
        if (id != no_token) out.push_back(id);
      }
    }
  }
}

}  // namespace tern::engine
