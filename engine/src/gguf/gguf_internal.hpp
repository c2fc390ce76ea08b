// Internals shared by the GGUF reader's source files.
#pragma once

#include <tern/engine/gguf.hpp>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tern::engine {

// Where a gguf_file's bytes live: a read-only mapping, an owned buffer, or a
// caller's buffer. Held by unique_ptr so the bytes never move when the
// gguf_file does (every view points into them).
struct gguf_file::storage {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  void* map_base = nullptr;  // munmap on destruction when set
  std::size_t map_len = 0;
  std::uint8_t* owned = nullptr;  // aligned buffer freed on destruction when set

  storage() = default;
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;
  ~storage();
};

namespace gguf_detail {

// GGUF is little-endian; Tern runs on little-endian hosts only (x86-64, arm64),
// so a copy is a decode. memcpy because metadata is packed (unaligned).
template <class T>
T load(const std::uint8_t* p) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline constexpr std::uint32_t k_max_gguf_type = 12;
inline constexpr std::uint64_t k_default_alignment = 32;

}  // namespace gguf_detail
}  // namespace tern::engine
