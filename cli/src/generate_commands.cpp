// `tern generate -m MODEL.gguf -p TEXT [-n N] [--temp T] [--seed S]`: streams a
// continuation of TEXT to stdout as it is produced. Only the generated text
// goes to stdout (pipe-friendly); --stats prints timings to stderr.
//
// `--json-schema FILE` / `--grammar FILE`: the output is constrained to a
// document of that JSON Schema / grammar text (docs/grammar.md), and stdout is
// exactly that document: no echoed prompt, no trailing newline, nothing else.
// A schema that does not compile, or -n too small for the shortest document,
// is an error (exit 1, message on stderr) before anything is generated.
// `--think-budget N`: reasoning models; the output starts with a thought
// (<think> ... </think>, forced open unless the prompt ends with <think>) of at
// most N tokens, printed to stderr; stdout gets the answer only.
#include "command_registry.hpp"

#include <tern/engine/generator.hpp>
#include <tern/engine/model.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace {

struct generate_cli_options {
  std::string model;
  std::string prompt;
  int n_predict = 128;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;
  std::uint64_t seed = 0;
  int threads = 0;
  int ctx = 0;
  bool no_special = false;
  bool parse_special = false;
  bool echo = false;
  bool stats = false;
  bool reference = false;
  std::vector<std::string> stop;
  std::string json_schema;  // file
  std::string grammar;      // file
  int think_budget = -2;    // -2: no reasoning phase; -1: reasoning without a budget
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The constraint for --json-schema / --grammar, or null without them.
tern::result<std::shared_ptr<const tern::engine::constraint>> load_constraint(const generate_cli_options& o,
                                                                              const tern::engine::tokenizer& tok) {
  using namespace tern::engine;
  if (o.json_schema.empty() && o.grammar.empty()) return std::shared_ptr<const constraint>();
  const std::string& path = o.json_schema.empty() ? o.grammar : o.json_schema;
  auto text = read_file(path);
  if (!text) return tern::fail(tern::errc::io_error, "cannot read file").at(path);
  auto g = o.json_schema.empty() ? compile_grammar_text(*text) : compile_json_schema(*text);
  if (!g) return std::move(g).error().at(path);
  TERN_TRY(auto vocab, make_token_vocabulary(tok));
  return make_constraint(*g, vocab);
}

bool ends_with_open(std::string_view prompt, std::string_view open) {
  while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == ' ' || prompt.back() == '\r')) prompt.remove_suffix(1);
  return prompt.ends_with(open);
}

int run_generate(const generate_cli_options& o) {
  using namespace tern::engine;
  auto m = model::load(o.model, {.n_threads = o.threads});
  if (!m) {
    fmt::print(stderr, "error: {}\n", m.error().describe());
    return 1;
  }
  const tokenizer* tok = (*m)->vocab();
  if (!tok) {
    fmt::print(stderr, "error: {}: the model has no tokenizer (no tokenizer.ggml.* keys)\n", o.model);
    return 1;
  }
  const auto prompt = tok->encode(o.prompt, !o.no_special, o.parse_special);
  if (prompt.empty()) {
    fmt::print(stderr, "error: the prompt is empty and the model adds no BOS token; give a prompt\n");
    return 1;
  }
  const std::int64_t n_ctx = o.ctx > 0 ? o.ctx : std::min<std::int64_t>((*m)->params().n_ctx_train, 4096);
  session s(*m, n_ctx, o.reference ? compute_path::reference : compute_path::fast);
  auto constraint = load_constraint(o, *tok);
  if (!constraint) {
    fmt::print(stderr, "error: {}\n", constraint.error().describe());
    return 1;
  }
  const bool document = *constraint != nullptr;  // stdout is exactly the document
  if (o.echo && !document) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  generate_options g;
  g.max_tokens = o.n_predict;
  g.stop = o.stop;
  g.sampling = {.temperature = o.temperature,
                .top_k = o.top_k,
                .top_p = o.top_p,
                .min_p = o.min_p,
                .repetition_penalty = o.repeat_penalty,
                .presence_penalty = o.presence_penalty,
                .seed = o.seed};
  g.constraint = *constraint;
  if (o.think_budget >= -1) {
    g.reasoning.enabled = true;
    g.reasoning.max_thinking_tokens = o.think_budget;
    g.reasoning.opened_by_prompt = ends_with_open(o.prompt, g.reasoning.open);
  }
  auto out = generate(s, *tok, prompt, g, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!out) {
    fmt::print(stderr, "{}error: {}\n", document ? "" : "\n", out.error().describe());
    return 1;
  }
  if (!document) std::fputc('\n', stdout);
  std::fflush(stdout);
  if (g.reasoning.enabled) fmt::print(stderr, "thought ({} tokens): {}\n", out->n_thinking_tokens, out->reasoning);
  if (o.stats) {
    const auto& st = out->stats;
    fmt::print(stderr, "prompt: {} tokens in {:.1f} ms ({:.1f} tok/s); generated: {} tokens in {:.1f} ms ({:.1f} tok/s); stop: {}\n",
               st.n_prompt, st.prefill_ms, st.prefill_ms > 0 ? 1000.0 * double(st.n_prompt - st.n_prompt_reused) / st.prefill_ms : 0.0,
               st.n_generated, st.decode_ms, st.decode_ms > 0 ? 1000.0 * double(st.n_generated) / st.decode_ms : 0.0,
               to_string(out->reason));
  }
  return 0;
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto o = std::make_shared<generate_cli_options>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a local GGUF model, streamed to stdout");
  cmd->add_option("-m,--model", o->model, "GGUF model file")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (BOS is added when the model asks for it)");
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate at most")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--temp", o->temperature, "Temperature; 0 = greedy (default)");
  cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens; 0 = off");
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling threshold; 1 = off");
  cmd->add_option("--min-p", o->min_p, "Drop tokens below min-p times the best; 0 = off");
  cmd->add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty over the last 64 tokens; 1 = off");
  cmd->add_option("--presence-penalty", o->presence_penalty, "Presence penalty; 0 = off");
  cmd->add_option("--seed", o->seed, "Random seed for sampling");
  cmd->add_option("--stop", o->stop, "Stop when this text appears (repeatable)");
  cmd->add_option("-t,--threads", o->threads, "Threads; 0 = all cores");
  cmd->add_option("-c,--ctx", o->ctx, "Context size in tokens; 0 = min(training context, 4096)");
  cmd->add_flag("--no-special", o->no_special, "Do not add BOS/EOS to the prompt");
  cmd->add_flag("--parse-special", o->parse_special, "Turn control-token texts in the prompt into those tokens");
  cmd->add_flag("--echo", o->echo, "Print the prompt before the generated text");
  cmd->add_flag("--stats", o->stats, "Print prompt and generation speed to stderr");
  cmd->add_flag("--reference", o->reference, "Use the plain reference path (slow; for checking)");
  auto* schema = cmd->add_option("--json-schema", o->json_schema,
                                 "Constrain the output to a JSON document of this JSON Schema file; stdout is then "
                                 "exactly the document")
                     ->check(CLI::ExistingFile);
  cmd->add_option("--grammar", o->grammar,
                  "Constrain the output to this grammar text file (GBNF-like, docs/grammar.md); stdout is then exactly "
                  "the document")
      ->check(CLI::ExistingFile)
      ->excludes(schema);
  cmd->add_option("--think-budget", o->think_budget,
                  "Reasoning models: at most N thought tokens (<think> ... </think>, to stderr) before the answer; "
                  "-1 = no limit")
      ->check(CLI::Range(-1, 1 << 20));
  cmd->callback([&status, o] { status.code = run_generate(*o); });
});

}  // namespace
