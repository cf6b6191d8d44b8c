#include "mask_store.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace constrain {

namespace {

// Appends to `out` every token whose bytes keep `dfa` live from `state`.
void collect_live_tokens(const ByteDfa& dfa, const TokenTrie& trie, int32_t state,
                         std::vector<int32_t>& state_at_depth, std::vector<int32_t>& out) {
  out.clear();
  state_at_depth[0] = state;
  const size_t n = trie.num_nodes();
  size_t i = 0;
  while (i < n) {
    const uint16_t d = trie.depth(i);
    const int32_t q = dfa.next(state_at_depth[d - 1], trie.byte(i));
    if (q < 0) {
      i = trie.subtree_end(i);
      continue;
    }
    state_at_depth[d] = q;
    out.insert(out.end(), trie.tokens_begin(i), trie.tokens_end(i));
    ++i;
  }
}

struct EncodedSet {
  MaskForm form;
  std::vector<int32_t> data;
};

EncodedSet encode(std::vector<int32_t>& ids, int32_t vocab_size) {
  const size_t words = (static_cast<size_t>(vocab_size) + 31) / 32;
  const size_t denied = static_cast<size_t>(vocab_size) - ids.size();
  if (ids.size() <= std::min(denied, words)) {
    std::sort(ids.begin(), ids.end());
    return {MaskForm::kAllowList, ids};
  }
  std::vector<int32_t> bits(words, 0);
  for (int32_t id : ids) bits[id >> 5] |= static_cast<int32_t>(1u << (id & 31));
  if (denied > words) return {MaskForm::kBitmask, std::move(bits)};
  std::vector<int32_t> deny;
  deny.reserve(denied);
  for (int32_t id = 0; id < vocab_size; ++id)
    if (!((static_cast<uint32_t>(bits[id >> 5]) >> (id & 31)) & 1u)) deny.push_back(id);
  return {MaskForm::kDenyList, std::move(deny)};
}

uint64_t hash_set(const EncodedSet& s) {
  uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(s.form);
  for (int32_t v : s.data) h = (h ^ static_cast<uint32_t>(v)) * 1099511628211ull;
  return h;
}

}  // namespace

void collect_live_tokens(const ByteDfa& dfa, const TokenTrie& trie, int32_t state,
                         std::vector<int32_t>& out) {
  std::vector<int32_t> stack(trie.max_depth() + 1);
  collect_live_tokens(dfa, trie, state, stack, out);
}

MaskStore MaskStore::build(const ByteDfa& dfa, const TokenTrie& trie, int threads,
                           BuildProgress* progress) {
  std::vector<DfaRoot> roots;
  for (int32_t s = 0; s < dfa.num_states(); ++s) roots.push_back({&dfa, s});
  return build(roots, trie, threads, progress);
}

MaskStore MaskStore::build(const std::vector<DfaRoot>& roots, const TokenTrie& trie,
                           int threads, BuildProgress* progress) {
  MaskStore store;
  store.vocab_size_ = trie.vocab_size();
  const int32_t n_states = static_cast<int32_t>(roots.size());
  store.forms_.resize(n_states);
  store.offsets_.resize(n_states);
  store.lengths_.resize(n_states);
  // States are encoded in chunks, in parallel, then merged in order with deduplication; chunks
  // bound the memory held by sets not yet deduplicated. A thread only pays for itself with a
  // few hundred states to walk.
  const int32_t chunk = 2048;
  threads = std::max(1, std::min(threads, n_states / 256));
  std::vector<EncodedSet> encoded(chunk);
  std::unordered_map<uint64_t, std::vector<int32_t>> seen;  // hash -> states stored with it
  for (int32_t first = 0; first < n_states; first += chunk) {
    const int32_t count = std::min(chunk, n_states - first);
    auto work = [&](int worker) {
      std::vector<int32_t> stack(trie.max_depth() + 1), ids;
      for (int32_t k = worker; k < count; k += threads) {
        if (progress != nullptr && progress->cancelled()) return;
        const DfaRoot& root = roots[first + k];
        collect_live_tokens(*root.dfa, trie, root.state, stack, ids);
        encoded[k] = encode(ids, store.vocab_size_);
        if (progress != nullptr) progress->add_done(1);
      }
    };
    if (threads == 1 || count == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int w = 0; w < threads; ++w) pool.emplace_back(work, w);
      for (auto& t : pool) t.join();
    }
    if (progress != nullptr && progress->cancelled())
      throw std::runtime_error("mask store build cancelled");
    for (int32_t k = 0; k < count; ++k) {
      const int32_t s = first + k;
      EncodedSet& e = encoded[k];
      auto& same_hash = seen[hash_set(e)];
      int32_t match = -1;
      for (int32_t other : same_hash) {
        if (store.forms_[other] == static_cast<uint8_t>(e.form) &&
            store.lengths_[other] == static_cast<int32_t>(e.data.size()) &&
            std::equal(e.data.begin(), e.data.end(), store.data_.begin() + store.offsets_[other])) {
          match = other;
          break;
        }
      }
      store.forms_[s] = static_cast<uint8_t>(e.form);
      store.lengths_[s] = static_cast<int32_t>(e.data.size());
      if (match >= 0) {
        store.offsets_[s] = store.offsets_[match];
      } else {
        store.offsets_[s] = static_cast<int64_t>(store.data_.size());
        store.data_.insert(store.data_.end(), e.data.begin(), e.data.end());
        same_hash.push_back(s);
      }
      e.data = std::vector<int32_t>();
    }
  }
  store.data_.shrink_to_fit();
  return store;
}

MaskStore::MaskStore(int32_t vocab_size, std::vector<uint8_t> forms, std::vector<int64_t> offsets,
                     std::vector<int32_t> lengths, std::vector<int32_t> data)
    : vocab_size_(vocab_size),
      forms_(std::move(forms)),
      offsets_(std::move(offsets)),
      lengths_(std::move(lengths)),
      data_(std::move(data)) {
  if (offsets_.size() != forms_.size() || lengths_.size() != forms_.size())
    throw std::invalid_argument("mask store arrays differ in length");
  for (size_t s = 0; s < forms_.size(); ++s) {
    if (forms_[s] > 2) throw std::invalid_argument("bad mask store form");
    if (offsets_[s] < 0 || lengths_[s] < 0 ||
        offsets_[s] + lengths_[s] > static_cast<int64_t>(data_.size()))
      throw std::invalid_argument("mask store offsets out of range");
    if (forms_[s] == static_cast<uint8_t>(MaskForm::kBitmask) && lengths_[s] != num_words())
      throw std::invalid_argument("mask store bitmask of the wrong size");
    if (forms_[s] != static_cast<uint8_t>(MaskForm::kBitmask))
      for (int32_t k = 0; k < lengths_[s]; ++k) {
        const int32_t id = data_[offsets_[s] + k];
        if (id < 0 || id >= vocab_size_) throw std::invalid_argument("mask store id out of range");
      }
  }
}

void MaskStore::fill(int32_t state, int32_t* row) const {
  const int32_t* p = data_.data() + offsets_[state];
  const int32_t n = lengths_[state];
  const size_t words = static_cast<size_t>(num_words());
  uint32_t* out = reinterpret_cast<uint32_t*>(row);
  switch (static_cast<MaskForm>(forms_[state])) {
    case MaskForm::kAllowList:
      std::memset(out, 0, words * sizeof(uint32_t));
      for (int32_t k = 0; k < n; ++k) out[p[k] >> 5] |= 1u << (p[k] & 31);
      break;
    case MaskForm::kDenyList:
      std::memset(out, 0xff, words * sizeof(uint32_t));
      for (int32_t k = 0; k < n; ++k) out[p[k] >> 5] &= ~(1u << (p[k] & 31));
      if (vocab_size_ % 32) out[words - 1] &= (1u << (vocab_size_ % 32)) - 1u;
      break;
    case MaskForm::kBitmask:
      std::memcpy(out, p, words * sizeof(uint32_t));
      break;
  }
}

int64_t MaskStore::count(int32_t state) const {
  switch (static_cast<MaskForm>(forms_[state])) {
    case MaskForm::kAllowList:
      return lengths_[state];
    case MaskForm::kDenyList:
      return vocab_size_ - lengths_[state];
    default: {
      int64_t c = 0;
      const int32_t* p = data_.data() + offsets_[state];
      for (int32_t k = 0; k < lengths_[state]; ++k) c += __builtin_popcount(static_cast<uint32_t>(p[k]));
      return c;
    }
  }
}

TokenSet::TokenSet(std::vector<int32_t> ids, int32_t vocab_size) {
  const size_t words = (static_cast<size_t>(vocab_size) + 31) / 32;
  if (ids.size() <= words) {
    std::sort(ids.begin(), ids.end());
    ids_ = std::move(ids);
    return;
  }
  bits_.assign(words, 0);
  for (int32_t id : ids) bits_[id >> 5] |= 1u << (id & 31);
}

bool TokenSet::contains(int32_t id) const {
  if (!bits_.empty()) return (bits_[id >> 5] >> (id & 31)) & 1u;
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

void TokenSet::or_into(uint32_t* row) const {
  for (int32_t id : ids_) row[id >> 5] |= 1u << (id & 31);
  for (size_t w = 0; w < bits_.size(); ++w) row[w] |= bits_[w];
}

size_t MaskStore::memory_bytes() const {
  return sizeof(*this) + forms_.size() + offsets_.size() * sizeof(int64_t) +
         lengths_.size() * sizeof(int32_t) + data_.size() * sizeof(int32_t);
}

}  // namespace constrain
