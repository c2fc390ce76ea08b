// GGUF reader (format versions 2 and 3).
//
// A gguf_file is a validated, read-only view of one GGUF file: the file is
// memory-mapped (or, for from_bytes, held in memory) and every count, string
// length, offset, tensor shape and type is checked before it is used, so a
// truncated, corrupt or hostile file gives a tern::error (errc::parse_error,
// errc::unsupported or errc::limit_exceeded) naming the file, the byte offset
// and the key or tensor, never a crash, hang or huge allocation.
//
//   TERN_TRY(auto file, tern::engine::gguf_file::open("model.gguf"));
//   TERN_TRY(auto n_layer, file.get_uint("llama.block_count"));
//   TERN_TRY(auto tokens, file.get_string_array("tokenizer.ggml.tokens"));
//   TERN_TRY(const auto* wq, file.tensor("blk.0.attn_q.weight"));
//   const void* p = wq->data;  // wq->n_bytes bytes of wq->type, shape wq->ne
//
// Layout (GGUF spec, little-endian): "GGUF", u32 version, u64 n_tensors,
// u64 n_kv, then n_kv × (string key, u32 value type, value), then
// n_tensors × (string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset),
// padding to general.alignment (default 32), then the tensor data; each
// tensor's offset is relative to the start of that data section.
//
// Ownership and lifetime: gguf_file is move-only and owns the mapping. Every
// string_view, span and data pointer it hands out points into the mapping and
// stays valid while the gguf_file lives (moving the gguf_file keeps them
// valid). Thread safety: const member functions may be called concurrently.
#pragma once

#include <tern/core/result.hpp>
#include <tern/engine/tensor_type.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tern::engine {

// Metadata value types, numbered as in the GGUF spec (gguf_metadata_value_type).
enum class gguf_type : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

// "u32", "string", "array", ...; "type N" for an id outside the spec.
std::string to_string(gguf_type type);
// Encoded size of one scalar of this type; 0 for string and array (variable).
std::size_t gguf_scalar_size(gguf_type type) noexcept;
bool gguf_is_integer(gguf_type type) noexcept;

// One metadata key/value. Scalars and arrays are stored as their encoded bytes
// in the mapping; read them through gguf_file's getters.
struct gguf_kv {
  std::string_view key;
  gguf_type type = gguf_type::u8;
  // For arrays: the element type and element count; otherwise u8 / 0.
  gguf_type array_type = gguf_type::u8;
  std::uint64_t array_size = 0;
  // Absolute byte offset of the value (just after the u32 type tag).
  std::uint64_t offset = 0;
  // The value exactly as encoded in the file (for arrays: element type, count,
  // elements). gguf_writer::copy_kv writes it back unchanged.
  std::span<const std::uint8_t> raw;
  // For string arrays: the index of the first element in the file's string pool.
  std::size_t strings_begin = 0;
};

struct gguf_tensor_info {
  std::string_view name;
  tensor_type type = tensor_type::f32;
  std::uint32_t n_dims = 0;              // 0..4 as stored in the file
  std::array<std::uint64_t, 4> ne{1, 1, 1, 1};  // ggml order: ne[0] is a row; unused dims are 1
  std::uint64_t n_elems = 0;
  std::uint64_t n_bytes = 0;
  std::uint64_t offset = 0;              // absolute byte offset of the data in the file
  // Into the mapping. Its address is a multiple of the file's alignment (up to
  // the page size for open(), whose mapping is page-aligned; up to 64 for
  // from_bytes(), whose copy is 64-byte aligned); for view_bytes() the offset
  // is aligned, the address only as much as the caller's buffer.
  const std::uint8_t* data = nullptr;
  std::uint64_t info_offset = 0;         // byte offset of this tensor's info record (for errors)
};

class gguf_file {
 public:
  // Maps `path` read-only and validates it. Errors: io_error (cannot open/map),
  // parse_error (malformed), unsupported (v1, big-endian, unknown tensor
  // type, nested arrays), limit_exceeded (sizes that overflow). Every error's
  // outermost context frame is the path.
  static result<gguf_file> open(const std::filesystem::path& path);
  // The same validation over bytes held in memory (tests, fuzzing). Takes the
  // bytes by value (move them in to avoid a copy); `name` stands for the path
  // in error messages.
  static result<gguf_file> from_bytes(std::vector<std::uint8_t> bytes, std::string name = "<memory>");
  // Parses bytes the caller owns and keeps alive (and unchanged) for as long as
  // the returned gguf_file is used. No copy.
  static result<gguf_file> view_bytes(std::span<const std::uint8_t> bytes, std::string name = "<memory>");

  gguf_file(gguf_file&&) noexcept;
  gguf_file& operator=(gguf_file&&) noexcept;
  gguf_file(const gguf_file&) = delete;
  gguf_file& operator=(const gguf_file&) = delete;
  ~gguf_file();

  const std::string& name() const noexcept { return name_; }  // the path, or the name given
  std::uint32_t version() const noexcept { return version_; }  // 2 or 3
  std::uint64_t alignment() const noexcept { return alignment_; }  // general.alignment, default 32
  std::uint64_t data_offset() const noexcept { return data_offset_; }  // start of the tensor data section
  std::uint64_t file_size() const noexcept;
  std::span<const std::uint8_t> bytes() const noexcept;  // the whole file

  // ---- metadata ----
  std::span<const gguf_kv> metadata() const noexcept { return kvs_; }  // in file order
  const gguf_kv* find(std::string_view key) const noexcept;  // nullptr when absent
  bool has(std::string_view key) const noexcept { return find(key) != nullptr; }

  // Strict getters: the stored type must be exactly the requested one.
  // Errors: not_found ("key 'x' is missing") or parse_error ("key 'x' is u32,
  // expected string"), with the file name as context.
  result<std::string_view> get_string(std::string_view key) const;
  result<bool> get_bool(std::string_view key) const;
  result<std::uint8_t> get_u8(std::string_view key) const;
  result<std::int8_t> get_i8(std::string_view key) const;
  result<std::uint16_t> get_u16(std::string_view key) const;
  result<std::int16_t> get_i16(std::string_view key) const;
  result<std::uint32_t> get_u32(std::string_view key) const;
  result<std::int32_t> get_i32(std::string_view key) const;
  result<std::uint64_t> get_u64(std::string_view key) const;
  result<std::int64_t> get_i64(std::string_view key) const;
  result<float> get_f32(std::string_view key) const;
  result<double> get_f64(std::string_view key) const;

  // Lenient getters, because writers differ (u32 vs i32 vs u64 for the same key):
  // get_int accepts any integer type (a u64 above INT64_MAX is limit_exceeded);
  // get_uint accepts any integer type holding a value >= 0; get_number accepts
  // any integer or float type.
  result<std::int64_t> get_int(std::string_view key) const;
  result<std::uint64_t> get_uint(std::string_view key) const;
  result<double> get_number(std::string_view key) const;
  // As above, but a missing key gives `fallback` (a key of the wrong type is
  // still an error).
  result<std::int64_t> get_int_or(std::string_view key, std::int64_t fallback) const;
  result<std::uint64_t> get_uint_or(std::string_view key, std::uint64_t fallback) const;
  result<double> get_number_or(std::string_view key, double fallback) const;
  result<bool> get_bool_or(std::string_view key, bool fallback) const;
  result<std::string_view> get_string_or(std::string_view key, std::string_view fallback) const;

  // Arrays. get_string_array is cheap (views into the mapping, no copy per
  // call; the span lives as long as the file). The numeric ones copy the
  // elements out, because array elements in the file are not aligned.
  // get_i32_array accepts any integer element type whose values fit in i32;
  // get_int_array any integer element type (u64 above INT64_MAX is an error);
  // get_f32_array accepts f32 (and f64, narrowed).
  result<std::span<const std::string_view>> get_string_array(std::string_view key) const;
  result<std::vector<float>> get_f32_array(std::string_view key) const;
  result<std::vector<std::int32_t>> get_i32_array(std::string_view key) const;
  result<std::vector<std::int64_t>> get_int_array(std::string_view key) const;

  // A kv's value as one line of text: numbers in decimal, strings quoted and
  // escaped (shortened past 96 bytes, with the byte count), arrays abbreviated
  // to their first `max_items` elements and the count: `[1, 2, 3, ...] (512 items)`.
  std::string format_value(const gguf_kv& kv, std::size_t max_items = 8) const;

  // ---- tensors ----
  std::span<const gguf_tensor_info> tensors() const noexcept { return tensors_; }  // in file order
  const gguf_tensor_info* find_tensor(std::string_view name) const noexcept;  // nullptr when absent
  // not_found error naming the tensor and the file when absent.
  result<const gguf_tensor_info*> tensor(std::string_view name) const;

 private:
  struct storage;
  gguf_file() = default;
  static result<gguf_file> parse(std::unique_ptr<storage> store, std::string name);
  friend class gguf_parser;

  // The kv for `key` (not_found error when absent, parse_error when `type`
  // is given and differs).
  result<const gguf_kv*> lookup(std::string_view key) const;
  result<const gguf_kv*> lookup(std::string_view key, gguf_type type) const;
  error key_error(errc code, std::string_view key, std::string message) const;

  std::unique_ptr<storage> store_;
  std::string name_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::uint64_t data_offset_ = 0;
  std::vector<gguf_kv> kvs_;
  std::vector<std::string_view> string_pool_;  // elements of all string arrays
  std::vector<gguf_tensor_info> tensors_;
  std::unordered_map<std::string_view, std::size_t> kv_index_;
  std::unordered_map<std::string_view, std::size_t> tensor_index_;
};

}  // namespace tern::engine
