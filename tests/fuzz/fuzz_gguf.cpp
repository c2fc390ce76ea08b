// libFuzzer target for the GGUF reader: any bytes must give a gguf_file or a
// tern::error, never a crash, hang, leak or out-of-bounds read (ASan/UBSan).
// For accepted inputs it also reads every value and every tensor byte range,
// and checks that rewriting the file through gguf_writer gives a file that
// parses again with the same keys and tensors.
#include <tern/engine/gguf.hpp>
#include <tern/engine/gguf_writer.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace tern::engine;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void exercise(const gguf_file& f) {
  volatile std::size_t sink = 0;
  for (const auto& kv : f.metadata()) {
    sink = sink + f.format_value(kv, 4).size();
    if (kv.type == gguf_type::array && kv.array_type == gguf_type::string) {
      auto arr = f.get_string_array(kv.key);
      require(arr.has_value() && arr->size() == kv.array_size);
      for (auto s : *arr) sink = sink + s.size();
    }
    (void)f.get_int(kv.key);
    (void)f.get_number(kv.key);
    (void)f.get_string(kv.key);
    (void)f.get_i32_array(kv.key);
    (void)f.get_f32_array(kv.key);
  }
  for (const auto& t : f.tensors()) {
    require(f.find_tensor(t.name) == &t);
    require(t.offset + t.n_bytes <= f.file_size());
    if (t.n_bytes) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
}

void rewrite(const gguf_file& f) {
  gguf_writer w;
  for (const auto& kv : f.metadata()) w.copy_kv(kv);
  // (set_alignment(32) would drop an explicit general.alignment = 32 key.)
  if (f.alignment() != 32) require(w.set_alignment(static_cast<std::uint32_t>(f.alignment())).has_value());
  for (const auto& t : f.tensors()) {
    std::vector<std::uint64_t> ne(t.ne.begin(), t.ne.begin() + (t.n_dims ? t.n_dims : 1));
    require(w.add_tensor(t.name, t.type, ne, std::vector<std::uint8_t>(t.data, t.data + t.n_bytes)).has_value());
  }
  auto bytes = w.to_bytes();
  require(bytes.has_value());
  auto again = gguf_file::from_bytes(std::move(bytes).value(), "rewritten");
  require(again.has_value());
  require(again->metadata().size() == f.metadata().size());
  require(again->tensors().size() == f.tensors().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto f = gguf_file::view_bytes(std::span<const std::uint8_t>(data, size), "fuzz.gguf");
  if (!f) {
    require(!f.error().describe().empty());
    return 0;
  }
  exercise(*f);
  // A valid file may ask for a huge alignment (up to 2^30); rewriting it pads
  // the header to that size, which is correct but needs gigabytes here.
  if (f->alignment() <= 65536) rewrite(*f);
  return 0;
}
