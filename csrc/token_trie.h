// Token trie over the byte strings of a vocabulary, flattened in depth-first preorder.
//
// Preorder layout lets a walk visit nodes in array order and skip a whole subtree with one
// jump (subtree_end), which is what makes building a mask store a linear, cache-friendly scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace constrain {

class TokenTrie {
 public:
  // data/offsets: token i has bytes data[offsets[i] .. offsets[i+1]); tokens with no bytes are
  // left out of the trie (special tokens, padding ids).
  TokenTrie(const uint8_t* data, const int64_t* offsets, int32_t vocab_size);

  int32_t vocab_size() const { return vocab_size_; }
  // Nodes, excluding the root. Node i: edge byte, depth (1 = child of the root), the index one
  // past its subtree, and the token ids that end exactly there.
  size_t num_nodes() const { return byte_.size(); }
  uint8_t byte(size_t i) const { return byte_[i]; }
  uint16_t depth(size_t i) const { return depth_[i]; }
  uint32_t subtree_end(size_t i) const { return subtree_end_[i]; }
  const int32_t* tokens_begin(size_t i) const { return token_ids_.data() + token_start_[i]; }
  const int32_t* tokens_end(size_t i) const { return token_ids_.data() + token_start_[i + 1]; }
  uint16_t max_depth() const { return max_depth_; }

  // The bytes of one token (empty for tokens left out of the trie).
  const uint8_t* token_data(int32_t id) const { return data_.data() + offsets_[id]; }
  int64_t token_length(int32_t id) const { return offsets_[id + 1] - offsets_[id]; }
  size_t memory_bytes() const;

 private:
  int32_t vocab_size_;
  std::vector<uint8_t> data_;
  std::vector<int64_t> offsets_;
  std::vector<uint8_t> byte_;
  std::vector<uint16_t> depth_;
  std::vector<uint32_t> subtree_end_;
  std::vector<uint32_t> token_start_;  // size num_nodes + 1
  std::vector<int32_t> token_ids_;
  uint16_t max_depth_ = 0;
};

}  // namespace constrain
