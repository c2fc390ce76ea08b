// Trimming and minimisation: every DFA built in dfa.cpp ends here, so equal
// languages over equal byte classes come out as identical machines (and equal
// dfa::key()), which lets token tables be shared across grammars.
#include "grammar/dfa.hpp"

#include <algorithm>

namespace tern::engine::grammar_detail {
namespace {

// Hopcroft's partition refinement, O(m log n) for m defined transitions.
// Blocks are ranges of `elems`; a split moves the marked states to the front
// of their block and makes the smaller part the new block, so every state
// changes block O(log n) times.
//
// No sink state stands for `dead`: both initial blocks (accepting, not) are
// splitters, and a state with a transition on c into a splitter is told apart
// from one without (dead on c) when it is used. So only transitions that are
// defined are ever walked backwards.
class hopcroft {
 public:
  explicit hopcroft(const dfa& in) : in_(in), n_(in.n_states()), k_(size_t(in.n_classes)) {}

  // Block of every state.
  const std::vector<int32_t>& run() {
    build_inverse();
    elems_.resize(n_);
    loc_.resize(n_);
    block_of_.resize(n_);
    size_t pos = 0;
    for (int pass = 0; pass < 2; ++pass) {
      size_t first = pos;
      for (size_t s = 0; s < n_; ++s) {
        if (bool(in_.accept[s]) != (pass == 0)) continue;
        elems_[pos] = int32_t(s);
        loc_[s] = uint32_t(pos++);
      }
      if (pos > first) push_work(new_block(first, pos));
    }
    std::vector<int32_t> splitter, used, touched;
    std::vector<std::vector<int32_t>> by_class(k_);
    while (!work_.empty()) {
      int32_t a = work_.back();
      work_.pop_back();
      in_work_[size_t(a)] = 0;
      // The splitter is the block as it is now; splits made while it is
      // used (it can split itself) must not change what it stands for.
      splitter.assign(elems_.begin() + first_[size_t(a)], elems_.begin() + end_[size_t(a)]);
      for (int32_t t : splitter)
        for (uint32_t i = inv_begin_[size_t(t)]; i < inv_begin_[size_t(t) + 1]; ++i) {
          auto& bucket = by_class[inv_[i].c];
          if (bucket.empty()) used.push_back(int32_t(inv_[i].c));
          bucket.push_back(inv_[i].from);
        }
      for (int32_t c : used) {
        for (int32_t s : by_class[size_t(c)]) mark(s, touched);
        by_class[size_t(c)].clear();
        split_all(touched);
      }
      used.clear();
    }
    return block_of_;
  }

 private:
  struct back_edge {
    uint32_t c;
    int32_t from;
  };

  // Defined transitions backwards, in compressed rows by target.
  void build_inverse() {
    inv_begin_.assign(n_ + 1, 0);
    for (int32_t t : in_.next)
      if (t != dead) ++inv_begin_[size_t(t) + 1];
    for (size_t i = 0; i < n_; ++i) inv_begin_[i + 1] += inv_begin_[i];
    inv_.resize(inv_begin_[n_]);
    std::vector<uint32_t> fill(inv_begin_.begin(), inv_begin_.end() - 1);
    for (size_t s = 0; s < n_; ++s)
      for (size_t c = 0; c < k_; ++c)
        if (int32_t t = in_.next[s * k_ + c]; t != dead) inv_[fill[size_t(t)]++] = {uint32_t(c), int32_t(s)};
  }

  int32_t new_block(size_t first, size_t end) {
    auto b = int32_t(first_.size());
    first_.push_back(uint32_t(first));
    end_.push_back(uint32_t(end));
    marked_.push_back(0);
    in_work_.push_back(0);
    for (size_t i = first; i < end; ++i) block_of_[size_t(elems_[i])] = b;
    return b;
  }

  void push_work(int32_t b) {
    if (in_work_[size_t(b)]) return;
    in_work_[size_t(b)] = 1;
    work_.push_back(b);
  }

  void mark(int32_t s, std::vector<int32_t>& touched) {
    int32_t y = block_of_[size_t(s)];
    uint32_t front = first_[size_t(y)] + marked_[size_t(y)];
    uint32_t at = loc_[size_t(s)];
    if (at < front) return;  // already marked
    int32_t other = elems_[front];
    elems_[front] = s;
    loc_[size_t(s)] = front;
    elems_[at] = other;
    loc_[size_t(other)] = at;
    if (marked_[size_t(y)]++ == 0) touched.push_back(y);
  }

  void split_all(std::vector<int32_t>& touched) {
    for (int32_t y : touched) split(y);
    touched.clear();
  }

  void split(int32_t y) {
    uint32_t first = first_[size_t(y)], end = end_[size_t(y)], mid = first + marked_[size_t(y)];
    marked_[size_t(y)] = 0;
    if (mid == end) return;
    // The smaller part becomes the new block, which is all the worklist
    // needs: if y is queued it still is (as the larger part), and if not,
    // the partition is already stable with respect to y, so the smaller part
    // suffices (Hopcroft's "process the smaller half").
    int32_t z;
    if (mid - first <= end - mid) {
      first_[size_t(y)] = mid;
      z = new_block(first, mid);
    } else {
      end_[size_t(y)] = mid;
      z = new_block(mid, end);
    }
    push_work(z);
  }

  const dfa& in_;
  size_t n_, k_;
  std::vector<uint32_t> inv_begin_;
  std::vector<back_edge> inv_;
  std::vector<int32_t> elems_;    // states grouped by block
  std::vector<uint32_t> loc_;     // state -> index in elems_
  std::vector<int32_t> block_of_;
  std::vector<uint32_t> first_, end_, marked_;  // per block: range in elems_, marked prefix length
  std::vector<uint8_t> in_work_;
  std::vector<int32_t> work_;
};

// Merges equivalent states of a trimmed machine and numbers the blocks in BFS
// order from the start over classes in order (the order trim uses).
dfa minimize(const dfa& in) {
  size_t n = in.n_states();
  if (n <= 1) return in;
  size_t k = size_t(in.n_classes);
  hopcroft h(in);
  const std::vector<int32_t>& block = h.run();
  size_t n_blocks = size_t(*std::max_element(block.begin(), block.end())) + 1;
  if (n_blocks == n) return in;
  std::vector<int32_t> rep(n_blocks, dead), remap(n_blocks, dead);
  for (size_t s = 0; s < n; ++s)
    if (rep[size_t(block[s])] == dead) rep[size_t(block[s])] = int32_t(s);
  std::vector<int32_t> order = {block[size_t(in.start)]};
  remap[size_t(order[0])] = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    size_t s = size_t(rep[size_t(order[i])]);
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t == dead) continue;
      int32_t b = block[size_t(t)];
      if (remap[size_t(b)] == dead) {
        remap[size_t(b)] = int32_t(order.size());
        order.push_back(b);
      }
    }
  }
  dfa out;
  out.byte_class = in.byte_class;
  out.n_classes = in.n_classes;
  size_t m = order.size();
  out.next.assign(m * k, dead);
  out.accept.resize(m);
  out.has_out.resize(m);
  out.min_to_accept.resize(m);
  for (size_t i = 0; i < m; ++i) {
    size_t s = size_t(rep[size_t(order[i])]);
    out.accept[i] = in.accept[s];
    out.has_out[i] = in.has_out[s];
    out.min_to_accept[i] = in.min_to_accept[s];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t != dead) out.next[i * k + c] = remap[size_t(block[size_t(t)])];
    }
  }
  out.start = 0;
  return out;
}

}  // namespace

dfa canonicalize(const dfa& in) {
  size_t n = in.n_states();
  dfa out;
  out.byte_class = in.byte_class;
  out.n_classes = in.n_classes;
  if (n == 0) return out;
  size_t k = size_t(in.n_classes);
  // Reverse edges in one flat array (compressed rows): schemas with
  // thousands of terminals call this thousands of times.
  std::vector<uint32_t> rev_begin(n + 1, 0);
  for (int32_t t : in.next)
    if (t != dead) ++rev_begin[size_t(t) + 1];
  for (size_t s = 0; s < n; ++s) rev_begin[s + 1] += rev_begin[s];
  std::vector<int32_t> rev(rev_begin[n]);
  {
    std::vector<uint32_t> fill(rev_begin.begin(), rev_begin.end() - 1);
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < k; ++c) {
        int32_t t = in.next[s * k + c];
        if (t != dead) rev[fill[size_t(t)]++] = int32_t(s);
      }
  }
  // Shortest distance to acceptance, by BFS backwards from accepting states.
  std::vector<uint32_t> dist(n, UINT32_MAX);
  std::vector<int32_t> queue;
  queue.reserve(n);
  for (size_t s = 0; s < n; ++s)
    if (in.accept[s]) {
      dist[s] = 0;
      queue.push_back(int32_t(s));
    }
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    auto s = size_t(queue[qi]);
    for (uint32_t i = rev_begin[s]; i < rev_begin[s + 1]; ++i)
      if (auto p = size_t(rev[i]); dist[p] == UINT32_MAX) {
        dist[p] = dist[s] + 1;
        queue.push_back(int32_t(p));
      }
  }
  if (dist[size_t(in.start)] == UINT32_MAX) return out;  // empty language
  std::vector<int32_t> remap(n, dead);
  std::vector<int32_t> order;
  remap[size_t(in.start)] = 0;
  order.push_back(in.start);
  for (size_t i = 0; i < order.size(); ++i) {
    auto s = size_t(order[i]);
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t != dead && dist[size_t(t)] != UINT32_MAX && remap[size_t(t)] == dead) {
        remap[size_t(t)] = int32_t(order.size());
        order.push_back(t);
      }
    }
  }
  size_t m = order.size();
  out.next.assign(m * k, dead);
  out.accept.assign(m, 0);
  out.has_out.assign(m, 0);
  out.min_to_accept.assign(m, 0);
  for (size_t i = 0; i < m; ++i) {
    auto s = size_t(order[i]);
    out.accept[i] = in.accept[s];
    out.min_to_accept[i] = dist[s];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t != dead && remap[size_t(t)] != dead) {
        out.next[i * k + c] = remap[size_t(t)];
        out.has_out[i] = 1;
      }
    }
  }
  out.start = 0;
  return minimize(out);
}

}  // namespace tern::engine::grammar_detail
