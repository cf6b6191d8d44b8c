#include "matcher.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace constrain {

bool DfaGrammar::is_eos(int32_t id) const {
  return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
}

DfaMatcher::DfaMatcher(std::shared_ptr<const DfaGrammar> grammar) : grammar_(std::move(grammar)) {
  states_.push_back(0);
}

int32_t DfaMatcher::run(int32_t state, const uint8_t* data, size_t length) const {
  for (size_t i = 0; i < length && state >= 0; ++i) state = grammar_->dfa.next(state, data[i]);
  return state;
}

bool DfaMatcher::accept_token(int32_t token_id) {
  const int32_t state = states_.back();
  if (state == kTerminated || token_id < 0 || token_id >= vocab_size()) return false;
  if (grammar_->is_eos(token_id)) {
    if (!grammar_->dfa.accepting(state)) return false;
    states_.push_back(kTerminated);
    return true;
  }
  const TokenTrie& trie = *grammar_->trie;
  const int64_t length = trie.token_length(token_id);
  if (length == 0) return false;  // special tokens never match grammar text
  const int32_t next = run(state, trie.token_data(token_id), static_cast<size_t>(length));
  if (next < 0) return false;
  states_.push_back(next);
  return true;
}

bool DfaMatcher::accept_bytes(const uint8_t* data, size_t length) {
  const int32_t state = states_.back();
  if (state == kTerminated) return false;
  const int32_t next = run(state, data, length);
  if (next < 0) return false;
  states_.push_back(next);
  return true;
}

void DfaMatcher::fill_bitmask(int32_t* row, int64_t words) const {
  const MaskStore& masks = grammar_->masks;
  const int64_t own = masks.num_words();
  if (words < own) throw std::invalid_argument("bitmask row narrower than the vocabulary");
  const int32_t state = states_.back();
  uint32_t* out = reinterpret_cast<uint32_t*>(row);
  if (state == kTerminated) {
    // Finished: only end-of-sequence stays allowed, so padded batch decoding has a valid choice.
    std::memset(out, 0, words * sizeof(uint32_t));
  } else {
    masks.fill(state, row);
    std::memset(out + own, 0, (words - own) * sizeof(uint32_t));
  }
  if (state == kTerminated || grammar_->dfa.accepting(state))
    for (int32_t id : grammar_->eos_ids) out[id >> 5] |= 1u << (id & 31);
}

void DfaMatcher::rollback(int32_t steps) {
  if (steps < 0 || steps > num_steps())
    throw std::out_of_range("cannot roll back " + std::to_string(steps) + " steps; only " +
                            std::to_string(num_steps()) + " taken");
  states_.resize(states_.size() - steps);
}

void DfaMatcher::reset() { states_.resize(1); }

bool DfaMatcher::is_accepting() const {
  const int32_t state = states_.back();
  return state == kTerminated || grammar_->dfa.accepting(state);
}

std::string DfaMatcher::forced_bytes() const {
  std::string out;
  int32_t state = states_.back();
  if (state == kTerminated) return out;
  // A forced path cannot cycle: a cycle of forced, non-accepting states could never accept,
  // and every stored state is live. So this ends within num_states steps.
  for (int32_t b; (b = grammar_->dfa.forced_byte(state)) >= 0;) {
    out.push_back(static_cast<char>(b));
    state = grammar_->dfa.next(state, static_cast<uint8_t>(b));
  }
  return out;
}

std::unique_ptr<Matcher> DfaMatcher::fork() const { return std::make_unique<DfaMatcher>(*this); }

void fill_bitmasks(const std::vector<const Matcher*>& matchers, const std::vector<int64_t>& rows,
                   int32_t* bitmask, int64_t words, int threads) {
  const size_t n = matchers.size();
  threads = static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, n)));
  auto work = [&](int worker) {
    for (size_t i = worker; i < n; i += threads)
      matchers[i]->fill_bitmask(bitmask + rows[i] * words, words);
  };
  if (threads == 1) return work(0);
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

}  // namespace constrain
