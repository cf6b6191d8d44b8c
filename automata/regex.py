"""Regular expressions -> minimal byte DFAs.

Syntax is Python ``re`` (as used by Lark terminals and JSON Schema ``pattern``); the
meaning of the class escapes follows ECMA-262, as JSON Schema requires:

- ``\\d`` = ``[0-9]``, ``\\w`` = ``[A-Za-z0-9_]``, ``\\s`` = ECMA-262 white space and line
  terminators; ``\\D \\W \\S`` are their complements over all Unicode scalar values.
- ``.`` = any code point but ``\\n \\r \\u2028 \\u2029`` (any code point under ``(?s)``).
- The whole string must match (fullmatch). ``^`` at the start and ``$`` at the end of the
  pattern (or of a top-level alternative) are accepted and mean nothing more.
- Inline flags: ``i`` (ignore case), ``s`` (dot matches all), ``x`` (verbose), ``m`` and
  ``u`` (no effect under fullmatch semantics) -- leading ``(?imsxu)`` or scoped
  ``(?i:...)``/``(?-i:...)``. Other flags are errors.
- Ignore case adds, to every literal character and class range, the code points related
  to it by single-character ``str.lower``/``str.upper``/``str.casefold`` (closed
  transitively); class escapes (``\\d \\W`` ...) and ``.`` are not folded. A negated
  class is the complement of the folded set.

- Escapes: ``\\n \\t \\r \\f \\v \\a``, ``\\0`` and ``\\0oo`` (octal), ``\\xHH``,
  ``\\uHHHH``, ``\\u{H...}``, ``\\UHHHHHHHH``, ``\\N{NAME}``, escaped punctuation; in a
  class also ``\\b`` (backspace). An escaped UTF-16 surrogate pair ``\\uD83D\\uDE00`` is one
  code point (ECMA-262); a lone surrogate matches nothing (it has no UTF-8 encoding).
- Quantifiers follow Python: ``{,n}`` and ``{,}`` are quantifiers, a ``{`` that does not
  start one is a literal; lazy ``?`` variants denote the same language.
- ``(?#...)`` comments are skipped; ``(?P<n>...)`` and ``(?<n>...)`` are plain groups.
- Size limits: ``MAX_NFA_STATES`` (estimated while parsing, so ``(a{1000}){1000}`` fails
  fast at its quantifier) and ``MAX_DFA_STATES`` for the subset construction.

Unsupported constructs (backreferences, lookarounds, ``\\b``-style assertions, anchors
elsewhere, conditionals, atomic groups, possessive quantifiers, ``\\p{..}``) raise
``RegexError`` naming the construct and its 0-based position.

The parser produces a small AST over code point sets (``parse_regex``); ``regex_to_dfa``
turns it into a byte NFA (each set expanded into UTF-8 byte ranges), runs the subset
construction and minimises.
"""

from __future__ import annotations

import bisect
import re as _re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Union

from constrain.errors import RegexError

from .dfa import NFA, ByteDFA, DFATooLarge, dfa_from_strings, nfa_to_dfa
from .utf8 import MAX_CODE_POINT, utf8_ranges

__all__ = [
    "Empty", "CharSet", "Concat", "Alt", "Repeat", "Node",
    "parse_regex", "parse_pattern_search", "regex_to_dfa", "ast_to_dfa", "ast_to_nfa",
    "normalize_ranges", "complement_ranges", "case_closure",
    "MAX_NFA_STATES", "MAX_DFA_STATES",
]

MAX_NFA_STATES = 1_000_000
MAX_DFA_STATES = 200_000

Ranges = tuple[tuple[int, int], ...]

# ---------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Empty:
    """The language containing only the empty string."""


@dataclass(frozen=True)
class CharSet:
    """One code point from a set: sorted, disjoint, non-adjacent inclusive ranges.

    A literal character is a one-point set; ``CharSet(())`` matches nothing.
    """

    ranges: Ranges

    @staticmethod
    def of(*cps: int) -> "CharSet":
        """The set of the given code points."""
        return CharSet(normalize_ranges((c, c) for c in cps))

    def __contains__(self, cp: int) -> bool:
        i = bisect.bisect_right(self.ranges, (cp, MAX_CODE_POINT + 1)) - 1
        return i >= 0 and self.ranges[i][0] <= cp <= self.ranges[i][1]


@dataclass(frozen=True)
class Concat:
    """The items in sequence (at least two)."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Alt:
    """Any one of the items (at least two)."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Repeat:
    """``item`` repeated between ``min`` and ``max`` times (``max=None``: unbounded)."""

    item: "Node"
    min: int
    max: int | None


Node = Union[Empty, CharSet, Concat, Alt, Repeat]


# ---------------------------------------------------------------------------
# Code point set helpers


def normalize_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sort ranges and merge overlapping or adjacent ones; drop empty ranges."""
    out: list[list[int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def complement_ranges(ranges: Ranges) -> Ranges:
    """The complement of normalised ranges within 0..U+10FFFF."""
    out = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return tuple(out)


_case_keys: list[int] | None = None
_case_groups: dict[int, tuple[int, ...]] = {}


def _case_table() -> tuple[list[int], dict[int, tuple[int, ...]]]:
    """Sorted code points that have case variants, and each one's equivalence group.

    Built once, lazily (about 0.1 s): every code point with a cased variant lies
    below U+20000.
    """
    global _case_keys
    if _case_keys is None:
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for cp in range(0x20000):
            c = chr(cp)
            for v in (c.lower(), c.upper(), c.casefold()):
                if len(v) == 1 and v != c:
                    a, b = find(cp), find(ord(v))
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        groups: dict[int, list[int]] = {}
        for cp in list(parent):
            groups.setdefault(find(cp), []).append(cp)
        for root, members in groups.items():
            g = tuple(sorted(set(members) | {root}))
            for m in g:
                _case_groups[m] = g
        _case_keys = sorted(_case_groups)
    return _case_keys, _case_groups


def case_closure(ranges: Ranges) -> Ranges:
    """Add every case variant of every member (see the module docstring)."""
    keys, groups = _case_table()
    extra = []
    for lo, hi in ranges:
        i = bisect.bisect_left(keys, lo)
        j = bisect.bisect_right(keys, hi)
        for cp in keys[i:j]:
            extra.extend((v, v) for v in groups[cp])
    if not extra:
        return ranges
    return normalize_ranges(list(ranges) + extra)


_DIGIT: Ranges = ((0x30, 0x39),)
_WORD: Ranges = normalize_ranges([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE: Ranges = normalize_ranges(
    [(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
     (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
     (0xFEFF, 0xFEFF)])
_CLASS_ESCAPES: dict[str, Ranges] = {
    "d": _DIGIT, "D": complement_ranges(_DIGIT),
    "w": _WORD, "W": complement_ranges(_WORD),
    "s": _SPACE, "S": complement_ranges(_SPACE),
}
_LINE_TERMINATORS: Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_DOT = complement_ranges(_LINE_TERMINATORS)
_ANY: Ranges = ((0, MAX_CODE_POINT),)

_SIMPLE_ESCAPES = {"n": 0x0A, "t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "a": 0x07}
_ASSERTIONS = set("bBAZzG")
_QUANT_RE = _re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_NAME_RE = _re.compile(r"[^\W\d]\w*")
_FLAG_LETTERS = set("imsxu")


# ---------------------------------------------------------------------------
# Parser


class _Parser:
    """Recursive-descent parser; every method returns ``(node, estimated NFA size)``."""

    def __init__(self, pattern: str, ignore_case: bool):
        self.p = pattern
        self.pos = 0
        self.flags = {"i": ignore_case, "s": False, "x": False, "m": False}

    def error(self, message: str, position: int) -> RegexError:
        return RegexError(message, self.p, position)

    def peek(self) -> str | None:
        return self.p[self.pos] if self.pos < len(self.p) else None

    def skip_verbose(self) -> None:
        if not self.flags["x"]:
            return
        p = self.p
        while self.pos < len(p):
            c = p[self.pos]
            if c in " \t\n\r\f\v":
                self.pos += 1
            elif c == "#":
                while self.pos < len(p) and p[self.pos] != "\n":
                    self.pos += 1
            else:
                break

    # -- top level ---------------------------------------------------------

    def parse(self) -> Node:
        self.parse_global_flags()
        node, _ = self.parse_alt(0)
        if self.pos < len(self.p):
            raise self.error("unbalanced parenthesis ')'", self.pos)
        return node

    def parse_search(self) -> Node:
        """Parse with ``RegExp.test`` semantics: unanchored branch ends match anything."""
        self.parse_global_flags()
        branches = []
        while True:
            node, _ = self.parse_seq(0)
            start_anchor, end_anchor = self.branch_anchors
            # Under (?m), ^ and $ also match next to a line terminator.
            multiline = self.flags["m"]
            any_text = Repeat(CharSet(_ANY), 0, None)
            line_break = CharSet(_LINE_TERMINATORS)
            if not start_anchor:
                head: Node = any_text
            elif multiline:
                head = alternation([Empty(), concat([any_text, line_break])])
            else:
                head = Empty()
            if not end_anchor:
                tail: Node = any_text
            elif multiline:
                tail = alternation([Empty(), concat([line_break, any_text])])
            else:
                tail = Empty()
            branches.append(concat([head, node, tail]))
            if self.peek() != "|":
                break
            self.pos += 1
        if self.pos < len(self.p):
            raise self.error("unbalanced parenthesis ')'", self.pos)
        return alternation(branches)

    def parse_global_flags(self) -> None:
        while True:
            m = _re.match(r"\(\?([a-zA-Z]+)\)", self.p[self.pos:])
            if not m:
                return
            self.check_flags(m.group(1), self.pos + 2)
            for f in m.group(1):
                if f in self.flags:
                    self.flags[f] = True
            self.pos += m.end()

    def check_flags(self, letters: str, position: int) -> None:
        for k, f in enumerate(letters):
            if f not in _FLAG_LETTERS:
                raise self.error(f"unsupported inline flag {f!r}", position + k)

    def parse_alt(self, depth: int) -> tuple[Node, int]:
        branches = [self.parse_seq(depth)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.parse_seq(depth))
        if len(branches) == 1:
            return branches[0]
        return alternation([b for b, _ in branches]), sum(s for _, s in branches) + 2

    def parse_seq(self, depth: int) -> tuple[Node, int]:
        items: list[tuple[Node, int]] = []
        anchors = [False, False]  # this branch starts with ^ / ends with $
        while True:
            self.skip_verbose()
            c = self.peek()
            if c is None or c in "|)":
                break
            if c == "^":
                if depth == 0 and not items:
                    self.pos += 1
                    anchors[0] = True
                    continue
                raise self.error("anchor '^' is only supported at the start of the pattern",
                                 self.pos)
            if c == "$":
                at = self.pos
                self.pos += 1
                self.skip_verbose()
                if depth == 0 and self.peek() in (None, "|"):
                    anchors[1] = True
                    continue
                raise self.error("anchor '$' is only supported at the end of the pattern", at)
            atom = self.parse_atom(depth)
            items.append(self.parse_quantifier(atom))
        # Whether the branch was anchored; read by the search entry point.
        self.branch_anchors = anchors
        if not items:
            return Empty(), 1
        if len(items) == 1:
            return items[0]
        return concat([n for n, _ in items]), sum(s for _, s in items)

    # -- quantifiers -------------------------------------------------------

    def read_quantifier(self) -> tuple[int, int | None] | None:
        """Consume a quantifier at the current position, or return None."""
        c = self.peek()
        if c == "*":
            self.pos += 1
            return 0, None
        if c == "+":
            self.pos += 1
            return 1, None
        if c == "?":
            self.pos += 1
            return 0, 1
        if c == "{":
            m = _QUANT_RE.match(self.p, self.pos)
            if not m or (m.group(1) == "" and m.group(2) is None):
                return None  # not a quantifier: a literal '{'
            lo = int(m.group(1)) if m.group(1) else 0
            if m.group(2) is None:
                hi: int | None = lo
            else:
                hi = int(m.group(3)) if m.group(3) else None
            if hi is not None and hi < lo:
                raise self.error(f"bad repeat {m.group(0)}: min greater than max", self.pos)
            self.pos = m.end()
            return lo, hi
        return None

    def parse_quantifier(self, atom: tuple[Node, int]) -> tuple[Node, int]:
        self.skip_verbose()
        at = self.pos
        q = self.read_quantifier()
        if q is None:
            return atom
        lo, hi = q
        if self.peek() == "?":
            self.pos += 1  # lazy: same language
        elif self.peek() == "+":
            raise self.error("possessive quantifier is not supported", self.pos)
        self.skip_verbose()
        save = self.pos
        if self.read_quantifier() is not None:
            raise self.error("multiple repeat", save)
        node, size = atom
        count = hi if hi is not None else lo + 1
        new_size = size * count + 2 * count + 2
        if new_size > MAX_NFA_STATES:
            raise self.error(
                f"regex too large: repeat {self.p[at:save]} needs about {new_size:,} NFA "
                f"states, over the limit of {MAX_NFA_STATES:,}", at)
        return repeat(node, lo, hi), new_size

    # -- atoms -------------------------------------------------------------

    def parse_atom(self, depth: int) -> tuple[Node, int]:
        c = self.p[self.pos]
        if c == "(":
            return self.parse_group(depth)
        if c == "[":
            return self.charset(self.parse_class(), fold=False)
        if c == ".":
            self.pos += 1
            return self.charset(_ANY if self.flags["s"] else _DOT, fold=False)
        if c == "\\":
            kind, value = self.parse_escape(in_class=False)
            if kind == "set":
                return self.charset(value, fold=False)
            return self.charset(((value, value),))
        if c in "*+?" or (c == "{" and _QUANT_RE.match(self.p, self.pos)
                          and self.p[self.pos:self.pos + 2] != "{}"):
            raise self.error(f"nothing to repeat before {c!r}", self.pos)
        self.pos += 1
        cp = ord(c)
        return self.charset(((cp, cp),))

    def charset(self, ranges: Ranges, fold: bool = True) -> tuple[Node, int]:
        if fold and self.flags["i"]:
            ranges = case_closure(ranges)
        return CharSet(ranges), 2 + 4 * len(ranges)

    def parse_group(self, depth: int) -> tuple[Node, int]:
        start = self.pos
        p = self.p
        self.pos += 1
        saved_flags = dict(self.flags)
        if p.startswith("?", self.pos):
            self.pos += 1
            rest = p[self.pos:]
            if rest.startswith(":"):
                self.pos += 1
            elif rest.startswith("P<") or (rest.startswith("<")
                                           and not rest.startswith(("<=", "<!"))):
                self.pos += 2 if rest.startswith("P") else 1
                m = _NAME_RE.match(p, self.pos)
                if not m or not p.startswith(">", m.end()):
                    raise self.error("bad group name", self.pos)
                self.pos = m.end() + 1
            elif rest.startswith("P="):
                raise self.error("backreference (?P=...) is not supported", start)
            elif rest.startswith(("=", "!")):
                raise self.error(f"lookahead (?{rest[0]}...) is not supported", start)
            elif rest.startswith(("<=", "<!")):
                raise self.error(f"lookbehind (?{rest[:2]}...) is not supported", start)
            elif rest.startswith("("):
                raise self.error("conditional group (?(...)...) is not supported", start)
            elif rest.startswith(">"):
                raise self.error("atomic group (?>...) is not supported", start)
            elif rest.startswith("#"):
                end = p.find(")", self.pos)
                if end < 0:
                    raise self.error("missing ), unterminated comment", start)
                self.pos = end + 1
                return Empty(), 1
            else:
                m = _re.match(r"([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])", rest)
                if not m:
                    raise self.error("unknown extension (?" + rest[:1], start)
                on, off, end = m.group(1), m.group(2) or "", m.group(3)
                if end == ")":
                    raise self.error("global flags not at the start of the expression", start)
                self.check_flags(on, self.pos)
                self.check_flags(off, self.pos + len(on) + 1)
                for f in on:
                    if f in self.flags:
                        self.flags[f] = True
                for f in off:
                    if f in self.flags:
                        self.flags[f] = False
                self.pos += m.end()
        node, size = self.parse_alt(depth + 1)
        self.flags = saved_flags
        if self.peek() != ")":
            raise self.error("missing ), unterminated subpattern", start)
        self.pos += 1
        return node, size

    def parse_escape(self, in_class: bool) -> tuple[str, object]:
        """Parse an escape at ``self.pos``; returns ``("char", cp)`` or ``("set", ranges)``."""
        start = self.pos
        p = self.p
        if self.pos + 1 >= len(p):
            raise self.error("dangling backslash at the end of the pattern", start)
        c = p[self.pos + 1]
        self.pos += 2
        if c in _CLASS_ESCAPES:
            return "set", _CLASS_ESCAPES[c]
        if c in _SIMPLE_ESCAPES:
            return "char", _SIMPLE_ESCAPES[c]
        if c == "b" and in_class:
            return "char", 0x08
        if c == "0":
            digits = ""
            while len(digits) < 2 and self.peek() is not None and self.peek() in "01234567":
                digits += p[self.pos]
                self.pos += 1
            return "char", int(digits or "0", 8)
        if c in "123456789":
            what = "octal escape" if in_class else "backreference"
            raise self.error(f"{what} \\{c} is not supported", start)
        if c == "x":
            return "char", self.hex_digits(2, start)
        if c == "U":
            cp = self.hex_digits(8, start)
            if cp > MAX_CODE_POINT:
                raise self.error(f"bad escape \\U: code point {cp:#x} out of range", start)
            return "char", cp
        if c == "u":
            if self.peek() == "{":
                end = p.find("}", self.pos)
                digits = p[self.pos + 1:end] if end >= 0 else ""
                if (not _re.fullmatch(r"[0-9a-fA-F]{1,6}", digits)
                        or int(digits, 16) > MAX_CODE_POINT):
                    raise self.error("bad escape \\u{...}", start)
                self.pos = end + 1
                return "char", int(digits, 16)
            cp = self.hex_digits(4, start)
            # An escaped UTF-16 surrogate pair means one astral code point (ECMA-262).
            if 0xD800 <= cp <= 0xDBFF and _re.match(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", p[self.pos:]):
                low = int(p[self.pos + 2:self.pos + 6], 16)
                self.pos += 6
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            return "char", cp
        if c == "N":
            m = _re.match(r"\{([^}]*)\}", p[self.pos:])
            try:
                if not m:
                    raise KeyError
                cp = ord(unicodedata.lookup(m.group(1)))
            except KeyError:
                raise self.error("bad escape \\N{...}: unknown character name", start) from None
            self.pos += m.end()
            return "char", cp
        if c in "pP":
            raise self.error(f"Unicode property escape \\{c} is not supported", start)
        if c in _ASSERTIONS:
            raise self.error(f"assertion \\{c} is not supported", start)
        if c.isascii() and c.isalnum():
            raise self.error(f"bad escape \\{c}", start)
        return "char", ord(c)

    def hex_digits(self, n: int, start: int) -> int:
        digits = self.p[self.pos:self.pos + n]
        if len(digits) != n or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise self.error(f"bad escape {self.p[start:start + 2]}: expected {n} hex digits",
                             start)
        self.pos += n
        return int(digits, 16)

    def parse_class(self) -> Ranges:
        """Parse ``[...]``: its characters and ranges case-closed if ignoring case, the
        class escapes (``\\d`` ...) as they are, then the union complemented if negated."""
        start = self.pos
        p = self.p
        self.pos += 1
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        parts: list[tuple[int, int]] = []  # characters and ranges (case-folded)
        sets: list[tuple[int, int]] = []  # class escapes (never folded)
        first = True
        while True:
            if self.pos >= len(p):
                raise self.error("unterminated character set", start)
            if p[self.pos] == "]" and not first:
                self.pos += 1
                break
            first = False
            atom_at = self.pos
            kind, value = self.class_atom()
            if (p.startswith("-", self.pos) and self.pos + 1 < len(p)
                    and p[self.pos + 1] != "]"):
                self.pos += 1
                kind2, value2 = self.class_atom()
                if kind == "set" or kind2 == "set":
                    raise self.error(f"bad character range {p[atom_at:self.pos]}", atom_at)
                if value > value2:
                    raise self.error(f"bad character range {p[atom_at:self.pos]}", atom_at)
                parts.append((value, value2))
            elif kind == "set":
                sets.extend(value)
            else:
                parts.append((value, value))
        ranges = normalize_ranges(parts)
        if self.flags["i"]:
            ranges = case_closure(ranges)
        ranges = normalize_ranges(ranges + tuple(sets))
        if negate:
            ranges = complement_ranges(ranges)
        return ranges

    def class_atom(self) -> tuple[str, object]:
        c = self.p[self.pos]
        if c == "\\":
            return self.parse_escape(in_class=True)
        self.pos += 1
        return "char", ord(c)


def concat(items: list[Node]) -> Node:
    """The items in sequence, flattened; the empty list is ``Empty()``."""
    flat: list[Node] = []
    for it in items:
        if isinstance(it, Concat):
            flat.extend(it.items)
        elif not isinstance(it, Empty):
            flat.append(it)
    if not flat:
        return Empty()
    return flat[0] if len(flat) == 1 else Concat(tuple(flat))


def alternation(items: list[Node]) -> Node:
    """Any one of the items (at least one), flattened."""
    flat: list[Node] = []
    for it in items:
        flat.extend(it.items if isinstance(it, Alt) else (it,))
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def repeat(node: Node, lo: int, hi: int | None) -> Node:
    """``node`` repeated ``lo`` to ``hi`` times (``None``: unbounded), simplified."""
    if isinstance(node, Empty) or (lo == 1 and hi == 1):
        return node
    if hi == 0:
        return Empty()
    return Repeat(node, lo, hi)


def parse_pattern_search(pattern: str, *, ignore_case: bool = False) -> Node:
    """Parse a JSON Schema ``pattern`` with ECMA-262 ``RegExp.test`` semantics.

    The result fullmatches exactly the strings in which ``pattern`` matches somewhere:
    every top-level alternative gets ``[\\s\\S]*`` (any code points) in front unless it
    starts with ``^`` and behind unless it ends with ``$``. Under ``(?m)`` an anchored end
    may also sit next to a line terminator (``\\n \\r U+2028 U+2029``). Anchors
    anywhere else raise ``RegexError``, as in ``parse_regex``.
    """
    return _Parser(pattern, ignore_case).parse_search()


def parse_regex(pattern: str, *, ignore_case: bool = False) -> Node:
    """Parse ``pattern`` into an AST (see the module docstring for the syntax).

    Character sets in the result are already case-closed when ignoring case, so the AST
    alone determines the language. Raises ``RegexError`` for unsupported or bad syntax.
    """
    parser = _Parser(pattern, ignore_case)
    return parser.parse()


# ---------------------------------------------------------------------------
# AST -> NFA -> DFA


def ast_to_nfa(node: Node) -> NFA:
    """Thompson construction over bytes; code point sets become UTF-8 byte ranges."""
    nfa = NFA()
    utf8_cache: dict[Ranges, list[list[tuple[int, int]]]] = {}

    def build(n: Node) -> tuple[int, int]:
        if isinstance(n, Empty):
            s = nfa.add_state()
            return s, s
        if isinstance(n, CharSet):
            s, e = nfa.add_state(), nfa.add_state()
            seqs = utf8_cache.get(n.ranges)
            if seqs is None:
                seqs = [seq for lo, hi in n.ranges for seq in utf8_ranges(lo, hi)]
                utf8_cache[n.ranges] = seqs
            shared: dict[tuple[int, int, int], int] = {}  # share common byte prefixes
            for seq in seqs:
                cur = s
                for lo, hi in seq[:-1]:
                    nxt = shared.get((cur, lo, hi))
                    if nxt is None:
                        nxt = nfa.add_state()
                        shared[(cur, lo, hi)] = nxt
                        nfa.add_range(cur, lo, hi, nxt)
                    cur = nxt
                lo, hi = seq[-1]
                nfa.add_range(cur, lo, hi, e)
            return s, e
        if isinstance(n, Concat):
            s, e = build(n.items[0])
            for it in n.items[1:]:
                s2, e2 = build(it)
                nfa.add_eps(e, s2)
                e = e2
            return s, e
        if isinstance(n, Alt):
            s, e = nfa.add_state(), nfa.add_state()
            for it in n.items:
                s2, e2 = build(it)
                nfa.add_eps(s, s2)
                nfa.add_eps(e2, e)
            return s, e
        if isinstance(n, Repeat):
            s = cur = nfa.add_state()
            for _ in range(n.min):
                s2, e2 = build(n.item)
                nfa.add_eps(cur, s2)
                cur = e2
            if n.max is None:
                loop = nfa.add_state()
                nfa.add_eps(cur, loop)
                s2, e2 = build(n.item)
                nfa.add_eps(loop, s2)
                nfa.add_eps(e2, loop)
                return s, loop
            if n.max > n.min:
                # x{0,k} as (x(x(x)?)?)?: every skip goes straight to the exit.
                exit_ = nfa.add_state()
                for _ in range(n.max - n.min):
                    nfa.add_eps(cur, exit_)
                    s2, e2 = build(n.item)
                    nfa.add_eps(cur, s2)
                    cur = e2
                nfa.add_eps(cur, exit_)
                return s, exit_
            return s, cur
        raise TypeError(f"not a regex AST node: {n!r}")

    nfa.start, nfa.accept = build(node)
    return nfa


def regex_to_dfa(pattern: str, *, ignore_case: bool = False) -> ByteDFA:
    """The minimal byte DFA of the UTF-8 encodings of the strings ``pattern`` fullmatches.

    Raises ``RegexError`` for unsupported or bad syntax and for regexes whose automata
    exceed ``MAX_NFA_STATES`` / ``MAX_DFA_STATES``.
    """
    return ast_to_dfa(parse_regex(pattern, ignore_case=ignore_case), pattern)


def ast_to_dfa(node: Node, pattern: str = "") -> ByteDFA:
    """The minimal byte DFA of a regex AST; ``pattern`` names it in size errors (RegexError)."""
    words = _literal_alternatives(node)
    if words is not None:
        return dfa_from_strings(words)
    nfa = ast_to_nfa(node)
    if nfa.n_states > MAX_NFA_STATES:
        raise RegexError(f"regex too large: {nfa.n_states:,} NFA states, over the limit of "
                         f"{MAX_NFA_STATES:,}", pattern, 0)
    try:
        return nfa_to_dfa(nfa, max_states=MAX_DFA_STATES)
    except DFATooLarge:
        raise RegexError(f"regex too large: its DFA has over {MAX_DFA_STATES:,} states",
                         pattern, 0) from None


def literal_text(node: Node) -> str | None:
    """The one string ``node`` matches if it is a plain literal (possibly empty), else None."""
    parts = node.items if isinstance(node, Concat) else (node,)
    chars = []
    for part in parts:
        if isinstance(part, Empty):
            continue
        if not (isinstance(part, CharSet) and len(part.ranges) == 1
                and part.ranges[0][0] == part.ranges[0][1]):
            return None
        cp = part.ranges[0][0]
        if 0xD800 <= cp <= 0xDFFF:
            return None
        chars.append(chr(cp))
    return "".join(chars)


def _literal_alternatives(node: Node) -> list[bytes] | None:
    """The strings of an alternation of literal strings (fast path), else None."""
    words = []
    for branch in (node.items if isinstance(node, Alt) else (node,)):
        text = literal_text(branch)
        if text is None:
            return None
        words.append(text.encode("utf-8"))
    return words

