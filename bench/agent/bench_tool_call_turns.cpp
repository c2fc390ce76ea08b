// Grammar-constrained tool-call turns at scale: the random-weight
// stories260K model samples (temperature 1, a fresh seed per turn) under each
// format's tool-call grammar (required mode, 1-3 parallel calls) over the
// tools of tests/data/tool-schemas/ (one schema per file, named after the
// file: flights, hotels, calendar, CRM; nested, recursive); every turn is parsed
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

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

using namespace tern;

int main(int argc, char** argv) {
  std::string model_path = argc > 1 ? argv[1] : std::string(TERN_SOURCE_DIR) + "/tests/data/models/stories260K.gguf";
  int n_seeds = argc > 2 ? std::atoi(argv[2]) : 200;
  auto m = engine::model::load(model_path);
  auto tok = engine::tokenizer::load(model_path);
  if (!m || !tok) {
    std::fprintf(stderr, "bench_tool_call_turns: cannot load %s\n", model_path.c_str());
    return 1;
  }
  auto vocab = engine::make_token_vocabulary(*tok);
  if (!vocab) return 1;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TERN_SOURCE_DIR) + "/tests/data/tool-schemas", ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<engine::tool_definition> tools;
  std::map<std::string, tools::schema_validator, std::less<>> validators;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto schema = json::parse(text);
    auto v = schema ? tools::schema_validator::compile(*schema) : result<tools::schema_validator>(schema.error());
    if (!v) {
      std::fprintf(stderr, "%s: %s\n", f.string().c_str(), v.error().to_string().c_str());
      return 1;
    }
    tools.push_back({f.stem().string(), text});
    validators.emplace(tools.back().name, *v);
  }
  if (tools.empty()) {
    std::fprintf(stderr, "bench_tool_call_turns: no tool schemas in tests/data/tool-schemas\n");
    return 1;
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
      o.max_tokens = 480;
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
