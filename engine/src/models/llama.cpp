// llama: Llama 2/3.x, SmolLM2, TinyLlama, TinyStories. GGUF conversion
// permutes the Q and K rows so that the "normal" RoPE layout applies.
#include "architecture.hpp"

namespace tern::engine::detail {

const architecture& llama_architecture() {
  static const architecture a{"llama", /*rope_neox=*/false, /*qkv_bias=*/false, /*qk_norm=*/false, 10000.0};
  return a;
}

}  // namespace tern::engine::detail
