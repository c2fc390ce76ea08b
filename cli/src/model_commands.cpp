// Model file commands:
//   tern inspect MODEL.gguf      metadata and tensors of a GGUF file
//   tern make-model ... -o F     a random-weight model of any shape
#include "command_registry.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/random_model.hpp>
#include <tern/engine/tensor_type.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace tern::cli {
namespace {

struct inspect_options {
  std::string path;
  std::size_t max_items = 8;
  bool no_tensors = false;
};

std::string shape_text(const engine::gguf_tensor_info& t) {
  std::string s = "[";
  for (std::uint32_t d = 0; d < std::max<std::uint32_t>(t.n_dims, 1); ++d) s += fmt::format("{}{}", d ? ", " : "", t.ne[d]);
  return s + "]";
}

int run_inspect(const inspect_options& o) {
  auto file = engine::gguf_file::open(o.path);
  if (!file) {
    fmt::print(stderr, "tern inspect: {}\n", file.error().describe());
    return 1;
  }
  const auto& f = *file;
  fmt::print("file: {}\n", f.name());
  fmt::print("gguf version {}, {} bytes, alignment {}, tensor data at byte {}\n", f.version(), f.file_size(),
             f.alignment(), f.data_offset());

  std::size_t key_width = 0;
  for (const auto& kv : f.metadata()) key_width = std::max(key_width, kv.key.size());
  fmt::print("\nmetadata: {} keys\n", f.metadata().size());
  for (const auto& kv : f.metadata()) {
    const std::string type = kv.type == engine::gguf_type::array
                                 ? fmt::format("{}[{}]", engine::to_string(kv.array_type), kv.array_size)
                                 : engine::to_string(kv.type);
    fmt::print("  {:<{}}  {:<14} {}\n", kv.key, key_width, type, f.format_value(kv, o.max_items));
  }

  std::uint64_t total = 0;
  std::size_t name_width = 0, shape_width = 0;
  for (const auto& t : f.tensors()) {
    total += t.n_bytes;
    name_width = std::max(name_width, t.name.size());
    shape_width = std::max(shape_width, shape_text(t).size());
  }
  fmt::print("\ntensors: {} ({} bytes of data)\n", f.tensors().size(), total);
  if (o.no_tensors) return 0;
  for (const auto& t : f.tensors())
    fmt::print("  {:<{}}  {:<5} {:<{}}  {:>10} bytes  @ {}\n", t.name, name_width, engine::to_string(t.type),
               shape_text(t), shape_width, t.n_bytes, t.offset);
  return 0;
}

struct make_model_options {
  engine::random_model_spec spec;
  std::string vocab_from;
  std::string type = "f16";
  std::string out;
  bool tied = false;
  bool untied = false;
  float rope_theta = 0;
  float rms_eps = 0;
};

int run_make_model(make_model_options& o) {
  auto type = engine::parse_tensor_type(o.type);
  if (!type) {
    fmt::print(stderr, "tern make-model: --type: {}\n", type.error().describe());
    return 2;
  }
  o.spec.type = *type;
  if (o.tied && o.untied) {
    fmt::print(stderr, "tern make-model: --tied and --untied exclude each other\n");
    return 2;
  }
  if (o.tied) o.spec.tied = true;
  if (o.untied) o.spec.tied = false;
  if (o.rope_theta > 0) o.spec.rope_theta = o.rope_theta;
  if (o.rms_eps > 0) o.spec.rms_eps = o.rms_eps;
  std::optional<engine::gguf_file> vocab;
  if (!o.vocab_from.empty()) {
    auto v = engine::gguf_file::open(o.vocab_from);
    if (!v) {
      fmt::print(stderr, "tern make-model: --vocab-from: {}\n", v.error().describe());
      return 1;
    }
    vocab.emplace(std::move(v).value());
    o.spec.vocab = &*vocab;
  }
  if (auto r = engine::write_random_model(o.spec, o.out); !r) {
    fmt::print(stderr, "tern make-model: {}\n", r.error().describe());
    return r.error().code() == errc::invalid_argument ? 2 : 1;
  }
  auto check = engine::gguf_file::open(o.out);
  if (!check) {
    fmt::print(stderr, "tern make-model: the written file does not read back: {}\n", check.error().describe());
    return 1;
  }
  std::uint64_t weights = 0;
  for (const auto& t : check->tensors()) weights += t.n_elems;
  fmt::print("wrote {}: {} {} layers, hidden {}, {} tensors, {} parameters, {} bytes\n", o.out, o.spec.arch,
             o.spec.n_layer, o.spec.n_embd, check->tensors().size(), weights, check->file_size());
  return 0;
}

registrar reg_inspect([](CLI::App& app, exit_status& status) {
  auto opts = std::make_shared<inspect_options>();
  auto* cmd = app.add_subcommand("inspect", "Print the metadata and tensors of a GGUF model file");
  cmd->add_option("model", opts->path, "GGUF file")->required();
  cmd->add_option("--max-items", opts->max_items, "Array elements shown per key (default 8)");
  cmd->add_flag("--no-tensors", opts->no_tensors, "Print the tensor count and size, not each tensor");
  cmd->callback([&status, opts] { status.code = run_inspect(*opts); });
});

registrar reg_make_model([](CLI::App& app, exit_status& status) {
  auto o = std::make_shared<make_model_options>();
  auto& s = o->spec;
  auto* cmd = app.add_subcommand("make-model",
                                 "Write a random-weight model of any shape (for tests and benchmarks), borrowing the "
                                 "tokenizer from an existing GGUF file");
  cmd->add_option("--arch", s.arch, "Architecture: llama, qwen2, qwen3")
      ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}))
      ->capture_default_str();
  cmd->add_option("--layers", s.n_layer, "Number of blocks")->capture_default_str();
  cmd->add_option("--hidden", s.n_embd, "Hidden size (embedding length)")->capture_default_str();
  cmd->add_option("--heads", s.n_head, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", s.n_head_kv, "Key/value heads (default: --heads)");
  cmd->add_option("--head-dim", s.head_dim, "Head dimension (default: hidden / heads)");
  cmd->add_option("--ffn", s.n_ff, "Feed-forward size (default: 4 x hidden)");
  cmd->add_option("--vocab-from", o->vocab_from, "GGUF file whose tokenizer.* keys and vocabulary size are copied");
  cmd->add_option("--vocab", s.n_vocab, "Vocabulary size, when no --vocab-from is given (no tokenizer then)");
  cmd->add_option("--context", s.n_ctx, "Training context length")->capture_default_str();
  cmd->add_option("--rope-theta", o->rope_theta, "RoPE base frequency (default: 10000 llama, 1e6 qwen)");
  cmd->add_option("--rms-eps", o->rms_eps, "RMSNorm epsilon (default: 1e-5 llama, 1e-6 qwen)");
  cmd->add_option("--type", o->type, "Type of the matrices: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k")
      ->capture_default_str();
  cmd->add_flag("--tied", o->tied, "Output projection tied to token_embd (default for qwen2/qwen3)");
  cmd->add_flag("--untied", o->untied, "Separate output.weight (default for llama)");
  cmd->add_option("--seed", s.seed, "Random seed")->capture_default_str();
  cmd->add_option("--name", s.name, "general.name (default describes the shape)");
  cmd->add_option("-o,--output", o->out, "Output GGUF file")->required();
  cmd->callback([&status, o] { status.code = run_make_model(*o); });
});

}  // namespace
}  // namespace tern::cli
