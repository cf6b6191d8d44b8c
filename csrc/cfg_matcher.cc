#include "cfg_matcher.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace constrain {

CfgMatcher::CfgMatcher(std::shared_ptr<const CfgGrammar> grammar)
    : grammar_(std::move(grammar)), chart_(grammar_.get()) {}

CfgMatcher::CfgMatcher(const CfgMatcher& other) = default;

bool CfgMatcher::consume(const uint8_t* data, size_t length) {
  const size_t before = chart_.num_sets();
  for (size_t i = 0; i < length; ++i) {
    if (!chart_.advance(data[i])) {
      chart_.truncate(before);
      return false;
    }
  }
  return true;
}

bool CfgMatcher::accept_token(int32_t token_id) {
  if (terminated_ || token_id < 0 || token_id >= vocab_size()) return false;
  if (grammar_->is_eos(token_id)) {
    if (!chart_.accepting()) return false;
    step_sets_.push_back(chart_.num_sets());
    terminated_ = true;
    return true;
  }
  const TokenTrie& trie = *grammar_->trie;
  const int64_t length = trie.token_length(token_id);
  if (length == 0) return false;  // special tokens never match grammar text
  const size_t before = chart_.num_sets();
  if (!consume(trie.token_data(token_id), static_cast<size_t>(length))) return false;
  step_sets_.push_back(before);
  return true;
}

bool CfgMatcher::accept_bytes(const uint8_t* data, size_t length) {
  if (terminated_) return false;
  const size_t before = chart_.num_sets();
  if (!consume(data, length)) return false;
  step_sets_.push_back(before);
  return true;
}

void CfgMatcher::fill_bitmask(int32_t* row, int64_t words) const {
  const int64_t own = (vocab_size() + 31) / 32;
  if (words < own) throw std::invalid_argument("bitmask row narrower than the vocabulary");
  uint32_t* out = reinterpret_cast<uint32_t*>(row);
  std::memset(out, 0, words * sizeof(uint32_t));
  if (!terminated_) {
    // The terminal items of the last set as (terminal, origin, state class), sorted so items
    // of one terminal and origin are adjacent.
    const size_t last = chart_.num_sets() - 1;
    struct Pending {
      int32_t terminal, origin, state_class;
    };
    std::vector<Pending> items;
    for (const EarleyItem* it = chart_.set_begin(last); it != chart_.set_end(last); ++it)
      if (it->is_terminal())
        items.push_back({~it->a, it->origin, grammar_->class_of(~it->a, it->b)});
    std::sort(items.begin(), items.end(), [](const Pending& x, const Pending& y) {
      return x.terminal != y.terminal ? x.terminal < y.terminal
             : x.origin != y.origin   ? x.origin < y.origin
                                      : x.state_class < y.state_class;
    });
    // Tokens that stay inside a terminal: allowed whatever follows it.
    std::vector<int32_t> classes;
    for (const Pending& p : items) classes.push_back(p.state_class);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    for (int32_t c : classes) grammar_->within(c).or_into(out);
    // Tokens in which a terminal ends: push the set its end leads to; suffixes that stay inside
    // a terminal predicted there are allowed (the cached summary); the others run through the
    // chart byte by byte, sharing common prefixes.
    const TokenTrie& trie = *grammar_->trie;
    std::vector<int32_t> next;
    for (size_t g = 0; g < items.size();) {
      size_t h = g;
      while (h < items.size() && items[h].terminal == items[g].terminal &&
             items[h].origin == items[g].origin)
        ++h;
      chart_.push_terminal_end(items[g].terminal, items[g].origin);
      const size_t base = chart_.num_sets();  // sets base + d - 1 hold a suffix's first d bytes
      next.clear();
      for (const EarleyItem* it = chart_.set_begin(base - 1); it != chart_.set_end(base - 1); ++it)
        if (it->is_terminal()) next.push_back(grammar_->class_of(~it->a, it->b));
      std::sort(next.begin(), next.end());
      next.erase(std::unique(next.begin(), next.end()), next.end());
      for (size_t k = g; k < h; ++k) {
        if (k > g && items[k].state_class == items[k - 1].state_class) continue;
        const CrossingStore& cs = grammar_->crossing(items[k].state_class);
        const auto summary = grammar_->summary(items[k].state_class, next);
        summary->allowed.or_into(out);
        int32_t depth = 0;
        const size_t n_deep = summary->deep.size();
        for (size_t j = 0; j < n_deep;) {
          const int32_t lcp = summary->deep_lcp[j];
          if (lcp < depth) {
            chart_.truncate(base + lcp);
            depth = lcp;
          }
          const int64_t s = summary->deep[j];
          const uint8_t* bytes = trie.token_data(cs.suffix_token(s)) + cs.suffix_offset(s);
          const int32_t length =
              static_cast<int32_t>(trie.token_length(cs.suffix_token(s)) - cs.suffix_offset(s));
          while (depth < length && chart_.advance(bytes[depth])) ++depth;
          if (depth == length)
            for (const int32_t* t = cs.tokens_begin(s); t != cs.tokens_end(s); ++t)
              out[*t >> 5] |= 1u << (*t & 31);
          // A rejected prefix bytes[0..depth] rejects the following suffixes that share it.
          const int32_t dead = depth < length ? depth + 1 : INT32_MAX;
          for (++j; j < n_deep && summary->deep_lcp[j] >= dead; ++j) {
          }
        }
        chart_.truncate(base);
      }
      chart_.truncate(base - 1);
      g = h;
    }
  }
  if (is_accepting())
    for (int32_t id : grammar_->eos_ids) out[id >> 5] |= 1u << (id & 31);
}

void CfgMatcher::rollback(int32_t steps) {
  if (steps < 0 || steps > num_steps())
    throw std::out_of_range("cannot roll back " + std::to_string(steps) + " steps; only " +
                            std::to_string(num_steps()) + " taken");
  if (steps == 0) return;
  const size_t target = step_sets_[step_sets_.size() - steps];
  step_sets_.resize(step_sets_.size() - steps);
  terminated_ = false;
  chart_.truncate(target);
}

void CfgMatcher::reset() {
  step_sets_.clear();
  terminated_ = false;
  chart_.truncate(1);
}

std::string CfgMatcher::forced_bytes() const {
  // A byte is forced when no complete string ends here and exactly one byte keeps any terminal
  // live (a live terminal item always leads to a non-empty, hence viable, next set).
  std::string out;
  if (terminated_) return out;
  const size_t start = chart_.num_sets();
  while (!chart_.accepting() && out.size() < 4096) {
    const size_t last = chart_.num_sets() - 1;
    int found = -1;
    bool several = false;
    for (const EarleyItem* it = chart_.set_begin(last); it != chart_.set_end(last) && !several; ++it) {
      if (!it->is_terminal()) continue;
      const ByteDfa& dfa = grammar_->terminals[~it->a].dfa;
      for (int b = 0; b < 256; ++b) {
        if (dfa.next(it->b, static_cast<uint8_t>(b)) < 0 || b == found) continue;
        if (found >= 0) {
          several = true;
          break;
        }
        found = b;
      }
    }
    if (several || found < 0) break;
    chart_.advance(static_cast<uint8_t>(found));
    out.push_back(static_cast<char>(found));
  }
  chart_.truncate(start);
  return out;
}

std::unique_ptr<Matcher> CfgMatcher::fork() const { return std::make_unique<CfgMatcher>(*this); }

}  // namespace constrain
