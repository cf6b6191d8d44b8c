// For every state q of a terminal's DFA, the tokens in which the terminal can end *inside* the
// token: t = p + s with p non-empty, the DFA accepting after p, and s non-empty. Whether such a
// token is allowed depends on what the grammar accepts after the terminal, so the matcher
// checks the suffixes s against its parser at run time.
//
// Suffixes are stored once per state, sorted, each with the tokens it comes from and its common
// prefix length with the previous suffix: the run-time walk shares work between suffixes with a
// common prefix and skips every suffix under a prefix the parser has rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "byte_dfa.h"
#include "mask_store.h"
#include "token_trie.h"

namespace constrain {

class CrossingStore {
 public:
  CrossingStore() = default;
  // The store of one DFA state, its only entry (0). Tokens in `within` (the DFA stays live
  // over the whole token) are left out: they are allowed whatever follows the terminal.
  static CrossingStore build(const DfaRoot& root, const TokenTrie& trie, const TokenSet& within);

  // Suffixes of entry q are the indices [begin(q), end(q)).
  int64_t begin(int32_t state) const { return state_begin_[state]; }
  int64_t end(int32_t state) const { return state_begin_[state + 1]; }
  // The bytes of suffix k live in the token trie: token_data(token) + offset.
  int32_t suffix_token(int64_t k) const { return suffix_token_[k]; }
  int32_t suffix_offset(int64_t k) const { return suffix_offset_[k]; }
  // Common prefix length of suffix k with suffix k - 1 of the same state (0 for the first).
  int32_t suffix_lcp(int64_t k) const { return suffix_lcp_[k]; }
  const int32_t* tokens_begin(int64_t k) const { return token_ids_.data() + tokens_begin_[k]; }
  const int32_t* tokens_end(int64_t k) const { return token_ids_.data() + tokens_begin_[k + 1]; }
  // The first suffix in (k, end) that does not start with the first `length` bytes of suffix
  // k (suffixes are sorted, so those that do form one block right after k).
  int64_t skip_block(const TokenTrie& trie, int64_t k, int64_t end, int32_t length) const;
  size_t memory_bytes() const;

 private:
  std::vector<int64_t> state_begin_;
  std::vector<int32_t> suffix_token_;
  std::vector<int32_t> suffix_offset_;
  std::vector<int32_t> suffix_lcp_;
  std::vector<int64_t> tokens_begin_;
  std::vector<int32_t> token_ids_;
};

}  // namespace constrain
