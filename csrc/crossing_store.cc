#include "crossing_store.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace constrain {

namespace {

struct Entry {
  int32_t token;
  int32_t offset;
};

}  // namespace

CrossingStore CrossingStore::build(const std::vector<DfaRoot>& roots, const TokenTrie& trie,
                                   const MaskStore& within) {
  CrossingStore store;
  const int32_t n_states = static_cast<int32_t>(roots.size());
  const size_t n_nodes = trie.num_nodes();
  std::vector<int32_t> state_at_depth(trie.max_depth() + 1);
  std::vector<uint32_t> allowed(within.num_words());
  std::vector<Entry> entries;
  store.state_begin_.push_back(0);
  store.tokens_begin_.push_back(0);

  auto suffix_less = [&trie](const Entry& a, const Entry& b) {
    const uint8_t* pa = trie.token_data(a.token) + a.offset;
    const uint8_t* pb = trie.token_data(b.token) + b.offset;
    const int64_t la = trie.token_length(a.token) - a.offset;
    const int64_t lb = trie.token_length(b.token) - b.offset;
    const int c = std::memcmp(pa, pb, static_cast<size_t>(std::min(la, lb)));
    if (c != 0) return c < 0;
    if (la != lb) return la < lb;
    return a.token < b.token;
  };
  auto same_suffix = [&trie](const Entry& a, const Entry& b) {
    const int64_t la = trie.token_length(a.token) - a.offset;
    return la == trie.token_length(b.token) - b.offset &&
           std::memcmp(trie.token_data(a.token) + a.offset, trie.token_data(b.token) + b.offset,
                       static_cast<size_t>(la)) == 0;
  };

  for (int32_t s = 0; s < n_states; ++s) {
    const ByteDfa& dfa = *roots[s].dfa;
    within.fill(s, reinterpret_cast<int32_t*>(allowed.data()));
    entries.clear();
    state_at_depth[0] = roots[s].state;
    size_t i = 0;
    while (i < n_nodes) {
      const uint16_t d = trie.depth(i);
      const int32_t q = dfa.next(state_at_depth[d - 1], trie.byte(i));
      if (q < 0) {
        i = trie.subtree_end(i);
        continue;
      }
      state_at_depth[d] = q;
      if (dfa.accepting(q)) {
        // The terminal can end after these d bytes: every longer token below crosses here.
        for (size_t k = i + 1; k < trie.subtree_end(i); ++k)
          for (const int32_t* t = trie.tokens_begin(k); t != trie.tokens_end(k); ++t)
            if (!((allowed[*t >> 5] >> (*t & 31)) & 1u)) entries.push_back({*t, d});
      }
      ++i;
    }
    std::sort(entries.begin(), entries.end(), suffix_less);
    for (size_t k = 0; k < entries.size(); ++k) {
      const Entry& e = entries[k];
      if (k > 0 && same_suffix(entries[k - 1], e)) {
        store.token_ids_.push_back(e.token);
        store.tokens_begin_.back() = static_cast<int64_t>(store.token_ids_.size());
        continue;
      }
      int32_t lcp = 0;
      if (store.suffix_token_.size() > static_cast<size_t>(store.state_begin_.back())) {
        const int32_t pt = store.suffix_token_.back(), po = store.suffix_offset_.back();
        const uint8_t* a = trie.token_data(pt) + po;
        const uint8_t* b = trie.token_data(e.token) + e.offset;
        const int64_t n = std::min(trie.token_length(pt) - po, trie.token_length(e.token) - e.offset);
        while (lcp < n && a[lcp] == b[lcp]) ++lcp;
      }
      store.suffix_token_.push_back(e.token);
      store.suffix_offset_.push_back(e.offset);
      store.suffix_lcp_.push_back(lcp);
      store.token_ids_.push_back(e.token);
      store.tokens_begin_.push_back(static_cast<int64_t>(store.token_ids_.size()));
    }
    store.state_begin_.push_back(static_cast<int64_t>(store.suffix_token_.size()));
  }
  // tokens_begin_ holds one entry per suffix plus the final end: suffix k's tokens are
  // [tokens_begin_[k], tokens_begin_[k + 1]).
  return store;
}

CrossingStore::CrossingStore(const TokenTrie& trie, std::vector<int64_t> state_begin,
                             std::vector<int32_t> suffix_token, std::vector<int32_t> suffix_offset,
                             std::vector<int32_t> suffix_lcp, std::vector<int64_t> tokens_begin,
                             std::vector<int32_t> token_ids)
    : state_begin_(std::move(state_begin)),
      suffix_token_(std::move(suffix_token)),
      suffix_offset_(std::move(suffix_offset)),
      suffix_lcp_(std::move(suffix_lcp)),
      tokens_begin_(std::move(tokens_begin)),
      token_ids_(std::move(token_ids)) {
  const size_t n = suffix_token_.size();
  auto bad = [](const char* what) { throw std::invalid_argument(std::string("crossing store: ") + what); };
  if (state_begin_.empty() || state_begin_.front() != 0 ||
      state_begin_.back() != static_cast<int64_t>(n))
    bad("state offsets");
  for (size_t i = 1; i < state_begin_.size(); ++i)
    if (state_begin_[i] < state_begin_[i - 1]) bad("state offsets decrease");
  if (suffix_offset_.size() != n || suffix_lcp_.size() != n || tokens_begin_.size() != n + 1 ||
      tokens_begin_.front() != 0 || tokens_begin_.back() != static_cast<int64_t>(token_ids_.size()))
    bad("array sizes");
  for (size_t k = 0; k < n; ++k) {
    const int32_t t = suffix_token_[k];
    if (t < 0 || t >= trie.vocab_size() || suffix_offset_[k] < 1 ||
        suffix_offset_[k] >= trie.token_length(t) || suffix_lcp_[k] < 0 ||
        suffix_lcp_[k] > trie.token_length(t) - suffix_offset_[k] ||
        tokens_begin_[k + 1] < tokens_begin_[k])
      bad("suffix out of range");
  }
  for (int32_t t : token_ids_)
    if (t < 0 || t >= trie.vocab_size()) bad("token id out of range");
}

size_t CrossingStore::memory_bytes() const {
  return state_begin_.size() * 8 + suffix_token_.size() * 4 + suffix_offset_.size() * 4 +
         suffix_lcp_.size() * 4 + tokens_begin_.size() * 8 + token_ids_.size() * 4;
}

}  // namespace constrain
