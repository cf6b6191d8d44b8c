"""LTLf semantics written straight from the definitions: recursive on (formula, trace, position).

No automata, no normal forms. A trace is a sequence of labels (one per step), n = len(trace);
positions are 0..n-1, and a formula holds on the trace iff it holds at position 0. The
definitions are applied unchanged at i = n (no step there): every "some j in [i, n)" is
false and every "all j in [i, n)" is true. That is what makes the empty trace meaningful
(i = 0 = n) and is the convention docs/LTL.md documents; for non-empty traces position n is
never reached, because ``X`` and ``WX`` test whether i + 1 exists before looking there.

``memo`` (optional) caches results across calls: the value at position i depends only on the
suffix ``trace[i:]``, so the key is (the node's identity, that suffix). The caller must keep
the formula alive while using the memo.
"""

from __future__ import annotations

from typing import Optional, Sequence

from constrain.automata.ltl import (Always, And, Atom, Bool, Eventually, Formula, Iff, Implies,
                                    Next, Not, Or, Release, Until, WeakNext, WeakUntil)


def holds(f: Formula, trace: Sequence[str], i: int = 0, memo: Optional[dict] = None) -> bool:
    """True iff formula ``f`` holds at position ``i`` of ``trace``."""
    if memo is None:
        return _holds(f, tuple(trace), i, None)
    return _holds(f, tuple(trace), i, memo)


def _holds(f: Formula, trace: tuple, i: int, memo: Optional[dict]) -> bool:
    if memo is None:
        return _eval(f, trace, i, memo)
    key = (id(f), trace[i:])
    value = memo.get(key)
    if value is None:
        value = memo[key] = _eval(f, trace, i, memo)
    return value


def _eval(f: Formula, trace: tuple, i: int, memo: Optional[dict]) -> bool:
    n = len(trace)

    def at(g: Formula, j: int) -> bool:
        return _holds(g, trace, j, memo)

    if isinstance(f, Atom):
        return i < n and trace[i] == f.name
    if isinstance(f, Bool):
        return f.value
    if isinstance(f, Not):
        return not at(f.operand, i)
    if isinstance(f, And):
        return at(f.left, i) and at(f.right, i)
    if isinstance(f, Or):
        return at(f.left, i) or at(f.right, i)
    if isinstance(f, Implies):
        return (not at(f.left, i)) or at(f.right, i)
    if isinstance(f, Iff):
        return at(f.left, i) == at(f.right, i)
    if isinstance(f, Next):
        return i + 1 < n and at(f.operand, i + 1)
    if isinstance(f, WeakNext):
        return i + 1 >= n or at(f.operand, i + 1)
    if isinstance(f, Eventually):
        return any(at(f.operand, j) for j in range(i, n))
    if isinstance(f, Always):
        return all(at(f.operand, j) for j in range(i, n))
    if isinstance(f, Until):
        return any(at(f.right, j) and all(at(f.left, k) for k in range(i, j))
                   for j in range(i, n))
    if isinstance(f, Release):
        # f R g = !(!f U !g), spelled out with the definition of U.
        return not any((not at(f.right, j)) and all(not at(f.left, k) for k in range(i, j))
                       for j in range(i, n))
    if isinstance(f, WeakUntil):
        # f W g = (f U g) | G f
        until = any(at(f.right, j) and all(at(f.left, k) for k in range(i, j))
                    for j in range(i, n))
        return until or all(at(f.left, j) for j in range(i, n))
    raise TypeError(f"not an LTL formula node: {f!r}")
