// The reachable product of two DFAs (the core of intersection, union and difference).
#pragma once

#include <cstdint>
#include <vector>

#include "dfa_partition.h"

namespace constrain {

struct DfaProduct {
  DfaTable table;            // over the operands' letters; accepting left empty
  std::vector<int32_t> left;   // component state of `a` of each product state
  std::vector<int32_t> right;  // component state of `b`
};

// Product states reachable from (0, 0). `a` and `b` are complete tables over the same letters
// whose state `sink_a` / `sink_b` is an explicit dead state. A pair with a side in its sink is
// kept only if that side may die (`a_may_die` / `b_may_die`); both sinks never. Transitions to
// pairs not kept are -1. Throws std::overflow_error past `max_states` states (-1: no limit).
DfaProduct product(const DfaTable& a, int32_t sink_a, const DfaTable& b, int32_t sink_b,
                   bool a_may_die, bool b_may_die, int64_t max_states = -1);

enum class Combination { kIntersection, kUnion, kDifference };

// The minimal DFA of the strings in both / either of `a` and `b` (kDifference: in `b` but not in
// `a`). Operands and result are byte DFAs: dense tables over 256 letters, -1 for no transition,
// with accepting flags; the result is numbered breadth-first from its start (state 0),
// successors in byte order, and has no states for the empty language. The product runs over
// the byte classes no operand tells apart; past `max_states` product states (-1: no limit) it
// throws std::overflow_error.
DfaTable combine(const DfaTable& a, const DfaTable& b, Combination op, int64_t max_states = -1);

}  // namespace constrain
