"""LTLf specifications of agent traces: parse formulas over step labels, compile them to DFAs.

    from constrain.ltl import compile_ltl
    dfa = compile_ltl(["G(Action -> X ActionInput)", "F FinalAnswer"],
                      labels=["Thought", "Action", "ActionInput", "Observation", "FinalAnswer"])
    dfa.accepts(["Thought", "Action", "ActionInput", "FinalAnswer"])   # True

Syntax and semantics: docs/LTL.md. The implementation lives in ``constrain.automata.ltl``.

``AgentSpec`` combines the rules with a grammar per step into one grammar for a whole agent
trace, checks written traces and runs models with tools in the loop (docs/AGENTS.md).
"""

from ..automata.ltl import (Always, And, Atom, Bool, Eventually, Formula, Iff, Implies,
                            LabelDFA, LTLError, Next, Not, Or, Release, Until, WeakNext,
                            WeakUntil, compile_ltl, parse_ltl)
from .agent import (ENVIRONMENT, TOOLS, AgentSpec, AgentSpecError, CheckResult, Environment,
                    Step)


def __getattr__(name):
    # The runner needs torch: import it on first use, not with the package.
    if name in ("AgentRunner", "AgentRun", "AgentRunError"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'constrain.ltl' has no attribute {name!r}")

__all__ = [
    "AgentRun",
    "AgentRunError",
    "AgentRunner",
    "AgentSpec",
    "AgentSpecError",
    "CheckResult",
    "ENVIRONMENT",
    "Environment",
    "Step",
    "TOOLS",
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
