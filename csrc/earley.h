// A scannerless Earley chart over bytes.
//
// Terminals are regular languages: a terminal item carries the terminal's DFA state and the
// position where the terminal began; when its DFA accepts, the terminal ends there and the rule
// items waiting for it at that position advance. Every lexing is therefore explored at once.
// Nullable symbols are handled by advancing over them at prediction (Aycock and Horspool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "cfg_grammar.h"

namespace constrain {

struct EarleyItem {
  int32_t a;       // >= 0: rule a with the dot at b; < 0: terminal ~a in DFA state b
  int32_t b;
  int32_t origin;  // the set where the rule or the terminal began
  bool is_terminal() const { return a < 0; }
};

class EarleyChart {
 public:
  explicit EarleyChart(const CfgGrammar* grammar);

  // Number of sets: one per byte consumed, plus the initial set.
  size_t num_sets() const { return begins_.size(); }
  const EarleyItem* set_begin(size_t i) const { return items_.data() + begins_[i]; }
  const EarleyItem* set_end(size_t i) const {
    return items_.data() + (i + 1 < begins_.size() ? begins_[i + 1] : items_.size());
  }
  // Consumes one byte: pushes the next set and returns true, or returns false (nothing pushed)
  // if no item survives it.
  bool advance(uint8_t byte);
  // Pushes the set reached from set `origin` when terminal `terminal` ends just after the last
  // set: the rule items of `origin` waiting for it, advanced, and their closure.
  void push_terminal_end(int32_t terminal, int32_t origin);
  // The same for several (terminal, origin) pairs that end at once: one set.
  void push_terminal_ends(const std::pair<int32_t, int32_t>* ends, size_t n);
  // Drops the sets from index `n` on.
  void truncate(size_t n);
  // The terminals predicted in a set: a terminal item begins there in their start state.
  const int32_t* predicted_terminals_begin(size_t i) const {
    return predicted_terminals_.data() + predicted_begins_[i];
  }
  const int32_t* predicted_terminals_end(size_t i) const {
    return i + 1 < predicted_begins_.size()
               ? predicted_terminals_.data() + predicted_begins_[i + 1]
               : predicted_terminals_.data() + predicted_terminals_.size();
  }
  // True if the last set holds a completed start rule that began at position 0.
  bool accepting() const;
  // While `log` is set, the index of every set below `below` whose items are read (to advance
  // those waiting for a symbol that ended) is appended to it.
  void log_reads(std::vector<int32_t>* log, size_t below) {
    read_log_ = log;
    read_log_below_ = below;
  }

 private:
  void open_set();
  // Appends an item to the open set, within the size limit.
  void append(const EarleyItem& item);
  // Adds an item unless the open set has it. Predictions (dot 0, begun here) and terminal
  // items begun here are deduplicated by the stamps below instead, as they are most items.
  void add(const EarleyItem& item);
  void predict(int32_t nonterminal);
  void predict_terminal(int32_t terminal);
  void advance_waiting(int32_t origin, int32_t symbol);
  // (symbol after the dot, item offset) of a closed set's rule items, sorted; built on first
  // use, for sets large enough that completions would otherwise scan them again and again.
  const std::vector<std::pair<int32_t, uint32_t>>& waiting(int32_t set);
  void close_set();

  const CfgGrammar* g_;
  std::vector<EarleyItem> items_;
  std::vector<size_t> begins_;
  std::vector<int32_t> predicted_terminals_;
  std::vector<size_t> predicted_begins_;  // per set, like begins_
  std::vector<std::shared_ptr<const std::vector<std::pair<int32_t, uint32_t>>>> waiting_;
  // Open-addressing index of the set being built, for deduplication: slot -> item index.
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> slot_stamp_;
  std::vector<uint32_t> predicted_stamp_;  // nonterminal -> stamp of the set predicting it
  std::vector<uint32_t> terminal_stamp_;   // terminal -> stamp of the set where it begins
  uint32_t stamp_ = 0;
  std::vector<int32_t>* read_log_ = nullptr;
  size_t read_log_below_ = 0;
};

}  // namespace constrain
