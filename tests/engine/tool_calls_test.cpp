// Tool-call grammars: each format's layout (checked against the real chat
// templates), modes, parallel calls, errors, and masks over the real Qwen2
// vocabulary where <tool_call> is a special token.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/chat_template.hpp>
#include <tern/engine/grammar.hpp>
#include <tern/engine/maskbench.hpp>
#include <tern/engine/tokenizer.hpp>
#include <tern/engine/tool_calls.hpp>

#include <boost/json.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace tern::engine;

namespace {

const std::vector<tool_definition> travel_tools = {
    {"search_flights",
     R"({"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"},
         "date":{"type":"string","format":"date"},"max_price":{"type":"integer","minimum":0}},
         "required":["from","to","date"],"additionalProperties":false})"},
    {"get_weather",
     R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},
         "required":["city"],"additionalProperties":false})"},
    {"ping", ""},
};

std::shared_ptr<const grammar> compile(tool_call_format f, tool_grammar_options o = {},
                                       const std::vector<tool_definition>& tools = travel_tools) {
  auto g = compile_tool_call_grammar(f, tools, o);
  INFO((g ? std::string() : g.error().to_string()));
  REQUIRE(g);
  return *g;
}

std::string call(tool_call_format f, std::string_view name, std::string_view args) {
  auto r = render_tool_call(f, name, args);
  REQUIRE(r);
  return *r;
}

std::string turn(tool_call_format f, const std::vector<std::string>& calls) {
  std::string out(tool_calls_prefix(f));
  for (size_t i = 0; i < calls.size(); ++i) {
    if (i) out += tool_call_separator(f);
    out += calls[i];
  }
  return out + std::string(tool_calls_suffix(f));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const tool_call_format all_formats[] = {tool_call_format::hermes, tool_call_format::llama3_json,
                                        tool_call_format::deepseek_r1};

}  // namespace

TEST_CASE("tool calls: format detection from the real chat templates") {
  struct {
    const char* file;
    const char* arch;
    tool_call_format want;
  } cases[] = {
      {"Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2", tool_call_format::hermes},
      {"Qwen-Qwen3-0.6B.jinja", "qwen3", tool_call_format::hermes},
      {"Qwen-QwQ-32B.jinja", "qwen2", tool_call_format::hermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "llama", tool_call_format::hermes},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama", tool_call_format::llama3_json},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama", tool_call_format::llama3_json},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "qwen2", tool_call_format::deepseek_r1},
      {"HuggingFaceTB-SmolLM3-3B.jinja", "smollm3", tool_call_format::hermes},
  };
  for (const auto& c : cases) {
    TERN_NEED_FIXTURE(path, std::string("chat-templates/") + c.file);
    INFO(c.file);
    CHECK(detect_tool_call_format(c.arch, read_file(path)) == c.want);
  }
  CHECK(detect_tool_call_format("llama", "") == tool_call_format::llama3_json);
  CHECK(detect_tool_call_format("qwen2", "") == tool_call_format::hermes);
  CHECK(detect_tool_call_format("llama", "{% for m in messages %}<|im_start|>{{m.content}}{% endfor %}") ==
        tool_call_format::hermes);
  CHECK(to_string(tool_call_format::deepseek_r1) == "deepseek_r1");
}

TEST_CASE("tool calls: rendered calls have each template's exact layout") {
  CHECK(call(tool_call_format::hermes, "get_weather", R"({"city":"Lisbon","days":3})") ==
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lisbon\", \"days\": 3}}\n</tool_call>");
  CHECK(call(tool_call_format::llama3_json, "get_weather", R"({"city":"a,b:c"})") ==
        R"({"name": "get_weather", "parameters": {"city": "a,b:c"}})");
  CHECK(call(tool_call_format::deepseek_r1, "ping", "{}") ==
        "<｜tool▁call▁begin｜>function<｜tool▁sep｜>ping\n```json\n{}\n```<｜tool▁call▁end｜>");
  CHECK_FALSE(render_tool_call(tool_call_format::hermes, "bad\"name", "{}"));
  CHECK_FALSE(render_tool_call(tool_call_format::hermes, "ok", "{oops"));
}

// The assistant turn the real template renders for a conversation with tool
// calls must be a document of our grammar (required mode): same markers, same
// spacing, same separators.
TEST_CASE("tool calls: the grammar accepts what the chat templates render") {
  TERN_NEED_FIXTURE(conv_path, "chat-templates/conversations/parallel_calls.json");
  auto conv = tern::json::parse(read_file(conv_path));
  REQUIRE(conv);
  boost::json::array messages = conv->at("messages").as_array();
  messages.resize(2);  // user, assistant with two get_weather calls
  std::vector<tool_definition> tools = {
      {"get_weather", R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},
                          "required":["city","days"]})"}};
  struct {
    const char* file;
    tool_call_format f;
    const char* begin;  // the assistant turn starts after this text
    const char* end;    // and ends before this
    size_t n_calls;
  } cases[] = {
      {"Qwen-Qwen2.5-7B-Instruct.jinja", tool_call_format::hermes, "<|im_start|>assistant\n", "<|im_end|>", 2},
      {"Qwen-Qwen3-0.6B.jinja", tool_call_format::hermes, "<|im_start|>assistant\n", "<|im_end|>", 2},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", tool_call_format::deepseek_r1, "<｜Assistant｜>",
       "<｜end▁of▁sentence｜>", 2},
      // Llama 3.x templates render a single call per message.
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", tool_call_format::llama3_json,
       "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>", 1},
  };
  for (const auto& c : cases) {
    TERN_NEED_FIXTURE(path, std::string("chat-templates/") + c.file);
    INFO(c.file);
    auto tmpl = chat_template::parse(read_file(path));
    REQUIRE(tmpl);
    boost::json::object vars;
    boost::json::array msgs = messages;
    if (c.n_calls == 1) msgs[1].as_object()["tool_calls"].as_array().resize(1);
    vars["messages"] = msgs;
    vars["add_generation_prompt"] = false;
    vars["bos_token"] = "";
    vars["eos_token"] = "";
    auto text = tmpl->render(vars, {.date = calendar_date{2025, 1, 1}});
    INFO((text ? std::string() : text.error().to_string()));
    REQUIRE(text);
    size_t b = text->find(c.begin);
    REQUIRE(b != std::string::npos);
    b += std::strlen(c.begin);
    size_t e = text->find(c.end, b);
    REQUIRE(e != std::string::npos);
    std::string assistant = text->substr(b, e - b);
    // Qwen3 renders an empty thought in front of the last assistant turn's calls.
    if (auto t = assistant.find("</think>\n\n"); t != std::string::npos) assistant = assistant.substr(t + 10);
    INFO(assistant);
    auto g = compile(c.f, {.mode = tool_mode::required}, tools);
    CHECK(g->matches(assistant));
    // And rendering the same calls ourselves gives the same bytes.
    std::vector<std::string> calls;
    for (const auto& tc : msgs[1].at("tool_calls").as_array())
      calls.push_back(call(c.f, "get_weather", boost::json::serialize(tc.at("function").at("arguments"))));
    CHECK(turn(c.f, calls) == assistant);
  }
}

TEST_CASE("tool calls: each format accepts 1..max_calls calls whose arguments fit the tool") {
  for (auto f : all_formats) {
    INFO(to_string(f));
    auto g = compile(f, {.mode = tool_mode::required, .max_calls = 3});
    std::string a = call(f, "search_flights", R"({"from":"LIS","to":"ZRH","date":"2025-03-01","max_price":300})");
    std::string b = call(f, "get_weather", R"({"city":"Zürich"})");
    std::string c = call(f, "ping", R"({"anything":[1,{"x":null}]})");
    CHECK(g->matches(turn(f, {a})));
    CHECK(g->matches(turn(f, {a, b})));
    CHECK(g->matches(turn(f, {a, b, c})));
    CHECK(g->matches(turn(f, {c, c, c})));
    CHECK_FALSE(g->matches(turn(f, {a, b, c, a})));  // more than max_calls
    CHECK_FALSE(g->matches(""));
    CHECK_FALSE(g->matches("Hello"));                // required: no text answer
    // Name and arguments agree: get_weather's arguments under search_flights.
    CHECK_FALSE(g->matches(turn(f, {call(f, "search_flights", R"({"city":"Zürich"})")})));
    // Schema violations: bad date, negative price, extra property, missing required.
    CHECK_FALSE(g->matches(turn(f, {call(f, "search_flights", R"({"from":"A","to":"B","date":"2025-02-30"})")})));
    CHECK_FALSE(
        g->matches(turn(f, {call(f, "search_flights", R"({"from":"A","to":"B","date":"2025-02-03","max_price":-1})")})));
    CHECK_FALSE(g->matches(turn(f, {call(f, "get_weather", R"({"city":"x","zip":"1"})")})));
    CHECK_FALSE(g->matches(turn(f, {call(f, "get_weather", R"({"days":1})")})));
    CHECK_FALSE(g->matches(turn(f, {call(f, "unknown_tool", "{}")})));
    // Compact JSON is not the template's layout.
    std::string compact = call(f, "ping", "{\"a\":1}");
    compact.replace(compact.find("{\"a\": 1}"), 8, "{\"a\":1}");
    CHECK_FALSE(g->matches(turn(f, {compact})));
    CHECK(g->matches_prefix(turn(f, {a, b}).substr(0, 40)));
  }
}

TEST_CASE("tool calls: free_whitespace allows any JSON layout in the arguments") {
  auto g = compile(tool_call_format::hermes, {.mode = tool_mode::required, .free_whitespace = true});
  CHECK(g->matches("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\n  \"city\" :\"x\",\"days\":\t2 }}\n</tool_call>"));
  CHECK(g->matches(call(tool_call_format::hermes, "get_weather", R"({"city":"x"})")));
}

TEST_CASE("tool calls: automatic mode is text, calls, or (hermes, deepseek) text then calls") {
  for (auto f : all_formats) {
    INFO(to_string(f));
    auto g = compile(f, {.mode = tool_mode::automatic});
    std::string c = turn(f, {call(f, "get_weather", R"({"city":"Oslo"})")});
    CHECK(g->matches("The weather is fine.\nSee you!"));
    CHECK(g->matches("ünïcödé ✓"));
    CHECK(g->matches(c));
    CHECK_FALSE(g->matches(""));
    CHECK_FALSE(g->matches(c + "trailing text"));  // nothing after the calls
    // hermes, deepseek: text then calls. llama3_json: a call stands alone, so
    // this is one text answer that happens to contain JSON.
    CHECK(g->matches("Let me check.\n" + c));
  }
  // Text never contains (hermes, deepseek) or starts with (llama3) the call opening.
  auto h = compile(tool_call_format::hermes);
  CHECK_FALSE(h->matches("I will call <tool_call> now"));
  CHECK(h->matches("I will call <tool_cal now"));
  auto d = compile(tool_call_format::deepseek_r1);
  CHECK_FALSE(d->matches("x <｜tool▁calls▁begin｜> y"));
  auto l = compile(tool_call_format::llama3_json);
  CHECK_FALSE(l->matches("{\"not\": \"a call\"}"));
  CHECK_FALSE(l->matches(" leading space"));
  CHECK(l->matches("A reply with {braces} inside."));
}

TEST_CASE("tool calls: none, named, and automatic without tools") {
  for (auto f : all_formats) {
    INFO(to_string(f));
    auto none = compile(f, {.mode = tool_mode::none});
    CHECK(none->matches("Just text."));
    CHECK_FALSE(none->matches(turn(f, {call(f, "ping", "{}")})));
    auto named = compile(f, {.mode = tool_mode::named, .named_tool = "get_weather", .max_calls = 2});
    std::string w = call(f, "get_weather", R"({"city":"Oslo"})");
    CHECK(named->matches(turn(f, {w})));
    CHECK(named->matches(turn(f, {w, w})));
    CHECK_FALSE(named->matches(turn(f, {w, w, w})));
    CHECK_FALSE(named->matches(turn(f, {call(f, "ping", "{}")})));
    CHECK_FALSE(named->matches("text"));
    auto notools = compile_tool_call_grammar(f, {}, {});
    REQUIRE(notools);
    CHECK((*notools)->matches("only text"));
  }
}

TEST_CASE("tool calls: errors name the tool and the problem") {
  auto f = tool_call_format::hermes;
  auto unknown = compile_tool_call_grammar(f, travel_tools, {.mode = tool_mode::named, .named_tool = "book_hotel"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code() == tern::errc::not_found);
  CHECK_THAT(unknown.error().describe(), Catch::Contains("book_hotel"));

  std::vector<tool_definition> bad = {{"ok", "{}"}, {"broken", R"({"type":"object","properties":{"a":{"not":{}}}})"}};
  auto r = compile_tool_call_grammar(f, bad, {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().describe(), Catch::Contains("tool 'broken'") && Catch::Contains("not"));

  std::vector<tool_definition> invalid_json = {{"j", "{oops"}};
  auto j = compile_tool_call_grammar(f, invalid_json, {});
  REQUIRE_FALSE(j);
  CHECK_THAT(j.error().describe(), Catch::Contains("tool 'j'"));

  std::vector<tool_definition> not_object = {{"s", R"({"type":"string"})"}};
  auto s = compile_tool_call_grammar(f, not_object, {});
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().describe(), Catch::Contains("tool 's'") && Catch::Contains("object"));

  std::vector<tool_definition> dup = {{"a", ""}, {"a", ""}};
  CHECK_FALSE(compile_tool_call_grammar(f, dup, {}));
  std::vector<tool_definition> quote = {{"a\"b", ""}};
  CHECK_FALSE(compile_tool_call_grammar(f, quote, {}));
  std::vector<tool_definition> newline = {{"a\nb", ""}};
  CHECK_FALSE(compile_tool_call_grammar(tool_call_format::deepseek_r1, newline, {}));
  CHECK_FALSE(compile_tool_call_grammar(f, travel_tools, {.max_calls = 0}));
  CHECK_FALSE(compile_tool_call_grammar(f, {}, {.mode = tool_mode::required}));
}

namespace {

struct qwen_fixture {
  std::shared_ptr<const token_vocabulary> vocab;
  std::optional<tokenizer> tok;
};

const qwen_fixture& qwen() {
  static qwen_fixture q = [] {
    qwen_fixture r;
    auto p = tern::test::fixture("models/qwen2-vocab.gguf");
    if (!p) return r;
    auto v = load_token_vocabulary(*p);
    REQUIRE(v);
    r.vocab = *v;
    auto t = tokenizer::load(*p);
    REQUIRE(t);
    r.tok.emplace(std::move(*t));
    return r;
  }();
  return q;
}

bool allowed(const std::vector<uint32_t>& mask, int32_t t) { return (mask[size_t(t) >> 5] >> (t & 31)) & 1u; }

// Feeds tokens one by one, checking each is in the mask (and can_accept agrees).
void feed(grammar_matcher& m, const std::vector<int32_t>& toks) {
  std::vector<uint32_t> mask(m.mask_words());
  for (int32_t t : toks) {
    m.fill_mask(mask);
    INFO("token " << t);
    REQUIRE(allowed(mask, t));
    REQUIRE(m.can_accept(t));
    REQUIRE(m.accept_token(t));
  }
}

}  // namespace

TEST_CASE("tool calls: Qwen2 vocabulary, <tool_call> as its special token or as plain bytes") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  const auto& q = qwen();
  int32_t open = q.tok->find("<tool_call>"), close = q.tok->find("</tool_call>");
  int32_t im_start = q.tok->find("<|im_start|>");
  REQUIRE(open >= 0);
  REQUIRE(close >= 0);
  REQUIRE(im_start >= 0);
  REQUIRE(q.vocab->is_special(open));

  auto g = compile(tool_call_format::hermes, {.mode = tool_mode::automatic});
  auto c = make_constraint(g, q.vocab);
  auto m = grammar_matcher::create(c);
  REQUIRE(m);
  std::vector<uint32_t> mask(m->mask_words());
  m->fill_mask(mask);
  CHECK(allowed(mask, open));        // a call may start with the special token
  CHECK_FALSE(allowed(mask, close));  // </tool_call> only where the grammar has it
  CHECK_FALSE(allowed(mask, im_start));
  for (int32_t e : q.vocab->eos_tokens()) CHECK_FALSE(allowed(mask, e));  // nothing written yet
  CHECK(m->can_accept(open));
  CHECK_FALSE(m->can_accept(close));
  CHECK_FALSE(m->accept_token(close));

  // Special-token spelling: <tool_call> then the body's plain tokens, then </tool_call>.
  std::string body = "\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n";
  auto body_toks = maskbench::greedy_tokenize(*q.vocab, body);
  REQUIRE(body_toks);
  std::vector<int32_t> toks = {open};
  toks.insert(toks.end(), body_toks->begin(), body_toks->end());
  toks.push_back(close);
  feed(*m, toks);
  CHECK(m->is_complete());
  // A second call may follow ("\n<tool_call>"), or EOS.
  m->fill_mask(mask);
  for (int32_t e : q.vocab->eos_tokens()) CHECK(allowed(mask, e));
  CHECK_FALSE(allowed(mask, open));  // the separator comes first
  REQUIRE(m->rollback(toks.size()));

  // Plain-byte spelling of the same turn (a model may write "<tool_call>" in pieces).
  auto plain = maskbench::greedy_tokenize(*q.vocab, "<tool_call>" + body + "</tool_call>");
  REQUIRE(plain);
  feed(*m, *plain);
  CHECK(m->is_complete());

  // Text then a call: "<tool_call>" spelled in plain bytes after text starts
  // the call (text never contains the marker), so free text cannot go on.
  auto m2 = grammar_matcher::create(c);
  REQUIRE(m2);
  auto text = maskbench::greedy_tokenize(*q.vocab, "Sure <");
  REQUIRE(text);
  feed(*m2, *text);
  m2->fill_mask(mask);
  CHECK(allowed(mask, open));  // "Sure <" is complete text; a call may follow
  auto rest = maskbench::greedy_tokenize(*q.vocab, "tool_call>");
  REQUIRE(rest);
  feed(*m2, *rest);
  m2->fill_mask(mask);
  for (int32_t e : q.vocab->eos_tokens()) CHECK_FALSE(allowed(mask, e));
  auto more_text = maskbench::greedy_tokenize(*q.vocab, " and more");
  REQUIRE(more_text);
  CHECK_FALSE(m2->can_accept((*more_text)[0]));
  auto nl = maskbench::greedy_tokenize(*q.vocab, "\n");
  REQUIRE(nl);
  CHECK(m2->can_accept((*nl)[0]));
}

TEST_CASE("tool calls: special tokens respect the token budget") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  const auto& q = qwen();
  int32_t open = q.tok->find("<tool_call>");
  auto g = compile(tool_call_format::hermes, {.mode = tool_mode::automatic, .max_calls = 1});
  auto c = make_constraint(g, q.vocab);
  auto a = maskbench::greedy_tokenize(*q.vocab, "a");
  REQUIRE(a);
  std::vector<uint32_t> mask((q.vocab->size() + 31) / 32);
  for (int64_t budget : {int64_t(2), int64_t(200)}) {
    INFO("budget " << budget);
    auto m = grammar_matcher::create(c, {.max_tokens = budget});
    REQUIRE(m);
    REQUIRE(m->accept_token((*a)[0]));  // text "a": calls may follow
    m->fill_mask(mask);
    // One token left: <tool_call> would leave a call body that no single token can finish.
    bool fits = budget > 2;
    CHECK(allowed(mask, open) == fits);
    CHECK(m->can_accept(open) == fits);
  }
}

TEST_CASE("tool calls: a special token matches a literal terminal of exactly its text") {
  // tokens: x, <, a, >, <a> (special), EOS (special)
  auto v = make_token_vocabulary({"x", "<", "a", ">", "<a>", ""}, {0, 0, 0, 0, 1, 1}, {5});
  REQUIRE(v);
  auto whole = compile_grammar_text("root ::= \"x\" tag\ntag ::= \"<a>\"");
  REQUIRE(whole);
  auto m = grammar_matcher::create(make_constraint(*whole, *v));
  REQUIRE(m);
  CHECK_FALSE(m->can_accept(4));  // "x" comes first
  REQUIRE(m->accept_token(0));
  std::vector<uint32_t> mask(m->mask_words());
  m->fill_mask(mask);
  CHECK(allowed(mask, 4));
  CHECK(allowed(mask, 1));  // and the plain spelling
  CHECK(m->forced_token() == std::nullopt);
  REQUIRE(m->accept_token(4));
  CHECK(m->is_complete());
  REQUIRE(m->accept_token(5));
  CHECK(m->is_finished());

  // "x<a>" is one terminal: the token would start in its middle, so it is refused.
  auto inner = compile_grammar_text("root ::= \"x<a>\"");
  REQUIRE(inner);
  auto m2 = grammar_matcher::create(make_constraint(*inner, *v));
  REQUIRE(m2);
  REQUIRE(m2->accept_token(0));
  m2->fill_mask(mask);
  CHECK_FALSE(allowed(mask, 4));
  CHECK_FALSE(m2->can_accept(4));
  CHECK_FALSE(m2->accept_token(4));
  CHECK(m2->forced_token() == std::optional<int32_t>(1));
}
