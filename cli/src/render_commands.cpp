// tern render: prints exactly the prompt a model's chat template makes of a
// conversation, as transformers' apply_chat_template would, and nothing else.
//
//   tern render -m model.gguf conversation.json
//   tern render --chat-template t.jinja --var enable_thinking=false --date 2024-07-26 conv.json
#include "command_registry.hpp"

#include <tern/core/json.hpp>
#include <tern/engine/chat_template.hpp>
#include <tern/engine/gguf.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct render_opts {
  std::string model;
  std::string template_file;
  std::string template_name;
  std::vector<std::string> vars;
  std::string date;
  std::string conversation;
};

tern::result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tern::error(tern::errc::io_error, "cannot open the file").at(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return tern::error(tern::errc::io_error, "cannot read the file").at(path);
  return ss.str();
}

boost::json::value token_value(const std::optional<std::string>& t) {
  return t ? boost::json::value(*t) : boost::json::value(nullptr);
}

tern::result<std::string> render(const render_opts& o) {
  if (o.model.empty() && o.template_file.empty())
    return tern::error(tern::errc::invalid_argument, "give a model (-m MODEL.gguf) or --chat-template FILE");
  std::string source, name;
  tern::engine::model_special_tokens tokens;
  if (!o.model.empty()) {
    TERN_TRY(auto file, tern::engine::gguf_file::open(o.model));
    if (o.template_file.empty()) {
      TERN_TRY(auto t, tern::engine::read_chat_template(file, o.template_name));
      source = std::move(t.source);
      name = std::move(t.name);
      tokens = std::move(t.tokens);
    } else {
      TERN_TRY(tokens, tern::engine::read_special_tokens(file));
    }
  }
  if (!o.template_file.empty()) {
    TERN_TRY(source, read_text(o.template_file));
    name = o.template_file;
  }
  TERN_TRY(auto tmpl, tern::engine::chat_template::parse(source, name));

  TERN_TRY(const auto conv_text, read_text(o.conversation));
  auto conv = tern::json::parse(conv_text);
  if (!conv) return std::move(conv).error().at(o.conversation);
  auto vars = tern::engine::conversation_variables(*conv);
  if (!vars) return std::move(vars).error().at(o.conversation);
  if (!vars->contains("bos_token")) (*vars)["bos_token"] = token_value(tokens.bos_token);
  if (!vars->contains("eos_token")) (*vars)["eos_token"] = token_value(tokens.eos_token);
  for (const auto& v : o.vars) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0)
      return tern::error(tern::errc::invalid_argument, fmt::format("--var '{}': expected NAME=JSON", v));
    auto value = tern::json::parse(std::string_view(v).substr(eq + 1));
    if (!value)
      return std::move(value).error().at(fmt::format("--var {}: the value must be JSON (a string needs quotes)",
                                                     v.substr(0, eq)));
    (*vars)[v.substr(0, eq)] = std::move(*value);
  }

  tern::engine::render_options ropts;
  if (!o.date.empty()) {
    TERN_TRY(auto d, tern::engine::parse_calendar_date(o.date));
    ropts.date = d;
  }
  return tmpl.render(*vars, ropts);
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto o = std::make_shared<render_opts>();
  auto* cmd = app.add_subcommand("render", "Print the prompt a model's chat template makes of a conversation");
  cmd->add_option("-m,--model", o->model, "GGUF model whose tokenizer.chat_template (and BOS/EOS tokens) to use");
  cmd->add_option("--chat-template", o->template_file, "Jinja template file to use instead of the model's");
  cmd->add_option("--template-name", o->template_name,
                  "Named template variant of the model (tokenizer.chat_template.NAME, e.g. tool_use)");
  cmd->add_option("--var", o->vars, "Set or override a template variable: NAME=JSON (e.g. enable_thinking=false)");
  cmd->add_option("--date", o->date, "Date strftime_now() sees, YYYY-MM-DD (default: the clock)");
  cmd->add_option("conversation", o->conversation,
                  "JSON file {\"messages\": [...], \"tools\": [...], \"add_generation_prompt\": true}")
      ->required();
  cmd->callback([&status, o] {
    auto out = render(*o);
    if (!out) {
      fmt::print(stderr, "tern render: {}\n", out.error().describe());
      status.code = 1;
      return;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    std::fflush(stdout);
  });
});

}  // namespace
