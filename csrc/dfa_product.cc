#include "dfa_product.h"

#include <array>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "byte_dfa.h"

namespace constrain {

DfaProduct product(const DfaTable& a, int32_t sink_a, const DfaTable& b, int32_t sink_b,
                   bool a_may_die, bool b_may_die, int64_t max_states) {
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
  // Pair -> product state: a dense array when the pairs are few (up to 64 MB of ids; the
  // common case, and much faster than the map), else a map.
  const int64_t pairs = static_cast<int64_t>(a.num_states) * b.num_states;
  const bool dense = pairs <= (int64_t{1} << 24);
  std::vector<int32_t> dense_id(dense ? pairs : 0, -1);
  std::unordered_map<int64_t, int32_t> sparse_id;
  auto id = [&](int32_t sa, int32_t sb) {
    const int64_t code = static_cast<int64_t>(sa) * b.num_states + sb;
    const int32_t next = static_cast<int32_t>(out.left.size());
    int32_t found;
    if (dense) {
      found = dense_id[code];
      if (found < 0) found = dense_id[code] = next;
    } else {
      found = sparse_id.emplace(code, next).first->second;
    }
    if (found == next) {
      if (max_states >= 0 && next >= max_states)
        throw std::overflow_error("product: over " + std::to_string(max_states) + " states");
      out.left.push_back(sa), out.right.push_back(sb);
    }
    return found;
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

namespace {

constexpr int kBytes = 256;

// Numbers the bytes so that two get the same class iff their columns are equal in both tables
// (-1 included); classes in order of their first byte. Returns the class count.
int32_t byte_classes(const DfaTable& a, const DfaTable& b, std::vector<int32_t>* class_of) {
  std::array<int32_t, kBytes> classes;
  const int32_t k = equal_byte_columns({{a.table.data(), static_cast<size_t>(a.num_states)},
                                        {b.table.data(), static_cast<size_t>(b.num_states)}},
                                       &classes);
  class_of->assign(classes.begin(), classes.end());
  return k;
}

// `t` over the byte classes, with a sink state t.num_states for its missing transitions.
DfaTable reduced_with_sink(const DfaTable& t, const std::vector<int32_t>& class_of, int32_t k) {
  DfaTable out;
  out.num_states = t.num_states + 1;
  out.num_letters = k;
  out.table.assign(static_cast<size_t>(out.num_states) * k, t.num_states);
  for (int32_t s = 0; s < t.num_states; ++s)
    for (int c = 0; c < kBytes; ++c) {
      const int32_t to = t.table[static_cast<size_t>(s) * kBytes + c];
      if (to >= 0) out.table[static_cast<size_t>(s) * k + class_of[c]] = to;
    }
  return out;
}

void check_byte_dfa(const DfaTable& t) {
  if (t.num_letters != kBytes || t.num_states <= 0 ||
      t.table.size() != static_cast<size_t>(t.num_states) * kBytes ||
      t.accepting.size() != static_cast<size_t>(t.num_states))
    throw std::invalid_argument("combine: operands must be non-empty byte DFAs");
  for (int32_t to : t.table)
    if (to < -1 || to >= t.num_states) throw std::invalid_argument("combine: state out of range");
}

}  // namespace

DfaTable combine(const DfaTable& a, const DfaTable& b, Combination op, int64_t max_states) {
  check_byte_dfa(a);
  check_byte_dfa(b);
  std::vector<int32_t> class_of;
  const int32_t k = byte_classes(a, b, &class_of);
  const bool either = op == Combination::kUnion;
  DfaProduct p = product(reduced_with_sink(a, class_of, k), a.num_states,
                         reduced_with_sink(b, class_of, k), b.num_states,
                         either || op == Combination::kDifference, either, max_states);
  const size_t n = p.left.size();
  p.table.accepting.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const bool in_a = p.left[i] < a.num_states && a.accepting[p.left[i]];
    const bool in_b = p.right[i] < b.num_states && b.accepting[p.right[i]];
    p.table.accepting[i] = op == Combination::kIntersection ? in_a && in_b
                           : either                         ? in_a || in_b
                                                            : in_b && !in_a;
  }
  std::vector<int32_t> order(k);
  std::iota(order.begin(), order.end(), 0);  // classes are numbered by first byte already
  const DfaTable m = minimize(p.table, 0, order);
  DfaTable out;
  out.num_states = m.num_states;
  out.num_letters = kBytes;
  out.accepting = m.accepting;
  out.table.resize(static_cast<size_t>(m.num_states) * kBytes);
  for (int32_t s = 0; s < m.num_states; ++s)
    for (int c = 0; c < kBytes; ++c)
      out.table[static_cast<size_t>(s) * kBytes + c] = m.table[static_cast<size_t>(s) * k + class_of[c]];
  return out;
}

}  // namespace constrain
