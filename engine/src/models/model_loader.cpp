// Reads hyper-parameters and binds weight tensors from a GGUF file, checking
// each tensor's presence, shape and type against what the hyper-parameters
// imply, so the forward pass never meets a surprise.
#include "architecture.hpp"

#include <tern/engine/model.hpp>
#include <tern/engine/quant.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace tern::engine {
namespace detail {

const architecture* find_architecture(std::string_view name) {
  for (const architecture* a : {&llama_architecture(), &qwen2_architecture(), &qwen3_architecture()})
    if (a->name == name) return a;
  return nullptr;
}

}  // namespace detail

namespace {

struct binder {
  const gguf_file& file;

  // Binds tensor `name` with shape [ne0, ne1] (ne1 = 1 for vectors).
  result<weight> bind(const std::string& name, std::int64_t ne0, std::int64_t ne1, bool required = true,
                       bool vector_f32 = false) const {
    const gguf_tensor_info* t = file.find_tensor(name);
    if (!t) {
      if (!required) return weight{};
      return fail(errc::not_found, fmt::format("required tensor '{}' is missing", name));
    }
    const auto want = fmt::format("[{}, {}]", ne0, ne1);
    if (static_cast<std::int64_t>(t->ne[0]) != ne0 || static_cast<std::int64_t>(t->ne[1]) != ne1 || t->ne[2] != 1 ||
        t->ne[3] != 1)
      return fail(errc::parse_error, fmt::format("tensor '{}' has shape [{}, {}, {}, {}], expected {}", name, t->ne[0],
                                                 t->ne[1], t->ne[2], t->ne[3], want));
    if (vector_f32 && t->type != tensor_type::f32)
      return fail(errc::unsupported, fmt::format("tensor '{}' is {}, expected f32", name, to_string(t->type)));
    if (!is_supported(t->type))
      return fail(errc::unsupported,
                  fmt::format("tensor '{}' has type {}, which Tern cannot compute with", name, to_string(t->type)));
    weight w;
    w.type = t->type;
    w.data = t->data;
    w.ne0 = ne0;
    w.ne1 = ne1;
    TERN_TRY(w.row_bytes, bytes_for(t->type, static_cast<std::uint64_t>(ne0)));
    return w;
  }
};

result<hparams> read_hparams(const gguf_file& file, const detail::architecture& arch) {
  const std::string a(arch.name);
  auto key = [&](std::string_view suffix) { return fmt::format("{}.{}", a, suffix); };
  hparams hp;
  hp.arch = a;
  TERN_TRY(hp.n_ctx_train, file.get_int(key("context_length")));
  TERN_TRY(hp.n_embd, file.get_int(key("embedding_length")));
  TERN_TRY(hp.n_layer, file.get_int(key("block_count")));
  TERN_TRY(hp.n_ff, file.get_int(key("feed_forward_length")));
  TERN_TRY(hp.n_head, file.get_int(key("attention.head_count")));
  TERN_TRY(hp.n_head_kv, file.get_int_or(key("attention.head_count_kv"), hp.n_head));
  if (hp.n_embd <= 0 || hp.n_layer <= 0 || hp.n_ff <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 ||
      hp.n_ctx_train <= 0)
    return fail(errc::parse_error, "hyper-parameters must be positive (embedding_length, block_count, "
                                   "feed_forward_length, head_count, head_count_kv, context_length)");
  if (hp.n_head % hp.n_head_kv != 0)
    return fail(errc::parse_error,
                fmt::format("head_count {} is not a multiple of head_count_kv {}", hp.n_head, hp.n_head_kv));
  if (hp.n_embd % hp.n_head != 0 && !file.has(key("attention.key_length")))
    return fail(errc::parse_error, fmt::format("embedding_length {} is not a multiple of head_count {} and "
                                               "attention.key_length is absent", hp.n_embd, hp.n_head));
  TERN_TRY(hp.head_dim, file.get_int_or(key("attention.key_length"), hp.n_embd / hp.n_head));
  TERN_TRY(auto value_dim, file.get_int_or(key("attention.value_length"), hp.head_dim));
  if (value_dim != hp.head_dim)
    return fail(errc::unsupported, fmt::format("attention.value_length {} differs from key_length {}", value_dim,
                                               hp.head_dim));
  TERN_TRY(hp.n_rot, file.get_int_or(key("rope.dimension_count"), hp.head_dim));
  if (hp.head_dim <= 0 || hp.head_dim > 1024 || hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
    return fail(errc::parse_error, fmt::format("bad attention.key_length {} / rope.dimension_count {}", hp.head_dim,
                                               hp.n_rot));
  TERN_TRY(hp.rope_freq_base, file.get_number_or(key("rope.freq_base"), arch.default_rope_base));
  TERN_TRY(double eps, file.get_number_or(key("attention.layer_norm_rms_epsilon"), 1e-5));
  hp.rms_eps = static_cast<float>(eps);
  if (!(hp.rope_freq_base > 0) || !(eps > 0))
    return fail(errc::parse_error, "rope.freq_base and attention.layer_norm_rms_epsilon must be positive");
  if (file.has(key("rope.scaling.type"))) {
    TERN_TRY(auto scaling, file.get_string(key("rope.scaling.type")));
    if (scaling != "none")
      return fail(errc::unsupported, fmt::format("RoPE scaling '{}' is not implemented yet", scaling));
  }
  hp.rope = arch.rope_neox ? rope_style::neox : rope_style::normal;
  hp.qkv_bias = arch.qkv_bias;
  hp.qk_norm = arch.qk_norm;
  return hp;
}

result<void> bind_weights(const gguf_file& file, hparams& hp, model_weights& w) {
  binder b{file};
  const auto* embd = file.find_tensor("token_embd.weight");
  if (!embd) return fail(errc::not_found, "required tensor 'token_embd.weight' is missing");
  hp.n_vocab = static_cast<std::int64_t>(embd->ne[1]);
  const std::int64_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;

  TERN_TRY(w.token_embd, b.bind("token_embd.weight", hp.n_embd, hp.n_vocab));
  TERN_TRY(w.output_norm, b.bind("output_norm.weight", hp.n_embd, 1, true, true));
  TERN_TRY(w.output, b.bind("output.weight", hp.n_embd, hp.n_vocab, /*required=*/false));
  hp.tied_output = !w.output;
  if (hp.tied_output) w.output = w.token_embd;

  w.layers.resize(static_cast<std::size_t>(hp.n_layer));
  for (std::int64_t i = 0; i < hp.n_layer; ++i) {
    auto& l = w.layers[static_cast<std::size_t>(i)];
    auto name = [i](std::string_view what) { return fmt::format("blk.{}.{}", i, what); };
    TERN_TRY(l.attn_norm, b.bind(name("attn_norm.weight"), hp.n_embd, 1, true, true));
    TERN_TRY(l.wq, b.bind(name("attn_q.weight"), hp.n_embd, q_dim));
    TERN_TRY(l.wk, b.bind(name("attn_k.weight"), hp.n_embd, kv_dim));
    TERN_TRY(l.wv, b.bind(name("attn_v.weight"), hp.n_embd, kv_dim));
    TERN_TRY(l.wo, b.bind(name("attn_output.weight"), q_dim, hp.n_embd));
    // Biases: required for qwen2, accepted (and used) for any architecture that has them.
    TERN_TRY(l.bq, b.bind(name("attn_q.bias"), q_dim, 1, hp.qkv_bias, true));
    TERN_TRY(l.bk, b.bind(name("attn_k.bias"), kv_dim, 1, hp.qkv_bias, true));
    TERN_TRY(l.bv, b.bind(name("attn_v.bias"), kv_dim, 1, hp.qkv_bias, true));
    TERN_TRY(l.q_norm, b.bind(name("attn_q_norm.weight"), hp.head_dim, 1, hp.qk_norm, true));
    TERN_TRY(l.k_norm, b.bind(name("attn_k_norm.weight"), hp.head_dim, 1, hp.qk_norm, true));
    TERN_TRY(l.ffn_norm, b.bind(name("ffn_norm.weight"), hp.n_embd, 1, true, true));
    TERN_TRY(l.ffn_gate, b.bind(name("ffn_gate.weight"), hp.n_embd, hp.n_ff));
    TERN_TRY(l.ffn_up, b.bind(name("ffn_up.weight"), hp.n_embd, hp.n_ff));
    TERN_TRY(l.ffn_down, b.bind(name("ffn_down.weight"), hp.n_ff, hp.n_embd));
  }
  return ok();
}

}  // namespace

result<std::shared_ptr<const model>> model::load(const std::filesystem::path& path, const load_options& options) {
  TERN_TRY(auto file, gguf_file::open(path));
  return from_gguf(std::move(file), options);
}

result<std::shared_ptr<const model>> model::from_gguf(gguf_file file, const load_options& options) {
  auto m = std::make_shared<model>(std::move(file));
  const std::string where = m->file_.name();
  auto arch_name = m->file_.get_string("general.architecture");
  if (!arch_name) return std::move(arch_name).error().at(where);
  const auto* arch = detail::find_architecture(*arch_name);
  if (!arch)
    return fail(errc::unsupported, fmt::format("architecture '{}' is not supported (llama, qwen2, qwen3 are)",
                                               *arch_name))
        .at(where);
  auto hp = read_hparams(m->file_, *arch);
  if (!hp) return std::move(hp).error().at(where);
  m->hparams_ = std::move(*hp);
  if (auto bound = bind_weights(m->file_, m->hparams_, m->weights_); !bound) return std::move(bound).error().at(where);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m->n_threads_ = options.n_threads > 0 ? options.n_threads : hw;
  m->pool_ = std::make_unique<thread_pool>(m->n_threads_);
  if (m->file_.has("tokenizer.ggml.model")) {
    auto tok = tokenizer::from_gguf(m->file_);
    if (!tok) return std::move(tok).error().at(where);
    if (static_cast<std::int64_t>(tok->n_tokens()) > m->hparams_.n_vocab)
      return fail(errc::parse_error, fmt::format("the tokenizer has {} tokens but token_embd only {} rows",
                                                 tok->n_tokens(), m->hparams_.n_vocab))
          .at(where);
    m->tokenizer_ = std::make_unique<tokenizer>(std::move(*tok));
  }
  return std::shared_ptr<const model>(std::move(m));
}

std::uint64_t model::weight_bytes_per_token() const noexcept {
  auto bytes = [](const weight& w) { return w ? w.row_bytes * static_cast<std::uint64_t>(w.ne1) : 0; };
  std::uint64_t total = bytes(weights_.output) + bytes(weights_.output_norm) + weights_.token_embd.row_bytes;
  for (const auto& l : weights_.layers)
    for (const weight* w : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.wo,
                            &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      total += bytes(*w);
  return total;
}

}  // namespace tern::engine
