"""``lint``: mistakes in a grammar that compile silently or not at all.

Findings (``Finding.code``):

- ``load-error`` (error): the grammar does not parse (syntax, undefined symbols, bad regex).
- ``unproductive-rule`` (error): a rule that derives no finite string (every alternative
  recurses or uses such a rule); when it is the start rule the whole language is empty.
- ``unreachable-rule`` (warning): a rule that the start rule never uses.
- ``unused-terminal`` (warning): a named terminal no rule uses (Lark).
- ``empty-terminal`` (warning): a terminal that matches the empty string.
- ``overlapping-terminals`` (warning): terminals that can occur at the same position and whose
  languages intersect, so some text lexes in more than one way (an ambiguity).
- ``ignored-schema-keyword`` / ``unknown-schema-keyword`` (warning): JSON Schema keywords that
  ``lenient=True`` would drop, or that no validator knows (see ``schema_lint``).

``lint`` works on the un-normalised IR: normalisation drops unreachable and unproductive rules
without a word, and ``Grammar.from_lark`` refuses a grammar whose start is unproductive, so pass
the grammar's text or file (or a built-in name) for a full report. A ``Grammar`` object is
analysed through ``grammar.to_cfg()``, where Lark has already dropped unreachable rules.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from ..automata.cfg import Cfg
from ..errors import GrammarError
from ..grammar import Grammar
from ._analysis import intersection_witness, literal_of, quote, terminal_dfas, terminal_label
from .sources import GrammarSource, resolve

SEVERITIES = ("error", "warning")
Locate = Callable[[str], tuple[Optional[int], Optional[int]]]


@dataclass(frozen=True)
class Finding:
    """One lint finding.

    Attributes:
        code: what kind of problem (see the module docstring).
        severity: ``"error"`` or ``"warning"``.
        message: one sentence naming the rule, terminal or keyword.
        symbol: the rule, terminal or keyword concerned ('' if none).
        line, column: 1-based place in the grammar text, when known.
        pointer: JSON pointer (``#/properties/x``) for JSON Schema findings.
    """

    code: str
    severity: str
    message: str
    symbol: str = ""
    line: Optional[int] = None
    column: Optional[int] = None
    pointer: Optional[str] = None

    @property
    def where(self) -> str:
        """``line:column``, the JSON pointer, or '' when the place is unknown."""
        if self.line is not None:
            return f"{self.line}:{self.column or 1}"
        return self.pointer or ""

    def format(self, name: str = "") -> str:
        """``name:line:column: severity [code] message``, as compilers print."""
        place = ":".join(p for p in (name, self.where) if p)
        return f"{place + ': ' if place else ''}{self.severity} [{self.code}] {self.message}"


def lint(source: Union[Grammar, GrammarSource, str, Path, dict, bool], *,
         start: Optional[str] = None) -> list[Finding]:
    """The findings for a grammar: a ``Grammar``, a ``GrammarSource``, a path to a .lark, .gbnf
    or .json file, a built-in name, Lark or GBNF text, or a JSON Schema (dict).

    Findings come sorted by position; errors and warnings both (see ``Finding.severity``).
    """
    if isinstance(source, Grammar):
        cfg = source.to_cfg()
        return _sorted(lint_cfg(cfg, lambda name: _origin(cfg, name)))
    if isinstance(source, (dict, bool)):
        from .schema_lint import lint_schema

        return _sorted(lint_schema(source))
    if not isinstance(source, GrammarSource):
        source = _as_source(source, start)
    if source.kind == "json-schema":
        from .schema_lint import lint_schema

        try:
            schema = source.schema()
        except GrammarError as e:
            return [Finding("load-error", "error", str(e))]
        return _sorted(lint_schema(schema))
    if source.kind == "lark":
        return _sorted(_lint_lark(source.text, start or source.start or "start"))
    if source.kind == "gbnf":
        return _sorted(_lint_gbnf(source.text, start or source.start or "root"))
    return _sorted(_lint_grammar_object(source))


def has_errors(findings: list[Finding]) -> bool:
    """True if any finding is an error."""
    return any(f.severity == "error" for f in findings)


def _as_source(source: Union[str, Path], start: Optional[str]) -> GrammarSource:
    text = str(source)
    looks_like_text = "\n" in text or ":" in text and not Path(text).exists()
    if isinstance(source, Path) or not looks_like_text:
        return resolve(source, start=start)
    kind = "gbnf" if "::=" in text else "lark"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        kind = "json-schema"
    return GrammarSource(kind, text, "<text>", start=start)


def _lint_grammar_object(source: GrammarSource) -> list[Finding]:
    try:
        grammar = source.grammar()
    except GrammarError as e:
        return [Finding("load-error", "error", str(e))]
    return lint(grammar)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line or 0, f.column or 0, f.pointer or "",
                                           SEVERITIES.index(f.severity), f.code, f.symbol))


# ---------------------------------------------------------------------------
# Front ends: Lark and GBNF text


def _lint_lark(text: str, start: str) -> list[Finding]:
    from ..automata.lark_grammar import cfg_from_lark

    try:
        cfg = cfg_from_lark(text, start=start)
    except GrammarError as e:
        return [_load_error(e)]
    labels = _lark_literals(text)

    def locate(name: str):
        return _lark_definition(text, _owner(name), labels.get(name))

    findings = lint_cfg(cfg, locate)
    defined = _lark_rule_names(text)
    for name in sorted(defined - {_owner(r) for r in cfg.rules} - {start}):
        line, column = locate(name)
        unproductive = _unproductive_alone(text, name)
        extra = " (and it derives no finite string)" if unproductive else ""
        findings.append(Finding("unreachable-rule", "warning",
                                f"rule {name!r} is not reachable from the start rule "
                                f"{start!r}{extra}", name, line, column))
    findings += _lark_unused_terminals(text, cfg)
    return findings


def _lint_gbnf(text: str, start: str) -> list[Finding]:
    from ..automata.gbnf import cfg_from_gbnf

    try:
        cfg = cfg_from_gbnf(text, start=start)
    except GrammarError as e:
        return [_load_error(e)]
    return lint_cfg(cfg, lambda name: _origin(cfg, name))


def _load_error(e: GrammarError) -> Finding:
    message = str(e)
    found = re.search(r"line (\d+)(?:,)? col(?:umn)? (\d+)", message) or \
        re.search(r"at line (\d+) column (\d+)", message)
    line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
    return Finding("load-error", "error", message, "", line, column)


def _origin(cfg: Cfg, name: str):
    origin = cfg.origins.get(name) or cfg.origins.get(_owner(name)) or ""
    found = re.search(r"line (\d+), column (\d+)", origin)
    return (int(found.group(1)), int(found.group(2))) if found else (None, None)


def _owner(name: str) -> str:
    """The rule a generated helper belongs to: ``__x_star_0`` -> x, ``_sep{A,B}`` -> _sep,
    ``x#2`` -> x (GBNF)."""
    helper = re.fullmatch(r"__(.+)_[a-z]+_\d+", name)
    if helper:
        name = helper.group(1)
    return str(name).split("{", 1)[0].split("#", 1)[0]


def _strip_comments(text: str) -> str:
    """Lark text without ``//`` comments (string and regex literals kept)."""
    literal = r'"(?:[^"\\\n]|\\.)*"i?|/(?![/*])(?:[^/\\\n]|\\.)+/[imslux]*'
    return re.sub(rf"({literal})|//[^\n]*", lambda m: m.group(1) or "", text)


def _lark_rule_names(text: str) -> set[str]:
    pattern = r"(?m)^[ \t]*[?!]?([_a-z][_a-z0-9]*)[ \t]*(?:\{[^}\n]*\})?[ \t]*(?:\.[ \t]*-?\d+)?[ \t]*:"
    return set(re.findall(pattern, _strip_comments(text)))


def _lark_definition(text: str, name: str, literal: Optional[str] = None):
    """(line, column) where ``name`` is defined in Lark text (or first used, for a literal)."""
    clean = _strip_comments(text)
    match = re.search(rf"(?m)^[ \t]*[?!]?({re.escape(name)})\b[^:\n]*:", clean) or \
        re.search(rf"(?m)^[ \t]*%import[^\n]*\b({re.escape(name)})\b", clean)
    if match is None and literal is not None:
        match = re.search(f"({re.escape(literal)})", clean)
    if match is None:
        return None, None
    offset = match.start(1)
    line = clean.count("\n", 0, offset) + 1
    return line, offset - (clean.rfind("\n", 0, offset) + 1) + 1


def _lark_literals(text: str) -> dict[str, str]:
    """Anonymous terminal name -> the literal as written (``"{"``, ``/[0-9]+/``)."""
    from lark.load_grammar import load_grammar

    from ..grammars import DIRECTORY

    try:
        grammar, _ = load_grammar(text, "<grammar>", [str(DIRECTORY)], False)
        terminals, _, _ = grammar.compile([r[0] for r in grammar.rule_defs if not r[1]], set())
    except Exception:  # noqa: BLE001 - only for nicer locations
        return {}
    out = {}
    for t in terminals:
        value = t.pattern.value
        out[t.name] = f'"{value}"' if type(t.pattern).__name__ == "PatternStr" else f"/{value}/"
    return out


def _unproductive_alone(text: str, name: str) -> bool:
    """True if rule ``name`` (taken as a start) derives no finite string."""
    from ..automata.lark_grammar import cfg_from_lark

    try:
        cfg = cfg_from_lark(text, start=name)
    except GrammarError:
        return False
    return name not in _productive(cfg, terminal_dfas(cfg))


def _lark_unused_terminals(text: str, cfg: Cfg) -> list[Finding]:
    clean = _strip_comments(text)
    defined = re.findall(r"(?m)^[ \t]*([A-Z_][A-Z_0-9]*)[ \t]*(?:\.[ \t]*-?\d+)?[ \t]*:", clean)
    imported = re.findall(r"(?m)^[ \t]*%import[ \t]+[\w.]+\.([A-Z_][A-Z_0-9]*)[ \t]*$", clean)
    findings = []
    for name in sorted(set(defined) | set(imported)):
        if name in cfg.terminals or len(re.findall(rf"\b{name}\b", clean)) > 1:
            continue
        line, column = _lark_definition(text, name)
        findings.append(Finding("unused-terminal", "warning",
                                f"terminal {name} is defined but never used", name, line, column))
    return findings


# ---------------------------------------------------------------------------
# The IR


def lint_cfg(cfg: Cfg, locate: Optional[Locate] = None) -> list[Finding]:
    """Findings on a ``Cfg``: unreachable and unproductive rules, empty and overlapping
    terminals. ``locate(symbol) -> (line, column)`` places them (None, None when unknown)."""
    locate = locate or (lambda name: (None, None))
    findings: list[Finding] = []
    dfas = terminal_dfas(cfg)
    for name in sorted(set(cfg.terminals) - set(dfas)):
        findings.append(Finding("load-error", "error", f"terminal {name} cannot be compiled",
                                name, *locate(name)))
    productive = _productive(cfg, dfas)
    reachable = _reachable(cfg)
    reported: set[str] = set()
    for lhs in cfg.rules:
        owner = _owner(lhs)
        if owner in reported:
            continue
        if lhs not in reachable and owner not in {_owner(r) for r in reachable}:
            reported.add(owner)
            extra = "" if lhs in productive else " (and it derives no finite string)"
            findings.append(Finding("unreachable-rule", "warning",
                                    f"rule {owner!r} is not reachable from the start rule "
                                    f"{str(cfg.start)!r}{extra}", owner, *locate(lhs)))
        elif lhs in reachable and lhs not in productive:
            reported.add(owner)
            findings.append(_unproductive(cfg, lhs, owner, productive, locate))
    used = {s for r in reachable for a in cfg.rules[r] for s in a if s in dfas} | set(cfg.ignore)
    for name in sorted(used):
        dfa = dfas.get(name)
        if dfa is not None and dfa.n_states and dfa.accepting[0]:
            label = terminal_label(cfg, name)
            findings.append(Finding("empty-terminal", "warning",
                                    f"terminal {label} matches the empty string", name,
                                    *locate(name)))
    findings += _overlaps(cfg, dfas, reachable, productive, locate)
    return findings


def _unproductive(cfg, lhs, owner, productive, locate) -> Finding:
    if lhs == cfg.start:
        message = (f"the grammar's language is empty: the start rule {str(lhs)!r} derives no "
                   "finite string")
    else:
        stuck = sorted({str(_owner(s)) for a in cfg.rules[lhs] for s in a
                        if s in cfg.rules and s not in productive and _owner(s) != owner})
        via = f" (it depends on {', '.join(map(repr, stuck))})" if stuck else \
            " (every alternative recurses into it without a way out)"
        message = f"rule {owner!r} derives no finite string{via}"
    return Finding("unproductive-rule", "error", message, owner, *locate(lhs))


def _productive(cfg: Cfg, dfas) -> set[str]:
    productive = {name for name, dfa in dfas.items() if dfa.n_states}
    changed = True
    while changed:
        changed = False
        for lhs, alts in cfg.rules.items():
            if lhs not in productive and any(all(s in productive for s in a) for a in alts):
                productive.add(lhs)
                changed = True
    return productive


def _reachable(cfg: Cfg) -> set[str]:
    seen, todo = {cfg.start}, [cfg.start]
    while todo:
        for alt in cfg.rules.get(todo.pop(), ()):
            for s in alt:
                if s in cfg.rules and s not in seen:
                    seen.add(s)
                    todo.append(s)
    return seen


def _overlaps(cfg, dfas, reachable, productive, locate) -> list[Finding]:
    """Terminals that compete for the same position and share a string, grouped per terminal."""
    pairs: set[tuple[str, str]] = set()
    for context in _contexts(cfg, dfas, reachable, productive):
        pairs.update(itertools.combinations(sorted(context), 2))
    overlaps: dict[str, list[tuple[str, bytes]]] = {}
    for a, b in sorted(pairs):
        witness = _shared_string(cfg, dfas, a, b)
        if witness is None:
            continue
        key, other = (b, a) if literal_of(cfg.terminals[a]) is not None and \
            literal_of(cfg.terminals[b]) is None else (a, b)
        overlaps.setdefault(key, []).append((other, witness))
    findings = []
    for name, others in sorted(overlaps.items()):
        label = terminal_label(cfg, name)
        listed = ", ".join(terminal_label(cfg, o) for o, _ in others[:12])
        if len(others) > 12:
            listed += f" and {len(others) - 12} more"
        example = quote(others[0][1])
        findings.append(Finding("overlapping-terminals", "warning",
                                f"terminal {label} overlaps {listed} at the same position (both "
                                f"match {example}), so such text lexes more than one way",
                                name, *locate(name)))
    return findings


def _shared_string(cfg, dfas, a: str, b: str) -> Optional[bytes]:
    lit_a, lit_b = literal_of(cfg.terminals[a]), literal_of(cfg.terminals[b])
    if lit_a is not None and lit_b is not None:
        return lit_a.encode() if lit_a == lit_b else None
    if lit_a is not None or lit_b is not None:
        literal, other = (lit_a, b) if lit_a is not None else (lit_b, a)
        return literal.encode() if dfas[other].matches(literal.encode()) else None
    return intersection_witness(dfas[a], dfas[b])


def _contexts(cfg, dfas, reachable, productive) -> set[frozenset[str]]:
    """Sets of terminals that can start at one and the same position (FIRST of every suffix of
    every alternative, with FOLLOW of its rule when the suffix can be empty), ignored
    terminals added to each."""
    rules = {lhs: [a for a in cfg.rules[lhs] if all(s in productive for s in a)]
             for lhs in reachable if lhs in productive}
    nullable = {t for t, d in dfas.items() if d.n_states and d.accepting[0]}
    first: dict[str, set[str]] = {t: {t} for t in dfas}
    follow: dict[str, set[str]] = {lhs: set() for lhs in rules}
    for lhs in rules:
        first[lhs] = set()
    follow.setdefault(cfg.start, set())
    changed = True
    while changed:
        changed = False
        for lhs, alts in rules.items():
            for alt in alts:
                if lhs not in nullable and all(s in nullable for s in alt):
                    nullable.add(lhs)
                    changed = True
                head = _first_of(alt, first, nullable)
                if not head <= first[lhs]:
                    first[lhs] |= head
                    changed = True
                for i, sym in enumerate(alt):
                    if sym not in rules:
                        continue
                    tail = alt[i + 1:]
                    add = _first_of(tail, first, nullable)
                    if all(s in nullable for s in tail):
                        add = add | follow[lhs]
                    if not add <= follow[sym]:
                        follow[sym] |= add
                        changed = True
    ignore = frozenset(cfg.ignore)
    contexts = {frozenset(first.get(cfg.start, set())) | ignore}
    for lhs, alts in rules.items():
        for alt in alts:
            for i in range(len(alt)):
                tail = alt[i:]
                ctx = _first_of(tail, first, nullable)
                if all(s in nullable for s in tail):
                    ctx = ctx | follow[lhs]
                contexts.add(frozenset(ctx) | ignore)
    return contexts


def _first_of(symbols, first, nullable) -> set[str]:
    out: set[str] = set()
    for s in symbols:
        out |= first.get(s, set())
        if s not in nullable:
            break
    return out


def describe(findings: list[Finding], name: str = "") -> str:
    """All findings, one per line, then a count."""
    lines = [f.format(name) for f in findings]
    errors = sum(f.severity == "error" for f in findings)
    lines.append(f"{errors} error(s), {len(findings) - errors} warning(s)")
    return "\n".join(lines)

