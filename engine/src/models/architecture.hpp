// What differs between architectures, one descriptor per file in this folder
// (llama.cpp, qwen2.cpp, qwen3.cpp). The forward pass itself is shared
// (forward.cpp): these families are the same pre-norm decoder with RoPE, GQA
// and SwiGLU, differing only in the flags below.
#pragma once

#include <string_view>

namespace tern::engine::detail {

struct architecture {
  std::string_view name;  // general.architecture
  bool rope_neox;         // rotate (i, i + n_rot/2) pairs rather than (2i, 2i+1)
  bool qkv_bias;          // attn_q/k/v.bias tensors
  bool qk_norm;           // attn_q_norm / attn_k_norm tensors (per-head RMSNorm)
  double default_rope_base;
};

const architecture& llama_architecture();
const architecture& qwen2_architecture();
const architecture& qwen3_architecture();

// The descriptor for general.architecture, or nullptr when unsupported.
const architecture* find_architecture(std::string_view name);

}  // namespace tern::engine::detail
