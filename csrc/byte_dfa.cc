#include "byte_dfa.h"

#include <stdexcept>
#include <unordered_map>

namespace constrain {

int32_t equal_byte_columns(const std::vector<DenseRows>& tables,
                           std::array<int32_t, 256>* class_of) {
  // A hash of every column, then a check that bytes with equal hashes have equal columns.
  std::array<uint64_t, 256> hash;
  hash.fill(1469598103934665603ull);
  for (const DenseRows& t : tables)
    for (size_t r = 0; r < t.second; ++r) {
      const int32_t* row = t.first + r * 256;
      for (int c = 0; c < 256; ++c)
        hash[c] = (hash[c] ^ static_cast<uint32_t>(row[c])) * 1099511628211ull;
    }
  std::unordered_map<uint64_t, int32_t> by_hash;
  std::vector<int> first;  // class -> its first byte
  for (int c = 0; c < 256; ++c) {
    auto found = by_hash.emplace(hash[c], static_cast<int32_t>(first.size()));
    if (found.second) first.push_back(c);
    (*class_of)[c] = found.first->second;
  }
  bool exact = true;
  for (const DenseRows& t : tables)
    for (size_t r = 0; r < t.second && exact; ++r) {
      const int32_t* row = t.first + r * 256;
      for (int c = 0; c < 256; ++c)
        if (row[c] != row[first[(*class_of)[c]]]) exact = false;
    }
  if (exact) return static_cast<int32_t>(first.size());
  // A hash collision (practically never): compare whole columns.
  auto same_column = [&](int x, int y) {
    for (const DenseRows& t : tables)
      for (size_t r = 0; r < t.second; ++r)
        if (t.first[r * 256 + x] != t.first[r * 256 + y]) return false;
    return true;
  };
  first.clear();
  for (int c = 0; c < 256; ++c) {
    int32_t k = 0;
    while (k < static_cast<int32_t>(first.size()) && !same_column(first[k], c)) ++k;
    if (k == static_cast<int32_t>(first.size())) first.push_back(c);
    (*class_of)[c] = k;
  }
  return static_cast<int32_t>(first.size());
}

ByteDfa::ByteDfa(const int32_t* dense, const uint8_t* accepting, int32_t n_states)
    : n_states_(n_states), accepting_(accepting, accepting + n_states) {
  const size_t entries = static_cast<size_t>(n_states) * 256;
  for (size_t i = 0; i < entries; ++i)
    if (dense[i] < -1 || dense[i] >= n_states)
      throw std::invalid_argument("DFA transition out of range");
  std::array<int32_t, 256> class_of;
  n_classes_ = equal_byte_columns({{dense, static_cast<size_t>(n_states)}}, &class_of);
  std::vector<int> representative(n_classes_, -1);
  for (int b = 0; b < 256; ++b) {
    byte_class_[b] = static_cast<uint8_t>(class_of[b]);
    if (representative[class_of[b]] < 0) representative[class_of[b]] = b;
  }
  table_.resize(static_cast<size_t>(n_states) * n_classes_);
  for (int32_t s = 0; s < n_states; ++s)
    for (int32_t c = 0; c < n_classes_; ++c)
      table_[static_cast<size_t>(s) * n_classes_ + c] =
          dense[static_cast<size_t>(s) * 256 + representative[c]];

  forced_byte_.assign(n_states, -1);
  for (int32_t s = 0; s < n_states; ++s) {
    if (accepting_[s]) continue;
    int found = -1, count = 0;
    for (int b = 0; b < 256 && count < 2; ++b)
      if (next(s, static_cast<uint8_t>(b)) >= 0) found = b, ++count;
    if (count == 1) forced_byte_[s] = static_cast<int16_t>(found);
  }
}

size_t ByteDfa::memory_bytes() const {
  return sizeof(*this) + table_.size() * sizeof(int32_t) + accepting_.size() +
         forced_byte_.size() * sizeof(int16_t);
}

}  // namespace constrain
