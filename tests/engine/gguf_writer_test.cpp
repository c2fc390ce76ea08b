// gguf_writer: what it writes reads back equal through gguf_file.
#include "fixtures.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/gguf_writer.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <unistd.h>

using tern::engine::gguf_file;
using tern::engine::gguf_type;
using tern::engine::gguf_writer;
using tern::engine::tensor_type;

namespace {

template <class T>
T val(tern::result<T> r) {
  if (!r) FAIL(r.error().to_string());
  return std::move(r).value();
}

gguf_file reread(const gguf_writer& w) {
  auto bytes = val(w.to_bytes());
  return val(gguf_file::from_bytes(std::move(bytes), "roundtrip.gguf"));
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("tern-gguf-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace

TEST_CASE("gguf_writer: every metadata type reads back equal") {
  gguf_writer w;
  w.set_u8("t.u8", 200);
  w.set_i8("t.i8", -100);
  w.set_u16("t.u16", 60000);
  w.set_i16("t.i16", -30000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", std::numeric_limits<std::uint64_t>::max());
  w.set_i64("t.i64", std::numeric_limits<std::int64_t>::min());
  w.set_f32("t.f32", 1.5e-6f);
  w.set_f64("t.f64", 3.141592653589793);
  w.set_bool("t.true", true);
  w.set_bool("t.false", false);
  w.set_string("t.str", "h\xC3\xA9llo\n\"world\"");
  w.set_string("t.empty", "");
  w.set_array<float>("t.f32s", std::vector<float>{0.5f, -1.0f, 1e30f});
  w.set_array<std::int32_t>("t.i32s", std::vector<std::int32_t>{1, -2, 3});
  w.set_array<std::uint32_t>("t.u32s", std::vector<std::uint32_t>{7, 8});
  w.set_array<std::int64_t>("t.i64s", std::vector<std::int64_t>{-5, std::numeric_limits<std::int64_t>::max()});
  w.set_array<std::uint8_t>("t.u8s", std::vector<std::uint8_t>{});
  w.set_array<bool>("t.bools", std::vector<bool>{true, false, true});
  w.set_array<double>("t.f64s", std::vector<double>{0.25});
  const std::vector<std::string> strs = {"a", "", "<|im_start|>", std::string("nul\0in", 6)};
  w.set_string_array("t.strs", strs);

  auto f = reread(w);
  CHECK(f.version() == 3);
  CHECK(f.metadata().size() == 22);
  CHECK(f.metadata()[0].key == "t.u8");  // insertion order
  CHECK(val(f.get_u8("t.u8")) == 200);
  CHECK(val(f.get_i8("t.i8")) == -100);
  CHECK(val(f.get_u16("t.u16")) == 60000);
  CHECK(val(f.get_i16("t.i16")) == -30000);
  CHECK(val(f.get_u32("t.u32")) == 4000000000u);
  CHECK(val(f.get_i32("t.i32")) == -2000000000);
  CHECK(val(f.get_u64("t.u64")) == std::numeric_limits<std::uint64_t>::max());
  CHECK(val(f.get_i64("t.i64")) == std::numeric_limits<std::int64_t>::min());
  CHECK(val(f.get_f32("t.f32")) == 1.5e-6f);
  CHECK(val(f.get_f64("t.f64")) == 3.141592653589793);
  CHECK(val(f.get_bool("t.true")));
  CHECK(!val(f.get_bool("t.false")));
  CHECK(val(f.get_string("t.str")) == "h\xC3\xA9llo\n\"world\"");
  CHECK(val(f.get_string("t.empty")).empty());
  CHECK(val(f.get_f32_array("t.f32s")) == std::vector<float>{0.5f, -1.0f, 1e30f});
  CHECK(val(f.get_i32_array("t.i32s")) == std::vector<std::int32_t>{1, -2, 3});
  CHECK(val(f.get_i32_array("t.u32s")) == std::vector<std::int32_t>{7, 8});
  CHECK(val(f.get_int_array("t.i64s")) == std::vector<std::int64_t>{-5, std::numeric_limits<std::int64_t>::max()});
  CHECK(val(f.get_int_array("t.u8s")).empty());
  CHECK(f.find("t.bools")->array_type == gguf_type::boolean);
  CHECK(f.format_value(*f.find("t.bools")) == "[true, false, true]");
  CHECK(val(f.get_f32_array("t.f64s")) == std::vector<float>{0.25f});
  auto s = val(f.get_string_array("t.strs"));
  REQUIRE(s.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(s[i] == strs[i]);

  // Lenient getters across integer widths and signs.
  CHECK(val(f.get_int("t.u8")) == 200);
  CHECK(val(f.get_int("t.i64")) == std::numeric_limits<std::int64_t>::min());
  CHECK(val(f.get_uint("t.u32")) == 4000000000u);
  CHECK(!f.get_uint("t.i8"));  // negative
  CHECK(!f.get_int("t.u64"));  // above INT64_MAX
  CHECK(f.get_int("t.u64").error().code() == tern::errc::limit_exceeded);
  CHECK(val(f.get_number("t.f32")) == Approx(1.5e-6));
  CHECK(val(f.get_number("t.i16")) == -30000.0);
  CHECK(!f.get_number("t.str"));
  CHECK(!f.get_i32_array("t.i64s"));  // INT64_MAX does not fit i32
}

TEST_CASE("gguf_writer: setting a key again replaces it in place; remove drops it") {
  gguf_writer w;
  w.set_u32("a", 1);
  w.set_string("b", "x");
  w.set_string("a", "now a string");
  CHECK(w.n_kv() == 2);
  CHECK(w.remove("b"));
  CHECK(!w.remove("b"));
  auto f = reread(w);
  REQUIRE(f.metadata().size() == 1);
  CHECK(val(f.get_string("a")) == "now a string");
}

TEST_CASE("gguf_writer: tensors of F32, F16 and Q8_0 read back at aligned offsets with equal bytes") {
  for (std::uint32_t alignment : {32u, 64u, 1u}) {
    gguf_writer w;
    REQUIRE(w.set_alignment(alignment));
    w.set_string("general.architecture", "llama");
    const auto a = pattern(3 * 5 * 4, 1);           // f32 [3, 5]
    const auto b = pattern(7 * 2, 2);               // f16 [7]
    const auto c = pattern(64 / 32 * 34 * 3, 3);    // q8_0 [64, 3]
    const auto d = pattern(2 * 3 * 4 * 5 * 4, 4);   // f32 [2, 3, 4, 5]
    REQUIRE(w.add_tensor("a", tensor_type::f32, {3, 5}, a));
    REQUIRE(w.add_tensor("b", tensor_type::f16, {7}, b));
    REQUIRE(w.add_tensor("c", tensor_type::q8_0, {64, 3}, c));
    REQUIRE(w.add_tensor("d", tensor_type::f32, {2, 3, 4, 5}, d));
    const std::uint64_t ne_e[] = {32};
    REQUIRE(w.add_tensor("e", tensor_type::q8_0, ne_e, [](std::span<std::uint8_t> out) -> tern::result<void> {
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i);
      return tern::ok();
    }));

    auto f = reread(w);
    CHECK(f.alignment() == alignment);
    CHECK(f.has("general.alignment") == (alignment != 32));
    REQUIRE(f.tensors().size() == 5);
    const std::vector<std::uint8_t>* want[] = {&a, &b, &c, &d};
    const tensor_type types[] = {tensor_type::f32, tensor_type::f16, tensor_type::q8_0, tensor_type::f32};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto& t = f.tensors()[i];
      CHECK(t.type == types[i]);
      CHECK(t.offset % alignment == 0);
      REQUIRE(t.n_bytes == want[i]->size());
      CHECK(std::memcmp(t.data, want[i]->data(), t.n_bytes) == 0);
    }
    const auto& c_info = f.tensors()[2];
    CHECK(c_info.name == "c");
    CHECK(c_info.n_dims == 2);
    CHECK(c_info.ne == std::array<std::uint64_t, 4>{64, 3, 1, 1});
    CHECK(f.tensors()[3].ne == std::array<std::uint64_t, 4>{2, 3, 4, 5});
    const auto& e = f.tensors()[4];
    REQUIRE(e.n_bytes == 34);
    CHECK(e.data[33] == 33);
  }
}

TEST_CASE("gguf_writer: bad tensors and alignments are refused with the tensor named") {
  gguf_writer w;
  auto r = w.add_tensor("x", tensor_type::f32, {4}, std::vector<std::uint8_t>(15));
  REQUIRE(!r);
  CHECK(r.error().describe() == "tensor 'x': data is 15 bytes, but 4 values of f32 take 16");
  r = w.add_tensor("q", tensor_type::q8_0, {33}, std::vector<std::uint8_t>(34));
  REQUIRE(!r);
  CHECK_THAT(r.error().describe(), Catch::Contains("tensor 'q'"));
  r = w.add_tensor("z", tensor_type::f32, {4, 0}, std::vector<std::uint8_t>());
  REQUIRE(!r);
  CHECK(r.error().describe() == "tensor 'z': dimension 1 is 0");
  r = w.add_tensor("five", tensor_type::f32, {1, 1, 1, 1, 1}, std::vector<std::uint8_t>(4));
  REQUIRE(!r);
  CHECK(r.error().describe() == "tensor 'five': 5 dimensions (1 to 4 are allowed)");
  REQUIRE(w.add_tensor("ok", tensor_type::f32, {1}, std::vector<std::uint8_t>(4)));
  r = w.add_tensor("ok", tensor_type::f32, {1}, std::vector<std::uint8_t>(4));
  REQUIRE(!r);
  CHECK(r.error().describe() == "tensor 'ok': added twice");
  CHECK(w.n_tensors() == 1);
  CHECK(!w.set_alignment(24));
  CHECK(!w.set_alignment(0));
}

TEST_CASE("gguf_writer: a producer's error names the tensor and leaves no file behind") {
  gguf_writer w;
  const std::uint64_t ne[] = {8};
  REQUIRE(w.add_tensor("bad", tensor_type::f32, ne, [](std::span<std::uint8_t>) -> tern::result<void> {
    return tern::fail(tern::errc::internal, "no data");
  }));
  const auto path = temp_path("producer-fails.gguf");
  auto r = w.write(path);
  REQUIRE(!r);
  CHECK(r.error().describe() == "tensor 'bad': no data");
  CHECK(!std::filesystem::exists(path));
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));
}

TEST_CASE("gguf_writer: write() to a file, then open() maps the same bytes as to_bytes()") {
  gguf_writer w;
  w.set_string("general.architecture", "qwen2");
  REQUIRE(w.add_tensor("t", tensor_type::f32, {5}, pattern(20, 9)));
  const auto path = temp_path("write.gguf");
  REQUIRE(w.write(path));
  auto f = val(gguf_file::open(path));
  const auto bytes = val(w.to_bytes());
  REQUIRE(f.file_size() == bytes.size());
  CHECK(std::memcmp(f.bytes().data(), bytes.data(), bytes.size()) == 0);
  std::filesystem::remove(path);

  auto bad = w.write("/nonexistent/dir/out.gguf");
  REQUIRE(!bad);
  CHECK(bad.error().code() == tern::errc::io_error);
}

TEST_CASE("gguf_writer: copy_kv borrows a tokenizer byte for byte") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto src = val(gguf_file::open(path));
  gguf_writer w;
  for (const auto& kv : src.metadata())
    if (kv.key.starts_with("tokenizer.")) w.copy_kv(kv);
  auto f = reread(w);
  const auto a = val(src.get_string_array("tokenizer.ggml.tokens"));
  const auto b = val(f.get_string_array("tokenizer.ggml.tokens"));
  REQUIRE(a.size() == b.size());
  CHECK(std::equal(a.begin(), a.end(), b.begin()));
  CHECK(val(f.get_string_array("tokenizer.ggml.merges")).size() == 151387);
  CHECK(val(f.get_string("tokenizer.chat_template")) == val(src.get_string("tokenizer.chat_template")));
  CHECK(val(f.get_i32_array("tokenizer.ggml.token_type")) == val(src.get_i32_array("tokenizer.ggml.token_type")));
  CHECK(!f.has("general.architecture"));
}

TEST_CASE("gguf_writer: rewriting llama.cpp-written files gives the same bytes") {
  // The files were written by llama.cpp's gguf-py; copying every key and
  // tensor through gguf_writer must reproduce them byte for byte, which pins
  // our layout (header, padding, offsets) to theirs.
  for (const char* name : {"models/stories260K.gguf", "models/llama-2-tiny-random.gguf", "models/qwen2-vocab.gguf"}) {
    INFO(name);
    auto path = tern::test::fixture(name);
    if (!path) {
      tern::test::report_skip(std::string("needs ") + name);
      continue;
    }
    auto src = val(gguf_file::open(*path));
    gguf_writer w;
    for (const auto& kv : src.metadata()) w.copy_kv(kv);
    REQUIRE(w.set_alignment(static_cast<std::uint32_t>(src.alignment())));
    for (const auto& t : src.tensors()) {
      std::vector<std::uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      REQUIRE(w.add_tensor(t.name, t.type, ne, std::vector<std::uint8_t>(t.data, t.data + t.n_bytes)));
    }
    const auto bytes = val(w.to_bytes());
    CHECK(bytes.size() == src.file_size());
    CHECK(std::memcmp(bytes.data(), src.bytes().data(), std::min<std::size_t>(bytes.size(), src.file_size())) == 0);
  }
}
