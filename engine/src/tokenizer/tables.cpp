#include "tokenizer_impl.hpp"

#include <bit>
#include <functional>

namespace tern::engine::detail {

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
  slots_.assign(cap, no_token);
  duplicate_ = duplicate_of_ = no_token;
  const std::hash<std::string_view> hasher;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string_view s = text(static_cast<token_id>(i));
    std::size_t h = hasher(s) & (cap - 1);
    while (slots_[h] != no_token) {
      if (text(slots_[h]) == s) {
        if (duplicate_ == no_token) {
          duplicate_ = static_cast<token_id>(i);
          duplicate_of_ = slots_[h];
        }
        break;
      }
      h = (h + 1) & (cap - 1);
    }
    if (slots_[h] == no_token) slots_[h] = static_cast<token_id>(i);
  }
}

token_id text_table::find(std::string_view s) const noexcept {
  if (slots_.empty()) return no_token;
  const std::size_t mask = slots_.size() - 1;
  std::size_t h = std::hash<std::string_view>{}(s) & mask;
  while (true) {
    const token_id id = slots_[h];
    if (id == no_token) return no_token;
    if (text(id) == s) return id;
    h = (h + 1) & mask;
  }
}

void merge_table::reserve(std::size_t n) {
  const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, n * 2));
  keys_.assign(cap, ~std::uint64_t{0});
  values_.assign(cap, entry{0, no_token});
  size_ = 0;
  shift_ = 64 - std::countr_zero(cap);
}

void merge_table::insert(token_id left, token_id right, entry e) {
  if ((size_ + 1) * 2 > keys_.size()) {
    // Grow (only when reserve() was too small).
    std::vector<std::uint64_t> old_keys = std::move(keys_);
    std::vector<entry> old_values = std::move(values_);
    reserve(old_keys.size());
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == ~std::uint64_t{0}) continue;
      insert(static_cast<token_id>(old_keys[i] >> 32), static_cast<token_id>(old_keys[i] & 0xFFFFFFFFu),
             old_values[i]);
    }
  }
  const std::uint64_t k = key(left, right);
  const std::size_t mask = keys_.size() - 1;
  std::size_t h = slot(k);
  while (keys_[h] != ~std::uint64_t{0}) {
    if (keys_[h] == k) return;
    h = (h + 1) & mask;
  }
  keys_[h] = k;
  values_[h] = e;
  ++size_;
}

const merge_table::entry* merge_table::find(token_id left, token_id right) const noexcept {
  if (keys_.empty()) return nullptr;
  const std::uint64_t k = key(left, right);
  const std::size_t mask = keys_.size() - 1;
  std::size_t h = slot(k);
  while (true) {
    if (keys_[h] == k) return &values_[h];
    if (keys_[h] == ~std::uint64_t{0}) return nullptr;
    h = (h + 1) & mask;
  }
}

}  // namespace tern::engine::detail
