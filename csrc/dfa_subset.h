// The subset construction: a byte NFA with epsilon moves to a DFA over letters (byte classes).
#pragma once

#include <cstdint>
#include <vector>

#include "dfa_partition.h"

namespace constrain {

// An NFA in compressed rows: the epsilon successors of state s are
// eps[eps_begin[s] .. eps_begin[s + 1]), its letter moves (move_letter[i], move_target[i]) for i
// in [move_begin[s], move_begin[s + 1]). One start and one accepting state.
struct NfaTables {
  int32_t num_states = 0;
  int32_t num_letters = 0;
  int32_t start = 0;
  int32_t accept = 0;
  std::vector<int32_t> eps_begin, eps;
  std::vector<int32_t> move_begin, move_letter, move_target;
};

// The DFA of `nfa` (not minimised): state 0 is the epsilon closure of the start, each state a set
// of NFA states, numbered in order of discovery. Returns false, leaving `out` partial, when the
// construction passes `max_states` states; throws std::invalid_argument on malformed tables.
bool subset_construction(const NfaTables& nfa, int32_t max_states, DfaTable* out);

}  // namespace constrain
