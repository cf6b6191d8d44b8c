"""Brute-force token masks: the definition of "exact" (DESIGN.md section 1), checked token by token."""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Set


def reference_allowed(token_bytes, eos_token_ids: Iterable[int], prefix: bytes,
                      viable: Callable[[bytes], bool], complete: Callable[[bytes], bool],
                      ids: Optional[Iterable[int]] = None) -> Set[int]:
    """Token ids allowed after ``prefix``: t iff prefix + bytes(t) is viable; EOS iff prefix is complete.

    ``viable(b)``: b is a prefix of some string of the language; ``complete(b)``: b is in it.
    Tokens with no bytes (special tokens) are never allowed. ``ids`` restricts the check.
    """
    eos = set(eos_token_ids)
    candidates = range(len(token_bytes)) if ids is None else ids
    allowed = {t for t in candidates
               if t not in eos and token_bytes[t] and viable(prefix + token_bytes[t])}
    if complete(prefix):
        allowed |= {t for t in eos if ids is None or t in set(ids)}
    return allowed
