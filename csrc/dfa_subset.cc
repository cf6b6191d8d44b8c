#include "dfa_subset.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace constrain {
namespace {

struct SetHash {
  size_t operator()(const std::vector<int32_t>& set) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t s : set) h = (h ^ static_cast<uint32_t>(s)) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

void check(const NfaTables& nfa) {
  const auto n = static_cast<size_t>(nfa.num_states);
  auto in_range = [&](int32_t s) { return s >= 0 && s < nfa.num_states; };
  if (nfa.eps_begin.size() != n + 1 || nfa.move_begin.size() != n + 1 ||
      nfa.move_letter.size() != nfa.move_target.size() || !in_range(nfa.start) ||
      !in_range(nfa.accept) || nfa.eps_begin.back() != static_cast<int32_t>(nfa.eps.size()) ||
      nfa.move_begin.back() != static_cast<int32_t>(nfa.move_letter.size()))
    throw std::invalid_argument("subset_construction: malformed NFA tables");
  for (int32_t s : nfa.eps)
    if (!in_range(s)) throw std::invalid_argument("subset_construction: state out of range");
  for (size_t i = 0; i < nfa.move_letter.size(); ++i)
    if (!in_range(nfa.move_target[i]) || nfa.move_letter[i] < 0 ||
        nfa.move_letter[i] >= nfa.num_letters)
      throw std::invalid_argument("subset_construction: move out of range");
}

}  // namespace

bool subset_construction(const NfaTables& nfa, int32_t max_states, DfaTable* out) {
  check(nfa);
  const int32_t n = nfa.num_states, k = nfa.num_letters;
  // The closure of a state keeps only its "important" states (with letter moves, or the
  // accepting one): sets that differ elsewhere behave alike. Sorted; built on first use.
  std::vector<std::vector<int32_t>> closures(n);
  std::vector<uint8_t> closed(n, 0);
  std::vector<uint32_t> seen(n, 0);
  uint32_t stamp = 0;
  std::vector<int32_t> stack;
  auto closure = [&](int32_t s) -> const std::vector<int32_t>& {
    if (closed[s]) return closures[s];
    ++stamp;
    std::vector<int32_t>& got = closures[s];
    stack.assign(1, s);
    seen[s] = stamp;
    while (!stack.empty()) {
      const int32_t v = stack.back();
      stack.pop_back();
      if (nfa.move_begin[v] < nfa.move_begin[v + 1] || v == nfa.accept) got.push_back(v);
      for (int32_t i = nfa.eps_begin[v]; i < nfa.eps_begin[v + 1]; ++i) {
        const int32_t w = nfa.eps[i];
        if (seen[w] != stamp) seen[w] = stamp, stack.push_back(w);
      }
    }
    std::sort(got.begin(), got.end());
    closed[s] = 1;
    return got;
  };

  out->num_letters = k;
  out->table.clear();
  out->accepting.clear();
  std::unordered_map<std::vector<int32_t>, int32_t, SetHash> ids;
  std::vector<const std::vector<int32_t>*> sets;  // DFA state -> its set (a key of `ids`)
  auto id = [&](std::vector<int32_t>&& set) -> int32_t {
    auto [it, inserted] = ids.emplace(std::move(set), static_cast<int32_t>(sets.size()));
    if (inserted) sets.push_back(&it->first);
    return it->second;
  };
  id(std::vector<int32_t>(closure(nfa.start)));
  std::vector<std::vector<int32_t>> targets(k);  // letter -> NFA targets of the current set
  std::vector<int32_t> letters;                   // letters with targets
  std::vector<uint32_t> member(n, 0);  // stamps of its own: closure() advances `stamp`
  uint32_t member_stamp = 0;
  for (size_t d = 0; d < sets.size(); ++d) {
    if (static_cast<int64_t>(sets.size()) > max_states) return false;
    const std::vector<int32_t>& cur = *sets[d];
    out->accepting.push_back(std::binary_search(cur.begin(), cur.end(), nfa.accept));
    letters.clear();
    for (int32_t s : cur)
      for (int32_t i = nfa.move_begin[s]; i < nfa.move_begin[s + 1]; ++i) {
        auto& t = targets[nfa.move_letter[i]];
        if (t.empty()) letters.push_back(nfa.move_letter[i]);
        t.push_back(nfa.move_target[i]);
      }
    const size_t row = out->table.size();
    out->table.resize(row + k, -1);
    for (int32_t c : letters) {
      ++member_stamp;
      std::vector<int32_t> next;
      for (int32_t t : targets[c])
        for (int32_t v : closure(t))
          if (member[v] != member_stamp) member[v] = member_stamp, next.push_back(v);
      std::sort(next.begin(), next.end());
      targets[c].clear();
      out->table[row + c] = id(std::move(next));
    }
  }
  out->num_states = static_cast<int32_t>(sets.size());
  return out->num_states <= max_states;
}

}  // namespace constrain
