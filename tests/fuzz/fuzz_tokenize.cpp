// Fuzzes encode / decode / streaming detokenization of both tokenizer models
// on small hand-made vocabularies. The first input byte picks the model, the
// pre-tokenizer and the flags; the rest is the text. Checks: nothing crashes,
// streamed output is always valid UTF-8, and byte-level BPE gives back valid
// UTF-8 text exactly.
#include <tern/engine/tokenizer.hpp>

#include "../support/utf8_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace tern::engine;

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2 byte symbols (all below U+0800 here).
std::string byte_symbol(int b) {
  const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  int n = 0;
  if (!printable)
    for (int c = 0; c < b; ++c)
      if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) ++n;
  std::string s;
  append_utf8(s, printable ? static_cast<std::uint32_t>(b) : static_cast<std::uint32_t>(256 + n));
  return s;
}

tokenizer make_bpe(pre_tokenizer pre) {
  vocab v;
  v.model = vocab_model::bpe;
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_symbol(b));
  const char* pairs[][2] = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {" ", "t"}, {"e", "r"}, {" t", "he"}, {"1", "2"}};
  for (auto& p : pairs) {
    v.merges.push_back(byte_symbol(p[0][0]) + (p[0][1] ? byte_symbol(p[0][1]) : "") + " " + byte_symbol(p[1][0]) +
                       (p[1][1] ? byte_symbol(p[1][1]) : ""));
    std::string t;
    for (const char* c = p[0]; *c; ++c) t += byte_symbol(static_cast<unsigned char>(*c));
    for (const char* c = p[1]; *c; ++c) t += byte_symbol(static_cast<unsigned char>(*c));
    v.tokens.push_back(t);
  }
  v.tokens.push_back("<|im_start|>");
  v.tokens.push_back("<tool>");
  v.types.assign(v.tokens.size(), token_type::normal);
  v.types[v.types.size() - 2] = token_type::control;
  v.types[v.types.size() - 1] = token_type::user_defined;
  return std::move(tokenizer::create(std::move(v))).value();
}

tokenizer make_spm() {
  vocab v;
  v.model = vocab_model::spm;
  v.pre = pre_tokenizer::none;
  v.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "a"};
  v.types = {token_type::unknown, token_type::control, token_type::control, token_type::normal,
             token_type::normal,  token_type::normal,  token_type::normal,  token_type::normal};
  v.scores = {0, 0, 0, -1, -2, -2, -3, -1.5f};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    v.types.push_back(token_type::byte);
    v.scores.push_back(0);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return std::move(tokenizer::create(std::move(v))).value();
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tokenizer bpe[] = {make_bpe(pre_tokenizer::gpt2), make_bpe(pre_tokenizer::llama3),
                                  make_bpe(pre_tokenizer::qwen2), make_bpe(pre_tokenizer::smollm),
                                  make_bpe(pre_tokenizer::default_bpe)};
  static const tokenizer spm = make_spm();
  if (size == 0) return 0;
  const std::uint8_t sel = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool parse_special = (sel & 0x10) != 0;
  const bool add_special = (sel & 0x20) != 0;
  const tokenizer& t = (sel & 7) < 5 ? bpe[sel & 7] : spm;

  const auto ids = t.encode(text, add_special, parse_special);
  const std::string decoded = t.decode(ids, false, true);
  if (&t != &spm && !parse_special && tern::test::valid_utf8(text) && decoded != text) std::abort();

  detokenizer d(t, true);
  std::string streamed;
  for (auto id : ids) {
    const std::string_view chunk = d.push(id);
    if (!tern::test::valid_utf8(chunk)) std::abort();
    streamed += chunk;
  }
  const std::string rest = d.flush();
  if (!tern::test::valid_utf8(rest)) std::abort();
  return 0;
}
