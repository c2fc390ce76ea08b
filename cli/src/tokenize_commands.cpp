// `tern tokenize -m MODEL.gguf TEXT`: prints the token ids of TEXT, as the
// model's tokenizer gives them (llama.cpp's llama-tokenize, ids only).
#include "command_registry.hpp"

#include <tern/engine/tokenizer.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace {

struct tokenize_options {
  std::string model;
  std::string text;
  std::string file;
  bool no_special = false;
  bool parse_special = false;
  bool pieces = false;
};

// A piece for display: printable ASCII and valid UTF-8 as they are, the rest
// escaped (\n, \t, \r, \\, \xNN), so one piece stays on one line.
std::string escape_piece(std::string_view piece) {
  std::string out;
  for (std::size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (c >= 0x20 && c < 0x7F) out.push_back(static_cast<char>(c));
    else {
      // Keep a complete multi-byte UTF-8 character; escape anything else.
      std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      bool ok = len > 0 && i + len <= piece.size();
      for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(piece[i + k]) & 0xC0) == 0x80;
      if (ok) {
        out.append(piece.substr(i, len));
        i += len;
        continue;
      }
      out += fmt::format("\\x{:02x}", c);
    }
    ++i;
  }
  return out;
}

int run_tokenize(const tokenize_options& o) {
  std::string text = o.text;
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "error: {}: cannot open\n", o.file);
      return 1;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto tok = tern::engine::tokenizer::load(o.model);
  if (!tok) {
    fmt::print(stderr, "error: {}\n", tok.error().describe());
    return 1;
  }
  const auto ids = tok->encode(text, !o.no_special, o.parse_special);
  std::string out;
  if (o.pieces) {
    for (auto id : ids) out += fmt::format("{:>6} -> '{}'\n", id, escape_piece(tok->token_to_piece(id, true)));
  } else {
    for (std::size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? " " : "", ids[i]);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

tern::cli::registrar reg([](CLI::App& app, tern::cli::exit_status& status) {
  auto opts = std::make_shared<tokenize_options>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, with a model's tokenizer");
  cmd->add_option("-m,--model", opts->model, "GGUF model file (its tokenizer.ggml.* keys are read)")->required();
  cmd->add_option("text", opts->text, "Text to tokenize");
  cmd->add_option("-f,--file", opts->file, "Read the text from this file instead")->excludes(cmd->get_option("text"));
  cmd->add_flag("--no-special", opts->no_special, "Do not add BOS/EOS (add_special = false)");
  cmd->add_flag("--parse-special", opts->parse_special,
                "Turn the texts of control tokens (<|im_start|>, <s>) into those tokens");
  cmd->add_flag("--pieces", opts->pieces, "Print one token per line: id and piece");
  cmd->callback([&status, opts] { status.code = run_tokenize(*opts); });
});

}  // namespace
