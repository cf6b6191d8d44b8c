// The matcher of a context-free grammar: an Earley chart over the bytes accepted so far, and the
// token mask computed from the chart's last set with the per-terminal stores and the grammar's
// parse contexts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cfg_grammar.h"
#include "earley.h"
#include "matcher.h"

namespace constrain {

class CrossingPass;  // cfg_matcher.cc

class CfgMatcher final : public Matcher {
 public:
  explicit CfgMatcher(std::shared_ptr<const CfgGrammar> grammar);
  CfgMatcher(const CfgMatcher& other);
  ~CfgMatcher() override;

  bool accept_token(int32_t token_id) override;
  bool accept_bytes(const uint8_t* data, size_t length) override;
  void fill_bitmask(int32_t* row, int64_t words) const override;
  void rollback(int32_t steps) override;
  void reset() override;
  int32_t num_steps() const override { return static_cast<int32_t>(step_sets_.size()); }
  bool is_accepting() const override { return terminated_ || chart_.accepting(); }
  bool is_terminated() const override { return terminated_; }
  std::string forced_bytes() const override;
  std::unique_ptr<Matcher> fork() const override;
  int32_t vocab_size() const override { return grammar_->trie->vocab_size(); }

 private:
  bool consume(const uint8_t* data, size_t length);
  void truncate(size_t sets);

  std::shared_ptr<const CfgGrammar> grammar_;
  // The mask computation pushes scratch sets and truncates them again before returning, so
  // it is logically const; a matcher is never used by two threads at once.
  mutable EarleyChart chart_;
  std::vector<size_t> step_sets_;  // number of chart sets before each accepted step
  bool terminated_ = false;
  // The crossing part of the mask computation, with what it keeps between masks (the context
  // of each chart set, scratch space); made on first use, not shared by forks.
  mutable std::unique_ptr<CrossingPass> crossing_;
};

}  // namespace constrain
