// Random-weight models (tern make-model): names, shapes and keys as llama.cpp
// expects them, reproducible weights with the stated distribution.
#include "fixtures.hpp"

#include <tern/engine/gguf.hpp>
#include <tern/engine/gguf_writer.hpp>
#include <tern/engine/quant.hpp>
#include <tern/engine/random_model.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

using namespace tern::engine;

namespace {

template <class T>
T val(tern::result<T> r) {
  if (!r) FAIL(r.error().to_string());
  return std::move(r).value();
}

gguf_file make(const random_model_spec& spec) {
  gguf_writer w;
  auto r = build_random_model(spec, w);
  if (!r) FAIL(r.error().to_string());
  return val(gguf_file::from_bytes(val(w.to_bytes()), "random.gguf"));
}

random_model_spec tiny(std::string arch) {
  random_model_spec s;
  s.arch = std::move(arch);
  s.n_layer = 2;
  s.n_embd = 64;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 96;
  s.n_vocab = 160;
  s.type = tensor_type::f32;
  return s;
}

std::vector<float> as_floats(const gguf_tensor_info& t) {
  std::vector<float> out(static_cast<std::size_t>(t.n_elems));
  dequantize_row(t.type, t.data, out.data(), static_cast<std::int64_t>(t.n_elems));
  return out;
}

using dims = std::array<std::uint64_t, 4>;

}  // namespace

TEST_CASE("random_model: llama, qwen2 and qwen3 have llama.cpp's tensors and keys") {
  for (const std::string arch : {"llama", "qwen2", "qwen3"}) {
    INFO(arch);
    auto f = make(tiny(arch));
    CHECK(val(f.get_string("general.architecture")) == arch);
    CHECK(val(f.get_u32(arch + ".block_count")) == 2);
    CHECK(val(f.get_u32(arch + ".embedding_length")) == 64);
    CHECK(val(f.get_u32(arch + ".feed_forward_length")) == 96);
    CHECK(val(f.get_u32(arch + ".attention.head_count")) == 4);
    CHECK(val(f.get_u32(arch + ".attention.head_count_kv")) == 2);
    CHECK(val(f.get_u32(arch + ".context_length")) == 4096);
    CHECK(val(f.get_u32(arch + ".rope.dimension_count")) == 16);
    CHECK(val(f.get_f32(arch + ".rope.freq_base")) == (arch == "llama" ? 10000.0f : 1e6f));
    CHECK(val(f.get_f32(arch + ".attention.layer_norm_rms_epsilon")) == (arch == "llama" ? 1e-5f : 1e-6f));
    CHECK(val(f.get_u32("general.file_type")) == 0);

    std::size_t per_layer = 9 + (arch == "qwen2" ? 3 : 0) + (arch == "qwen3" ? 2 : 0);
    const bool tied = arch != "llama";
    CHECK(f.tensors().size() == 2 * per_layer + 2 + (tied ? 0 : 1));
    CHECK(val(f.tensor("token_embd.weight"))->ne == dims{64, 160, 1, 1});
    CHECK(val(f.tensor("output_norm.weight"))->ne == dims{64, 1, 1, 1});
    CHECK((f.find_tensor("output.weight") != nullptr) == !tied);
    for (int l = 0; l < 2; ++l) {
      auto name = [&](const char* n) { return "blk." + std::to_string(l) + "." + n; };
      CHECK(val(f.tensor(name("attn_norm.weight")))->ne == dims{64, 1, 1, 1});
      CHECK(val(f.tensor(name("attn_q.weight")))->ne == dims{64, 64, 1, 1});
      CHECK(val(f.tensor(name("attn_k.weight")))->ne == dims{64, 32, 1, 1});
      CHECK(val(f.tensor(name("attn_v.weight")))->ne == dims{64, 32, 1, 1});
      CHECK(val(f.tensor(name("attn_output.weight")))->ne == dims{64, 64, 1, 1});
      CHECK(val(f.tensor(name("ffn_norm.weight")))->ne == dims{64, 1, 1, 1});
      CHECK(val(f.tensor(name("ffn_gate.weight")))->ne == dims{64, 96, 1, 1});
      CHECK(val(f.tensor(name("ffn_up.weight")))->ne == dims{64, 96, 1, 1});
      CHECK(val(f.tensor(name("ffn_down.weight")))->ne == dims{96, 64, 1, 1});
      CHECK((f.find_tensor(name("attn_q.bias")) != nullptr) == (arch == "qwen2"));
      if (arch == "qwen2") {
        CHECK(val(f.tensor(name("attn_q.bias")))->ne == dims{64, 1, 1, 1});
        CHECK(val(f.tensor(name("attn_k.bias")))->ne == dims{32, 1, 1, 1});
        CHECK(val(f.tensor(name("attn_v.bias")))->ne == dims{32, 1, 1, 1});
      }
      CHECK((f.find_tensor(name("attn_q_norm.weight")) != nullptr) == (arch == "qwen3"));
      if (arch == "qwen3") {
        CHECK(val(f.tensor(name("attn_q_norm.weight")))->ne == dims{16, 1, 1, 1});
        CHECK(val(f.tensor(name("attn_k_norm.weight")))->ne == dims{16, 1, 1, 1});
      }
    }
  }
}

TEST_CASE("random_model: weights are N(0, 0.02), norms are 1, and a seed reproduces them") {
  auto spec = tiny("qwen2");
  spec.n_vocab = 4096;
  auto f = make(spec);
  const auto emb = as_floats(*val(f.tensor("token_embd.weight")));
  double sum = 0, sq = 0;
  for (float x : emb) {
    sum += x;
    sq += double{x} * x;
  }
  const double n = static_cast<double>(emb.size());  // 262144 values
  const double mean = sum / n;
  const double sd = std::sqrt(sq / n - mean * mean);
  CHECK(std::abs(mean) < 0.0002);  // 5 standard errors (0.02 / sqrt(n) = 4e-5)
  CHECK(sd == Approx(0.02).epsilon(0.01));
  for (float x : as_floats(*val(f.tensor("blk.1.ffn_norm.weight")))) REQUIRE(x == 1.0f);
  const auto bias = as_floats(*val(f.tensor("blk.0.attn_q.bias")));
  CHECK(std::any_of(bias.begin(), bias.end(), [](float x) { return x != 0.0f; }));

  auto again = make(spec);
  CHECK(std::memcmp(again.bytes().data(), f.bytes().data(), f.file_size()) == 0);
  spec.seed = 43;
  auto other = make(spec);
  CHECK(as_floats(*val(other.tensor("token_embd.weight"))) != emb);
  // Different tensors draw different streams.
  CHECK(as_floats(*val(f.tensor("blk.0.attn_q.weight"))) != as_floats(*val(f.tensor("blk.1.attn_q.weight"))));
}

TEST_CASE("random_model: Q8_0 and F16 encode the same draws as F32") {
  auto spec = tiny("llama");
  const auto ref = as_floats(*val(make(spec).tensor("blk.0.ffn_up.weight")));
  for (auto type : {tensor_type::q8_0, tensor_type::f16}) {
    spec.type = type;
    auto f = make(spec);
    const auto* t = val(f.tensor("blk.0.ffn_up.weight"));
    CHECK(t->type == type);
    const auto got = as_floats(*t);
    REQUIRE(got.size() == ref.size());
    // Q8_0: error at most half a step, step = max|x| of the block / 127 (< 0.1 / 127).
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(std::abs(got[i] - ref[i]) <= 0.1f / 127.0f);
    CHECK(val(f.tensor("blk.0.ffn_norm.weight"))->type == tensor_type::f32);
    CHECK(val(f.get_u32("general.file_type")) == (type == tensor_type::q8_0 ? 7u : 1u));
  }
}

TEST_CASE("random_model: the tokenizer and vocabulary size come from --vocab-from") {
  TERN_NEED_FIXTURE(path, "models/llama-2-tiny-random.gguf");
  auto vocab = val(gguf_file::open(path));
  auto spec = tiny("llama");
  spec.n_vocab = 0;
  spec.vocab = &vocab;
  spec.tied = true;
  auto f = make(spec);
  CHECK(val(f.get_u32("llama.vocab_size")) == 32000);
  CHECK(val(f.tensor("token_embd.weight"))->ne[1] == 32000);
  CHECK(f.find_tensor("output.weight") == nullptr);
  CHECK(val(f.get_string_array("tokenizer.ggml.tokens")).size() == 32000);
  CHECK(val(f.get_f32_array("tokenizer.ggml.scores")) == val(vocab.get_f32_array("tokenizer.ggml.scores")));
  // Only tokenizer.* keys are borrowed, not the donor's shape.
  CHECK(val(f.get_u32("llama.embedding_length")) == 64);
  CHECK(val(f.get_string("general.architecture")) == "llama");

  spec.n_vocab = 500;
  gguf_writer w;
  auto r = build_random_model(spec, w);
  REQUIRE(!r);
  CHECK(r.error().describe() == "--vocab 500 differs from the 32000 tokens of --vocab-from");
}

TEST_CASE("random_model: impossible shapes are refused with the option named") {
  struct bad {
    std::function<void(random_model_spec&)> edit;
    std::string message;
  };
  const std::vector<bad> cases = {
      {[](auto& s) { s.arch = "gpt2"; }, "--arch gpt2: not one of llama, qwen2, qwen3"},
      {[](auto& s) { s.n_layer = 0; }, "--layers must be at least 1"},
      {[](auto& s) { s.n_head = 5; s.n_head_kv = 5; }, "--hidden 64 is not a multiple of --heads 5 (or give --head-dim)"},
      {[](auto& s) { s.n_head_kv = 3; }, "--heads 4 is not a multiple of --kv-heads 3"},
      {[](auto& s) { s.n_vocab = 0; }, "give --vocab-from FILE (to borrow a tokenizer) or --vocab N"},
      {[](auto& s) { s.type = tensor_type::q8_0; s.n_ff = 100; }, "--ffn = 100 is not a multiple of the q8_0 block size 32"},
      {[](auto& s) { s.type = tensor_type::q4_k; }, "--hidden = 64 is not a multiple of the q4_k block size 256"},
      {[](auto& s) { s.head_dim = 7; }, "head dimension 7 is odd; RoPE needs an even one"},
  };
  for (const auto& c : cases) {
    auto spec = tiny("qwen2");
    c.edit(spec);
    gguf_writer w;
    auto r = build_random_model(spec, w);
    REQUIRE(!r);
    CHECK(r.error().code() == tern::errc::invalid_argument);
    CHECK(r.error().describe() == c.message);
  }
}

TEST_CASE("random_model: random_normal does not depend on how the range is split") {
  std::vector<float> whole(1001), parts(1001);
  random_normal(5, 9, 0, 1.0f, whole.data(), whole.size());
  random_normal(5, 9, 0, 1.0f, parts.data(), 333);
  random_normal(5, 9, 333, 1.0f, parts.data() + 333, 668);
  CHECK(whole == parts);
}
