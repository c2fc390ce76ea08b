#include <tern/core/clock.hpp>
#include <tern/engine/generator.hpp>

#include <fmt/format.h>

#include <algorithm>

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

}  // namespace

result<generation> generate(session& s, const tokenizer& tok, std::span<const std::int32_t> prompt,
                            const generate_options& options, const text_callback& on_text) {
  if (prompt.empty()) return fail(errc::invalid_argument, "generate() needs at least one prompt token");
  if (static_cast<std::int64_t>(prompt.size()) > s.n_ctx())
    return fail(errc::limit_exceeded,
                fmt::format("prompt of {} tokens does not fit the context of {}", prompt.size(), s.n_ctx()));

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
  auto emit = [&](bool final) {
    std::size_t upto = out.text.size();
    if (!final) upto -= possible_stop_prefix(out.text, options.stop);
    if (upto > emitted && on_text && !on_text(std::string_view(out.text).substr(emitted, upto - emitted)))
      return false;
    emitted = std::max(emitted, upto);
    return true;
  };

  out.reason = stop_reason::max_tokens;
  for (int i = 0; i < options.max_tokens; ++i) {
    const std::int32_t next = smp.sample(logits, history);
    if (options.stop_at_end_of_generation && tok.is_eog(next)) {
      out.reason = stop_reason::end_of_generation;
      break;
    }
    out.tokens.push_back(next);
    history.push_back(next);
    out.text += detok.push(next);
    if (const auto at = find_stop(out.text, options.stop); at != std::string::npos) {
      out.text.resize(at);
      out.reason = stop_reason::stop_string;
      break;
    }
    if (!emit(false)) {
      out.reason = stop_reason::cancelled;
      break;
    }
    if (i + 1 == options.max_tokens) break;  // no need to evaluate a token nobody will sample from
    if (s.n_past() >= s.n_ctx()) {
      out.reason = stop_reason::context_full;
      break;
    }
    TERN_TRY(logits, s.eval({&next, 1}));
  }
  if (out.reason != stop_reason::stop_string && out.reason != stop_reason::cancelled) out.text += detok.flush();
  if (out.reason != stop_reason::cancelled) emit(true);
  out.stats.n_generated = static_cast<std::int64_t>(out.tokens.size());
  out.stats.decode_ms = decode.elapsed_ms();
  return out;
}

}  // namespace tern::engine
