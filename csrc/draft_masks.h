// Masks for speculative decoding: the bitmask rows a verifier needs for a draft, in one call.
//
// Everything here goes through the public `Matcher` interface only: drafts are accepted
// tentatively with accept_token, masks written with fill_bitmask, and the matcher is rolled
// back to the state it was given in (also when an exception escapes).
#pragma once

#include <cstdint>
#include <vector>

#include "matcher.h"

namespace constrain {

// Linear draft of `k` tokens: writes rows 0..k of `bitmask` (`words` int32 per row); row i is
// the mask after the first i drafts. Returns n, how many leading drafts the grammar allows;
// rows n+1..k (after a refused draft) are cleared. The matcher ends in its original state.
int32_t fill_draft_bitmasks(Matcher& matcher, const int32_t* drafts, int32_t k, int32_t* bitmask,
                            int64_t words);

// Draft tree of `n` nodes: node i has token tokens[i] and parent parents[i] (-1 for a child of
// the current state, otherwise an earlier node: parents[i] < i). Writes n + 1 rows: row 0 is
// the mask at the current state, row 1 + i the mask after the path to node i. valid[i] is set
// to 1 iff the grammar allows that path; the rows of invalid nodes are cleared. The matcher
// ends in its original state. Throws std::invalid_argument on a malformed parent array.
void fill_draft_tree_bitmasks(Matcher& matcher, const int32_t* tokens, const int32_t* parents,
                              int32_t n, int32_t* bitmask, int64_t words, uint8_t* valid);

// One linear draft per matcher, in up to `threads` threads: matchers[i] gets drafts
// [draft_begin[i], draft_begin[i+1]) of `drafts` and rows starting at rows[i]. counts[i]
// receives its allowed-draft count. The matchers must be distinct objects.
void fill_draft_bitmasks_batch(const std::vector<Matcher*>& matchers,
                               const std::vector<int64_t>& draft_begin,
                               const std::vector<int32_t>& drafts, const std::vector<int64_t>& rows,
                               int32_t* bitmask, int64_t words, int threads, int32_t* counts);

}  // namespace constrain
