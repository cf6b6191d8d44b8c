"""Tests of constrain.automata.ltl: the LTLf parser, and LTLf -> minimal DFA over step labels.

The compiled DFAs are checked against ``reference.ltl_eval.holds`` (the definitions, evaluated
recursively) on every trace up to a length bound, for random formulas using every operator;
each DFA is also checked to be trimmed, minimal (table filling) and canonically numbered.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain.automata.ltl import (Always, And, Atom, Bool, Eventually, Formula, Iff, Implies,
                                    LabelDFA, LTLError, Next, Not, Or, Release, Until, WeakNext,
                                    WeakUntil, compile_ltl, parse_ltl)
from constrain.errors import GrammarError

from reference.ltl_eval import holds

REACT = ["Thought", "Action", "ActionInput", "Observation", "FinalAnswer"]
UNARY = (Not, Next, WeakNext, Eventually, Always)
BINARY = (And, Or, Implies, Iff, Until, Release, WeakUntil)


# ---------------------------------------------------------------------------
# Helpers: random formulas, trace enumeration, structural checks


def random_formula(rng: random.Random, atoms, depth: int) -> Formula:
    """A random formula of depth <= ``depth`` over ``atoms`` using every operator."""
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.1:
            return Bool(rng.random() < 0.5)
        return Atom(rng.choice(atoms))
    if rng.random() < 0.45:
        return rng.choice(UNARY)(random_formula(rng, atoms, depth - 1))
    return rng.choice(BINARY)(random_formula(rng, atoms, depth - 1),
                              random_formula(rng, atoms, depth - 1))


def formulas(atoms, depth: int = 4):
    """Hypothesis strategy: formulas of depth <= ``depth`` over ``atoms``."""
    leaves = st.one_of(st.sampled_from(atoms).map(Atom), st.booleans().map(Bool))
    if depth == 0:
        return leaves
    sub = formulas(atoms, depth - 1)
    return st.one_of(
        leaves,
        st.tuples(st.sampled_from(UNARY), sub).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(BINARY), sub, sub).map(lambda t: t[0](t[1], t[2])),
    )


def check_against_reference(formula: Formula, dfa: LabelDFA, max_len: int) -> int:
    """Assert ``dfa.accepts(t) == holds(formula, t)`` for every trace t up to ``max_len``.

    Walks the tree of traces depth-first, carrying the DFA state, so each trace costs one
    step; returns the number of traces checked.
    """
    memo: dict = {}
    labels = dfa.labels
    checked = 0
    stack = [((), 0 if dfa.n_states else -1)]
    while stack:
        trace, state = stack.pop()
        accepted = state >= 0 and bool(dfa.accepting[state])
        expected = holds(formula, trace, 0, memo)
        assert accepted == expected, \
            f"{formula} on {list(trace)}: dfa {accepted}, reference {expected}"
        checked += 1
        if len(trace) < max_len:
            for j, label in enumerate(labels):
                nxt = int(dfa.transitions[state, j]) if state >= 0 else -1
                stack.append((trace + (label,), nxt))
    return checked


def check_structure(dfa: LabelDFA) -> None:
    """Trimmed (reachable, live), canonically numbered, and minimal (table filling)."""
    n, k = dfa.transitions.shape
    assert dfa.transitions.dtype == np.int32 and dfa.accepting.dtype == bool
    assert k == len(dfa.labels) and dfa.accepting.shape == (n,)
    if n == 0:
        return
    trans = dfa.transitions.tolist()
    # Canonical numbering: breadth-first discovery order from state 0, successors in label order.
    order = [0]
    for s in order:
        for t in trans[s]:
            if t >= 0 and t not in order:
                order.append(t)
    assert order == list(range(n)), "states not numbered breadth-first / not all reachable"
    # Live: every state reaches an accepting state.
    live = set(np.flatnonzero(dfa.accepting).tolist())
    changed = True
    while changed:
        changed = False
        for s in range(n):
            if s not in live and any(t in live for t in trans[s] if t >= 0):
                live.add(s)
                changed = True
    assert live == set(range(n)), "a state cannot reach acceptance (dead state kept)"
    # Minimal: every pair of states is distinguishable (with -1 as the rejecting sink).
    acc = dfa.accepting.tolist() + [False]
    full = [row[:] for row in trans] + [[n] * k]
    full = [[t if t >= 0 else n for t in row] for row in full]
    dist = {(p, q) for p in range(n + 1) for q in range(n + 1) if acc[p] != acc[q]}
    changed = True
    while changed:
        changed = False
        for p in range(n + 1):
            for q in range(n + 1):
                if p != q and (p, q) not in dist and any(
                        (full[p][j], full[q][j]) in dist for j in range(k)):
                    dist.add((p, q))
                    changed = True
    for p, q in itertools.combinations(range(n + 1), 2):
        assert (p, q) in dist, f"states {p} and {q} are equivalent: not minimal"


# ---------------------------------------------------------------------------
# Parser


A, B, C = Atom("a"), Atom("b"), Atom("c")


@pytest.mark.parametrize("text,expected", [
    ("a", A),
    ("true", Bool(True)),
    ("false", Bool(False)),
    ("!a", Not(A)),
    ("!!a", Not(Not(A))),
    ("a & b | c", Or(And(A, B), C)),
    ("a | b & c", Or(A, And(B, C))),
    ("a & b & c", And(And(A, B), C)),
    ("a | b | c", Or(Or(A, B), C)),
    ("a -> b -> c", Implies(A, Implies(B, C))),
    ("(a -> b) -> c", Implies(Implies(A, B), C)),
    ("a <-> b <-> c", Iff(Iff(A, B), C)),
    ("a -> b <-> c", Iff(Implies(A, B), C)),
    ("a <-> b -> c", Iff(A, Implies(B, C))),
    ("a | b -> c", Implies(Or(A, B), C)),
    ("a U b U c", Until(A, Until(B, C))),
    ("a R b R c", Release(A, Release(B, C))),
    ("a W b W c", WeakUntil(A, WeakUntil(B, C))),
    ("a U b R c W a", Until(A, Release(B, WeakUntil(C, A)))),
    ("(a U b) U c", Until(Until(A, B), C)),
    ("a U b & c", And(Until(A, B), C)),
    ("a & b U c", And(A, Until(B, C))),
    ("a U b | c U a", Or(Until(A, B), Until(C, A))),
    ("!a U b", Until(Not(A), B)),
    ("F a U b", Until(Eventually(A), B)),
    ("G a W b", WeakUntil(Always(A), B)),
    ("X a U WX b", Until(Next(A), WeakNext(B))),
    ("X X a", Next(Next(A))),
    ("WX !X a", WeakNext(Not(Next(A)))),
    ("F G a", Eventually(Always(A))),
    ("G(a -> X b)", Always(Implies(A, Next(B)))),
    ("G!a", Always(Not(A))),
    ("X(a)", Next(A)),
    ("Xa", Atom("Xa")),                       # an identifier, not X applied to a
    ("Fa & Ga", And(Atom("Fa"), Atom("Ga"))),
    ("! (a & b)", Not(And(A, B))),
    ("((a))", A),
    ("a->b", Implies(A, B)),
    ("a<->b", Iff(A, B)),
    ('"Action Input"', Atom("Action Input")),
    ('"X" U "true"', Until(Atom("X"), Atom("true"))),
    (r'"say \"hi\" \\ "', Atom('say "hi" \\ ')),
    ("Final_Answer2", Atom("Final_Answer2")),
    ("  a\n&\tb  ", And(A, B)),
])
def test_parse(text, expected):
    assert parse_ltl(text) == expected


def test_quoted_label_is_kept_as_written():
    assert parse_ltl('"Action Input"') != parse_ltl("ActionInput")
    labels = ["Action Input", "ActionInput"]
    dfa = compile_ltl('"Action Input"', labels)
    assert dfa.accepts(["Action Input"]) and not dfa.accepts(["ActionInput"])
    with pytest.raises(LTLError, match='must be quoted: "Action Input"'):
        compile_ltl("Action Input", labels)   # two identifiers: a syntax error
    with pytest.raises(LTLError, match="did you mean 'Action Input'"):
        compile_ltl('"Action  Input"', labels)


@pytest.mark.parametrize("text,column,words", [
    ("", 1, "empty formula"),
    ("   ", 4, "empty formula"),
    ("a &", 4, "expected a formula, found the end"),
    ("a & & b", 5, "expected a formula, found '&'"),
    ("a && b", 4, "expected a formula, found '&'"),
    ("(a", 3, "expected ')' to close the '(' at column 1"),
    ("((a) | b", 9, "expected ')' to close the '(' at column 1"),
    ("a)", 2, "unmatched ')'"),
    ("()", 2, "expected a formula, found ')'"),
    ("a $ b", 3, "unexpected character '$'"),
    ("a - b", 3, "did you mean '->'"),
    ("a => b", 3, "did you mean '->'"),
    ("a <- b", 3, "unexpected character '<'"),
    ("U a", 1, "binary operator 'U'"),
    ("a U", 4, "expected a formula, found the end"),
    ("a R R b", 5, "binary operator 'R'"),
    ("G", 2, "expected a formula, found the end"),
    ("a b", 3, "found label b"),
    ("a b & c", 3, 'must be quoted: "a b"'),
    ("a X b", 3, "found operator 'X'"),
    ("F a)", 4, "unmatched ')'"),
    ('"abc', 1, "unterminated quoted label"),
    ('a & ""', 5, "empty quoted label"),
    (r'"a\n"', 3, "unknown escape"),
    ("!", 2, "expected a formula, found the end"),
])
def test_parse_errors(text, column, words):
    with pytest.raises(LTLError) as info:
        parse_ltl(text)
    err = info.value
    assert err.column == column and err.formula == text
    assert words in str(err)
    lines = str(err).split("\n")
    assert lines[-1].index("^") - lines[-1].index("    ") - 4 == column - 1   # caret under it
    assert isinstance(err, GrammarError)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(LTLError, match="nested too deeply"):
        parse_ltl("(" * 5000 + "a" + ")" * 5000)
    assert compile_ltl("X " * 200 + "a", ["a", "b"]).n_states == 202


def test_parse_rejects_non_str():
    with pytest.raises(TypeError):
        parse_ltl(b"a")


@settings(max_examples=300, deadline=None)
@given(formulas(["a", "b", "Action Input", "X", "c_1"]))
def test_print_parse_round_trip(f):
    assert parse_ltl(str(f)) == f


# ---------------------------------------------------------------------------
# Semantics on hand-picked cases


@pytest.mark.parametrize("text,accepted,rejected", [
    ("a", ["a", "ab"], ["", "b", "ba"]),
    ("!a", ["", "b", "ba"], ["a", "ab"]),
    ("X b", ["ab", "bba"], ["", "a", "b", "aa"]),
    ("WX b", ["", "a", "ab"], ["aa", "ba"]),
    ("!X b", ["", "a", "aa"], ["ab"]),
    ("F b", ["b", "aab"], ["", "a", "aaa"]),
    ("G a", ["", "a", "aaa"], ["b", "aab"]),
    ("a U b", ["b", "aab"], ["", "a", "aa", "acb"]),
    ("a R b", ["", "b", "bbb"], ["a", "ab", "bbc", "ba"]),   # = G b: one label per step
    ("a R (a | b)", ["", "b", "bbb", "a", "ac", "bbac"], ["c", "bc", "bbc"]),
    ("a W b", ["", "a", "aa", "aab", "b"], ["c", "aac"]),
    ("G(a -> X b)", ["", "b", "ab", "abab"], ["a", "aa", "aba"]),
    ("G(a -> WX b)", ["", "a", "ab", "aba"], ["aa", "aab"]),
    ("F(a & WX false)", ["a", "ba"], ["", "ab", "b"]),       # a is the last step
    ("X true", ["aa", "ab"], ["", "a"]),                      # at least two steps
    ("G false", [""], ["a", "ab"]),                           # only the empty trace
    ("F true", ["a", "ab"], [""]),                            # non-empty traces
    ("true", ["", "a"], []),
    ("false", [], ["", "a"]),
    ("a <-> X a", ["", "b", "aa", "bb", "bc"], ["a", "ab", "ba"]),
])
def test_semantics_examples(text, accepted, rejected):
    dfa = compile_ltl(text, ["a", "b", "c"])
    f = parse_ltl(text)
    for trace in accepted:
        assert dfa.accepts(list(trace)) and holds(f, list(trace)), trace
    for trace in rejected:
        assert not dfa.accepts(list(trace)) and not holds(f, list(trace)), trace


def test_empty_trace_convention():
    """At position n = 0 atoms, X, F, U are false; WX, G, R, W are true."""
    cases = {"a": False, "!a": True, "X a": False, "WX a": True, "F a": False, "G a": True,
             "a U b": False, "a R b": True, "a W b": True, "X true": False, "WX false": True}
    for text, value in cases.items():
        assert compile_ltl(text, ["a", "b"]).accepts([]) is value, text
        assert holds(parse_ltl(text), []) is value, text


def test_react_rules():
    rules = ["G(Action -> X ActionInput)", "G(ActionInput -> X Observation)",
             "G(Observation -> X Thought)", "Thought", "F FinalAnswer",
             "G(FinalAnswer -> WX false)"]
    dfa = compile_ltl(rules, REACT)
    check_structure(dfa)
    assert dfa.accepts(["Thought", "FinalAnswer"])
    assert dfa.accepts(["Thought", "Action", "ActionInput", "Observation", "Thought",
                        "FinalAnswer"])
    assert not dfa.accepts(["Thought", "Action", "Observation", "FinalAnswer"])
    assert not dfa.accepts(["Thought", "FinalAnswer", "Thought"])
    assert not dfa.accepts([])
    assert dfa.is_viable_prefix(["Thought", "Action"])
    assert not dfa.is_viable_prefix(["Action"])
    state = dfa.run(["Thought", "Action"])
    assert dfa.allowed_labels(state) == ("ActionInput",)
    assert dfa.accepts([0, 4])                       # label indices work too
    assert dfa.run(["Thought", "Action", "Thought"]) == -1


def test_list_is_conjunction():
    rules = ["G(Action -> X ActionInput)", "F FinalAnswer", "G(Thought -> F Action)"]
    joined = compile_ltl(" & ".join(f"({r})" for r in rules), REACT)
    listed = compile_ltl(rules, REACT)
    assert np.array_equal(joined.transitions, listed.transitions)
    assert np.array_equal(joined.accepting, listed.accepting)
    parsed = compile_ltl([parse_ltl(r) for r in rules], REACT)
    assert np.array_equal(parsed.transitions, listed.transitions)
    assert compile_ltl([], REACT).accepts([]) and compile_ltl([], REACT).n_states == 1


@pytest.mark.parametrize("left,right", [
    ("F a", "true U a"),
    ("G a", "!F !a"),
    ("G a", "false R a"),
    ("a W b", "b R (a | b)"),
    ("a R b", "!(!a U !b)"),
    ("a W b", "(a U b) | G a"),
    ("!X a", "WX !a"),
    ("a -> b", "!a | b"),
    ("G F a", "G F a & G F a"),
    ("X a", "X a & F true"),
])
def test_equivalent_formulas_give_identical_dfas(left, right):
    l, r = compile_ltl(left, ["a", "b", "c"]), compile_ltl(right, ["a", "b", "c"])
    assert np.array_equal(l.transitions, r.transitions)
    assert np.array_equal(l.accepting, r.accepting)


@pytest.mark.parametrize("text", ["false", "a & b", "F a & G !a", "X a & WX false",
                                  "G(a -> X a) & F a & G(a -> F b) & G !b"])
def test_unsatisfiable_is_empty_dfa(text):
    dfa = compile_ltl(text, ["a", "b"])
    assert dfa.is_empty and dfa.n_states == 0 and dfa.transitions.shape == (0, 2)
    assert not dfa.accepts([]) and not dfa.is_viable_prefix([]) and not dfa.accepts(["a"])


# ---------------------------------------------------------------------------
# compile_ltl errors


def test_unknown_atom_is_named_with_column():
    with pytest.raises(LTLError) as info:
        compile_ltl(["F FinalAnswer", "G(Action -> X Action_Input)"], REACT)
    err = info.value
    assert "unknown label 'Action_Input'" in str(err) and "did you mean 'ActionInput'" in str(err)
    assert err.column == 15 and err.formula == "G(Action -> X Action_Input)"
    assert "the labels are" in str(err)
    with pytest.raises(LTLError, match="unknown label 'zzz'"):
        compile_ltl(Eventually(Atom("zzz")), REACT)


def test_bad_labels():
    with pytest.raises(LTLError, match="duplicate labels"):
        compile_ltl("a", ["a", "b", "a"])
    with pytest.raises(LTLError, match="empty"):
        compile_ltl("true", [])
    with pytest.raises(LTLError, match="non-empty str"):
        compile_ltl("a", ["a", ""])
    with pytest.raises(TypeError):
        compile_ltl("a", "ab")
    with pytest.raises(TypeError):
        compile_ltl([3], ["a"])


def test_unknown_label_at_run_time():
    dfa = compile_ltl("F a", ["a", "b"])
    with pytest.raises(LTLError, match="unknown label 'c'"):
        dfa.accepts(["c"])
    with pytest.raises(LTLError, match="out of range"):
        dfa.accepts([2])


def test_max_states():
    # "the k-th step from the end is a" needs 2^k states.
    text = "F(a & " + "X " * 6 + "(b & WX false))"
    assert compile_ltl(text, ["a", "b"]).n_states > 64
    with pytest.raises(LTLError, match="more than 20 automaton states"):
        compile_ltl(text, ["a", "b"], max_states=20)


def test_realistic_spec_of_dozens_of_operators_compiles():
    rules = [
        "Thought",
        "G(Thought -> X(Action | FinalAnswer))",
        "G(Action -> X ActionInput)",
        "G(ActionInput -> X Observation)",
        "G(Observation -> X Thought)",
        "G(FinalAnswer -> WX false)",
        "F FinalAnswer",
        "G(Action -> F Observation)",
        "!FinalAnswer U Action | X FinalAnswer",
        "G(Observation -> (!Action W Thought))",
    ]
    dfa = compile_ltl(rules, REACT)
    check_structure(dfa)
    assert dfa.accepts(["Thought", "Action", "ActionInput", "Observation", "Thought",
                        "FinalAnswer"])


# ---------------------------------------------------------------------------
# Random formulas against the reference


@pytest.mark.parametrize("seed", range(6))
def test_random_formulas_match_reference(seed):
    """50 formulas per seed over 3 labels, all 1093 traces up to length 6."""
    rng = random.Random(seed)
    labels = ["a", "b", "c"]
    for _ in range(50):
        f = random_formula(rng, labels, 4)
        dfa = compile_ltl(f, labels)
        check_structure(dfa)
        assert check_against_reference(f, dfa, 6) == 1093


@pytest.mark.parametrize("n_atoms", [3, 4])
def test_random_formulas_four_labels(n_atoms):
    """40 formulas over 3 or 4 atoms compiled over 4 labels (with 3 atoms one label is never
    named and takes the "other labels" path), all 5461 traces up to length 6."""
    rng = random.Random(100 + n_atoms)
    labels = ["a", "b", "c", "d"]
    for _ in range(40):
        f = random_formula(rng, labels[:n_atoms], 4)
        dfa = compile_ltl(f, labels)
        check_structure(dfa)
        assert check_against_reference(f, dfa, 6) == 5461


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas(["a", "b", "c"]), formulas(["a", "b", "c"], 2))
def test_hypothesis_formulas_match_reference(f, g):
    labels = ["a", "b", "c"]
    dfa = compile_ltl([f, g], labels)
    check_structure(dfa)
    check_against_reference(And(f, g), dfa, 5)
    # The negation is the complement on every trace, the empty one included.
    neg = compile_ltl(Not(And(f, g)), labels)
    for n in range(4):
        for trace in itertools.product(labels, repeat=n):
            assert neg.accepts(trace) != dfa.accepts(trace)
