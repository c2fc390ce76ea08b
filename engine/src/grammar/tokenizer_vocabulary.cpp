// token_vocabulary from a loaded tokenizer: the mask side of constrained
// decoding sees exactly the bytes the detokenizer will print.
#include <tern/engine/grammar.hpp>
#include <tern/engine/tokenizer.hpp>

#include <fmt/format.h>

namespace tern::engine {

result<std::shared_ptr<const token_vocabulary>> make_token_vocabulary(const tokenizer& tok) {
  const std::size_t n = tok.n_tokens();
  if (n == 0) return fail(errc::invalid_argument, "token vocabulary: the tokenizer has no tokens");
  std::vector<std::string> bytes(n);
  std::vector<std::uint8_t> special(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = static_cast<token_id>(i);
    const token_type t = tok.type_of(id);
    // As load_token_vocabulary: only normal and byte tokens spell document text;
    // control, user-defined, unknown and unused tokens never appear inside one.
    if (t != token_type::normal && t != token_type::byte) {
      special[i] = 1;
      // Their text lets a grammar literal of exactly that text (<tool_call>) be matched by the token.
      if (t == token_type::control || t == token_type::user_defined) bytes[i] = std::string(tok.text_of(id));
      continue;
    }
    const std::string_view piece = tok.token_to_piece(id, false);
    if (piece.empty()) {  // nothing to spell: could never advance a document
      special[i] = 1;
      continue;
    }
    bytes[i] = std::string(piece);
  }
  const auto eog = tok.eog_ids();
  std::vector<std::int32_t> eos(eog.begin(), eog.end());
  std::erase_if(eos, [&](std::int32_t e) { return e < 0 || static_cast<std::size_t>(e) >= n; });
  return make_token_vocabulary(std::move(bytes), std::move(special), std::move(eos));
}

}  // namespace tern::engine
