// gguf_file: where the bytes come from (mmap, owned buffer, borrowed buffer)
// and the typed metadata getters. Parsing is in gguf_parser.cpp.
#include "gguf_internal.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tern::engine {

using gguf_detail::load;

gguf_file::storage::~storage() {
  if (map_base) ::munmap(map_base, map_len);
  if (owned) ::operator delete[](owned, std::align_val_t{64});
}

gguf_file::gguf_file(gguf_file&&) noexcept = default;
gguf_file& gguf_file::operator=(gguf_file&&) noexcept = default;
gguf_file::~gguf_file() = default;

std::uint64_t gguf_file::file_size() const noexcept { return store_ ? store_->size : 0; }

std::span<const std::uint8_t> gguf_file::bytes() const noexcept {
  return store_ ? std::span<const std::uint8_t>(store_->data, store_->size) : std::span<const std::uint8_t>();
}

namespace {

error io_fail(const std::string& what, int err) {
  return fail(errc::io_error, fmt::format("{}: {}", what, std::strerror(err)));
}

// Closes a file descriptor on every path out of open().
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

result<gguf_file> gguf_file::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  fd_guard fd{::open(name.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) return io_fail("cannot open", errno).at(name);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return io_fail("cannot stat", errno).at(name);
  if (!S_ISREG(st.st_mode)) return fail(errc::io_error, "not a regular file").at(name);
  auto store = std::make_unique<storage>();
  store->size = static_cast<std::size_t>(st.st_size);
  static const std::uint8_t k_empty = 0;
  store->data = &k_empty;
  if (store->size > 0) {
    // MAP_PRIVATE + PROT_READ: the process never writes; pages come from the
    // page cache and are shared with other processes mapping the same model.
    void* p = ::mmap(nullptr, store->size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (p == MAP_FAILED) return io_fail("cannot mmap", errno).at(name);
    store->map_base = p;
    store->map_len = store->size;
    store->data = static_cast<const std::uint8_t*>(p);
  }
  return parse(std::move(store), name);
}

result<gguf_file> gguf_file::from_bytes(std::vector<std::uint8_t> bytes, std::string name) {
  // Copied into a 64-byte aligned buffer so tensor data is as aligned as in a
  // mapping (a vector's buffer only guarantees 16).
  auto store = std::make_unique<storage>();
  store->size = bytes.size();
  store->owned = static_cast<std::uint8_t*>(::operator new[](bytes.size() + 1, std::align_val_t{64}));
  if (!bytes.empty()) std::memcpy(store->owned, bytes.data(), bytes.size());
  store->data = store->owned;
  bytes = {};
  return parse(std::move(store), std::move(name));
}

result<gguf_file> gguf_file::view_bytes(std::span<const std::uint8_t> bytes, std::string name) {
  auto store = std::make_unique<storage>();
  static const std::uint8_t k_empty = 0;
  store->data = bytes.empty() ? &k_empty : bytes.data();
  store->size = bytes.size();
  return parse(std::move(store), std::move(name));
}

// ---- metadata lookup ----

const gguf_kv* gguf_file::find(std::string_view key) const noexcept {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second];
}

error gguf_file::key_error(errc code, std::string_view key, std::string message) const {
  return fail(code, std::move(message)).at(fmt::format("key '{}'", key)).at(name_);
}

result<const gguf_kv*> gguf_file::lookup(std::string_view key) const {
  const gguf_kv* kv = find(key);
  if (!kv) return key_error(errc::not_found, key, "missing");
  return kv;
}

result<const gguf_kv*> gguf_file::lookup(std::string_view key, gguf_type type) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (kv->type != type)
    return key_error(errc::parse_error, key,
                     fmt::format("is {}, expected {}", kv->type == gguf_type::array
                                                           ? fmt::format("an array of {}", to_string(kv->array_type))
                                                           : to_string(kv->type),
                                 to_string(type)));
  return kv;
}

namespace {

// A decoded integer of any GGUF integer type.
struct any_int {
  bool negative = false;
  std::uint64_t magnitude = 0;  // |value|
};

any_int decode_int(gguf_type type, const std::uint8_t* p) {
  auto from_signed = [](std::int64_t v) {
    return v < 0 ? any_int{true, static_cast<std::uint64_t>(-(v + 1)) + 1} : any_int{false, static_cast<std::uint64_t>(v)};
  };
  switch (type) {
    case gguf_type::u8: return {false, load<std::uint8_t>(p)};
    case gguf_type::u16: return {false, load<std::uint16_t>(p)};
    case gguf_type::u32: return {false, load<std::uint32_t>(p)};
    case gguf_type::u64: return {false, load<std::uint64_t>(p)};
    case gguf_type::i8: return from_signed(load<std::int8_t>(p));
    case gguf_type::i16: return from_signed(load<std::int16_t>(p));
    case gguf_type::i32: return from_signed(load<std::int32_t>(p));
    case gguf_type::i64: return from_signed(load<std::int64_t>(p));
    default: return {};
  }
}

double decode_number(gguf_type type, const std::uint8_t* p) {
  if (type == gguf_type::f32) return load<float>(p);
  if (type == gguf_type::f64) return load<double>(p);
  const any_int v = decode_int(type, p);
  return v.negative ? -static_cast<double>(v.magnitude) : static_cast<double>(v.magnitude);
}

constexpr std::uint64_t k_i64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Range-checks an any_int into int64.
bool to_i64(any_int v, std::int64_t& out) {
  if (!v.negative) {
    if (v.magnitude > k_i64_max) return false;
    out = static_cast<std::int64_t>(v.magnitude);
    return true;
  }
  if (v.magnitude > k_i64_max + 1) return false;
  out = v.magnitude == k_i64_max + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v.magnitude);
  return true;
}

// Elements of a numeric array start after the u32 element type and u64 count.
constexpr std::size_t k_array_header = 12;

}  // namespace

result<std::string_view> gguf_file::get_string(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key, gguf_type::string));
  return std::string_view(reinterpret_cast<const char*>(kv->raw.data() + 8), kv->raw.size() - 8);
}

result<bool> gguf_file::get_bool(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key, gguf_type::boolean));
  return kv->raw[0] != 0;
}

#define TERN_GGUF_STRICT_GETTER(fn, T, tag)                \
  result<T> gguf_file::fn(std::string_view key) const {    \
    TERN_TRY(const gguf_kv* kv, lookup(key, gguf_type::tag)); \
    return load<T>(kv->raw.data());                         \
  }
TERN_GGUF_STRICT_GETTER(get_u8, std::uint8_t, u8)
TERN_GGUF_STRICT_GETTER(get_i8, std::int8_t, i8)
TERN_GGUF_STRICT_GETTER(get_u16, std::uint16_t, u16)
TERN_GGUF_STRICT_GETTER(get_i16, std::int16_t, i16)
TERN_GGUF_STRICT_GETTER(get_u32, std::uint32_t, u32)
TERN_GGUF_STRICT_GETTER(get_i32, std::int32_t, i32)
TERN_GGUF_STRICT_GETTER(get_u64, std::uint64_t, u64)
TERN_GGUF_STRICT_GETTER(get_i64, std::int64_t, i64)
TERN_GGUF_STRICT_GETTER(get_f32, float, f32)
TERN_GGUF_STRICT_GETTER(get_f64, double, f64)
#undef TERN_GGUF_STRICT_GETTER

result<std::int64_t> gguf_file::get_int(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (!gguf_is_integer(kv->type))
    return key_error(errc::parse_error, key, fmt::format("is {}, expected an integer", to_string(kv->type)));
  std::int64_t out = 0;
  if (!to_i64(decode_int(kv->type, kv->raw.data()), out))
    return key_error(errc::limit_exceeded, key, fmt::format("value {} does not fit in a signed 64-bit integer",
                                                            load<std::uint64_t>(kv->raw.data())));
  return out;
}

result<std::uint64_t> gguf_file::get_uint(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (!gguf_is_integer(kv->type))
    return key_error(errc::parse_error, key, fmt::format("is {}, expected an integer", to_string(kv->type)));
  const any_int v = decode_int(kv->type, kv->raw.data());
  if (v.negative && v.magnitude != 0)
    return key_error(errc::parse_error, key, fmt::format("value -{} is negative, expected a count", v.magnitude));
  return v.magnitude;
}

result<double> gguf_file::get_number(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (!gguf_is_integer(kv->type) && kv->type != gguf_type::f32 && kv->type != gguf_type::f64)
    return key_error(errc::parse_error, key, fmt::format("is {}, expected a number", to_string(kv->type)));
  return decode_number(kv->type, kv->raw.data());
}

result<std::int64_t> gguf_file::get_int_or(std::string_view key, std::int64_t fallback) const {
  return has(key) ? get_int(key) : result<std::int64_t>(fallback);
}
result<std::uint64_t> gguf_file::get_uint_or(std::string_view key, std::uint64_t fallback) const {
  return has(key) ? get_uint(key) : result<std::uint64_t>(fallback);
}
result<double> gguf_file::get_number_or(std::string_view key, double fallback) const {
  return has(key) ? get_number(key) : result<double>(fallback);
}
result<bool> gguf_file::get_bool_or(std::string_view key, bool fallback) const {
  return has(key) ? get_bool(key) : result<bool>(fallback);
}
result<std::string_view> gguf_file::get_string_or(std::string_view key, std::string_view fallback) const {
  return has(key) ? get_string(key) : result<std::string_view>(fallback);
}

// ---- arrays ----

namespace {
std::string describe_type(const gguf_kv& kv) {
  return kv.type == gguf_type::array ? fmt::format("an array of {}", to_string(kv.array_type)) : to_string(kv.type);
}
}  // namespace

result<std::span<const std::string_view>> gguf_file::get_string_array(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (kv->type != gguf_type::array || kv->array_type != gguf_type::string)
    return key_error(errc::parse_error, key, fmt::format("is {}, expected an array of string", describe_type(*kv)));
  return std::span<const std::string_view>(string_pool_.data() + kv->strings_begin, static_cast<std::size_t>(kv->array_size));
}

result<std::vector<float>> gguf_file::get_f32_array(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (kv->type != gguf_type::array || (kv->array_type != gguf_type::f32 && kv->array_type != gguf_type::f64))
    return key_error(errc::parse_error, key, fmt::format("is {}, expected an array of f32", describe_type(*kv)));
  std::vector<float> out(static_cast<std::size_t>(kv->array_size));
  const std::uint8_t* p = kv->raw.data() + k_array_header;
  if (kv->array_type == gguf_type::f32) {
    if (!out.empty()) std::memcpy(out.data(), p, out.size() * sizeof(float));
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(load<double>(p + i * 8));
  }
  return out;
}

result<std::vector<std::int64_t>> gguf_file::get_int_array(std::string_view key) const {
  TERN_TRY(const gguf_kv* kv, lookup(key));
  if (kv->type != gguf_type::array || !gguf_is_integer(kv->array_type))
    return key_error(errc::parse_error, key, fmt::format("is {}, expected an array of integers", describe_type(*kv)));
  const std::size_t size = gguf_scalar_size(kv->array_type);
  std::vector<std::int64_t> out(static_cast<std::size_t>(kv->array_size));
  const std::uint8_t* p = kv->raw.data() + k_array_header;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!to_i64(decode_int(kv->array_type, p + i * size), out[i]))
      return key_error(errc::limit_exceeded, key, fmt::format("element {} does not fit in a signed 64-bit integer", i));
  return out;
}

result<std::vector<std::int32_t>> gguf_file::get_i32_array(std::string_view key) const {
  TERN_TRY(auto wide, get_int_array(key));
  std::vector<std::int32_t> out(wide.size());
  for (std::size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < std::numeric_limits<std::int32_t>::min() || wide[i] > std::numeric_limits<std::int32_t>::max())
      return key_error(errc::limit_exceeded, key, fmt::format("element {} = {} does not fit in i32", i, wide[i]));
    out[i] = static_cast<std::int32_t>(wide[i]);
  }
  return out;
}

// ---- tensors ----

const gguf_tensor_info* gguf_file::find_tensor(std::string_view name) const noexcept {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

result<const gguf_tensor_info*> gguf_file::tensor(std::string_view name) const {
  if (const auto* t = find_tensor(name)) return t;
  return fail(errc::not_found, "missing").at(fmt::format("tensor '{}'", name)).at(name_);
}

}  // namespace tern::engine
