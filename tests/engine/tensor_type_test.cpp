#include <tern/engine/tensor_type.hpp>

#include <catch2/catch.hpp>

using namespace tern::engine;

TEST_CASE("tensor_type: block layouts follow the GGUF spec") {
  CHECK(info(tensor_type::q8_0).block_bytes == 34);
  CHECK(info(tensor_type::q4_k).block_bytes == 144);
  CHECK(info(tensor_type::q6_k).block_bytes == 210);
  CHECK(info(tensor_type::q5_0).block_bytes == 22);
  CHECK(*bytes_for(tensor_type::q8_0, 64) == 68);
  CHECK(*bytes_for(tensor_type::f16, 3) == 6);
}

TEST_CASE("tensor_type: unknown ids and bad lengths are errors, not crashes") {
  CHECK(find_tensor_type(16) == nullptr);  // IQ2_XXS: not implemented
  CHECK(find_tensor_type(12345) == nullptr);
  CHECK(to_string(static_cast<tensor_type>(99)) == "type 99");
  auto partial = bytes_for(tensor_type::q4_k, 100);
  REQUIRE_FALSE(partial);
  CHECK(partial.error().code() == tern::errc::invalid_argument);
  auto huge = bytes_for(tensor_type::f64, ~0ull);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().code() == tern::errc::limit_exceeded);
}

TEST_CASE("tensor_type: names parse case-insensitively") {
  CHECK(*parse_tensor_type("Q8_0") == tensor_type::q8_0);
  CHECK(*parse_tensor_type("bf16") == tensor_type::bf16);
  CHECK_FALSE(parse_tensor_type("q9_9"));
}
