// qwen2: Qwen2 / Qwen2.5, DeepSeek-R1-Distill-Qwen. Biases on Q, K and V;
// NeoX RoPE (rope θ usually 1e6, read from the file).
#include "architecture.hpp"

namespace tern::engine::detail {

const architecture& qwen2_architecture() {
  static const architecture a{"qwen2", /*rope_neox=*/true, /*qkv_bias=*/true, /*qk_norm=*/false, 1000000.0};
  return a;
}

}  // namespace tern::engine::detail
