"""Speculative decoding verified with grammar masks (constrain.speculative) and the draft-mask
core (fill_draft_bitmasks, its tree and batch variants).

Exactness is proven on toy models whose output distributions are enumerated exactly
(tests/reference/toy_models.py): the speculative rule, fed the enumerated drafts, must give
masked sampling from the target to within 1e-9 in total variation. Sampling tests use a
chi-square test at p-value threshold ``P_MIN = 1e-6``, so a correct implementation fails with
probability below 1e-6 (seeds are fixed, so in practice the outcome is deterministic).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy import stats

import constrain as cn
from constrain import speculative
from constrain._core import (fill_draft_bitmasks, fill_draft_bitmasks_batch,
                             fill_draft_tree_bitmasks)
from reference.toy_models import dirichlet_model, gcd_distribution, probs, tv
from reference.toy_problems import DYCK_TOKENS, dyck

P_MIN = 1e-6


# ----------------------------------------------------------------- exact distributions

def _masked(model, lang, prefix):
    """The masked, renormalised next-token distribution after ``prefix`` (reference masks)."""
    p = probs(model, prefix).copy()
    keep = np.zeros_like(p, dtype=bool)
    keep[lang.allowed_cached(prefix)] = True
    p[~keep] = 0.0
    return p / p.sum()


def _round(target_model, draft_model, lang, prefix, k, draft_masks, naive=False):
    """Exact distribution of the tokens one speculative round appends after ``prefix``.

    Drafts are enumerated with their probabilities; :func:`speculative.acceptance_probs` (the
    code under test) turns each into outcomes. ``naive=True`` is the biased variant: a draft
    the grammar refuses is dropped and its position drawn from the masked target.
    """
    out: dict = defaultdict(float)
    eos = lang.eos

    def drafts(x, weight):
        yield x, weight
        if len(x) == k or (x and x[-1] == eos):
            return
        u = prefix + x
        if draft_masks:
            q = _masked(draft_model, lang, u)
        else:
            q = probs(draft_model, u)
        for t in np.flatnonzero(q > 0):
            yield from drafts(x + (int(t),), weight * q[t])

    for x, weight in drafts((), 1.0):
        if len(x) < k and not (x and x[-1] == eos):
            continue  # only complete draft blocks are proposed
        valid = 0
        while valid < len(x) and x[valid] in lang.allowed_cached(prefix + x[:valid]):
            valid += 1
        checked = x[:valid + 1]
        no_bonus = valid < len(x) or (x and x[-1] == eos)
        rows = len(checked) + (0 if no_bonus else 1)
        p_rows = [_masked(target_model, lang, prefix + checked[:i]) for i in range(rows)]
        q_rows = [(_masked(draft_model, lang, prefix + checked[:i]) if draft_masks
                   else probs(draft_model, prefix + checked[:i])) for i in range(len(checked))]
        accept, outcomes = speculative.acceptance_probs(p_rows, q_rows, checked)
        if naive and valid < len(x):
            # The biased shortcut: the refused draft is not run through the rule.
            outcomes = list(outcomes)
            outcomes[valid] = p_rows[valid]
        reach = weight
        for i in range(len(checked)):
            for y in np.flatnonzero(outcomes[i] > 0):
                out[checked[:i] + (int(y),)] += reach * (1 - accept[i]) * outcomes[i][y]
            reach *= accept[i]
        if rows > len(checked):
            for y in np.flatnonzero(outcomes[-1] > 0):
                out[checked + (int(y),)] += reach * outcomes[-1][y]
        elif reach > 0:
            out[checked] += reach
    return out


def _speculative_distribution(target_model, draft_model, lang, k, draft_masks, naive=False):
    """Exact distribution of whole outputs: rounds composed until EOS."""
    memo: dict = {}

    def rest(prefix):
        if prefix in memo:
            return memo[prefix]
        dist: dict = defaultdict(float)
        for ext, p in _round(target_model, draft_model, lang, prefix, k, draft_masks,
                             naive).items():
            if p == 0:
                continue
            seq = prefix + ext
            if seq[-1] == lang.eos:
                dist[seq] += p
            else:
                for full, q in rest(seq).items():
                    dist[full] += p * q
        memo[prefix] = dist
        return dist

    return dict(rest(()))


@pytest.mark.parametrize("k,draft_masks", [(1, True), (2, True), (4, True), (1, False),
                                           (3, False)])
def test_exact_output_distribution_is_masked_target(k, draft_masks):
    target_model, _, lang = dyck(1)
    draft_model = dirichlet_model(len(DYCK_TOKENS), 7, alpha=0.5)
    exact = gcd_distribution(target_model, lang)
    got = _speculative_distribution(target_model, draft_model, lang, k, draft_masks)
    assert abs(sum(got.values()) - 1) < 1e-12
    assert tv(got, exact) < 1e-9


def test_naive_drop_of_refused_drafts_is_biased():
    """Never sample a refused draft's position from the target directly: it is biased."""
    target_model, _, lang = dyck(1)
    draft_model = dirichlet_model(len(DYCK_TOKENS), 7, alpha=0.5)
    exact = gcd_distribution(target_model, lang)
    naive = _speculative_distribution(target_model, draft_model, lang, 2, False, naive=True)
    right = _speculative_distribution(target_model, draft_model, lang, 2, False)
    assert tv(right, exact) < 1e-9
    assert tv(naive, exact) > 0.01


def _chi_square_p(counts: Counter, exact: dict, n: int) -> float:
    """p-value of a chi-square goodness-of-fit test (cells with expectation < 5 pooled)."""
    observed, expected, pool_o, pool_e = [], [], 0, 0.0
    assert set(counts) <= set(exact), set(counts) - set(exact)
    for seq, p in exact.items():
        if p * n >= 5:
            observed.append(counts.get(seq, 0))
            expected.append(p * n)
        else:
            pool_o += counts.get(seq, 0)
            pool_e += p * n
    if pool_e > 0:
        observed.append(pool_o)
        expected.append(pool_e)
    return stats.chisquare(observed, expected).pvalue


@pytest.mark.parametrize("draft_masks", [True, False])
def test_sampled_outputs_pass_chi_square(draft_masks):
    target_model, cg, lang = dyck(1)
    draft_model = dirichlet_model(len(DYCK_TOKENS), 7, alpha=0.5)
    exact = gcd_distribution(target_model, lang)
    rng = np.random.default_rng(12345)
    n = 2000
    counts: Counter = Counter()
    drafted = accepted = 0
    for _ in range(n):
        r = speculative.generate(target_model, draft_model, None, cg, k=3, seed=rng,
                                 max_new_tokens=64, draft_masks=draft_masks)
        counts[tuple(r.token_ids)] += 1
        drafted += r.drafted
        accepted += r.accepted
    assert _chi_square_p(counts, exact, n) > P_MIN
    assert 0 < accepted < drafted


def test_greedy_matches_plain_greedy_on_toys():
    target_model, cg, lang = dyck(3)
    draft_model = dirichlet_model(len(DYCK_TOKENS), 8, alpha=0.5)
    plain = speculative.generate(target_model, None, None, cg, temperature=0)
    for k, masks in itertools.product([1, 2, 5], [True, False]):
        got = speculative.generate(target_model, draft_model, None, cg, k=k, temperature=0,
                                   draft_masks=masks)
        assert got.token_ids == plain.token_ids
        assert got.target_forwards <= plain.target_forwards


# ----------------------------------------------------------------- the core: draft masks

def _replayed_rows(cg, prefix, drafts, words):
    """Masks after prefix + drafts[:i], each from a fresh matcher (None once refused)."""
    rows = []
    for i in range(len(drafts) + 1):
        m = cg.matcher()
        if m.accept_tokens(list(prefix) + list(drafts[:i])) != len(prefix) + i:
            rows.append(None)
            continue
        row = np.zeros(words, np.int32)
        m.fill_bitmask(row)
        rows.append(row)
    return rows


def _state(m, words):
    row = np.zeros(words, np.int32)
    m.fill_bitmask(row)
    return row.tobytes(), m.num_steps, m.is_accepting(), m.is_terminated(), m.forced_bytes()


def test_linear_tree_and_batch_masks_equal_replay():
    _, cg, lang = dyck(1)
    words = 1
    rng = np.random.default_rng(0)
    sequences = lang.sequences()
    for trial in range(200):
        seq = sequences[rng.integers(len(sequences))]
        prefix = seq[:rng.integers(len(seq))]
        drafts = [int(t) for t in rng.integers(0, len(DYCK_TOKENS), rng.integers(0, 6))]
        m = cg.matcher()
        m.accept_tokens(prefix)
        before = _state(m, words)
        bitmask = np.full((len(drafts) + 3, words), 7, np.int32)
        n = fill_draft_bitmasks(m, drafts, bitmask, row0=1)
        assert _state(m, words) == before
        expect = _replayed_rows(cg, prefix, drafts, words)
        assert n == max(i for i, r in enumerate(expect) if r is not None)
        for i, r in enumerate(expect):
            assert (bitmask[1 + i] == (0 if r is None else r)).all()
        assert (bitmask[0] == 7).all() and (bitmask[-1] == 7).all()
        # The same draft as a chain tree, then a random tree.
        chain = np.zeros((len(drafts) + 1, words), np.int32)
        valid = fill_draft_tree_bitmasks(m, drafts, list(range(-1, len(drafts) - 1)), chain)
        assert (chain == bitmask[1:len(drafts) + 2]).all()
        assert list(valid) == [r is not None for r in expect[1:]]
        parents = [int(rng.integers(-1, i)) for i in range(len(drafts))]
        tree = np.zeros((len(drafts) + 1, words), np.int32)
        valid = fill_draft_tree_bitmasks(m, drafts, parents, tree)
        assert _state(m, words) == before
        for i in range(len(drafts)):
            path, j = [], i
            while j >= 0:
                path.append(drafts[j])
                j = parents[j]
            r = _replayed_rows(cg, tuple(prefix) + tuple(path[:0:-1]), [path[0]], words)[1]
            assert valid[i] == (r is not None)
            assert (tree[1 + i] == (0 if r is None else r)).all()
    # Batched: several matchers, threads, packed rows.
    matchers, drafts_list = [], []
    for seq in sequences[:40]:
        m = cg.matcher()
        m.accept_tokens(seq[:len(seq) // 2])
        matchers.append(m)
        drafts_list.append(list(seq[len(seq) // 2:]) + [0])
    total = sum(len(d) + 1 for d in drafts_list)
    batch = np.zeros((total, words), np.int32)
    counts = fill_draft_bitmasks_batch(matchers, drafts_list, batch, threads=2)
    row = 0
    for m, d, c in zip(matchers, drafts_list, counts):
        single = np.zeros((len(d) + 1, words), np.int32)
        assert fill_draft_bitmasks(m, d, single) == c
        assert (batch[row:row + len(d) + 1] == single).all()
        row += len(d) + 1


def test_draft_mask_argument_errors():
    _, cg, _ = dyck(1)
    m = cg.matcher()
    with pytest.raises(IndexError):
        fill_draft_bitmasks(m, [0, 0], np.zeros((2, 1), np.int32))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        fill_draft_bitmasks(m, [99], np.zeros((2, 1), np.int32))
    with pytest.raises(ValueError, match="earlier node"):
        fill_draft_tree_bitmasks(m, [0, 0], [-1, 1], np.zeros((3, 1), np.int32))
    with pytest.raises(ValueError, match="twice"):
        fill_draft_bitmasks_batch([m, m], [[0], [0]], np.zeros((4, 1), np.int32))
    assert m.num_steps == 0


# ----------------------------------------------------------------- tiny transformers models

def _tiny_llama(vocab_size, layers, seed):
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=layers, num_attention_heads=2,
                                      num_key_value_heads=2, initializer_range=0.5,
                                      bos_token_id=128000, eos_token_id=128001)
    # float64: the verifier scores k+1 positions at once, plain decoding one at a time; in
    # float32 their rounding differs enough to flip near-ties of the argmax.
    return transformers.LlamaForCausalLM(config).eval().to(torch.float64)


@pytest.fixture(scope="module")
def llama3(load_vocab, load_hf_tokenizer):
    vocab = load_vocab("llama3-128k")
    tokenizer = load_hf_tokenizer("llama3-128k")
    grammar = cn.Grammar.from_regex(r'\{"id": [1-9][0-9]{0,3}, "tags": \["[a-z]{1,6}"(, "[a-z]{1,6}"){0,3}\]\}')
    cg = cn.compile(grammar, vocab, cache_on_disk=False)
    target = _tiny_llama(vocab.vocab_size, 2, 0)
    draft = _tiny_llama(vocab.vocab_size, 1, 1)
    # The draft shares the target's embeddings, first layer and head, as distilled drafts
    # roughly do, so that it agrees with the target often enough to be kept.
    draft.load_state_dict(target.state_dict(), strict=False)
    return vocab, tokenizer, cg, target, draft


def _plain_greedy(model, tokenizer, cg, prompt_ids, n):
    import torch
    from transformers import LogitsProcessorList

    from constrain.hf import GrammarLogitsProcessor

    out = model.generate(input_ids=torch.tensor([prompt_ids]), do_sample=False,
                         max_new_tokens=n, logits_processor=LogitsProcessorList(
                             [GrammarLogitsProcessor(cg)]),
                         eos_token_id=list(cg.vocab.eos_token_ids), pad_token_id=0)
    ids = out[0, len(prompt_ids):].tolist()
    eos = set(cg.vocab.eos_token_ids)
    for i, t in enumerate(ids):
        if t in eos:
            return ids[:i + 1]
    return ids


def test_greedy_speculative_equals_greedy_plain_llama3(llama3):
    vocab, tokenizer, cg, target, draft = llama3
    prompt_ids = tokenizer("Output:")["input_ids"]
    plain = _plain_greedy(target, tokenizer, cg, prompt_ids, 32)
    for k, masks in [(3, True), (4, False)]:
        got = speculative.generate(target, draft, tokenizer, cg, k=k, temperature=0,
                                   max_new_tokens=32, prompt_ids=prompt_ids, draft_masks=masks)
        assert got.token_ids == plain
        if masks:  # unmasked drafts of a random draft model are almost never grammatical
            assert got.target_forwards < len(plain)
    baseline = speculative.generate(target, None, tokenizer, cg, temperature=0,
                                    max_new_tokens=32, prompt_ids=prompt_ids)
    assert baseline.token_ids == plain


def test_sampled_outputs_are_valid_and_draft_masks_equal_replay(llama3):
    import torch

    vocab, tokenizer, cg, target, draft = llama3
    rng = np.random.default_rng(5)
    words = (vocab.vocab_size + 31) // 32
    for i in range(2):
        r = speculative.generate(target, draft, tokenizer, cg, k=4, seed=rng,
                                 max_new_tokens=40, draft_masks=(i == 0), fast_forward=(i == 0))
        m = cg.matcher()
        assert m.accept_tokens(r.token_ids) == len(r.token_ids)
        if r.token_ids[-1] in vocab.eos_token_ids:
            assert m.is_terminated()
        # Drafts the draft model proposes (unmasked argmax) along this output: the one-call
        # masks equal masks replayed from scratch; the matcher is left exactly as it was.
        body = [t for t in r.token_ids if t not in vocab.eos_token_ids]
        for cut in range(0, len(body), 9):
            prefix = body[:cut]
            with torch.no_grad():
                logits = draft(input_ids=torch.tensor([[128000] + prefix])).logits[0, -1]
            drafts = [int(logits.argmax())] + body[cut:cut + 3]
            m = cg.matcher()
            m.accept_tokens(prefix)
            before = _state(m, words)
            bitmask = np.zeros((len(drafts) + 1, words), np.int32)
            n = fill_draft_bitmasks(m, drafts, bitmask)
            assert _state(m, words) == before
            for j, row in enumerate(_replayed_rows(cg, prefix, drafts, words)):
                if row is None:
                    assert j > n and not bitmask[j].any()
                else:
                    assert j <= n and (bitmask[j] == row).all()
