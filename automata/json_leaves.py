"""JSON Schema leaf languages: string and number tokens as minimal byte DFAs.

Both builders return a ``ByteDFA`` (``automata/dfa.py``) of whole JSON tokens: a string
DFA includes its quotes, a number DFA is one numeral. An empty language is the 0-state DFA;
the schema compiler reports it.

Strings (``json_string_dfa``)
-----------------------------

Lengths (``minLength``/``maxLength``) count Unicode code points of the decoded value, as
JSON Schema does; a surrogate pair escape ``\\uD83D\\uDE00`` is one character.

*No pattern and no format*: every JSON spelling is allowed. A character is written either
literally (any code point except ``"``, ``\\`` and U+0000-U+001F, as UTF-8) or as an escape:
``\\" \\\\ \\/ \\b \\f \\n \\r \\t``, ``\\uXXXX`` (either case of hex digits) for a
non-surrogate, or ``\\uD8xx-\\uDBxx`` followed by ``\\uDCxx-\\uDFxx`` (a surrogate pair,
one character). Lone surrogates are rejected.

*With a pattern or a format*: the value is written in the **minimal escape style**: every
character literally except ``"``, ``\\`` and U+0000-U+001F, which must be escaped, either
as ``\\" \\\\ \\b \\f \\n \\r \\t`` (where such a short form exists) or as ``\\u00XX``
(either case of hex digits). ``\\/`` and ``\\u`` escapes of other characters are not part
of this style. ``json.dumps(value, ensure_ascii=False)`` writes exactly this style. The
restriction keeps the DFA exact: the decoded value is constrained by a DFA over its UTF-8
bytes (pattern, format and length intersected), and each must-escape byte is then replaced
by its escape spellings, which decode back to exactly one value.

``pattern`` follows ECMA-262 ``RegExp.test``: it matches anywhere unless anchored
(``automata.regex.parse_pattern_search``).

Formats (``format=``), exactly these languages (ASCII only; ``regex`` and unknown names raise
``FormatUnsupported``):

- ``date``: RFC 3339 ``full-date`` ``YYYY-MM-DD``; year 0001-9999 (0000 is rejected, as
  Python's ``date`` does), month 01-12, day 01 up to the month's length, February 29 only
  in Gregorian leap years (divisible by 4, centuries only if divisible by 400).
- ``time``: RFC 3339 ``full-time`` ``HH:MM:SS[.frac](Z|+HH:MM|-HH:MM)``; hour 00-23, minute
  and offset minute 00-59, offset hour 00-23, second 00-59, any number (>= 1) of fraction
  digits, ``Z`` or ``z``. Leap seconds (second 60) are rejected by default, as
  ``jsonschema``'s checker does; ``leap_seconds=True`` accepts second 60 exactly where the
  time converted to UTC is 23:59:60 (RFC 3339 and the JSON-Schema-Test-Suite), at a cost
  of about 11,000 DFA states instead of about 40.
- ``date-time``: ``date`` ``T`` ``time`` with ``T`` or ``t``.
- ``duration``: RFC 3339 appendix A (ISO 8601 durations): ``P`` then date elements
  ``nY nM nD`` (a contiguous run that may start at Y, M or D: Y, YM, YMD, M, MD, D),
  optionally ``T`` and time elements (H, HM, HMS, M, MS, S), or only time elements, or
  ``nW`` alone; digits only (no fractions, no sign), upper-case designators.
- ``email``: a practical RFC 5321 subset: local part a dot-atom (``atext`` runs joined by
  single dots) or a quoted string (printable ASCII, ``\\``-escapes of printable ASCII);
  ``@``; a ``hostname`` (below, without the total length limit), ``[IPv4]`` or
  ``[IPv6:ipv6]``. Length limits of RFC 5321 (64 octets local part, 254 total) are not
  enforced.
- ``hostname``: RFC 1123 labels (letters, digits, hyphens; no hyphen first or last; 1-63
  characters) joined by dots, no trailing dot, and no label with ``--`` in positions 3-4:
  that form belongs to IDNA A-labels (``xn--...``), whose Punycode cannot be validated by an
  automaton of this size, so they are refused rather than accepted unchecked. At most 253
  characters in all (about 24,000 states: label position times total length; built once
  per process, in about 0.3 s).
- ``ipv4``: four decimal octets 0-255 without leading zeros.
- ``ipv6``: every RFC 4291 text form (RFC 3986 ``IPv6address``): 1-4 hex digits per group,
  one ``::`` at most, embedded IPv4 in the last 32 bits; no zone id, no brackets.
- ``uri`` / ``uri-reference``: the RFC 3986 ``URI`` / ``URI-reference`` grammar (ASCII;
  non-ASCII must be percent-encoded).
- ``uuid``: ``8-4-4-4-12`` hex digits, either case, any version and variant.
- ``json-pointer``: RFC 6901 (``~`` only as ``~0``/``~1``; any other code point allowed).
- ``relative-json-pointer``: a non-negative integer without leading zeros, then ``#`` or a
  JSON pointer.

Numbers (``json_number_dfa``)
-----------------------------

Bounds and ``multipleOf`` are exact decimal arithmetic (floats go through ``str``).

- ``integer=True``: ``-?(0|[1-9][0-9]*)`` (no fraction, no exponent). ``-0`` is a valid
  JSON spelling of 0, so it is accepted exactly when 0 satisfies the constraints.
- ``integer=False`` without bounds or ``multipleOf``: full JSON number syntax
  ``-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?``.
- ``integer=False`` with bounds or ``multipleOf``: plain decimal notation without exponent
  ``-?(0|[1-9]\\d*)(\\.\\d+)?`` (a style choice that keeps the language exact); trailing
  zeros are allowed (``1.50``), ``-0``/``-0.0`` count as 0.
- ``multipleOf`` m: with m = p / 10^s (p an integer), a value v is a multiple iff v * 10^s
  is an integer divisible by p; the DFA tracks the remainder mod p (about (s + 2) * p
  states). Above ``MAX_MULTIPLE_STATES`` (100,000) states it raises ``NumberUnsupported``.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Union

import numpy as np

from constrain.errors import GrammarError, RegexError

from .dfa import (DEAD, ByteDFA, DFATooLarge, _canonical, _minimize_reduced, _reduce_columns,
                  concatenate, empty_dfa, intersect, is_subset, minimize, union)
from .regex import (MAX_DFA_STATES, Alt, Concat, ast_to_dfa, concat, parse_pattern_search,
                    parse_regex, regex_to_dfa)

__all__ = ["json_string_dfa", "json_chars_dfa", "json_number_dfa", "format_dfa",
           "pattern_content_dfa", "pattern_is_vacuous", "FormatUnsupported",
           "NumberUnsupported", "LengthUnsupported", "SUPPORTED_FORMATS", "MAX_MULTIPLE_STATES",
           "MAX_COUNTED_STATES"]

Num = Union[int, float, Decimal]
MAX_MULTIPLE_STATES = 100_000  # dense rows: 100,000 states = 100 MB
SPELLED_LENGTHS = 2048  # maxLength up to which lengths are counted on escaped spellings
# States of the product of a pattern or format with a length counter (a 50-word pattern with
# maxLength 500: 900,000, built in about 8 s); past this a length bound is refused.
MAX_COUNTED_STATES = 2_000_000


class FormatUnsupported(GrammarError):
    """A ``format`` whose language is not regular (``regex``) or that is unknown."""

    keyword = "format"

    def __init__(self, name: str, why: str = "unknown format"):
        self.format = name
        super().__init__(f"unsupported format {name!r}: {why}")


class NumberUnsupported(GrammarError):
    """Number constraints whose exact DFA would be too large (``multipleOf``)."""

    keyword = "multipleOf"


class LengthUnsupported(GrammarError):
    """A length bound on a pattern or format whose exact DFA would be too large."""

    def __init__(self, keyword: str, bound: int):
        self.keyword = keyword
        super().__init__(f"{keyword} {bound:,} with a pattern or format: the exact automaton "
                         f"counts characters state by state and passes "
                         f"{MAX_COUNTED_STATES:,} states")


# ---------------------------------------------------------------------------
# Strings

_HEX = "[0-9a-fA-F]"
# One JSON string character in any spelling (see the module docstring).
_JSON_CHAR = (r'[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-CeEfF]' + _HEX + "{3}|[dD][0-7]"
              + _HEX + "{2}|[dD][89abAB]" + _HEX + r"{2}\\u[dD][c-fC-F]" + _HEX + "{2})")
# One character in the minimal escape style (see escape_minimal).
_MINIMAL_CHAR = (r'[^"\\\x00-\x1f]|\\["\\bfnrt]|\\u00[01]' + _HEX + r"|\\u0022|\\u005[cC]")
_MUST_ESCAPE = list(range(0x20)) + [0x22, 0x5C]
_SHORT_ESCAPES = {ord('"'): 0x22, ord("\\"): 0x5C, ord("b"): 0x08, ord("f"): 0x0C,
                  ord("n"): 0x0A, ord("r"): 0x0D, ord("t"): 0x09}
_HEX_VALUES = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}


def json_string_dfa(*, min_length: int = 0, max_length: int | None = None,
                    pattern: str | None = None, format: str | None = None,
                    leap_seconds: bool = False, patterns: tuple = (),
                    formats: tuple = ()) -> ByteDFA:
    """The DFA of JSON string tokens (quotes included) whose value satisfies the constraints.

    Lengths count code points. ``pattern``/``format`` add to ``patterns``/``formats``, all
    of which must hold. Without any pattern or format every JSON escape is allowed; with
    one the minimal escape style is required (module docstring). ``leap_seconds`` is passed
    to ``format_dfa``. Raises ``RegexError`` for a bad pattern, ``FormatUnsupported``
    for ``regex`` or an unknown format, and ``LengthUnsupported`` when a length bound with a
    pattern or format needs over ``MAX_COUNTED_STATES`` states.
    """
    min_length = max(0, int(min_length))
    if max_length is not None and max_length < min_length:
        return empty_dfa()
    patterns = tuple(patterns) + ((pattern,) if pattern is not None else ())
    formats = tuple(formats) + ((format,) if format is not None else ())
    if not patterns and not formats:
        return _counted_quoted(_unit(_JSON_CHAR), min_length, max_length)
    try:
        if max_length is not None and max_length > SPELLED_LENGTHS:
            content = _content_dfa(formats, patterns, leap_seconds)
            if content.is_empty:
                return content
            content = intersect(content, _counted(_unit(r"[\s\S]"), min_length, max_length),
                                max_states=MAX_COUNTED_STATES)
            return escape_minimal(content)
        escaped = _escaped_content_dfa(formats, patterns, leap_seconds)
        if escaped.is_empty:
            return escaped
        if min_length > 0 or max_length is not None:
            # Escaping commutes with intersection (a minimal-style spelling decodes to one
            # value), so lengths may be counted on spelled characters, on the small escaped
            # pattern: no large content product to escape (a word-count pattern with
            # maxLength 200: 0.6 s instead of 5.6 s). Above SPELLED_LENGTHS characters the
            # spelled counter (about 15 states a character) costs more than it saves.
            escaped = intersect(escaped, _counted_quoted(_unit(_MINIMAL_CHAR), min_length,
                                                         max_length),
                                max_states=MAX_COUNTED_STATES)
        return escaped
    except DFATooLarge:
        if max_length is not None:
            raise LengthUnsupported("maxLength", max_length) from None
        raise LengthUnsupported("minLength", min_length) from None


def _content_dfa(formats: tuple, patterns: tuple, leap_seconds: bool) -> ByteDFA:
    """The decoded strings of every format and pattern (at least one), intersected."""
    parts = [format_dfa(f, leap_seconds=leap_seconds) for f in formats]
    parts += [pattern_content_dfa(p) for p in patterns]
    parts.sort(key=lambda d: d.n_states)
    content = parts[0]
    for p in parts[1:]:
        if content.is_empty:
            break
        content = intersect(content, p)
    return content


@functools.lru_cache(maxsize=256)
def _escaped_content_dfa(formats: tuple, patterns: tuple, leap_seconds: bool) -> ByteDFA:
    """``escape_minimal`` of ``_content_dfa``, kept per process: formats and patterns recur
    across schemas, and escaping a large one (``hostname``: 24,000 states) is costly."""
    return escape_minimal(_content_dfa(formats, patterns, leap_seconds))


@functools.lru_cache(maxsize=256)
def pattern_content_dfa(pattern: str) -> ByteDFA:
    """The DFA of the decoded (UTF-8) strings in which the ECMA-262 ``pattern`` finds a
    match (search semantics). A pattern whose anchors sit inside groups of a top-level
    alternation (``^$|(^a+$)``) is the union of its alternatives, each searched alone
    (exact: a search for A|B finds a match iff one for A or one for B does). Raises
    ``RegexError`` for what the regex engine rejects."""
    try:
        return _search_dfa(pattern)
    except RegexError as error:
        pieces = pattern_alternatives(pattern)
        if pieces == [pattern]:
            raise
        try:
            dfas = [_search_dfa(p) for p in pieces]
        except RegexError:
            raise error from None
    out = dfas[0]
    for d in dfas[1:]:
        out = union(out, d)
    return out


@functools.lru_cache(maxsize=256)
def pattern_is_vacuous(pattern: str) -> bool:
    """Whether every string matches ``pattern`` (``a*``, ``([0-9]+)?`` unanchored ...):
    such a pattern constrains nothing. Raises ``RegexError`` as ``pattern_content_dfa``."""
    return is_subset(_any_text_dfa(), pattern_content_dfa(pattern))


_ANY_TEXT = parse_regex(r"[\s\S]*")


def _search_dfa(pattern: str) -> ByteDFA:
    """``parse_pattern_search`` as a DFA, each top-level branch built as
    ``any* . DFA(branch) . any*`` from its minimal DFA: a subset construction over the
    raw branch would track every partial match after the first one (an unanchored
    alternation of 30 words passes 200,000 subsets; this way it has 90 states)."""
    ast = parse_pattern_search(pattern)
    out = None
    for branch in ast.items if isinstance(ast, Alt) else (ast,):
        items = list(branch.items) if isinstance(branch, Concat) else [branch]
        head = bool(items) and items[0] == _ANY_TEXT
        items = items[1:] if head else items
        tail = bool(items) and items[-1] == _ANY_TEXT
        items = items[:-1] if tail else items
        parts = [ast_to_dfa(concat(items), pattern)]
        any_text = _any_text_dfa()
        parts = ([any_text] if head else []) + parts + ([any_text] if tail else [])
        try:
            piece = concatenate(*parts)
        except DFATooLarge:
            raise RegexError(f"regex too large: its DFA has over {MAX_DFA_STATES:,} states",
                             pattern, 0) from None
        out = piece if out is None else union(out, piece)
    return out


@functools.lru_cache(maxsize=None)
def _any_text_dfa() -> ByteDFA:
    return ast_to_dfa(_ANY_TEXT)


def pattern_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex, each unwrapped from groups that span all of
    it (``(^a$)|(?:b)`` -> ``["^a$", "b"]``, recursively); ``[pattern]`` when there is
    nothing to split or the syntax is not plain (flags, comments, ``[]``-classes)."""
    if "(?x" in pattern or "(?#" in pattern or "[]" in pattern or "[^]" in pattern:
        return [pattern]
    out = []
    for alt in _split_top(pattern, "|"):
        inner = _unwrap_group(alt)
        out.extend(pattern_alternatives(inner) if inner is not None else [alt])
    return out


def _group_depths(pattern: str):
    """``(index, char, depth)`` for each character of ``pattern`` outside escapes and
    ``[]``-classes, ``depth`` the group nesting after that character."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        else:
            depth += (c == "(") - (c == ")")
            yield i, c, depth
        i += 1


def _split_top(pattern: str, sep: str) -> list[str]:
    """``pattern`` split at ``sep`` characters outside groups, classes and escapes."""
    parts, start = [], 0
    for i, c, depth in _group_depths(pattern):
        if c == sep and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return parts + [pattern[start:]]


def _unwrap_group(alt: str):
    """The inside of a group ``(...)``, ``(?:...)``, ``(?<n>...)`` or ``(?P<n>...)`` that spans
    all of ``alt`` (without a quantifier after it), else None."""
    if not (alt.startswith("(") and alt.endswith(")")):
        return None
    head = 1
    if alt.startswith("(?:"):
        head = 3
    elif alt.startswith("(?P<") or alt.startswith("(?<"):
        if alt.startswith("(?<=") or alt.startswith("(?<!"):
            return None
        head = alt.index(">") + 1 if ">" in alt else 0
    elif alt.startswith("(?"):
        return None
    if not head:
        return None
    inner = alt[head:-1]
    # the group must close at the very end: the inside is balanced on its own
    depths = [depth for _, _, depth in _group_depths(inner)]
    return inner if min(depths, default=0) >= 0 and (depths or [0])[-1] == 0 else None


def json_chars_dfa(min_length: int = 0, max_length: int | None = None, *,
                   open_quote: bool = False, close_quote: bool = False) -> ByteDFA:
    """The DFA of ``min_length`` to ``max_length`` (``None``: unbounded) characters of a
    JSON string in every spelling, with its opening and/or closing quote if asked.
    Concatenations of such pieces spell long strings without a DFA state per character of
    the whole length (see ``json_schema``'s long strings)."""
    min_length = max(0, int(min_length))
    if max_length is not None and max_length < min_length:
        return empty_dfa()
    return _counted_quoted(_unit(_JSON_CHAR), min_length, max_length, open_quote, close_quote)


@functools.lru_cache(maxsize=None)
def _unit(char_regex: str) -> ByteDFA:
    """The DFA of one character (a prefix-free language: its accepting state is final)."""
    return regex_to_dfa(char_regex)


def _chain(unit: ByteDFA, lo: int, hi: int | None):
    """``unit{lo,hi}`` as column-reduced arrays, built directly (no subset construction).

    The unit's single accepting state has no moves, so copies of the unit's other states
    are chained: copy c holds the states inside character c + 1, and its "hub" (the
    unit's start) is entered after c characters. Returns ``(trans, hub_ids,
    col_of_byte)``; hub c is state ``hub_ids[c]``.
    """
    red, col_of_byte = _reduce_columns(unit.transitions.astype(np.int64))
    final = int(np.flatnonzero(unit.accepting)[0])
    inner = [s for s in range(unit.n_states) if s != final]  # inner[0] == 0, the start
    local = np.full(unit.n_states, DEAD, dtype=np.int64)
    local[inner] = np.arange(len(inner))
    m = len(inner)
    base = red[inner]  # [m, k] unit moves from the non-final states
    is_next = base == final
    in_copy = np.where((base >= 0) & ~is_next, local[np.maximum(base, 0)], DEAD)
    # Unbounded with lo >= 1: hub lo re-enters copy lo - 1 (its inner states lead to hub
    # lo either way, so a separate loop copy would not be minimal).
    copies = hi if hi is not None else max(lo, 1)
    offsets = (np.arange(copies, dtype=np.int64) * m)[:, None, None]
    trans = np.where(in_copy[None] >= 0, in_copy[None] + offsets, DEAD)
    nxt = offsets + m  # the hub after this character
    if hi is None:
        nxt[-1] = lo * m if lo else 0
    trans = np.where(is_next[None], nxt, trans).reshape(copies * m, base.shape[1])
    if hi is not None:  # the last hub: no more characters
        last = np.full((1, trans.shape[1]), DEAD, dtype=np.int64)
    elif lo:
        last = trans[(lo - 1) * m][None]  # hub lo moves like hub lo - 1
    else:
        last = trans[:0]
    trans = np.vstack([trans, last])
    hubs = np.arange((hi if hi is not None else lo) + 1) * m
    return trans, hubs, col_of_byte


def _counted(unit: ByteDFA, lo: int, hi: int | None) -> ByteDFA:
    """The minimal DFA of ``unit{lo,hi}`` (``hi=None``: unbounded)."""
    trans, hubs, col_of_byte = _chain(unit, lo, hi)
    acc = np.zeros(len(trans), dtype=bool)
    acc[hubs[lo:]] = True
    return _canonical(trans, acc, 0, col_of_byte)


def _counted_quoted(unit: ByteDFA, lo: int, hi: int | None, open_quote: bool = True,
                    close_quote: bool = True) -> ByteDFA:
    """``"unit{lo,hi}"``: the chain with an opening quote state and a closing quote (each
    optional)."""
    trans, hubs, col_of_byte = _chain(unit, lo, hi)
    quote = ord('"')
    # The hubs never move on '"': give it a column of its own for the closing quote.
    col_of_byte, trans = _split_byte(col_of_byte, trans, quote)
    n = len(trans)
    q = int(col_of_byte[quote])
    first = 1 if open_quote else 0  # state 0: before the opening quote
    out = np.full((n + first + 1, trans.shape[1]), DEAD, dtype=np.int64)
    out[first:n + first] = trans + np.where(trans >= 0, first, 0)
    acc = np.zeros(n + first + 1, dtype=bool)
    if open_quote:
        out[0, q] = 1
    if close_quote:
        out[hubs[lo:] + first, q] = n + first
        acc[n + first] = True
    else:
        acc[hubs[lo:] + first] = True
    return _canonical(out, acc, 0, col_of_byte)


def _split_byte(col_of_byte: np.ndarray, trans: np.ndarray, byte: int):
    """Give ``byte`` a column of its own (copying its old column's moves)."""
    col = int(col_of_byte[byte])
    if int((col_of_byte == col).sum()) == 1:
        return col_of_byte, trans
    col_of_byte = col_of_byte.copy()
    col_of_byte[byte] = trans.shape[1]
    return col_of_byte, np.hstack([trans, trans[:, col:col + 1]])


def escape_minimal(content: ByteDFA) -> ByteDFA:
    """Quoted JSON strings, in the minimal escape style, whose decoded UTF-8 is in ``content``.

    Each must-escape byte (``"``, ``\\``, 0x00-0x1F) of the content is replaced by its
    spellings ``\\X`` (short form, if any) and ``\\u00XX`` (either hex case); the other
    bytes stay literal. The construction is deterministic: per content state that moves on
    a must-escape byte, eight states inside an escape (after ``\\``, ``\\u``, ``\\u0``,
    ``\\u00``, ``\\u000``, ``\\u001``, ``\\u002``, ``\\u005``).
    """
    n = content.n_states
    if n == 0:
        return empty_dfa()
    ct = content.transitions.astype(np.int64)
    # Byte classes: the content's, refined so that every byte with a role here is alone.
    special = set(_MUST_ESCAPE) | set(_SHORT_ESCAPES) | set(_HEX_VALUES) | set(b"u")
    _, col_of_content = _reduce_columns(ct)
    key = col_of_content * 257 + np.array([b if b in special else 256 for b in range(256)])
    _, first, col_of_byte = np.unique(key, return_index=True, return_inverse=True)
    col_of_byte = col_of_byte.reshape(-1)
    k = len(first)
    red = ct[:, first]  # content moves per new class

    def c(byte: int) -> int:
        return int(col_of_byte[byte])

    # Escape states only for the content states that move on some must-escape byte.
    s = np.flatnonzero((red[:, sorted({c(b) for b in _MUST_ESCAPE})] != DEAD).any(axis=1))
    e = len(s)
    rows = red[s]  # the content moves of those states
    j = np.arange(e, dtype=np.int64)
    esc, u1, u2, u3, u4_0, u4_1, u4_2, u4_5 = (n + e * i for i in range(8))
    start, final = n + 8 * e, n + 8 * e + 1
    out = np.full((n + 8 * e + 2, k), DEAD, dtype=np.int64)
    out[:n] = red
    out[:n, [c(b) for b in _MUST_ESCAPE]] = DEAD
    out[s, c(0x5C)] = esc + j
    for letter, byte in _SHORT_ESCAPES.items():
        out[esc + j, c(letter)] = rows[:, c(byte)]
    out[esc + j, c(ord("u"))] = u1 + j
    out[u1 + j, c(ord("0"))] = u2 + j
    out[u2 + j, c(ord("0"))] = u3 + j
    for digit, block in (("0", u4_0), ("1", u4_1), ("2", u4_2), ("5", u4_5)):
        out[u3 + j, c(ord(digit))] = block + j
    for h, value in _HEX_VALUES.items():
        out[u4_0 + j, c(h)] = rows[:, c(value)]
        out[u4_1 + j, c(h)] = rows[:, c(0x10 + value)]
    out[u4_2 + j, c(ord("2"))] = rows[:, c(0x22)]
    for h in (ord("c"), ord("C")):
        out[u4_5 + j, c(h)] = rows[:, c(0x5C)]
    out[start, c(0x22)] = 0
    out[np.flatnonzero(content.accepting), c(0x22)] = final
    acc = np.zeros(n + 8 * e + 2, dtype=bool)
    acc[final] = True
    return _minimize_reduced(out, acc, start, col_of_byte.astype(np.int64))


# ---------------------------------------------------------------------------
# Formats

_D = "[0-9]"
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = ("(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])"
              "|(?:0[48]|[2468][048]|[13579][26])00)")
_MONTH_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
              "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_HOUR = "(?:[01][0-9]|2[0-3])"
_MIN = "[0-5][0-9]"
_FRAC = r"(?:\.[0-9]+)?"
_OFFSET = f"(?:[zZ]|[+-]{_HOUR}:{_MIN})"


def _leap_second_time() -> str:
    """``HH:MM:60[.frac]offset`` for every local time and offset meaning 23:59:60 UTC."""
    by_local: dict[str, list[str]] = {}
    utc = 23 * 60 + 59
    offsets = [(0, "[zZ]")]
    for minutes in range(0, 24 * 60):
        h, m = divmod(minutes, 60)
        offsets.append((minutes, rf"\+{h:02d}:{m:02d}"))
        offsets.append((-minutes, rf"-{h:02d}:{m:02d}"))
    for off, text in offsets:
        local = (utc + off) % (24 * 60)
        by_local.setdefault(f"{local // 60:02d}:{local % 60:02d}", []).append(text)
    branches = [f"{local}:60{_FRAC}(?:{'|'.join(texts)})" for local, texts in by_local.items()]
    return "(?:" + "|".join(branches) + ")"


def _time(leap_seconds: bool) -> str:
    plain = f"{_HOUR}:{_MIN}:{_MIN}{_FRAC}{_OFFSET}"
    return f"(?:{plain}|{_leap_second_time()})" if leap_seconds else f"(?:{plain})"


_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IPV4 = rf"(?:{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET})"
_H16 = f"{_HEX}{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"


def _ipv6() -> str:
    """RFC 3986 ``IPv6address``: the nine forms, by the number of groups before ``::``."""
    forms = [f"(?:{_H16}:){{6}}{_LS32}", f"::(?:{_H16}:){{5}}{_LS32}"]
    tails = [f"(?:{_H16}:){{4}}{_LS32}", f"(?:{_H16}:){{3}}{_LS32}",
             f"(?:{_H16}:){{2}}{_LS32}", f"{_H16}:{_LS32}", _LS32, _H16, ""]
    for before, tail in enumerate(tails):
        head = _H16 if before == 0 else f"(?:(?:{_H16}:){{0,{before}}}{_H16})"
        forms.append(f"(?:{head})?::{tail}")
    return "(?:" + "|".join(forms) + ")"


_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*)"
# A hostname label may not have "--" in positions 3-4 (RFC 5891 4.2.3.1): that form is kept for
# A-labels ("xn--..."), whose punycode cannot be validated here, so they are refused (sound).
_X = "[A-Za-z0-9]"
_HOST_LABEL = (f"{_X}(?:[A-Za-z0-9-]?{_X}|[A-Za-z0-9-][A-Za-z0-9-]{_X}"
               f"|[A-Za-z0-9-](?:{_X}[A-Za-z0-9-]|-{_X})[A-Za-z0-9-]{{0,58}}{_X})?")
_HOSTNAME = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*)"
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"


def _email() -> str:
    local = rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:[ !#-\[\]-~]|\\[ -~])*")'
    return rf"{local}@(?:{_DOMAIN}|\[{_IPV4}\]|\[IPv6:{_ipv6()}\])"


def _uri(reference: bool) -> str:
    """RFC 3986 ``URI`` (or ``URI-reference``) as a regex."""
    unreserved = r"A-Za-z0-9\-._~"
    sub_delims = r"!$&'()*+,;="
    pct = f"%{_HEX}{_HEX}"
    pchar = f"(?:[{unreserved}{sub_delims}:@]|{pct})"
    segment = f"{pchar}*"
    segment_nz = f"{pchar}+"
    segment_nz_nc = f"(?:[{unreserved}{sub_delims}@]|{pct})+"
    scheme = r"[A-Za-z][A-Za-z0-9+\-.]*"
    userinfo = f"(?:[{unreserved}{sub_delims}:]|{pct})*"
    ipvfuture = f"[vV]{_HEX}+\\.[{unreserved}{sub_delims}:]+"
    ip_literal = rf"\[(?:{_ipv6()}|{ipvfuture})\]"
    reg_name = f"(?:[{unreserved}{sub_delims}]|{pct})*"
    host = f"(?:{ip_literal}|{_IPV4}|{reg_name})"
    authority = f"(?:{userinfo}@)?{host}(?::[0-9]*)?"
    path_abempty = f"(?:/{segment})*"
    path_absolute = f"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = f"{segment_nz}(?:/{segment})*"
    path_noscheme = f"{segment_nz_nc}(?:/{segment})*"
    query = f"(?:[{unreserved}{sub_delims}:@/?]|{pct})*"
    tail = f"(?:\\?{query})?(?:#{query})?"
    hier = f"(?://{authority}{path_abempty}|{path_absolute}|{path_rootless}|)"
    uri = f"{scheme}:{hier}{tail}"
    if not reference:
        return uri
    relative = f"(?://{authority}{path_abempty}|{path_absolute}|{path_noscheme}|){tail}"
    return f"(?:{uri}|{relative})"


def _duration() -> str:
    n = "[0-9]+"
    second = f"{n}S"
    minute = f"{n}M(?:{second})?"
    hour = f"{n}H(?:{minute})?"
    time = f"T(?:{hour}|{minute}|{second})"
    day = f"{n}D"
    month = f"{n}M(?:{day})?"
    year = f"{n}Y(?:{month})?"
    return f"P(?:(?:{day}|{month}|{year})(?:{time})?|{time}|{n}W)"


_JSON_POINTER = "(?:/(?:[^~/]|~[01])*)*"

_FORMAT_REGEXES = {
    "date": lambda: _DATE,
    "time": lambda: _time(False),
    "date-time": lambda: f"{_DATE}[Tt]{_time(False)}",
    "duration": _duration,
    "email": _email,
    "hostname": lambda: _HOSTNAME,
    "ipv4": lambda: _IPV4,
    "ipv6": _ipv6,
    "uri": lambda: _uri(False),
    "uri-reference": lambda: _uri(True),
    "uuid": lambda: f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}",
    "json-pointer": lambda: _JSON_POINTER,
    "relative-json-pointer": lambda: f"(?:0|[1-9][0-9]*)(?:#|{_JSON_POINTER})",
}
SUPPORTED_FORMATS = frozenset(_FORMAT_REGEXES)


@functools.lru_cache(maxsize=None)
def format_dfa(name: str, *, leap_seconds: bool = False) -> ByteDFA:
    """The DFA of the decoded (UTF-8) values of format ``name`` (module docstring).

    ``leap_seconds=True`` makes ``time``/``date-time`` exact RFC 3339 (second 60 where it
    is 23:59:60 UTC) at a cost of about 11,000 states; by default second 60 is rejected,
    as ``jsonschema``'s checker does. Raises ``FormatUnsupported`` for ``regex`` (valid
    ECMA-262 regexes are not a regular language) and for unknown names.
    """
    if name == "regex":
        raise FormatUnsupported(name, "valid regular expressions are not a regular language")
    build = _FORMAT_REGEXES.get(name)
    if build is None:
        raise FormatUnsupported(name)
    if leap_seconds and name in ("time", "date-time"):
        return regex_to_dfa(_time(True) if name == "time" else f"{_DATE}[Tt]{_time(True)}")
    dfa = regex_to_dfa(build())
    if name in _FORMAT_MAX_LENGTH:
        dfa = intersect(dfa, _counted(_unit(r"[\s\S]"), 0, _FORMAT_MAX_LENGTH[name]))
    return dfa


# Total lengths in characters (RFC 1123: 253 for a hostname without its trailing dot).
_FORMAT_MAX_LENGTH = {"hostname": 253}


# ---------------------------------------------------------------------------
# Numbers


def _decimal(x: Num, what: str) -> Decimal:
    """``x`` as an exact finite Decimal (floats through ``str``)."""
    if isinstance(x, bool):
        raise TypeError(f"{what} must be a number, not a boolean")
    d = Decimal(str(x)) if isinstance(x, float) else Decimal(x)
    if not d.is_finite():
        raise ValueError(f"{what} must be finite, got {x!r}")
    return d


def _digits(c: Decimal) -> tuple[str, str]:
    """Integer and fraction digits of ``c >= 0``: no leading zeros (``"0"`` for < 1) and no
    trailing zeros in the fraction."""
    text = format(c, "f")
    whole, _, frac = text.partition(".")
    return whole.lstrip("0") or "0", frac.rstrip("0")


class _Builder:
    """A small DFA under construction: dict rows, ints for states."""

    def __init__(self):
        self.rows: list[dict[int, int]] = []
        self.acc: list[bool] = []

    def state(self, accepting: bool = False) -> int:
        """Add a state; returns its id."""
        self.rows.append({})
        self.acc.append(accepting)
        return len(self.rows) - 1

    def move(self, src: int, chars: str, dst: int) -> None:
        """Add moves from ``src`` to ``dst`` on each of ``chars``."""
        for ch in chars:
            self.rows[src][ord(ch)] = dst

    def dfa(self) -> ByteDFA:
        """The minimal DFA (start = state 0)."""
        trans = np.full((len(self.rows), 256), DEAD, dtype=np.int64)
        for s, row in enumerate(self.rows):
            if row:
                trans[s, list(row)] = list(row.values())
        return minimize(trans, np.array(self.acc, dtype=bool), 0)


_DIGITS = "0123456789"


def _cmp(a: str, b: str) -> str:
    return "eq" if a == b else ("lt" if a < b else "gt")


def _unsigned_compare(c: Decimal, outcomes: set[str]) -> ByteDFA:
    """Unsigned numerals ``(0|[1-9]\\d*)(\\.\\d+)?`` whose comparison with ``c >= 0`` is one
    of ``outcomes`` (``"lt"``, ``"eq"``, ``"gt"``).

    Integer-part states track (digits read k, comparison of those digits with the first k
    digits of ``c``'s integer part); fewer digits than ``c`` means less, more means
    greater. Equal integer parts go on to compare the fraction digit by digit against
    ``c``'s fraction padded with zeros.
    """
    whole, frac = _digits(c)
    L = len(whole)
    b = _Builder()
    start = b.state()
    # '.' after a settled integer part: at least one digit, then any digits.
    settled_dot = {}
    for o in ("lt", "gt"):
        after_dot = b.state()
        digits_read = b.state(o in outcomes)
        b.move(after_dot, _DIGITS, digits_read)
        b.move(digits_read, _DIGITS, digits_read)
        settled_dot[o] = (after_dot, digits_read)
    # '.' after an integer part equal to c's: compare the fraction.
    eq_dot = cur = b.state()
    for j, d in enumerate(frac):
        b.move(cur, _DIGITS[:int(d)], settled_dot["lt"][1])
        b.move(cur, _DIGITS[int(d) + 1:], settled_dot["gt"][1])
        # A fraction equal to a proper prefix of c's is less; equal to all of it, equal.
        nxt = b.state(("eq" if j == len(frac) - 1 else "lt") in outcomes)
        b.move(cur, d, nxt)
        cur = nxt
    zeros = b.state("eq" in outcomes)  # c's fraction matched: zeros keep equality
    for st in (cur, zeros):
        b.move(st, "0", zeros)
        b.move(st, _DIGITS[1:], settled_dot["gt"][1])
    equal_whole = "eq" if not frac else "lt"  # integer part equal, no fraction

    memo: dict[tuple[int, str], int] = {}
    todo: list[tuple[int, str]] = []

    def int_state(k: int, cmp: str) -> int:
        if (k, cmp) not in memo:
            outcome = "lt" if k < L else ("gt" if k > L else
                                          (equal_whole if cmp == "eq" else cmp))
            st = memo[(k, cmp)] = b.state(outcome in outcomes)
            if k == L and cmp == "eq":
                b.move(st, ".", eq_dot)
            else:
                b.move(st, ".", settled_dot["lt" if k < L or cmp == "lt" else "gt"][0])
            todo.append((k, cmp))
        return memo[(k, cmp)]

    # The integer part "0" takes no more digits; it is equal to c's iff c < 1.
    zero = int_state(1, "eq") if whole == "0" else b.state("lt" in outcomes)
    if whole != "0":
        b.move(zero, ".", settled_dot["lt"][0])
    b.move(start, "0", zero)
    for d in _DIGITS[1:]:
        b.move(start, d, int_state(1, _cmp(d, whole[0])))
    while todo:
        k, cmp = todo.pop()
        st = memo[(k, cmp)]
        if st == zero:
            continue
        for d in _DIGITS:
            if k >= L:
                nxt = int_state(L + 1, "gt")
            else:
                nxt = int_state(k + 1, _cmp(d, whole[k]) if cmp == "eq" else cmp)
            b.move(st, d, nxt)
    return b.dfa()


def _signed(positive: ByteDFA | None, negative: ByteDFA | None) -> ByteDFA:
    """Numerals ``u`` with ``u`` in ``positive`` or ``-u`` with ``u`` in ``negative``."""
    parts = []
    if positive is not None and not positive.is_empty:
        parts.append(("", positive))
    if negative is not None and not negative.is_empty:
        parts.append(("-", negative))
    if not parts:
        return empty_dfa()
    sizes = [d.n_states for _, d in parts]
    offs = np.cumsum([1] + sizes[:-1])
    trans = np.full((1 + sum(sizes), 256), DEAD, dtype=np.int64)
    acc = np.zeros(1 + sum(sizes), dtype=bool)
    for (sign, d), off in zip(parts, offs):
        t = np.where(d.transitions < 0, DEAD, d.transitions + off)
        trans[off:off + d.n_states] = t
        acc[off:off + d.n_states] = d.accepting
        if sign:
            trans[0, ord(sign)] = off
        else:
            trans[0] = np.where(t[0] >= 0, t[0], trans[0])
    return minimize(trans, acc, 0)


_FLIP = {"lt": "gt", "gt": "lt", "eq": "eq"}


def _bound_dfa(bound: Decimal, outcomes: set[str]) -> ByteDFA:
    """Signed decimal numerals v whose comparison with ``bound`` is one of ``outcomes``."""
    # Non-negative numerals u: compare u with the bound directly if it is >= 0; else
    # every u is greater.
    if bound >= 0:
        positive = _unsigned_compare(bound, outcomes)
    else:
        positive = _unsigned_any() if "gt" in outcomes else None
    # Negative-signed numerals -u (u = 0 included: "-0" is 0): -u vs bound is u vs -bound
    # flipped; for a positive bound every -u is less. (copy_abs is exact where unary
    # minus would round to the context's 28 digits.)
    if bound > 0:
        negative = _unsigned_any() if "lt" in outcomes else None
    else:
        negative = _unsigned_compare(bound.copy_abs(), {_FLIP[o] for o in outcomes})
    return _signed(positive, negative)


@functools.lru_cache(maxsize=None)
def _unsigned_any() -> ByteDFA:
    return regex_to_dfa(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def _multiple_dfa(m: Decimal, integer: bool) -> ByteDFA:
    """Numerals ``-?(0|[1-9]\\d*)(\\.\\d+)?`` (no fraction if ``integer``) whose value is a
    multiple of ``m > 0``.

    With m = p / 10^s, v is a multiple iff v * 10^s is an integer divisible by p: the
    integer part and the first s fraction digits are read modulo p, later fraction
    digits must be zeros.
    """
    _, digits, exp = m.as_tuple()
    p = int("".join(map(str, digits)))
    s = 0
    if exp >= 0:
        p *= 10 ** exp
    else:
        s = -exp
    while s and p % 10 == 0:  # 0.50 -> 0.5
        p //= 10
        s -= 1
    blocks = 1 if integer else s + 3
    if p * blocks + 3 > MAX_MULTIPLE_STATES:
        raise NumberUnsupported(
            f"multipleOf {m}: its exact DFA needs about {p * blocks + 3:,} states, over the "
            f"limit of {MAX_MULTIPLE_STATES:,}")
    # Columns: 0-9 the digits, 10 '-', 11 '.', 12 anything else.
    col_of_byte = np.full(256, 12, dtype=np.int64)
    col_of_byte[ord("0"):ord("9") + 1] = np.arange(10)
    col_of_byte[ord("-")], col_of_byte[ord(".")] = 10, 11
    # States: 0 start, 1 after '-', 2 integer part "0"; block j of p states at 3 + p*j:
    # j = 0 integer part with remainder r, j = 1..s after j fraction digits, j = s + 1
    # after '.' (no digit yet); the zeros tail is the last state.
    n = 3 + p * blocks + 1
    trans = np.full((n, 13), DEAD, dtype=np.int64)
    acc = np.zeros(n, dtype=bool)
    r = np.arange(p)
    digit = np.arange(10)
    step = (10 * r[:, None] + digit[None, :]) % p  # [p, 10]

    def block(j):
        return 3 + p * j + r

    for first in (0, 1):
        trans[first, 1:10] = block(0)[digit[1:] % p]
        trans[first, 0] = 2
    trans[0, 10] = 1
    trans[block(0)[:, None], digit[None, :]] = block(0)[step]
    acc[block(0)] = (r * pow(10, s, p)) % p == 0
    acc[2] = True
    if not integer:
        dot, zeros = block(s + 1), n - 1
        trans[block(0), 11] = dot
        trans[2, 11] = dot[0]
        # Fraction digit j + 1 is read modulo p while j < s; after s digits only zeros.
        for j in range(s):
            src = dot if j == 0 else block(j)
            trans[src[:, None], digit[None, :]] = block(j + 1)[step]
            acc[block(j + 1)] = (r * pow(10, s - j - 1, p)) % p == 0
        last = dot[0] if s == 0 else block(s)[0]
        trans[last, 0] = zeros
        trans[zeros, 0] = zeros
        acc[zeros] = True
    return _minimize_reduced(trans, acc, 0, col_of_byte)


_INTEGER = r"-?(?:0|[1-9][0-9]*)"
_DECIMAL = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"


@functools.lru_cache(maxsize=None)
def _syntax(regex: str) -> ByteDFA:
    return regex_to_dfa(regex)


def json_number_dfa(*, integer: bool, minimum: Num | None = None, maximum: Num | None = None,
                    exclusive_minimum: Num | None = None, exclusive_maximum: Num | None = None,
                    multiple_of: Num | None = None) -> ByteDFA:
    """The DFA of JSON numerals whose value satisfies the constraints (module docstring).

    Bounds and ``multiple_of`` are ints, floats or ``Decimal``s, compared exactly. An
    empty range gives the 0-state DFA. Raises ``NumberUnsupported`` when ``multiple_of``
    needs too many states, ``ValueError`` for a non-positive or non-finite one.
    """
    constraints = [(minimum, {"gt", "eq"}, "minimum"), (maximum, {"lt", "eq"}, "maximum"),
                   (exclusive_minimum, {"gt"}, "exclusiveMinimum"),
                   (exclusive_maximum, {"lt"}, "exclusiveMaximum")]
    constraints = [(_decimal(v, name), o) for v, o, name in constraints if v is not None]
    if not constraints and multiple_of is None:
        return _syntax(_INTEGER if integer else _NUMBER)
    lo = max((v for v, o in constraints if "gt" in o), default=None)
    hi = min((v for v, o in constraints if "lt" in o), default=None)
    if lo is not None and hi is not None and lo > hi:
        return empty_dfa()
    # Every part below enforces the decimal syntax itself; the integer syntax only needs
    # adding to bounds. Small parts are intersected first, the multipleOf DFA last.
    result = None
    for v, outcomes in constraints:
        bound = _bound_dfa(v, outcomes)
        result = bound if result is None else intersect(result, bound)
    if integer and result is not None:
        result = intersect(_syntax(_INTEGER), result)
    if multiple_of is not None:
        m = _decimal(multiple_of, "multipleOf")
        if m <= 0:
            raise ValueError(f"multipleOf must be positive, got {multiple_of!r}")
        multiple = _multiple_dfa(m, integer)
        result = multiple if result is None else intersect(result, multiple)
    return result
