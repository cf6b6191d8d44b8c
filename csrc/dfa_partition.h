// DFA minimisation by Hopcroft's partition refinement: minimal tables, and states of several
// byte DFAs grouped by residual language.
#pragma once

#include <cstdint>
#include <vector>

#include "byte_dfa.h"

namespace constrain {

// Numbers the states of `dfas` so that two states (of the same or of different DFAs) get the same
// number iff the same byte strings lead from them to acceptance. Every state must be live, as
// ByteDfa requires. Returns one vector per DFA (class of each state); the numbers are dense, in
// order of first appearance, and `*num_classes` receives their count.
std::vector<std::vector<int32_t>> residual_classes(const std::vector<const ByteDfa*>& dfas,
                                                   int32_t* num_classes);

// A DFA as a dense table over k letters: state s on letter c goes to table[s * k + c], -1 for
// no transition.
struct DfaTable {
  int32_t num_states = 0;
  int32_t num_letters = 0;
  std::vector<int32_t> table;
  std::vector<uint8_t> accepting;
};

// The minimal DFA of `dfa` started at `start`: states that are unreachable or cannot reach
// acceptance removed, equivalent states merged, numbered breadth-first from the start (state 0),
// successors visited in the letter order `letter_order` (a permutation of 0..k-1). The language
// is empty iff the result has no states.
DfaTable minimize(const DfaTable& dfa, int32_t start, const std::vector<int32_t>& letter_order);

}  // namespace constrain
