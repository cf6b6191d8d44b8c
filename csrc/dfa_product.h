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
// pairs not kept are -1.
DfaProduct product(const DfaTable& a, int32_t sink_a, const DfaTable& b, int32_t sink_b,
                   bool a_may_die, bool b_may_die);

}  // namespace constrain
