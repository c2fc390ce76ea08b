// Random-weight GGUF models for tests and benchmarks (`tern make-model`).
// Tensor names and keys follow llama.cpp's (gguf-py constants / llama-arch):
// shapes are in ggml order, a weight for y = W x with x of n_in values is
// ne = {n_in, n_out}.
#include <tern/engine/gguf_writer.hpp>
#include <tern/engine/quant.hpp>
#include <tern/engine/random_model.hpp>

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace tern::engine {

namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// llama.cpp's llama_ftype numbers for general.file_type ("mostly <type>").
std::optional<std::uint32_t> file_type_of(tensor_type t) {
  switch (t) {
    case tensor_type::f32: return 0;
    case tensor_type::f16: return 1;
    case tensor_type::q4_0: return 2;
    case tensor_type::q4_1: return 3;
    case tensor_type::q8_0: return 7;
    case tensor_type::q5_0: return 8;
    case tensor_type::q5_1: return 9;
    case tensor_type::q4_k: return 15;  // Q4_K_M
    case tensor_type::q5_k: return 17;  // Q5_K_M
    case tensor_type::q6_k: return 18;
    case tensor_type::bf16: return 32;
    default: return std::nullopt;
  }
}

struct shape {
  std::uint32_t n_head_kv, head_dim, n_ff, n_vocab;
  float rope_theta, rms_eps;
  bool tied;
};

result<shape> resolve(const random_model_spec& s) {
  auto bad = [](std::string msg) { return fail(errc::invalid_argument, std::move(msg)); };
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3")
    return bad(fmt::format("--arch {}: not one of llama, qwen2, qwen3", s.arch));
  const bool qwen = s.arch != "llama";
  if (s.n_layer == 0) return bad("--layers must be at least 1");
  if (s.n_embd == 0) return bad("--hidden must be at least 1");
  if (s.n_head == 0) return bad("--heads must be at least 1");
  shape r{};
  r.n_head_kv = s.n_head_kv ? s.n_head_kv : s.n_head;
  if (s.n_head % r.n_head_kv != 0)
    return bad(fmt::format("--heads {} is not a multiple of --kv-heads {}", s.n_head, r.n_head_kv));
  if (s.head_dim == 0 && s.n_embd % s.n_head != 0)
    return bad(fmt::format("--hidden {} is not a multiple of --heads {} (or give --head-dim)", s.n_embd, s.n_head));
  r.head_dim = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  if (r.head_dim % 2 != 0) return bad(fmt::format("head dimension {} is odd; RoPE needs an even one", r.head_dim));
  r.n_ff = s.n_ff ? s.n_ff : 4 * s.n_embd;
  if (s.vocab) {
    auto tokens = s.vocab->get_string_array("tokenizer.ggml.tokens");
    if (!tokens) return std::move(tokens).error().at("--vocab-from");
    if (tokens->empty()) return fail(errc::invalid_argument, "has an empty token list").at(s.vocab->name()).at("--vocab-from");
    r.n_vocab = static_cast<std::uint32_t>(tokens->size());
    if (s.n_vocab && s.n_vocab != r.n_vocab)
      return bad(fmt::format("--vocab {} differs from the {} tokens of --vocab-from", s.n_vocab, r.n_vocab));
  } else {
    if (s.n_vocab == 0) return bad("give --vocab-from FILE (to borrow a tokenizer) or --vocab N");
    r.n_vocab = s.n_vocab;
  }
  r.rope_theta = s.rope_theta.value_or(qwen ? 1e6f : 10000.0f);
  r.rms_eps = s.rms_eps.value_or(qwen ? 1e-6f : 1e-5f);
  r.tied = s.tied.value_or(qwen);
  const auto& ti = info(s.type);
  if (!is_supported(s.type) || !file_type_of(s.type))
    return bad(fmt::format("--type {}: cannot be encoded (use f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, "
                           "q5_k or q6_k)",
                           ti.name));
  // Every matrix row (ne[0]) is n_embd, n_head * head_dim or n_ff long.
  const std::pair<const char*, std::uint32_t> rows[] = {
      {"--hidden", s.n_embd}, {"--heads x head dim", s.n_head * r.head_dim}, {"--ffn", r.n_ff}};
  for (const auto& [what, n] : rows)
    if (n % ti.block_elems != 0)
      return bad(fmt::format("{} = {} is not a multiple of the {} block size {}", what, n, ti.name, ti.block_elems));
  return r;
}

// Produces N(0, 0.02) rows of `type`, or a constant for norms.
gguf_writer::tensor_producer make_producer(tensor_type type, std::uint64_t row_len, std::uint64_t seed,
                                           std::string name, std::optional<float> constant) {
  return [=](std::span<std::uint8_t> out) -> result<void> {
    const auto& ti = info(type);
    const std::uint64_t row_bytes = row_len / ti.block_elems * ti.block_bytes;
    const std::uint64_t n_rows = out.size() / row_bytes;
    const std::uint64_t stream = fnv1a(name);
    std::vector<float> row(static_cast<std::size_t>(row_len));
    for (std::uint64_t r = 0; r < n_rows; ++r) {
      if (constant)
        std::fill(row.begin(), row.end(), *constant);
      else
        random_normal(seed, stream, r * row_len, 0.02f, row.data(), row.size());
      quantize_row(type, row.data(), out.data() + r * row_bytes, static_cast<std::int64_t>(row_len));
    }
    return ok();
  };
}

}  // namespace

void random_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, float sigma, float* out,
                   std::size_t n) noexcept {
  const std::uint64_t key = splitmix64(seed ^ splitmix64(stream));
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint64_t i = first + k;
    // Box-Muller on one counter-derived pair of uniforms per two elements.
    const std::uint64_t h1 = splitmix64(key ^ (i >> 1));
    const std::uint64_t h2 = splitmix64(h1);
    const double u1 = (static_cast<double>(h1 >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(h2 >> 11) * 0x1.0p-53;          // [0, 1)
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    out[k] = static_cast<float>(sigma * radius * ((i & 1) ? std::sin(angle) : std::cos(angle)));
  }
}

result<void> build_random_model(const random_model_spec& s, gguf_writer& w) {
  TERN_TRY(const shape r, resolve(s));
  const std::string& a = s.arch;
  auto key = [&](std::string_view k) { return fmt::format("{}.{}", a, k); };

  w.set_string("general.architecture", a);
  w.set_string("general.name", s.name.empty() ? fmt::format("tern-random-{}-L{}-H{}-{}", a, s.n_layer, s.n_embd,
                                                            info(s.type).name)
                                              : s.name);
  w.set_u32("general.file_type", *file_type_of(s.type));
  if (info(s.type).block_elems > 1) w.set_u32("general.quantization_version", 2);
  w.set_u32(key("vocab_size"), r.n_vocab);
  w.set_u32(key("context_length"), s.n_ctx);
  w.set_u32(key("embedding_length"), s.n_embd);
  w.set_u32(key("block_count"), s.n_layer);
  w.set_u32(key("feed_forward_length"), r.n_ff);
  w.set_u32(key("attention.head_count"), s.n_head);
  w.set_u32(key("attention.head_count_kv"), r.n_head_kv);
  if (r.head_dim * s.n_head != s.n_embd || a == "qwen3") {
    w.set_u32(key("attention.key_length"), r.head_dim);
    w.set_u32(key("attention.value_length"), r.head_dim);
  }
  w.set_u32(key("rope.dimension_count"), r.head_dim);
  w.set_f32(key("rope.freq_base"), r.rope_theta);
  w.set_f32(key("attention.layer_norm_rms_epsilon"), r.rms_eps);
  if (s.vocab)
    for (const auto& kv : s.vocab->metadata())
      if (kv.key.starts_with("tokenizer.")) w.copy_kv(kv);

  auto add = [&](const std::string& name, tensor_type type, std::vector<std::uint64_t> ne,
                 std::optional<float> constant = std::nullopt) -> result<void> {
    return w.add_tensor(name, type, ne, make_producer(type, ne[0], s.seed, name, constant));
  };
  const std::uint64_t n_q = std::uint64_t{s.n_head} * r.head_dim;
  const std::uint64_t n_kv = std::uint64_t{r.n_head_kv} * r.head_dim;
  const auto t = s.type;
  const auto f32 = tensor_type::f32;
  TERN_CHECK(add("token_embd.weight", t, {s.n_embd, r.n_vocab}));
  for (std::uint32_t l = 0; l < s.n_layer; ++l) {
    auto blk = [&](std::string_view n) { return fmt::format("blk.{}.{}", l, n); };
    TERN_CHECK(add(blk("attn_norm.weight"), f32, {s.n_embd}, 1.0f));
    TERN_CHECK(add(blk("attn_q.weight"), t, {s.n_embd, n_q}));
    TERN_CHECK(add(blk("attn_k.weight"), t, {s.n_embd, n_kv}));
    TERN_CHECK(add(blk("attn_v.weight"), t, {s.n_embd, n_kv}));
    if (a == "qwen2") {
      TERN_CHECK(add(blk("attn_q.bias"), f32, {n_q}));
      TERN_CHECK(add(blk("attn_k.bias"), f32, {n_kv}));
      TERN_CHECK(add(blk("attn_v.bias"), f32, {n_kv}));
    }
    if (a == "qwen3") {
      TERN_CHECK(add(blk("attn_q_norm.weight"), f32, {r.head_dim}, 1.0f));
      TERN_CHECK(add(blk("attn_k_norm.weight"), f32, {r.head_dim}, 1.0f));
    }
    TERN_CHECK(add(blk("attn_output.weight"), t, {n_q, s.n_embd}));
    TERN_CHECK(add(blk("ffn_norm.weight"), f32, {s.n_embd}, 1.0f));
    TERN_CHECK(add(blk("ffn_gate.weight"), t, {s.n_embd, r.n_ff}));
    TERN_CHECK(add(blk("ffn_up.weight"), t, {s.n_embd, r.n_ff}));
    TERN_CHECK(add(blk("ffn_down.weight"), t, {r.n_ff, s.n_embd}));
  }
  TERN_CHECK(add("output_norm.weight", f32, {s.n_embd}, 1.0f));
  if (!r.tied) TERN_CHECK(add("output.weight", t, {s.n_embd, r.n_vocab}));
  return ok();
}

result<void> write_random_model(const random_model_spec& spec, const std::filesystem::path& path) {
  gguf_writer w;
  TERN_CHECK(build_random_model(spec, w));
  return w.write(path);
}

}  // namespace tern::engine
