// Validating parser for GGUF v2/v3. Every read goes through a bounds-checked
// cursor; every count is checked against the bytes left before anything is
// reserved, so the work and memory spent are O(file size) whatever the file says.
#include "gguf_internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>

namespace tern::engine {

using gguf_detail::load;

namespace {
// A name from the file as it may appear in an error: control bytes escaped and
// long names cut, so a hostile key cannot garble or flood the message.
std::string printable(std::string_view name) {
  constexpr std::size_t k_max = 120;
  std::string out;
  for (std::size_t i = 0; i < name.size() && i < k_max; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (name.size() > k_max) out += fmt::format("...({} bytes)", name.size());
  return out;
}
}  // namespace

class gguf_parser {
 public:
  gguf_parser(gguf_file& file, std::span<const std::uint8_t> bytes) : f_(file), b_(bytes) {}

  result<void> run() {
    TERN_CHECK(read_header());
    for (std::uint64_t i = 0; i < n_kv_; ++i) TERN_CHECK(read_kv(i));
    TERN_CHECK(read_alignment());
    for (std::uint64_t i = 0; i < n_tensors_; ++i) TERN_CHECK(read_tensor_info(i));
    TERN_CHECK(place_tensors());
    return ok();
  }

 private:
  std::uint64_t left() const noexcept { return b_.size() - pos_; }

  static error at_byte(error e, std::uint64_t offset) { return std::move(e).at(fmt::format("byte {}", offset)); }

  error truncated(std::string_view what, std::uint64_t need) const {
    return at_byte(fail(errc::parse_error, fmt::format("file ends while reading {} (needs {} bytes, {} left; file is {} bytes)",
                                                       what, need, left(), b_.size())),
                   pos_);
  }

  result<std::uint32_t> read_u32(std::string_view what) {
    if (left() < 4) return truncated(what, 4);
    const auto v = load<std::uint32_t>(b_.data() + pos_);
    pos_ += 4;
    return v;
  }

  result<std::uint64_t> read_u64(std::string_view what) {
    if (left() < 8) return truncated(what, 8);
    const auto v = load<std::uint64_t>(b_.data() + pos_);
    pos_ += 8;
    return v;
  }

  // gguf_string: u64 length, then that many bytes (UTF-8, no terminator).
  result<std::string_view> read_string(std::string_view what) {
    const std::uint64_t start = pos_;
    TERN_TRY(const std::uint64_t len, read_u64(fmt::format("the length of {}", what)));
    if (len > left()) {
      pos_ = start;
      return at_byte(fail(errc::parse_error,
                          fmt::format("length {} of {} runs past the end of the file ({} bytes left after the length)",
                                      len, what, left() - 8)),
                     start);
    }
    std::string_view s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<std::size_t>(len));
    pos_ += len;
    return s;
  }

  result<void> read_header() {
    if (b_.size() < 4)
      return at_byte(fail(errc::parse_error,
                          fmt::format("file is {} bytes, too short to be a GGUF file (it starts with the 4-byte magic 'GGUF')",
                                      b_.size())),
                     0);
    if (std::memcmp(b_.data(), "GGUF", 4) != 0) {
      std::string shown;
      for (int i = 0; i < 4; ++i) {
        const auto c = b_[static_cast<std::size_t>(i)];
        shown += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
      }
      return at_byte(fail(errc::parse_error, fmt::format("bad magic '{}': not a GGUF file (expected 'GGUF')", shown)), 0);
    }
    pos_ = 4;
    TERN_TRY(const std::uint32_t version, read_u32("the version"));
    if (version == 1)
      return at_byte(fail(errc::unsupported,
                          "GGUF version 1 is not supported (v1 files use 32-bit counts; re-convert the model "
                          "with a current llama.cpp to get version 3)"),
                     4);
    if (version != 2 && version != 3) {
      // A big-endian GGUF has the same magic bytes but a byte-swapped version.
      if (version == 0x02000000u || version == 0x03000000u)
        return at_byte(fail(errc::unsupported, "big-endian GGUF files are not supported (version field is byte-swapped)"),
                       4);
      return at_byte(fail(errc::unsupported, fmt::format("GGUF version {} is not supported (Tern reads versions 2 and 3)",
                                                         version)),
                     4);
    }
    f_.version_ = version;
    const std::uint64_t count_pos = pos_;
    TERN_TRY(n_tensors_, read_u64("the tensor count"));
    TERN_TRY(n_kv_, read_u64("the metadata key/value count"));
    // Smallest encodings: a kv is key length (8) + type (4) + a 1-byte value;
    // a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
    if (n_kv_ > left() / 13)
      return at_byte(fail(errc::parse_error, fmt::format("metadata count {} cannot fit in the {} bytes left (each entry "
                                                         "takes at least 13 bytes)",
                                                         n_kv_, left())),
                     count_pos + 8);
    if (n_tensors_ > left() / 24)
      return at_byte(fail(errc::parse_error, fmt::format("tensor count {} cannot fit in the {} bytes left (each tensor "
                                                         "info takes at least 24 bytes)",
                                                         n_tensors_, left())),
                     count_pos);
    f_.kvs_.reserve(static_cast<std::size_t>(n_kv_));
    f_.tensors_.reserve(static_cast<std::size_t>(n_tensors_));
    return ok();
  }

  result<void> read_kv(std::uint64_t index) {
    const std::uint64_t start = pos_;
    auto key_r = read_string(fmt::format("the key of metadata entry #{}", index));
    if (!key_r) return std::move(key_r).error();
    const std::string_view key = *key_r;
    auto in_key = [&](error e) { return std::move(e).at(fmt::format("key '{}'", printable(key))); };
    if (key.empty()) return at_byte(fail(errc::parse_error, fmt::format("metadata entry #{} has an empty key", index)), start);
    if (auto it = f_.kv_index_.find(key); it != f_.kv_index_.end())
      return in_key(at_byte(fail(errc::parse_error, fmt::format("duplicate key (first defined at byte {})",
                                                                f_.kvs_[it->second].offset - 4 - 8 - key.size())),
                            start));
    const std::uint64_t type_pos = pos_;
    auto type_r = read_u32("the value type");
    if (!type_r) return in_key(std::move(type_r).error());
    if (*type_r > gguf_detail::k_max_gguf_type)
      return in_key(at_byte(fail(errc::parse_error, fmt::format("unknown value type id {} (GGUF defines 0..12)", *type_r)),
                            type_pos));
    gguf_kv kv;
    kv.key = key;
    kv.type = static_cast<gguf_type>(*type_r);
    kv.offset = pos_;
    auto value_r = read_value(kv);
    if (!value_r) return in_key(std::move(value_r).error());
    kv.raw = b_.subspan(static_cast<std::size_t>(kv.offset), static_cast<std::size_t>(pos_ - kv.offset));
    f_.kv_index_.emplace(key, f_.kvs_.size());
    f_.kvs_.push_back(kv);
    return ok();
  }

  result<void> read_value(gguf_kv& kv) {
    const std::uint64_t start = pos_;
    if (kv.type == gguf_type::string) {
      TERN_TRY(auto s, read_string("the string value"));
      (void)s;
      return ok();
    }
    if (kv.type != gguf_type::array) {
      const std::size_t size = gguf_scalar_size(kv.type);
      if (left() < size) return truncated(fmt::format("a {} value", to_string(kv.type)), size);
      if (kv.type == gguf_type::boolean && b_[static_cast<std::size_t>(pos_)] > 1)
        return at_byte(fail(errc::parse_error, fmt::format("bool value is {} (must be 0 or 1)", b_[static_cast<std::size_t>(pos_)])),
                       pos_);
      pos_ += size;
      return ok();
    }
    TERN_TRY(const std::uint32_t elem, read_u32("the array element type"));
    if (elem > gguf_detail::k_max_gguf_type)
      return at_byte(fail(errc::parse_error, fmt::format("unknown array element type id {} (GGUF defines 0..12)", elem)),
                     start);
    kv.array_type = static_cast<gguf_type>(elem);
    if (kv.array_type == gguf_type::array)
      return at_byte(fail(errc::unsupported, "arrays of arrays are not supported"), start);
    const std::uint64_t count_pos = pos_;
    TERN_TRY(kv.array_size, read_u64("the array length"));
    const std::uint64_t min_size = kv.array_type == gguf_type::string ? 8 : gguf_scalar_size(kv.array_type);
    if (kv.array_size > left() / min_size)
      return at_byte(fail(errc::parse_error,
                          fmt::format("array of {} {} values cannot fit in the {} bytes left (each takes at least {})",
                                      kv.array_size, to_string(kv.array_type), left(), min_size)),
                     count_pos);
    if (kv.array_type != gguf_type::string) {
      if (kv.array_type == gguf_type::boolean) {
        for (std::uint64_t i = 0; i < kv.array_size; ++i)
          if (b_[static_cast<std::size_t>(pos_ + i)] > 1)
            return at_byte(fail(errc::parse_error, fmt::format("bool array element {} is {} (must be 0 or 1)", i,
                                                               b_[static_cast<std::size_t>(pos_ + i)])),
                           pos_ + i);
      }
      pos_ += kv.array_size * min_size;
      return ok();
    }
    kv.strings_begin = f_.string_pool_.size();
    for (std::uint64_t i = 0; i < kv.array_size; ++i) {
      TERN_TRY(auto s, read_string(fmt::format("array element {}", i)));
      f_.string_pool_.push_back(s);
    }
    return ok();
  }

  result<void> read_alignment() {
    const gguf_kv* kv = f_.find("general.alignment");
    if (!kv) return ok();
    auto in_key = [](error e) { return std::move(e).at("key 'general.alignment'"); };
    if (!gguf_is_integer(kv->type))
      return in_key(at_byte(fail(errc::parse_error, fmt::format("is {}, expected an integer (u32)", to_string(kv->type))),
                            kv->offset));
    std::uint64_t a = 0;
    const std::size_t size = gguf_scalar_size(kv->type);
    const bool is_signed = kv->type == gguf_type::i8 || kv->type == gguf_type::i16 || kv->type == gguf_type::i32 ||
                           kv->type == gguf_type::i64;
    std::memcpy(&a, kv->raw.data(), size);
    // Negative signed values have the top bit of their width set: reject them.
    if (is_signed && (a >> (size * 8 - 1)) != 0) a = 0;
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
      return at_byte(fail(errc::parse_error,
                          fmt::format("general.alignment is {}, which is not a power of two between 1 and 2^30", a)),
                     kv->offset)
          .at("key 'general.alignment'");
    f_.alignment_ = a;
    return ok();
  }

  result<void> read_tensor_info(std::uint64_t index) {
    gguf_tensor_info t;
    t.info_offset = pos_;
    auto name_r = read_string(fmt::format("the name of tensor #{}", index));
    if (!name_r) return std::move(name_r).error().at(fmt::format("tensor #{}", index));
    t.name = *name_r;
    auto in_tensor = [&](error e) {
      return std::move(e).at(t.name.empty() ? fmt::format("tensor #{}", index) : fmt::format("tensor '{}'", printable(t.name)));
    };
    if (t.name.empty()) return in_tensor(at_byte(fail(errc::parse_error, "empty tensor name"), t.info_offset));
    if (auto it = f_.tensor_index_.find(t.name); it != f_.tensor_index_.end())
      return in_tensor(at_byte(fail(errc::parse_error, fmt::format("duplicate tensor name (first defined at byte {})",
                                                                   f_.tensors_[it->second].info_offset)),
                               t.info_offset));
    const std::uint64_t dims_pos = pos_;
    auto nd = read_u32("the number of dimensions");
    if (!nd) return in_tensor(std::move(nd).error());
    if (*nd > 4)
      return in_tensor(at_byte(fail(errc::parse_error, fmt::format("{} dimensions (at most 4 are allowed)", *nd)), dims_pos));
    t.n_dims = *nd;
    std::uint64_t n = 1;
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      const std::uint64_t dim_pos = pos_;
      auto ne = read_u64(fmt::format("dimension {}", d));
      if (!ne) return in_tensor(std::move(ne).error());
      if (*ne == 0) return in_tensor(at_byte(fail(errc::parse_error, fmt::format("dimension {} is 0", d)), dim_pos));
      // ggml keeps sizes in int64_t, so the element count must fit there.
      if (*ne > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / n)
        return in_tensor(at_byte(fail(errc::limit_exceeded,
                                      fmt::format("dimension {} = {} makes the element count overflow 2^63", d, *ne)),
                                 dim_pos));
      t.ne[d] = *ne;
      n *= *ne;
    }
    t.n_elems = n;
    const std::uint64_t type_pos = pos_;
    auto type_id = read_u32("the tensor type");
    if (!type_id) return in_tensor(std::move(type_id).error());
    const tensor_type_info* ti = find_tensor_type(*type_id);
    if (!ti)
      return in_tensor(at_byte(fail(errc::unsupported,
                                    fmt::format("unknown or unsupported tensor type id {} (Tern reads f32, f16, bf16, "
                                                "q4_0..q8_1, q2_k..q8_k and i8..f64)",
                                                *type_id)),
                               type_pos));
    t.type = ti->type;
    if (t.ne[0] % ti->block_elems != 0)
      return in_tensor(at_byte(fail(errc::parse_error, fmt::format("row length {} is not a multiple of the {} block size {}",
                                                                   t.ne[0], ti->name, ti->block_elems)),
                               dims_pos + 4));
    // n values are n / block_elems whole blocks (ne[0] is a multiple); their
    // byte count can still overflow 64 bits (f32 of 2^62 values), checked there.
    auto n_bytes = bytes_for(t.type, n);
    if (!n_bytes) return in_tensor(at_byte(std::move(n_bytes).error(), dims_pos));
    t.n_bytes = *n_bytes;
    const std::uint64_t off_pos = pos_;
    auto rel = read_u64("the data offset");
    if (!rel) return in_tensor(std::move(rel).error());
    if (*rel % f_.alignment_ != 0)
      return in_tensor(at_byte(fail(errc::parse_error, fmt::format("data offset {} is not a multiple of the alignment {}",
                                                                   *rel, f_.alignment_)),
                               off_pos));
    t.offset = *rel;  // relative for now; made absolute in place_tensors()
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(t);
    return ok();
  }

  result<void> place_tensors() {
    const std::uint64_t a = f_.alignment_;
    // pos_ <= file size <= SIZE_MAX, so rounding up cannot overflow 64 bits.
    f_.data_offset_ = (pos_ + a - 1) / a * a;
    const std::uint64_t size = b_.size();
    for (auto& t : f_.tensors_) {
      const std::uint64_t rel = t.offset;
      auto in_tensor = [&](error e) {
        return at_byte(std::move(e), t.info_offset).at(fmt::format("tensor '{}'", printable(t.name)));
      };
      if (f_.data_offset_ > size || rel > size - f_.data_offset_ || t.n_bytes > size - f_.data_offset_ - rel)
        return in_tensor(fail(errc::parse_error,
                              fmt::format("data at offset {} + {} bytes extends past the end of the file ({} bytes; "
                                          "data section starts at byte {})",
                                          rel, t.n_bytes, size, f_.data_offset_)));
      t.offset = f_.data_offset_ + rel;
      t.data = b_.data() + t.offset;
    }
    std::vector<std::size_t> order(f_.tensors_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t x, std::size_t y) { return f_.tensors_[x].offset < f_.tensors_[y].offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      const auto& prev = f_.tensors_[order[i - 1]];
      const auto& cur = f_.tensors_[order[i]];
      if (prev.offset + prev.n_bytes > cur.offset)
        return at_byte(fail(errc::parse_error, fmt::format("data [{}, {}) overlaps the data of tensor '{}' starting at byte {}",
                                                           prev.offset, prev.offset + prev.n_bytes, printable(cur.name),
                                                           cur.offset)),
                       prev.info_offset)
            .at(fmt::format("tensor '{}'", printable(prev.name)));
    }
    return ok();
  }

  gguf_file& f_;
  std::span<const std::uint8_t> b_;
  std::uint64_t pos_ = 0;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_kv_ = 0;
};

result<gguf_file> gguf_file::parse(std::unique_ptr<storage> store, std::string name) {
  gguf_file f;
  f.name_ = std::move(name);
  f.store_ = std::move(store);
  gguf_parser parser(f, std::span<const std::uint8_t>(f.store_->data, f.store_->size));
  if (auto r = parser.run(); !r) return std::move(r).error().at(f.name_);
  return f;
}

}  // namespace tern::engine
