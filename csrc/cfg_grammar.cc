#include "cfg_grammar.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace constrain {

void CfgGrammar::finalize() {
  const int32_t n_rules = static_cast<int32_t>(rule_lhs.size());
  const int32_t n_terms = static_cast<int32_t>(terminals.size());
  if (rule_begin.size() != rule_lhs.size() + 1 || rule_begin.front() != 0 ||
      rule_begin.back() != static_cast<int32_t>(rhs.size()))
    throw std::invalid_argument("rule tables are inconsistent");
  if (start < 0 || start >= num_nonterminals) throw std::invalid_argument("bad start symbol");
  rules_of.assign(num_nonterminals, {});
  for (int32_t r = 0; r < n_rules; ++r) {
    if (rule_lhs[r] < 0 || rule_lhs[r] >= num_nonterminals)
      throw std::invalid_argument("rule " + std::to_string(r) + " has a bad left-hand side");
    if (rule_begin[r + 1] < rule_begin[r]) throw std::invalid_argument("rule offsets decrease");
    rules_of[rule_lhs[r]].push_back(r);
  }
  for (int32_t s : rhs)
    if (s >= num_nonterminals || (s < 0 && ~s >= n_terms))
      throw std::invalid_argument("rule symbol " + std::to_string(s) + " out of range");
  for (const CfgTerminal& t : terminals) {
    if (static_cast<int32_t>(t.state_class.size()) != t.dfa.num_states())
      throw std::invalid_argument("a terminal's state classes do not match its DFA");
    for (int32_t c : t.state_class)
      if (c < 0 || c >= num_classes) throw std::invalid_argument("state class out of range");
  }
  nullable.assign(num_nonterminals, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < n_rules; ++r) {
      if (nullable[rule_lhs[r]]) continue;
      bool all = true;
      for (int32_t k = rule_begin[r]; k < rule_begin[r + 1] && all; ++k) {
        const int32_t s = rhs[k];
        all = s >= 0 ? nullable[s] != 0 : terminal_nullable(~s);
      }
      if (all) nullable[rule_lhs[r]] = 1, changed = true;
    }
  }
}

void CfgGrammar::build_stores(int threads) {
  std::vector<DfaRoot> roots(num_classes, DfaRoot{nullptr, -1});
  for (const CfgTerminal& t : terminals)
    for (int32_t q = 0; q < t.dfa.num_states(); ++q) roots[t.state_class[q]] = {&t.dfa, q};
  for (const DfaRoot& r : roots)
    if (r.dfa == nullptr) throw std::invalid_argument("a state class has no state");
  within = MaskStore::build(roots, *trie, threads);
  crossing = CrossingStore::build(roots, *trie, within);
}

bool CfgGrammar::is_eos(int32_t id) const {
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
}

size_t CfgGrammar::memory_bytes() const {
  size_t total = sizeof(*this) + (rule_lhs.size() + rule_begin.size() + rhs.size()) * 4 +
                 within.memory_bytes() + crossing.memory_bytes();
  for (const CfgTerminal& t : terminals) total += t.dfa.memory_bytes() + t.state_class.size() * 4;
  return total;
}

}  // namespace constrain
