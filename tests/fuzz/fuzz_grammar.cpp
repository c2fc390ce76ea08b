// libFuzzer target for the grammar front ends: the first byte picks JSON
// Schema (even) or grammar text (odd); the rest is the schema or grammar.
// Either it compiles or it is a tern::error — never a crash, hang or
// unbounded allocation — and a compiled grammar answers matches() /
// matches_prefix() on a few probes, including the input itself.
#include <tern/engine/grammar.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const bool schema = (data[0] & 1) == 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto g = schema ? tern::engine::compile_json_schema(text, {.free_whitespace = (data[0] & 2) != 0})
                  : tern::engine::compile_grammar_text(text);
  if (!g) return 0;
  const std::string_view probes[] = {"", "{}", "[]", "\"a\"", "0", "-1.5e3", "null", "true", "{\"a\":1}", text};
  for (std::string_view p : probes) {
    (void)(*g)->matches(p);
    (void)(*g)->matches_prefix(p);
  }
  (void)(*g)->min_length();
  return 0;
}
