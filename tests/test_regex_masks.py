"""Exact masks on real tokenizers: regex and choice grammars against brute-force token checks.

The oracle decides each token independently with the ``regex`` package (partial full-matching
over bytes), so it shares no code with the DFA or the C++ mask store. llama2-32k is checked on
every token id; the large vocabularies on every allowed id plus a random sample of the rest.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import constrain as cn
from conftest import TOKENIZERS
from reference.regex_oracle import reference_matches, reference_viable_bytes, representatives
from reference.token_oracle import reference_allowed
from strategies import regex_asts, render, sample_string
from walks import checked_ids, random_split, random_walk

# (pattern for constrain, the same language for the oracle, example strings of it)
FIXED = [
    (r"\d{4}-\d{2}-\d{2}", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", ["2024-01-31", "0000-99-12"]),
    (r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z]{2,})+", r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z]{2,})+",
     ["john.doe@example.com", "a@b.cd.ef"]),
    (r"[àé€中😀 ]+\.?", r"[àé€中😀 ]+\.?", ["中 é😀.", "€€ à"]),
    (r".{0,12}", "[^\n\r\u2028\u2029]{0,12}", ["hello, wörld", ""]),
    (r'\{"a": (true|false|null|-?\d+)\}', r'\{"a": (true|false|null|-?[0-9]+)\}',
     ['{"a": true}', '{"a": -1234}']),
    (r"\s*(yes|no)\s*", "[\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
     "\u3000\ufeff]*(yes|no)[\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
     "\u205f\u3000\ufeff]*", ["  yes\n", "no"]),
]

def assert_mask_exact(matcher, vocab, prefix, oracle_pattern, rng):
    got = set(matcher.allowed_token_ids().tolist())
    ids = checked_ids(vocab, got, rng)
    reps = representatives(oracle_pattern)
    expected = reference_allowed(
        vocab.token_bytes, vocab.eos_token_ids, prefix,
        viable=lambda b: reference_viable_bytes(oracle_pattern, b, candidates=reps),
        complete=lambda b: reference_matches(oracle_pattern, b), ids=ids)
    checked = got & set(ids)
    assert checked == expected, (
        f"prefix {prefix!r}: wrongly allowed {sorted(checked - expected)[:10]}, "
        f"wrongly forbidden {sorted(expected - checked)[:10]}")
    assert got, f"empty mask after {prefix!r}"


@pytest.mark.parametrize("name", TOKENIZERS)
@pytest.mark.parametrize("ours, oracle, examples", FIXED, ids=[f[0][:20] for f in FIXED])
def test_walks_end_in_matches_and_every_mask_is_exact(load_vocab, name, ours, oracle, examples):
    vocab = load_vocab(name)
    compiled = cn.compile(cn.Grammar.from_regex(ours), vocab, cache_on_disk=False)
    rng = np.random.default_rng(hash((name, ours)) % 2**32)
    steps = []

    def check(m, prefix, allowed):
        if len(steps) < 6:
            assert_mask_exact(m, vocab, prefix, oracle, rng)
        steps.append(prefix)

    text, complete = random_walk(compiled, vocab, rng, max_tokens=30, on_step=check)
    if complete:
        assert reference_matches(oracle, text), text
    else:
        assert reference_viable_bytes(oracle, text), text


@pytest.mark.parametrize("name", TOKENIZERS)
@pytest.mark.parametrize("ours, oracle, examples", FIXED, ids=[f[0][:20] for f in FIXED])
def test_every_tokenization_of_examples_is_accepted(load_vocab, load_hf_tokenizer, name, ours,
                                                    oracle, examples):
    vocab = load_vocab(name)
    tokenizer = load_hf_tokenizer(name)
    compiled = cn.compile(cn.Grammar.from_regex(ours), vocab, cache_on_disk=False)
    rng = np.random.default_rng(7)
    for text in examples:
        data = text.encode()
        assert reference_matches(oracle, data)
        splits = [random_split(data, vocab, rng) for _ in range(5)]
        canonical = tokenizer.encode(text, add_special_tokens=False)
        if b"".join(vocab.token_bytes[t] for t in canonical) == data:
            splits.append(canonical)  # SentencePiece prepends a space: not a split of data
        for ids in splits:
            m = compiled.matcher()
            assert m.accept_tokens(ids) == len(ids), (text, ids)
            assert m.is_accepting()
            assert m.accept_token(vocab.eos_token_ids[0]) and m.is_terminated()


@pytest.mark.parametrize("name", TOKENIZERS)
def test_choice_masks_are_exact(load_vocab, name):
    vocab = load_vocab(name)
    words = ["apple", "apricot", "banana", "band", "bandana", "中文", "naïve", "a b", "42"]
    compiled = cn.compile(cn.Grammar.from_choices(words), vocab, cache_on_disk=False)
    oracle = "(" + "|".join(words) + ")"
    rng = np.random.default_rng(3)
    for word in words:
        data = word.encode()
        for cut in range(len(data) + 1):
            m = compiled.matcher()
            assert m.accept_bytes(data[:cut])
            assert_mask_exact(m, vocab, data[:cut], oracle, rng)


SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("name", ["llama2-32k", "qwen3-152k"])
@SETTINGS
@given(node=regex_asts, data=st.data())
def test_random_regexes_masks_equal_oracle(load_vocab, name, node, data):
    vocab = load_vocab(name)
    ours, oracle = render(node)
    try:
        grammar = cn.Grammar.from_regex(ours)
    except cn.GrammarError:
        return  # the empty language: nothing to mask
    compiled = cn.compile(grammar, vocab, cache_on_disk=False)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    example = sample_string(node, data.draw)
    prefixes = {b""}
    if example is not None:
        encoded = example.encode()
        prefixes |= {encoded[:k] for k in sorted(set(rng.integers(0, len(encoded) + 1, 3)))}
    for prefix in sorted(prefixes):
        m = compiled.matcher()
        if not m.accept_bytes(prefix):
            assert not reference_viable_bytes(oracle, prefix)
            continue
        assert_mask_exact(m, vocab, prefix, oracle, rng)
