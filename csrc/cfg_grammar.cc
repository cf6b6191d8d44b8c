#include "cfg_grammar.h"

#include "dfa_partition.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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
  derive_follow_bytes();
}

namespace {

using ByteSet = std::array<uint64_t, 4>;

// a |= b; true if a grew.
bool merge(ByteSet& a, const ByteSet& b) {
  bool grew = false;
  for (int w = 0; w < 4; ++w) {
    const uint64_t next = a[w] | b[w];
    grew = grew || next != a[w];
    a[w] = next;
  }
  return grew;
}

}  // namespace

void CfgGrammar::derive_follow_bytes() {
  // Symbols: terminals t at index t, nonterminals n at n_terms + n. first[s]: the bytes that can
  // start a non-empty string of s; follow[s]: those that can start what comes after s.
  const int32_t n_terms = static_cast<int32_t>(terminals.size());
  const int32_t n_rules = static_cast<int32_t>(rule_lhs.size());
  auto index = [n_terms](int32_t symbol) { return symbol < 0 ? ~symbol : n_terms + symbol; };
  auto is_nullable = [this](int32_t symbol) {
    return symbol < 0 ? terminal_nullable(~symbol) : nullable[symbol] != 0;
  };
  std::vector<ByteSet> first(n_terms + num_nonterminals, ByteSet{});
  std::vector<ByteSet> follow(first.size(), ByteSet{});
  for (int32_t t = 0; t < n_terms; ++t)
    for (int b = 0; b < 256; ++b)
      if (terminals[t].dfa.next(0, static_cast<uint8_t>(b)) >= 0)
        first[t][b >> 6] |= 1ull << (b & 63);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < n_rules; ++r) {
      for (int32_t k = rule_begin[r]; k < rule_begin[r + 1]; ++k) {
        changed = merge(first[index(rule_lhs[r])], first[index(rhs[k])]) || changed;
        if (!is_nullable(rhs[k])) break;
      }
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < n_rules; ++r) {
      // Walking the rule backwards, `after` is what can follow position k.
      ByteSet after = follow[index(rule_lhs[r])];
      for (int32_t k = rule_begin[r + 1] - 1; k >= rule_begin[r]; --k) {
        changed = merge(follow[index(rhs[k])], after) || changed;
        if (!is_nullable(rhs[k])) after = ByteSet{};
        merge(after, first[index(rhs[k])]);
      }
    }
  }
  follow_bytes.assign(follow.begin(), follow.begin() + n_terms);
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

uint64_t ContextCache::generation() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return generation_;
}

void ContextCache::reset(size_t budget_bytes) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  budget_ = budget_bytes;
  clear();
}

void ContextCache::clear() {
  numbers_.clear();
  records_.clear();
  keys_.clear();
  children_.clear();
  shallow_numbers_.clear();
  shallow_of_.clear();
  crossings_.clear();
  shallow_crossings_.clear();
  used_ = 0;
  ++generation_;
}

bool ContextCache::charge(size_t bytes) {
  if (used_ + bytes > budget_) return false;
  used_ += bytes;
  return true;
}

bool ContextCache::make_room(size_t bytes) {
  if (charge(bytes)) return true;
  // Full: start again (a new generation) rather than stop learning. What was to be stored
  // refers to numbers of the old generation, so it goes too.
  if (used_ > 0) clear();
  return false;
}

size_t ContextCache::KeyHash::operator()(const std::vector<uint64_t>& key) const {
  uint64_t h = key.size() * 0x9E3779B97F4A7C15ull;
  for (uint64_t e : key) {
    h = (h ^ e) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  return static_cast<size_t>(h);
}

int32_t ContextCache::find(uint64_t generation, const std::vector<uint64_t>& key) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_) return kUnknown;
  auto it = numbers_.find(key);
  return it == numbers_.end() ? kUnknown : it->second;
}

int32_t ContextCache::insert(uint64_t generation, const std::vector<uint64_t>& key,
                             std::shared_ptr<const ParseContext> record) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_) return kUnknown;
  auto it = numbers_.find(key);
  if (it != numbers_.end()) return it->second;
  const size_t bytes = 128 + key.size() * sizeof(uint64_t) +
                       (record->terminals.size() + record->classes.size()) * sizeof(int32_t);
  if (!make_room(bytes)) return kUnknown;
  it = numbers_.emplace(key, static_cast<int32_t>(records_.size())).first;
  records_.push_back(std::move(record));
  keys_.push_back(&it->first);
  return it->second;
}

bool ContextCache::child(uint64_t generation, int32_t context, int32_t terminal, int32_t* id,
                         std::shared_ptr<const ParseContext>* record) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_) return false;
  auto it = children_.find(pair(context, terminal));
  if (it == children_.end()) return false;
  *id = it->second;
  *record = records_[it->second];
  return true;
}

void ContextCache::set_child(uint64_t generation, int32_t context, int32_t terminal,
                             int32_t child) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_ || !make_room(48)) return;
  children_.emplace(pair(context, terminal), child);
}

int32_t ContextCache::shallow(int32_t context, int depth) {
  if (depth == 0) return 0;  // nothing of the context is known
  auto found = shallow_of_.find(pair(context, depth));
  if (found != shallow_of_.end()) return found->second;
  std::vector<uint64_t> key;
  for (uint64_t e : *keys_[context]) {  // shallow() never clears, so the key stays
    const int32_t dotted = static_cast<int32_t>(e >> 32);
    if (dotted == INT32_MAX) {  // the initial set's mark
      key.push_back(e);
      continue;
    }
    const int32_t origin = shallow(static_cast<int32_t>(e & 0xFFFFFFFFu), depth - 1);
    if (origin == kUnknown) return kUnknown;  // no room left
    key.push_back(entry(dotted, origin));
  }
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  key.push_back(entry(INT32_MAX - 1, depth));
  auto it = shallow_numbers_.find(key);
  if (it == shallow_numbers_.end()) {
    const int32_t number = static_cast<int32_t>(shallow_numbers_.size()) + 1;
    if (!charge(96 + key.size() * sizeof(uint64_t))) return kUnknown;
    it = shallow_numbers_.emplace(std::move(key), number).first;
  }
  if (!charge(48)) return kUnknown;
  shallow_of_.emplace(pair(context, depth), it->second);
  return it->second;
}

std::shared_ptr<const ContextCrossing> ContextCache::shallow_crossing(int32_t context,
                                                                      int32_t state_class) {
  for (int depth = 1; depth <= kMaxDepth; ++depth) {
    const int32_t number = shallow(context, depth);
    if (number == kUnknown) return nullptr;
    auto it = shallow_crossings_.find(pair(number, state_class));
    if (it != shallow_crossings_.end()) return it->second;
  }
  return nullptr;
}

std::shared_ptr<const ContextCrossing> ContextCache::crossing(uint64_t generation,
                                                              int32_t context,
                                                              int32_t state_class) {
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    if (generation != generation_) return nullptr;
    auto it = crossings_.find(pair(context, state_class));
    if (it != crossings_.end()) return it->second;
  }
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_) return nullptr;
  auto found = shallow_crossing(context, state_class);
  if (found && charge(48))
    crossings_.emplace(pair(context, state_class), found);
  return found;
}

void ContextCache::set_crossing(uint64_t generation, int32_t context, int32_t state_class,
                                int depth, std::shared_ptr<const ContextCrossing> value) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (generation != generation_ || !make_room(96 + value->deep_allowed.memory_bytes())) return;
  crossings_.emplace(pair(context, state_class), value);
  if (depth > kMaxDepth) return;
  const int32_t number = shallow(context, depth);
  if (number == kUnknown || !charge(48)) return;
  shallow_crossings_.emplace(pair(number, state_class), std::move(value));
}

size_t ContextCache::memory_bytes() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return used_;
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
  return total + contexts_.memory_bytes();
}

}  // namespace constrain
