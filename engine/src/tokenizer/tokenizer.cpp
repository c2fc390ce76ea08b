// Building a tokenizer from a vocabulary, splitting special tokens out of text,
// pieces and decoding. The merge loops are in bpe.cpp and spm.cpp.
#include "tokenizer_impl.hpp"
#include "unicode.hpp"

#include <tern/core/log.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace tern::engine {

namespace detail {

namespace {
// bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
// bytes map to 256, 257, ... in byte order.
const std::array<std::uint32_t, 256>& byte_symbols() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    std::uint32_t next = 256;
    for (std::uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}
}  // namespace

std::uint32_t byte_to_symbol(std::uint8_t b) noexcept { return byte_symbols()[b]; }

int symbol_to_byte(std::uint32_t cp) noexcept {
  if (cp < 256) {
    const bool printable = (cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF);
    return printable ? static_cast<int>(cp) : -1;
  }
  if (cp >= 256 + 68) return -1;
  static const std::array<std::uint8_t, 68> reverse = [] {
    std::array<std::uint8_t, 68> r{};
    for (int b = 0; b < 256; ++b) {
      const std::uint32_t s = byte_symbols()[static_cast<std::size_t>(b)];
      if (s >= 256) r[s - 256] = static_cast<std::uint8_t>(b);
    }
    return r;
  }();
  return reverse[cp - 256];
}

}  // namespace detail

namespace {

constexpr std::string_view spm_space = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space

bool is_special_type(token_type t) {
  return t == token_type::control || t == token_type::user_defined || t == token_type::unknown;
}

std::string unescape_spm(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text.substr(i, spm_space.size()) == spm_space) {
      out.push_back(' ');
      i += spm_space.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// llama.cpp's llama_decode_text: each code point of a byte-level token text
// back to its byte; a code point that stands for no byte is kept visible.
std::string decode_byte_level(std::string_view text) {
  std::vector<std::uint32_t> cps;
  detail::decode_utf8(text, cps);
  std::string out;
  out.reserve(cps.size());
  for (std::uint32_t cp : cps) {
    const int b = detail::symbol_to_byte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    std::string utf8;
    detail::append_utf8(utf8, cp);
    out += "[UNK_BYTE_0x";
    for (unsigned char c : utf8) out += fmt::format("{:02x}", c);
    out += text;
    out += "]";
  }
  return out;
}

// The piece of one token, with special = true (llama.cpp token_to_piece).
std::string make_piece(const vocab& v, token_type type, std::string_view text) {
  if (type == token_type::control || type == token_type::unknown || type == token_type::user_defined)
    return std::string(text);
  if (v.model == vocab_model::spm) {
    if (type == token_type::normal) return unescape_spm(text);
    if (type == token_type::byte) {
      // "<0xXX>"
      if (text.size() == 6 && text.substr(0, 3) == "<0x" && text[5] == '>') {
        unsigned value = 0;
        for (char c : text.substr(3, 2)) {
          value <<= 4;
          if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
          else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
          else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
        }
        return std::string(1, static_cast<char>(value));
      }
      return {};
    }
    return {};
  }
  if (type == token_type::normal) return decode_byte_level(text);
  return {};
}

// Texts llama.cpp treats as end-of-generation (and as control tokens) whatever
// their stored type; "</s>" is on the list at llama.cpp 3f545bec.
constexpr std::string_view eog_texts[] = {
    "<|eot_id|>", "<|im_end|>",    "<|end|>",        "<|return|>", "<|call|>",        "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>",          "_<EOT>",     "<|end_of_text|>", "<end_of_utterance>",
    "</s>",
};
// End-of-turn candidates, in order of preference, when the file names none.
constexpr std::string_view eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>",      "_<EOT>",     "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "<end_of_utterance>",
};
// Fill-in-the-middle texts: made control tokens; pad, repo and file-separator
// ones also end generation.
constexpr std::string_view fim_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<SUF>",          "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "<|eom_id|>",
};
constexpr std::string_view fim_eog_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
                                              "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                              "<reponame>", "<|file_sep|>"};

}  // namespace

tokenizer::tokenizer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
tokenizer::tokenizer(tokenizer&&) noexcept = default;
tokenizer& tokenizer::operator=(tokenizer&&) noexcept = default;
tokenizer::~tokenizer() = default;

result<tokenizer> tokenizer::create(vocab v) {
  const std::size_t n = v.tokens.size();
  if (n == 0) return fail(errc::invalid_argument, "the vocabulary has no tokens");
  if (n > static_cast<std::size_t>(INT32_MAX) / 2)
    return fail(errc::limit_exceeded, fmt::format("{} tokens is more than token ids can hold", n));
  if (!v.scores.empty() && v.scores.size() != n)
    return fail(errc::invalid_argument, fmt::format("{} scores for {} tokens", v.scores.size(), n));
  if (!v.types.empty() && v.types.size() != n)
    return fail(errc::invalid_argument, fmt::format("{} token types for {} tokens", v.types.size(), n));
  for (auto [name, id] : {std::pair{"bos", &v.bos}, {"eos", &v.eos}, {"eot", &v.eot}, {"unk", &v.unk},
                          {"pad", &v.pad}}) {
    if (*id != no_token && (*id < 0 || static_cast<std::size_t>(*id) >= n))
      return fail(errc::invalid_argument, fmt::format("{} token id {} is out of range (0..{})", name, *id, n - 1));
  }
  if (v.add_bos && v.bos == no_token) return fail(errc::invalid_argument, "add_bos is set but there is no bos token");
  if (v.add_eos && v.eos == no_token) return fail(errc::invalid_argument, "add_eos is set but there is no eos token");

  // llama.cpp renames empty token texts so that each text stays unique.
  for (std::size_t i = 0; i < n; ++i)
    if (v.tokens[i].empty()) v.tokens[i] = fmt::format("[EMPTY_{}]", i);

  auto p = std::make_unique<impl>();
  p->texts.build(v.tokens);
  if (p->texts.first_duplicate() != no_token)
    return fail(errc::invalid_argument, fmt::format("token {} has the same text as token {}",
                                                    p->texts.first_duplicate(), p->texts.duplicate_of()));

  p->types = v.types.empty() ? std::vector<token_type>(n, token_type::normal) : v.types;
  for (auto& t : p->types)
    if (static_cast<unsigned>(t) > static_cast<unsigned>(token_type::byte)) t = token_type::undefined;

  // Special tokens found by their text, as llama.cpp does it.
  auto make_control = [&](token_id id) {
    if (p->types[static_cast<std::size_t>(id)] != token_type::control) {
      log::debug("tokenizer: token {} '{}' is made a control token", id, p->texts.text(id));
      p->types[static_cast<std::size_t>(id)] = token_type::control;
    }
  };
  if (v.eot == no_token) {
    for (std::string_view t : eot_texts) {
      if (token_id id = p->texts.find(t); id != no_token) {
        v.eot = id;
        make_control(id);
        break;
      }
    }
  }
  for (std::string_view t : fim_texts)
    if (token_id id = p->texts.find(t); id != no_token) make_control(id);
  for (std::string_view t : fim_eog_texts)
    if (token_id id = p->texts.find(t); id != no_token) {
      make_control(id);
      p->eog.push_back(id);
    }
  for (std::string_view t : eog_texts)
    if (token_id id = p->texts.find(t); id != no_token) {
      make_control(id);
      p->eog.push_back(id);
    }
  if (v.eos != no_token) p->eog.push_back(v.eos);
  if (v.eot != no_token) p->eog.push_back(v.eot);
  std::sort(p->eog.begin(), p->eog.end());
  p->eog.erase(std::unique(p->eog.begin(), p->eog.end()), p->eog.end());

  for (std::size_t i = 0; i < n; ++i)
    if (is_special_type(p->types[i])) p->special_tokens.push_back(static_cast<token_id>(i));
  std::stable_sort(p->special_tokens.begin(), p->special_tokens.end(), [&](token_id a, token_id b) {
    return p->texts.text(a).size() > p->texts.text(b).size();
  });

  // Pieces.
  p->piece_offsets.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string piece = make_piece(v, p->types[i], p->texts.text(static_cast<token_id>(i)));
    p->piece_data.insert(p->piece_data.end(), piece.begin(), piece.end());
    p->piece_offsets[i + 1] = p->piece_data.size();
  }

  for (int b = 0; b < 256; ++b) {
    p->byte_symbol_utf8[b].clear();
    detail::append_utf8(p->byte_symbol_utf8[b], detail::byte_to_symbol(static_cast<std::uint8_t>(b)));
    p->byte_symbol_token[b] = p->texts.find(p->byte_symbol_utf8[b]);
    const std::string hex = fmt::format("<0x{:02X}>", b);
    token_id fb = p->texts.find(hex);
    if (fb == no_token) fb = p->texts.find(std::string(1, static_cast<char>(b)));
    p->byte_fallback_token[b] = fb;
  }

  if (v.model == vocab_model::bpe) {
    p->merges.reserve(v.merges.size());
    std::string joined;
    for (std::size_t i = 0; i < v.merges.size(); ++i) {
      const std::string& m = v.merges[i];
      // llama.cpp splits at the first space after the first byte (a merge
      // can start with a space symbol in other encodings).
      const std::size_t pos = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      std::string_view left, right;
      if (pos != std::string::npos) {
        left = std::string_view(m).substr(0, pos);
        right = std::string_view(m).substr(pos + 1);
      }
      const auto rank = static_cast<std::int32_t>(std::min<std::size_t>(i, INT32_MAX));
      const token_id l = p->texts.find(left);
      const token_id r = p->texts.find(right);
      if (l != no_token && r != no_token) {
        joined.assign(left);
        joined.append(right);
        p->merges.insert(l, r, {rank, p->texts.find(joined)});
      } else {
        p->odd_merges.emplace(std::pair{std::string(left), std::string(right)}, rank);
      }
    }
  } else if (v.model == vocab_model::spm) {
    if (!v.scores.empty() && std::any_of(v.scores.begin(), v.scores.end(), [](float s) { return s != s; }))
      return fail(errc::invalid_argument, "a token score is NaN");
  }

  p->v = std::move(v);
  p->v.types = p->types;
  return tokenizer(std::move(p));
}

const vocab& tokenizer::vocabulary() const noexcept { return impl_->v; }
std::size_t tokenizer::n_tokens() const noexcept { return impl_->v.tokens.size(); }

token_id tokenizer::find(std::string_view token_text) const noexcept { return impl_->texts.find(token_text); }

token_type tokenizer::type_of(token_id id) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->types.size()) return token_type::undefined;
  return impl_->types[static_cast<std::size_t>(id)];
}

std::string_view tokenizer::text_of(token_id id) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->types.size()) return {};
  return impl_->texts.text(id);
}

bool tokenizer::is_eog(token_id id) const noexcept {
  return std::binary_search(impl_->eog.begin(), impl_->eog.end(), id);
}
std::span<const token_id> tokenizer::eog_ids() const noexcept { return impl_->eog; }
token_id tokenizer::bos() const noexcept { return impl_->v.bos; }
token_id tokenizer::eos() const noexcept { return impl_->v.eos; }
token_id tokenizer::eot() const noexcept { return impl_->v.eot; }

std::string_view tokenizer::token_to_piece(token_id id, bool special) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->types.size()) return {};
  const token_type t = impl_->types[static_cast<std::size_t>(id)];
  if (!special && (t == token_type::control || t == token_type::unknown)) return {};
  return impl_->piece(id);
}

std::vector<token_id> tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<token_id> out;
  encode(text, add_special, parse_special, out);
  return out;
}

namespace {

struct fragment {
  token_id token;  // no_token: text [offset, offset + length)
  std::size_t offset;
  std::size_t length;
};

// llama.cpp's tokenizer_st_partition: each special token in turn (longest
// first) is cut out of every text fragment, left to right.
void partition_special(const tokenizer::impl& p, std::string_view text, bool parse_special,
                       std::vector<fragment>& frags) {
  frags.clear();
  frags.push_back({no_token, 0, text.size()});
  std::vector<fragment> next;
  for (token_id id : p.special_tokens) {
    const token_type t = p.types[static_cast<std::size_t>(id)];
    if (!parse_special && (t == token_type::control || t == token_type::unknown)) continue;
    const std::string_view needle = p.texts.text(id);
    bool any = false;
    next.clear();
    for (const fragment& f : frags) {
      if (f.token != no_token) {
        next.push_back(f);
        continue;
      }
      std::size_t begin = f.offset;
      const std::size_t end = f.offset + f.length;
      while (begin < end) {
        const std::size_t at = text.substr(0, end).find(needle, begin);
        if (at == std::string_view::npos) break;
        any = true;
        if (at > begin) next.push_back({no_token, begin, at - begin});
        next.push_back({id, 0, 0});
        begin = at + needle.size();
      }
      if (begin < end) next.push_back({no_token, begin, end - begin});
    }
    if (any) frags.swap(next);
  }
}

}  // namespace

void tokenizer::encode(std::string_view text, bool add_special, bool parse_special, std::vector<token_id>& out) const {
  const impl& p = *impl_;
  std::vector<fragment> frags;
  if (!text.empty()) partition_special(p, text, parse_special, frags);

  if (add_special && p.v.add_bos) out.push_back(p.v.bos);
  if (p.v.model == vocab_model::spm) {
    // A space goes before the text at the start and after each special token.
    bool prev_special = true;
    std::string buf;
    for (const fragment& f : frags) {
      if (f.token != no_token) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      buf.clear();
      if (p.v.add_space_prefix && prev_special) buf.push_back(' ');
      buf.append(text.substr(f.offset, f.length));
      p.encode_spm(buf, out);
      prev_special = false;
    }
  } else {
    for (const fragment& f : frags) {
      if (f.token != no_token) out.push_back(f.token);
      else p.encode_bpe(text.substr(f.offset, f.length), out);
    }
  }
  if (add_special && p.v.add_eos) out.push_back(p.v.eos);
}

std::string tokenizer::decode(std::span<const token_id> ids, bool remove_special, bool unparse_special) const {
  const impl& p = *impl_;
  bool strip_space = p.v.add_space_prefix;
  if (remove_special && p.v.add_bos && !ids.empty() && ids.front() == p.v.bos) {
    strip_space = false;
    ids = ids.subspan(1);
  }
  if (remove_special && p.v.add_eos && !ids.empty() && ids.back() == p.v.eos) ids = ids.first(ids.size() - 1);

  std::string text;
  for (token_id id : ids) {
    std::string_view piece = token_to_piece(id, unparse_special);
    if (strip_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    strip_space = false;
    text.append(piece);
  }
  if (!p.v.clean_spaces || text.empty()) return text;

  // llama.cpp's clean-up (Hugging Face's clean_up_tokenization_spaces), in
  // place and in three passes as it does them, since each pass reads bytes an
  // earlier step of the same pass may have blanked: " ?" " !" " ." " ,"
  // lose their space; " ' " becomes "'"; " 's" " 'm" " 're" " 've" lose their space.
  std::size_t total = text.size();
  {
    const std::size_t n1 = total;
    total = 1;
    for (std::size_t i = 1; i < n1; ++i) {
      const char x = text[i];
      if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
      text[total++] = x;
    }
  }
  {
    const std::size_t n2 = total;
    total = 1;
    for (std::size_t i = 1; i < n2; ++i) {
      const char x = text[i];
      if (x == '\'' && i + 1 < n2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
        --total;
        text[++i] = '\0';
      }
      text[total++] = x;
    }
  }
  {
    const std::size_t n3 = total;
    total = 1;
    for (std::size_t i = 1; i < n3; ++i) {
      const char x = text[i];
      if (text[i - 1] == ' ' && x == '\'' && i + 1 < n3) {
        const char x1 = text[i + 1];
        if (x1 == 's' || x1 == 'm') {
          --total;
        } else if (i + 2 < n3) {
          const char x2 = text[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
        }
      }
      text[total++] = x;
    }
  }
  text.resize(total);
  return text;
}

}  // namespace tern::engine
