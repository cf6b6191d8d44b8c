#include "cfg_grammar.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

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
  const int32_t n = static_cast<int32_t>(terminals.size());
  threads = std::max(1, std::min(threads, n));
  auto work = [this, n, threads](int worker) {
    for (int32_t t = worker; t < n; t += threads) {
      CfgTerminal& term = terminals[t];
      term.within = MaskStore::build(term.dfa, *trie, 1);
      term.crossing = CrossingStore::build(term.dfa, *trie, term.within);
    }
  };
  if (threads == 1) return work(0);
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

bool CfgGrammar::is_eos(int32_t id) const {
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
}

size_t CfgGrammar::memory_bytes() const {
  size_t total = sizeof(*this) + (rule_lhs.size() + rule_begin.size() + rhs.size()) * 4;
  for (const CfgTerminal& t : terminals)
    total += t.dfa.memory_bytes() + t.within.memory_bytes() + t.crossing.memory_bytes();
  return total;
}

}  // namespace constrain
