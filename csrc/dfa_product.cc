#include "dfa_product.h"

#include <stdexcept>
#include <unordered_map>

namespace constrain {

DfaProduct product(const DfaTable& a, int32_t sink_a, const DfaTable& b, int32_t sink_b,
                   bool a_may_die, bool b_may_die) {
  const int32_t k = a.num_letters;
  if (b.num_letters != k) throw std::invalid_argument("product: operands over different letters");
  if (sink_a < 0 || sink_a >= a.num_states || sink_b < 0 || sink_b >= b.num_states)
    throw std::invalid_argument("product: sink state out of range");
  auto kept = [&](int32_t sa, int32_t sb) {
    const bool dead_a = sa == sink_a, dead_b = sb == sink_b;
    return !(dead_a && dead_b) && (a_may_die || !dead_a) && (b_may_die || !dead_b);
  };
  DfaProduct out;
  out.table.num_letters = k;
  std::unordered_map<int64_t, int32_t> id_of;
  auto id = [&](int32_t sa, int32_t sb) {
    const int64_t code = static_cast<int64_t>(sa) * b.num_states + sb;
    auto [it, inserted] = id_of.emplace(code, static_cast<int32_t>(out.left.size()));
    if (inserted) out.left.push_back(sa), out.right.push_back(sb);
    return it->second;
  };
  id(0, 0);
  for (size_t i = 0; i < out.left.size(); ++i) {
    const int32_t pa = out.left[i], pb = out.right[i];
    for (int32_t c = 0; c < k; ++c) {
      const int32_t sa = a.table[static_cast<size_t>(pa) * k + c];
      const int32_t sb = b.table[static_cast<size_t>(pb) * k + c];
      if (sa < 0 || sa >= a.num_states || sb < 0 || sb >= b.num_states)
        throw std::invalid_argument("product: operand tables must be complete");
      out.table.table.push_back(kept(sa, sb) ? id(sa, sb) : -1);
    }
  }
  out.table.num_states = static_cast<int32_t>(out.left.size());
  return out;
}

}  // namespace constrain
