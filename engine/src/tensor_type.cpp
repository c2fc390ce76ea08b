#include <tern/engine/tensor_type.hpp>

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <limits>
#include <string>

namespace tern::engine {
namespace {

// Block layouts from the GGUF specification / ggml's type traits.
constexpr std::array<tensor_type_info, 20> k_types = {{
    {tensor_type::f32, "f32", 1, 4},
    {tensor_type::f16, "f16", 1, 2},
    {tensor_type::q4_0, "q4_0", 32, 2 + 16},
    {tensor_type::q4_1, "q4_1", 32, 2 + 2 + 16},
    {tensor_type::q5_0, "q5_0", 32, 2 + 4 + 16},
    {tensor_type::q5_1, "q5_1", 32, 2 + 2 + 4 + 16},
    {tensor_type::q8_0, "q8_0", 32, 2 + 32},
    {tensor_type::q8_1, "q8_1", 32, 2 + 2 + 32},
    {tensor_type::q2_k, "q2_k", 256, 16 + 64 + 2 + 2},
    {tensor_type::q3_k, "q3_k", 256, 32 + 64 + 12 + 2},
    {tensor_type::q4_k, "q4_k", 256, 2 + 2 + 12 + 128},
    {tensor_type::q5_k, "q5_k", 256, 2 + 2 + 12 + 32 + 128},
    {tensor_type::q6_k, "q6_k", 256, 128 + 64 + 16 + 2},
    {tensor_type::q8_k, "q8_k", 256, 4 + 256 + 32},
    {tensor_type::i8, "i8", 1, 1},
    {tensor_type::i16, "i16", 1, 2},
    {tensor_type::i32, "i32", 1, 4},
    {tensor_type::i64, "i64", 1, 8},
    {tensor_type::f64, "f64", 1, 8},
    {tensor_type::bf16, "bf16", 1, 2},
}};

}  // namespace

const tensor_type_info* find_tensor_type(std::uint32_t id) noexcept {
  for (const auto& t : k_types)
    if (static_cast<std::uint32_t>(t.type) == id) return &t;
  return nullptr;
}

const tensor_type_info& info(tensor_type type) noexcept {
  const auto* t = find_tensor_type(static_cast<std::uint32_t>(type));
  TERN_ASSERT(t != nullptr, "info() of an unknown tensor_type value");
  return *t;
}

std::string to_string(tensor_type type) {
  if (const auto* t = find_tensor_type(static_cast<std::uint32_t>(type))) return std::string(t->name);
  return fmt::format("type {}", static_cast<std::uint32_t>(type));
}

result<tensor_type> parse_tensor_type(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& t : k_types)
    if (t.name == lower) return t.type;
  return fail(errc::invalid_argument, fmt::format("unknown tensor type '{}'", name));
}

result<std::uint64_t> bytes_for(tensor_type type, std::uint64_t n_elems) {
  const auto& t = info(type);
  if (n_elems % t.block_elems != 0)
    return fail(errc::invalid_argument, fmt::format("{} values is not a whole number of {} blocks of {}", n_elems,
                                                    t.name, t.block_elems));
  const std::uint64_t blocks = n_elems / t.block_elems;
  if (blocks > std::numeric_limits<std::uint64_t>::max() / t.block_bytes)
    return fail(errc::limit_exceeded, fmt::format("{} values of {} overflow a 64-bit byte count", n_elems, t.name));
  return blocks * t.block_bytes;
}

}  // namespace tern::engine
