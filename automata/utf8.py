"""Code point ranges -> UTF-8 byte-range sequences.

A range of Unicode scalar values is split into sequences of byte ranges such that the
set of byte strings ``b0 b1 ... bk`` with ``lo_i <= b_i <= hi_i`` (over all sequences)
is exactly the set of UTF-8 encodings of the scalar values in the range.
"""

from __future__ import annotations

MAX_CODE_POINT = 0x10FFFF
SURROGATE_LO, SURROGATE_HI = 0xD800, 0xDFFF

# Largest code point encoded with 1, 2, 3 and 4 bytes.
_LENGTH_LIMITS = (0x7F, 0x7FF, 0xFFFF, 0x10FFFF)


def utf8_ranges(lo: int, hi: int) -> list[list[tuple[int, int]]]:
    """Split the code point range ``[lo, hi]`` into UTF-8 byte-range sequences.

    Surrogates (U+D800..U+DFFF) are left out: they are not scalar values and have no
    UTF-8 encoding. Returns a list of sequences; each sequence is a list of inclusive
    ``(byte_lo, byte_hi)`` pairs, one per encoded byte. The sequences are disjoint and
    appear in increasing code point order. An empty range gives an empty list.
    """
    lo = max(lo, 0)
    hi = min(hi, MAX_CODE_POINT)
    out: list[list[tuple[int, int]]] = []
    if lo > hi:
        return out
    # Cut out the surrogates, then split at the encoding length boundaries.
    pieces = []
    if lo < SURROGATE_LO:
        pieces.append((lo, min(hi, SURROGATE_LO - 1)))
    if hi > SURROGATE_HI:
        pieces.append((max(lo, SURROGATE_HI + 1), hi))
    for a, b in pieces:
        start = a
        for limit in _LENGTH_LIMITS:
            if start > b:
                break
            if start <= limit:
                end = min(b, limit)
                _split(start, end, out)
                start = end + 1
    return out


def _split(lo: int, hi: int, out: list[list[tuple[int, int]]]) -> None:
    """Append the sequences of ``[lo, hi]``, a range whose ends encode to the same length."""
    n = _encoded_length(lo)
    # If lo and hi differ above the low 6*i bits, cut the range so that each part has
    # either all of the low 6*i bits free (0..max) or shares every byte above them.
    for i in range(1, n):
        mask = (1 << (6 * i)) - 1
        if (lo & ~mask) != (hi & ~mask):
            if lo & mask:
                _split(lo, lo | mask, out)
                _split((lo | mask) + 1, hi, out)
                return
            if (hi & mask) != mask:
                _split(lo, (hi & ~mask) - 1, out)
                _split(hi & ~mask, hi, out)
                return
    a = chr(lo).encode("utf-8")
    b = chr(hi).encode("utf-8")
    out.append([(a[k], b[k]) for k in range(n)])


def _encoded_length(cp: int) -> int:
    for length, limit in enumerate(_LENGTH_LIMITS, start=1):
        if cp <= limit:
            return length
    raise ValueError(f"code point {cp:#x} out of range")
