// A scannerless Earley chart over bytes.
//
// Terminals are regular languages: a terminal item carries the terminal's DFA state and the
// position where the terminal began; when its DFA accepts, the terminal ends there and the rule
// items waiting for it at that position advance. Every lexing is therefore explored at once.
// Nullable symbols are handled by advancing over them at prediction (Aycock and Horspool).
#pragma once

#include <cstddef>
#include <cstdint>
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
  // Drops the sets from index `n` on.
  void truncate(size_t n);
  // True if the last set holds a completed start rule that began at position 0.
  bool accepting() const;

 private:
  void open_set();
  void add(const EarleyItem& item);
  void advance_waiting(int32_t origin, int32_t symbol);
  void close_set();

  const CfgGrammar* g_;
  std::vector<EarleyItem> items_;
  std::vector<size_t> begins_;
  // Open-addressing index of the set being built, for deduplication: slot -> item index.
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> slot_stamp_;
  uint32_t stamp_ = 0;
};

}  // namespace constrain
