// libFuzzer target for the Jinja interpreter: any bytes as a template must
// parse into a chat_template or give a tern::error, and a parsed template
// must render a small conversation or give a tern::error — never a crash,
// hang, leak or unbounded allocation. Tight limits keep each input fast.
#include <tern/engine/chat_template.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <string_view>

namespace {

const boost::json::object& variables() {
  static const boost::json::object vars = [] {
    boost::json::object v;
    v["messages"] = boost::json::parse(R"([
      {"role": "system", "content": "sys"},
      {"role": "user", "content": "héllo <tool_response>"},
      {"role": "assistant", "content": "<think>r</think>a", "reasoning_content": "r",
       "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": [1, 2.5, null]}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": true}"}])");
    v["tools"] = boost::json::parse(R"([{"type": "function", "function": {"name": "f", "description": "d",
      "parameters": {"type": "object", "properties": {"x": {"type": "array", "items": {"type": "number"}}}}}}])");
    v["add_generation_prompt"] = true;
    v["bos_token"] = "<s>";
    v["eos_token"] = "</s>";
    v["enable_thinking"] = false;
    return v;
  }();
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  tern::engine::template_limits limits;
  limits.max_loop_iterations = 20000;
  limits.max_macro_calls = 2000;
  limits.max_recursion_depth = 32;
  limits.max_output_bytes = 1 << 20;
  auto t = tern::engine::chat_template::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz",
                                              limits);
  if (!t) return 0;
  tern::engine::render_options opts;
  opts.limits = limits;
  opts.date = tern::engine::calendar_date{2024, 7, 26};
  auto out = t->render(variables(), opts);
  (void)out;
  return 0;
}
