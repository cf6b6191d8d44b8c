#include "draft_masks.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

namespace constrain {
namespace {

// Rolls the matcher back by the steps it counts when the scope ends, exceptions included.
class RollbackGuard {
 public:
  explicit RollbackGuard(Matcher& matcher) : matcher_(matcher) {}
  ~RollbackGuard() {
    if (steps_ > 0) matcher_.rollback(steps_);
  }
  void taken(int32_t n = 1) { steps_ += n; }
  void undo(int32_t n = 1) {
    matcher_.rollback(n);
    steps_ -= n;
  }
  RollbackGuard(const RollbackGuard&) = delete;
  RollbackGuard& operator=(const RollbackGuard&) = delete;

 private:
  Matcher& matcher_;
  int32_t steps_ = 0;
};

void clear_rows(int32_t* first, int64_t rows, int64_t words) {
  if (rows > 0) std::memset(first, 0, static_cast<size_t>(rows * words) * sizeof(int32_t));
}

}  // namespace

int32_t fill_draft_bitmasks(Matcher& matcher, const int32_t* drafts, int32_t k, int32_t* bitmask,
                            int64_t words) {
  RollbackGuard guard(matcher);
  matcher.fill_bitmask(bitmask, words);
  int32_t accepted = 0;
  while (accepted < k && matcher.accept_token(drafts[accepted])) {
    guard.taken();
    ++accepted;
    matcher.fill_bitmask(bitmask + accepted * words, words);
  }
  clear_rows(bitmask + (accepted + 1) * words, k - accepted, words);
  return accepted;
}

void fill_draft_tree_bitmasks(Matcher& matcher, const int32_t* tokens, const int32_t* parents,
                              int32_t n, int32_t* bitmask, int64_t words, uint8_t* valid) {
  // Children lists in CSR form; node -1 (the current state) is stored as index 0.
  std::vector<int32_t> begin(static_cast<size_t>(n) + 2, 0), children(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    if (parents[i] < -1 || parents[i] >= i)
      throw std::invalid_argument("parents[" + std::to_string(i) + "] = " +
                                  std::to_string(parents[i]) + " must be -1 or an earlier node");
    ++begin[parents[i] + 2];
  }
  for (int32_t i = 0; i <= n; ++i) begin[i + 1] += begin[i];
  {
    std::vector<int32_t> fill(begin.begin(), begin.end() - 1);
    for (int32_t i = 0; i < n; ++i) children[fill[parents[i] + 1]++] = i;
  }
  std::memset(valid, 0, static_cast<size_t>(n));
  clear_rows(bitmask + words, n, words);

  RollbackGuard guard(matcher);
  matcher.fill_bitmask(bitmask, words);
  // Depth-first walk without recursion: each frame is (node, next child slot). A node is
  // accepted when pushed and rolled back when popped, so each costs one accept and one undo.
  std::vector<std::pair<int32_t, int32_t>> stack;
  stack.emplace_back(-1, begin[0]);
  while (!stack.empty()) {
    auto& [node, slot] = stack.back();
    if (slot == begin[node + 2]) {
      if (node >= 0) guard.undo();
      stack.pop_back();
      continue;
    }
    const int32_t child = children[slot++];
    if (!matcher.accept_token(tokens[child])) continue;  // the whole subtree stays invalid
    guard.taken();
    valid[child] = 1;
    matcher.fill_bitmask(bitmask + (child + 1) * words, words);
    stack.emplace_back(child, begin[child + 1]);
  }
}

void fill_draft_bitmasks_batch(const std::vector<Matcher*>& matchers,
                               const std::vector<int64_t>& draft_begin,
                               const std::vector<int32_t>& drafts, const std::vector<int64_t>& rows,
                               int32_t* bitmask, int64_t words, int threads, int32_t* counts) {
  const size_t n = matchers.size();
  if (draft_begin.size() != n + 1 || rows.size() != n)
    throw std::invalid_argument("draft offsets and rows must match the matchers");
  threads = static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, n)));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto work = [&](int worker) {
    try {
      for (size_t i = worker; i < n; i += threads) {
        const int64_t b = draft_begin[i];
        counts[i] = fill_draft_bitmasks(*matchers[i], drafts.data() + b,
                                        static_cast<int32_t>(draft_begin[i + 1] - b),
                                        bitmask + rows[i] * words, words);
      }
    } catch (...) {
      errors[worker] = std::current_exception();
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace constrain
