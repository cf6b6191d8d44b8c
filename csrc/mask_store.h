// For every DFA state, the set of tokens whose bytes keep the DFA live from that state.
//
// Each state's set is stored in the smallest of three forms: a list of allowed ids, a list of
// forbidden ids, or a bitmask; identical sets are stored once. A 128k vocabulary then costs a
// few bytes per state for tight states and at most one 16 KiB bitmask per distinct dense set,
// never a byte per token per state.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "byte_dfa.h"
#include "token_trie.h"

namespace constrain {

enum class MaskForm : uint8_t { kAllowList = 0, kDenyList = 1, kBitmask = 2 };

// A DFA state to build a token set for: the tokens over which `dfa` stays live from `state`.
struct DfaRoot {
  const ByteDfa* dfa;
  int32_t state;
};

// How far a running `MaskStore::build` is, for another thread to watch: the number of roots
// whose token set is computed (it ends at the number of roots). `cancel()` makes the build stop
// early and throw std::runtime_error. One object per build.
class BuildProgress {
 public:
  int64_t done() const { return done_.load(std::memory_order_relaxed); }
  void add_done(int64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> done_{0};
  std::atomic<bool> cancelled_{false};
};

class MaskStore {
 public:
  MaskStore() = default;
  // Walks the token trie once per root (entry i of the store is roots[i]); roots are split
  // over `threads` threads. `progress`, if given, counts the roots done and may cancel.
  static MaskStore build(const std::vector<DfaRoot>& roots, const TokenTrie& trie, int threads,
                         BuildProgress* progress = nullptr);
  // The store of every state of one DFA (entry i is state i).
  static MaskStore build(const ByteDfa& dfa, const TokenTrie& trie, int threads,
                         BuildProgress* progress = nullptr);
  // Rebuilds a store from the arrays that `forms`, `offsets`, `lengths` and `data` return.
  MaskStore(int32_t vocab_size, std::vector<uint8_t> forms, std::vector<int64_t> offsets,
            std::vector<int32_t> lengths, std::vector<int32_t> data);

  int32_t vocab_size() const { return vocab_size_; }
  int32_t num_words() const { return (vocab_size_ + 31) / 32; }
  int32_t num_states() const { return static_cast<int32_t>(forms_.size()); }
  // Writes the state's token set into row[0 .. num_words()) (bits past vocab_size cleared).
  void fill(int32_t state, int32_t* row) const;
  // Number of tokens in the state's set.
  int64_t count(int32_t state) const;
  size_t memory_bytes() const;

  const std::vector<uint8_t>& forms() const { return forms_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& lengths() const { return lengths_; }
  const std::vector<int32_t>& data() const { return data_; }

 private:
  int32_t vocab_size_ = 0;
  std::vector<uint8_t> forms_;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> lengths_;
  std::vector<int32_t> data_;
};

// Appends to `out` every token over whose bytes `dfa` stays live from `state`.
void collect_live_tokens(const ByteDfa& dfa, const TokenTrie& trie, int32_t state,
                         std::vector<int32_t>& out);

// One set of token ids, stored as a sorted list or as a bitmask, whichever is smaller.
class TokenSet {
 public:
  TokenSet(std::vector<int32_t> ids, int32_t vocab_size);
  // ORs the set into row[0 .. ceil(vocab_size / 32)).
  void or_into(uint32_t* row) const;
  bool contains(int32_t id) const;
  size_t memory_bytes() const { return (ids_.size() + bits_.size()) * sizeof(uint32_t); }

 private:
  std::vector<int32_t> ids_;
  std::vector<uint32_t> bits_;
};

}  // namespace constrain
