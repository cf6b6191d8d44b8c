#include "byte_dfa.h"

#include <map>
#include <stdexcept>

namespace constrain {

ByteDfa::ByteDfa(const int32_t* dense, const uint8_t* accepting, int32_t n_states)
    : n_states_(n_states), accepting_(accepting, accepting + n_states) {
  // Two bytes share a class iff their columns of the dense table are equal.
  std::map<std::vector<int32_t>, uint8_t> classes;
  std::vector<int32_t> column(n_states);
  std::vector<uint8_t> representative;
  for (int b = 0; b < 256; ++b) {
    for (int32_t s = 0; s < n_states; ++s) {
      const int32_t t = dense[static_cast<size_t>(s) * 256 + b];
      if (t < -1 || t >= n_states) throw std::invalid_argument("DFA transition out of range");
      column[s] = t;
    }
    auto it = classes.find(column);
    if (it == classes.end()) {
      it = classes.emplace(column, static_cast<uint8_t>(classes.size())).first;
      representative.push_back(static_cast<uint8_t>(b));
    }
    byte_class_[b] = it->second;
  }
  n_classes_ = static_cast<int32_t>(classes.size());
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
