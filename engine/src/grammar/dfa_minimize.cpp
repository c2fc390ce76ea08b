// Trimming and minimisation: every DFA built in dfa.cpp ends here, so equal
// languages over equal byte classes come out as identical machines (and equal
// dfa::key()), which lets token tables be shared across grammars.
//
// One set of reverse edges serves both steps: a backward BFS from the
// accepting states finds the live states (and their distance to acceptance),
// Hopcroft's refinement runs over the live states only, and a forward BFS over
// the blocks numbers the result. States that are not live count as `dead`.
#include "grammar/dfa.hpp"

#include <algorithm>

namespace tern::engine::grammar_detail {
namespace {

constexpr uint32_t unreachable = UINT32_MAX;

// Transitions backwards, in compressed rows by target.
struct reverse_edges {
  struct edge {
    uint32_t c;
    int32_t from;
  };
  std::vector<uint32_t> begin;
  std::vector<edge> edges;

  explicit reverse_edges(const dfa& d) {
    size_t n = d.n_states(), k = size_t(d.n_classes);
    begin.assign(n + 1, 0);
    for (int32_t t : d.next)
      if (t != dead) ++begin[size_t(t) + 1];
    for (size_t i = 0; i < n; ++i) begin[i + 1] += begin[i];
    edges.resize(begin[n]);
    std::vector<uint32_t> fill(begin.begin(), begin.end() - 1);
    for (size_t s = 0; s < n; ++s)
      for (size_t c = 0; c < k; ++c)
        if (int32_t t = d.next[s * k + c]; t != dead) edges[fill[size_t(t)]++] = {uint32_t(c), int32_t(s)};
  }
};

// Hopcroft's partition refinement, O(m log n) for m transitions. Blocks are
// ranges of `elems`; a split moves the marked states to the front of their
// block and makes the smaller part the new block, so every state changes
// block O(log n) times.
//
// No sink state stands for `dead`: both initial blocks (accepting, not) are
// splitters, and a state with a transition on c into a splitter is told apart
// from one without (dead on c) when it is used. So only transitions between
// live states are ever walked backwards.
class hopcroft {
 public:
  hopcroft(const dfa& in, const reverse_edges& rev, const std::vector<uint32_t>& dist)
      : in_(in), rev_(rev), dist_(dist), n_(in.n_states()), k_(size_t(in.n_classes)) {}

  // Block of every live state; -1 for the others.
  const std::vector<int32_t>& run() {
    elems_.reserve(n_);
    loc_.assign(n_, 0);
    block_of_.assign(n_, -1);
    for (int pass = 0; pass < 2; ++pass) {
      size_t first = elems_.size();
      for (size_t s = 0; s < n_; ++s) {
        if (dist_[s] == unreachable || bool(in_.accept[s]) != (pass == 0)) continue;
        loc_[s] = uint32_t(elems_.size());
        elems_.push_back(int32_t(s));
      }
      if (elems_.size() > first) push_work(new_block(first, elems_.size()));
    }
    // Per splitter: its incoming edges from live states, grouped by class
    // with a counting sort (flat buffers, reused), then one round of marking
    // and splitting per class.
    std::vector<reverse_edges::edge> incoming;
    std::vector<int32_t> from_by_class, touched;
    std::vector<uint32_t> used, count(k_, 0), begin(k_, 0);
    while (!work_.empty()) {
      int32_t a = work_.back();
      work_.pop_back();
      in_work_[size_t(a)] = 0;
      // The splitter is the block as it is now; splits made while it is
      // used (it can split itself) must not change what it stands for.
      incoming.clear();
      for (uint32_t j = first_[size_t(a)]; j < end_[size_t(a)]; ++j) {
        auto t = size_t(elems_[j]);
        for (uint32_t i = rev_.begin[t]; i < rev_.begin[t + 1]; ++i)
          if (block_of_[size_t(rev_.edges[i].from)] >= 0) incoming.push_back(rev_.edges[i]);
      }
      used.clear();
      for (const auto& e : incoming)
        if (count[e.c]++ == 0) used.push_back(e.c);
      uint32_t offset = 0;
      for (uint32_t c : used) {
        begin[c] = offset;
        offset += count[c];
        count[c] = begin[c];  // from here on: where the next edge goes
      }
      from_by_class.resize(incoming.size());
      for (const auto& e : incoming) from_by_class[count[e.c]++] = e.from;
      for (uint32_t c : used) {
        for (uint32_t i = begin[c]; i < count[c]; ++i) mark(from_by_class[i], touched);
        count[c] = 0;
        for (int32_t y : touched) split(y);
        touched.clear();
      }
    }
    return block_of_;
  }

  size_t n_blocks() const { return first_.size(); }

 private:
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
  const reverse_edges& rev_;
  const std::vector<uint32_t>& dist_;
  size_t n_, k_;
  std::vector<int32_t> elems_;    // live states grouped by block
  std::vector<uint32_t> loc_;     // state -> index in elems_
  std::vector<int32_t> block_of_;
  std::vector<uint32_t> first_, end_, marked_;  // per block: range in elems_, marked prefix length
  std::vector<uint8_t> in_work_;
  std::vector<int32_t> work_;
};

}  // namespace

dfa canonicalize(const dfa& in) {
  size_t n = in.n_states(), k = size_t(in.n_classes);
  dfa out;
  out.byte_class = in.byte_class;
  out.n_classes = in.n_classes;
  if (n == 0) return out;
  reverse_edges rev(in);
  // Shortest distance to acceptance, by BFS backwards from accepting states.
  std::vector<uint32_t> dist(n, unreachable);
  std::vector<int32_t> queue;
  queue.reserve(n);
  for (size_t s = 0; s < n; ++s)
    if (in.accept[s]) {
      dist[s] = 0;
      queue.push_back(int32_t(s));
    }
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    auto s = size_t(queue[qi]);
    for (uint32_t i = rev.begin[s]; i < rev.begin[s + 1]; ++i)
      if (auto p = size_t(rev.edges[i].from); dist[p] == unreachable) {
        dist[p] = dist[s] + 1;
        queue.push_back(int32_t(p));
      }
  }
  if (dist[size_t(in.start)] == unreachable) return out;  // empty language
  hopcroft h(in, rev, dist);
  const std::vector<int32_t>& block = h.run();
  // Number the blocks reachable from the start in BFS order over classes in
  // order; any state of a block stands for it.
  size_t n_blocks = h.n_blocks();
  std::vector<int32_t> rep(n_blocks, dead), remap(n_blocks, dead);
  for (size_t s = 0; s < n; ++s)
    if (block[s] >= 0 && rep[size_t(block[s])] == dead) rep[size_t(block[s])] = int32_t(s);
  std::vector<int32_t> order = {block[size_t(in.start)]};
  remap[size_t(order[0])] = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    auto s = size_t(rep[size_t(order[i])]);
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t == dead || block[size_t(t)] < 0) continue;
      int32_t b = block[size_t(t)];
      if (remap[size_t(b)] == dead) {
        remap[size_t(b)] = int32_t(order.size());
        order.push_back(b);
      }
    }
  }
  size_t m = order.size();
  out.next.assign(m * k, dead);
  out.accept.resize(m);
  out.has_out.assign(m, 0);
  out.min_to_accept.resize(m);
  for (size_t i = 0; i < m; ++i) {
    auto s = size_t(rep[size_t(order[i])]);
    out.accept[i] = in.accept[s];
    out.min_to_accept[i] = dist[s];
    for (size_t c = 0; c < k; ++c) {
      int32_t t = in.next[s * k + c];
      if (t == dead || block[size_t(t)] < 0) continue;
      out.next[i * k + c] = remap[size_t(block[size_t(t)])];
      out.has_out[i] = 1;
    }
  }
  out.start = 0;
  return out;
}

}  // namespace tern::engine::grammar_detail
