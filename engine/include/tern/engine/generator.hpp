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
//
// Constrained generation: with options.constraint set (grammar.hpp,
// make_constraint), only tokens that keep the answer a prefix of a document of
// the grammar can be chosen, and the answer is never truncated: the token
// budget (max_tokens, limited by the context's room, less what the thought
// used) is the matcher's budget, so near the end only tokens that can still
// finish in time are allowed. A budget too small for the shortest document is
// an error before any token is evaluated. When the document is complete and
// nothing more can follow, or the model picks EOS while it is complete,
// generation stops with stop_reason::grammar_complete. Never an unconstrained
// fallback. A mask is computed only when the sampler's proposal is refused
// (exact for greedy and plain temperature sampling; see docs/grammar.md).
//
//   generate_options o{.max_tokens = 200};
//   o.constraint = tern::engine::make_constraint(grammar, vocabulary);  // cache per schema and model
//   o.reasoning = {.enabled = true, .opened_by_prompt = true, .max_thinking_tokens = 512};
//   TERN_TRY(auto g, tern::engine::generate(s, tok, prompt, o));
//   // g.reasoning: the thought (without <think>/</think>); g.text: the document
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/sampler.hpp>
#include <tern/engine/session.hpp>
#include <tern/engine/tokenizer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
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
  grammar_complete,   // constrained: the document is complete (the model chose EOS, nothing can
                      // follow, or the budget ended exactly there)
};
std::string_view to_string(stop_reason reason) noexcept;

// Free thought text before the answer (reasoning models: Qwen3, DeepSeek-R1).
// The thought ends at the first occurrence of `close` in the generated text
// (matched on text, so `close` may be one special token such as Qwen3's
// </think> or several ordinary tokens). With a constraint, only the answer
// after `close` is constrained. When the prompt does not end with `open`,
// generate() forces `open` first (its tokens, special ones included). If the
// thought has not closed when the thinking budget (or the whole budget less
// what the constrained answer needs) runs out, `close` is forced.
struct reasoning_options {
  bool enabled = false;            // output starts with free thought text, closed by `close`
  bool opened_by_prompt = false;   // the prompt already ends with `open` (Qwen3 / DeepSeek-R1 templates)
  int max_thinking_tokens = -1;    // -1: no separate budget; on reaching it `close` is forced (budget forcing, s1 paper)
  std::string open = "<think>", close = "</think>";
};

struct generate_options {
  int max_tokens = 256;                // tokens to generate at most (thought and answer together)
  sampling_params sampling;            // greedy by default
  std::vector<std::string> stop;       // stop strings (not included in the output); not applied to a constrained answer
  bool stop_at_end_of_generation = true;
  // null: unconstrained. The answer (after the thought) must match it. Shared,
  // immutable; build it once per (grammar, model) and reuse it.
  std::shared_ptr<const tern::engine::constraint> constraint;
  reasoning_options reasoning;
};

struct generate_stats {
  std::int64_t n_prompt = 0;       // prompt tokens
  std::int64_t n_prompt_reused = 0;  // of which were already in the session (prefix reuse)
  std::int64_t n_generated = 0;
  std::int64_t n_forced = 0;       // constrained: tokens the grammar forced (no sampling)
  std::int64_t n_masks = 0;        // constrained: full token masks computed
  double prefill_ms = 0;           // evaluating the prompt's new tokens
  double decode_ms = 0;            // generating (sampling and evaluating) the output
};

struct generation {
  std::vector<std::int32_t> tokens;  // generated ids (thought included), end-of-generation token excluded
  std::string text;                  // the answer's text (cut before a stop string); without the thought
  stop_reason reason = stop_reason::max_tokens;
  generate_stats stats;
  std::string reasoning;               // reasoning.enabled: the thought, without `open`/`close` and the
                                       // whitespace around it
  std::int64_t n_thinking_tokens = 0;  // tokens of the thought, `close` included
};

// Called with each new piece of text; return false to stop (stop_reason::cancelled).
using text_callback = std::function<bool(std::string_view piece)>;

// Generates a continuation of prompt. Errors: an empty prompt, a prompt longer
// than the session's context, or an eval error (token id out of range).
// Constrained: limit_exceeded when max_tokens (after the thinking budget) cannot
// hold the shortest document, or the context cannot; invalid_argument when the
// constraint's vocabulary is not the tokenizer's size. Streaming: on_text
// receives the answer only (the thought is not streamed).
result<generation> generate(session& s, const tokenizer& tok, std::span<const std::int32_t> prompt,
                            const generate_options& options, const text_callback& on_text = {});

}  // namespace tern::engine
