// Random-weight models of any shape, written as GGUF (`tern make-model`), for
// tests and benchmarks: the same tensor names and metadata keys llama.cpp uses
// for the llama, qwen2 and qwen3 architectures, weights drawn from N(0, 0.02)
// (seeded, reproducible), norms = 1, biases N(0, 0.02).
// The tokenizer (every tokenizer.* key) and the vocabulary size can be
// borrowed from an existing GGUF file.
//
//   TERN_TRY(auto vocab, gguf_file::open("qwen2-vocab.gguf"));
//   random_model_spec spec;
//   spec.arch = "qwen2"; spec.n_layer = 24; spec.n_embd = 896; spec.n_head = 14;
//   spec.n_head_kv = 2; spec.n_ff = 4864; spec.type = tensor_type::q8_0;
//   spec.vocab = &vocab;
//   TERN_CHECK(write_random_model(spec, "qwen2-0.5b-random-q8_0.gguf"));
//
// Matrices (token_embd, attn_q/k/v/output, ffn_gate/up/down, output) use
// spec.type; norms and biases stay F32. Tensors are generated one at a time
// while the file is written, so memory stays near one tensor's size.
// Errors (invalid_argument) name the option at fault (shape not divisible by
// heads, row length not a multiple of the type's block size, unknown arch).
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/tensor_type.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tern::engine {

class gguf_writer;

struct random_model_spec {
  std::string arch = "llama";        // llama, qwen2 (Q/K/V biases), qwen3 (Q/K norms)
  std::uint32_t n_layer = 2;
  std::uint32_t n_embd = 64;         // hidden size
  std::uint32_t n_head = 4;
  std::uint32_t n_head_kv = 0;       // 0: same as n_head
  std::uint32_t head_dim = 0;        // 0: n_embd / n_head
  std::uint32_t n_ff = 0;            // 0: 4 * n_embd
  std::uint32_t n_vocab = 0;         // 0: the size of vocab's token list (required without vocab)
  std::uint32_t n_ctx = 4096;        // context_length
  std::optional<float> rope_theta;   // default: 10000 for llama, 1e6 for qwen2/qwen3
  std::optional<float> rms_eps;      // default: 1e-5 for llama, 1e-6 for qwen2/qwen3
  std::optional<bool> tied;          // tied output embedding; default: true for qwen2/qwen3, false for llama
  tensor_type type = tensor_type::f16;  // matrices; any type quantize_row supports
  std::uint64_t seed = 42;
  std::string name;                  // general.name; default describes the shape
  const gguf_file* vocab = nullptr;  // tokenizer to copy (borrowed; only read during the call)
};

// Fills `w` with the metadata and tensors of a random model (tensor data is
// produced when `w` is written; `spec.vocab` must outlive only this call, its
// keys are copied). Errors: invalid_argument naming the option.
result<void> build_random_model(const random_model_spec& spec, gguf_writer& w);

// build_random_model, then gguf_writer::write(path).
result<void> write_random_model(const random_model_spec& spec, const std::filesystem::path& path);

// N(0, sigma) values for elements first .. first+n-1 of the sequence (seed,
// stream): counter-based (element i depends only on seed, stream and i), so
// independent of how the caller splits the work; reproducible wherever the C
// library's log/sin/cos round alike (glibc on x86-64 and arm64 do).
void random_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, float sigma, float* out,
                   std::size_t n) noexcept;

}  // namespace tern::engine
