// A context-free grammar over terminals that are regular languages of bytes, compiled against a
// vocabulary: the rules, and for every terminal its DFA, its within-terminal mask store and its
// crossing store; and what its matchers learn about parse contexts (ContextCache).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
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

// The parser after a terminal ended: the terminals it predicts (a terminal item in their start
// state begins there for each) and their start classes, sorted and unique.
struct ParseContext {
  std::vector<int32_t> terminals;
  std::vector<int32_t> classes;
};

// What the crossing suffixes of one state class do in one parse context: the summary before
// the context's classes, and the tokens of the summary's deep suffixes that the parser takes.
struct ContextCrossing {
  std::shared_ptr<const CrossingSummary> summary;
  TokenSet deep_allowed;
};

// Earley sets numbered by what they do next, with what the mask computation derives from them.
//
// The kernel of a set, its items that wait for a symbol and began in an earlier set, decides
// the rest (their predictions). With each origin replaced by the number of its set, it decides
// everything that can follow the set: two sets with equal such keys are advanced, completed and
// predicted alike by the same input. So the set reached when a terminal ends in a context, and
// the crossing tokens a class allows in a context, are computed once per context for every
// matcher of the grammar.
//
// A computation that reads no set further than `depth` origin links from the context's own set
// (depth 1: the sets its kernel items began in) depends only on the context's shallow key at
// depth + 1: its kernel with each origin replaced by the origin's shallow number one level less
// deep, and nothing at depth 0. Crossing tokens stored with such a depth serve every context
// with the same shallow key.
//
// Thread-safe. Numbers are valid in one generation: when the cache would outgrow its byte
// budget it is emptied and the generation advances, and calls with an older generation find
// nothing and store nothing.
class ContextCache {
 public:
  static constexpr int32_t kUnknown = -1;
  static constexpr int kMaxDepth = 4;  // shallow keys are kept for depths 1 .. kMaxDepth
  // A key entry: a dotted rule (CfgGrammar::dotted) and the context its item began in.
  static uint64_t entry(int32_t dotted_rule, int32_t context) {
    return static_cast<uint64_t>(dotted_rule) << 32 | static_cast<uint32_t>(context);
  }
  // The key of the initial set (its items are predicted from the start symbol, not a kernel).
  static std::vector<uint64_t> initial_key() { return {entry(INT32_MAX, INT32_MAX)}; }

  uint64_t generation() const;
  // Empties the cache and sets its budget (0: nothing is kept).
  void reset(size_t budget_bytes);
  // The number of the context with this key (sorted, unique entries), or kUnknown.
  int32_t find(uint64_t generation, const std::vector<uint64_t>& key) const;
  // Numbers a new context; kUnknown if the generation is stale or it does not fit.
  int32_t insert(uint64_t generation, const std::vector<uint64_t>& key,
                 std::shared_ptr<const ParseContext> record);
  // The context reached from `context` when `terminal` ends, with its record; false if unknown.
  bool child(uint64_t generation, int32_t context, int32_t terminal, int32_t* id,
             std::shared_ptr<const ParseContext>* record) const;
  void set_child(uint64_t generation, int32_t context, int32_t terminal, int32_t child);
  // The crossing tokens of a class in a context, stored for the context or for one of its
  // shallow keys; null if none.
  std::shared_ptr<const ContextCrossing> crossing(uint64_t generation, int32_t context,
                                                  int32_t state_class);
  // Stores them for the context and, if `depth` <= kMaxDepth, for its shallow key at `depth`.
  void set_crossing(uint64_t generation, int32_t context, int32_t state_class, int depth,
                    std::shared_ptr<const ContextCrossing> value);
  size_t memory_bytes() const;

 private:
  struct KeyHash {
    size_t operator()(const std::vector<uint64_t>& key) const;
  };
  using KeyMap = std::unordered_map<std::vector<uint64_t>, int32_t, KeyHash>;
  template <typename T>
  using PairMap = std::unordered_map<uint64_t, T>;
  static uint64_t pair(int32_t a, int32_t b) { return entry(a, b); }
  int32_t shallow(int32_t context, int depth);  // under the exclusive lock
  std::shared_ptr<const ContextCrossing> shallow_crossing(int32_t context, int32_t state_class);
  // Counts `bytes` more if they fit in the budget.
  bool charge(size_t bytes);
  // The same, but when they do not fit the cache is emptied (a new generation).
  bool make_room(size_t bytes);
  void clear();

  mutable std::shared_mutex mutex_;
  uint64_t generation_ = 0;
  size_t budget_ = size_t{64} << 20;
  size_t used_ = 0;
  KeyMap numbers_;                                            // key -> context
  std::vector<std::shared_ptr<const ParseContext>> records_;  // context -> record
  std::vector<const std::vector<uint64_t>*> keys_;            // context -> key (in numbers_)
  PairMap<int32_t> children_;                                 // (context, terminal) -> context
  KeyMap shallow_numbers_;                                    // depth-tagged shallow key -> number
  PairMap<int32_t> shallow_of_;                               // (context, depth) -> number
  PairMap<std::shared_ptr<const ContextCrossing>> crossings_;          // (context, class)
  PairMap<std::shared_ptr<const ContextCrossing>> shallow_crossings_;  // (shallow number, class)
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
  // terminal -> the bytes that can start what follows it somewhere in the grammar (256 bits)
  std::vector<std::array<uint64_t, 4>> follow_bytes;

  // Checks the tables and derives the state classes, rules_of, nullable and follow_bytes;
  // throws std::invalid_argument.
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
  // A number for rule r with the dot at `dot`, unique over all rules and dots.
  int32_t dotted(int32_t r, int32_t dot) const { return rule_begin[r] + r + dot; }
  // The symbol after the dot, or kNoSymbol at the end of the rule.
  static constexpr int32_t kNoSymbol = INT32_MIN;
  int32_t symbol_at(int32_t r, int32_t dot) const {
    return dot < rule_length(r) ? rhs[rule_begin[r] + dot] : kNoSymbol;
  }
  bool terminal_nullable(int32_t t) const { return terminals[t].dfa.accepting(0); }
  int32_t class_of(int32_t terminal, int32_t state) const {
    return terminals[terminal].state_class[state];
  }
  bool may_follow(int32_t terminal, uint8_t byte) const {
    return (follow_bytes[terminal][byte >> 6] >> (byte & 63)) & 1u;
  }
  // The parse contexts of this grammar's Earley sets, shared by its matchers.
  ContextCache& contexts() const { return contexts_; }
  bool is_eos(int32_t id) const;
  size_t memory_bytes() const;

 private:
  CrossingSummary summarize(int32_t state_class, const std::vector<int32_t>& next) const;
  void derive_follow_bytes();

  mutable std::mutex cache_mutex_;
  mutable std::vector<std::unique_ptr<TokenSet>> within_;
  mutable std::vector<std::unique_ptr<CrossingStore>> crossing_;
  mutable std::map<std::pair<int32_t, std::vector<int32_t>>, std::shared_ptr<const CrossingSummary>>
      summaries_;
  mutable ContextCache contexts_;
};

}  // namespace constrain
