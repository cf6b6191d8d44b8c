#include "earley.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace constrain {

namespace {

uint64_t item_hash(const EarleyItem& it) {
  uint64_t h = static_cast<uint32_t>(it.a) * 0x9E3779B97F4A7C15ull;
  h ^= (static_cast<uint64_t>(static_cast<uint32_t>(it.b)) + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  h ^= static_cast<uint64_t>(static_cast<uint32_t>(it.origin)) * 0x165667B19E3779F9ull;
  return h ^ (h >> 29);
}

}  // namespace

EarleyChart::EarleyChart(const CfgGrammar* grammar) : g_(grammar) {
  slots_.assign(1024, 0);
  slot_stamp_.assign(1024, 0);
  predicted_stamp_.assign(g_->num_nonterminals, 0);
  terminal_stamp_.assign(g_->terminals.size(), 0);
  open_set();
  predict(g_->start);
  close_set();
}

void EarleyChart::open_set() {
  begins_.push_back(items_.size());
  predicted_begins_.push_back(predicted_terminals_.size());
  waiting_.emplace_back();
  if (++stamp_ == 0) {  // the stamp wrapped: forget every stamp
    for (auto* stamps : {&slot_stamp_, &predicted_stamp_, &terminal_stamp_})
      std::fill(stamps->begin(), stamps->end(), 0);
    stamp_ = 1;
  }
}

void EarleyChart::append(const EarleyItem& item) {
  if (static_cast<int64_t>(items_.size() - begins_.back()) >= g_->max_items_per_set)
    throw std::runtime_error("an Earley set exceeded " + std::to_string(g_->max_items_per_set) +
                             " items at byte " + std::to_string(begins_.size() - 1) +
                             ": the grammar is too ambiguous for this input");
  items_.push_back(item);
}

void EarleyChart::predict(int32_t nonterminal) {
  if (predicted_stamp_[nonterminal] == stamp_) return;
  predicted_stamp_[nonterminal] = stamp_;
  const int32_t here = static_cast<int32_t>(begins_.size() - 1);
  for (int32_t r : g_->rules_of[nonterminal]) append({r, 0, here});
}

void EarleyChart::predict_terminal(int32_t terminal) {
  if (terminal_stamp_[terminal] == stamp_) return;
  terminal_stamp_[terminal] = stamp_;
  append({~terminal, 0, static_cast<int32_t>(begins_.size() - 1)});
  predicted_terminals_.push_back(terminal);
}

void EarleyChart::add(const EarleyItem& item) {
  const size_t first = begins_.back();
  const size_t size = items_.size() - first;
  if (2 * (size + 1) > slots_.size()) {  // grow and re-index the open set
    slots_.assign(slots_.size() * 2, 0);
    slot_stamp_.assign(slots_.size(), 0);
    const size_t mask = slots_.size() - 1;
    for (size_t k = first; k < items_.size(); ++k) {
      size_t s = item_hash(items_[k]) & mask;
      while (slot_stamp_[s] == stamp_) s = (s + 1) & mask;
      slot_stamp_[s] = stamp_;
      slots_[s] = static_cast<uint32_t>(k - first);
    }
  }
  const size_t mask = slots_.size() - 1;
  size_t s = item_hash(item) & mask;
  while (slot_stamp_[s] == stamp_) {
    const EarleyItem& other = items_[first + slots_[s]];
    if (other.a == item.a && other.b == item.b && other.origin == item.origin) return;
    s = (s + 1) & mask;
  }
  append(item);
  slot_stamp_[s] = stamp_;
  slots_[s] = static_cast<uint32_t>(size);
}

namespace {

constexpr size_t kIndexedSetSize = 48;  // smaller sets are scanned

}  // namespace

const std::vector<std::pair<int32_t, uint32_t>>& EarleyChart::waiting(int32_t set) {
  if (!waiting_[set]) {
    auto built = std::make_shared<std::vector<std::pair<int32_t, uint32_t>>>();
    for (size_t k = begins_[set]; k < begins_[set + 1]; ++k) {
      const EarleyItem& it = items_[k];
      const int32_t next = it.is_terminal() ? CfgGrammar::kNoSymbol : g_->symbol_at(it.a, it.b);
      if (next != CfgGrammar::kNoSymbol)
        built->emplace_back(next, static_cast<uint32_t>(k - begins_[set]));
    }
    std::sort(built->begin(), built->end());
    waiting_[set] = std::move(built);
  }
  return *waiting_[set];
}

void EarleyChart::advance_waiting(int32_t origin, int32_t symbol) {
  // The origin set is closed, so iterating it while appending to the open set is safe as long
  // as we index, not hold pointers (items_ may reallocate).
  const size_t end = begins_[origin + 1];
  if (read_log_ != nullptr && static_cast<size_t>(origin) < read_log_below_)
    read_log_->push_back(origin);
  if (end - begins_[origin] >= kIndexedSetSize) {
    const auto& index = waiting(origin);
    auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(symbol, 0u));
    for (; it != index.end() && it->first == symbol; ++it) {
      const EarleyItem item = items_[begins_[origin] + it->second];
      add({item.a, item.b + 1, item.origin});
    }
    return;
  }
  for (size_t k = begins_[origin]; k < end; ++k) {
    const EarleyItem it = items_[k];
    if (!it.is_terminal() && g_->symbol_at(it.a, it.b) == symbol) add({it.a, it.b + 1, it.origin});
  }
}

void EarleyChart::close_set() {
  const int32_t here = static_cast<int32_t>(begins_.size() - 1);
  for (size_t k = begins_.back(); k < items_.size(); ++k) {
    const EarleyItem it = items_[k];
    if (it.is_terminal()) continue;
    const int32_t next = g_->symbol_at(it.a, it.b);
    if (next == CfgGrammar::kNoSymbol) {  // completed: advance what waited for its left side
      if (it.origin != here) advance_waiting(it.origin, g_->rule_lhs[it.a]);
      continue;  // completions within this set are covered by the nullable advance below
    }
    if (next >= 0) {
      predict(next);
      if (g_->nullable[next]) add({it.a, it.b + 1, it.origin});
    } else {
      predict_terminal(~next);
      if (g_->terminal_nullable(~next)) add({it.a, it.b + 1, it.origin});
    }
  }
}

bool EarleyChart::advance(uint8_t byte) {
  const size_t last = begins_.size() - 1;
  const size_t begin = begins_[last], end = items_.size();
  open_set();
  for (size_t k = begin; k < end; ++k) {
    const EarleyItem it = items_[k];
    if (!it.is_terminal()) continue;
    const ByteDfa& dfa = g_->terminals[~it.a].dfa;
    const int32_t q = dfa.next(it.b, byte);
    if (q < 0) continue;
    add({it.a, q, it.origin});
    if (dfa.accepting(q)) advance_waiting(it.origin, it.a);
  }
  close_set();
  if (items_.size() == begins_.back()) {
    begins_.pop_back();
    predicted_begins_.pop_back();  // an empty set predicted nothing
    waiting_.pop_back();
    return false;
  }
  return true;
}

void EarleyChart::push_terminal_end(int32_t terminal, int32_t origin) {
  const std::pair<int32_t, int32_t> end{terminal, origin};
  push_terminal_ends(&end, 1);
}

void EarleyChart::push_terminal_ends(const std::pair<int32_t, int32_t>* ends, size_t n) {
  open_set();
  for (size_t i = 0; i < n; ++i) advance_waiting(ends[i].second, ~ends[i].first);
  close_set();
}

void EarleyChart::truncate(size_t n) {
  if (n < 1 || n > begins_.size()) throw std::out_of_range("bad Earley chart truncation");
  if (n < begins_.size()) {
    items_.resize(begins_[n]);
    begins_.resize(n);
    predicted_terminals_.resize(predicted_begins_[n]);
    predicted_begins_.resize(n);
    waiting_.resize(n);
  }
}

bool EarleyChart::accepting() const {
  for (const EarleyItem* it = set_begin(num_sets() - 1); it != set_end(num_sets() - 1); ++it)
    if (!it->is_terminal() && it->origin == 0 && g_->rule_lhs[it->a] == g_->start &&
        it->b == g_->rule_length(it->a))
      return true;
  return false;
}

}  // namespace constrain
