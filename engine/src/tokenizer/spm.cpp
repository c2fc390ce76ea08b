// SentencePiece (tokenizer.ggml.model "llama"): spaces become U+2581, the text
// is cut into UTF-8 characters, and adjacent symbols whose concatenation is a
// token merge, highest score first (ties: leftmost), as llama.cpp's
// llm_tokenizer_spm does. A symbol left that is not a token is written as
// its bytes' <0xXX> tokens (byte fallback).
//
// llama.cpp also keeps a map to undo merges whose result is not a token; here
// a merge happens only when its result is a token, so that map is never used.
#include "tokenizer_impl.hpp"
#include "unicode.hpp"

#include <queue>

namespace tern::engine {

namespace {

struct symbol {
  std::uint32_t start;
  std::uint32_t len;  // 0 once merged into the left
  std::int32_t prev;
  std::int32_t next;
};

struct bigram {
  float score;
  std::int32_t left;
  std::int32_t right;
  std::uint32_t len;
};

struct bigram_later {
  bool operator()(const bigram& a, const bigram& b) const noexcept {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void tokenizer::impl::encode_spm(std::string_view raw, std::vector<token_id>& out) const {
  std::string text;
  text.reserve(raw.size() + raw.size() / 4);
  for (char c : raw) {
    if (c == ' ') text += "\xE2\x96\x81";
    else text.push_back(c);
  }

  std::vector<symbol> symbols;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = std::min(detail::utf8_len(static_cast<unsigned char>(text[i])), text.size() - i);
    const auto idx = static_cast<std::int32_t>(symbols.size());
    symbols.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(len), idx - 1,
                       i + len < text.size() ? idx + 1 : -1});
    i += len;
  }

  std::priority_queue<bigram, std::vector<bigram>, bigram_later> queue;
  auto add_bigram = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const symbol& a = symbols[static_cast<std::size_t>(l)];
    const symbol& b = symbols[static_cast<std::size_t>(r)];
    const token_id id = texts.find(std::string_view(text).substr(a.start, a.len + b.len));
    if (id == no_token) return;
    const float score = v.scores.empty() ? 0.0f : v.scores[static_cast<std::size_t>(id)];
    queue.push({score, l, r, a.len + b.len});
  };
  for (std::int32_t i = 1; i < static_cast<std::int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const bigram bg = queue.top();
    queue.pop();
    symbol& a = symbols[static_cast<std::size_t>(bg.left)];
    symbol& b = symbols[static_cast<std::size_t>(bg.right)];
    if (a.len == 0 || b.len == 0 || a.len + b.len != bg.len) continue;
    a.len += b.len;
    b.len = 0;
    a.next = b.next;
    if (b.next >= 0) symbols[static_cast<std::size_t>(b.next)].prev = bg.left;
    add_bigram(a.prev, bg.left);
    add_bigram(bg.left, a.next);
  }

  for (std::int32_t i = symbols.empty() ? -1 : 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next) {
    const symbol& s = symbols[static_cast<std::size_t>(i)];
    const std::string_view t = std::string_view(text).substr(s.start, s.len);
    const token_id id = texts.find(t);
    if (id != no_token) {
      out.push_back(id);
      continue;
    }
    for (unsigned char c : t) {
      const token_id b = byte_fallback_token[c];
      if (b != no_token) out.push_back(b);
      else if (v.unk != no_token) out.push_back(v.unk);
    }
  }
}

}  // namespace tern::engine
