// A deterministic automaton over bytes with byte equivalence classes.
//
// Bytes that every state treats alike share a class, so the transition table has
// n_states x n_classes entries instead of n_states x 256 (for typical regexes a tenth).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace constrain {

// A dense row-major table of `rows` x 256 transitions.
using DenseRows = std::pair<const int32_t*, size_t>;

// Numbers the 256 byte columns of dense tables so that two bytes get the same number iff their
// columns are equal in every table; numbers in order of each class's first byte. Reads the
// tables row by row (a column-by-column scan of a large table misses the cache on every entry).
// Returns the number of classes.
int32_t equal_byte_columns(const std::vector<DenseRows>& tables, std::array<int32_t, 256>* class_of);

class ByteDfa {
 public:
  ByteDfa() = default;
  // dense: n_states x 256 transitions, -1 for none; accepting: n_states flags. Start state is 0.
  // Every state must be live (an accepting state reachable from it); the Python side trims.
  ByteDfa(const int32_t* dense, const uint8_t* accepting, int32_t n_states);

  int32_t num_states() const { return n_states_; }
  int32_t num_classes() const { return n_classes_; }
  uint8_t byte_class(uint8_t byte) const { return byte_class_[byte]; }
  int32_t next(int32_t state, uint8_t byte) const {
    return table_[static_cast<size_t>(state) * n_classes_ + byte_class_[byte]];
  }
  bool accepting(int32_t state) const { return accepting_[state] != 0; }
  // The only byte that keeps `state` live, or -1 if there are none or several, or if the state
  // accepts (then stopping is also possible, so nothing is forced).
  int32_t forced_byte(int32_t state) const { return forced_byte_[state]; }
  size_t memory_bytes() const;

 private:
  int32_t n_states_ = 0;
  int32_t n_classes_ = 0;
  std::array<uint8_t, 256> byte_class_{};
  std::vector<int32_t> table_;
  std::vector<uint8_t> accepting_;
  std::vector<int16_t> forced_byte_;
};

}  // namespace constrain
