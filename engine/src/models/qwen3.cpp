// qwen3: no Q/K/V biases; instead each head's Q and K vectors are
// RMS-normalised (weights [head_dim]) before RoPE. head_dim comes from
// attention.key_length (128 for Qwen3-0.6B, not n_embd / n_head).
#include "architecture.hpp"

namespace tern::engine::detail {

const architecture& qwen3_architecture() {
  static const architecture a{"qwen3", /*rope_neox=*/true, /*qkv_bias=*/false, /*qk_norm=*/true, 1000000.0};
  return a;
}

}  // namespace tern::engine::detail
