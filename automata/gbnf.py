"""llama.cpp GBNF grammars into the grammar IR (``Cfg``).

Syntax read here (the subset llama.cpp documents in ``grammars/README.md``):

- rules ``name ::= body``; names are letters, digits, ``-`` and ``_``; a rule's body goes on
  until the next ``name ::=`` (so it may span lines) or the end of the text;
- string literals ``"..."`` and character classes ``[...]``, ``[^...]`` with ranges ``a-z``;
  escapes ``\\n \\t \\r \\\\ \\" \\' \\[ \\] \\- \\/ \\xHH \\uHHHH \\UHHHHHHHH``;
- ``.`` (any one character), rule references, grouping ``( )``, alternation ``|`` (an
  alternative may be empty), repetition ``* + ?`` and ``{m}``, ``{m,}``, ``{m,n}``;
- comments from ``#`` to the end of the line.

GBNF has no ignored text: the language is exactly what the rules spell. Parts of a rule built
only from literals, classes and ``.`` become terminals (regex ASTs; repetition of such a part
stays inside the regex); references, and alternations or repetitions over them, become rules
(helper rules are named ``<rule>#<n>``, terminals ``<rule>#t<n>``, names GBNF cannot spell).

Errors raise ``GrammarError`` naming the rule, the line and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from constrain.errors import GrammarError

from .cfg import Cfg
from .regex import (CharSet, Empty, Node, alternation, complement_ranges, concat, normalize_ranges,
                    repeat)
from .utf8 import MAX_CODE_POINT

__all__ = ["cfg_from_gbnf"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'",
                   "[": "[", "]": "]", "-": "-", "/": "/"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_MAX_REPEAT = 10_000


# ---------------------------------------------------------------------------
# Expressions of a rule body


@dataclass(frozen=True)
class _Lit:
    """A purely regular part: a literal, a class, ``.``."""

    node: Node


@dataclass(frozen=True)
class _Ref:
    """A reference to a rule, with its offset in the text (for messages)."""

    name: str
    offset: int


@dataclass(frozen=True)
class _Seq:
    """Items in sequence."""

    items: tuple["_Expr", ...]


@dataclass(frozen=True)
class _Alt:
    """Any one of the items (an item may be the empty sequence)."""

    items: tuple["_Expr", ...]


@dataclass(frozen=True)
class _Rep:
    """``item`` repeated ``lo`` to ``hi`` times (``hi=None``: unbounded)."""

    item: "_Expr"
    lo: int
    hi: Optional[int]


_Expr = Union[_Lit, _Ref, _Seq, _Alt, _Rep]


# ---------------------------------------------------------------------------
# Parser


class _Parser:
    """Recursive descent over the GBNF text; collects ``name -> (expr, offset)``."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.rule = None  # the rule being read, for messages
        self.rules: dict[str, tuple[_Expr, int]] = {}

    # -- positions and errors

    def where(self, offset: int) -> str:
        """``line L, column C`` (1-based) of a character offset."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"line {line}, column {column}"

    def error(self, message: str, offset: Optional[int] = None) -> GrammarError:
        """A GrammarError naming the rule being read and the place."""
        at = self.where(self.pos if offset is None else offset)
        rule = f"rule {self.rule!r}, " if self.rule else ""
        return GrammarError(f"GBNF grammar: {rule}{at}: {message}")

    # -- lexical helpers

    def peek(self) -> str:
        """The character at the current position, or "" at the end."""
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        """Skip blanks, newlines and ``#`` comments."""
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif c == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def name_at(self, pos: int) -> int:
        """The end offset of the rule name starting at ``pos`` (``pos`` itself if none)."""
        end = pos
        while end < len(self.text) and self.text[end] in _NAME_CHARS:
            end += 1
        return end

    def rule_head_at(self, pos: int) -> bool:
        """True if ``name ::=`` starts at ``pos`` (a new rule begins there)."""
        end = self.name_at(pos)
        if end == pos:
            return False
        while end < len(self.text) and self.text[end] in " \t":
            end += 1
        return self.text.startswith("::=", end)

    # -- grammar structure

    def parse(self) -> dict[str, tuple[_Expr, int]]:
        """Read every rule of the text."""
        self.skip_space()
        while self.pos < len(self.text):
            self.parse_rule()
            self.skip_space()
        return self.rules

    def parse_rule(self) -> None:
        """``name ::= body``."""
        start = self.pos
        end = self.name_at(start)
        if end == start:
            raise self.error(f"expected a rule name, found {self.peek()!r}")
        name = self.text[start:end]
        self.rule = name
        self.pos = end
        while self.peek() in (" ", "\t"):
            self.pos += 1
        if not self.text.startswith("::=", self.pos):
            raise self.error(f"expected '::=' after the rule name {name!r}")
        if name in self.rules:
            raise self.error(f"rule {name!r} is defined twice (first at "
                             f"{self.where(self.rules[name][1])})", start)
        self.pos += 3
        body = self.parse_alternatives(nested=False)
        self.rules[name] = (body, start)
        self.rule = None

    def parse_alternatives(self, nested: bool) -> _Expr:
        """``seq | seq | ...`` up to ``)`` (nested) or the next rule head / end of text."""
        alternatives = [self.parse_sequence()]
        while self.peek() == "|":
            self.pos += 1
            alternatives.append(self.parse_sequence())
        c = self.peek()
        if c and not (nested and c == ")") and not self.rule_head_at(self.pos):
            raise self.error(f"unexpected {c!r}")
        return alternatives[0] if len(alternatives) == 1 else _Alt(tuple(alternatives))

    def parse_sequence(self) -> _Expr:
        """Items up to ``|``, ``)``, a new rule head or the end of the text."""
        items: list[_Expr] = []
        while True:
            self.skip_space()
            c = self.peek()
            if not c or c in "|)" or self.rule_head_at(self.pos):
                break
            items.append(self.parse_quantified())
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def parse_quantified(self) -> _Expr:
        """A primary followed by any number of ``* + ? {m,n}``."""
        item = self.parse_primary()
        while True:
            c = self.peek()
            if c == "*":
                item, self.pos = _Rep(item, 0, None), self.pos + 1
            elif c == "+":
                item, self.pos = _Rep(item, 1, None), self.pos + 1
            elif c == "?":
                item, self.pos = _Rep(item, 0, 1), self.pos + 1
            elif c == "{":
                lo, hi = self.parse_braces()
                item = _Rep(item, lo, hi)
            else:
                return item

    def parse_braces(self) -> tuple[int, Optional[int]]:
        """``{m}``, ``{m,}`` or ``{m,n}``."""
        open_at = self.pos
        self.pos += 1
        lo = self.parse_int()
        hi: Optional[int] = lo
        self.skip_blanks()
        if self.peek() == ",":
            self.pos += 1
            self.skip_blanks()
            hi = self.parse_int() if self.peek().isdigit() else None
        self.skip_blanks()
        if self.peek() != "}":
            raise self.error("expected '}' to close the repetition '{'", self.pos)
        self.pos += 1
        if hi is not None and hi < lo:
            raise self.error(f"repetition {{{lo},{hi}}} has its maximum below its minimum", open_at)
        if max(lo, hi or 0) > _MAX_REPEAT:
            raise self.error(f"repetition count above {_MAX_REPEAT}", open_at)
        return lo, hi

    def skip_blanks(self) -> None:
        """Skip spaces and tabs (inside a repetition's braces)."""
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def parse_int(self) -> int:
        """A decimal count inside ``{...}``."""
        self.skip_blanks()
        start = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if start == self.pos:
            raise self.error("expected a number in the repetition '{...}'")
        return int(self.text[start:self.pos])

    def parse_primary(self) -> _Expr:
        """A string, a class, ``.``, a rule reference or a parenthesised group."""
        c = self.peek()
        start = self.pos
        if c == '"':
            return _Lit(self.parse_string())
        if c == "[":
            return _Lit(self.parse_class())
        if c == ".":
            self.pos += 1
            return _Lit(CharSet(complement_ranges(())))
        if c == "(":
            self.pos += 1
            inner = self.parse_alternatives(nested=True)
            if self.peek() != ")":
                raise self.error("unclosed '(' (no matching ')')", start)
            self.pos += 1
            return inner
        end = self.name_at(start)
        if end > start:
            self.pos = end
            return _Ref(self.text[start:end], start)
        raise self.error(f"unexpected {c!r}")

    def parse_string(self) -> Node:
        """``"..."``: the literal as a concatenation of one-character sets."""
        open_at = self.pos
        self.pos += 1
        chars: list[Node] = []
        while True:
            c = self.peek()
            if not c:
                raise self.error("unclosed string literal", open_at)
            if c == '"':
                self.pos += 1
                return concat(chars)
            chars.append(CharSet.of(self.parse_char()))

    def parse_class(self) -> Node:
        """``[...]`` or ``[^...]`` with ranges and escapes."""
        open_at = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        while True:
            c = self.peek()
            if not c:
                raise self.error("unclosed character class", open_at)
            if c == "]":
                self.pos += 1
                break
            lo = self.parse_char()
            hi = lo
            if self.peek() == "-" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                dash_at = self.pos
                self.pos += 1
                hi = self.parse_char()
                if hi < lo:
                    raise self.error(f"bad range {chr(lo)!r}-{chr(hi)!r} in a class", dash_at)
            ranges.append((lo, hi))
        normal = normalize_ranges(ranges)
        return CharSet(complement_ranges(normal) if negated else normal)

    def parse_char(self) -> int:
        """One character of a string or class, escapes resolved: its code point."""
        c = self.peek()
        if c != "\\":
            self.pos += 1
            return ord(c)
        at = self.pos
        e = self.text[self.pos + 1:self.pos + 2]
        if e in _SIMPLE_ESCAPES:
            self.pos += 2
            return ord(_SIMPLE_ESCAPES[e])
        if e in _HEX_ESCAPES:
            n = _HEX_ESCAPES[e]
            digits = self.text[self.pos + 2:self.pos + 2 + n]
            if len(digits) != n or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error(f"escape \\{e} needs {n} hexadecimal digits", at)
            cp = int(digits, 16)
            if cp > MAX_CODE_POINT:
                raise self.error(f"escape \\{e}{digits} is above U+10FFFF", at)
            self.pos += 2 + n
            return cp
        if not e:
            raise self.error("a backslash ends the text", at)
        raise self.error(f"unknown escape \\{e}", at)


# ---------------------------------------------------------------------------
# Expressions -> Cfg


def _pure(expr: _Expr) -> Optional[Node]:
    """The regex AST of an expression without rule references, else None."""
    if isinstance(expr, _Lit):
        return expr.node
    if isinstance(expr, _Ref):
        return None
    if isinstance(expr, _Rep):
        inner = _pure(expr.item)
        return None if inner is None else repeat(inner, expr.lo, expr.hi)
    parts = [_pure(e) for e in expr.items]
    if any(p is None for p in parts):
        return None
    return concat(parts) if isinstance(expr, _Seq) else alternation(parts)


class _Builder:
    """Turns rule expressions into terminals and rules of a ``Cfg``."""

    def __init__(self, parser: _Parser):
        self.parser = parser
        self.terminals: dict[str, Node] = {}
        self.terminal_of: dict[Node, str] = {}
        self.rules: dict[str, tuple[tuple[str, ...], ...]] = {}
        self.origins: dict[str, str] = {}
        self.counter = 0

    def build(self, definitions: dict[str, tuple[_Expr, int]]) -> None:
        """Every GBNF rule, and the helpers its body needs."""
        for name, (body, offset) in definitions.items():
            self.parser.rule = name
            where = self.parser.where(offset)
            self.origins[name] = where
            alternatives = body.items if isinstance(body, _Alt) else (body,)
            self.rules[name] = tuple(tuple(self.symbols(a, name, where)) for a in alternatives)

    def fresh(self, owner: str, kind: str = "") -> str:
        """A new helper name ``owner#<kind><n>``; ``#`` cannot occur in GBNF names."""
        self.counter += 1
        return f"{owner}#{kind}{self.counter}"

    def terminal(self, node: Node, owner: str, where: str) -> list[str]:
        """The symbol list for a regular part: one terminal, or nothing for the empty string."""
        if isinstance(node, Empty):
            return []
        name = self.terminal_of.get(node)
        if name is None:
            name = self.fresh(owner, "t")
            self.terminal_of[node] = name
            self.terminals[name] = node
            self.origins[name] = where
        return [name]

    def helper(self, owner: str, where: str, alternatives) -> str:
        """A new helper rule with the given alternatives (lists of symbols); its name."""
        name = self.fresh(owner)
        self.rules[name] = tuple(tuple(a) for a in alternatives)
        self.origins[name] = where
        return name

    def symbols(self, expr: _Expr, owner: str, where: str) -> list[str]:
        """The symbols an expression stands for inside one alternative of ``owner``."""
        node = _pure(expr)
        if node is not None:
            return self.terminal(node, owner, where)
        if isinstance(expr, _Ref):
            if expr.name not in self.parser.rules:
                raise self.parser.error(f"undefined rule {expr.name!r}", expr.offset)
            return [expr.name]
        if isinstance(expr, _Seq):
            return self.sequence(expr.items, owner, where)
        if isinstance(expr, _Alt):
            return [self.helper(owner, where, [self.symbols(a, owner, where) for a in expr.items])]
        return self.repetition(expr, owner, where)

    def sequence(self, items, owner: str, where: str) -> list[str]:
        """Adjacent regular items merged into one terminal; the rest one by one."""
        out: list[str] = []
        run: list[Node] = []
        for item in items:
            node = _pure(item)
            if node is not None:
                run.append(node)
                continue
            out += self.terminal(concat(run), owner, where)
            run = []
            out += self.symbols(item, owner, where)
        out += self.terminal(concat(run), owner, where)
        return out

    def repetition(self, expr: _Rep, owner: str, where: str) -> list[str]:
        """``item{lo,hi}`` over rules: lo copies, then a star or a chain of optionals."""
        item = self.symbols(expr.item, owner, where)
        out = item * expr.lo
        if expr.hi is None:
            star = self.fresh(owner)
            self.rules[star] = ((), tuple(item) + (star,))
            self.origins[star] = where
            return out + [star]
        tail: list[str] = []
        for _ in range(expr.hi - expr.lo):
            tail = [self.helper(owner, where, [[], item + tail])]
        return out + tail


def cfg_from_gbnf(text: str, *, start: str = "root") -> Cfg:
    """The ``Cfg`` of a llama.cpp GBNF grammar whose start rule is ``start``.

    Raises GrammarError naming the rule, line and column for bad syntax, unclosed strings,
    classes and groups, undefined rules, and a missing start rule.
    """
    if not isinstance(text, str):
        raise TypeError(f"a GBNF grammar must be a str, not {type(text).__name__}")
    parser = _Parser(text)
    definitions = parser.parse()
    if start not in definitions:
        raise GrammarError(f"GBNF grammar: no rule {start!r} (the start rule) is defined "
                           f"(text ends at {parser.where(len(text))})")
    builder = _Builder(parser)
    builder.build(definitions)
    return Cfg(terminals=builder.terminals, rules=builder.rules, start=start,
               origins=builder.origins)
