"""The grammar IR: a context-free grammar whose terminals are regular languages of bytes.

``Cfg`` is what front ends (Lark, GBNF, JSON Schema) produce; ``normalize`` turns it into the
integer tables the C++ core runs (``CfgTables``): ignored terminals folded into every
terminal, empty and unproductive parts removed, unreachable parts dropped.

Semantics are scannerless: the start symbol derives sequences of terminals, each terminal
stands for its whole regular language, and the ``ignore`` terminals may appear any number of
times between any two terminals and at both ends. Every lexing counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Union

import numpy as np

from constrain.errors import GrammarError, RegexError

from .dfa import ByteDFA
from .regex import Node, alternation, ast_to_dfa, concat, repeat

START = "$start"        # the augmented start rule: START -> IGNORE start
IGNORE = "$ignore"      # the terminal of ignored text, (ignore_1 | ... | ignore_n)*


@dataclass(frozen=True)
class Cfg:
    """A context-free grammar over regular terminals.

    Attributes:
        terminals: terminal name -> its language: a regex AST, or a ``ByteDFA`` (for languages
            built by automaton operations, e.g. intersections; those cannot be combined with
            ``ignore``).
        rules: nonterminal name -> its alternatives, each a tuple of symbol names (terminal or
            nonterminal names; the two name sets are disjoint).
        start: the start nonterminal.
        ignore: names of terminals that may appear between any two terminals.
        origins: optional symbol name -> where it was defined (e.g. "line 3"), for messages.
    """

    terminals: Mapping[str, Union[Node, ByteDFA]]
    rules: Mapping[str, tuple[tuple[str, ...], ...]]
    start: str
    ignore: tuple[str, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)

    def where(self, name: str) -> str:
        """`` (line 3)`` if the origin of ``name`` is known, else an empty string."""
        origin = self.origins.get(name)
        return f" ({origin})" if origin else ""


@dataclass(frozen=True, eq=False)
class CfgTables:
    """A normalised grammar as the C++ core takes it.

    Rule r is ``rule_lhs[r] -> rhs[rule_begin[r]:rule_begin[r + 1]]``; a symbol s >= 0 is
    nonterminal s, s < 0 is terminal ~s. ``start`` is the augmented start nonterminal.
    """

    terminal_names: tuple[str, ...]
    terminal_dfas: tuple[ByteDFA, ...]
    nonterminal_names: tuple[str, ...]
    rule_lhs: np.ndarray
    rule_begin: np.ndarray
    rhs: np.ndarray
    start: int


def fingerprint(tables: CfgTables) -> str:
    """A sha256 of everything that defines the language of normalised tables."""
    h = hashlib.sha256(b"constrain.CfgTables v3")
    arrays = [tables.rule_lhs, tables.rule_begin, tables.rhs, np.array([tables.start], np.int64)]
    for a in arrays:
        data = np.ascontiguousarray(a).tobytes()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    for dfa in tables.terminal_dfas:
        h.update(dfa.digest)
    return h.hexdigest()


def normalize(cfg: Cfg) -> CfgTables:
    """Check ``cfg`` and compile it into ``CfgTables``.

    Raises GrammarError naming the rule and symbol for undefined symbols, bad terminals, and
    an empty language (the start symbol derives no finite string).
    """
    _check_names(cfg)
    rules, terminals = _fold_ignore(cfg)
    dfas = _terminal_dfas(cfg, terminals, rules)
    rules = _productive_rules(cfg, rules, dfas)
    order = _reachable(rules)
    return _tables(rules, dfas, order)


def _check_names(cfg: Cfg) -> None:
    if cfg.start not in cfg.rules:
        raise GrammarError(f"the start rule {cfg.start!r} is not defined")
    both = set(cfg.terminals) & set(cfg.rules)
    if both:
        name = sorted(both)[0]
        raise GrammarError(f"{name!r} is defined both as a terminal and as a rule{cfg.where(name)}")
    for lhs, alternatives in cfg.rules.items():
        for alt in alternatives:
            for sym in alt:
                if sym not in cfg.rules and sym not in cfg.terminals:
                    raise GrammarError(f"rule {lhs!r}{cfg.where(lhs)} uses undefined symbol {sym!r}")
    for name in cfg.ignore:
        if name not in cfg.terminals:
            raise GrammarError(f"ignored terminal {name!r} is not defined")


def _fold_ignore(cfg: Cfg):
    """Rules with the augmented start, and the terminal ASTs with ignored text appended."""
    terminals = dict(cfg.terminals)
    rules = {lhs: [tuple(a) for a in alts] for lhs, alts in cfg.rules.items()}
    if cfg.ignore:
        ignored = repeat(alternation([cfg.terminals[n] for n in cfg.ignore]), 0, None)
        used = {s for alts in rules.values() for a in alts for s in a if s in terminals}
        for name in used:
            if isinstance(terminals[name], ByteDFA):
                raise GrammarError(f"terminal {name!r}{cfg.where(name)} is given as a DFA, which "
                                   "cannot be combined with ignored terminals")
            terminals[name] = concat([terminals[name], ignored])
        terminals[IGNORE] = ignored
        rules[START] = [(IGNORE, cfg.start)]
    else:
        rules[START] = [(cfg.start,)]
    return rules, terminals


def _terminal_dfas(cfg: Cfg, terminals, rules) -> dict[str, ByteDFA]:
    used = {s for alts in rules.values() for a in alts for s in a if s in terminals}
    dfas: dict[str, ByteDFA] = {}
    by_ast: dict[Node, ByteDFA] = {}
    for name in sorted(used):
        node = terminals[name]
        if isinstance(node, ByteDFA):
            dfas[name] = node
            continue
        if node not in by_ast:
            try:
                by_ast[node] = ast_to_dfa(node, name)
            except RegexError as e:
                raise GrammarError(f"terminal {name!r}{cfg.where(name)}: {e}") from None
        dfas[name] = by_ast[node]
    return dfas


def productive_symbols(rules: dict, terminals: Iterable[str]) -> set:
    """The productive ``terminals`` and the nonterminals of ``rules`` (lhs -> alternatives,
    each a sequence of symbols) that derive a string of them. Linear in the grammar's size:
    each alternative counts its symbols not yet known productive."""
    productive = set(terminals)
    missing = []     # per alternative: its symbols not yet productive, with repeats
    waiting = {}     # symbol -> the alternatives that wait for it
    lhs_of = []
    queue = []
    for lhs, alts in rules.items():
        for alt in alts:
            i = len(missing)
            lhs_of.append(lhs)
            missing.append(0)
            for sym in alt:
                if sym not in productive:
                    missing[i] += 1
                    waiting.setdefault(sym, []).append(i)
            if not missing[i]:
                queue.append(lhs)
    while queue:
        sym = queue.pop()
        if sym in productive:
            continue
        productive.add(sym)
        for i in waiting.pop(sym, ()):
            missing[i] -= 1
            if not missing[i]:
                queue.append(lhs_of[i])
    return productive


def _productive_rules(cfg: Cfg, rules, dfas):
    productive = productive_symbols(rules, (n for n, dfa in dfas.items() if not dfa.is_empty))
    if START not in productive:
        raise GrammarError(f"the grammar's language is empty: rule {cfg.start!r}"
                           f"{cfg.where(cfg.start)} derives no finite string")
    return {lhs: [a for a in alts if all(s in productive for s in a)]
            for lhs, alts in rules.items() if lhs in productive}


def _reachable(rules) -> list[str]:
    """Nonterminals reachable from START, in discovery order."""
    order, seen = [START], {START}
    for lhs in order:
        for alt in rules[lhs]:
            for s in alt:
                if s in rules and s not in seen:
                    seen.add(s)
                    order.append(s)
    return order


def _tables(rules, dfas, order) -> CfgTables:
    nt_index = {name: i for i, name in enumerate(order)}
    term_names = sorted({s for lhs in order for a in rules[lhs] for s in a if s in dfas})
    t_index = {name: i for i, name in enumerate(term_names)}
    lhs_list, begins, rhs = [], [0], []
    for lhs in order:
        for alt in rules[lhs]:
            lhs_list.append(nt_index[lhs])
            rhs.extend(nt_index[s] if s in nt_index else ~t_index[s] for s in alt)
            begins.append(len(rhs))
    terminal_dfas = tuple(dfas[n] for n in term_names)
    return CfgTables(
        terminal_names=tuple(term_names),
        terminal_dfas=terminal_dfas,
        nonterminal_names=tuple(order),
        rule_lhs=np.asarray(lhs_list, np.int32),
        rule_begin=np.asarray(begins, np.int32),
        rhs=np.asarray(rhs, np.int32),
        start=nt_index[START],
    )


def prefixed(cfg: Cfg, prefix: str) -> Cfg:
    """The same grammar with every symbol name (terminals and rules) prefixed by ``prefix``.

    For embedding several grammars into one ``Cfg`` without name clashes: pick prefixes
    that no other symbol of the host grammar starts with.
    """
    def rename(name: str) -> str:
        return prefix + name

    return Cfg(
        terminals={rename(n): t for n, t in cfg.terminals.items()},
        rules={rename(lhs): tuple(tuple(rename(s) for s in alt) for alt in alts)
               for lhs, alts in cfg.rules.items()},
        start=rename(cfg.start),
        ignore=tuple(rename(n) for n in cfg.ignore),
        origins={rename(n): o for n, o in cfg.origins.items()},
    )


def inline_ignore(cfg: Cfg) -> Cfg:
    """An equivalent grammar with no ``ignore`` terminals: the ignored text is folded into
    the end of every used terminal and before the start symbol, as ``normalize`` does.

    A grammar embedded inside another must not keep its own ``ignore`` list (the host's
    applies everywhere), so embedders inline it first. Raises GrammarError for DFA
    terminals that would need ignored text appended.
    """
    if not cfg.ignore:
        return cfg
    _check_names(cfg)
    rules, terminals = _fold_ignore(cfg)
    return Cfg(terminals=terminals, rules={lhs: tuple(alts) for lhs, alts in rules.items()},
               start=START, ignore=(), origins=dict(cfg.origins))
