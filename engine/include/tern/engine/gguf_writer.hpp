// GGUF writer (version 3): metadata of every type, including arrays, and
// tensors given as already-encoded bytes (it does not quantize: encode Q8_0
// etc. with the quant module first).
//
//   tern::engine::gguf_writer w;
//   w.set_string("general.architecture", "llama");
//   w.set_u32("llama.block_count", 2);
//   w.set_array<float>("tokenizer.ggml.scores", scores);
//   TERN_CHECK(w.add_tensor("output_norm.weight", tensor_type::f32, {64}, std::move(bytes)));
//   TERN_CHECK(w.write("out.gguf"));
//
// Keys are written in the order first set; setting a key again replaces its
// value in place. Tensors are written in the order added, each at an offset
// that is a multiple of the alignment (general.alignment, default 32), with
// zero padding. Shapes use ggml's order (ne[0] is a row).
//
// Not thread-safe; a writer is used by one thread. Errors are tern::error
// values (invalid_argument for a bad tensor, io_error for the file system).
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/gguf.hpp>
#include <tern/engine/tensor_type.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tern::engine {

namespace gguf_detail {
template <class T>
constexpr gguf_type type_of() {
  if constexpr (std::is_same_v<T, bool>) return gguf_type::boolean;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return gguf_type::u8;
  else if constexpr (std::is_same_v<T, std::int8_t>) return gguf_type::i8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return gguf_type::u16;
  else if constexpr (std::is_same_v<T, std::int16_t>) return gguf_type::i16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return gguf_type::u32;
  else if constexpr (std::is_same_v<T, std::int32_t>) return gguf_type::i32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return gguf_type::u64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return gguf_type::i64;
  else if constexpr (std::is_same_v<T, float>) return gguf_type::f32;
  else if constexpr (std::is_same_v<T, double>) return gguf_type::f64;
  else static_assert(!sizeof(T*), "not a GGUF scalar type");
}
}  // namespace gguf_detail

class gguf_writer {
 public:
  // Fills `out` (exactly the tensor's byte size) with the encoded data when
  // the file is written, so a large model need not be held in memory at once.
  using tensor_producer = std::function<result<void>(std::span<std::uint8_t> out)>;

  gguf_writer() = default;

  void set_u8(std::string_view key, std::uint8_t v) { set_scalar(key, v); }
  void set_i8(std::string_view key, std::int8_t v) { set_scalar(key, v); }
  void set_u16(std::string_view key, std::uint16_t v) { set_scalar(key, v); }
  void set_i16(std::string_view key, std::int16_t v) { set_scalar(key, v); }
  void set_u32(std::string_view key, std::uint32_t v) { set_scalar(key, v); }
  void set_i32(std::string_view key, std::int32_t v) { set_scalar(key, v); }
  void set_u64(std::string_view key, std::uint64_t v) { set_scalar(key, v); }
  void set_i64(std::string_view key, std::int64_t v) { set_scalar(key, v); }
  void set_f32(std::string_view key, float v) { set_scalar(key, v); }
  void set_f64(std::string_view key, double v) { set_scalar(key, v); }
  void set_bool(std::string_view key, bool v) { set_scalar(key, v); }
  void set_string(std::string_view key, std::string_view v);

  // Arrays of numbers or bools: T is one of the types above (bool, u8..i64, float, double).
  template <class T>
  void set_array(std::string_view key, std::span<const T> values) {
    set_array_from<T>(key, values);
  }
  // (Also takes std::vector<bool>, which has no span.)
  template <class T>
  void set_array(std::string_view key, const std::vector<T>& values) {
    set_array_from<T>(key, values);
  }
  void set_string_array(std::string_view key, std::span<const std::string> values);
  void set_string_array(std::string_view key, std::span<const std::string_view> values);

  // Copies a key/value from a file that was read, byte for byte (used to borrow
  // a tokenizer's tokenizer.* keys).
  void copy_kv(const gguf_kv& kv);
  // Sets a value from its GGUF encoding (everything after the u32 type tag).
  // The caller is responsible for `encoded` being a valid encoding of `type`.
  void set_raw(std::string_view key, gguf_type type, std::vector<std::uint8_t> encoded);
  // Removes a key; false when it was not set.
  bool remove(std::string_view key);
  bool has(std::string_view key) const;

  // Tensor data alignment: a power of two (invalid_argument otherwise). Values
  // other than 32 are recorded as general.alignment (u32).
  result<void> set_alignment(std::uint32_t alignment);

  // Adds a tensor. `ne` has 1..4 dimensions, each > 0, ne[0] a multiple of the
  // type's block size; `data` must be exactly bytes_for(type, n_elems) bytes.
  // A duplicate name is invalid_argument.
  result<void> add_tensor(std::string_view name, tensor_type type, std::span<const std::uint64_t> ne,
                          std::vector<std::uint8_t> data);
  result<void> add_tensor(std::string_view name, tensor_type type, std::initializer_list<std::uint64_t> ne,
                          std::vector<std::uint8_t> data) {
    return add_tensor(name, type, std::span<const std::uint64_t>(ne.begin(), ne.size()), std::move(data));
  }
  // Adds a tensor whose bytes are produced when the file is written.
  result<void> add_tensor(std::string_view name, tensor_type type, std::span<const std::uint64_t> ne,
                          tensor_producer produce);

  std::size_t n_kv() const noexcept { return kvs_.size(); }
  std::size_t n_tensors() const noexcept { return tensors_.size(); }

  // Writes the file (to `path`.tmp, then renamed over `path`, so a failed write
  // leaves no partial file). Errors from a producer are returned with the
  // tensor's name as context.
  result<void> write(const std::filesystem::path& path) const;
  // The whole file in memory (tests, fuzz seeds).
  result<std::vector<std::uint8_t>> to_bytes() const;

 private:
  struct kv_entry {
    std::string key;
    gguf_type type;
    std::vector<std::uint8_t> encoded;
  };
  struct tensor_entry {
    std::string name;
    tensor_type type;
    std::vector<std::uint64_t> ne;
    std::uint64_t n_bytes = 0;
    std::uint64_t offset = 0;  // relative to the data section
    std::vector<std::uint8_t> data;
    tensor_producer produce;
  };

  template <class T, class Range>
  void set_array_from(std::string_view key, const Range& values) {
    constexpr gguf_type type = gguf_detail::type_of<T>();
    std::vector<std::uint8_t> enc;
    enc.reserve(12 + values.size() * sizeof(T));
    put_u32(enc, static_cast<std::uint32_t>(type));
    put_u64(enc, values.size());
    for (const T v : values) put_scalar(enc, v);
    set_raw(key, gguf_type::array, std::move(enc));
  }
  template <class T>
  void set_scalar(std::string_view key, T v) {
    std::vector<std::uint8_t> enc;
    put_scalar(enc, v);
    set_raw(key, gguf_detail::type_of<T>(), std::move(enc));
  }
  template <class T>
  static void put_scalar(std::vector<std::uint8_t>& out, T v) {
    if constexpr (std::is_same_v<T, bool>) {
      out.push_back(v ? 1 : 0);
    } else {
      append(out, &v, sizeof(T));
    }
  }
  // resize + memcpy rather than insert: GCC 12 warns falsely on small inserts.
  static void append(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
  }
  static void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) { put_scalar(out, v); }
  static void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) { put_scalar(out, v); }

  result<tensor_entry*> new_tensor(std::string_view name, tensor_type type, std::span<const std::uint64_t> ne);
  std::vector<std::uint8_t> header() const;  // everything before the data section, padded
  std::uint64_t data_size() const;

  std::vector<kv_entry> kvs_;
  std::vector<tensor_entry> tensors_;
  std::uint32_t alignment_ = 32;
};

}  // namespace tern::engine
