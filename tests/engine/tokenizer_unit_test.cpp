// The tokenizer's algorithms on small hand-made vocabularies, the
// pre-tokenizers against splits computed with a real regex engine, streaming
// detokenization, and the errors of building a vocabulary.
#include "../../engine/src/tokenizer/pretokenize.hpp"
#include "../../engine/src/tokenizer/unicode.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/gguf_writer.hpp>
#include <tern/engine/tokenizer.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tern::engine;

namespace {

// GPT-2 bytes_to_unicode, written out again here to check the engine's.
std::string byte_symbol(int b) {
  static std::vector<std::string> table = [] {
    std::vector<int> bs;
    for (int c = '!'; c <= '~'; ++c) bs.push_back(c);
    for (int c = 0xA1; c <= 0xAC; ++c) bs.push_back(c);
    for (int c = 0xAE; c <= 0xFF; ++c) bs.push_back(c);
    std::vector<int> cs = bs;
    int n = 0;
    for (int c = 0; c < 256; ++c) {
      if (std::find(bs.begin(), bs.end(), c) == bs.end()) {
        bs.push_back(c);
        cs.push_back(256 + n++);
      }
    }
    std::vector<std::string> t(256);
    for (std::size_t i = 0; i < bs.size(); ++i) {
      std::string s;
      detail::append_utf8(s, static_cast<std::uint32_t>(cs[i]));
      t[static_cast<std::size_t>(bs[i])] = s;
    }
    return t;
  }();
  return table[static_cast<std::size_t>(b)];
}

std::string byte_level(std::string_view text) {
  std::string s;
  for (unsigned char c : text) s += byte_symbol(c);
  return s;
}

// A byte-level BPE vocabulary: the 256 byte symbols, then one token per merge.
vocab small_bpe(const std::vector<std::pair<std::string, std::string>>& merges, pre_tokenizer pre = pre_tokenizer::gpt2) {
  vocab v;
  v.model = vocab_model::bpe;
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_symbol(b));
  for (const auto& [l, r] : merges) {
    v.merges.push_back(byte_level(l) + " " + byte_level(r));
    v.tokens.push_back(byte_level(l + r));
  }
  return v;
}

tokenizer make(vocab v) {
  auto t = tokenizer::create(std::move(v));
  REQUIRE(t.has_value());
  return std::move(t).value();
}

std::vector<std::string> pieces_of(const tokenizer& t, const std::vector<token_id>& ids) {
  std::vector<std::string> out;
  for (auto id : ids) out.emplace_back(t.token_to_piece(id));
  return out;
}

using strs = std::vector<std::string>;

struct split_case {
  pre_tokenizer pre;
  const char* text;
  std::vector<std::string> pieces;
};

const split_case split_cases[] = {
#include "pretokenize_cases.inc"
};

}  // namespace

TEST_CASE("tokenizer: pre-tokenizers split like their regexes (gpt2, llama3, qwen2, smollm, default)") {
  std::size_t n = 0;
  for (const auto& c : split_cases) {
    std::vector<std::uint32_t> cps;
    detail::decode_utf8(c.text, cps);
    std::vector<std::uint8_t> flags;
    for (auto cp : cps) flags.push_back(detail::flags_of(cp));
    std::vector<detail::cp_span> spans;
    detail::pretokenize(c.pre, cps.data(), flags.data(), cps.size(), spans);
    std::vector<std::string> got;
    for (const auto& s : spans) {
      std::string piece;
      for (std::size_t i = s.begin; i < s.end; ++i) detail::append_utf8(piece, cps[i]);
      got.push_back(piece);
    }
    INFO("pre " << to_string(c.pre) << " text '" << c.text << "'");
    CHECK(got == c.pieces);
    ++n;
  }
  CHECK(n == 5 * 69);
}

TEST_CASE("tokenizer: unicode classes and UTF-8 decoding") {
  CHECK(detail::flags_of('a') == detail::f_letter);
  CHECK(detail::flags_of('7') == detail::f_number);
  CHECK(detail::flags_of('!') == detail::f_punct);
  CHECK(detail::flags_of('$') == detail::f_symbol);
  CHECK(detail::flags_of(' ') == detail::f_space);
  CHECK(detail::flags_of(0x4F60) == detail::f_letter);  // 你
  CHECK(detail::flags_of(0x0663) == detail::f_number);  // Arabic-Indic three
  CHECK(detail::flags_of(0x3000) == detail::f_space);   // ideographic space
  CHECK(detail::flags_of(0x1F600) == detail::f_symbol);
  CHECK(detail::flags_of(0x110000) == 0);
  std::vector<std::uint32_t> cps;
  detail::decode_utf8("a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80", cps);
  CHECK(cps == std::vector<std::uint32_t>{'a', 0xE9, 0x4F60, 0x1F600});
  cps.clear();
  // A stray continuation byte, a cut sequence and a bad lead byte: U+FFFD each, no overrun.
  detail::decode_utf8("\x80x\xE4\xBD", cps);
  CHECK(cps == std::vector<std::uint32_t>{0xFFFD, 'x', 0xFFFD, 0xFFFD});
  cps.clear();
  detail::decode_utf8("\xFF\xF0\x9F", cps);
  CHECK(cps == std::vector<std::uint32_t>{0xFFFD, 0xFFFD, 0xFFFD});
}

TEST_CASE("tokenizer: BPE merges by rank, lowest first, ties to the left") {
  {
    auto t = make(small_bpe({{"a", "b"}, {"b", "c"}}));
    CHECK(pieces_of(t, t.encode("abc", false)) == strs{"ab", "c"});
  }
  {
    auto t = make(small_bpe({{"b", "c"}, {"a", "b"}}));
    CHECK(pieces_of(t, t.encode("abc", false)) == strs{"a", "bc"});
  }
  {
    auto t = make(small_bpe({{"a", "a"}}));
    CHECK(pieces_of(t, t.encode("aaa", false)) == strs{"aa", "a"});
    CHECK(pieces_of(t, t.encode("aaaa", false)) == strs{"aa", "aa"});
  }
  {
    // Merges build on merges; words (here " hello" and " world") merge separately.
    auto t = make(small_bpe({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "hello"}, {"o", "r"}}));
    CHECK(pieces_of(t, t.encode("hello hello world", false)) == strs{"hello", " hello", " ", "w", "or", "l", "d"});
  }
  {
    // Every byte has a symbol, so any bytes encode, and decode gives them back.
    auto t = make(small_bpe({}));
    const std::string text = "\x01\xF0\x9F\x98\x80 caf\xC3\xA9";
    const auto ids = t.encode(text, false);
    CHECK(ids.size() == text.size());
    CHECK(t.decode(ids) == text);
    // Invalid UTF-8 is tokenized as U+FFFD, as llama.cpp does.
    CHECK(t.decode(t.encode("a\xFF", false)) == "a\xEF\xBF\xBD");
  }
}

TEST_CASE("tokenizer: llama3 pre-tokenizer ignores merges for whole-token words") {
  // "abc" is a token but no merge chain reaches it.
  vocab v = small_bpe({{"a", "b"}}, pre_tokenizer::llama3);
  v.tokens.push_back(byte_level("abc"));
  {
    vocab w = v;
    auto t = make(std::move(w));
    CHECK(pieces_of(t, t.encode("abc", false)) == strs{"ab", "c"});
  }
  v.ignore_merges = true;
  auto t = make(std::move(v));
  CHECK(pieces_of(t, t.encode("abc", false)) == strs{"abc"});
  CHECK(pieces_of(t, t.encode("abcd", false)) == strs{"ab", "c", "d"});
}

TEST_CASE("tokenizer: special tokens are cut out longest first; control ones only with parse_special") {
  vocab v = small_bpe({{"a", "b"}});
  const auto first_special = static_cast<token_id>(v.tokens.size());
  v.tokens.insert(v.tokens.end(), {"<|s|>", "<|s|><|e|>", "<tool>", "<|e|>"});
  v.types.assign(v.tokens.size(), token_type::normal);
  v.types[static_cast<std::size_t>(first_special)] = token_type::control;
  v.types[static_cast<std::size_t>(first_special + 1)] = token_type::control;
  v.types[static_cast<std::size_t>(first_special + 2)] = token_type::user_defined;
  v.types[static_cast<std::size_t>(first_special + 3)] = token_type::control;
  v.bos = first_special;
  v.eos = first_special + 3;
  auto t = make(std::move(v));
  const token_id s = first_special, se = first_special + 1, tool = first_special + 2, e = first_special + 3;

  auto ids = t.encode("ab<|s|><|e|>ab<|e|><tool>", false, true);
  CHECK(pieces_of(t, ids) == strs{"ab", "<|s|><|e|>", "ab", "<|e|>", "<tool>"});
  CHECK(ids[1] == se);
  CHECK(ids[3] == e);
  CHECK(ids[4] == tool);
  // Without parse_special only the user-defined token is special.
  ids = t.encode("ab<|s|><tool>", false, false);
  CHECK(ids.back() == tool);
  CHECK(std::find(ids.begin(), ids.end(), s) == ids.end());
  CHECK(t.decode(ids) == "ab<|s|><tool>");
  // Control tokens render only with unparse_special (or special pieces).
  CHECK(t.decode(std::vector<token_id>{s, tool}, false, false) == "<tool>");
  CHECK(t.decode(std::vector<token_id>{s, tool}, false, true) == "<|s|><tool>");
  CHECK(t.is_eog(e));
  CHECK(!t.is_eog(s));
}

TEST_CASE("tokenizer: BOS/EOS follow add_bos / add_eos") {
  vocab v = small_bpe({});
  v.tokens.push_back("<bos>");
  v.tokens.push_back("<eos>");
  v.types.assign(v.tokens.size(), token_type::normal);
  v.types[256] = v.types[257] = token_type::control;
  v.bos = 256;
  v.eos = 257;
  v.add_bos = true;
  v.add_eos = true;
  auto t = make(std::move(v));
  // Byte b's symbol is token b in this vocabulary.
  CHECK(t.encode("a", true) == std::vector<token_id>{256, 'a', 257});
  CHECK(t.encode("a", false) == std::vector<token_id>{'a'});
  CHECK(t.encode("", true) == std::vector<token_id>{256, 257});
  CHECK(t.decode(t.encode("a", true), true) == "a");
}

namespace {

// A SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens, then pieces with scores.
vocab small_spm(const std::vector<std::pair<std::string, float>>& pieces) {
  vocab v;
  v.model = vocab_model::spm;
  v.pre = pre_tokenizer::none;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {token_type::unknown, token_type::control, token_type::control};
  v.scores = {0, 0, 0};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    v.types.push_back(token_type::byte);
    v.scores.push_back(0);
  }
  for (const auto& [p, s] : pieces) {
    v.tokens.push_back(p);
    v.types.push_back(token_type::normal);
    v.scores.push_back(s);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return v;
}

}  // namespace

TEST_CASE("tokenizer: SentencePiece merges by score, with a space prefix and byte fallback") {
  const std::string sp = "\xE2\x96\x81";  // ▁
  auto t = make(small_spm({{sp, -1}, {"a", -2}, {"b", -2}, {"c", -2}, {"ab", -3}, {sp + "a", -1.5f},
                           {"bc", -0.5f}, {sp + "ab", -4}}));
  const token_id base = 3 + 256;
  // "▁abc": ▁a (-1.5) vs ab (-3) vs bc (-0.5): bc first, then ▁a; ▁abc absent.
  CHECK(pieces_of(t, t.encode("abc", false)) == strs{" a", "bc"});
  CHECK(t.encode("abc", true).front() == 1);
  // "▁ab": ▁a (-1.5) beats ab (-3), then ▁a + b is the token ▁ab.
  CHECK(pieces_of(t, t.encode("ab", false)) == strs{" ab"});
  // "▁ba": no merge applies.
  CHECK(pieces_of(t, t.encode("ba", false)) == strs{" ", "b", "a"});
  // Unknown characters fall back to their bytes.
  auto ids = t.encode("a\xC3\xA9", false);
  CHECK(ids == std::vector<token_id>{base + 5, 3 + 0xC3, 3 + 0xA9});
  CHECK(t.decode(ids) == "a\xC3\xA9");
  // A cut UTF-8 sequence is kept as bytes too (nothing is lost or read past the end).
  ids = t.encode("a\xE4", false);
  CHECK(ids == std::vector<token_id>{base + 5, 3 + 0xE4});
  // decode drops the space the encoding added in front.
  CHECK(t.decode(t.encode("ab c", false)) == "ab c");
  CHECK(t.decode(t.encode(" ab", false)) == " ab");
}

TEST_CASE("tokenizer: SentencePiece gives the same ids when it merges runs between isolated characters") {
  // In `a`, '\n' and '!' occur in no token of two bytes or more, so the text is
  // merged run by run between them; in `b` an unreachable token makes them
  // ordinary, so each text is merged as a whole. The ids must not differ.
  const std::string sp = "\xE2\x96\x81";
  const std::vector<std::pair<std::string, float>> pieces{
      {sp, -1}, {"a", -2}, {"b", -2}, {"ab", -3}, {sp + "a", -1.5f}, {"ba", -1}, {sp + "ab", -4}, {"\n", -5}};
  auto a = make(small_spm(pieces));
  auto with_dummy = pieces;
  with_dummy.push_back({"\x01\n!", -9});
  auto b = make(small_spm(with_dummy));
  for (const char* text : {"ab\nab", "\n\nab ba\n", "a!b!!ab", "\xE4\nab", "ab\xE4\n\nba", "\xF0\x9F\n!ab",
                           "\xC3\n", "ba ab\n ab!", "\n", "!", ""}) {
    INFO("text '" << text << "'");
    CHECK(a.encode(text, true) == b.encode(text, true));
  }
}

TEST_CASE("tokenizer: streaming detokenization never emits a broken UTF-8 sequence") {
  auto t = make(small_bpe({}));
  detokenizer d(t);
  // "你好🇧🇷é" one byte token at a time.
  const std::string text = "\xE4\xBD\xA0\xE5\xA5\xBD\xF0\x9F\x87\xA7\xF0\x9F\x87\xB7\xC3\xA9!";
  std::string all;
  std::size_t n_empty = 0;
  for (auto id : t.encode(text, false)) {
    const std::string_view chunk = d.push(id);
    CHECK(detail::valid_utf8_prefix(chunk) == chunk.size());
    if (chunk.empty()) ++n_empty;
    all += chunk;
  }
  all += d.flush();
  CHECK(all == text);
  CHECK(n_empty == text.size() - 6);  // one chunk per character

  // Bytes that can never be valid come out as U+FFFD, each maximal bad part once.
  CHECK(d.push_bytes("\xE4\xBD") == "");
  CHECK(d.pending_bytes() == 2);
  CHECK(d.push_bytes("x") == "\xEF\xBF\xBDx");
  CHECK(d.push_bytes("\xFF\x80 ok") == "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  CHECK(d.push_bytes("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate is not UTF-8
  CHECK(d.push_bytes("\xF0\x9F\x98") == "");
  CHECK(d.flush() == "\xEF\xBF\xBD");  // a sequence cut at the end of the stream
  CHECK(d.pending_bytes() == 0);
}

TEST_CASE("tokenizer: streaming detokenization of SentencePiece byte-fallback tokens") {
  vocab v = small_spm({{"\xE2\x96\x81", -1}});
  auto t = make(std::move(v));
  detokenizer d(t);
  const std::string text = "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x87\xA7\xF0\x9F\x87\xB7";
  std::string all;
  for (auto id : t.encode(text, false)) {
    const std::string_view chunk = d.push(id);
    CHECK(detail::valid_utf8_prefix(chunk) == chunk.size());
    all += chunk;
  }
  all += d.flush();
  // The SPM space prefix comes through as a leading space when streaming.
  CHECK(all == " " + text);
}

TEST_CASE("tokenizer: create() rejects inconsistent vocabularies") {
  {
    vocab v;
    auto r = tokenizer::create(v);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::invalid_argument);
  }
  {
    vocab v = small_bpe({});
    v.tokens.push_back(byte_symbol('a'));
    auto r = tokenizer::create(v);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("token 256 has the same text as token"));
  }
  {
    vocab v = small_bpe({});
    v.bos = 300;
    auto r = tokenizer::create(v);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("bos token id 300 is out of range"));
  }
  {
    vocab v = small_spm({});
    v.scores.pop_back();
    auto r = tokenizer::create(v);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("258 scores for 259 tokens"));
  }
  {
    vocab v = small_bpe({});
    v.add_eos = true;
    auto r = tokenizer::create(v);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("no eos token"));
  }
}

namespace {

gguf_writer bpe_writer() {
  gguf_writer w;
  w.set_string("general.architecture", "qwen2");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_symbol(b));
  tokens.push_back(byte_level("hi"));
  tokens.push_back("<|endoftext|>");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  std::vector<std::int32_t> types(tokens.size(), 1);
  types.back() = 3;
  w.set_array<std::int32_t>("tokenizer.ggml.token_type", types);
  std::vector<std::string> merges{byte_level("h") + " " + byte_level("i")};
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set_u32("tokenizer.ggml.eos_token_id", 257);
  w.set_u32("tokenizer.ggml.bos_token_id", 257);
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  return w;
}

tern::result<tokenizer> from_writer(const gguf_writer& w) {
  auto bytes = w.to_bytes();
  REQUIRE(bytes.has_value());
  auto file = gguf_file::from_bytes(std::move(bytes).value(), "test.gguf");
  REQUIRE(file.has_value());
  return tokenizer::from_gguf(*file);
}

}  // namespace

TEST_CASE("tokenizer: vocab_from_gguf reads a small GGUF vocabulary") {
  auto t = from_writer(bpe_writer());
  REQUIRE(t.has_value());
  CHECK(t->n_tokens() == 258);
  CHECK(t->vocabulary().pre == pre_tokenizer::qwen2);
  CHECK(t->vocabulary().clean_spaces == false);
  CHECK(t->encode("hi<|endoftext|>", true, true) == std::vector<token_id>{256, 257});
  CHECK(t->is_eog(257));
}

TEST_CASE("tokenizer: vocab_from_gguf errors name the key") {
  {
    auto w = bpe_writer();
    w.remove("tokenizer.ggml.tokens");
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::not_found);
    CHECK_THAT(r.error().describe(), Catch::Contains("test.gguf") && Catch::Contains("tokenizer.ggml.tokens"));
  }
  {
    auto w = bpe_writer();
    w.remove("tokenizer.ggml.merges");
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("tokenizer.ggml.merges"));
  }
  {
    auto w = bpe_writer();
    w.set_array<std::int32_t>("tokenizer.ggml.token_type", std::vector<std::int32_t>{1, 1, 1});
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::parse_error);
    CHECK_THAT(r.error().describe(), Catch::Contains("has 3 elements for 258 tokens"));
  }
  {
    auto w = bpe_writer();
    w.set_string("tokenizer.ggml.model", "bert");
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::unsupported);
    CHECK_THAT(r.error().describe(), Catch::Contains("'bert' is not supported"));
  }
  {
    auto w = bpe_writer();
    w.set_u32("tokenizer.ggml.model", 3);
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::parse_error);
  }
  {
    // A special id out of range keeps the default (as llama.cpp), which is valid here.
    auto w = bpe_writer();
    w.set_u32("tokenizer.ggml.eos_token_id", 9999);
    auto r = from_writer(w);
    REQUIRE(r.has_value());
    CHECK(r->eos() == 11);
  }
  {
    // Duplicate token texts are refused (llama.cpp aborts on them).
    auto w = bpe_writer();
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.push_back(byte_symbol(b));
    tokens.push_back(byte_symbol('h'));
    tokens.push_back("<|endoftext|>");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    auto r = from_writer(w);
    REQUIRE(!r);
    CHECK_THAT(r.error().describe(), Catch::Contains("test.gguf: tokenizer: token 256 has the same text"));
  }
}
