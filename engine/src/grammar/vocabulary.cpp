// Token vocabularies for masks: from byte strings, or read from a GGUF file's
// tokenizer metadata. The GGUF reading here covers only the key-value section
// (GGUF v2/v3 layout: magic, version, tensor count, kv count, then typed
// key-values) and stops before the tensor infos.
#include "grammar/token_index.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

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
  return std::make_shared<const token_vocabulary>(std::move(p));
}

namespace {

class gguf_kv_reader {
 public:
  gguf_kv_reader(std::string data, std::string name) : d_(std::move(data)), name_(std::move(name)) {}

  tern::error err(std::string msg) const {
    return tern::error(errc::parse_error, std::move(msg)).at(fmt::format("byte {}", pos_)).at(name_);
  }
  template <class T>
  result<T> get() {
    if (d_.size() - pos_ < sizeof(T)) return err("unexpected end of file");
    T v;
    std::memcpy(&v, d_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  result<std::string_view> str() {
    TERN_TRY(uint64_t n, get<uint64_t>());
    if (n > d_.size() - pos_) return err("string extends past the end of the file");
    std::string_view s(d_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  static size_t scalar_size(uint32_t type) {
    static const std::array<size_t, 13> sz = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < sz.size() ? sz[type] : 0;
  }
  result<void> skip(uint32_t type) {
    if (type == 8) {
      TERN_TRY(auto s, str());
      (void)s;
      return ok();
    }
    if (type == 9) {
      TERN_TRY(uint32_t et, get<uint32_t>());
      TERN_TRY(uint64_t n, get<uint64_t>());
      if (et == 8 || et == 9) {
        for (uint64_t i = 0; i < n; ++i) TERN_CHECK(skip(et));
        return ok();
      }
      size_t sz = scalar_size(et);
      if (sz == 0) return err(fmt::format("unknown array element type {}", et));
      if (n > (d_.size() - pos_) / sz) return err("array extends past the end of the file");
      pos_ += n * sz;
      return ok();
    }
    size_t sz = scalar_size(type);
    if (sz == 0) return err(fmt::format("unknown value type {}", type));
    if (d_.size() - pos_ < sz) return err("unexpected end of file");
    pos_ += sz;
    return ok();
  }
  result<uint64_t> uint_value(uint32_t type) {
    switch (type) {
      case 4: { TERN_TRY(uint32_t v, get<uint32_t>()); return uint64_t(v); }
      case 5: { TERN_TRY(int32_t v, get<int32_t>()); return uint64_t(v); }
      case 10: { TERN_TRY(uint64_t v, get<uint64_t>()); return v; }
      case 11: { TERN_TRY(int64_t v, get<int64_t>()); return uint64_t(v); }
      default: return err(fmt::format("expected an integer, found type {}", type));
    }
  }

  size_t pos_ = 0;
  std::string d_;
  std::string name_;
};

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
  if (s.size() == 6 && s.substr(0, 3) == "<0x" && s[5] == '>') {
    return std::string(1, char(std::stoi(std::string(s.substr(3, 2)), nullptr, 16)));
  }
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
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(errc::io_error, "cannot open file").at(path.string());
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(errc::io_error, ec.message()).at(path.string());
  std::string data(size, '\0');
  if (!f.read(data.data(), std::streamsize(size))) return fail(errc::io_error, "cannot read file").at(path.string());
  gguf_kv_reader r(std::move(data), path.string());
  TERN_TRY(uint32_t magic, r.get<uint32_t>());
  if (magic != 0x46554747u) return r.err("not a GGUF file (bad magic)");
  TERN_TRY(uint32_t version, r.get<uint32_t>());
  if (version < 2 || version > 3) return r.err(fmt::format("GGUF version {} is not supported", version));
  TERN_TRY(uint64_t n_tensors, r.get<uint64_t>());
  (void)n_tensors;
  TERN_TRY(uint64_t n_kv, r.get<uint64_t>());
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<int32_t> eos;
  std::string model = "gpt2";
  bool have_tokens = false;
  for (uint64_t i = 0; i < n_kv; ++i) {
    TERN_TRY(std::string_view key, r.str());
    TERN_TRY(uint32_t type, r.get<uint32_t>());
    if (key == "tokenizer.ggml.tokens" && type == 9) {
      TERN_TRY(uint32_t et, r.get<uint32_t>());
      TERN_TRY(uint64_t n, r.get<uint64_t>());
      if (et != 8) return r.err("tokenizer.ggml.tokens is not a string array");
      if (n > (r.d_.size() - r.pos_) / 8) return r.err("tokenizer.ggml.tokens: count exceeds the file");
      tokens.reserve(n);
      for (uint64_t k = 0; k < n; ++k) {
        TERN_TRY(std::string_view s, r.str());
        tokens.emplace_back(s);
      }
      have_tokens = true;
    } else if (key == "tokenizer.ggml.token_type" && type == 9) {
      TERN_TRY(uint32_t et, r.get<uint32_t>());
      TERN_TRY(uint64_t n, r.get<uint64_t>());
      if (et != 5 && et != 4) return r.err("tokenizer.ggml.token_type is not an int32 array");
      if (n > (r.d_.size() - r.pos_) / 4) return r.err("tokenizer.ggml.token_type: count exceeds the file");
      types.reserve(n);
      for (uint64_t k = 0; k < n; ++k) {
        TERN_TRY(int32_t t, r.get<int32_t>());
        types.push_back(t);
      }
    } else if ((key == "tokenizer.ggml.eos_token_id" || key == "tokenizer.ggml.eot_token_id") && type != 9 && type != 8) {
      TERN_TRY(uint64_t v, r.uint_value(type));
      eos.push_back(int32_t(v));
    } else if (key == "tokenizer.ggml.model" && type == 8) {
      TERN_TRY(std::string_view m, r.str());
      model = std::string(m);
    } else {
      TERN_CHECK(r.skip(type));
    }
  }
  if (!have_tokens) return fail(errc::not_found, "no tokenizer.ggml.tokens").at(path.string());
  if (!types.empty() && types.size() != tokens.size())
    return fail(errc::parse_error, "tokenizer.ggml.token_type and tokens differ in count").at(path.string());
  std::vector<std::string> bytes(tokens.size());
  std::vector<uint8_t> special(tokens.size(), 0);
  for (size_t i = 0; i < tokens.size(); ++i) {
    int32_t t = types.empty() ? 1 : types[i];
    // 1 normal, 6 byte; control (3), unknown (2), user-defined (4), unused (5) never appear in
    // documents as text. Control and user-defined tokens keep their text (stored verbatim, not
    // byte-encoded), so a grammar literal of exactly that text can be matched by the token.
    if (t != 1 && t != 6) {
      special[i] = 1;
      if (t == 3 || t == 4) bytes[i] = tokens[i];
      continue;
    }
    if (model == "llama") {
      bytes[i] = decode_spm(tokens[i]);
    } else if (!decode_gpt2(tokens[i], bytes[i])) {
      special[i] = 1;
    }
  }
  std::sort(eos.begin(), eos.end());
  eos.erase(std::unique(eos.begin(), eos.end()), eos.end());
  std::erase_if(eos, [&](int32_t e) { return e < 0 || size_t(e) >= tokens.size(); });
  auto v = make_token_vocabulary(std::move(bytes), std::move(special), std::move(eos));
  if (!v) return std::move(v).error().at(path.string());
  return v;
}

}  // namespace tern::engine
