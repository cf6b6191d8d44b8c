"""Context-free grammars: exact masks against the independent Earley oracle, walks, errors."""

from __future__ import annotations

import itertools

import lark
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import constrain as cn
from constrain.grammars import DIRECTORY
from reference.earley import EarleyOracle
from reference.token_oracle import reference_allowed
from strategies import lark_grammars
from walks import random_walk


def byte_vocab():
    """Every single byte, a few multi-byte tokens (some crossing terminal ends), and EOS."""
    tokens = [bytes([b]) for b in range(256)]
    tokens += [b"ab", b"ba", b"a(", b"),", b"(a", b"12", b"d ", b" (", b"\xc3\xa9", b"b\xc3",
               b"\xa9a", b"cd", b"a b", b'{"', b'":', b'",', b"[1", b"1]", b"e5", b"},"]
    tokens.append(b"")
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1])


BYTES = byte_vocab()


def lark_accepts(text: str, data: bytes) -> bool:
    """The reference for complete strings: Lark's Earley parser with a complete dynamic lexer."""
    try:
        parser = lark.Lark(text, parser="earley", lexer="dynamic_complete",
                           import_paths=[str(DIRECTORY)])
        parser.parse(data.decode("utf-8"))
        return True
    except (lark.exceptions.UnexpectedInput, UnicodeDecodeError):
        return False


def oracle_mask(oracle, vocab, prefix, ids=None):
    return reference_allowed(vocab.token_bytes, vocab.eos_token_ids, prefix,
                             oracle.viable_bytes, oracle.complete_bytes, ids=ids)


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(text=lark_grammars(), seed=st.integers(0, 2**32 - 1))
def test_random_grammars_masks_equal_oracle_along_walks(text, seed):
    try:
        grammar = cn.Grammar.from_lark(text)
    except cn.GrammarError as e:
        assert "empty" in str(e)
        return
    oracle = EarleyOracle(text)
    compiled = cn.compile(grammar, BYTES)
    rng = np.random.default_rng(seed)

    def check(m, prefix, allowed):
        assert allowed == oracle_mask(oracle, BYTES, prefix), (text, prefix)

    out, complete = random_walk(compiled, BYTES, rng, max_tokens=12, on_step=check,
                                stop_probability=0.25)
    if complete:
        assert lark_accepts(text, out), (text, out)


@SETTINGS
@given(text=lark_grammars(), data=st.data())
def test_random_grammars_accept_every_split_of_sampled_strings(text, data):
    try:
        grammar = cn.Grammar.from_lark(text)
    except cn.GrammarError:
        return
    compiled = cn.compile(grammar, BYTES)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    out, complete = random_walk(compiled, BYTES, rng, max_tokens=20, stop_probability=0.25)
    if not complete:
        return
    for _ in range(3):  # re-split the same bytes into other tokens
        ids, i = [], 0
        while i < len(out):
            options = [t for n in (1, 2, 3) if (t := BYTES.token_id(out[i:i + n])) is not None]
            ids.append(int(rng.choice(options)))
            i += len(BYTES.token_bytes[ids[-1]])
        m = compiled.matcher()
        assert m.accept_tokens(ids) == len(ids) and m.is_accepting(), (text, out, ids)


AMBIGUOUS = r"""
start: e
e: e "+" e | e e | NUM | "(" e ")" |
NUM: /[0-9]+/
%ignore " "
"""


@pytest.mark.parametrize("text, good, bad", [
    ("start: start \"a\" | \"b\"\n", ["b", "baaa"], ["a", "bab"]),            # left recursion
    ("start: \"a\" start | \"b\"\n", ["b", "aab"], ["ba", "aa"]),              # right recursion
    (AMBIGUOUS, ["", "+", "1+2", "(1 2)+3", "1++2"], ["(1", ")", "1)", "a"]),  # ambiguity, empty
    ("start: x x\nx: \"a\"?\n", ["", "a", "aa"], ["aaa", "b"]),                # nullable rules
    ("start: A B\nA: /a+/\nB: /a*b/\n", ["ab", "aaab"], ["b", "aa"]),          # lexing ambiguity
])
def test_grammar_shapes(text, good, bad):
    grammar = cn.Grammar.from_lark(text)
    for s in good:
        assert grammar.matches(s) and lark_accepts(text, s.encode()), s
    for s in bad:
        assert not grammar.matches(s) and not lark_accepts(text, s.encode()), s


def test_exhaustive_prefixes_of_an_ambiguous_grammar():
    grammar = cn.Grammar.from_lark(AMBIGUOUS)
    oracle = EarleyOracle(AMBIGUOUS)
    compiled = cn.compile(grammar, BYTES)
    for n in range(4):
        for chars in itertools.product("1(+) ", repeat=n):
            prefix = "".join(chars).encode()
            m = compiled.matcher()
            ok = m.accept_bytes(prefix)
            assert ok == oracle.viable_bytes(prefix), prefix
            if ok:
                assert set(m.allowed_token_ids().tolist()) == oracle_mask(oracle, BYTES, prefix)


def test_rollback_fork_reset_and_forced_bytes():
    grammar = cn.Grammar.from_lark('start: "{" "\\"key\\"" ":" NUM "}"\nNUM: /[0-9]+/\n')
    compiled = cn.compile(grammar, BYTES)
    m = compiled.matcher()
    assert m.forced_bytes() == b'{"key":'
    history = [set(m.allowed_token_ids().tolist())]
    for piece in [b'{"', b"k", b"e", b"y", b'":', b"1", b"2", b"}"]:
        assert m.accept_token(BYTES.token_id(piece)), piece
        history.append(set(m.allowed_token_ids().tolist()))
    assert m.is_accepting() and m.forced_bytes() == b""
    for back in range(1, len(history)):
        f = m.fork()
        f.rollback(back)
        assert set(f.allowed_token_ids().tolist()) == history[-1 - back]
    assert m.accept_token(BYTES.eos_token_ids[0]) and m.is_terminated()
    assert m.allowed_token_ids().tolist() == list(BYTES.eos_token_ids)
    m.rollback(1)
    assert not m.is_terminated()
    m.reset()
    assert m.num_steps == 0 and set(m.allowed_token_ids().tolist()) == history[0]


@pytest.mark.parametrize("text, message", [
    ("start: missing\n", "missing"),
    ("start: NOPE\n%import common.NOPE\n", "NOPE"),
    ("start: x\nx: x \"a\"\n", "empty"),
    ("start: /(?<=a)b/\n", "lookbehind"),
    ("start: \"a\n", "line 1"),
])
def test_grammar_errors_name_the_problem(text, message):
    with pytest.raises(cn.GrammarError, match=message):
        cn.Grammar.from_lark(text)


_SYMBOLS = st.sampled_from(["A", "B", "C", "D", "t", "u"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "B", "C", "D"]),
                       st.lists(st.lists(_SYMBOLS, max_size=3), max_size=3), max_size=4),
       st.sets(st.sampled_from(["t", "u"])))
def test_productive_symbols_equals_the_naive_fixpoint(rules, terminals):
    from constrain.automata.cfg import productive_symbols
    naive, changed = set(terminals), True
    while changed:
        changed = False
        for lhs, alts in rules.items():
            if lhs not in naive and any(all(s in naive for s in alt) for alt in alts):
                naive.add(lhs)
                changed = True
    assert productive_symbols(rules, terminals) == naive
