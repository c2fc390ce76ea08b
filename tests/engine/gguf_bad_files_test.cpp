// A corpus of hand-made bad GGUF files, each with its own expected error:
// the reader must name what is wrong and where (byte offset, key, tensor),
// and never crash, hang or allocate hugely.
#include <tern/engine/gguf.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

using tern::errc;
using tern::engine::gguf_file;

namespace {

constexpr std::uint64_t k_huge = 0xFFFFFFFFFFFFFFFFull;

// Writes GGUF pieces byte by byte, valid or not; no validation on purpose.
struct raw_file {
  std::vector<std::uint8_t> b;

  raw_file& bytes(const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  raw_file& u8(std::uint8_t v) { return bytes(&v, 1); }
  raw_file& u32(std::uint32_t v) { return bytes(&v, 4); }
  raw_file& u64(std::uint64_t v) { return bytes(&v, 8); }
  raw_file& str(std::string_view s) { return u64(s.size()).bytes(s.data(), s.size()); }
  raw_file& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    return bytes("GGUF", 4).u32(version).u64(n_tensors).u64(n_kv);
  }
  raw_file& kv_str(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
  raw_file& kv_u32(std::string_view key, std::uint32_t v) { return str(key).u32(4).u32(v); }
  raw_file& tensor(std::string_view name, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(ne.size()));
    for (auto d : ne) u64(d);
    return u32(type).u64(offset);
  }
  raw_file& pad(std::size_t alignment = 32) {
    while (b.size() % alignment) b.push_back(0);
    return *this;
  }
  raw_file& zeros(std::size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
  std::size_t pos() const { return b.size(); }
};

// A small valid file: two keys, tensors "w" (f32 [8, 2]) and "v" (f32 [8]).
raw_file valid_file() {
  raw_file f;
  f.header(2, 2).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 1);
  f.tensor("w", {8, 2}, 0, 0).tensor("v", {8}, 0, 64).pad().zeros(64 + 32);
  return f;
}

tern::error parse_error_of(std::vector<std::uint8_t> bytes) {
  auto r = gguf_file::from_bytes(std::move(bytes), "bad.gguf");
  if (r) FAIL("the file was accepted");
  return std::move(r).error();
}

struct bad_case {
  const char* what;
  std::function<raw_file()> make;
  errc code;
  std::string message;  // the exact describe() text
};

}  // namespace

TEST_CASE("gguf bad files: the valid base file parses") {
  auto f = gguf_file::from_bytes(valid_file().b, "good.gguf");
  REQUIRE(f);
  CHECK(f->tensors().size() == 2);
  CHECK(f->data_offset() % 32 == 0);
}

TEST_CASE("gguf bad files: each gives its own clear error") {
  const std::vector<bad_case> cases = {
      {"empty file", [] { return raw_file{}; }, errc::parse_error,
       "bad.gguf: byte 0: file is 0 bytes, too short to be a GGUF file (it starts with the 4-byte magic 'GGUF')"},
      {"bad magic",
       [] {
         raw_file f;
         f.bytes("GGML", 4).u32(3).u64(0).u64(0);
         return f;
       },
       errc::parse_error, "bad.gguf: byte 0: bad magic 'GGML': not a GGUF file (expected 'GGUF')"},
      {"binary magic",
       [] {
         raw_file f;
         f.u32(0x0000feff).u32(3);
         return f;
       },
       errc::parse_error, "bad.gguf: byte 0: bad magic '\\xff\\xfe\\x00\\x00': not a GGUF file (expected 'GGUF')"},
      {"version 1", [] { return raw_file{}.header(0, 0, 1); }, errc::unsupported,
       "bad.gguf: byte 4: GGUF version 1 is not supported (v1 files use 32-bit counts; re-convert the model with a "
       "current llama.cpp to get version 3)"},
      {"version 4", [] { return raw_file{}.header(0, 0, 4); }, errc::unsupported,
       "bad.gguf: byte 4: GGUF version 4 is not supported (Tern reads versions 2 and 3)"},
      {"big-endian", [] { return raw_file{}.header(0, 0, 0x03000000); }, errc::unsupported,
       "bad.gguf: byte 4: big-endian GGUF files are not supported (version field is byte-swapped)"},
      {"truncated counts",
       [] {
         raw_file f;
         f.bytes("GGUF", 4).u32(3).u32(0);
         return f;
       },
       errc::parse_error,
       "bad.gguf: byte 8: file ends while reading the tensor count (needs 8 bytes, 4 left; file is 12 bytes)"},
      {"huge kv count", [] { return raw_file{}.header(0, k_huge).zeros(64); }, errc::parse_error,
       "bad.gguf: byte 16: metadata count 18446744073709551615 cannot fit in the 64 bytes left (each entry takes at "
       "least 13 bytes)"},
      {"huge tensor count", [] { return raw_file{}.header(1ull << 40, 0).zeros(64); }, errc::parse_error,
       "bad.gguf: byte 8: tensor count 1099511627776 cannot fit in the 64 bytes left (each tensor info takes at least "
       "24 bytes)"},
      {"huge key length",
       [] {
         raw_file f;
         f.header(0, 1).u64(k_huge).zeros(16);
         return f;
       },
       errc::parse_error,
       "bad.gguf: byte 24: length 18446744073709551615 of the key of metadata entry #0 runs past the end of the file "
       "(16 bytes left after the length)"},
      {"huge string value length",
       [] {
         raw_file f;
         f.header(0, 1).str("general.name").u32(8).u64(1ull << 62).zeros(8);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'general.name': byte 48: length 4611686018427387904 of the string value runs past the end of "
       "the file (8 bytes left after the length)"},
      {"empty key",
       [] {
         raw_file f;
         f.header(0, 1).str("").u32(4).u32(1);
         return f;
       },
       errc::parse_error, "bad.gguf: byte 24: metadata entry #0 has an empty key"},
      {"unknown value type",
       [] {
         raw_file f;
         f.header(0, 1).str("a.b").u32(13).u32(0);
         return f;
       },
       errc::parse_error, "bad.gguf: key 'a.b': byte 35: unknown value type id 13 (GGUF defines 0..12)"},
      {"truncated scalar",
       [] {
         raw_file f;
         f.header(0, 1).str("a.b").u32(10).u32(0);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'a.b': byte 39: file ends while reading a u64 value (needs 8 bytes, 4 left; file is 43 bytes)"},
      {"bool out of range",
       [] {
         raw_file f;
         f.header(0, 1).str("a.b").u32(7).u8(2);
         return f;
       },
       errc::parse_error, "bad.gguf: key 'a.b': byte 39: bool value is 2 (must be 0 or 1)"},
      {"unknown array element type",
       [] {
         raw_file f;
         f.header(0, 1).str("a.b").u32(9).u32(77).u64(0);
         return f;
       },
       errc::parse_error, "bad.gguf: key 'a.b': byte 39: unknown array element type id 77 (GGUF defines 0..12)"},
      {"nested array",
       [] {
         raw_file f;
         f.header(0, 1).str("a.b").u32(9).u32(9).u64(1).u32(4).u64(0);
         return f;
       },
       errc::unsupported, "bad.gguf: key 'a.b': byte 39: arrays of arrays are not supported"},
      {"huge array count",
       [] {
         raw_file f;
         f.header(0, 1).str("tokenizer.ggml.scores").u32(9).u32(6).u64(1ull << 61).zeros(40);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'tokenizer.ggml.scores': byte 61: array of 2305843009213693952 f32 values cannot fit in the 40 "
       "bytes left (each takes at least 4)"},
      {"huge string array count",
       [] {
         raw_file f;
         f.header(0, 1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(1000).str("a").str("b");
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'tokenizer.ggml.tokens': byte 61: array of 1000 string values cannot fit in the 18 bytes left "
       "(each takes at least 8)"},
      {"string array element runs past the end",
       [] {
         raw_file f;
         f.header(0, 1).str("t").u32(9).u32(8).u64(2).str("ok").u64(100).zeros(10);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 't': byte 59: length 100 of array element 1 runs past the end of the file (10 bytes left after "
       "the length)"},
      {"duplicate key",
       [] {
         raw_file f;
         f.header(0, 2).kv_u32("llama.block_count", 1).kv_u32("llama.block_count", 2);
         return f;
       },
       errc::parse_error, "bad.gguf: key 'llama.block_count': byte 57: duplicate key (first defined at byte 24)"},
      {"control bytes in a key are escaped",
       [] {
         raw_file f;
         f.header(0, 2).kv_u32("a\nb", 1).kv_u32("a\nb", 2);
         return f;
       },
       errc::parse_error, "bad.gguf: key 'a\\x0ab': byte 43: duplicate key (first defined at byte 24)"},
      {"a long tensor name is cut in the message",
       [] {
         raw_file f;
         f.header(1, 0).str(std::string(200, 'x')).u32(5).zeros(64);
         return f;
       },
       errc::parse_error,
       "bad.gguf: tensor '" + std::string(120, 'x') + "...(200 bytes)': byte 232: 5 dimensions (at most 4 are allowed)"},
      {"alignment not a power of two",
       [] {
         raw_file f;
         f.header(0, 1).kv_u32("general.alignment", 24);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'general.alignment': byte 53: general.alignment is 24, which is not a power of two between 1 "
       "and 2^30"},
      {"alignment zero",
       [] {
         raw_file f;
         f.header(0, 1).kv_u32("general.alignment", 0);
         return f;
       },
       errc::parse_error,
       "bad.gguf: key 'general.alignment': byte 53: general.alignment is 0, which is not a power of two between 1 "
       "and 2^30"},
      {"alignment of the wrong type",
       [] {
         raw_file f;
         f.header(0, 1).kv_str("general.alignment", "32");
         return f;
       },
       errc::parse_error, "bad.gguf: key 'general.alignment': byte 53: is string, expected an integer (u32)"},
      {"too many dimensions",
       [] {
         raw_file f;
         f.header(1, 0).str("w").u32(5).zeros(64);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'w': byte 33: 5 dimensions (at most 4 are allowed)"},
      {"zero dimension",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {8, 0}, 0, 0).pad().zeros(32);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'w': byte 45: dimension 1 is 0"},
      {"overflowing dimensions",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {1ull << 40, 1ull << 40}, 0, 0).pad().zeros(32);
         return f;
       },
       errc::limit_exceeded, "bad.gguf: tensor 'w': byte 45: dimension 1 = 1099511627776 makes the element count overflow 2^63"},
      {"bytes overflow",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {1ull << 31, 1ull << 31}, 0, 0).pad().zeros(32);
         return f;
       },
       errc::limit_exceeded,
       "bad.gguf: tensor 'w': byte 33: 4611686018427387904 values of f32 overflow a 64-bit byte count"},
      {"byte size of one row overflows (found by fuzz_gguf)",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {(1ull << 62) + 8}, 0, 0).pad().zeros(32);
         return f;
       },
       errc::limit_exceeded,
       "bad.gguf: tensor 'w': byte 33: 4611686018427387912 values of f32 overflow a 64-bit byte count"},
      {"unknown tensor type",
       [] {
         raw_file f;
         f.header(1, 0).tensor("blk.0.attn_q.weight", {8}, 99, 0).pad().zeros(32);
         return f;
       },
       errc::unsupported,
       "bad.gguf: tensor 'blk.0.attn_q.weight': byte 63: unknown or unsupported tensor type id 99 (Tern reads f32, "
       "f16, bf16, q4_0..q8_1, q2_k..q8_k and i8..f64)"},
      {"removed type id 4 (q4_2)",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {32}, 4, 0).pad().zeros(32);
         return f;
       },
       errc::unsupported,
       "bad.gguf: tensor 'w': byte 45: unknown or unsupported tensor type id 4 (Tern reads f32, f16, bf16, "
       "q4_0..q8_1, q2_k..q8_k and i8..f64)"},
      {"row not a whole number of blocks",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {33, 2}, 8, 0).pad().zeros(128);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'w': byte 37: row length 33 is not a multiple of the q8_0 block size 32"},
      {"misaligned data offset",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {8}, 0, 4).pad().zeros(64);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'w': byte 49: data offset 4 is not a multiple of the alignment 32"},
      {"data out of bounds",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {8}, 0, 1024).pad().zeros(32);
         return f;
       },
       errc::parse_error,
       "bad.gguf: tensor 'w': byte 24: data at offset 1024 + 32 bytes extends past the end of the file (96 bytes; "
       "data section starts at byte 64)"},
      {"huge data offset",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {8}, 0, 0xFFFFFFFFFFFFFFE0ull).pad().zeros(32);
         return f;
       },
       errc::parse_error,
       "bad.gguf: tensor 'w': byte 24: data at offset 18446744073709551584 + 32 bytes extends past the end of the "
       "file (96 bytes; data section starts at byte 64)"},
      {"data section missing",
       [] {
         raw_file f;
         f.header(1, 0).tensor("w", {8}, 0, 0);
         return f;
       },
       errc::parse_error,
       "bad.gguf: tensor 'w': byte 24: data at offset 0 + 32 bytes extends past the end of the file (57 bytes; data "
       "section starts at byte 64)"},
      {"overlapping tensors",
       [] {
         raw_file f;
         f.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad().zeros(96);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'a': byte 24: data [96, 160) overlaps the data of tensor 'b' starting at byte 128"},
      {"duplicate tensor name",
       [] {
         raw_file f;
         f.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().zeros(64);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor 'w': byte 57: duplicate tensor name (first defined at byte 24)"},
      {"empty tensor name",
       [] {
         raw_file f;
         f.header(1, 0).tensor("", {8}, 0, 0).pad().zeros(32);
         return f;
       },
       errc::parse_error, "bad.gguf: tensor #0: byte 24: empty tensor name"},
      {"huge tensor name length",
       [] {
         raw_file f;
         f.header(1, 0).u64(k_huge).zeros(40);
         return f;
       },
       errc::parse_error,
       "bad.gguf: tensor #0: byte 24: length 18446744073709551615 of the name of tensor #0 runs past the end of the "
       "file (40 bytes left after the length)"},
  };

  for (const auto& c : cases) {
    INFO(c.what);
    const auto err = parse_error_of(c.make().b);
    CHECK(err.code() == c.code);
    CHECK(err.describe() == c.message);
  }
}

TEST_CASE("gguf bad files: every truncation of a valid file is an error naming a byte offset") {
  const auto full = valid_file().b;
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    const auto err = parse_error_of(std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<long>(n)));
    CHECK(err.code() == errc::parse_error);
    CHECK_THAT(err.describe(), Catch::StartsWith("bad.gguf: "));
    CHECK_THAT(err.describe(), Catch::Contains("byte "));
  }
}

TEST_CASE("gguf bad files: single-byte corruptions never crash and are either accepted or reported") {
  // Flip every byte of the header region to a few hostile values; the reader
  // must return (value or error) every time. Accepted variants must still
  // satisfy the layout invariants.
  const auto full = valid_file().b;
  const std::uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
  std::size_t n_errors = 0;
  for (std::size_t i = 0; i < 160 && i < full.size(); ++i) {
    for (auto v : values) {
      auto bytes = full;
      bytes[i] = v;
      auto r = gguf_file::from_bytes(std::move(bytes), "flip.gguf");
      if (!r) {
        ++n_errors;
        CHECK_THAT(r.error().describe(), Catch::StartsWith("flip.gguf: "));
        continue;
      }
      for (const auto& t : r->tensors()) {
        CHECK(t.offset + t.n_bytes <= r->file_size());
        CHECK(t.offset % r->alignment() == 0);
      }
    }
  }
  CHECK(n_errors > 100);
}

TEST_CASE("gguf bad files: version 2 files are read") {
  raw_file f;
  f.header(1, 1, 2).kv_str("general.architecture", "llama").tensor("w", {8}, 0, 0).pad().zeros(32);
  auto r = gguf_file::from_bytes(f.b, "v2.gguf");
  REQUIRE(r);
  CHECK(r->version() == 2);
  CHECK(r->tensors()[0].n_bytes == 32);
}
