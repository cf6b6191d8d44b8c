#include "cfg_matcher.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace constrain {

namespace {

constexpr int32_t kUnknown = ContextCache::kUnknown;
constexpr int32_t kNotComputed = -2;  // a chart set whose context is not computed yet

}  // namespace

// A terminal item of the chart's last set: the terminal, where it began, its state's class.
struct TerminalItem {
  int32_t terminal, origin, state_class;
};

// The tokens in which a terminal item of the chart's last set ends inside the token and the rest
// of the token goes on in the grammar.
//
// Per group (terminal T, origin set o) of items, the root node is the parser after T ends: the
// context that follows o's context by T in the grammar's ContextCache, or else the set pushed on
// the chart for it. A root's crossing tokens per class come from the cache, or from a walk of the
// deep suffixes of the class's crossing summary: they run byte by byte through the DFAs of the
// predicted terminals as lexemes (node, terminal, state), sharing common prefixes. Where lexemes'
// terminals may end before the next byte, one node (a set pushed on the chart) follows them all,
// as one Earley set would, and its terminals' lexemes go on. A suffix is viable iff a lexeme
// survives it. The sets pushed are dropped again at the end of each mask.
class CrossingPass {
 public:
  CrossingPass(const CfgGrammar& grammar, EarleyChart& chart)
      : g_(grammar), cache_(grammar.contexts()), chart_(chart) {
    levels_.resize(grammar.trie->max_depth() + 1u);
  }

  // ORs the crossing tokens of `items` (sorted by terminal, then origin) into `out`.
  void run(const std::vector<TerminalItem>& items, uint32_t* out) {
    start();
    struct Finish {  // also when an Earley set overflows
      CrossingPass* pass;
      ~Finish() { pass->finish(); }
    } finish{this};
    for (size_t g = 0; g < items.size();) {
      classes_.clear();
      size_t h = g;
      for (; h < items.size() && items[h].terminal == items[g].terminal &&
             items[h].origin == items[g].origin;
           ++h)
        if (classes_.empty() || classes_.back() != items[h].state_class)
          classes_.push_back(items[h].state_class);
      const int32_t node = root(items[g].terminal, items[g].origin);
      for (int32_t c : classes_) {
        const auto crossing = crossing_of(node, c);
        crossing->summary->allowed.or_into(out);
        crossing->deep_allowed.or_into(out);
      }
      g = h;
    }
  }

  // The chart was cut back to `sets` sets.
  void forget(size_t sets) {
    if (set_contexts_.size() > sets) set_contexts_.resize(sets);
  }

 private:
  using End = std::pair<int32_t, int32_t>;  // (node, terminal that ended after it)
  struct Node {
    int32_t context;       // roots and chart sets: ContextCache number, or kUnknown
    int32_t set;           // its chart set, or -1 while not pushed
    int32_t ends, n_ends;  // end_pool_[ends ..][.. n_ends]: what ended to reach it, sorted
    int32_t children;      // its first child in links_, or -1
    int32_t merged;        // its first link in links_ to a node with several ends, the first
                           // of them after this one; or -1
    std::shared_ptr<const ParseContext> record;  // roots only
  };
  struct Link {  // a list of nodes: a node's children (by terminal), or its merged nodes
    int32_t terminal, node, next;
  };
  struct Lexeme {
    int32_t node, terminal, state;
    bool operator<(const Lexeme& o) const {
      return node != o.node           ? node < o.node
             : terminal != o.terminal ? terminal < o.terminal
                                      : state < o.state;
    }
    bool operator==(const Lexeme& o) const {
      return node == o.node && terminal == o.terminal && state == o.state;
    }
  };

  void start() {
    const uint64_t generation = cache_.generation();
    if (generation != generation_) {
      set_contexts_.clear();
      generation_ = generation;
    }
    first_pushed_ = chart_.num_sets();
    nodes_.clear();
    end_pool_.clear();
    links_.clear();
    chart_nodes_.clear();
  }

  void finish() {
    chart_.log_reads(nullptr, 0);
    chart_.truncate(first_pushed_);
    forget(first_pushed_);
  }

  int32_t new_node(int32_t context, int32_t set, const End* ends, size_t n) {
    nodes_.push_back({context, set, static_cast<int32_t>(end_pool_.size()),
                      static_cast<int32_t>(n), -1, -1, nullptr});
    end_pool_.insert(end_pool_.end(), ends, ends + n);
    return static_cast<int32_t>(nodes_.size()) - 1;
  }

  // The node of a chart set, which only ever precedes roots.
  int32_t chart_node(int32_t set) {
    for (const auto& [s, node] : chart_nodes_)
      if (s == set) return node;
    chart_nodes_.emplace_back(set, new_node(context_of(set), set, nullptr, 0));
    return chart_nodes_.back().second;
  }

  int32_t root(int32_t terminal, int32_t origin) {
    const End end{chart_node(origin), terminal};
    const int32_t parent_context = nodes_[end.first].context;
    const int32_t node = new_node(kUnknown, -1, &end, 1);
    if (parent_context != kUnknown)
      cache_.child(generation_, parent_context, terminal, &nodes_[node].context,
                   &nodes_[node].record);
    if (!nodes_[node].record) {
      push(node);
      nodes_[node].context = context_of(nodes_[node].set, &nodes_[node].record);
      if (parent_context != kUnknown && nodes_[node].context != kUnknown)
        cache_.set_child(generation_, parent_context, terminal, nodes_[node].context);
    }
    return node;
  }

  // The node after `terminal` ends following `node`, in a walk.
  int32_t child(int32_t node, int32_t terminal) {
    for (int32_t l = nodes_[node].children; l >= 0; l = links_[l].next)
      if (links_[l].terminal == terminal) return links_[l].node;
    const End end{node, terminal};
    const int32_t made = new_node(kUnknown, -1, &end, 1);
    push(made);
    links_.push_back({terminal, made, nodes_[node].children});
    nodes_[node].children = static_cast<int32_t>(links_.size()) - 1;
    return made;
  }

  // The node after all of `ends` (sorted, unique, several) end at one position, in a walk.
  int32_t merged(const std::vector<End>& ends) {
    const int32_t anchor = ends[0].first;
    for (int32_t l = nodes_[anchor].merged; l >= 0; l = links_[l].next) {
      const Node& n = nodes_[links_[l].node];
      if (static_cast<size_t>(n.n_ends) == ends.size() &&
          std::equal(ends.begin(), ends.end(), end_pool_.begin() + n.ends))
        return links_[l].node;
    }
    const int32_t made = new_node(kUnknown, -1, ends.data(), ends.size());
    push(made);
    links_.push_back({-1, made, nodes_[anchor].merged});
    nodes_[anchor].merged = static_cast<int32_t>(links_.size()) - 1;
    return made;
  }

  // Pushes the node's set on the chart, its parents' first.
  void push(int32_t node) {
    if (nodes_[node].set >= 0) return;
    const int32_t first = nodes_[node].ends, n = nodes_[node].n_ends;
    for (int32_t i = first; i < first + n; ++i) push(end_pool_[i].first);
    pushed_ends_.clear();
    for (int32_t i = first; i < first + n; ++i)
      pushed_ends_.emplace_back(end_pool_[i].second, nodes_[end_pool_[i].first].set);
    chart_.push_terminal_ends(pushed_ends_.data(), pushed_ends_.size());
    nodes_[node].set = static_cast<int32_t>(chart_.num_sets()) - 1;
  }

  std::pair<const int32_t*, const int32_t*> terminals(int32_t node) const {
    const Node& n = nodes_[node];
    if (!n.record)
      return {chart_.predicted_terminals_begin(n.set), chart_.predicted_terminals_end(n.set)};
    const std::vector<int32_t>& t = n.record->terminals;
    return {t.data(), t.data() + t.size()};
  }

  // The context of chart set `set` (and its record, if asked); the contexts of the sets its
  // kernel items began in are computed first (they come before it, so this ends).
  int32_t context_of(int32_t set, std::shared_ptr<const ParseContext>* record = nullptr) {
    set_contexts_.resize(std::max(set_contexts_.size(), chart_.num_sets()), kNotComputed);
    if (record != nullptr) *record = predicted(set);
    if (set_contexts_[set] != kNotComputed) return set_contexts_[set];
    stack_.assign(1, set);
    while (!stack_.empty()) {
      const int32_t s = stack_.back();
      const int32_t missing = missing_origin(s);
      if (missing >= 0) {
        stack_.push_back(missing);
      } else {
        set_contexts_[s] = intern(s);
        stack_.pop_back();
      }
    }
    return set_contexts_[set];
  }

  // Whether an item is in the kernel of the set: it waits for a symbol, began before the set.
  bool in_kernel(const EarleyItem& it, int32_t set) const {
    return !it.is_terminal() && it.origin != set &&
           g_.symbol_at(it.a, it.b) != CfgGrammar::kNoSymbol;
  }

  int32_t missing_origin(int32_t set) const {
    for (const EarleyItem* it = chart_.set_begin(set); it != chart_.set_end(set); ++it)
      if (in_kernel(*it, set) && set_contexts_[it->origin] == kNotComputed) return it->origin;
    return -1;
  }

  // Numbers chart set `set`, whose origins' contexts are computed.
  int32_t intern(int32_t set) {
    if (set == 0) {
      key_ = ContextCache::initial_key();
    } else {
      key_.clear();
      for (const EarleyItem* it = chart_.set_begin(set); it != chart_.set_end(set); ++it) {
        if (!in_kernel(*it, set)) continue;
        if (set_contexts_[it->origin] == kUnknown) return kUnknown;
        key_.push_back(ContextCache::entry(g_.dotted(it->a, it->b), set_contexts_[it->origin]));
      }
      std::sort(key_.begin(), key_.end());
      key_.erase(std::unique(key_.begin(), key_.end()), key_.end());
    }
    const int32_t number = cache_.find(generation_, key_);
    return number != kUnknown ? number : cache_.insert(generation_, key_, predicted(set));
  }

  std::shared_ptr<const ParseContext> predicted(int32_t set) const {
    ParseContext out;
    out.terminals.assign(chart_.predicted_terminals_begin(set),
                         chart_.predicted_terminals_end(set));
    std::sort(out.terminals.begin(), out.terminals.end());
    for (int32_t t : out.terminals) out.classes.push_back(g_.class_of(t, 0));
    std::sort(out.classes.begin(), out.classes.end());
    out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
    return std::make_shared<const ParseContext>(std::move(out));
  }

  std::shared_ptr<const ContextCrossing> crossing_of(int32_t node, int32_t state_class) {
    const int32_t context = nodes_[node].context;
    if (context != kUnknown)
      if (auto hit = cache_.crossing(generation_, context, state_class)) return hit;
    auto summary = g_.summary(state_class, nodes_[node].record->classes);
    std::vector<int32_t> tokens;
    int depth = 0;
    if (!summary->deep.empty()) depth = walk(node, *summary, g_.crossing(state_class), tokens);
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    auto made = std::make_shared<const ContextCrossing>(
        ContextCrossing{std::move(summary), TokenSet(std::move(tokens), g_.trie->vocab_size())});
    if (context != kUnknown)
      cache_.set_crossing(generation_, context, state_class, depth + 1, made);
    return made;
  }

  // Appends the tokens of the summary's deep suffixes that are viable after root `node`;
  // returns how many origin links from its set lead to the farthest chart set it read.
  int walk(int32_t node, const CrossingSummary& summary, const CrossingStore& store,
           std::vector<int32_t>& tokens) {
    const TokenTrie& trie = *g_.trie;
    levels_[0].clear();
    const auto [first, last] = terminals(node);
    for (const int32_t* t = first; t != last; ++t) levels_[0].push_back({node, *t, 0});
    push(node);
    reads_.clear();
    chart_.log_reads(&reads_, first_pushed_);
    int32_t depth = 0;  // levels_[d], d <= depth: the lexemes after the first d bytes
    const size_t n = summary.deep.size();
    for (size_t j = 0; j < n;) {
      depth = std::min(depth, summary.deep_lcp[j]);
      const int64_t s = summary.deep[j];
      const uint8_t* bytes = trie.token_data(store.suffix_token(s)) + store.suffix_offset(s);
      const int32_t length =
          static_cast<int32_t>(trie.token_length(store.suffix_token(s)) - store.suffix_offset(s));
      while (depth < length && step(levels_[depth], bytes[depth], depth > 0, levels_[depth + 1]))
        ++depth;
      if (depth == length) tokens.insert(tokens.end(), store.tokens_begin(s), store.tokens_end(s));
      // No lexeme survives bytes[0 .. depth]: nor in the following suffixes that share them.
      const int32_t dead = depth < length ? depth + 1 : INT32_MAX;
      for (++j; j < n && summary.deep_lcp[j] >= dead; ++j) {
      }
    }
    chart_.log_reads(nullptr, 0);
    return read_depth(nodes_[node].set);
  }

  // How many origin links from `set` lead to the farthest chart set in reads_ (more than
  // ContextCache::kMaxDepth: kMaxDepth + 1).
  int read_depth(int32_t set) {
    std::sort(reads_.begin(), reads_.end());
    reads_.erase(std::unique(reads_.begin(), reads_.end()), reads_.end());
    size_t found = 0;
    frontier_.assign(1, set);
    seen_.assign(1, set);
    for (int depth = 1; depth <= ContextCache::kMaxDepth && found < reads_.size(); ++depth) {
      next_.clear();
      for (int32_t s : frontier_)
        for (const EarleyItem* it = chart_.set_begin(s); it != chart_.set_end(s); ++it)
          if (in_kernel(*it, s) &&
              std::find(seen_.begin(), seen_.end(), it->origin) == seen_.end()) {
            seen_.push_back(it->origin);
            next_.push_back(it->origin);
            found += std::binary_search(reads_.begin(), reads_.end(), it->origin);
          }
      if (found == reads_.size()) return depth;
      frontier_.swap(next_);
    }
    return reads_.empty() ? 0 : ContextCache::kMaxDepth + 1;
  }

  // The lexemes after one more byte; `may_end`: the lexemes in `from` have consumed bytes, so
  // their terminals may end before this one. False if none survives.
  bool step(const std::vector<Lexeme>& from, uint8_t byte, bool may_end, std::vector<Lexeme>& to) {
    to.clear();
    ends_.clear();
    for (const Lexeme& x : from) {
      const ByteDfa& dfa = g_.terminals[x.terminal].dfa;
      const int32_t q = dfa.next(x.state, byte);
      if (q >= 0) to.push_back({x.node, x.terminal, q});
      if (may_end && dfa.accepting(x.state) && g_.may_follow(x.terminal, byte))
        ends_.emplace_back(x.node, x.terminal);
    }
    if (ends_.empty()) return !to.empty();
    std::sort(ends_.begin(), ends_.end());
    ends_.erase(std::unique(ends_.begin(), ends_.end()), ends_.end());
    const int32_t c = ends_.size() == 1 ? child(ends_[0].first, ends_[0].second) : merged(ends_);
    // A node reached again (the same terminal ended after it before) may repeat lexemes.
    const bool again =
        std::any_of(to.begin(), to.end(), [c](const Lexeme& x) { return x.node == c; });
    const auto [first, last] = terminals(c);
    for (const int32_t* t = first; t != last; ++t) {
      const int32_t r = g_.terminals[*t].dfa.next(0, byte);
      if (r >= 0) to.push_back({c, *t, r});
    }
    if (again) {
      std::sort(to.begin(), to.end());
      to.erase(std::unique(to.begin(), to.end()), to.end());
    }
    return !to.empty();
  }

  const CfgGrammar& g_;
  ContextCache& cache_;
  EarleyChart& chart_;
  uint64_t generation_ = 0;
  std::vector<int32_t> set_contexts_;  // per chart set: its context, kUnknown or kNotComputed
  // Per mask:
  size_t first_pushed_ = 0;
  std::vector<Node> nodes_;
  std::vector<End> end_pool_;
  std::vector<Link> links_;
  std::vector<std::pair<int32_t, int32_t>> chart_nodes_;  // (chart set, node)
  // Scratch:
  std::vector<std::vector<Lexeme>> levels_;
  std::vector<End> ends_;
  std::vector<std::pair<int32_t, int32_t>> pushed_ends_;  // (terminal, origin set)
  std::vector<int32_t> classes_, stack_, reads_, frontier_, next_, seen_;
  std::vector<uint64_t> key_;
};

CfgMatcher::CfgMatcher(std::shared_ptr<const CfgGrammar> grammar)
    : grammar_(std::move(grammar)), chart_(grammar_.get()) {}

CfgMatcher::CfgMatcher(const CfgMatcher& other)
    : grammar_(other.grammar_),
      chart_(other.chart_),
      step_sets_(other.step_sets_),
      terminated_(other.terminated_) {}

CfgMatcher::~CfgMatcher() = default;

void CfgMatcher::truncate(size_t sets) {
  chart_.truncate(sets);
  if (crossing_) crossing_->forget(sets);
}

bool CfgMatcher::consume(const uint8_t* data, size_t length) {
  const size_t before = chart_.num_sets();
  for (size_t i = 0; i < length; ++i) {
    if (!chart_.advance(data[i])) {
      truncate(before);
      return false;
    }
  }
  return true;
}

bool CfgMatcher::accept_token(int32_t token_id) {
  if (terminated_ || token_id < 0 || token_id >= vocab_size()) return false;
  if (grammar_->is_eos(token_id)) {
    if (!chart_.accepting()) return false;
    step_sets_.push_back(chart_.num_sets());
    terminated_ = true;
    return true;
  }
  const TokenTrie& trie = *grammar_->trie;
  const int64_t length = trie.token_length(token_id);
  if (length == 0) return false;  // special tokens never match grammar text
  const size_t before = chart_.num_sets();
  if (!consume(trie.token_data(token_id), static_cast<size_t>(length))) return false;
  step_sets_.push_back(before);
  return true;
}

bool CfgMatcher::accept_bytes(const uint8_t* data, size_t length) {
  if (terminated_) return false;
  const size_t before = chart_.num_sets();
  if (!consume(data, length)) return false;
  step_sets_.push_back(before);
  return true;
}

void CfgMatcher::fill_bitmask(int32_t* row, int64_t words) const {
  const int64_t own = (vocab_size() + 31) / 32;
  if (words < own) throw std::invalid_argument("bitmask row narrower than the vocabulary");
  uint32_t* out = reinterpret_cast<uint32_t*>(row);
  std::memset(out, 0, words * sizeof(uint32_t));
  if (!terminated_) {
    // The terminal items of the last set, sorted so items of one terminal and origin are
    // adjacent.
    const size_t last = chart_.num_sets() - 1;
    std::vector<TerminalItem> items;
    for (const EarleyItem* it = chart_.set_begin(last); it != chart_.set_end(last); ++it)
      if (it->is_terminal())
        items.push_back({~it->a, it->origin, grammar_->class_of(~it->a, it->b)});
    std::sort(items.begin(), items.end(), [](const TerminalItem& x, const TerminalItem& y) {
      return x.terminal != y.terminal ? x.terminal < y.terminal
             : x.origin != y.origin   ? x.origin < y.origin
                                      : x.state_class < y.state_class;
    });
    // Tokens that stay inside a terminal: allowed whatever follows it.
    std::vector<int32_t> classes;
    for (const TerminalItem& t : items) classes.push_back(t.state_class);
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    for (int32_t c : classes) grammar_->within(c).or_into(out);
    if (!crossing_) crossing_ = std::make_unique<CrossingPass>(*grammar_, chart_);
    crossing_->run(items, out);
  }
  if (is_accepting())
    for (int32_t id : grammar_->eos_ids) out[id >> 5] |= 1u << (id & 31);
}

void CfgMatcher::rollback(int32_t steps) {
  if (steps < 0 || steps > num_steps())
    throw std::out_of_range("cannot roll back " + std::to_string(steps) + " steps; only " +
                            std::to_string(num_steps()) + " taken");
  if (steps == 0) return;
  const size_t target = step_sets_[step_sets_.size() - steps];
  step_sets_.resize(step_sets_.size() - steps);
  terminated_ = false;
  truncate(target);
}

void CfgMatcher::reset() {
  step_sets_.clear();
  terminated_ = false;
  truncate(1);
}

std::string CfgMatcher::forced_bytes() const {
  // A byte is forced when no complete string ends here and exactly one byte keeps any terminal
  // live (a live terminal item always leads to a non-empty, hence viable, next set).
  std::string out;
  if (terminated_) return out;
  const size_t start = chart_.num_sets();
  while (!chart_.accepting() && out.size() < 4096) {
    const size_t last = chart_.num_sets() - 1;
    int found = -1;
    bool several = false;
    for (const EarleyItem* it = chart_.set_begin(last); it != chart_.set_end(last) && !several; ++it) {
      if (!it->is_terminal()) continue;
      const ByteDfa& dfa = grammar_->terminals[~it->a].dfa;
      for (int b = 0; b < 256; ++b) {
        if (dfa.next(it->b, static_cast<uint8_t>(b)) < 0 || b == found) continue;
        if (found >= 0) {
          several = true;
          break;
        }
        found = b;
      }
    }
    if (several || found < 0) break;
    chart_.advance(static_cast<uint8_t>(found));
    out.push_back(static_cast<char>(found));
  }
  chart_.truncate(start);
  return out;
}

std::unique_ptr<Matcher> CfgMatcher::fork() const { return std::make_unique<CfgMatcher>(*this); }

}  // namespace constrain
