// Shared by tests/engine/constrained_property_test.cpp and
// bench/engine/bench_constrained_property.cpp: which schemas, which models,
// and how a generated document is judged. The judge is independent of our
// grammar: tern::json::parse (simdjson) and tern::tools::schema_validator,
// with each `format` we generate (date, time, date-time, email, uuid, ipv4)
// turned into an equivalent ECMAScript `pattern` for the validator, which
// itself treats `format` as an annotation.
#pragma once

#include <tern/core/json.hpp>
#include <tern/engine/generator.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/model.hpp>
#include <tern/engine/session.hpp>
#include <tern/tools/schema_validator.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tern::test::constrained {

struct schema_case {
  std::string name;  // file name
  std::shared_ptr<const engine::grammar> grammar;
  tools::schema_validator validator;
  std::int64_t max_tokens = 0;  // the generation budget: shortest document + slack
};

struct model_case {
  std::string name;
  std::shared_ptr<const engine::model> model;
  const engine::tokenizer* tok = nullptr;
  std::unique_ptr<engine::tokenizer> borrowed;  // for a model file without tokenizer keys
  std::shared_ptr<const engine::token_vocabulary> vocab;
  std::vector<std::int32_t> prompt;
  std::unique_ptr<engine::session> session;  // reused: every run shares the prompt (prefix reuse)
  std::map<std::string, std::shared_ptr<const engine::constraint>> constraints;  // per schema
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// RFC 3339 (full-date, full-time, date-time), RFC 5322-ish addr-spec as the
// grammar promises (local@domain, no spaces), RFC 4122 text form, dotted quad.
inline const char* format_pattern(std::string_view format) {
  if (format == "date") return "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
  if (format == "time")
    return "^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
  if (format == "date-time")
    return "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
           "(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
  if (format == "email") return "^[^@\\s\"]+@[^@\\s\"]+$";
  if (format == "uuid") return "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
  if (format == "ipv4") return "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
  return nullptr;
}

// Adds {"allOf": [{"pattern": P}]} beside every "format" the validator should
// check; the node stays where it is, so $ref pointers still resolve.
inline void add_format_patterns(boost::json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto& kv : *o) add_format_patterns(kv.value());
    auto it = o->find("format");
    if (it != o->end() && it->value().is_string()) {
      if (const char* p = format_pattern(std::string_view(it->value().as_string()))) {
        boost::json::object extra{{"pattern", p}};
        auto& all = (*o)["allOf"];
        if (!all.is_array()) all = boost::json::array();
        all.as_array().push_back(std::move(extra));
      }
    }
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) add_format_patterns(e);
  }
}

// Compiles one schema for generation and for validation; an error text when
// either side refuses it.
inline result<schema_case> make_case(std::string name, std::string_view schema_text, std::int64_t slack) {
  TERN_TRY(auto g, engine::compile_json_schema(schema_text));
  TERN_TRY(auto doc, json::parse(schema_text));
  add_format_patterns(doc);
  TERN_TRY(auto v, tools::schema_validator::compile(std::move(doc)));
  schema_case c{std::move(name), g, std::move(v), static_cast<std::int64_t>(g->min_length()) + slack};
  return c;
}

// The 20+ tool-parameter schemas in tests/data/tool-schemas (every file must compile).
inline result<std::vector<schema_case>> tool_schemas(const std::filesystem::path& dir, std::int64_t slack) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<schema_case> out;
  for (const auto& f : files) {
    auto c = make_case(f.filename().string(), read_text(f), slack);
    if (!c) return std::move(c).error().at(f.string());
    out.push_back(std::move(*c));
  }
  return out;
}

// `count` MaskBench schemas, deterministically: files in name order, every
// `stride`-th one that both our compiler and the validator accept and whose
// shortest document is at most max_min_bytes.
inline std::vector<schema_case> maskbench_schemas(const std::filesystem::path& dir, std::size_t count,
                                                  std::size_t stride, std::int64_t slack,
                                                  std::uint64_t max_min_bytes = 160) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<schema_case> out;
  for (std::size_t i = 0; i < files.size() && out.size() < count; i += stride) {
    auto doc = json::parse(read_text(files[i]));
    if (!doc || !doc->is_object()) continue;
    const auto* schema = doc->as_object().if_contains("schema");
    if (!schema) continue;
    auto c = make_case(files[i].filename().string(), json::serialize(*schema), slack);
    if (!c || static_cast<std::uint64_t>(c->grammar->min_length()) > max_min_bytes) continue;
    out.push_back(std::move(*c));
  }
  return out;
}

// vocab_from: a GGUF file whose tokenizer to use when the model has none (a
// random-weight file written without tokenizer keys).
inline result<model_case> load_model(const std::filesystem::path& path, std::int64_t n_ctx,
                                     const std::filesystem::path& vocab_from = {}) {
  model_case m;
  m.name = path.filename().string();
  TERN_TRY(m.model, engine::model::load(path, {.n_threads = 1}));
  m.tok = m.model->vocab();
  if (!m.tok && !vocab_from.empty()) {
    TERN_TRY(auto t, engine::tokenizer::load(vocab_from));
    m.borrowed = std::make_unique<engine::tokenizer>(std::move(t));
    m.tok = m.borrowed.get();
    m.name += " (tokenizer of " + vocab_from.filename().string() + ")";
  }
  if (!m.tok) return fail(errc::not_found, "no tokenizer").at(path.string());
  if (static_cast<std::size_t>(m.model->params().n_vocab) < m.tok->n_tokens())
    return fail(errc::invalid_argument, "the tokenizer has more tokens than the model's output").at(path.string());
  TERN_TRY(m.vocab, engine::make_token_vocabulary(*m.tok));
  m.prompt = m.tok->encode("Answer in JSON:", true, false);
  m.session = std::make_unique<engine::session>(m.model, std::min<std::int64_t>(n_ctx, m.model->params().n_ctx_train));
  return m;
}

struct run_outcome {
  bool valid = false;
  std::string problem;  // why not
  std::string text;
  std::int64_t n_tokens = 0;
};

// One sampled generation (temperature 1) of schema c on model m, judged.
inline run_outcome run_once(model_case& m, const schema_case& c, std::uint64_t seed) {
  run_outcome r;
  auto& con = m.constraints[c.name];
  if (!con) con = engine::make_constraint(c.grammar, m.vocab);
  engine::generate_options o;
  o.max_tokens = static_cast<int>(c.max_tokens);
  o.sampling = {.temperature = 1.0f, .seed = seed};
  o.constraint = con;
  auto g = engine::generate(*m.session, *m.tok, m.prompt, o);
  if (!g) {
    r.problem = "generate failed: " + g.error().describe();
    return r;
  }
  r.text = g->text;
  r.n_tokens = g->stats.n_generated;
  if (g->reason != engine::stop_reason::grammar_complete) {
    r.problem = fmt::format("stopped with {}", engine::to_string(g->reason));
    return r;
  }
  auto doc = json::parse(g->text);
  if (!doc) {
    r.problem = "not JSON: " + doc.error().describe();
    return r;
  }
  auto violations = c.validator.check(*doc);
  if (!violations.empty()) {
    r.problem = fmt::format("{}: {}", violations[0].pointer, violations[0].message);
    return r;
  }
  r.valid = true;
  return r;
}

}  // namespace tern::test::constrained
