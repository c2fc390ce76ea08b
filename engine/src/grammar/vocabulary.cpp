// Token vocabularies for masks: from byte strings, or from a GGUF file's
// tokenizer metadata through the engine's GGUF reader and vocab_from_gguf.
#include "grammar/token_index.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/tokenizer.hpp>
#include <tern/engine/vocab.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace tern::engine {
using namespace grammar_detail;

token_vocabulary::token_vocabulary(std::unique_ptr<impl> p) : p_(std::move(p)) {}
token_vocabulary::~token_vocabulary() = default;
size_t token_vocabulary::size() const { return p_->bytes.size(); }
const std::string& token_vocabulary::token_bytes(int32_t id) const { return p_->bytes[size_t(id)]; }
bool token_vocabulary::is_special(int32_t id) const { return p_->special[size_t(id)] != 0; }
const std::vector<int32_t>& token_vocabulary::eos_tokens() const { return p_->eos; }

result<std::shared_ptr<const token_vocabulary>> make_token_vocabulary(std::vector<std::string> token_bytes,
                                                                      std::vector<uint8_t> special,
                                                                      std::vector<int32_t> eos) {
  if (special.size() != token_bytes.size())
    return fail(errc::invalid_argument, "token vocabulary: special flags and tokens differ in count");
  if (token_bytes.empty() || token_bytes.size() > (size_t(1) << 24))
    return fail(errc::invalid_argument, fmt::format("token vocabulary: bad size {}", token_bytes.size()));
  auto p = std::make_unique<token_vocabulary::impl>();
  for (int32_t e : eos)
    if (e < 0 || size_t(e) >= token_bytes.size())
      return fail(errc::invalid_argument, fmt::format("token vocabulary: EOS token {} out of range", e));
  p->bytes = std::move(token_bytes);
  p->special = std::move(special);
  p->eos = std::move(eos);
  p->words = (p->bytes.size() + 31) / 32;
  std::vector<std::pair<std::string_view, int32_t>> entries;
  for (size_t i = 0; i < p->bytes.size(); ++i) {
    if (p->special[i] || p->bytes[i].size() > 60000) {
      bool is_eos = std::find(p->eos.begin(), p->eos.end(), int32_t(i)) != p->eos.end();
      if (p->special[i] && !is_eos && !p->bytes[i].empty() && p->bytes[i].size() <= 256) {
        p->max_len = std::max(p->max_len, p->bytes[i].size());
        p->special_text.emplace_back(int32_t(i), std::move(p->bytes[i]));
      }
      p->bytes[i].clear();
      continue;
    }
    entries.emplace_back(p->bytes[i], int32_t(i));
    p->max_len = std::max(p->max_len, p->bytes[i].size());
  }
  p->trie = flat_trie::build(std::move(entries));
  p->trie.add_subtree_bytes();
  p->all_tokens.assign(p->words, 0);
  for (int32_t t : p->trie.toks) p->all_tokens[size_t(t) >> 5] |= 1u << (t & 31);
  return std::make_shared<const token_vocabulary>(std::move(p));
}

namespace {

// GPT-2 byte-level BPE spells byte b as a printable code point: printable
// Latin-1 bytes as themselves, the others as 256 + n in byte order.
std::array<int, 324> gpt2_inverse() {
  std::array<int, 324> inv;
  inv.fill(-1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (printable) inv[b] = b;
    else inv[256 + n++] = b;
  }
  return inv;
}

bool decode_gpt2(std::string_view s, std::string& out) {
  static const auto inv = gpt2_inverse();
  out.clear();
  for (size_t i = 0; i < s.size();) {
    auto b = uint8_t(s[i]);
    int n = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : -1;
    if (n < 0 || i + size_t(n) >= s.size()) return false;
    uint32_t c = n == 0 ? b : (b & (n == 1 ? 0x1F : 0x0F));
    for (int k = 1; k <= n; ++k) c = (c << 6) | (uint8_t(s[i + k]) & 0x3F);
    i += size_t(n) + 1;
    if (c >= inv.size() || inv[c] < 0) return false;
    out += char(inv[c]);
  }
  return true;
}

// SentencePiece spelling: U+2581 for space, <0xHH> for raw bytes.
std::string decode_spm(std::string_view s) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  if (s.size() == 6 && s.substr(0, 3) == "<0x" && s[5] == '>' && hex(s[3]) >= 0 && hex(s[4]) >= 0)
    return std::string(1, char(hex(s[3]) * 16 + hex(s[4])));
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "\xE2\x96\x81") {
      out += ' ';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

result<std::shared_ptr<const token_vocabulary>> load_token_vocabulary(const std::filesystem::path& path) {
  TERN_TRY(auto file, gguf_file::open(path));
  auto vr = vocab_from_gguf(file);
  if (!vr) return std::move(vr).error().at(path.string());
  const vocab& v = *vr;
  std::vector<std::string> bytes(v.tokens.size());
  std::vector<uint8_t> special(v.tokens.size(), 0);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    token_type t = v.types.empty() ? token_type::normal : v.types[i];
    // Control, unknown, user-defined and unused tokens never appear in documents as text.
    // Control and user-defined tokens keep their text (stored verbatim, not byte-encoded),
    // so a grammar literal of exactly that text can be matched by the token.
    if (t != token_type::normal && t != token_type::byte) {
      special[i] = 1;
      if (t == token_type::control || t == token_type::user_defined) bytes[i] = v.tokens[i];
      continue;
    }
    if (v.model == vocab_model::spm) {
      bytes[i] = decode_spm(v.tokens[i]);
    } else if (!decode_gpt2(v.tokens[i], bytes[i])) {
      special[i] = 1;
    }
  }
  std::vector<int32_t> eos;
  for (token_id e : {v.eos, v.eot})
    if (e >= 0 && size_t(e) < v.tokens.size()) eos.push_back(e);
  std::sort(eos.begin(), eos.end());
  eos.erase(std::unique(eos.begin(), eos.end()), eos.end());
  auto out = make_token_vocabulary(std::move(bytes), std::move(special), std::move(eos));
  if (!out) return std::move(out).error().at(path.string());
  return out;
}

}  // namespace tern::engine
