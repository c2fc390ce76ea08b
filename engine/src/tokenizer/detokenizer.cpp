#include "unicode.hpp"

#include <tern/engine/tokenizer.hpp>

namespace tern::engine {

namespace {
constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
}

detokenizer::detokenizer(const tokenizer& tok, bool render_special) : tok_(&tok), render_special_(render_special) {}

std::string_view detokenizer::push(token_id id) { return push_bytes(tok_->token_to_piece(id, render_special_)); }

std::string_view detokenizer::push_bytes(std::string_view bytes) {
  pending_.append(bytes);
  return drain(false);
}

// Moves the valid part of pending_ to out_. An invalid byte becomes U+FFFD; a
// valid but unfinished sequence at the end waits for more bytes (or, when
// `final`, becomes U+FFFD).
std::string_view detokenizer::drain(bool final) {
  out_.clear();
  std::size_t pos = 0;
  while (pos < pending_.size()) {
    bool incomplete = false;
    const std::size_t n = detail::valid_utf8_prefix(std::string_view(pending_).substr(pos), &incomplete);
    out_.append(pending_, pos, n);
    pos += n;
    if (pos == pending_.size()) break;
    if (incomplete) {
      if (!final) break;
      out_.append(replacement);
      pos = pending_.size();
      break;
    }
    // A maximal invalid subpart: the lead byte and the continuation bytes that
    // were still acceptable after it are replaced together (Unicode 3.9, U+FFFD
    // substitution of maximal subparts).
    std::size_t bad = 1;
    const auto lead = static_cast<unsigned char>(pending_[pos]);
    std::size_t need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead <= 0xDF ? 2 : 1;
    while (bad < need && pos + bad < pending_.size()) {
      // Extend while the prefix stays a valid start (checked by validating it
      // as an unfinished sequence).
      bool inc = false;
      const std::size_t ok = detail::valid_utf8_prefix(std::string_view(pending_).substr(pos, bad + 1), &inc);
      if (ok != 0 || !inc) break;
      ++bad;
    }
    out_.append(replacement);
    pos += bad;
  }
  pending_.erase(0, pos);
  return out_;
}

std::string detokenizer::flush() {
  std::string rest(drain(true));
  reset();
  return rest;
}

void detokenizer::reset() {
  pending_.clear();
  out_.clear();
}

}  // namespace tern::engine
