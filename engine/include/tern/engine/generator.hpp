// The generation loop: prompt -> tokens -> text, streaming.
//
//   tern::engine::session s(model, 4096);
//   auto out = tern::engine::generate(s, tok, prompt_ids, {.max_tokens = 64},
//                                     [](std::string_view piece) { std::cout << piece; return true; });
//
// Prefix reuse: when the session already holds a prefix of the prompt (the
// previous turn of a conversation), only the new tokens are evaluated, so an
// agent's cost per step grows with what each step adds, not with the whole
// conversation. Text is streamed through a detokenizer, so a piece never ends
// inside a UTF-8 sequence.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/sampler.hpp>
#include <tern/engine/session.hpp>
#include <tern/engine/tokenizer.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine {

enum class stop_reason {
  end_of_generation,  // the model produced an end-of-generation token (not included in the text)
  max_tokens,         // the token budget ran out
  stop_string,        // a stop string appeared (the text is cut before it)
  cancelled,          // the text callback returned false
  context_full,       // the session's context has no room for another token
};
std::string_view to_string(stop_reason reason) noexcept;

struct generate_options {
  int max_tokens = 256;                // tokens to generate at most
  sampling_params sampling;            // greedy by default
  std::vector<std::string> stop;       // stop strings (not included in the output)
  bool stop_at_end_of_generation = true;
};

struct generate_stats {
  std::int64_t n_prompt = 0;       // prompt tokens
  std::int64_t n_prompt_reused = 0;  // of which were already in the session (prefix reuse)
  std::int64_t n_generated = 0;
  double prefill_ms = 0;           // evaluating the prompt's new tokens
  double decode_ms = 0;            // generating (sampling and evaluating) the output
};

struct generation {
  std::vector<std::int32_t> tokens;  // generated ids, end-of-generation token excluded
  std::string text;                  // their text (cut before a stop string)
  stop_reason reason = stop_reason::max_tokens;
  generate_stats stats;
};

// Called with each new piece of text; return false to stop (stop_reason::cancelled).
using text_callback = std::function<bool(std::string_view piece)>;

// Generates a continuation of prompt. Errors: an empty prompt, a prompt longer
// than the session's context, or an eval error (token id out of range).
result<generation> generate(session& s, const tokenizer& tok, std::span<const std::int32_t> prompt,
                            const generate_options& options, const text_callback& on_text = {});

}  // namespace tern::engine
