// Property test for grammar-constrained tool-call turns: random-weight models
// (which pick tokens almost at random) sample under each format's tool-call
// grammar; every turn must parse (strictly, no repairs) into 1..max_calls calls
// whose arguments validate against the tool's schema by the independent
// validator (tools::schema_validator), and the grammar must accept the text.
#include <tern/agent/tool_call_parser.hpp>
#include <tern/core/json.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>
#include <tern/engine/tokenizer.hpp>
#include <tern/engine/tool_calls.hpp>
#include <tern/tools/schema_validator.hpp>

#include "fixtures.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using namespace tern;
using engine::tool_call_format;
using engine::tool_definition;
using engine::tool_mode;

namespace {

// The tool definitions of tests/data/tool-schemas/ (flights, hotels, calendar,
// CRM; nested, recursive; one schema per file, the tool named after the file).
std::vector<tool_definition> load_tools() {
  auto dir = test::test_data("tool-schemas");
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<tool_definition> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out.push_back({f.stem().string(), text});
  }
  REQUIRE(out.size() >= 20);
  return out;
}

struct model_fixture {
  std::shared_ptr<const engine::model> m;
  std::optional<engine::tokenizer> tok;
  std::shared_ptr<const engine::token_vocabulary> vocab;
};

std::optional<model_fixture> load(const std::filesystem::path& p) {
  model_fixture f;
  auto m = engine::model::load(p);
  REQUIRE(m);
  f.m = *m;
  auto t = engine::tokenizer::load(p);
  if (!t && t.error().code() == errc::not_found) return std::nullopt;  // weights only (qwen3-tiny-random)
  INFO((t ? std::string() : t.error().to_string()));
  REQUIRE(t);
  f.tok.emplace(std::move(*t));
  auto v = engine::make_token_vocabulary(*f.tok);
  REQUIRE(v);
  f.vocab = *v;
  return f;
}

struct mode_case {
  tool_mode mode;
  const char* named;
  int seeds;
};

// Runs sampled turns per format and mode on one model.
void run_turns(const model_fixture& f, std::span<const tool_call_format> formats, std::span<const mode_case> modes,
               int max_tokens) {
  const auto tools = load_tools();
  std::map<std::string, tools::schema_validator, std::less<>> validators;
  for (const auto& t : tools) {
    auto schema = json::parse(t.parameters_schema);
    REQUIRE(schema);
    auto v = tools::schema_validator::compile(*schema);
    REQUIRE(v);
    validators.emplace(t.name, *v);
  }
  engine::session s(f.m, 1024);
  auto prompt = f.tok->encode("Plan the trip and call tools:", true, false);
  REQUIRE_FALSE(prompt.empty());
  for (auto format : formats) {
    for (const auto& mc : modes) {
      auto g = engine::compile_tool_call_grammar(format, tools, {.mode = mc.mode, .named_tool = mc.named, .max_calls = 3});
      INFO((g ? std::string() : g.error().to_string()));
      REQUIRE(g);
      auto c = engine::make_constraint(*g, f.vocab);
      for (int seed = 0; seed < mc.seeds; ++seed) {
        engine::generate_options o;
        o.max_tokens = max_tokens;
        o.sampling.temperature = 1.0f;
        o.sampling.seed = uint64_t(seed) * 7919 + 17;
        o.constraint = c;
        auto gen = engine::generate(s, *f.tok, prompt, o);
        INFO("format " << engine::to_string(format) << " mode " << int(mc.mode) << " seed " << seed);
        INFO((gen ? std::string() : gen.error().to_string()));
        REQUIRE(gen);
        INFO("text: " << gen->text);
        REQUIRE((*g)->matches(gen->text));
        agent::parse_options po;
        po.syntax = agent::syntax_of(format);
        po.repair = false;
        po.validators = validators;
        po.known_tools = {};
        auto out = agent::parse_model_output(gen->text, po);
        INFO("problems: " << (out.problems.empty() ? std::string() : out.problems[0]));
        CHECK(out.problems.empty());
        CHECK(out.invalid_calls.empty());
        if (mc.mode == tool_mode::automatic && out.tool_calls.empty()) {
          CHECK_FALSE(out.content.empty());  // a text answer
          continue;
        }
        REQUIRE(out.tool_calls.size() >= 1);
        REQUIRE(out.tool_calls.size() <= 3);
        for (const auto& call : out.tool_calls) {
          auto v = validators.find(call.name);
          REQUIRE(v != validators.end());
          if (mc.mode == tool_mode::named) CHECK(call.name == mc.named);
          auto r = v->second.validate(boost::json::value(call.arguments));
          INFO(call.name << " " << boost::json::serialize(call.arguments));
          CHECK(r);
        }
      }
    }
  }
}

const tool_call_format all_formats[] = {tool_call_format::hermes, tool_call_format::llama3_json,
                                        tool_call_format::deepseek_r1};

}  // namespace

// 20 seeds per format in required mode (1-3 parallel calls), a few named and
// automatic turns, on the small-vocabulary model: masks there are cheap, so
// this is the broad run. The 32000-token vocabulary and the full Qwen2 one
// run a few turns each (their first masks in each string state walk the whole
// vocabulary); bench_tool_call_turns runs 200 seeds.
TEST_CASE("tool-call property: sampled turns of random models parse into valid calls") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto f = load(path);
  REQUIRE(f);
  const mode_case modes[] = {{tool_mode::required, "", 20}, {tool_mode::named, "book_hotel", 5}, {tool_mode::automatic, "", 5}};
  run_turns(*f, all_formats, modes, 480);
}

TEST_CASE("tool-call property: a 32000-token SentencePiece vocabulary") {
  TERN_NEED_FIXTURE(path, "models/llama-2-tiny-random.gguf");
  auto f = load(path);
  REQUIRE(f);
  const mode_case modes[] = {{tool_mode::required, "", 2}};
  const tool_call_format formats[] = {tool_call_format::hermes, tool_call_format::deepseek_r1};
  run_turns(*f, formats, modes, 256);
}

// The full Qwen2 vocabulary: <tool_call> and </tool_call> are special tokens
// the model may pick instead of their plain spelling.
TEST_CASE("tool-call property: Qwen2 vocabulary with special-token markers") {
  TERN_NEED_SHARED(path, "models/qwen2-tiny-random.gguf");
  auto f = load(path);
  REQUIRE(f);
  const mode_case modes[] = {{tool_mode::required, "", 2}};
  const tool_call_format formats[] = {tool_call_format::hermes};
  run_turns(*f, formats, modes, 256);
}
