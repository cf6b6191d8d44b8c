"""A small scannerless Earley recogniser over the IR, for messages: which terminals are alive at
a byte offset.

Not used for masks (the C++ core does that); it exists so ``explain`` can name the terminals
that could continue at a failure point, exactly under the scannerless semantics: terminals are
matched byte by byte on their DFAs, every lexing counts, and ignored terminals may appear
between any two terminals and at both ends.
"""

from __future__ import annotations

from ..automata.cfg import Cfg
from ._analysis import terminal_dfas

_START = "$start"
_IGNORE = "$ignored"


class TerminalTracker:
    """Runs a ``Cfg`` over a byte string and reports the terminal items alive at its end."""

    def __init__(self, cfg: Cfg):
        used = {s for alts in cfg.rules.values() for a in alts for s in a if s in cfg.terminals}
        self.ignore = tuple(cfg.ignore)
        self.dfas = terminal_dfas(cfg, sorted(used | set(self.ignore)))
        rules: list[tuple[str, tuple[str, ...]]] = []
        pad = (_IGNORE,) if self.ignore else ()
        for lhs, alts in cfg.rules.items():
            for alt in alts:
                rhs: list[str] = []
                for sym in alt:
                    rhs.append(sym)
                    if sym in self.dfas:
                        rhs.extend(pad)
                rules.append((lhs, tuple(rhs)))
        self.start_rule = len(rules)
        rules.append((_START, pad + (cfg.start,)))
        if self.ignore:
            rules.append((_IGNORE, ()))
            rules += [(_IGNORE, (_IGNORE, name)) for name in self.ignore]
        self.rules = rules
        self.by_lhs: dict[str, list[int]] = {}
        for i, (lhs, _) in enumerate(rules):
            self.by_lhs.setdefault(lhs, []).append(i)
        self.nullable = self._nullable()

    def _nullable(self) -> set[str]:
        nullable: set[str] = set()
        empty_terms = {t for t, d in self.dfas.items() if d.n_states and d.accepting[0]}
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self.rules:
                if lhs not in nullable and all(s in nullable or s in empty_terms for s in rhs):
                    nullable.add(lhs)
                    changed = True
        return nullable | empty_terms

    def alive(self, data: bytes) -> set[tuple[str, int]]:
        """(terminal, DFA state) pairs of the terminals being matched after ``data``; empty if
        ``data`` is not a viable prefix."""
        waits: list[dict] = []
        terms: list[set] = []
        term_waits: list[dict] = []
        self._closure(0, {(self.start_rule, 0, 0)}, (), waits, terms, term_waits)
        for pos, byte in enumerate(data):
            seeds = set()
            nxt = set()
            for (name, state, origin) in terms[pos]:
                dfa = self.dfas[name]
                state2 = int(dfa.transitions[state, byte])
                if state2 < 0:
                    continue
                nxt.add((name, state2, origin))
                if dfa.accepting[state2]:
                    for (r, d, o) in term_waits[origin].get(name, ()):
                        seeds.add((r, d + 1, o))
            if not nxt and not seeds:
                return set()
            self._closure(pos + 1, seeds, nxt, waits, terms, term_waits)
        return {(name, state) for (name, state, _) in terms[len(data)]}

    def _closure(self, pos, seeds, scanned, waits, terms, term_waits) -> None:
        """Predict and complete at ``pos`` from ``seeds`` (rule items) and ``scanned`` (terminal
        items carried over the last byte); appends position ``pos`` to the three tables.

        Completions of nullable symbols are taken at prediction time (Aycock and Horspool), so
        an item completed at its own origin never misses a later waiting item.
        """
        waits.append({})
        terms.append(set(scanned))
        term_waits.append({})
        here_waits, here_terms, here_twaits = waits[pos], terms[pos], term_waits[pos]
        done: set = set()
        todo = list(seeds)
        predicted: set[str] = set()
        while todo:
            item = todo.pop()
            if item in done:
                continue
            done.add(item)
            r, d, o = item
            lhs, rhs = self.rules[r]
            if d == len(rhs):
                for (r2, d2, o2) in waits[o].get(lhs, ()):
                    todo.append((r2, d2 + 1, o2))
                continue
            sym = rhs[d]
            if sym in self.dfas:
                here_twaits.setdefault(sym, []).append(item)
                here_terms.add((sym, 0, pos))
                dfa = self.dfas[sym]
                if dfa.n_states and dfa.accepting[0]:
                    todo.append((r, d + 1, o))
                continue
            here_waits.setdefault(sym, []).append(item)
            if sym in self.nullable:
                todo.append((r, d + 1, o))
            if sym not in predicted:
                predicted.add(sym)
                todo.extend((r2, 0, pos) for r2 in self.by_lhs.get(sym, ()))
