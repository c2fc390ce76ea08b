// Byte-level DFAs for grammar terminals, and the regex subset that builds them.
//
// A terminal of a grammar (a JSON string with its constraints, a number, a
// keyword, a literal) is one DFA over bytes. UTF-8 is handled by expanding code
// point classes into byte sequences, so the matcher never decodes characters.
// Every DFA here is trimmed: each live state can still reach an accepting state,
// which the token masks rely on (a live state means "can still finish").
#pragma once

#include <tern/core/result.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::engine::grammar_detail {

inline constexpr int32_t dead = -1;

struct dfa {
  std::array<uint16_t, 256> byte_class{};  // byte -> equivalence class
  int n_classes = 1;
  std::vector<int32_t> next;     // [state * n_classes + class] -> state or dead
  std::vector<uint8_t> accept;   // [state]
  std::vector<uint8_t> has_out;  // [state]: some byte leads to a live state
  std::vector<uint32_t> min_to_accept;  // [state]: shortest byte count to an accepting state
  int32_t start = 0;

  int32_t step(int32_t s, uint8_t b) const { return next[size_t(s) * n_classes + byte_class[b]]; }
  size_t n_states() const { return accept.size(); }
  bool empty_language() const { return accept.empty(); }
  // Stable fingerprint of the whole machine, for sharing caches between equal DFAs.
  std::string key() const;
};

// Regular expression tree (the subset documented in docs/grammar.md).
struct rx_node;
using rx = std::shared_ptr<const rx_node>;

struct cp_range {
  uint32_t lo, hi;  // inclusive Unicode scalar values
};

struct rx_node {
  enum kind_t { empty, cls, bytes, concat, alt, repeat } kind = empty;
  std::vector<cp_range> ranges;  // cls: code point ranges
  std::string literal;           // bytes: raw bytes, matched as is
  std::vector<rx> kids;          // concat, alt, repeat (one kid)
  uint32_t min = 0, max = 0;     // repeat; max == unbounded for no limit
  static constexpr uint32_t unbounded = 0xFFFFFFFFu;
};

rx rx_empty();
rx rx_literal(std::string_view raw_bytes);
rx rx_class(std::vector<cp_range> ranges);
rx rx_any_char();
rx rx_seq(std::vector<rx> parts);
rx rx_alt(std::vector<rx> parts);
rx rx_repeat(rx kid, uint32_t min, uint32_t max);

// A structural fingerprint of the tree: equal keys mean equal trees (and so
// equal machines for equal options). For memoising compiles within a schema.
std::string rx_key(const rx& re);

// Parses a JSON Schema `pattern` (ECMA-262 subset). Unanchored unless anchored
// (each top-level alternative separately). Errors name the offending construct.
result<rx> parse_regex(std::string_view pattern);

// The body of a JSON string whose decoded characters match `chars_re`: each
// character class becomes its raw UTF-8 form (for characters JSON allows raw)
// and its escapes (\" \\ \/ \b \f \n \r \t \uXXXX where applicable).
// Literal (bytes) nodes are taken as already-encoded JSON text.
struct compile_options {
  bool json_string = false;  // classes expand to JSON string characters
  size_t max_states = 20000;
};

result<dfa> compile_dfa(const rx& re, const compile_options& opts = {});

// The canonical form every function here returns: only states that are
// reachable and can still reach acceptance, equivalent states merged
// (Hopcroft), numbered in BFS order from the start over classes in order;
// has_out and min_to_accept filled. Equal languages over equal byte classes
// give identical machines (equal key()). `in` needs accept and next only.
dfa canonicalize(const dfa& in);

// Product machines. intersect: both accept; subtract: a accepts and b does not.
result<dfa> intersect(const dfa& a, const dfa& b, bool subtract = false, size_t max_states = 20000);

// a minus a finite set of words (raw bytes): the product with a trie built
// directly, for large schemas' "any key but the declared ones" terminals.
result<dfa> subtract_words(const dfa& a, const std::vector<std::string>& words, size_t max_states = 20000);

// `byte` followed by x: x's machine behind a new start state, without
// minimising again (x must be canonical, with classes numbered by first byte,
// as every function here gives them).
dfa prepend_byte(const dfa& x, uint8_t byte);

// `-?[0-9]+` whose value is a multiple of m (m >= 1; m + 2 states). Meant to be
// intersected with an integer terminal, which rules out leading zeros.
dfa divisible_by(uint32_t m);

}  // namespace tern::engine::grammar_detail
