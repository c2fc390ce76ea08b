// Tool-call turns as grammars (tool_calls.hpp). Each format's layout is the
// one its chat template renders (tests/data/chat-templates/): Qwen2.5/Qwen3
// "<tool_call>\n{"name": "N", "arguments": ARGS}\n</tool_call>" joined by "\n";
// Llama 3.x '{"name": "N", "parameters": ARGS}'; DeepSeek-R1 markers around
// "function<｜tool▁sep｜>N\n```json\nARGS\n```". Markers are separate literal
// terminals so that a vocabulary's special token of the same text can match
// them whole (see constraint in token_index.cpp).
#include "grammar/schema_compiler.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/tool_calls.hpp>

#include <fmt/format.h>

#include <set>

namespace tern::engine {
using namespace grammar_detail;
namespace bj = boost::json;

namespace {

constexpr std::string_view ds_calls_begin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view ds_calls_end = "<｜tool▁calls▁end｜>";
constexpr std::string_view ds_call_begin = "<｜tool▁call▁begin｜>";
constexpr std::string_view ds_call_end = "<｜tool▁call▁end｜>";
constexpr std::string_view ds_sep = "<｜tool▁sep｜>";
constexpr int max_calls_limit = 64;

result<void> check_name(tool_call_format f, std::string_view name) {
  if (name.empty()) return fail(errc::invalid_argument, "a tool has an empty name");
  for (char c : name) {
    auto u = uint8_t(c);
    if (c == '"' || c == '\\' || u < 0x20 || u == 0x7f)
      return fail(errc::invalid_argument,
                  fmt::format("tool name '{}' contains a quote, backslash or control byte, which its {} call syntax "
                              "cannot carry",
                              name, to_string(f)));
  }
  return ok();
}

// Any Unicode scalar value but NUL, as UTF-8.
rx any_char() { return rx_class({{0x01, 0xD7FF}, {0xE000, 0x10FFFF}}); }

// Non-empty text that does not start a call: for hermes and deepseek_r1 it
// never contains the opening marker (so text followed by calls splits in one
// way only); for llama3_json it does not start with '{' or whitespace.
result<dfa> text_terminal(tool_call_format f) {
  if (f == tool_call_format::llama3_json) {
    rx first = rx_class({{0x01, 0x08}, {0x0B, 0x0C}, {0x0E, 0x1F}, {0x21, 0x7A}, {0x7C, 0xD7FF}, {0xE000, 0x10FFFF}});
    return compile_dfa(rx_seq({first, rx_repeat(any_char(), 0, rx_node::unbounded)}));
  }
  TERN_TRY(dfa text, compile_dfa(rx_repeat(any_char(), 1, rx_node::unbounded)));
  rx anything = rx_repeat(any_char(), 0, rx_node::unbounded);
  TERN_TRY(dfa opening, compile_dfa(rx_seq({anything, rx_literal(tool_call_opening(f)), anything})));
  return intersect(text, opening, /*subtract=*/true);
}

// The tool's parameters schema with "type": "object" made explicit: every
// format writes ARGS as a JSON object.
result<bj::value> parameters_schema(const tool_definition& t) {
  if (t.parameters_schema.find_first_not_of(" \t\r\n") == std::string::npos) return bj::value(bj::object{{"type", "object"}});
  TERN_TRY(bj::value v, json::parse(t.parameters_schema));
  if (v.is_bool()) {
    if (!v.get_bool()) return fail(errc::invalid_argument, "the parameters schema is 'false': no call is valid");
    return bj::value(bj::object{{"type", "object"}});
  }
  if (!v.is_object()) return fail(errc::invalid_argument, "the parameters schema must be a JSON object");
  auto& o = v.get_object();
  if (auto* ty = o.if_contains("type")) {
    bool has_object = ty->is_string() ? ty->get_string() == "object" : false;
    if (ty->is_array())
      for (const auto& e : ty->get_array()) has_object = has_object || (e.is_string() && e.get_string() == "object");
    if (!has_object)
      return fail(errc::invalid_argument, "the parameters schema must describe an object ('type' is not \"object\")")
          .at("/type");
    o["type"] = "object";
  } else {
    o["type"] = "object";
  }
  return v;
}

class tool_grammar_builder {
 public:
  tool_grammar_builder(tool_call_format f, const tool_grammar_options& o) : f_(f), o_(o) {}

  result<compiled> build(std::span<const tool_definition> tools) {
    if (o_.max_calls < 1 || o_.max_calls > max_calls_limit)
      return fail(errc::invalid_argument, fmt::format("max_calls must be 1..{} (got {})", max_calls_limit, o_.max_calls));
    std::set<std::string_view> seen;
    for (const auto& t : tools) {
      TERN_CHECK(check_name(f_, t.name));
      if (!seen.insert(t.name).second)
        return fail(errc::invalid_argument, fmt::format("tool '{}' is defined twice", t.name));
    }
    tool_mode mode = o_.mode;
    if (mode == tool_mode::automatic && tools.empty()) mode = tool_mode::none;
    if ((mode == tool_mode::required || mode == tool_mode::named) && tools.empty())
      return fail(errc::invalid_argument, "tool mode 'required'/'named' with no tools");
    if (mode == tool_mode::named && !seen.count(o_.named_tool))
      return fail(errc::not_found, fmt::format("named tool '{}' is not in the tool list", o_.named_tool));

    int32_t root = b_.new_rule("root");
    if (mode != tool_mode::required && mode != tool_mode::named) {
      TERN_TRY(dfa text, text_terminal(f_));
      int32_t t = b_.add_term(std::move(text));
      b_.add_alt(root, {T(t)});
      if (mode == tool_mode::automatic) {
        TERN_TRY(int32_t calls, calls_rule(tools, ""));
        b_.add_alt(root, {R(calls)});
        if (f_ != tool_call_format::llama3_json) b_.add_alt(root, {T(t), R(calls)});
      }
    } else {
      TERN_TRY(int32_t calls, calls_rule(tools, mode == tool_mode::named ? o_.named_tool : ""));
      b_.add_alt(root, {R(calls)});
    }
    return b_.finish(root, fmt::format("{} tool-call grammar", to_string(f_)));
  }

 private:
  // One alternative per tool (or only `only`): the whole call with its ARGS.
  result<int32_t> call_rule(std::span<const tool_definition> tools, std::string_view only) {
    int32_t call = b_.new_rule("call");
    auto layout = o_.free_whitespace ? json_layout::free : json_layout::spaced;
    for (const auto& t : tools) {
      if (!only.empty() && t.name != only) continue;
      auto schema = parameters_schema(t);
      if (!schema) return std::move(schema).error().at(fmt::format("tool '{}'", t.name));
      auto args = add_schema_rules(b_, *schema, layout);
      if (!args) return std::move(args).error().at(fmt::format("tool '{}'", t.name));
      switch (f_) {
        case tool_call_format::hermes:
          b_.add_alt(call, {T(lit("<tool_call>")), T(lit(fmt::format("\n{{\"name\": \"{}\", \"arguments\": ", t.name))),
                            R(*args), T(lit("}\n")), T(lit("</tool_call>"))});
          break;
        case tool_call_format::llama3_json:
          b_.add_alt(call, {T(lit(fmt::format("{{\"name\": \"{}\", \"parameters\": ", t.name))), R(*args), T(lit("}"))});
          break;
        case tool_call_format::deepseek_r1:
          b_.add_alt(call, {T(lit(ds_call_begin)), T(lit("function")), T(lit(ds_sep)),
                            T(lit(fmt::format("{}\n```json\n", t.name))), R(*args), T(lit("\n```")), T(lit(ds_call_end))});
          break;
      }
    }
    return call;
  }

  // 1..max_calls calls joined by the format's separator, as a chain of rules:
  // chain[i] = call | call SEP chain[i+1], with i calls already written.
  result<int32_t> calls_rule(std::span<const tool_definition> tools, std::string_view only) {
    TERN_TRY(int32_t call, call_rule(tools, only));
    int32_t sep = lit(tool_call_separator(f_));
    std::vector<int32_t> chain(size_t(o_.max_calls));
    for (auto& r : chain) r = b_.new_rule("calls");
    for (size_t i = 0; i < chain.size(); ++i) {
      b_.add_alt(chain[i], {R(call)});
      if (i + 1 < chain.size()) b_.add_alt(chain[i], {R(call), T(sep), R(chain[i + 1])});
    }
    if (f_ != tool_call_format::deepseek_r1) return chain[0];
    int32_t wrapped = b_.new_rule("tool-calls");
    b_.add_alt(wrapped, {T(lit(ds_calls_begin)), R(chain[0]), T(lit(ds_calls_end))});
    return wrapped;
  }

  int32_t lit(std::string_view bytes) { return b_.literal(bytes); }

  tool_call_format f_;
  const tool_grammar_options& o_;
  grammar_builder b_;
};

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

}  // namespace

std::string_view to_string(tool_call_format f) noexcept {
  switch (f) {
    case tool_call_format::hermes: return "hermes";
    case tool_call_format::llama3_json: return "llama3_json";
    case tool_call_format::deepseek_r1: return "deepseek_r1";
  }
  return "unknown";
}

tool_call_format detect_tool_call_format(std::string_view architecture, std::string_view chat_template_source) {
  std::string_view tpl = chat_template_source;
  if (contains(tpl, ds_calls_begin) || contains(tpl, "tool▁calls▁begin")) return tool_call_format::deepseek_r1;
  if (contains(tpl, "<tool_call>")) return tool_call_format::hermes;
  if (contains(tpl, "<|python_tag|>") || (contains(tpl, "<|start_header_id|>") && contains(tpl, "\"parameters\"")))
    return tool_call_format::llama3_json;
  if (contains(tpl, "<|im_start|>")) return tool_call_format::hermes;  // ChatML: SmolLM2, Hermes, Qwen
  if (contains(tpl, "<|start_header_id|>")) return tool_call_format::llama3_json;
  if (architecture == "llama") return tool_call_format::llama3_json;
  return tool_call_format::hermes;
}

std::string_view tool_call_opening(tool_call_format f) noexcept {
  switch (f) {
    case tool_call_format::hermes: return "<tool_call>";
    case tool_call_format::llama3_json: return "{";
    case tool_call_format::deepseek_r1: return ds_calls_begin;
  }
  return "";
}

std::string_view tool_call_separator(tool_call_format f) noexcept {
  return f == tool_call_format::llama3_json ? "; " : "\n";
}
std::string_view tool_calls_prefix(tool_call_format f) noexcept {
  return f == tool_call_format::deepseek_r1 ? ds_calls_begin : "";
}
std::string_view tool_calls_suffix(tool_call_format f) noexcept {
  return f == tool_call_format::deepseek_r1 ? ds_calls_end : "";
}

result<std::string> render_tool_call(tool_call_format f, std::string_view name, std::string_view arguments_json) {
  TERN_CHECK(check_name(f, name));
  TERN_TRY(bj::value args, json::parse(arguments_json));
  std::string compact;
  write_canonical(args, compact);
  std::string a = spaced_json(compact);
  switch (f) {
    case tool_call_format::hermes:
      return fmt::format("<tool_call>\n{{\"name\": \"{}\", \"arguments\": {}}}\n</tool_call>", name, a);
    case tool_call_format::llama3_json: return fmt::format("{{\"name\": \"{}\", \"parameters\": {}}}", name, a);
    case tool_call_format::deepseek_r1:
      return fmt::format("{}function{}{}\n```json\n{}\n```{}", ds_call_begin, ds_sep, name, a, ds_call_end);
  }
  return fail(errc::internal, "unknown tool-call format");
}

result<std::shared_ptr<const grammar>> compile_tool_call_grammar(tool_call_format format,
                                                                 std::span<const tool_definition> tools,
                                                                 const tool_grammar_options& options) {
  TERN_TRY(compiled g, tool_grammar_builder(format, options).build(tools));
  return make_grammar(std::move(g));
}

}  // namespace tern::engine
