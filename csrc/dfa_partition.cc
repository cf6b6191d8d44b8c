#include "dfa_partition.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace constrain {
namespace {

// A partition of 0..n-1 into blocks that can be split by marking elements (each block is a
// contiguous range of `elems`; its marked elements are moved to the front of the range).
class RefinablePartition {
 public:
  RefinablePartition(const std::vector<int32_t>& block_of_elem, int32_t n_blocks)
      : loc_(block_of_elem.size()), block_of_(block_of_elem) {
    first_.assign(n_blocks + 1, 0);
    for (int32_t b : block_of_elem) ++first_[b + 1];
    for (int32_t b = 0; b < n_blocks; ++b) first_[b + 1] += first_[b];
    end_.assign(first_.begin() + 1, first_.end());
    first_.pop_back();
    mid_ = first_;
    std::vector<int32_t> fill = first_;
    elems_.resize(block_of_elem.size());
    for (int32_t e = 0; e < static_cast<int32_t>(block_of_elem.size()); ++e) {
      loc_[e] = fill[block_of_elem[e]]++;
      elems_[loc_[e]] = e;
    }
  }

  int32_t num_blocks() const { return static_cast<int32_t>(first_.size()); }
  int32_t size(int32_t b) const { return end_[b] - first_[b]; }
  int32_t block_of(int32_t e) const { return block_of_[e]; }
  std::vector<int32_t> members(int32_t b) const {
    return {elems_.begin() + first_[b], elems_.begin() + end_[b]};
  }

  void mark(int32_t e) {
    const int32_t b = block_of_[e], i = loc_[e], j = mid_[b];
    if (i < j) return;  // already marked
    if (j == first_[b]) touched_.push_back(b);
    std::swap(elems_[i], elems_[j]);
    loc_[elems_[i]] = i;
    loc_[elems_[j]] = j;
    ++mid_[b];
  }

  // Splits every block with marked and unmarked elements: the marked ones form a new block.
  // Calls on_split(old_block, new_block) for each split; clears all marks.
  template <class OnSplit>
  void split(OnSplit on_split) {
    for (int32_t b : touched_) {
      const int32_t m = mid_[b];
      if (m == end_[b]) {  // every element marked: nothing to split
        mid_[b] = first_[b];
        continue;
      }
      const int32_t nb = num_blocks();
      first_.push_back(first_[b]);
      end_.push_back(m);
      mid_.push_back(first_[b]);
      first_[b] = mid_[b] = m;
      for (int32_t i = first_[nb]; i < end_[nb]; ++i) block_of_[elems_[i]] = nb;
      on_split(b, nb);
    }
    touched_.clear();
  }

 private:
  std::vector<int32_t> elems_, loc_, block_of_, first_, end_, mid_, touched_;
};

// Byte classes that every DFA treats alike: one representative byte per class.
std::vector<uint8_t> joint_byte_classes(const std::vector<const ByteDfa*>& dfas) {
  std::vector<int32_t> cls(256, 0);
  for (const ByteDfa* d : dfas) {
    std::vector<int32_t> pair_id(256 * 256, -1), next(256);
    int32_t count = 0;
    for (int b = 0; b < 256; ++b) {
      int32_t& id = pair_id[cls[b] * 256 + d->byte_class(static_cast<uint8_t>(b))];
      if (id < 0) id = count++;
      next[b] = id;
    }
    cls.swap(next);
  }
  std::vector<uint8_t> representative;
  std::vector<uint8_t> seen(256, 0);
  for (int b = 0; b < 256; ++b)
    if (!seen[cls[b]]) seen[cls[b]] = 1, representative.push_back(static_cast<uint8_t>(b));
  return representative;
}

// The coarsest partition of the states of `dfa` that refines `initial` (block ids 0..n_blocks-1,
// one per state) and is stable under every letter: equal blocks iff equal residual languages
// when `initial` separates accepting from non-accepting states. Missing transitions go to an
// implicit dead state. Returns the block of each state, numbered densely in order of first
// appearance.
std::vector<int32_t> refine(const DfaTable& dfa, std::vector<int32_t> initial, int32_t n_blocks) {
  const int32_t n = dfa.num_states, k = dfa.num_letters;
  const int32_t sink = n;
  auto target = [&](int32_t s, int32_t c) {
    if (s == sink) return sink;
    const int32_t t = dfa.table[static_cast<size_t>(s) * k + c];
    return t < 0 ? sink : t;
  };
  // The in-edges of every real state: letter and source of edge i into t for i in
  // [in_begin[t], in_begin[t + 1]). The dead state's (the missing transitions) are never
  // needed: it is never a splitter (below).
  std::vector<int64_t> in_begin(static_cast<size_t>(n) + 1, 0);
  for (int32_t s = 0; s < n; ++s)
    for (int32_t c = 0; c < k; ++c)
      if (target(s, c) != sink) ++in_begin[target(s, c) + 1];
  for (int32_t t = 0; t < n; ++t) in_begin[t + 1] += in_begin[t];
  std::vector<int32_t> in_letter(in_begin.back()), in_source(in_begin.back());
  {
    std::vector<int64_t> fill(in_begin.begin(), in_begin.end() - 1);
    for (int32_t s = 0; s < n; ++s)
      for (int32_t c = 0; c < k; ++c) {
        const int32_t t = target(s, c);
        if (t == sink) continue;
        const int64_t i = fill[t]++;
        in_letter[i] = c, in_source[i] = s;
      }
  }

  // Every state has a successor on every letter (the dead state included), so the partition
  // is stable under the union of all blocks; stable under every other block, it is then stable
  // under the dead state's block too (Hopcroft's lemma). So that block, a single state that
  // never splits, is never a splitter.
  initial.push_back(n_blocks);  // the dead state, alone
  RefinablePartition partition(initial, n_blocks + 1);
  std::vector<int32_t> work;
  for (int32_t b = 0; b < n_blocks; ++b) work.push_back(b);
  std::vector<uint8_t> in_work(n_blocks + 1, 1);
  in_work[n_blocks] = 0;
  // Per splitter, the sources of its in-edges grouped by letter: only letters that occur are
  // visited (the tables of literal keys are sparse, with a hundred letters).
  std::vector<std::vector<int32_t>> sources_by_letter(k);
  std::vector<int32_t> letters;
  while (!work.empty()) {
    const int32_t splitter_block = work.back();
    work.pop_back();
    in_work[splitter_block] = 0;
    for (int32_t t : partition.members(splitter_block)) {
      if (t == sink) continue;  // (a block that holds it is the sink's own, never a splitter)
      for (int64_t i = in_begin[t]; i < in_begin[t + 1]; ++i) {
        std::vector<int32_t>& sources = sources_by_letter[in_letter[i]];
        if (sources.empty()) letters.push_back(in_letter[i]);
        sources.push_back(in_source[i]);
      }
    }
    for (int32_t c : letters) {
      for (int32_t s : sources_by_letter[c]) partition.mark(s);
      sources_by_letter[c].clear();
      partition.split([&](int32_t old_block, int32_t new_block) {
        in_work.push_back(0);
        const int32_t add = in_work[old_block] || partition.size(new_block) <= partition.size(old_block)
                                ? new_block
                                : old_block;
        if (!in_work[add]) in_work[add] = 1, work.push_back(add);
      });
    }
    letters.clear();
  }
  std::vector<int32_t> dense(partition.num_blocks(), -1), block(n);
  int32_t count = 0;
  for (int32_t s = 0; s < n; ++s) {
    int32_t& id = dense[partition.block_of(s)];
    if (id < 0) id = count++;
    block[s] = id;
  }
  return block;
}

// Accepting (1) or not (0), as the initial partition.
std::vector<int32_t> acceptance_blocks(const DfaTable& dfa) {
  return std::vector<int32_t>(dfa.accepting.begin(), dfa.accepting.end());
}

// States reachable from `start` along the transitions of `dfa`.
std::vector<uint8_t> reachable_from(const DfaTable& dfa, int32_t start) {
  const int32_t k = dfa.num_letters;
  std::vector<uint8_t> seen(dfa.num_states, 0);
  std::vector<int32_t> stack = {start};
  seen[start] = 1;
  while (!stack.empty()) {
    const int32_t v = stack.back();
    stack.pop_back();
    for (int32_t c = 0; c < k; ++c) {
      const int32_t t = dfa.table[static_cast<size_t>(v) * k + c];
      if (t >= 0 && !seen[t]) seen[t] = 1, stack.push_back(t);
    }
  }
  return seen;
}

// States of `dfa` from which an accepting state is reachable.
std::vector<uint8_t> reaching_acceptance(const DfaTable& dfa) {
  const int32_t n = dfa.num_states, k = dfa.num_letters;
  std::vector<int64_t> begin(static_cast<size_t>(n) + 1, 0);  // reversed edges, by target
  for (int32_t t : dfa.table)
    if (t >= 0) ++begin[t + 1];
  for (int32_t t = 0; t < n; ++t) begin[t + 1] += begin[t];
  std::vector<int32_t> source(begin.back());
  {
    std::vector<int64_t> fill(begin.begin(), begin.end() - 1);
    for (int32_t s = 0; s < n; ++s)
      for (int32_t c = 0; c < k; ++c) {
        const int32_t t = dfa.table[static_cast<size_t>(s) * k + c];
        if (t >= 0) source[fill[t]++] = s;
      }
  }
  std::vector<uint8_t> seen(n, 0);
  std::vector<int32_t> stack;
  for (int32_t s = 0; s < n; ++s)
    if (dfa.accepting[s]) seen[s] = 1, stack.push_back(s);
  while (!stack.empty()) {
    const int32_t v = stack.back();
    stack.pop_back();
    for (int64_t i = begin[v]; i < begin[v + 1]; ++i)
      if (!seen[source[i]]) seen[source[i]] = 1, stack.push_back(source[i]);
  }
  return seen;
}

}  // namespace

std::vector<std::vector<int32_t>> residual_classes(const std::vector<const ByteDfa*>& dfas,
                                                   int32_t* num_classes) {
  std::vector<int32_t> offset(dfas.size() + 1, 0);
  for (size_t i = 0; i < dfas.size(); ++i) offset[i + 1] = offset[i] + dfas[i]->num_states();
  const std::vector<uint8_t> letters = joint_byte_classes(dfas);
  DfaTable joint;
  joint.num_states = offset.back();
  joint.num_letters = static_cast<int32_t>(letters.size());
  joint.table.resize(static_cast<size_t>(joint.num_states) * joint.num_letters);
  joint.accepting.resize(joint.num_states);
  for (size_t i = 0; i < dfas.size(); ++i)
    for (int32_t q = 0; q < dfas[i]->num_states(); ++q) {
      const int32_t s = offset[i] + q;
      joint.accepting[s] = dfas[i]->accepting(q);
      for (int32_t c = 0; c < joint.num_letters; ++c) {
        const int32_t t = dfas[i]->next(q, letters[c]);
        joint.table[static_cast<size_t>(s) * joint.num_letters + c] = t < 0 ? -1 : offset[i] + t;
      }
    }
  const std::vector<int32_t> block = refine(joint, acceptance_blocks(joint), 2);
  std::vector<std::vector<int32_t>> out(dfas.size());
  for (size_t i = 0; i < dfas.size(); ++i)
    out[i].assign(block.begin() + offset[i], block.begin() + offset[i + 1]);
  *num_classes = joint.num_states ? *std::max_element(block.begin(), block.end()) + 1 : 0;
  return out;
}

DfaTable minimize(const DfaTable& dfa, int32_t start, const std::vector<int32_t>& letter_order) {
  const int32_t n = dfa.num_states, k = dfa.num_letters;
  if (start < 0 || start >= n) throw std::invalid_argument("minimize: start state out of range");
  if (static_cast<int32_t>(letter_order.size()) != k)
    throw std::invalid_argument("minimize: the letter order must list every letter once");
  for (int32_t t : dfa.table)
    if (t >= n) throw std::invalid_argument("minimize: transition target out of range");
  const std::vector<uint8_t> from_start = reachable_from(dfa, start);
  const std::vector<uint8_t> to_accept = reaching_acceptance(dfa);
  DfaTable out;
  out.num_letters = k;
  if (!from_start[start] || !to_accept[start]) return out;

  // The trimmed DFA: kept states renumbered, transitions to removed states dropped.
  std::vector<int32_t> kept_id(n, -1);
  DfaTable trimmed;
  trimmed.num_letters = k;
  for (int32_t s = 0; s < n; ++s)
    if (from_start[s] && to_accept[s]) kept_id[s] = trimmed.num_states++;
  trimmed.table.assign(static_cast<size_t>(trimmed.num_states) * k, -1);
  trimmed.accepting.resize(trimmed.num_states);
  for (int32_t s = 0; s < n; ++s) {
    if (kept_id[s] < 0) continue;
    trimmed.accepting[kept_id[s]] = dfa.accepting[s];
    for (int32_t c = 0; c < k; ++c) {
      const int32_t t = dfa.table[static_cast<size_t>(s) * k + c];
      trimmed.table[static_cast<size_t>(kept_id[s]) * k + c] = t < 0 ? -1 : kept_id[t];
    }
  }
  const std::vector<int32_t> block = refine(trimmed, acceptance_blocks(trimmed), 2);

  // Breadth-first from the start block: new id of each block, and one state per new id.
  std::vector<int32_t> new_id(trimmed.num_states, -1);
  std::vector<int32_t> representative = {kept_id[start]};
  new_id[block[kept_id[start]]] = 0;
  for (size_t i = 0; i < representative.size(); ++i)
    for (int32_t c : letter_order) {
      const int32_t t = trimmed.table[static_cast<size_t>(representative[i]) * k + c];
      if (t >= 0 && new_id[block[t]] < 0) {
        new_id[block[t]] = static_cast<int32_t>(representative.size());
        representative.push_back(t);
      }
    }
  out.num_states = static_cast<int32_t>(representative.size());
  out.table.resize(static_cast<size_t>(out.num_states) * k);
  out.accepting.resize(out.num_states);
  for (int32_t i = 0; i < out.num_states; ++i) {
    const int32_t s = representative[i];
    out.accepting[i] = trimmed.accepting[s];
    for (int32_t c = 0; c < k; ++c) {
      const int32_t t = trimmed.table[static_cast<size_t>(s) * k + c];
      out.table[static_cast<size_t>(i) * k + c] = t < 0 ? -1 : new_id[block[t]];
    }
  }
  return out;
}

}  // namespace constrain
