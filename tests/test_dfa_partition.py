"""The C++ residual-language classes (csrc/dfa_partition.cc) against minimisation.

Oracle: the residual language of state q is the DFA restarted at q; two states have equal
residuals iff the canonical minimal DFAs restarted at them are identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrain._core import residual_classes
from constrain.automata.dfa import dfa_from_strings, minimize
from constrain.automata.regex import regex_to_dfa
from tests.strategies import regex_asts, render


def residual_key(dfa, state: int) -> bytes:
    """A canonical description of the language accepted from ``state``."""
    m = minimize(dfa.transitions, dfa.accepting, start=state)
    return m.transitions.tobytes() + m.accepting.astype(np.uint8).tobytes()


def assert_classes_match_residuals(dfas) -> None:
    classes = residual_classes(dfas)
    assert [len(c) for c in classes] == [d.n_states for d in dfas]
    keys = [residual_key(d, q) for d in dfas for q in range(d.n_states)]
    flat = [int(c) for per_dfa in classes for c in per_dfa]
    for i in range(len(keys)):
        for j in range(i):
            assert (flat[i] == flat[j]) == (keys[i] == keys[j]), (i, j)
    assert sorted(set(flat)) == list(range(len(set(flat))))  # dense numbering


@settings(max_examples=60, deadline=None)
@given(st.lists(regex_asts, min_size=1, max_size=4))
def test_classes_are_residual_languages_of_random_regexes(asts):
    dfas = [regex_to_dfa(render(a)[0]) for a in asts]
    dfas = [d for d in dfas if d.n_states]
    if dfas:
        assert_classes_match_residuals(dfas)


def test_shared_suffixes_across_dfas_share_classes():
    a = dfa_from_strings([b'"abc"', b'"x"'])
    b = regex_to_dfa('"[a-z]*"')
    classes = residual_classes([a, b])
    assert_classes_match_residuals([a, b])
    # The state before the closing quote of a literal with nothing more to come, and the
    # accepting state after it, exist in both automata.
    assert set(classes[0].tolist()) & set(classes[1].tolist())


def test_json_grammar_terminals_share_classes():
    from constrain import Grammar

    tables = Grammar.builtin("json").tables
    assert_classes_match_residuals(list(tables.terminal_dfas))


def test_rejects_dfa_without_states():
    with pytest.raises(ValueError, match="at least one state"):
        residual_classes([type("D", (), {"transitions": np.zeros((0, 256), np.int32),
                                         "accepting": np.zeros(0, bool)})()])
