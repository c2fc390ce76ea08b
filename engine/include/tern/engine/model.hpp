// A loaded model: hyper-parameters and weights read from a GGUF file.
//
//   TERN_TRY(auto m, tern::engine::model::load("qwen2.5-0.5b-q8_0.gguf"));
//   tern::engine::session s(m, 2048);
//   TERN_TRY(auto logits, s.eval(prompt_ids));   // logits of the last token
//
// A model is immutable after load and may be shared by many sessions on many
// threads. Weights stay memory-mapped and in their stored (possibly
// quantized) type; activations are float32. Architectures: llama (Llama 3.x,
// SmolLM2, TinyLlama, TinyStories), qwen2 (Qwen2.5, DeepSeek-R1-Distill-Qwen),
// qwen3. Every hyper-parameter comes from the file's metadata.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/tensor_type.hpp>
#include <tern/engine/thread_pool.hpp>
#include <tern/engine/tokenizer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tern::engine {

enum class rope_style {
  normal,  // rotate pairs (2i, 2i+1) — llama in GGUF (its Q/K rows are permuted at conversion)
  neox,    // rotate pairs (i, i + n_rot/2) — qwen2, qwen3
};

struct hparams {
  std::string arch;             // general.architecture
  std::int64_t n_vocab = 0;     // rows of token_embd
  std::int64_t n_ctx_train = 0; // <arch>.context_length
  std::int64_t n_embd = 0;      // <arch>.embedding_length
  std::int64_t n_layer = 0;     // <arch>.block_count
  std::int64_t n_ff = 0;        // <arch>.feed_forward_length
  std::int64_t n_head = 0;      // <arch>.attention.head_count
  std::int64_t n_head_kv = 0;   // <arch>.attention.head_count_kv (default n_head)
  std::int64_t head_dim = 0;    // <arch>.attention.key_length (default n_embd / n_head)
  std::int64_t n_rot = 0;       // <arch>.rope.dimension_count (default head_dim)
  double rope_freq_base = 10000.0;  // <arch>.rope.freq_base
  float rms_eps = 1e-5f;        // <arch>.attention.layer_norm_rms_epsilon
  rope_style rope = rope_style::normal;
  bool qkv_bias = false;        // attn_q/k/v.bias present (qwen2)
  bool qk_norm = false;         // per-head RMSNorm of Q and K (qwen3)
  bool tied_output = false;     // no output.weight: logits use token_embd
};

// A weight tensor in the mapping. Shapes in ggml order: ne0 = values per row.
struct weight {
  tensor_type type = tensor_type::f32;
  const std::uint8_t* data = nullptr;  // into the model's mapping; nullptr = absent
  std::int64_t ne0 = 0, ne1 = 1;
  std::uint64_t row_bytes = 0;
  const std::uint8_t* row(std::int64_t i) const { return data + static_cast<std::uint64_t>(i) * row_bytes; }
  explicit operator bool() const { return data != nullptr; }
};

struct layer_weights {
  weight attn_norm;                // F32 [n_embd]
  weight wq, wk, wv;               // [n_embd, n_head*head_dim], [n_embd, n_head_kv*head_dim] x2
  weight bq, bk, bv;               // F32 biases (qwen2) or absent
  weight q_norm, k_norm;           // F32 [head_dim] (qwen3) or absent
  weight wo;                       // [n_head*head_dim, n_embd]
  weight ffn_norm;                 // F32 [n_embd]
  weight ffn_gate, ffn_up;         // [n_embd, n_ff]
  weight ffn_down;                 // [n_ff, n_embd]
};

struct model_weights {
  weight token_embd;               // [n_embd, n_vocab]
  weight output_norm;              // F32 [n_embd]
  weight output;                   // [n_embd, n_vocab]; == token_embd when tied
  std::vector<layer_weights> layers;
};

struct load_options {
  int n_threads = 0;  // threads for the forward pass; 0 = hardware concurrency
};

class model {
 public:
  // Opens, maps and validates a GGUF model: architecture known, every
  // required tensor present with the shape the hyper-parameters imply and a
  // type we can compute with. Errors name the file and the key or tensor.
  static result<std::shared_ptr<const model>> load(const std::filesystem::path& path, const load_options& options = {});
  // The same over an already opened file (the model takes ownership).
  static result<std::shared_ptr<const model>> from_gguf(gguf_file file, const load_options& options = {});

  const hparams& params() const noexcept { return hparams_; }
  const model_weights& weights() const noexcept { return weights_; }
  const gguf_file& file() const noexcept { return file_; }
  // The tokenizer from the file's tokenizer.ggml.* keys; nullptr when the
  // file has none (a bare weights file).
  const tokenizer* vocab() const noexcept { return tokenizer_.get(); }
  int n_threads() const noexcept { return n_threads_; }
  // The engine-owned threads that split each product. Concurrent users are
  // serialised by the pool itself, so sessions on different threads are safe.
  thread_pool& pool() const noexcept { return *pool_; }

  // Bytes of weights read to produce one token (every matrix once): the
  // numerator of the memory-bandwidth bound on decode speed.
  std::uint64_t weight_bytes_per_token() const noexcept;

  explicit model(gguf_file file) : file_(std::move(file)) {}  // use load()

 private:
  gguf_file file_;
  hparams hparams_;
  model_weights weights_;
  int n_threads_ = 1;
  std::unique_ptr<thread_pool> pool_;
  std::unique_ptr<tokenizer> tokenizer_;
};

}  // namespace tern::engine
