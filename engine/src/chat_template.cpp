#include <tern/engine/chat_template.hpp>
#include <tern/engine/gguf.hpp>

#include "jinja/evaluator.hpp"
#include "jinja/parser.hpp"

#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <new>

namespace tern::engine {
namespace {

tern::error to_error(const jinja::template_error& e, const std::string& name) {
  tern::error err(e.code(), e.what());
  err.at(fmt::format("line {}, column {}", e.pos().line, e.pos().column));
  err.at(name);
  return err;
}

}  // namespace

result<chat_template> chat_template::parse(std::string_view source, std::string name, const template_limits& limits) {
  jinja::parse_options opts;
  opts.max_nesting = limits.max_nesting;
  try {
    auto program = std::make_shared<jinja::template_program>(jinja::parse_template(source, opts));
    chat_template t;
    t.program_ = std::move(program);
    t.name_ = std::move(name);
    t.source_ = std::string(source);
    return t;
  } catch (const jinja::template_error& e) {
    return to_error(e, name);
  } catch (const std::bad_alloc&) {
    return tern::error(errc::limit_exceeded, "out of memory while parsing the template").at(name);
  }
}

result<std::string> chat_template::render(const boost::json::object& vars, const render_options& opts) const {
  if (!program_) return tern::error(errc::invalid_argument, "render() on an empty chat_template");
  jinja::render_settings settings;
  settings.max_output_bytes = opts.limits.max_output_bytes;
  settings.max_loop_iterations = opts.limits.max_loop_iterations;
  settings.max_macro_calls = opts.limits.max_macro_calls;
  settings.max_recursion_depth = opts.limits.max_recursion_depth;
  if (opts.date) {
    std::tm tm{};
    tm.tm_year = opts.date->year - 1900;
    tm.tm_mon = opts.date->month - 1;
    tm.tm_mday = opts.date->day;
    const std::time_t t = timegm(&tm);  // fills weekday and day of year
    gmtime_r(&t, &settings.now);
  } else {
    const std::time_t t = std::time(nullptr);
    localtime_r(&t, &settings.now);
  }
  try {
    jinja::object root;
    root.entries.reserve(vars.size());
    for (const auto& kv : vars) root.entries.emplace_back(std::string(kv.key()), jinja::from_json(kv.value()));
    jinja::evaluator ev(*program_, settings);
    return ev.render(std::move(root));
  } catch (const jinja::template_error& e) {
    return to_error(e, name_);
  } catch (const std::bad_alloc&) {
    return tern::error(errc::limit_exceeded, "out of memory while rendering the template").at(name_);
  }
}

result<calendar_date> parse_calendar_date(std::string_view text) {
  calendar_date d;
  auto bad = [&] {
    return tern::error(errc::invalid_argument, fmt::format("'{}' is not a date of the form YYYY-MM-DD", text));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    auto r = std::from_chars(text.data() + at, text.data() + at + len, out);
    return r.ec == std::errc() && r.ptr == text.data() + at + len;
  };
  if (!num(0, 4, d.year) || !num(5, 2, d.month) || !num(8, 2, d.day)) return bad();
  static constexpr int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days[d.month - 1]) return bad();
  const bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
  if (d.month == 2 && d.day == 29 && !leap) return bad();
  return d;
}

result<boost::json::object> conversation_variables(const boost::json::value& conversation) {
  const auto* doc = conversation.if_object();
  if (!doc) return tern::error(errc::invalid_argument, "a conversation must be a JSON object with \"messages\"");
  const auto* messages = doc->if_contains("messages");
  if (!messages || !messages->is_array())
    return tern::error(errc::invalid_argument, "\"messages\" must be an array").at("/messages");
  boost::json::object vars;
  for (const auto& kv : *doc) vars[kv.key()] = kv.value();
  if (!vars.contains("tools")) vars["tools"] = nullptr;
  if (!vars.contains("documents")) vars["documents"] = nullptr;
  if (!vars.contains("add_generation_prompt")) vars["add_generation_prompt"] = false;
  return vars;
}

namespace {

result<std::optional<std::string>> special_token(const gguf_file& file, std::string_view id_key) {
  if (!file.has(id_key)) return std::optional<std::string>();
  TERN_TRY(const auto id, file.get_uint(id_key));
  TERN_TRY(const auto tokens, file.get_string_array("tokenizer.ggml.tokens"));
  if (id >= tokens.size())
    return tern::error(errc::parse_error, fmt::format("{} is {}, past the {} tokens of the vocabulary", id_key, id,
                                                      tokens.size()))
        .at(file.name());
  return std::optional<std::string>(std::string(tokens[id]));
}

}  // namespace

result<model_special_tokens> read_special_tokens(const gguf_file& file) {
  model_special_tokens t;
  TERN_TRY(t.bos_token, special_token(file, "tokenizer.ggml.bos_token_id"));
  TERN_TRY(t.eos_token, special_token(file, "tokenizer.ggml.eos_token_id"));
  return t;
}

result<model_chat_template> read_chat_template(const gguf_file& file, std::string_view variant) {
  const std::string key =
      variant.empty() ? std::string("tokenizer.chat_template") : fmt::format("tokenizer.chat_template.{}", variant);
  if (!file.has(key)) {
    std::string have;
    for (const auto& kv : file.metadata()) {
      if (kv.key.rfind("tokenizer.chat_template", 0) != 0) continue;
      have += have.empty() ? "" : ", ";
      have += kv.key;
    }
    return tern::error(errc::not_found, fmt::format("key '{}' is missing ({})", key,
                                                    have.empty() ? "the file has no chat template"
                                                                 : "the file has: " + have))
        .at(file.name());
  }
  TERN_TRY(const auto text, file.get_string(key));
  model_chat_template out;
  out.source = std::string(text);
  out.name = fmt::format("{}: {}", file.name(), key);
  TERN_TRY(out.tokens, read_special_tokens(file));
  return out;
}

}  // namespace tern::engine
