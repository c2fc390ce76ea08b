// The GGUF reader on the real model files (tests/data, ../shared): every file
// loads and shows the hyper-parameters its README lists.
#include "fixtures.hpp"

#include <tern/engine/gguf.hpp>

#include <catch2/catch.hpp>

using tern::engine::gguf_file;
using tern::engine::gguf_type;
using tern::engine::tensor_type;

namespace {

gguf_file load(const std::filesystem::path& path) {
  auto f = gguf_file::open(path);
  if (!f) FAIL(f.error().to_string());
  return std::move(f).value();
}

template <class T>
T val(tern::result<T> r) {
  if (!r) FAIL(r.error().to_string());
  return std::move(r).value();
}

// Data of every tensor lies inside the file, aligned, without overlap.
void check_tensor_layout(const gguf_file& f) {
  for (const auto& t : f.tensors()) {
    CHECK(t.offset % f.alignment() == 0);
    CHECK(t.offset >= f.data_offset());
    CHECK(t.offset + t.n_bytes <= f.file_size());
    CHECK(t.data == f.bytes().data() + t.offset);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data) % f.alignment() == 0);
  }
}

}  // namespace

TEST_CASE("gguf: stories260K loads with its llama hyper-parameters") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto f = load(path);
  CHECK(f.version() == 3);
  CHECK(f.file_size() == 1185376);
  CHECK(val(f.get_string("general.architecture")) == "llama");
  CHECK(val(f.get_uint("llama.block_count")) == 5);
  CHECK(val(f.get_uint("llama.embedding_length")) == 64);
  CHECK(val(f.get_uint("llama.attention.head_count")) == 8);
  CHECK(val(f.get_uint("llama.attention.head_count_kv")) == 4);
  CHECK(val(f.get_uint("llama.feed_forward_length")) == 172);
  CHECK(val(f.get_uint("llama.context_length")) == 2048);
  CHECK(val(f.get_string("tokenizer.ggml.model")) == "llama");
  CHECK(val(f.get_uint("tokenizer.ggml.bos_token_id")) == 1);
  CHECK(val(f.get_uint("tokenizer.ggml.eos_token_id")) == 2);
  auto tokens = val(f.get_string_array("tokenizer.ggml.tokens"));
  CHECK(tokens.size() == 512);
  CHECK(val(f.get_f32_array("tokenizer.ggml.scores")).size() == 512);
  CHECK(val(f.get_i32_array("tokenizer.ggml.token_type")).size() == 512);

  REQUIRE(f.tensors().size() == 48);
  for (const auto& t : f.tensors()) CHECK(t.type == tensor_type::f32);
  const auto* emb = val(f.tensor("token_embd.weight"));
  CHECK(emb->n_dims == 2);
  CHECK(emb->ne[0] == 64);
  CHECK(emb->ne[1] == 512);
  CHECK(emb->n_bytes == 64 * 512 * 4);
  CHECK(f.find_tensor("output.weight") != nullptr);  // untied
  const auto* norm = val(f.tensor("blk.0.attn_norm.weight"));
  CHECK(norm->n_dims == 1);
  CHECK(norm->ne[0] == 64);
  check_tensor_layout(f);
}

TEST_CASE("gguf: llama-2-tiny-random loads with F16 and F32 tensors") {
  TERN_NEED_FIXTURE(path, "models/llama-2-tiny-random.gguf");
  auto f = load(path);
  CHECK(val(f.get_string("general.architecture")) == "llama");
  CHECK(val(f.get_uint("llama.block_count")) == 1);
  CHECK(val(f.get_uint("llama.embedding_length")) == 8);
  CHECK(val(f.get_uint("llama.attention.head_count")) == 2);
  CHECK(val(f.get_uint("llama.feed_forward_length")) == 32);
  CHECK(val(f.get_uint("llama.context_length")) == 4096);
  CHECK(val(f.get_string_array("tokenizer.ggml.tokens")).size() == 32000);
  REQUIRE(f.tensors().size() == 12);
  int n_f16 = 0, n_f32 = 0;
  for (const auto& t : f.tensors()) {
    n_f16 += t.type == tensor_type::f16;
    n_f32 += t.type == tensor_type::f32;
  }
  CHECK(n_f16 == 9);
  CHECK(n_f32 == 3);
  CHECK(f.find_tensor("output.weight") != nullptr);
  check_tensor_layout(f);
}

TEST_CASE("gguf: qwen2-vocab has the Qwen2.5 tokenizer and no tensors") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto f = load(path);
  CHECK(f.tensors().empty());
  CHECK(val(f.get_string("tokenizer.ggml.model")) == "gpt2");
  CHECK(val(f.get_string("tokenizer.ggml.pre")) == "qwen2");
  auto tokens = val(f.get_string_array("tokenizer.ggml.tokens"));
  REQUIRE(tokens.size() == 151936);
  CHECK(tokens[151644] == "<|im_start|>");
  CHECK(tokens[151645] == "<|im_end|>");
  CHECK(tokens[198] == "\xC4\x8A");  // "\n" in GPT-2's byte-to-unicode mapping
  auto merges = val(f.get_string_array("tokenizer.ggml.merges"));
  CHECK(merges.size() == 151387);
  CHECK(val(f.get_i32_array("tokenizer.ggml.token_type")).size() == 151936);
  CHECK(val(f.get_uint("tokenizer.ggml.bos_token_id")) == 151643);
  CHECK(val(f.get_uint("tokenizer.ggml.eos_token_id")) == 151645);
  CHECK(val(f.get_string("tokenizer.chat_template")).find("<|im_start|>") != std::string_view::npos);
  // The header keys give the Qwen2.5-0.5B shape.
  CHECK(val(f.get_uint("qwen2.block_count")) == 24);
  CHECK(val(f.get_uint("qwen2.embedding_length")) == 896);
  CHECK(val(f.get_uint("qwen2.attention.head_count")) == 14);
  CHECK(val(f.get_uint("qwen2.attention.head_count_kv")) == 2);
  CHECK(val(f.get_uint("qwen2.feed_forward_length")) == 4864);
  // Views are into the mapping: two lookups give the same storage.
  CHECK(val(f.get_string_array("tokenizer.ggml.tokens")).data() == tokens.data());
}

TEST_CASE("gguf: qwen2-tiny-random loads with biases and tied embeddings") {
  TERN_NEED_SHARED(path, "models/qwen2-tiny-random.gguf");
  auto f = load(path);
  CHECK(val(f.get_string("general.architecture")) == "qwen2");
  CHECK(val(f.get_uint("qwen2.block_count")) == 2);
  CHECK(val(f.get_uint("qwen2.embedding_length")) == 64);
  CHECK(val(f.get_uint("qwen2.attention.head_count")) == 4);
  CHECK(val(f.get_uint("qwen2.attention.head_count_kv")) == 2);
  CHECK(val(f.get_uint("qwen2.feed_forward_length")) == 128);
  CHECK(val(f.get_uint("qwen2.context_length")) == 4096);
  CHECK(val(f.get_number("qwen2.rope.freq_base")) == Approx(1e6));
  CHECK(val(f.get_number("qwen2.attention.layer_norm_rms_epsilon")) == Approx(1e-6));
  const auto* emb = val(f.tensor("token_embd.weight"));
  CHECK(emb->type == tensor_type::f16);
  CHECK(emb->ne[0] == 64);
  CHECK(emb->ne[1] == 151936);
  CHECK(f.find_tensor("output.weight") == nullptr);  // tied
  const auto* bq = val(f.tensor("blk.0.attn_q.bias"));
  CHECK(bq->type == tensor_type::f32);
  CHECK(bq->ne[0] == 64);
  CHECK(val(f.tensor("blk.1.attn_k.weight"))->ne[1] == 32);
  check_tensor_layout(f);
}

TEST_CASE("gguf: typed getters name the key when it is missing or of another type") {
  TERN_NEED_FIXTURE(path, "models/stories260K.gguf");
  auto f = load(path);
  auto missing = f.get_u32("llama.no_such_key");
  REQUIRE(!missing);
  CHECK(missing.error().code() == tern::errc::not_found);
  CHECK_THAT(missing.error().describe(), Catch::Contains("key 'llama.no_such_key': missing"));
  CHECK_THAT(missing.error().describe(), Catch::StartsWith(path.string()));

  auto wrong = f.get_string("llama.block_count");
  REQUIRE(!wrong);
  CHECK(wrong.error().code() == tern::errc::parse_error);
  CHECK_THAT(wrong.error().describe(), Catch::Contains("key 'llama.block_count': is u32, expected string"));

  auto arr = f.get_f32_array("tokenizer.ggml.tokens");
  REQUIRE(!arr);
  CHECK_THAT(arr.error().describe(), Catch::Contains("is an array of string, expected an array of f32"));

  auto not_arr = f.get_string_array("general.architecture");
  REQUIRE(!not_arr);
  CHECK_THAT(not_arr.error().describe(), Catch::Contains("is string, expected an array of string"));

  CHECK(val(f.get_int_or("llama.no_such_key", -7)) == -7);
  CHECK(val(f.get_uint_or("llama.block_count", 99)) == 5);
  CHECK(!f.get_bool_or("llama.block_count", true));  // present but not a bool

  auto t = f.tensor("blk.9.attn_q.weight");
  REQUIRE(!t);
  CHECK(t.error().code() == tern::errc::not_found);
  CHECK_THAT(t.error().describe(), Catch::Contains("tensor 'blk.9.attn_q.weight': missing"));
}

TEST_CASE("gguf: open reports files that cannot be read") {
  auto none = gguf_file::open("/nonexistent/dir/model.gguf");
  REQUIRE(!none);
  CHECK(none.error().code() == tern::errc::io_error);
  CHECK_THAT(none.error().describe(), Catch::StartsWith("/nonexistent/dir/model.gguf: cannot open"));

  auto dir = gguf_file::open(TERN_TEST_DATA_DIR);
  REQUIRE(!dir);
  CHECK_THAT(dir.error().describe(), Catch::Contains("not a regular file"));
}

TEST_CASE("gguf: format_value abbreviates arrays and long strings") {
  TERN_NEED_FIXTURE(path, "models/qwen2-vocab.gguf");
  auto f = load(path);
  const auto* tokens = f.find("tokenizer.ggml.tokens");
  REQUIRE(tokens);
  CHECK(f.format_value(*tokens, 3) == "[\"!\", \"\\\"\", \"#\", ...] (151936 items)");
  const auto* tmpl = f.find("tokenizer.chat_template");
  REQUIRE(tmpl);
  const auto text = f.format_value(*tmpl);
  CHECK(text.find('\n') == std::string::npos);
  CHECK_THAT(text, Catch::EndsWith("bytes)"));
  CHECK(f.format_value(*f.find("qwen2.block_count")) == "24");
}
