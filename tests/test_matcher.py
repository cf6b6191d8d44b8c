"""The Matcher API on small vocabularies, checked against brute-force masks."""

import itertools

import numpy as np
import pytest
import torch

import constrain as cn
from constrain.compiler import _memory_cache

from reference.token_oracle import reference_allowed

ALPHABET = [b"a", b"b", b"c", b"-", b"\xc3\xa9"]  # the last one is the two bytes of "é"


def small_vocab(extra_special=0):
    """Every string of 1-2 alphabet pieces, single bytes of é, a special token and EOS."""
    tokens = [a + b for a, b in itertools.product(ALPHABET, repeat=2)] + ALPHABET
    tokens += [b"\xc3", b"\xa9", b"abc", b"ab-"]
    special = len(tokens)
    eos = special + 1
    tokens += [b"", b""]
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[eos], special_ids=[special],
                                          vocab_size=len(tokens) + extra_special)


@pytest.fixture(scope="module")
def vocab():
    return small_vocab()


def allowed(m):
    return set(m.allowed_token_ids().tolist())


def oracle(grammar, vocab, prefix):
    return reference_allowed(vocab.token_bytes, vocab.eos_token_ids, prefix,
                             grammar.is_prefix, grammar.matches)


PATTERNS = [r"(ab|c)*-", r"a{2,5}", r"[abc]+(-[abc]+)*", r"é+a?", r"[^a]*", r"(a|b|é|-){0,3}c"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_masks_equal_brute_force_on_every_short_prefix(vocab, pattern):
    grammar = cn.Grammar.from_regex(pattern)
    compiled = cn.compile(grammar, vocab, cache_on_disk=False)
    pieces = [bytes([b]) for b in b"abc-\xc3\xa9"]
    for n in range(4):
        for parts in itertools.product(pieces, repeat=n):
            prefix = b"".join(parts)
            if not grammar.is_prefix(prefix):
                continue
            m = compiled.matcher()
            assert m.accept_bytes(prefix)
            assert allowed(m) == oracle(grammar, vocab, prefix), prefix


def test_refused_token_leaves_state_unchanged(vocab):
    m = cn.compile(cn.Grammar.from_regex("ab-"), vocab).matcher()
    before = allowed(m)
    assert not m.accept_token(vocab.token_bytes.index(b"b"))
    assert allowed(m) == before and m.num_steps == 0


def test_eos_allowed_exactly_when_accepting(vocab):
    eos = vocab.eos_token_ids[0]
    m = cn.compile(cn.Grammar.from_regex("a(bc)?"), vocab).matcher()
    assert eos not in allowed(m) and not m.accept_token(eos)
    assert m.accept_token(vocab.token_bytes.index(b"a"))
    assert m.is_accepting() and eos in allowed(m)
    assert m.accept_token(vocab.token_bytes.index(b"b"))
    assert not m.is_accepting() and eos not in allowed(m)


def test_terminated_matcher_allows_only_eos_and_refuses_everything_else(vocab):
    eos = vocab.eos_token_ids[0]
    m = cn.compile(cn.Grammar.from_regex("a*"), vocab).matcher()
    assert m.accept_token(eos) and m.is_terminated() and m.is_accepting()
    assert allowed(m) == {eos}
    assert not m.accept_token(vocab.token_bytes.index(b"a"))
    assert not m.accept_bytes(b"a")
    m.rollback(1)
    assert not m.is_terminated() and vocab.token_bytes.index(b"a") in allowed(m)


def test_rollback_restores_every_earlier_state(vocab):
    compiled = cn.compile(cn.Grammar.from_regex(r"[abc]+(-[abc]+)*"), vocab)
    m = compiled.matcher()
    history = [allowed(m)]
    for piece in [b"ab", b"-", b"c", b"ab-", b"a"]:
        assert m.accept_token(vocab.token_bytes.index(piece))
        history.append(allowed(m))
    for steps_back in range(1, len(history)):
        probe = m.fork()
        probe.rollback(steps_back)
        assert allowed(probe) == history[-1 - steps_back]
    with pytest.raises(ValueError, match="cannot roll back 6 steps"):
        m.rollback(6)


def test_fork_is_independent_and_reset_returns_to_start(vocab):
    m = cn.compile(cn.Grammar.from_regex("abc|b-"), vocab).matcher()
    start = allowed(m)
    f = m.fork()
    assert f.accept_token(vocab.token_bytes.index(b"ab"))
    assert allowed(m) == start and allowed(f) != start
    f.reset()
    assert allowed(f) == start and f.num_steps == 0


def test_accept_tokens_stops_at_first_refusal(vocab):
    ids = [vocab.token_bytes.index(p) for p in [b"a", b"b", b"a", b"c"]]
    m = cn.compile(cn.Grammar.from_regex("abc"), vocab).matcher()
    assert m.accept_tokens(ids) == 2
    assert m.num_steps == 2


def test_accept_bytes_is_one_step_and_may_split_characters(vocab):
    m = cn.compile(cn.Grammar.from_regex("aé+"), vocab).matcher()
    assert m.accept_bytes(b"a\xc3")
    assert allowed(m) == {vocab.token_bytes.index(b"\xa9")}
    assert not m.accept_bytes(b"\xc3")
    m.rollback(1)
    assert m.num_steps == 0


def test_forced_bytes_follow_the_only_continuation(vocab):
    m = cn.compile(cn.Grammar.from_regex("ab-(a|b)c"), vocab).matcher()
    assert m.forced_bytes() == b"ab-"
    assert m.accept_bytes(b"ab-a")
    assert m.forced_bytes() == b"c"
    assert m.accept_bytes(b"c")
    assert m.forced_bytes() == b""  # accepting: stopping is possible


def test_special_and_padding_ids_are_never_allowed():
    vocab = small_vocab(extra_special=40)
    grammar = cn.Grammar.from_regex(r"[^x]*")  # every token that starts valid UTF-8
    m = cn.compile(grammar, vocab).matcher()
    ids = allowed(m)
    assert ids == oracle(grammar, vocab, b"")
    assert len(ids) > 30 and not ids & set(vocab.special_ids.tolist()) - set(vocab.eos_token_ids)
    special = int(vocab.special_ids[0])
    assert not m.accept_token(special)
    row = np.full((1, (vocab.vocab_size + 31) // 32 + 3), -1, np.int32)  # a wider model vocabulary
    m.fill_bitmask(row)
    assert set(cn.bitmask_to_ids(row[0], row.shape[1] * 32).tolist()) == ids


def test_bad_ids_and_bitmasks_raise_clear_errors(vocab):
    m = cn.compile(cn.Grammar.from_regex("a"), vocab).matcher()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m.accept_token(vocab.vocab_size)
    with pytest.raises(ValueError, match="narrower"):
        m.fill_bitmask(np.zeros((1, 0), np.int32))
    with pytest.raises(TypeError, match="int32"):
        m.fill_bitmask(np.zeros((1, 4), np.int64))
    with pytest.raises(IndexError, match="row 2"):
        m.fill_bitmask(np.zeros((2, 4), np.int32), row=2)
    with pytest.raises(TypeError, match="CompiledGrammar.matcher"):
        cn.Matcher()


def test_fill_bitmasks_equals_one_by_one_fills(vocab):
    compiled = [cn.compile(cn.Grammar.from_regex(p), vocab) for p in PATTERNS]
    matchers = []
    for i, c in enumerate(compiled * 8):
        m = c.matcher()
        m.accept_bytes(b"")
        matchers.append(m)
    for i, m in enumerate(matchers[::3]):
        m.accept_token(m.allowed_token_ids()[i % len(m.allowed_token_ids())])
    expected = np.zeros((len(matchers), (vocab.vocab_size + 31) // 32), np.int32)
    for i, m in enumerate(matchers):
        m.fill_bitmask(expected, i)
    rows = list(reversed(range(len(matchers))))
    for threads in (None, 1, 2, 4):
        out = torch.zeros(expected.shape, dtype=torch.int32)
        cn.fill_bitmasks(matchers, out, rows=rows, threads=threads)
        assert np.array_equal(out.numpy()[::-1], expected)


def test_apply_bitmask_masks_disallowed_and_padded_logits(vocab):
    m = cn.compile(cn.Grammar.from_regex("a|b"), vocab).matcher()
    bitmask = cn.allocate_bitmask(2, vocab.vocab_size)
    m.fill_bitmask(bitmask, 1)
    logits = torch.randn(2, 32 * bitmask.shape[1] + 5)
    original = logits.clone()
    cn.apply_bitmask(logits, bitmask)
    assert torch.equal(logits[0, :vocab.vocab_size], original[0, :vocab.vocab_size])
    finite = set(torch.isfinite(logits[1]).nonzero().flatten().tolist())
    assert finite == allowed(m)
    assert torch.isinf(logits[:, 32 * bitmask.shape[1]:]).all()  # padded vocabulary columns
    single = original[1].clone()
    cn.apply_bitmask(single, bitmask[1])
    assert torch.equal(single, logits[1])
    picked = original.clone()
    cn.apply_bitmask(picked, bitmask[1:], indices=[0])
    assert torch.equal(torch.isfinite(picked[0]), torch.isfinite(logits[1]))
    assert torch.equal(picked[1], original[1])


def test_compiled_grammar_round_trips_through_the_disk_cache(vocab, tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    _memory_cache.clear()
    grammar = cn.Grammar.from_regex(r"(ab|c)+-é{1,3}")
    fresh = cn.compile(grammar, vocab)
    assert list(tmp_path.rglob("*.npz")), "compile() wrote no cache file"
    _memory_cache.clear()
    loaded = cn.compile(grammar, vocab)
    assert loaded is not fresh
    for prefix in [b"", b"ab", b"abc-", b"c-\xc3", b"c-\xc3\xa9"]:
        a, b = fresh.matcher(), loaded.matcher()
        assert a.accept_bytes(prefix) and b.accept_bytes(prefix)
        assert allowed(a) == allowed(b)


def test_damaged_disk_cache_is_rebuilt(vocab, tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    _memory_cache.clear()
    grammar = cn.Grammar.from_regex(r"c(ab)*")
    expected = allowed(cn.compile(grammar, vocab).matcher())
    for path in tmp_path.rglob("*.npz"):
        path.write_bytes(b"not a cache file")
    _memory_cache.clear()
    assert allowed(cn.compile(grammar, vocab).matcher()) == expected


def test_choices_accept_exactly_the_choices(vocab):
    grammar = cn.Grammar.from_choices(["ab", "abc", "é-", "c"])
    compiled = cn.compile(grammar, vocab)
    for text in [b"ab", b"abc", "é-".encode(), b"c"]:
        m = compiled.matcher()
        assert m.accept_bytes(text) and m.is_accepting()
    m = compiled.matcher()
    assert not m.accept_bytes(b"b")
    with pytest.raises(cn.GrammarError, match="at least one choice"):
        cn.Grammar.from_choices([])
    with pytest.raises(TypeError, match="choice 1"):
        cn.Grammar.from_choices(["a", 3])
