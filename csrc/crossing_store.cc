#include "crossing_store.h"

#include <algorithm>
#include <cstring>

namespace constrain {

namespace {

struct Entry {
  int32_t token;
  int32_t offset;
};

// Sorts entries with `less` (by suffix), sorting first by the suffixes' first 8 bytes read as
// one integer (zero-padded, which `less` agrees with): comparing suffixes byte by byte is most of
// the cost of building a store, and only entries with equal first 8 bytes still need it.
template <typename Less>
void sort_by_suffix(std::vector<Entry>& entries, const TokenTrie& trie, Less less) {
  std::vector<std::pair<uint64_t, uint32_t>> heads(entries.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    const uint8_t* p = trie.token_data(entries[k].token) + entries[k].offset;
    const int64_t n = trie.token_length(entries[k].token) - entries[k].offset;
    uint64_t head = 0;
    for (int64_t b = 0; b < 8; ++b) head = head << 8 | (b < n ? p[b] : 0u);
    heads[k] = {head, static_cast<uint32_t>(k)};
  }
  std::sort(heads.begin(), heads.end());
  std::vector<Entry> sorted;
  sorted.reserve(entries.size());
  for (const auto& head : heads) sorted.push_back(entries[head.second]);
  for (size_t a = 0; a < heads.size();) {
    size_t b = a + 1;
    while (b < heads.size() && heads[b].first == heads[a].first) ++b;
    if (b - a > 1) std::sort(sorted.begin() + a, sorted.begin() + b, less);
    a = b;
  }
  entries.swap(sorted);
}

}  // namespace

CrossingStore CrossingStore::build(const DfaRoot& root, const TokenTrie& trie,
                                   const TokenSet& within) {
  CrossingStore store;
  const std::vector<DfaRoot> roots{root};
  const int32_t n_states = 1;
  const size_t n_nodes = trie.num_nodes();
  std::vector<int32_t> state_at_depth(trie.max_depth() + 1);
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
            if (!within.contains(*t)) entries.push_back({*t, d});
      }
      ++i;
    }
    sort_by_suffix(entries, trie, suffix_less);
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

int64_t CrossingStore::skip_block(const TokenTrie& trie, int64_t k, int64_t end,
                                  int32_t length) const {
  const uint8_t* prefix = trie.token_data(suffix_token_[k]) + suffix_offset_[k];
  int64_t lo = k + 1, hi = end;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    const uint8_t* other = trie.token_data(suffix_token_[mid]) + suffix_offset_[mid];
    const int64_t other_length = trie.token_length(suffix_token_[mid]) - suffix_offset_[mid];
    if (other_length >= length && std::memcmp(other, prefix, length) == 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t CrossingStore::memory_bytes() const {
  return state_begin_.size() * 8 + suffix_token_.size() * 4 + suffix_offset_.size() * 4 +
         suffix_lcp_.size() * 4 + tokens_begin_.size() * 8 + token_ids_.size() * 4;
}

}  // namespace constrain
