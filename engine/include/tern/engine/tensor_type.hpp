// Tensor element types as numbered in GGUF files (the ggml_type ids) and their
// block layout. Quantized types store a row as whole blocks: block_elems
// values packed into block_bytes bytes; a row's length must be a multiple of
// block_elems. Shapes use ggml's order: ne[0] is the fastest-varying dimension
// (a row), so a weight matrix [n_out, n_in] has ne = {n_in, n_out}.
#pragma once

#include <tern/core/result.hpp>

#include <cstdint>
#include <string_view>

namespace tern::engine {

enum class tensor_type : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  bf16 = 30,
};

struct tensor_type_info {
  tensor_type type;
  std::string_view name;     // "q8_0", as llama.cpp prints it (lowercase)
  std::uint32_t block_elems;  // values per block (1 for plain types)
  std::uint32_t block_bytes;  // bytes per block
};

// Layout of a type id read from a file; nullptr for ids we do not know
// (including the IQ* types, which Tern does not implement).
const tensor_type_info* find_tensor_type(std::uint32_t id) noexcept;
// Layout of a known type (never null).
const tensor_type_info& info(tensor_type type) noexcept;
// "q8_0"; "type 99" for an unknown id.
std::string to_string(tensor_type type);
// Parses "q8_0", "F16", ... (case-insensitive).
result<tensor_type> parse_tensor_type(std::string_view name);

// Bytes taken by n_elems values of `type` laid out as one run of whole blocks.
// Errors (invalid_argument) if n_elems is not a multiple of the block size,
// or limit_exceeded if the byte count would overflow 64 bits.
result<std::uint64_t> bytes_for(tensor_type type, std::uint64_t n_elems);

}  // namespace tern::engine
