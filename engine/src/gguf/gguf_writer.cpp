// GGUF v3 writer. The layout mirrors what gguf_parser.cpp reads.
#include <tern/engine/gguf_writer.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace tern::engine {

namespace {

void append_bytes(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
  const std::uint64_t n = s.size();
  append_bytes(out, &n, 8);
  append_bytes(out, s.data(), s.size());
}

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

void gguf_writer::set_raw(std::string_view key, gguf_type type, std::vector<std::uint8_t> encoded) {
  for (auto& kv : kvs_)
    if (kv.key == key) {
      kv.type = type;
      kv.encoded = std::move(encoded);
      return;
    }
  kvs_.push_back({std::string(key), type, std::move(encoded)});
}

void gguf_writer::set_string(std::string_view key, std::string_view v) {
  std::vector<std::uint8_t> enc;
  put_string(enc, v);
  set_raw(key, gguf_type::string, std::move(enc));
}

namespace {
template <class S>
std::vector<std::uint8_t> encode_strings(std::span<const S> values) {
  std::vector<std::uint8_t> enc;
  std::size_t total = 12;
  for (const auto& s : values) total += 8 + s.size();
  enc.reserve(total);
  const std::uint32_t type = static_cast<std::uint32_t>(gguf_type::string);
  const std::uint64_t n = values.size();
  append_bytes(enc, &type, 4);
  append_bytes(enc, &n, 8);
  for (const auto& s : values) put_string(enc, s);
  return enc;
}
}  // namespace

void gguf_writer::set_string_array(std::string_view key, std::span<const std::string> values) {
  set_raw(key, gguf_type::array, encode_strings(values));
}

void gguf_writer::set_string_array(std::string_view key, std::span<const std::string_view> values) {
  set_raw(key, gguf_type::array, encode_strings(values));
}

void gguf_writer::copy_kv(const gguf_kv& kv) {
  set_raw(kv.key, kv.type, std::vector<std::uint8_t>(kv.raw.begin(), kv.raw.end()));
}

bool gguf_writer::remove(std::string_view key) {
  auto it = std::find_if(kvs_.begin(), kvs_.end(), [&](const kv_entry& kv) { return kv.key == key; });
  if (it == kvs_.end()) return false;
  kvs_.erase(it);
  return true;
}

bool gguf_writer::has(std::string_view key) const {
  return std::any_of(kvs_.begin(), kvs_.end(), [&](const kv_entry& kv) { return kv.key == key; });
}

result<void> gguf_writer::set_alignment(std::uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30))
    return fail(errc::invalid_argument, fmt::format("alignment {} is not a power of two up to 2^30", alignment));
  alignment_ = alignment;
  if (alignment == 32)
    remove("general.alignment");
  else
    set_u32("general.alignment", alignment);
  return ok();
}

result<gguf_writer::tensor_entry*> gguf_writer::new_tensor(std::string_view name, tensor_type type,
                                                           std::span<const std::uint64_t> ne) {
  auto bad = [&](std::string msg) { return fail(errc::invalid_argument, std::move(msg)).at(fmt::format("tensor '{}'", name)); };
  if (name.empty()) return fail(errc::invalid_argument, "empty tensor name");
  for (const auto& t : tensors_)
    if (t.name == name) return bad("added twice");
  if (ne.empty() || ne.size() > 4) return bad(fmt::format("{} dimensions (1 to 4 are allowed)", ne.size()));
  std::uint64_t n = 1;
  for (std::size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] == 0) return bad(fmt::format("dimension {} is 0", d));
    if (ne[d] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / n)
      return bad("element count overflows 2^63");
    n *= ne[d];
  }
  const auto& ti = info(type);
  if (ne[0] % ti.block_elems != 0)
    return bad(fmt::format("row length {} is not a multiple of the {} block size {}", ne[0], ti.name, ti.block_elems));
  auto bytes = bytes_for(type, n);
  if (!bytes) return std::move(bytes).error().at(fmt::format("tensor '{}'", name));
  tensor_entry t;
  t.name = std::string(name);
  t.type = type;
  t.ne.assign(ne.begin(), ne.end());
  t.n_bytes = *bytes;
  t.offset = tensors_.empty() ? 0 : align_up(tensors_.back().offset + tensors_.back().n_bytes, alignment_);
  tensors_.push_back(std::move(t));
  return &tensors_.back();
}

result<void> gguf_writer::add_tensor(std::string_view name, tensor_type type, std::span<const std::uint64_t> ne,
                                     std::vector<std::uint8_t> data) {
  // Check the size before adding, so a failed call leaves the writer unchanged.
  std::uint64_t n = 1;
  bool overflow = false;
  for (auto d : ne) overflow |= d != 0 && n > std::numeric_limits<std::uint64_t>::max() / d, n *= d;
  if (!overflow && !ne.empty()) {
    auto bytes = bytes_for(type, n);
    if (bytes && *bytes != data.size())
      return fail(errc::invalid_argument,
                  fmt::format("data is {} bytes, but {} values of {} take {}", data.size(), n, to_string(type), *bytes))
          .at(fmt::format("tensor '{}'", name));
  }
  TERN_TRY(tensor_entry * t, new_tensor(name, type, ne));
  t->data = std::move(data);
  return ok();
}

result<void> gguf_writer::add_tensor(std::string_view name, tensor_type type, std::span<const std::uint64_t> ne,
                                     tensor_producer produce) {
  if (!produce) return fail(errc::invalid_argument, "no producer").at(fmt::format("tensor '{}'", name));
  TERN_TRY(tensor_entry * t, new_tensor(name, type, ne));
  t->produce = std::move(produce);
  return ok();
}

std::vector<std::uint8_t> gguf_writer::header() const {
  std::vector<std::uint8_t> out;
  append_bytes(out, "GGUF", 4);
  put_u32(out, 3);
  put_u64(out, tensors_.size());
  put_u64(out, kvs_.size());
  for (const auto& kv : kvs_) {
    put_string(out, kv.key);
    put_u32(out, static_cast<std::uint32_t>(kv.type));
    append_bytes(out, kv.encoded.data(), kv.encoded.size());
  }
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put_u32(out, static_cast<std::uint32_t>(t.ne.size()));
    for (auto d : t.ne) put_u64(out, d);
    put_u32(out, static_cast<std::uint32_t>(t.type));
    put_u64(out, t.offset);
  }
  out.resize(align_up(out.size(), alignment_), 0);
  return out;
}

std::uint64_t gguf_writer::data_size() const {
  return tensors_.empty() ? 0 : tensors_.back().offset + tensors_.back().n_bytes;
}

namespace {
// Fills `out` with a tensor's bytes, from its stored data or its producer.
template <class Entry>
result<void> fill(const Entry& t, std::span<std::uint8_t> out) {
  if (!t.produce) {
    std::copy(t.data.begin(), t.data.end(), out.begin());
    return ok();
  }
  auto r = t.produce(out);
  if (!r) return std::move(r).error().at(fmt::format("tensor '{}'", t.name));
  return ok();
}
}  // namespace

result<std::vector<std::uint8_t>> gguf_writer::to_bytes() const {
  std::vector<std::uint8_t> out = header();
  const std::size_t base = out.size();
  out.resize(base + data_size(), 0);
  for (const auto& t : tensors_)
    TERN_CHECK(fill(t, std::span<std::uint8_t>(out.data() + base + t.offset, t.n_bytes)));
  return out;
}

result<void> gguf_writer::write(const std::filesystem::path& path) const {
  const std::string final_name = path.string();
  const std::string tmp_name = final_name + ".tmp";
  std::FILE* f = std::fopen(tmp_name.c_str(), "wb");
  if (!f) return fail(errc::io_error, fmt::format("cannot create: {}", std::strerror(errno))).at(tmp_name);
  auto abandon = [&](error e) {
    std::fclose(f);
    std::remove(tmp_name.c_str());
    return e;
  };
  auto put = [&](const std::uint8_t* p, std::size_t n) -> result<void> {
    if (n && std::fwrite(p, 1, n, f) != n)
      return fail(errc::io_error, fmt::format("write failed: {}", std::strerror(errno))).at(tmp_name);
    return ok();
  };
  const auto head = header();
  if (auto r = put(head.data(), head.size()); !r) return abandon(std::move(r).error());
  std::uint64_t pos = 0;  // within the data section
  std::vector<std::uint8_t> buf;
  const std::vector<std::uint8_t> zeros(alignment_, 0);
  for (const auto& t : tensors_) {
    if (auto r = put(zeros.data(), static_cast<std::size_t>(t.offset - pos)); !r) return abandon(std::move(r).error());
    std::span<const std::uint8_t> bytes;
    if (t.produce) {
      buf.assign(static_cast<std::size_t>(t.n_bytes), 0);
      if (auto r = fill(t, buf); !r) return abandon(std::move(r).error());
      bytes = buf;
    } else {
      bytes = t.data;
    }
    if (auto r = put(bytes.data(), bytes.size()); !r) return abandon(std::move(r).error());
    pos = t.offset + t.n_bytes;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp_name.c_str());
    return fail(errc::io_error, fmt::format("close failed: {}", std::strerror(errno))).at(tmp_name);
  }
  std::error_code ec;
  std::filesystem::rename(tmp_name, path, ec);
  if (ec) {
    std::remove(tmp_name.c_str());
    return fail(errc::io_error, fmt::format("cannot rename {} to it: {}", tmp_name, ec.message())).at(final_name);
  }
  return ok();
}

}  // namespace tern::engine
