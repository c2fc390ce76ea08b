// The compiled form shared by JSON Schema and grammar text: terminals are
// trimmed byte DFAs; rules are alternatives of (terminal | rule reference)
// sequences. The runtime is a pushdown automaton over bytes: a frame is "inside
// terminal at position pos, DFA state q, returning to stack node parent".
#pragma once

#include "grammar/dfa.hpp"

#include <tern/core/result.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tern::engine::grammar_detail {

struct element {
  enum kind_t : uint8_t { term, ref, end } kind;
  int32_t id;  // term: terminal index; ref: rule index; end: rule index
};

struct compiled {
  std::vector<dfa> terms;
  std::vector<std::string> term_keys;  // dfa::key() of each terminal
  std::vector<element> elems;          // all alternatives, each closed by an `end`
  std::vector<std::vector<int32_t>> rule_alts;  // rule -> positions of its alternatives
  std::vector<std::string> rule_names;
  std::vector<uint32_t> min_suffix;    // [pos] shortest bytes from pos to its alternative's end
  int32_t root = 0;
  uint64_t growth_bound = 0;  // upper bound on how much one byte can raise the shortest finish
};

class grammar_builder {
 public:
  int32_t add_term(dfa d);
  const dfa& term(int32_t id) const { return terms_[size_t(id)]; }  // valid until the next add_term
  int32_t literal(std::string_view bytes);  // a terminal matching exactly these bytes
  int32_t new_rule(std::string name);
  void add_alt(int32_t rule, std::vector<element> seq);
  size_t n_rules() const { return rules_.size(); }
  // Removes alternatives that cannot derive any string, rejects left recursion,
  // computes shortest lengths and flattens. `what` names the input in errors.
  result<compiled> finish(int32_t root, std::string_view what);

 private:
  struct rule {
    std::string name;
    std::vector<std::vector<element>> alts;
  };
  std::vector<dfa> terms_;
  std::unordered_map<std::string, int32_t> by_key_;  // dfa::key() -> terminal
  std::unordered_map<std::string, int32_t> literal_ids_;  // literal bytes -> terminal (large schemas repeat keys)
  std::vector<rule> rules_;
};

inline element T(int32_t id) { return {element::term, id}; }
inline element R(int32_t id) { return {element::ref, id}; }

// ---- the byte-level pushdown automaton -------------------------------------

struct frame {
  int32_t pos;     // position of a `term` element
  int32_t q;       // state of that terminal's DFA
  int32_t parent;  // stack node to return to (0: the bottom)
  bool operator==(const frame&) const = default;
  bool operator<(const frame& o) const {
    if (pos != o.pos) return pos < o.pos;
    if (q != o.q) return q < o.q;
    return parent < o.parent;
  }
};

struct pda_state {
  std::vector<frame> frames;  // sorted, unique
  bool complete = false;      // the document may end here
  bool dead() const { return frames.empty() && !complete; }
};

// Return-address stacks, hash-consed so equal stacks have equal ids. One per
// matcher (mutable); node 0 is the empty stack.
class stack_pool {
 public:
  explicit stack_pool(const compiled& g);
  int32_t push(int32_t ret, int32_t parent);
  int32_t ret(int32_t node) const { return nodes_[node].ret; }
  int32_t parent(int32_t node) const { return nodes_[node].parent; }
  uint64_t min_finish(int32_t node) const { return nodes_[node].min_finish; }

 private:
  struct node {
    int32_t ret, parent;
    uint64_t min_finish;
  };
  const compiled& g_;
  std::vector<node> nodes_;
  std::unordered_map<uint64_t, int32_t> ids_;
};

class pda {
 public:
  explicit pda(const compiled& g) : g_(g), pool_(g) {}
  const compiled& grammar() const { return g_; }

  pda_state initial();
  // Frames reachable from alternative position `pos` returning to `parent`,
  // appended to out (not deduplicated); sets complete when the bottom is reached.
  void expand(int32_t pos, int32_t parent, std::vector<frame>& out, bool& complete);
  // One byte on a set of frames; out is cleared first, then sorted and unique.
  void advance(const std::vector<frame>& in, uint8_t byte, pda_state& out);
  // Shortest number of bytes that completes the document from s.
  uint64_t min_finish(const pda_state& s) const;
  stack_pool& pool() { return pool_; }

 private:
  const compiled& g_;
  stack_pool pool_;
};

void normalize(pda_state& s);

}  // namespace tern::engine::grammar_detail
