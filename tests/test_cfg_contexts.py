"""The parse-context cache of context-free grammars (``ContextCache`` in csrc/cfg_grammar.h) never
changes a mask: masks computed with it, without it (budget 0) and with a budget so small that it
is emptied over and over agree along walks, on a warm cache, after rollbacks and forks, and when
filled from several threads at once. (The masks themselves are checked against the reference
oracle in test_cfg.py and test_cfg_tokenizers.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import constrain as cn
from constrain._core import CfgIndex
from constrain.compiler import token_trie
from strategies import lark_grammars
from walks import random_split

BUDGETS = {"default": None, "off": 0, "tiny": 4096, "small": 1 << 16}

C_TEXT = b"""#include <stdio.h>
/* sums */
static int sum(const int *a, unsigned n) {
    int s = 0, i;
    for (i = 0; i < (int)n; ++i) s += a[i] * 2 - -1;
    return s > 0 ? s : -s; // done
}
int main(void) { int v[3] = {1, 2, 3}; printf("%d\\n", sum(v, 3)); x---y; return 0; }
"""
JSON_TEXT = b'{"a": [1, -2.5e3, {"b": null, "c": "d\\"e"}], "f": true}\n'


def small_vocab():
    """Every byte, and multi-byte tokens that cross one or several terminal ends."""
    tokens = [bytes([b]) for b in range(256)]
    tokens += [b"ab", b"a(", b"),", b"(a", b"12", b" (", b"a b", b'{"', b'":', b'",', b"[1",
               b"1]", b"},", b");\n", b"(a)", b"a+b", b"--", b"1,2", b"\xc3\xa9", b""]
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1])


SMALL = small_vocab()


def indexes(grammar, vocab):
    """One fresh index per cache budget (not the compile cache: budgets must not leak)."""
    out = {}
    for name, budget in BUDGETS.items():
        index = CfgIndex.build(token_trie(vocab), grammar.tables, vocab.eos_token_ids)
        if budget is not None:
            index.reset_context_cache(budget)
        out[name] = index
    return out


def mask(matcher, vocab):
    bitmask = cn.allocate_bitmask(1, vocab.vocab_size)
    matcher.fill_bitmask(bitmask, row=0)
    return np.asarray(bitmask)[0].copy()


def assert_walks_agree(idx, vocab, ids, context=""):
    """Feed `ids` to one matcher per index; every mask on the way must be the same."""
    matchers = {name: index.matcher() for name, index in idx.items()}
    for step in range(len(ids) + 1):
        masks = {name: mask(m, vocab) for name, m in matchers.items()}
        for name in masks:
            assert np.array_equal(masks[name], masks["off"]), (context, name, step)
        if step < len(ids):
            assert all(m.accept_token(ids[step]) for m in matchers.values()), (context, step)


def sampled_walk(index, vocab, rng, steps):
    """Token ids of a random walk under the masks of `index`."""
    m, ids = index.matcher(), []
    for _ in range(steps):
        allowed = [int(t) for t in m.allowed_token_ids() if t not in vocab.eos_token_ids]
        if not allowed:
            break
        ids.append(int(rng.choice(allowed)))
        assert m.accept_token(ids[-1])
    return ids


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=lark_grammars(), seed=st.integers(0, 2**32 - 1))
def test_random_grammars_masks_are_the_same_with_and_without_the_cache(text, seed):
    try:
        grammar = cn.Grammar.from_lark(text)
    except cn.GrammarError:
        return
    idx = indexes(grammar, SMALL)
    rng = np.random.default_rng(seed)
    for _ in range(2):  # the second walk meets what the first one left in the caches
        assert_walks_agree(idx, SMALL, sampled_walk(idx["off"], SMALL, rng, 12), text)


@pytest.mark.parametrize("name, text", [("c", C_TEXT), ("json", JSON_TEXT)])
def test_builtin_grammars_masks_are_the_same_with_and_without_the_cache(load_vocab, name, text):
    vocab = load_vocab("llama3-128k")
    idx = indexes(cn.Grammar.builtin(name), vocab)
    rng = np.random.default_rng(3)
    for _ in range(2):  # another tokenization of the same text, on warm caches
        assert_walks_agree(idx, vocab, random_split(text, vocab, rng), name)
    assert_walks_agree(idx, vocab, sampled_walk(idx["default"], vocab, rng, 30), name)


def test_rollback_and_fork_do_not_reuse_contexts_of_dropped_bytes(load_vocab):
    vocab = load_vocab("llama3-128k")
    grammar = cn.Grammar.builtin("c")
    idx = indexes(grammar, vocab)
    rng = np.random.default_rng(7)
    common = random_split(b"int ", vocab, rng)
    first = common + random_split(b"f(int a) { return a * (a + 1); }\n", vocab, rng)
    second = common + random_split(b"g(void) { int *p = 0; return p[0]; }\n", vocab, rng)
    m = idx["default"].matcher()
    for t in first:  # masks computed at every step: the contexts of these sets are known
        mask(m, vocab)
        assert m.accept_token(t)
    shared = len(common)  # back to the common prefix, then elsewhere
    m.rollback(len(first) - shared)
    forked = m.fork()
    reference = idx["off"].matcher()
    assert reference.accept_tokens(first[:shared]) == shared
    for t in second[shared:]:
        expected = mask(reference, vocab)
        assert np.array_equal(mask(m, vocab), expected)
        assert np.array_equal(mask(forked, vocab), expected)
        assert m.accept_token(t) and forked.accept_token(t) and reference.accept_token(t)
    m.reset()
    assert np.array_equal(mask(m, vocab), mask(idx["off"].matcher(), vocab))


def test_threads_share_the_cache(load_vocab):
    vocab = load_vocab("llama3-128k")
    idx = indexes(cn.Grammar.builtin("c"), vocab)
    ids = random_split(C_TEXT, vocab, np.random.default_rng(1))
    cuts = list(range(0, len(ids), 3))
    shared = [idx["default"].matcher() for _ in cuts]
    alone = [idx["off"].matcher() for _ in cuts]
    for m, r, n in zip(shared, alone, cuts):
        assert m.accept_tokens(ids[:n]) == n and r.accept_tokens(ids[:n]) == n
    for _ in range(2):  # cold, then warm
        got = cn.allocate_bitmask(len(cuts), vocab.vocab_size)
        cn.fill_bitmasks(shared, got, threads=4)
        expected = cn.allocate_bitmask(len(cuts), vocab.vocab_size)
        cn.fill_bitmasks(alone, expected, threads=1)
        assert np.array_equal(np.asarray(got), np.asarray(expected))
