"""LTLf specifications of agent traces: parse formulas over step labels, compile them to DFAs.

    from constrain.ltl import compile_ltl
    dfa = compile_ltl(["G(Action -> X ActionInput)", "F FinalAnswer"],
                      labels=["Thought", "Action", "ActionInput", "Observation", "FinalAnswer"])
    dfa.accepts(["Thought", "Action", "ActionInput", "FinalAnswer"])   # True

Syntax and semantics: docs/LTL.md. The implementation lives in ``constrain.automata.ltl``.
"""

from ..automata.ltl import (Always, And, Atom, Bool, Eventually, Formula, Iff, Implies,
                            LabelDFA, LTLError, Next, Not, Or, Release, Until, WeakNext,
                            WeakUntil, compile_ltl, parse_ltl)

__all__ = [
    "Always",
    "And",
    "Atom",
    "Bool",
    "Eventually",
    "Formula",
    "Iff",
    "Implies",
    "LTLError",
    "LabelDFA",
    "Next",
    "Not",
    "Or",
    "Release",
    "Until",
    "WeakNext",
    "WeakUntil",
    "compile_ltl",
    "parse_ltl",
]
