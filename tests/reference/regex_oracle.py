"""Slow, obviously-correct regex oracles over bytes, built on the ``regex`` package.

Patterns given here are in the oracle's own dialect: the ``regex`` package's syntax with
every class written out explicitly (``[0-9]`` rather than ``\\d``: the package's
``\\d \\w \\s .`` are Unicode-flavoured, ours follow ECMA-262).
"""

from __future__ import annotations

import functools

import regex


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str):
    return regex.compile(pattern)


def reference_matches(pattern: str, data: bytes) -> bool:
    """True iff ``data`` is the UTF-8 encoding of a string that fullmatches ``pattern``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _compiled(pattern).fullmatch(text) is not None


def _viable_text(pattern: str, text: str) -> bool:
    return _compiled(pattern).fullmatch(text, partial=True) is not None


def _split_dangling(data: bytes) -> tuple[str, bytes] | None:
    """Split into (decoded text, trailing incomplete character bytes); None if invalid."""
    for cut in range(len(data), max(len(data) - 4, -1), -1):
        try:
            text = data[:cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return text, data[cut:]
    return None


def _completions(dangling: bytes) -> range | None:
    """The code point range whose UTF-8 encodings start with ``dangling`` (1-3 bytes) --
    an over-approximation: members are checked by encoding them."""
    lead = dangling[0]
    if 0xC2 <= lead <= 0xDF:
        length = 2
    elif 0xE0 <= lead <= 0xEF:
        length = 3
    elif 0xF0 <= lead <= 0xF4:
        length = 4
    else:
        return None
    if len(dangling) >= length:
        return None
    payload = lead & (0x7F >> length)
    for b in dangling[1:]:
        if not 0x80 <= b <= 0xBF:
            return None
        payload = (payload << 6) | (b & 0x3F)
    free = 6 * (length - len(dangling))
    lo = payload << free
    return range(lo, min(lo + (1 << free), 0x110000))


def consistent_code_points(dangling: bytes) -> list[int]:
    """Every scalar value whose UTF-8 encoding starts with ``dangling`` (1-3 bytes)."""
    r = _completions(dangling)
    if r is None:
        return []
    return [c for c in r if _consistent(c, dangling)]


def reference_viable_bytes(pattern: str, data: bytes, *, candidates=None) -> bool:
    """True iff ``data`` is a byte prefix of the UTF-8 encoding of some fullmatch.

    On a character boundary this is ``regex``'s partial fullmatch. When ``data`` ends
    inside a multi-byte character, it is viable iff some code point c whose encoding
    starts with the dangling bytes makes ``text + chr(c)`` viable; every such c is tried
    (up to 2**18 of them). ``candidates``, a function ``dangling -> iterable of code
    points``, may narrow the search to representatives when the caller knows that
    code points outside it behave like one inside (see ``representatives``).
    """
    split = _split_dangling(data)
    if split is None:
        return False
    text, dangling = split
    if not _viable_text(pattern, text):
        return False
    if not dangling:
        return True
    if candidates is None:
        cps = consistent_code_points(dangling)
    else:
        cps = [c for c in candidates(dangling) if _consistent(c, dangling)]
    return any(_viable_text(pattern, text + chr(c)) for c in cps)


def _consistent(c: int, dangling: bytes) -> bool:
    return (0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF
            and chr(c).encode("utf-8").startswith(dangling))


def representatives(pattern: str):
    """A ``candidates`` function for ``reference_viable_bytes``.

    Valid only when every non-ASCII code point that the pattern's sets mention is
    written literally in ``pattern`` (no escapes for them, no case folding, no
    Unicode-property classes): then membership in every set is constant between
    consecutive mentioned code points, so one representative per interval suffices.
    """
    marks = sorted({ord(ch) for ch in pattern if ord(ch) >= 0x80})

    def candidates(dangling: bytes) -> list[int]:
        r = _completions(dangling)
        if not r:  # no scalar value starts with these bytes (e.g. past U+10FFFF)
            return []
        lo, hi = r[0], r[-1]
        points = {lo, hi, 0x80, 0x800, 0x10000, 0xD7FF, 0xE000}
        for m in marks:
            points.update((m - 1, m, m + 1))
        return sorted(p for p in points if lo <= p <= hi)

    return candidates
