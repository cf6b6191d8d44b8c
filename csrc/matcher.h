// Matchers: one sequence's position in a compiled grammar.
//
// `Matcher` is the interface the batch code and the bindings use; `DfaMatcher` runs a regular
// grammar (regex, choices) over its DFA mask store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "byte_dfa.h"
#include "mask_store.h"
#include "token_trie.h"

namespace constrain {

class Matcher {
 public:
  virtual ~Matcher() = default;
  // False, with no change of state, if the token is not allowed here.
  virtual bool accept_token(int32_t token_id) = 0;
  // Bytes that did not come from the model; one step for rollback. False if not a viable prefix.
  virtual bool accept_bytes(const uint8_t* data, size_t length) = 0;
  // Writes the allowed-token bitmask into row[0 .. words); ids at or past the vocabulary size
  // get 0 bits. `words` must be at least ceil(vocab_size / 32).
  virtual void fill_bitmask(int32_t* row, int64_t words) const = 0;
  virtual void rollback(int32_t steps) = 0;
  virtual void reset() = 0;
  virtual int32_t num_steps() const = 0;
  virtual bool is_accepting() const = 0;
  virtual bool is_terminated() const = 0;
  virtual std::string forced_bytes() const = 0;
  virtual std::unique_ptr<Matcher> fork() const = 0;
  virtual int32_t vocab_size() const = 0;
};

// A regular grammar compiled against a vocabulary: shared, immutable, used by many matchers.
struct DfaGrammar {
  std::shared_ptr<const TokenTrie> trie;
  ByteDfa dfa;
  MaskStore masks;
  std::vector<int32_t> eos_ids;

  bool is_eos(int32_t id) const;
  size_t memory_bytes() const { return dfa.memory_bytes() + masks.memory_bytes(); }
};

class DfaMatcher final : public Matcher {
 public:
  explicit DfaMatcher(std::shared_ptr<const DfaGrammar> grammar);

  bool accept_token(int32_t token_id) override;
  bool accept_bytes(const uint8_t* data, size_t length) override;
  void fill_bitmask(int32_t* row, int64_t words) const override;
  void rollback(int32_t steps) override;
  void reset() override;
  int32_t num_steps() const override { return static_cast<int32_t>(states_.size()) - 1; }
  bool is_accepting() const override;
  bool is_terminated() const override { return states_.back() == kTerminated; }
  std::string forced_bytes() const override;
  std::unique_ptr<Matcher> fork() const override;
  int32_t vocab_size() const override { return grammar_->masks.vocab_size(); }

 private:
  static constexpr int32_t kTerminated = -2;  // the state after an accepted end-of-sequence token
  int32_t run(int32_t state, const uint8_t* data, size_t length) const;

  std::shared_ptr<const DfaGrammar> grammar_;
  std::vector<int32_t> states_;  // states_[0] is the start; one entry per accepted step after it
};

// Fills rows[i] of `bitmask` (row-major, `words` int32 per row) from matchers[i], splitting the
// work over up to `threads` threads.
void fill_bitmasks(const std::vector<const Matcher*>& matchers, const std::vector<int64_t>& rows,
                   int32_t* bitmask, int64_t words, int threads);

}  // namespace constrain
