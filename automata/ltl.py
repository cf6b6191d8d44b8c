"""LTLf (linear temporal logic on finite traces) over step labels -> minimal DFA.

A *trace* is a finite sequence of steps, each carrying exactly one label (``Thought``,
``Action``, ...). A formula is parsed by ``parse_ltl`` into a small AST and compiled by
``compile_ltl`` into a ``LabelDFA``: a minimal, trimmed DFA over label indices whose
language is the set of traces on which the formula holds.

Compilation works by *formula progression*. The formula is put in negation normal form;
a DFA state is a positive Boolean combination, kept as a minimal DNF, of "elementary"
subformulas (atoms, negated atoms, ``X``, ``WX``, ``U``, ``R``) that must hold at the
current position. Reading a label rewrites every elementary subformula into what must hold
at the next position. Only finitely many DNFs exist over the finite set of subformulas, so
the exploration ends; the result is then trimmed and minimised (Moore refinement).
Top-level conjuncts are compiled separately and combined by a product, which keeps rule
sets ("G(...) & G(...) & F ...") small.

See docs/LTL.md for the syntax, the semantics table and the empty-trace convention.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from constrain.errors import GrammarError

DEAD = -1
DEFAULT_MAX_STATES = 100_000


class LTLError(GrammarError):
    """An LTLf formula that cannot be parsed or compiled.

    Attributes:
        formula: the formula text (``None`` when the problem is not in one formula).
        column: the 1-based column of the problem in ``formula`` (``None`` if not located).
    """

    def __init__(self, message: str, formula: Optional[str] = None, column: Optional[int] = None,
                 note: str = ""):
        self.formula = formula
        self.column = column
        self.reason = message
        if formula is not None and column is not None:
            shown = re.sub(r"\s", " ", formula)
            message = f"{message} at column {column}\n    {shown}\n    {' ' * (column - 1)}^"
        elif formula is not None:
            message = f"{message} in formula {formula!r}"
        if note:
            message = f"{message}\n{note}"
        super().__init__(message)


# ---------------------------------------------------------------------------
# AST

# Binding strength, loosest first; used by the printer to add only the parentheses needed.
_PREC_IFF, _PREC_IMPLIES, _PREC_OR, _PREC_AND, _PREC_TEMPORAL, _PREC_UNARY, _PREC_ATOM = range(1, 8)

KEYWORDS = frozenset({"true", "false", "X", "WX", "F", "G", "U", "R", "W"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Formula:
    """Base class of LTLf formula nodes.

    ``str(f)`` gives text, with only the parentheses needed, that ``parse_ltl`` reads back as ``f``.
    """

    __slots__ = ()

    def children(self) -> tuple["Formula", ...]:
        """The direct subformulas."""
        return ()

    def atoms(self) -> frozenset[str]:
        """The labels named by the atoms of this formula."""
        found: set[str] = set()
        stack: list[Formula] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Atom):
                found.add(node.name)
            stack.extend(node.children())
        return frozenset(found)

    def __str__(self) -> str:
        return _to_text(self, 0)


@dataclass(frozen=True)
class Atom(Formula):
    """A step label: holds at position i iff step i carries exactly this label.

    ``column`` (1-based, where the parser found it) is for error messages only and takes no
    part in equality.
    """

    name: str
    column: Optional[int] = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Bool(Formula):
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True)
class _Unary(Formula):
    operand: Formula

    def children(self) -> tuple[Formula, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class _Binary(Formula):
    left: Formula
    right: Formula

    def children(self) -> tuple[Formula, ...]:
        return (self.left, self.right)


class Not(_Unary):
    """``!f``."""


class Next(_Unary):
    """``X f`` (strong next): a next step exists and f holds there."""


class WeakNext(_Unary):
    """``WX f`` (weak next): there is no next step, or f holds there."""


class Eventually(_Unary):
    """``F f``: f holds now or at some later step."""


class Always(_Unary):
    """``G f``: f holds now and at every later step."""


class And(_Binary):
    """``f & g``."""


class Or(_Binary):
    """``f | g``."""


class Implies(_Binary):
    """``f -> g``."""


class Iff(_Binary):
    """``f <-> g``."""


class Until(_Binary):
    """``f U g``: g holds at some step j >= i, and f at every step from i up to j (excluded)."""


class Release(_Binary):
    """``f R g`` = ``!(!f U !g)``: g holds up to and including the first step where f holds,
    or at every step if f never holds."""


class WeakUntil(_Binary):
    """``f W g`` = ``(f U g) | G f``."""


_UNARY_SYMBOL = {Not: "!", Next: "X ", WeakNext: "WX ", Eventually: "F ", Always: "G "}
_BINARY_SYMBOL = {And: "&", Or: "|", Implies: "->", Iff: "<->", Until: "U", Release: "R",
                  WeakUntil: "W"}
_BINARY_PREC = {Iff: _PREC_IFF, Implies: _PREC_IMPLIES, Or: _PREC_OR, And: _PREC_AND,
                Until: _PREC_TEMPORAL, Release: _PREC_TEMPORAL, WeakUntil: _PREC_TEMPORAL}
_RIGHT_ASSOC = (Implies, Until, Release, WeakUntil)


def _atom_text(name: str) -> str:
    if _IDENT.fullmatch(name) and name not in KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _to_text(node: Formula, min_prec: int) -> str:
    if isinstance(node, Atom):
        return _atom_text(node.name)
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, _Unary):
        text = _UNARY_SYMBOL[type(node)] + _to_text(node.operand, _PREC_UNARY)
        prec = _PREC_UNARY
    else:
        prec = _BINARY_PREC[type(node)]
        right_assoc = isinstance(node, _RIGHT_ASSOC)
        left = _to_text(node.left, prec + 1 if right_assoc else prec)
        right = _to_text(node.right, prec if right_assoc else prec + 1)
        text = f"{left} {_BINARY_SYMBOL[type(node)]} {right}"
    return f"({text})" if prec < min_prec else text


# ---------------------------------------------------------------------------
# Parser

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>")
  | (?P<op><->|->|[!&|()])
""", re.VERBOSE)

_UNARY_KEYWORDS = {"X": Next, "WX": WeakNext, "F": Eventually, "G": Always}
_TEMPORAL_KEYWORDS = {"U": Until, "R": Release, "W": WeakUntil}


@dataclass(frozen=True)
class _Token:
    kind: str      # "atom" (identifier or quoted label), "kw", "op" or "end"
    text: str      # the label, keyword or operator
    column: int    # 1-based


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            hint = " (did you mean '->'?)" if text[pos] in "-=>" else ""
            raise LTLError(f"unexpected character {text[pos]!r}{hint}", text, pos + 1)
        if m.lastgroup == "ident":
            kind = "kw" if m.group() in KEYWORDS else "atom"
            tokens.append(_Token(kind, m.group(), pos + 1))
        elif m.lastgroup == "op":
            tokens.append(_Token("op", m.group(), pos + 1))
        elif m.lastgroup == "string":
            label, end = _read_quoted(text, pos)
            tokens.append(_Token("atom", label, pos + 1))
            pos = end
            continue
        pos = m.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The label of the quoted string opening at ``start``, and the index just past it."""
    chars: list[str] = []
    pos = start + 1
    while pos < len(text):
        ch = text[pos]
        if ch == '"':
            if not chars:
                raise LTLError("empty quoted label", text, start + 1)
            return "".join(chars), pos + 1
        if ch == "\\":
            if pos + 1 >= len(text) or text[pos + 1] not in '"\\':
                raise LTLError('unknown escape in quoted label (only \\" and \\\\ are allowed)',
                               text, pos + 1)
            pos += 1
            ch = text[pos]
        chars.append(ch)
        pos += 1
    raise LTLError("unterminated quoted label", text, start + 1)


def _describe(tok: _Token) -> str:
    if tok.kind == "end":
        return "the end of the formula"
    if tok.kind == "atom":
        return f"label {_atom_text(tok.text)}"
    if tok.kind == "kw":
        return f"operator {tok.text!r}"
    return repr(tok.text)


class _Parser:
    """Recursive descent, one method per precedence level (loosest first)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def _is(self, kind: str, *texts: str) -> bool:
        return self.tok.kind == kind and self.tok.text in texts

    def _fail(self, expected: str, tok: Optional[_Token] = None):
        tok = tok or self.tok
        raise LTLError(f"expected {expected}, found {_describe(tok)}", self.text, tok.column)

    def parse(self) -> Formula:
        if self.tok.kind == "end":
            raise LTLError("empty formula", self.text, self.tok.column)
        result = self.iff()
        if self.tok.kind != "end":
            if self._is("op", ")"):
                raise LTLError("unmatched ')'", self.text, self.tok.column)
            prev = self.tokens[self.pos - 1]
            if self.tok.kind == "atom" and prev.kind == "atom":
                joined = self.text[prev.column - 1:self.tok.column - 1] + self.tok.text
                raise LTLError(f"expected an operator, found label {_atom_text(self.tok.text)} "
                               f"(a label with spaces must be quoted: \"{joined}\")",
                               self.text, self.tok.column)
            self._fail("an operator or the end of the formula")
        return result

    def iff(self) -> Formula:
        left = self.implies()
        while self._is("op", "<->"):
            self.pos += 1
            left = Iff(left, self.implies())
        return left

    def implies(self) -> Formula:
        left = self.or_()
        if self._is("op", "->"):
            self.pos += 1
            return Implies(left, self.implies())
        return left

    def or_(self) -> Formula:
        left = self.and_()
        while self._is("op", "|"):
            self.pos += 1
            left = Or(left, self.and_())
        return left

    def and_(self) -> Formula:
        left = self.temporal()
        while self._is("op", "&"):
            self.pos += 1
            left = And(left, self.temporal())
        return left

    def temporal(self) -> Formula:
        left = self.unary()
        if self.tok.kind == "kw" and self.tok.text in _TEMPORAL_KEYWORDS:
            node_type = _TEMPORAL_KEYWORDS[self.tok.text]
            self.pos += 1
            return node_type(left, self.temporal())
        return left

    def unary(self) -> Formula:
        tok = self.tok
        if tok.kind == "op" and tok.text == "!":
            self.pos += 1
            return Not(self.unary())
        if tok.kind == "kw" and tok.text in _UNARY_KEYWORDS:
            self.pos += 1
            return _UNARY_KEYWORDS[tok.text](self.unary())
        return self.primary()

    def primary(self) -> Formula:
        tok = self.tok
        if tok.kind == "atom":
            self.pos += 1
            return Atom(tok.text, tok.column)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.pos += 1
            return Bool(tok.text == "true")
        if tok.kind == "op" and tok.text == "(":
            self.pos += 1
            inner = self.iff()
            if not self._is("op", ")"):
                self._fail(f"')' to close the '(' at column {tok.column}")
            self.pos += 1
            return inner
        if tok.kind == "kw":
            raise LTLError(f"expected a formula, found binary operator {tok.text!r} "
                           f'(write "{tok.text}" to use it as a label)', self.text, tok.column)
        self._fail("a formula")


def parse_ltl(text: str) -> Formula:
    """Parse an LTLf formula (syntax in docs/LTL.md); raise ``LTLError`` with the column."""
    if not isinstance(text, str):
        raise TypeError(f"an LTL formula must be a str, not {type(text).__name__}")
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise LTLError("formula nested too deeply", text) from None


# ---------------------------------------------------------------------------
# The DFA type


@dataclass(frozen=True, eq=False)
class LabelDFA:
    """A minimal, trimmed DFA over step labels.

    ``transitions`` is int32 ``[n_states, len(labels)]``, column j for ``labels[j]``, with -1
    for "no transition"; ``accepting`` is bool ``[n_states]``. The start state is 0 and every
    state can reach an accepting state, so a label sequence is a viable prefix iff running it
    never meets -1. The empty language is the DFA with 0 states. States are numbered
    breadth-first from the start, successors in label order, so equal languages over the
    same labels give identical arrays.
    """

    transitions: np.ndarray
    accepting: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_states(self) -> int:
        """The number of states."""
        return int(self.transitions.shape[0])

    @property
    def is_empty(self) -> bool:
        """True iff no trace satisfies the formula."""
        return self.n_states == 0

    def label_index(self, label: Union[str, int]) -> int:
        """The column of ``label`` (a label string, or already an index)."""
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            if not 0 <= label < len(self.labels):
                raise LTLError(f"label index {label} out of range "
                               f"(there are {len(self.labels)} labels)")
            return int(label)
        try:
            return self.labels.index(label)
        except ValueError:
            raise LTLError(f"unknown label {label!r}; the labels are {list(self.labels)}") from None

    def run(self, seq: Iterable[Union[str, int]]) -> int:
        """The state reached by reading ``seq`` (labels or label indices) from the start, or -1."""
        if self.n_states == 0:
            return DEAD
        state = 0
        for label in seq:
            state = int(self.transitions[state, self.label_index(label)])
            if state < 0:
                return DEAD
        return state

    def accepts(self, seq: Iterable[Union[str, int]]) -> bool:
        """True iff the trace ``seq`` (labels or label indices) satisfies the formula."""
        state = self.run(seq)
        return state >= 0 and bool(self.accepting[state])

    def is_viable_prefix(self, seq: Iterable[Union[str, int]]) -> bool:
        """True iff ``seq`` can still be extended (possibly by nothing) to a satisfying trace."""
        return self.run(seq) >= 0

    def allowed_labels(self, state: int) -> tuple[str, ...]:
        """The labels that keep the trace viable from ``state``."""
        return tuple(lab for lab, nxt in zip(self.labels, self.transitions[state]) if nxt >= 0)

    def __repr__(self) -> str:
        return f"LabelDFA({self.n_states} states, labels={list(self.labels)})"


# ---------------------------------------------------------------------------
# Negation normal form
#
# NNF nodes are tuples: ("T",), ("F",), ("a", name), ("na", name), ("and", l, r),
# ("or", l, r), ("X", f), ("WX", f), ("U", f, g), ("R", f, g). F, G, W, ->, <-> and
# negation above anything but an atom are rewritten away; each rewrite is also valid at
# the end of the trace (see the empty-trace convention in docs/LTL.md).

_T, _F = ("T",), ("F",)
_LIVE = ("U", _T, _T)    # "a current step exists" (= F true)
_END = ("R", _F, _F)     # "no current step" (= G false)


def _nnf(node: Formula, positive: bool = True) -> tuple:
    if isinstance(node, Atom):
        return ("a" if positive else "na", node.name)
    if isinstance(node, Bool):
        return _T if node.value == positive else _F
    if isinstance(node, Not):
        return _nnf(node.operand, not positive)
    if isinstance(node, (And, Or)):
        op = "and" if isinstance(node, And) == positive else "or"
        return (op, _nnf(node.left, positive), _nnf(node.right, positive))
    if isinstance(node, Implies):
        return _nnf(Or(Not(node.left), node.right), positive)
    if isinstance(node, Iff):
        l, r = node.left, node.right
        if positive:
            return _nnf(Or(And(l, r), And(Not(l), Not(r))))
        return _nnf(Or(And(l, Not(r)), And(Not(l), r)))
    if isinstance(node, (Next, WeakNext)):
        op = "X" if isinstance(node, Next) == positive else "WX"
        return (op, _nnf(node.operand, positive))
    if isinstance(node, Eventually):      # F f = true U f
        return _nnf(Until(Bool(True), node.operand), positive)
    if isinstance(node, Always):          # G f = false R f
        return _nnf(Release(Bool(False), node.operand), positive)
    if isinstance(node, (Until, Release)):
        op = "U" if isinstance(node, Until) == positive else "R"
        return (op, _nnf(node.left, positive), _nnf(node.right, positive))
    if isinstance(node, WeakUntil):       # f W g = g R (f | g)
        return _nnf(Release(node.right, Or(node.left, node.right)), positive)
    raise TypeError(f"not an LTL formula node: {node!r}")


def _conjuncts(nnf: tuple) -> list[tuple]:
    if nnf[0] == "and":
        return _conjuncts(nnf[1]) + _conjuncts(nnf[2])
    return [nnf]


# ---------------------------------------------------------------------------
# Progression: one formula -> explicit DFA over letter classes
#
# A DNF is a frozenset of clauses, a clause a frozenset of elementary-formula ids; the DNF
# stays an antichain (no clause contains another), the canonical form of a positive Boolean
# function of those ids.

_TRUE_DNF = frozenset({frozenset()})
_FALSE_DNF: frozenset = frozenset()


class _Progression:
    """Builds the (unminimised) progression DFA of one NNF formula.

    Letters are classes of labels: each label named in the formula is its own class, and
    the labels it does not name form one more class (``None``), as no atom tells them apart.
    """

    def __init__(self, nnf: tuple, classes: list[Optional[str]], max_states: int):
        self.classes = classes
        self.max_states = max_states
        self.elems: list[tuple] = []
        self.elem_id: dict[tuple, int] = {}
        self.end_value: list[bool] = []
        self.prog_memo: dict[tuple[int, int], frozenset] = {}
        self.live = self._intern(_LIVE)
        self.end = self._intern(_END)
        self.start = self._dnf(nnf)

    # -- elementary formulas -------------------------------------------------

    def _intern(self, node: tuple) -> int:
        ident = self.elem_id.get(node)
        if ident is None:
            ident = len(self.elems)
            self.elems.append(node)
            self.elem_id[node] = ident
            self.end_value.append(_holds_at_end(node))
        return ident

    def _dnf(self, node: tuple) -> frozenset:
        """The DNF of ``node`` (to hold at the current position) over elementary ids."""
        kind = node[0]
        if kind == "T":
            return _TRUE_DNF
        if kind == "F":
            return _FALSE_DNF
        if kind == "and":
            return self._and(self._dnf(node[1]), self._dnf(node[2]))
        if kind == "or":
            return _or(self._dnf(node[1]), self._dnf(node[2]))
        return frozenset({frozenset({self._intern(node)})})

    # -- DNF algebra ---------------------------------------------------------

    def _and(self, a: frozenset, b: frozenset) -> frozenset:
        clauses = set()
        for x in a:
            for y in b:
                clause = self._clean(x | y)
                if clause is not None:
                    clauses.add(clause)
        return _absorb(clauses)

    def _clean(self, clause: frozenset) -> Optional[frozenset]:
        """Drop clauses that no position satisfies and members other members imply."""
        elems = self.elems
        positive = {elems[e][1] for e in clause if elems[e][0] == "a"}
        if len(positive) > 1:
            return None            # one label per step
        if positive:
            (name,) = positive
            if ("na", name) in self.elem_id and self.elem_id[("na", name)] in clause:
                return None
            clause = frozenset(e for e in clause if elems[e][0] != "na")
        if self.end in clause:
            # At the end every member is decided: the clause is "end" or impossible.
            return frozenset({self.end}) if all(self.end_value[e] for e in clause) else None
        if self.live in clause and any(not self.end_value[e] for e in clause if e != self.live):
            # A member that is false at the end can only hold where a step exists.
            clause = clause - {self.live}
        return clause

    # -- progression ---------------------------------------------------------

    def _prog_node(self, node: tuple, letter: int) -> frozenset:
        kind = node[0]
        if kind == "T":
            return _TRUE_DNF
        if kind == "F":
            return _FALSE_DNF
        if kind == "and":
            return self._and(self._prog_node(node[1], letter), self._prog_node(node[2], letter))
        if kind == "or":
            return _or(self._prog_node(node[1], letter), self._prog_node(node[2], letter))
        return self._prog_elem(self._intern(node), letter)

    def _prog_elem(self, ident: int, letter: int) -> frozenset:
        """What must hold from the next position for elementary ``ident`` to hold now."""
        key = (ident, letter)
        memo = self.prog_memo.get(key)
        if memo is not None:
            return memo
        node = self.elems[ident]
        kind = node[0]
        if kind in ("a", "na"):
            match = self.classes[letter] == node[1]
            result = _TRUE_DNF if match == (kind == "a") else _FALSE_DNF
        elif kind == "X":
            result = self._and(self._dnf(node[1]), frozenset({frozenset({self.live})}))
        elif kind == "WX":
            result = _or(self._dnf(node[1]), frozenset({frozenset({self.end})}))
        elif kind == "U":      # g now, or f now and (f U g) next
            result = _or(self._prog_node(node[2], letter),
                         self._and(self._prog_node(node[1], letter),
                                   frozenset({frozenset({ident})})))
        else:                  # R: g now, and (f now or (f R g) next)
            result = self._and(self._prog_node(node[2], letter),
                               _or(self._prog_node(node[1], letter),
                                   frozenset({frozenset({ident})})))
        self.prog_memo[key] = result
        return result

    def step(self, state: frozenset, letter: int) -> frozenset:
        """The state after reading ``letter``."""
        result: frozenset = _FALSE_DNF
        for clause in state:
            part = _TRUE_DNF
            for ident in clause:
                part = self._and(part, self._prog_elem(ident, letter))
                if not part:
                    break
            result = _or(result, part)
        return result

    def accepting(self, state: frozenset) -> bool:
        """True iff the trace may end in this state."""
        return any(all(self.end_value[e] for e in clause) for clause in state)

    def explore(self) -> tuple[list[list[int]], list[bool]]:
        """Breadth-first exploration: (transitions [state][letter], accepting [state])."""
        index = {self.start: 0}
        states = [self.start]
        trans: list[list[int]] = []
        for state in states:            # grows while iterating
            row = []
            for letter in range(len(self.classes)):
                nxt = self.step(state, letter)
                target = index.get(nxt)
                if target is None:
                    if len(states) >= self.max_states:
                        raise LTLError(f"the formula needs more than {self.max_states} "
                                       "automaton states; split it or raise max_states")
                    target = index[nxt] = len(states)
                    states.append(nxt)
                row.append(target)
            trans.append(row)
        return trans, [self.accepting(s) for s in states]


def _or(a: frozenset, b: frozenset) -> frozenset:
    if not a:
        return b
    if not b:
        return a
    return _absorb(a | b)


def _absorb(clauses: Iterable[frozenset]) -> frozenset:
    kept: list[frozenset] = []
    for clause in sorted(clauses, key=len):
        if not any(k <= clause for k in kept):
            kept.append(clause)
    return frozenset(kept)


def _holds_at_end(node: tuple) -> bool:
    """The truth of an NNF formula at the position just past the last step."""
    kind = node[0]
    if kind == "and":
        return _holds_at_end(node[1]) and _holds_at_end(node[2])
    if kind == "or":
        return _holds_at_end(node[1]) or _holds_at_end(node[2])
    return kind in ("T", "na", "WX", "R")


# ---------------------------------------------------------------------------
# Trim, minimise, product


def _trim_minimize(trans: np.ndarray, acc: np.ndarray, labels: tuple[str, ...]) -> LabelDFA:
    """Trim (reachable from 0 and live), minimise (Moore) and renumber canonically."""
    n, k = trans.shape
    live = _live_states(trans, acc)
    if not live[0]:
        return LabelDFA(np.zeros((0, k), np.int32), np.zeros(0, bool), labels)
    trans = np.where(trans >= 0, trans, n)           # n: one shared dead sink
    trans = np.where(live[np.minimum(trans, n - 1)] & (trans < n), trans, n)
    trans = np.vstack([trans, np.full((1, k), n)])
    block = _moore(trans, np.append(acc & live, False))
    return _canonical(trans, acc, block, block[n], labels)


def _live_states(trans: np.ndarray, acc: np.ndarray) -> np.ndarray:
    n = trans.shape[0]
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, row in enumerate(trans.tolist()):
        for t in row:
            if t >= 0:
                preds[t].append(s)
    live = np.array(acc, dtype=bool)
    stack = list(np.flatnonzero(live))
    while stack:
        for p in preds[stack.pop()]:
            if not live[p]:
                live[p] = True
                stack.append(p)
    return live


def _moore(trans: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Block number of every state in the coarsest partition respecting acc and transitions."""
    block = acc.astype(np.int64)
    count = len(set(block.tolist()))
    while True:
        signature = np.column_stack([block, block[trans]])
        _, new_block = np.unique(signature, axis=0, return_inverse=True)
        new_block = new_block.reshape(-1)
        new_count = int(new_block.max()) + 1
        block = new_block
        if new_count == count:
            return block
        count = new_count


def _canonical(trans, acc, block, dead_block, labels) -> LabelDFA:
    """Quotient by ``block`` and number the blocks breadth-first from the start."""
    k = trans.shape[1]
    rep: dict[int, int] = {}
    for s in range(trans.shape[0]):
        rep.setdefault(int(block[s]), s)
    order = {int(block[0]): 0}
    queue = [int(block[0])]
    rows = []
    for b in queue:
        row = []
        for t in trans[rep[b]].tolist():
            tb = int(block[t])
            if tb == dead_block:
                row.append(DEAD)
                continue
            if tb not in order:
                order[tb] = len(queue)
                queue.append(tb)
            row.append(order[tb])
        rows.append(row)
    transitions = np.array(rows, dtype=np.int32).reshape(len(queue), k)
    accepting = np.array([bool(acc[rep[b]]) for b in queue], dtype=bool)
    return LabelDFA(transitions, accepting, labels)


def _product(dfas: list[LabelDFA], labels: tuple[str, ...], max_states: int) -> LabelDFA:
    """The DFA of the intersection of the languages."""
    k = len(labels)
    if any(d.is_empty for d in dfas):
        return LabelDFA(np.zeros((0, k), np.int32), np.zeros(0, bool), labels)
    tables = [d.transitions.tolist() for d in dfas]
    start = (0,) * len(dfas)
    index = {start: 0}
    states = [start]
    rows = []
    for state in states:
        row = []
        for j in range(k):
            nxt = tuple(table[s][j] for table, s in zip(tables, state))
            if DEAD in nxt:
                row.append(DEAD)
                continue
            target = index.get(nxt)
            if target is None:
                if len(states) >= max_states:
                    raise LTLError(f"the conjunction needs more than {max_states} automaton states")
                target = index[nxt] = len(states)
                states.append(nxt)
            row.append(target)
        rows.append(row)
    acc = np.array([all(d.accepting[s] for d, s in zip(dfas, st)) for st in states], dtype=bool)
    return _trim_minimize(np.array(rows, dtype=np.int64).reshape(len(states), k), acc, labels)


# ---------------------------------------------------------------------------
# compile_ltl


FormulaLike = Union[str, Formula]


def compile_ltl(formula: Union[FormulaLike, Sequence[FormulaLike]], labels: Sequence[str], *,
                max_states: int = DEFAULT_MAX_STATES) -> LabelDFA:
    """Compile an LTLf formula (or a list of them, meaning their conjunction) into a ``LabelDFA``.

    ``formula``: formula text, a parsed ``Formula``, or a sequence of either (an empty
    sequence means ``true``). ``labels``: the distinct step labels, the DFA's alphabet in
    column order. Every atom must be one of the labels (``LTLError`` naming it otherwise).
    The empty trace is accepted iff the formula holds on it (docs/LTL.md). An unsatisfiable
    formula gives the DFA with 0 states. Raises ``LTLError`` past ``max_states`` states.
    """
    label_tuple = _check_labels(labels)
    items = [formula] if isinstance(formula, (str, Formula)) else list(formula)
    parts: list[tuple] = []
    for item in items:
        text, tree = _parse_item(item)
        _check_atoms(tree, text, label_tuple)
        try:
            parts.extend(_conjuncts(_nnf(tree)))
        except RecursionError:
            raise LTLError("formula nested too deeply", text) from None
    try:
        dfas = [_compile_nnf(part, label_tuple, max_states) for part in _dedupe(parts)]
    except RecursionError:
        raise LTLError("formula nested too deeply") from None
    if not dfas:
        dfas = [_compile_nnf(_T, label_tuple, max_states)]
    # Smallest first: the product stays small while the big factors are added.
    dfas.sort(key=lambda d: d.n_states)
    if len(dfas) == 1:
        return dfas[0]
    return _product(dfas, label_tuple, max_states)


def _check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise TypeError("labels must be a sequence of label strings, not one str")
    label_tuple = tuple(labels)
    if not label_tuple:
        raise LTLError("the label list is empty")
    for lab in label_tuple:
        if not isinstance(lab, str) or not lab:
            raise LTLError(f"every label must be a non-empty str, got {lab!r}")
    dupes = sorted({lab for lab in label_tuple if label_tuple.count(lab) > 1})
    if dupes:
        raise LTLError(f"duplicate labels: {dupes}")
    return label_tuple


def _parse_item(item: FormulaLike) -> tuple[Optional[str], Formula]:
    if isinstance(item, str):
        return item, parse_ltl(item)
    if isinstance(item, Formula):
        return None, item
    raise TypeError(f"a formula must be a str or a Formula, not {type(item).__name__}")


def _check_atoms(tree: Formula, text: Optional[str], labels: tuple[str, ...]) -> None:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Atom) and node.name not in labels:
            close = difflib.get_close_matches(node.name, labels, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LTLError(f"unknown label {node.name!r}{hint}", text,
                           node.column if text is not None else None,
                           note=f"the labels are {list(labels)}")
        stack.extend(reversed(node.children()))


def _dedupe(parts: list[tuple]) -> list[tuple]:
    return list(dict.fromkeys(parts))


def _compile_nnf(nnf: tuple, labels: tuple[str, ...], max_states: int) -> LabelDFA:
    named = sorted(_nnf_atoms(nnf))
    classes: list[Optional[str]] = list(named)
    class_of = {name: i for i, name in enumerate(named)}
    if len(named) < len(labels):
        classes.append(None)
    column_class = [class_of.get(lab, len(named)) for lab in labels]
    trans, acc = _Progression(nnf, classes, max_states).explore()
    table = np.array(trans, dtype=np.int64)[:, column_class]
    return _trim_minimize(table, np.array(acc, dtype=bool), labels)


def _nnf_atoms(nnf: tuple) -> set[str]:
    if nnf[0] in ("a", "na"):
        return {nnf[1]}
    found: set[str] = set()
    for child in nnf[1:]:
        found |= _nnf_atoms(child)
    return found
