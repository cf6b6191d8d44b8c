#include "token_trie.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace constrain {

TokenTrie::TokenTrie(const uint8_t* data, const int64_t* offsets, int32_t vocab_size)
    : vocab_size_(vocab_size),
      data_(data, data + offsets[vocab_size]),
      offsets_(offsets, offsets + vocab_size + 1) {
  // Sorting the non-empty tokens by their bytes yields the trie's preorder directly: each token
  // adds the nodes for the part beyond its common prefix with the previous token.
  std::vector<int32_t> order;
  order.reserve(vocab_size);
  for (int32_t i = 0; i < vocab_size; ++i) {
    if (offsets[i + 1] < offsets[i]) throw std::invalid_argument("token offsets must not decrease");
    if (offsets[i + 1] > offsets[i]) order.push_back(i);
  }
  auto less = [this](int32_t a, int32_t b) {
    const int64_t la = token_length(a), lb = token_length(b);
    const int c = std::memcmp(token_data(a), token_data(b), static_cast<size_t>(std::min(la, lb)));
    return c != 0 ? c < 0 : (la != lb ? la < lb : a < b);
  };
  std::sort(order.begin(), order.end(), less);

  std::vector<uint32_t> path;  // node index at each depth of the current token (depth-1 based)
  int32_t prev = -1;
  for (int32_t id : order) {
    const uint8_t* bytes = token_data(id);
    const int64_t len = token_length(id);
    if (len > 65535) throw std::invalid_argument("token longer than 65535 bytes");
    int64_t common = 0;
    if (prev >= 0) {
      const uint8_t* pb = token_data(prev);
      const int64_t pl = token_length(prev);
      while (common < len && common < pl && pb[common] == bytes[common]) ++common;
    }
    path.resize(common);
    for (int64_t d = common; d < len; ++d) {
      path.push_back(static_cast<uint32_t>(byte_.size()));
      byte_.push_back(bytes[d]);
      depth_.push_back(static_cast<uint16_t>(d + 1));
      token_start_.push_back(static_cast<uint32_t>(token_ids_.size()));
    }
    token_ids_.push_back(id);
    max_depth_ = std::max<uint16_t>(max_depth_, static_cast<uint16_t>(len));
    prev = id;
  }
  token_start_.push_back(static_cast<uint32_t>(token_ids_.size()));
  // Node i's tokens are token_ids_[token_start_[i] .. token_start_[i + 1]): in sorted order every
  // token ending at a node (duplicates included) comes right after the node is created and before
  // any deeper node is.
  // Subtree ends: a node's subtree ends at the next node whose depth is not greater.
  const size_t n = byte_.size();
  subtree_end_.assign(n, static_cast<uint32_t>(n));
  std::vector<uint32_t> open;
  for (size_t i = 0; i < n; ++i) {
    while (!open.empty() && depth_[open.back()] >= depth_[i]) {
      subtree_end_[open.back()] = static_cast<uint32_t>(i);
      open.pop_back();
    }
    open.push_back(static_cast<uint32_t>(i));
  }
}

size_t TokenTrie::memory_bytes() const {
  return data_.size() + offsets_.size() * sizeof(int64_t) + byte_.size() +
         depth_.size() * sizeof(uint16_t) + subtree_end_.size() * sizeof(uint32_t) +
         token_start_.size() * sizeof(uint32_t) + token_ids_.size() * sizeof(int32_t);
}

}  // namespace constrain
