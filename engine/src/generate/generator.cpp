// The generation loop. One pass per token: choose (sample, or take a forced
// token), append, stream, evaluate. A generation has up to two phases: a free
// thought (reasoning models) closed by a text marker, then the answer, which a
// grammar may constrain.
#include "generate/constrained_picker.hpp"

#include <tern/core/clock.hpp>
#include <tern/engine/generator.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <optional>

namespace tern::engine {

std::string_view to_string(stop_reason reason) noexcept {
  switch (reason) {
    case stop_reason::end_of_generation: return "end_of_generation";
    case stop_reason::max_tokens: return "max_tokens";
    case stop_reason::stop_string: return "stop_string";
    case stop_reason::cancelled: return "cancelled";
    case stop_reason::context_full: return "context_full";
    case stop_reason::grammar_complete: return "grammar_complete";
  }
  return "unknown";
}

namespace {

// Where the earliest stop string starts in text, or npos.
std::size_t find_stop(std::string_view text, const std::vector<std::string>& stops) {
  std::size_t best = std::string_view::npos;
  for (const auto& s : stops)
    if (!s.empty()) best = std::min(best, text.find(s));
  return best;
}

// How many bytes at the end of text could be the start of a stop string; those
// are held back from the callback until we know.
std::size_t possible_stop_prefix(std::string_view text, const std::vector<std::string>& stops) {
  std::size_t hold = 0;
  for (const auto& s : stops)
    for (std::size_t n = std::min(s.size() - (s.empty() ? 0 : 1), text.size()); n > hold; --n)
      if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
        hold = n;
        break;
      }
  return hold;
}

// What the loop must know before the first token: the effective budget, the
// marker tokens, and for a constraint the shortest answer, so that a budget that
// cannot hold a document is refused before any evaluation.
struct plan {
  std::int64_t budget = 0;            // tokens this call may append (max_tokens, limited by the context)
  std::vector<token_id> open_ids;     // forced at the start when the prompt does not open the thought
  std::vector<token_id> close_ids;    // forced when the thought runs out of budget
  std::int64_t answer_min = 0;        // constrained: fewest tokens of a complete document
};

result<plan> make_plan(const session& s, const tokenizer& tok, std::size_t n_prompt, const generate_options& o) {
  plan p;
  // Evaluating the last generated token is never needed, so the context holds
  // n_ctx - n_prompt + 1 generated tokens.
  p.budget = std::min<std::int64_t>(std::max(o.max_tokens, 0), s.n_ctx() - static_cast<std::int64_t>(n_prompt) + 1);
  const auto& r = o.reasoning;
  if (r.enabled) {
    if (r.close.empty()) return fail(errc::invalid_argument, "reasoning: the close marker is empty");
    if (!r.opened_by_prompt) {
      if (r.open.empty()) return fail(errc::invalid_argument, "reasoning: the open marker is empty");
      p.open_ids = tok.encode(r.open, false, true);
    }
    p.close_ids = tok.encode(r.close, false, true);
    if (p.close_ids.empty())
      return fail(errc::invalid_argument, fmt::format("reasoning: the close marker '{}' has no tokens", r.close));
  }
  if (!o.constraint) return p;

  const std::int64_t reserve = static_cast<std::int64_t>(p.open_ids.size() + p.close_ids.size());
  TERN_TRY(p.answer_min, shortest_answer(o.constraint, tok, std::max<std::int64_t>(p.budget - reserve, 0)));
  if (reserve + p.answer_min > p.budget) {
    const std::string what = p.budget < o.max_tokens
                                 ? fmt::format("the context's room of {} tokens", p.budget)
                                 : fmt::format("max_tokens {}", o.max_tokens);
    return fail(errc::limit_exceeded,
                fmt::format("constrained generation: {} cannot hold the shortest valid document ({} tokens at one "
                            "byte each{})",
                            what, p.answer_min, reserve ? fmt::format(", plus {} for the thought's markers", reserve) : ""));
  }
  return p;
}

}  // namespace

result<generation> generate(session& s, const tokenizer& tok, std::span<const std::int32_t> prompt,
                            const generate_options& options, const text_callback& on_text) {
  if (prompt.empty()) return fail(errc::invalid_argument, "generate() needs at least one prompt token");
  if (static_cast<std::int64_t>(prompt.size()) > s.n_ctx())
    return fail(errc::limit_exceeded,
                fmt::format("prompt of {} tokens does not fit the context of {}", prompt.size(), s.n_ctx()));
  TERN_TRY(plan p, make_plan(s, tok, prompt.size(), options));

  generation out;
  out.stats.n_prompt = static_cast<std::int64_t>(prompt.size());

  // Prefix reuse: keep what the session shares with the prompt; at least one
  // token must be evaluated to get logits.
  const auto& cached = s.tokens();
  std::size_t common = 0;
  while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
  common = std::min(common, prompt.size() - 1);
  s.truncate(static_cast<std::int64_t>(common));
  out.stats.n_prompt_reused = static_cast<std::int64_t>(common);

  stopwatch prefill;
  TERN_TRY(auto logits, s.eval(prompt.subspan(common)));
  out.stats.prefill_ms = prefill.elapsed_ms();

  stopwatch decode;
  sampler smp(options.sampling);
  detokenizer detok(tok);
  std::vector<std::int32_t> history(prompt.begin(), prompt.end());
  std::size_t emitted = 0;  // bytes of out.text already passed to on_text
  const bool use_stops = !options.constraint;
  auto emit = [&](bool final) {
    std::size_t upto = out.text.size();
    if (!final && use_stops) upto -= possible_stop_prefix(out.text, options.stop);
    if (upto > emitted && on_text && !on_text(std::string_view(out.text).substr(emitted, upto - emitted)))
      return false;
    emitted = std::max(emitted, upto);
    return true;
  };

  const auto& rs = options.reasoning;
  bool thinking = rs.enabled;
  std::deque<token_id> forced(p.open_ids.begin(), p.open_ids.end());
  std::size_t open_left = p.open_ids.size();  // forced open tokens not yet appended (not part of the thought)
  std::string thought;                        // the thought's bytes, special tokens as their text
  std::int64_t n_thought_sampled = 0;
  bool closing = false;                       // close tokens are queued
  std::optional<constrained_picker> picker;
  auto start_answer = [&]() -> result<void> {
    thinking = false;
    if (!options.constraint) return ok();
    const std::int64_t left = p.budget - static_cast<std::int64_t>(out.tokens.size());
    TERN_TRY(auto cp, constrained_picker::create(options.constraint, tok, left));
    picker.emplace(std::move(cp));
    return ok();
  };
  if (!thinking) TERN_CHECK(start_answer());

  out.reason = stop_reason::max_tokens;
  while (static_cast<std::int64_t>(out.tokens.size()) < p.budget) {
    const auto n_out = static_cast<std::int64_t>(out.tokens.size());
    token_id next = no_token;
    if (thinking && forced.empty() && !closing) {
      // Budget forcing: close the thought when its own budget is spent, or when
      // the answer would no longer fit in what is left.
      const bool own_budget = rs.max_thinking_tokens >= 0 && n_thought_sampled >= rs.max_thinking_tokens;
      const bool room = !options.constraint ||
                        n_out + 1 + static_cast<std::int64_t>(p.close_ids.size()) + p.answer_min <= p.budget;
      if (own_budget || !room) {
        forced.assign(p.close_ids.begin(), p.close_ids.end());
        closing = true;
      }
    }
    if (!forced.empty()) {
      next = forced.front();
      forced.pop_front();
    } else if (thinking) {
      next = smp.sample(logits, history);
      if (tok.is_eog(next)) {
        if (options.constraint) {  // the answer is still owed: end the thought instead
          forced.assign(p.close_ids.begin(), p.close_ids.end());
          closing = true;
          continue;
        }
        if (options.stop_at_end_of_generation) {
          out.reason = stop_reason::end_of_generation;
          break;
        }
      }
      ++n_thought_sampled;
    } else if (picker) {
      TERN_TRY(next, picker->pick(smp, logits, history, out.stats));
      if (picker->ended()) {  // EOS with the document complete
        out.reason = stop_reason::grammar_complete;
        break;
      }
    } else {
      next = smp.sample(logits, history);
      if (options.stop_at_end_of_generation && tok.is_eog(next)) {
        out.reason = stop_reason::end_of_generation;
        break;
      }
    }

    out.tokens.push_back(next);
    history.push_back(next);
    bool stop = false;
    if (thinking) {
      ++out.n_thinking_tokens;
      if (open_left > 0) {
        --open_left;
      } else {
        thought += tok.token_to_piece(next, true);
        if (const auto at = thought.find(rs.close); at != std::string::npos) {
          out.reasoning = thought.substr(0, at);
          const std::string rest = thought.substr(at + rs.close.size());
          forced.clear();
          TERN_CHECK(start_answer());
          // Text after the marker in the same token (a "</think>\n\n" token)
          // starts a free answer; a constrained answer starts at the grammar's
          // first token, so there it is dropped (it stays in `tokens`).
          if (!picker && !rest.empty()) out.text += detok.push_bytes(rest);
        }
      }
    } else {
      out.text += detok.push(next);
      if (picker && picker->finished()) {
        out.reason = stop_reason::grammar_complete;
        stop = true;
      }
    }
    if (!thinking && use_stops) {
      if (const auto at = find_stop(out.text, options.stop); at != std::string::npos) {
        out.text.resize(at);
        out.reason = stop_reason::stop_string;
        break;
      }
    }
    if (!emit(false)) {
      out.reason = stop_reason::cancelled;
      break;
    }
    if (stop) break;
    if (static_cast<std::int64_t>(out.tokens.size()) == p.budget) break;  // nobody will sample from the next logits
    if (s.n_past() >= s.n_ctx()) {
      out.reason = stop_reason::context_full;
      break;
    }
    TERN_TRY(logits, s.eval({&next, 1}));
  }
  // The matcher's budget ends only in a complete document.
  if (out.reason == stop_reason::max_tokens && picker && picker->complete()) out.reason = stop_reason::grammar_complete;
  if (thinking && out.reasoning.empty()) out.reasoning = thought;  // the thought never closed
  if (out.reason != stop_reason::stop_string && out.reason != stop_reason::cancelled) out.text += detok.flush();
  if (out.reason != stop_reason::cancelled) emit(true);
  out.stats.n_generated = static_cast<std::int64_t>(out.tokens.size());
  out.stats.decode_ms = decode.elapsed_ms();
  return out;
}

}  // namespace tern::engine
