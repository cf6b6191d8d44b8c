// A context-free grammar over terminals that are regular languages of bytes, compiled against a
// vocabulary: the rules, and for every terminal its DFA, its within-terminal mask store and its
// crossing store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "byte_dfa.h"
#include "crossing_store.h"
#include "mask_store.h"
#include "token_trie.h"

namespace constrain {

struct CfgTerminal {
  ByteDfa dfa;
  // The store entry of each DFA state, set by CfgGrammar::finalize: states of any terminals
  // with the same residual language share an entry (e.g. the trailing-whitespace state of every
  // JSON terminal).
  std::vector<int32_t> state_class;
};

// What the crossing suffixes of one state class do when the terminal ends and the terminals
// that may come next start in the given classes.
struct CrossingSummary {
  // Tokens whose suffix stays inside a next terminal: allowed, whatever follows.
  TokenSet allowed;
  // Suffixes (indices into the class's crossing store) in which a next terminal ends: the
  // parser decides. Sorted, with the common prefix length of each with the one before.
  std::vector<int64_t> deep;
  std::vector<int32_t> deep_lcp;
};

struct CfgGrammar {
  std::shared_ptr<const TokenTrie> trie;
  std::vector<CfgTerminal> terminals;
  int32_t num_classes = 0;
  int32_t num_nonterminals = 0;
  int32_t start = 0;  // the start nonterminal
  // Rule r: rule_lhs[r] -> rhs[rule_begin[r] .. rule_begin[r + 1]). A symbol >= 0 is a
  // nonterminal, a symbol < 0 the terminal ~symbol.
  std::vector<int32_t> rule_lhs;
  std::vector<int32_t> rule_begin;
  std::vector<int32_t> rhs;
  std::vector<int32_t> eos_ids;
  // Earley sets larger than this raise an error instead of slowing down without bound.
  int64_t max_items_per_set = 200000;

  // Derived by finalize().
  std::vector<std::vector<int32_t>> rules_of;  // nonterminal -> its rules
  std::vector<uint8_t> nullable;               // nonterminal -> derives the empty string
  std::vector<DfaRoot> class_roots;            // class -> one terminal DFA state in it

  // Checks the tables and derives the state classes, rules_of and nullable; throws
  // std::invalid_argument.
  void finalize();
  // The tokens over which a class's terminal stays live (it may go on). Built on first use.
  const TokenSet& within(int32_t state_class) const;
  // The crossing store of a class (its one entry, 0): tokens in which the terminal may end.
  // Built on first use.
  const CrossingStore& crossing(int32_t state_class) const;
  // The summary of a class's crossing suffixes before the classes `next` (sorted, unique).
  // Built on first use; thread-safe.
  std::shared_ptr<const CrossingSummary> summary(int32_t state_class,
                                                 const std::vector<int32_t>& next) const;

  int32_t rule_length(int32_t r) const { return rule_begin[r + 1] - rule_begin[r]; }
  // The symbol after the dot, or kNoSymbol at the end of the rule.
  static constexpr int32_t kNoSymbol = INT32_MIN;
  int32_t symbol_at(int32_t r, int32_t dot) const {
    return dot < rule_length(r) ? rhs[rule_begin[r] + dot] : kNoSymbol;
  }
  bool terminal_nullable(int32_t t) const { return terminals[t].dfa.accepting(0); }
  int32_t class_of(int32_t terminal, int32_t state) const {
    return terminals[terminal].state_class[state];
  }
  bool is_eos(int32_t id) const;
  size_t memory_bytes() const;

 private:
  CrossingSummary summarize(int32_t state_class, const std::vector<int32_t>& next) const;

  mutable std::mutex cache_mutex_;
  mutable std::vector<std::unique_ptr<TokenSet>> within_;
  mutable std::vector<std::unique_ptr<CrossingStore>> crossing_;
  mutable std::map<std::pair<int32_t, std::vector<int32_t>>, std::shared_ptr<const CrossingSummary>>
      summaries_;
};

}  // namespace constrain
