#include "tokenizer_impl.hpp"

#include <bit>
#include <functional>

namespace tern::engine::detail {

namespace {
constexpr std::uint64_t empty_key = ~std::uint64_t{0};
}

void text_table::build(const std::vector<std::string>& texts) {
  std::size_t total = 0;
  for (const auto& t : texts) total += t.size();
  data_.clear();
  data_.reserve(total);
  offsets_.assign(texts.size() + 1, 0);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    data_.insert(data_.end(), texts[i].begin(), texts[i].end());
    offsets_[i + 1] = data_.size();
  }
  const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, texts.size() * 2));
  slots_.assign(cap, slot{no_token, 0});
  duplicate_ = duplicate_of_ = no_token;
  const std::hash<std::string_view> hasher;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string_view s = text(static_cast<token_id>(i));
    const std::size_t full = hasher(s);
    const auto tag = static_cast<std::uint32_t>(full >> 32);
    std::size_t h = full & (cap - 1);
    bool dup = false;
    while (slots_[h].id != no_token) {
      if (slots_[h].hash == tag && text(slots_[h].id) == s) {
        if (duplicate_ == no_token) {
          duplicate_ = static_cast<token_id>(i);
          duplicate_of_ = slots_[h].id;
        }
        dup = true;
        break;
      }
      h = (h + 1) & (cap - 1);
    }
    if (!dup) slots_[h] = slot{static_cast<token_id>(i), tag};
  }
}

token_id text_table::find(std::string_view s) const noexcept {
  if (slots_.empty()) return no_token;
  const std::size_t mask = slots_.size() - 1;
  const std::size_t full = std::hash<std::string_view>{}(s);
  const auto tag = static_cast<std::uint32_t>(full >> 32);
  std::size_t h = full & mask;
  while (true) {
    const slot& sl = slots_[h];
    if (sl.id == no_token) return no_token;
    if (sl.hash == tag && text(sl.id) == s) return sl.id;
    h = (h + 1) & mask;
  }
}

void merge_table::reserve(std::size_t n) {
  const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, n * 2));
  slots_.assign(cap, slot_t{empty_key, entry{0, no_token}});
  size_ = 0;
  shift_ = 64 - std::countr_zero(cap);
}

void merge_table::insert(token_id left, token_id right, entry e) {
  if ((size_ + 1) * 2 > slots_.size()) {
    // Grow (only when reserve() was too small).
    std::vector<slot_t> old = std::move(slots_);
    reserve(old.size());
    for (const slot_t& s : old)
      if (s.key != empty_key)
        insert(static_cast<token_id>(s.key >> 32), static_cast<token_id>(s.key & 0xFFFFFFFFu), s.value);
  }
  const std::uint64_t k = key(left, right);
  const std::size_t mask = slots_.size() - 1;
  std::size_t h = slot(k);
  while (slots_[h].key != empty_key) {
    if (slots_[h].key == k) return;
    h = (h + 1) & mask;
  }
  slots_[h] = slot_t{k, e};
  ++size_;
}

const merge_table::entry* merge_table::find(token_id left, token_id right) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::uint64_t k = key(left, right);
  const std::size_t mask = slots_.size() - 1;
  std::size_t h = slot(k);
  while (true) {
    if (slots_[h].key == k) return &slots_[h].value;
    if (slots_[h].key == empty_key) return nullptr;
    h = (h + 1) & mask;
  }
}

}  // namespace tern::engine::detail
