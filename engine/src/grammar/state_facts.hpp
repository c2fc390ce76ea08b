// What a terminal DFA's states do to whole subtrees of the vocabulary trie:
// the facts that let a first-visit walk (token_index.cpp) take a subtree
// without walking it. They depend on the DFA alone, so one state_facts is kept
// per distinct DFA (by key) for the vocabulary's lifetime and filled lazily,
// state by state, as walks meet states; every later entry of the same machine,
// in any grammar, reuses them.
#pragma once

#include "grammar/dfa.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace tern::engine::grammar_detail {

// UTF-8 decoder states (RFC 3629 byte ranges) for clean JSON string text:
// whole characters other than '"', '\\' and controls, the last one possibly
// cut short.
enum utf8_state : uint8_t { u8_start, u8_cont1, u8_cont2, u8_cont3, u8_e0, u8_ed, u8_f0, u8_f4, u8_n };

// [u][b]: the decoder state after byte b in state u, or -1 when b is not clean there.
extern const std::array<std::array<int8_t, 256>, u8_n> utf8_clean_table;
inline int utf8_clean_next(int u, uint8_t b) { return utf8_clean_table[size_t(u)][b]; }

// Not thread-safe: a walk holds mutex() while it uses the object.
class state_facts {
 public:
  struct info {
    std::array<uint64_t, 4> bytes{};  // 256-bit set of the bytes on which the state stays where it is
    bool any = false;                 // bytes is not empty
    // Clean text of any length made of text_bytes keeps the DFA live and
    // short of accepting: the states those characters reach (and those
    // inside multi-byte characters) are all live and non-accepting. A JSON
    // string body: free strings, additional-property keys, unanchored
    // patterns before their match, and (with the excluded ASCII bytes left
    // out of text_bytes) negated classes such as [^<>/]*.
    bool text = false;
    uint32_t reach = 0;  // when !text: clean text of up to this many characters stays live and non-accepting
    std::array<uint64_t, 4> text_bytes = {~0ull, ~0ull, ~0ull, ~0ull};
  };

  // `d` fixes the machine; every later of() must pass a DFA equal to it
  // (the same key), which the object does not keep.
  explicit state_facts(const dfa& d);

  // Facts of live state s, computed on first request (up to a few thousand
  // DFA steps), then a lookup. The reference stays valid until the next of().
  const info& of(const dfa& d, int32_t s);

  std::mutex& mutex() { return mu_; }
  size_t bytes() const;
  size_t n_computed() const { return sets_.size(); }
  size_t n_closed_without() const { return n_closed_without_; }  // states text-closed only without some bytes

 private:
  enum : uint8_t { unknown, closed, open };
  struct clean_step {
    uint8_t byte;  // one byte of its (DFA class, next decoder state) group
    int8_t v;      // decoder state after it
  };
  // `without`: ASCII bytes left out of the text (whole DFA classes); the
  // answer is then about s alone and is not cached per state.
  bool text_closed(const dfa& d, int32_t s, const std::array<uint64_t, 4>* without = nullptr);
  uint32_t text_reach(const dfa& d, int32_t s);
  // One clean character read from boundary state x: walks the states inside
  // a multi-byte character (n_mid counts them, at most max_mid) and appends
  // each boundary state not yet marked to `out` (at most max_out in all).
  // `without` leaves bytes out of a character's first byte. False when a
  // step dies or accepts, or a bound is passed.
  bool one_clean_char(const dfa& d, int32_t x, const std::array<uint64_t, 4>* without, std::vector<int32_t>& out,
                      size_t max_out, size_t& n_mid, size_t max_mid);
  void clear_marks();

  std::mutex mu_;
  std::vector<std::array<uint64_t, 4>> class_bytes_;  // [class]: the bytes of the class
  // [u]: the clean bytes in decoder state u, one per (class, next state):
  // bytes in one group take every DFA state to the same place.
  std::array<std::vector<clean_step>, u8_n> clean_steps_;
  std::vector<int32_t> idx_;  // [state] -> index into sets_, or -1
  std::vector<info> sets_;
  std::vector<uint8_t> text_;   // [state]: unknown, closed, open
  std::vector<int32_t> reach_;  // [state]: characters of reach, or -1 when not known
  // Scratch for the searches: bit 7 marks a state seen at a character
  // boundary, bit v-1 a state seen inside a character in decoder state v.
  std::vector<uint8_t> mark_;
  std::vector<int32_t> touched_;
  std::vector<std::pair<int32_t, int>> todo_;  // (state, decoder state) inside a character
  size_t n_closed_without_ = 0;
};

}  // namespace tern::engine::grammar_detail
