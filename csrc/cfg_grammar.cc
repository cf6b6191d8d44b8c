#include "cfg_grammar.h"

#include "dfa_partition.h"

#include <algorithm>
#include <cstring>
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
  std::vector<const ByteDfa*> dfas;
  for (const CfgTerminal& t : terminals) dfas.push_back(&t.dfa);
  std::vector<std::vector<int32_t>> classes = residual_classes(dfas, &num_classes);
  for (int32_t t = 0; t < n_terms; ++t) terminals[t].state_class = std::move(classes[t]);
  class_roots.assign(num_classes, DfaRoot{nullptr, -1});
  for (const CfgTerminal& t : terminals)
    for (int32_t q = 0; q < t.dfa.num_states(); ++q) class_roots[t.state_class[q]] = {&t.dfa, q};
  for (const DfaRoot& r : class_roots)
    if (r.dfa == nullptr) throw std::invalid_argument("a state class has no state");
  within_.clear();
  within_.resize(num_classes);
  crossing_.clear();
  crossing_.resize(num_classes);
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

const TokenSet& CfgGrammar::within(int32_t state_class) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (within_[state_class]) return *within_[state_class];
  }
  // Built outside the lock; if two threads race, the first one stored wins.
  std::vector<int32_t> ids;
  collect_live_tokens(*class_roots[state_class].dfa, *trie, class_roots[state_class].state, ids);
  auto built = std::make_unique<TokenSet>(std::move(ids), trie->vocab_size());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (!within_[state_class]) within_[state_class] = std::move(built);
  return *within_[state_class];
}

const CrossingStore& CfgGrammar::crossing(int32_t state_class) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (crossing_[state_class]) return *crossing_[state_class];
  }
  const TokenSet& inside = within(state_class);
  auto built = std::make_unique<CrossingStore>(
      CrossingStore::build(class_roots[state_class], *trie, inside));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (!crossing_[state_class]) crossing_[state_class] = std::move(built);
  return *crossing_[state_class];
}

std::shared_ptr<const CrossingSummary> CfgGrammar::summary(
    int32_t state_class, const std::vector<int32_t>& next) const {
  auto key = std::make_pair(state_class, next);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = summaries_.find(key);
    if (it != summaries_.end()) return it->second;
  }
  auto built = std::make_shared<const CrossingSummary>(summarize(state_class, next));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  return summaries_.emplace(std::move(key), std::move(built)).first->second;
}

CrossingSummary CfgGrammar::summarize(int32_t state_class, const std::vector<int32_t>& next) const {
  // Runs every suffix through the DFAs of the next terminals, sharing common prefixes:
  // states[d * n + i] is terminal i's state after d bytes, alive[d] whether any is live,
  // ended[d] whether any accepted after some i in [1, d] bytes.
  const CrossingStore& cs = crossing(state_class);
  const size_t n = next.size();
  const size_t max_depth = trie->max_depth();
  std::vector<int32_t> states((max_depth + 1) * n);
  std::vector<uint8_t> alive(max_depth + 1, 0), ended(max_depth + 1, 0);
  for (size_t i = 0; i < n; ++i) states[i] = class_roots[next[i]].state;
  alive[0] = n > 0;
  std::vector<int32_t> allowed;
  CrossingSummary out{TokenSet({}, trie->vocab_size()), {}, {}};
  const int64_t first = cs.begin(0), end = cs.end(0);  // the store has this one class only
  int32_t depth = 0;
  for (int64_t k = first; k < end;) {
    if (k > first) depth = std::min(depth, cs.suffix_lcp(k));
    const uint8_t* bytes = trie->token_data(cs.suffix_token(k)) + cs.suffix_offset(k);
    const int32_t length =
        static_cast<int32_t>(trie->token_length(cs.suffix_token(k)) - cs.suffix_offset(k));
    while (depth < length && alive[depth]) {
      bool any = false, accepts = false;
      for (size_t i = 0; i < n; ++i) {
        const int32_t q = states[depth * n + i];
        const int32_t r = q < 0 ? -1 : class_roots[next[i]].dfa->next(q, bytes[depth]);
        states[(depth + 1) * n + i] = r;
        if (r >= 0) any = true, accepts = accepts || class_roots[next[i]].dfa->accepting(r);
      }
      alive[depth + 1] = any;
      ended[depth + 1] = ended[depth] || accepts;
      ++depth;
    }
    if (depth == length && alive[length]) {
      allowed.insert(allowed.end(), cs.tokens_begin(k), cs.tokens_end(k));
      ++k;
    } else if (ended[std::min(depth, length - 1)]) {
      out.deep.push_back(k);
      ++k;
    } else {  // no next terminal survives the first `depth` bytes: nor does any longer suffix
      k = cs.skip_block(*trie, k, end, depth);
    }
  }
  for (size_t j = 0; j < out.deep.size(); ++j) {
    int32_t lcp = 0;
    if (j > 0) {
      const int64_t a = out.deep[j - 1], b = out.deep[j];
      const uint8_t* pa = trie->token_data(cs.suffix_token(a)) + cs.suffix_offset(a);
      const uint8_t* pb = trie->token_data(cs.suffix_token(b)) + cs.suffix_offset(b);
      const int64_t limit = std::min(trie->token_length(cs.suffix_token(a)) - cs.suffix_offset(a),
                                     trie->token_length(cs.suffix_token(b)) - cs.suffix_offset(b));
      while (lcp < limit && pa[lcp] == pb[lcp]) ++lcp;
    }
    out.deep_lcp.push_back(lcp);
  }
  out.allowed = TokenSet(std::move(allowed), trie->vocab_size());
  return out;
}

bool CfgGrammar::is_eos(int32_t id) const {
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
}

size_t CfgGrammar::memory_bytes() const {
  size_t total = sizeof(*this) + (rule_lhs.size() + rule_begin.size() + rhs.size()) * 4;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  for (const auto& w : within_)
    if (w) total += w->memory_bytes();
  for (const auto& c : crossing_)
    if (c) total += c->memory_bytes();
  for (const auto& entry : summaries_)
    total += entry.second->allowed.memory_bytes() + entry.second->deep.size() * 12;
  for (const CfgTerminal& t : terminals) total += t.dfa.memory_bytes() + t.state_class.size() * 4;
  return total;
}

}  // namespace constrain
