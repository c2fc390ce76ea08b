// Grammar-constrained tool-call turns at scale: the random-weight
// stories260K model samples (temperature 1, a fresh seed per turn) under each
// format's tool-call grammar (required mode, 1-3 parallel calls) over the six
// tools of tests/data/tool-schemas/toolcall_tools.json; every turn is parsed
// strictly (no repairs) and each call's arguments are checked by the
// independent validator (tools::schema_validator).
// Bound: every turn valid (ratio 1.0). Also prints ms per turn and per token.
//   bench_tool_call_turns [MODEL.gguf] [SEEDS=200]
#include <tern/agent/tool_call_parser.hpp>
#include <tern/core/json.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>
#include <tern/engine/tokenizer.hpp>
#include <tern/engine/tool_calls.hpp>
#include <tern/tools/schema_validator.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

using namespace tern;

int main(int argc, char** argv) {
  std::string model_path = argc > 1 ? argv[1] : std::string(TERN_SOURCE_DIR) + "/tests/data/models/stories260K.gguf";
  int n_seeds = argc > 2 ? std::atoi(argv[2]) : 200;
  std::ifstream in(std::string(TERN_SOURCE_DIR) + "/tests/data/tool-schemas/toolcall_tools.json", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  auto m = engine::model::load(model_path);
  auto tok = engine::tokenizer::load(model_path);
  if (!doc || !m || !tok) {
    std::fprintf(stderr, "bench_tool_call_turns: cannot load the model or tests/data/tool-schemas/toolcall_tools.json\n");
    return 1;
  }
  auto vocab = engine::make_token_vocabulary(*tok);
  if (!vocab) return 1;
  std::vector<engine::tool_definition> tools;
  std::map<std::string, tools::schema_validator, std::less<>> validators;
  for (const auto& t : doc->as_array()) {
    tools.push_back({std::string(t.at("name").as_string()), boost::json::serialize(t.at("parameters"))});
    validators.emplace(tools.back().name, *tools::schema_validator::compile(t.at("parameters")));
  }
  engine::session s(*m, 1024);
  auto prompt = tok->encode("Plan the trip and call tools:", true, false);
  long total = 0, valid = 0, calls = 0, tokens = 0;
  double ms = 0;
  for (auto f : {engine::tool_call_format::hermes, engine::tool_call_format::llama3_json,
                 engine::tool_call_format::deepseek_r1}) {
    auto g = engine::compile_tool_call_grammar(f, tools, {.mode = engine::tool_mode::required, .max_calls = 3});
    if (!g) {
      std::fprintf(stderr, "%s\n", g.error().to_string().c_str());
      return 1;
    }
    auto c = engine::make_constraint(*g, *vocab);
    long f_valid = 0;
    for (int seed = 0; seed < n_seeds; ++seed) {
      engine::generate_options o;
      o.max_tokens = 320;
      o.sampling.temperature = 1.0f;
      o.sampling.seed = uint64_t(seed) * 104729 + 3;
      o.constraint = c;
      auto t0 = std::chrono::steady_clock::now();
      auto gen = engine::generate(s, *tok, prompt, o);
      ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ++total;
      if (!gen) continue;
      tokens += long(gen->tokens.size());
      agent::parse_options po;
      po.syntax = agent::syntax_of(f);
      po.repair = false;
      auto out = agent::parse_model_output(gen->text, po);
      bool ok = out.problems.empty() && !out.tool_calls.empty() && out.tool_calls.size() <= 3 && (*g)->matches(gen->text);
      for (const auto& call : out.tool_calls) {
        auto v = validators.find(call.name);
        ok = ok && v != validators.end() && v->second.check(boost::json::value(call.arguments)).empty();
      }
      calls += long(out.tool_calls.size());
      if (ok) ++f_valid;
      else std::printf("INVALID %s seed %d: %s\n", std::string(engine::to_string(f)).c_str(), seed, gen->text.c_str());
    }
    valid += f_valid;
    std::printf("%-12s turns %d valid %ld\n", std::string(engine::to_string(f)).c_str(), n_seeds, f_valid);
  }
  std::printf("tool-call turns: %ld/%ld valid (bound: all; ratio %.3f), %ld calls (%.2f per turn), %.1f ms per turn, "
              "%.3f ms per token\n",
              valid, total, total ? double(valid) / double(total) : 0.0, calls, total ? double(calls) / double(total) : 0.0,
              total ? ms / double(total) : 0.0, tokens ? ms / double(tokens) : 0.0);
  return valid == total ? 0 : 1;
}
