"""Helpers shared by the authoring tools: a byte-level matcher, terminal DFAs of the IR, and
short human-readable names for bytes, byte sets and terminals."""

from __future__ import annotations

import functools
from typing import Iterable, Optional, Union

import numpy as np

from ..automata.cfg import Cfg
from ..automata.dfa import ByteDFA
from ..automata.regex import Node, ast_to_dfa, literal_text
from ..errors import GrammarError

EOS = 256  # the end-of-sequence token of the byte vocabulary


@functools.lru_cache(maxsize=1)
def byte_vocabulary():
    """256 one-byte tokens and an end-of-sequence token (id 256): matching byte by byte."""
    from ..vocabulary import Vocabulary

    return Vocabulary.from_token_bytes([bytes([b]) for b in range(256)] + [b""],
                                       eos_token_ids=[EOS])


def byte_matcher(grammar):
    """A fresh matcher of ``grammar`` over the byte vocabulary (compiled once, cached)."""
    from ..compiler import compile

    return compile(grammar, byte_vocabulary(), cache_on_disk=False).matcher()


def allowed_next(matcher) -> tuple[list[int], bool]:
    """(the bytes that may come next, whether the text may end here)."""
    ids = matcher.allowed_token_ids().tolist()
    return [i for i in ids if i < 256], EOS in ids


def terminal_dfas(cfg: Cfg, names: Optional[Iterable[str]] = None) -> dict[str, ByteDFA]:
    """The DFA of each named terminal of ``cfg`` (all by default); bad terminals are skipped."""
    out = {}
    for name in (cfg.terminals if names is None else names):
        node = cfg.terminals[name]
        if isinstance(node, ByteDFA):
            out[name] = node
            continue
        try:
            out[name] = ast_to_dfa(node, name)
        except GrammarError:
            continue
    return out


def literal_of(node: Union[Node, ByteDFA]) -> Optional[str]:
    """The one string a regex AST matches, if it is a non-empty plain literal; else None."""
    if isinstance(node, ByteDFA):
        return None
    return literal_text(node) or None


def terminal_label(cfg: Cfg, name: str) -> str:
    """How to show a terminal: its literal in quotes (``"true"``) or its name."""
    literal = literal_of(cfg.terminals[name]) if name in cfg.terminals else None
    if literal is not None and (name.startswith("__") or name.isupper() or "#" in name):
        return quote(literal)
    return name


def quote(text: Union[str, bytes]) -> str:
    """A double-quoted, escaped rendering of text (bytes shown as UTF-8 where valid)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    body = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{body}"'


def byte_name(b: int) -> str:
    """One byte: the character for printable ASCII, else an escape."""
    if 0x21 <= b <= 0x7E and b not in (0x27, 0x5C):
        return f"'{chr(b)}'"
    special = {0x20: "' '", 0x09: "'\\t'", 0x0A: "'\\n'", 0x0D: "'\\r'", 0x27: "'\\''",
               0x5C: "'\\\\'"}
    return special.get(b, f"0x{b:02x}")


def describe_bytes(values: Iterable[int], limit: int = 24) -> str:
    """A compact list of byte values: runs as ranges ``'0'-'9'``, others one by one."""
    values = sorted(set(values))
    if not values:
        return "nothing"
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and runs[-1][1] == v - 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    parts = []
    for lo, hi in runs:
        if lo == hi:
            parts.append(byte_name(lo))
        elif hi == lo + 1:
            parts += [byte_name(lo), byte_name(hi)]
        else:
            parts.append(f"{byte_name(lo)}-{byte_name(hi)}")
    if len(parts) > limit:
        parts = parts[:limit] + [f"... ({len(values)} bytes in all)"]
    return ", ".join(parts)


def shortest_lengths(dfa: ByteDFA) -> np.ndarray:
    """For each state, the length of the shortest path to an accepting state."""
    n = dfa.n_states
    dist = np.full(n, np.iinfo(np.int64).max, np.int64)
    if n == 0:
        return dist
    preds: list[list[int]] = [[] for _ in range(n)]
    src, _ = np.nonzero(dfa.transitions >= 0)
    dst = dfa.transitions[dfa.transitions >= 0]
    for s, d in set(zip(src.tolist(), dst.tolist())):
        preds[d].append(s)
    frontier = [int(s) for s in np.flatnonzero(dfa.accepting)]
    dist[frontier] = 0
    while frontier:
        nxt = []
        for d in frontier:
            for s in preds[d]:
                if dist[s] > dist[d] + 1:
                    dist[s] = dist[d] + 1
                    nxt.append(s)
        frontier = nxt
    return dist


def intersection_witness(a: ByteDFA, b: ByteDFA, limit: int = 200_000) -> Optional[bytes]:
    """A shortest string in both languages, or None if they are disjoint.

    Both DFAs are trimmed (every state live), so the product is non-empty iff it reaches a
    pair of accepting states; breadth-first search over reachable pairs finds the shortest.
    """
    if a.n_states == 0 or b.n_states == 0:
        return None
    parent: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
    start = (0, 0)
    seen = {start}
    frontier = [start]
    while frontier and len(seen) <= limit:
        nxt = []
        for pair in frontier:
            p, q = pair
            if a.accepting[p] and b.accepting[q]:
                out = bytearray()
                while pair != start:
                    pair, byte = parent[pair]
                    out.append(byte)
                return bytes(reversed(out))
            both = np.flatnonzero((a.transitions[p] >= 0) & (b.transitions[q] >= 0))
            for byte in both.tolist():
                succ = (int(a.transitions[p, byte]), int(b.transitions[q, byte]))
                if succ not in seen:
                    seen.add(succ)
                    parent[succ] = (pair, byte)
                    nxt.append(succ)
        frontier = nxt
    return None

