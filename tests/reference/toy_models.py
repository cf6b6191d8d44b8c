"""Toy next-token models and exact, enumeration-based distributions for sampling tests.

Everything here is independent of the samplers and of the C++ matcher: languages are
enumerated with Python's ``re`` over a small alphabet, masks come from the set of byte
prefixes of the language, and every distribution is a finite dictionary
``token ids (EOS included) -> probability``.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Callable, Iterable, Sequence

import numpy as np

Seq = tuple[int, ...]


# ----------------------------------------------------------------- models

def dirichlet_model(vocab_size: int, seed: int, alpha: float = 1.0) -> Callable[[Seq], np.ndarray]:
    """A random model: P(.|u) ~ Dirichlet(alpha), drawn deterministically per prefix u.

    Returns a callable prefix -> log-probabilities (valid logits).
    """
    def logits(prefix: Seq) -> np.ndarray:
        rng = np.random.default_rng([seed, len(prefix), *prefix])
        p = rng.dirichlet(np.full(vocab_size, alpha))
        return np.log(np.maximum(p, 1e-300))
    return logits


def table_model(fn: Callable[[Seq], Sequence[float]]) -> Callable[[Seq], np.ndarray]:
    """A model from a function prefix -> next-token probabilities (normalised here)."""
    def logits(prefix: Seq) -> np.ndarray:
        p = np.asarray(fn(prefix), dtype=np.float64)
        return np.log(p / p.sum())
    return logits


class CountingModel:
    """Wraps a model callable and counts how many prefixes it was asked about."""

    def __init__(self, fn: Callable[[Seq], np.ndarray]):
        self.fn = fn
        self.calls = 0

    def __call__(self, prefix: Seq) -> np.ndarray:
        self.calls += 1
        return self.fn(prefix)


_PROBS: dict = {}


def probs(model: Callable[[Seq], np.ndarray], prefix: Seq) -> np.ndarray:
    """The model's normalised next-token distribution after ``prefix`` (memoised)."""
    key = (id(model), tuple(prefix))
    hit = _PROBS.get(key)
    if hit is None or hit[0] is not model:
        x = np.asarray(model(tuple(prefix)), dtype=np.float64)
        e = np.exp(x - x.max())
        hit = _PROBS[key] = (model, e / e.sum())
    return hit[1]


# ----------------------------------------------------------------- languages

def regex_language(pattern: str, alphabet: str, max_len: int) -> set[bytes]:
    """Every string over ``alphabet`` of length <= ``max_len`` that fully matches ``pattern``."""
    out = set()
    for n in range(max_len + 1):
        for chars in itertools.product(alphabet, repeat=n):
            s = "".join(chars)
            if re.fullmatch(pattern, s):
                out.add(s.encode())
    return out


def dyck_words(max_len: int) -> list[str]:
    """Balanced parenthesis strings of length <= ``max_len`` (the empty word included)."""
    words = []
    for n in range(0, max_len + 1, 2):
        for chars in itertools.product("()", repeat=n):
            depth = 0
            for c in chars:
                depth += 1 if c == "(" else -1
                if depth < 0:
                    break
            else:
                if depth == 0:
                    words.append("".join(chars))
    return words


class ToyLanguage:
    """A finite byte language over a toy vocabulary, with an exact token-level mask.

    ``token_bytes[t]`` are the bytes of token t; ``eos`` is the end-of-sequence id (its
    bytes are ignored). Token t is allowed after u iff bytes(u) + bytes(t) is a prefix of
    a string of the language; EOS iff bytes(u) is in the language. With ``max_tokens``,
    only EOS may follow a prefix of that many tokens (the samplers' length cap), which can
    leave dead ends; ``strings`` must then hold every string one token past the cap too.
    """

    def __init__(self, strings: Iterable[bytes], token_bytes: Sequence[bytes], eos: int,
                 max_tokens: int | None = None):
        self.strings = set(strings)
        self.max_tokens = max_tokens
        self.token_bytes = list(token_bytes)
        self.eos = eos
        self.prefixes = {s[:i] for s in self.strings for i in range(len(s) + 1)}
        self._allowed: dict[Seq, list[int]] = {}
        self._sequences = None

    def text(self, seq: Seq) -> bytes:
        """The bytes of a token sequence (EOS ignored)."""
        return b"".join(self.token_bytes[t] for t in seq if t != self.eos)

    def allowed_cached(self, prefix: Seq) -> list[int]:
        """:meth:`allowed`, memoised."""
        hit = self._allowed.get(prefix)
        if hit is None:
            hit = self._allowed[prefix] = self.allowed(prefix)
        return hit

    def allowed(self, prefix: Seq) -> list[int]:
        """The allowed next tokens after ``prefix`` (which must be viable)."""
        b = self.text(prefix)
        capped = self.max_tokens is not None and len(prefix) >= self.max_tokens
        out = [] if capped else [t for t, tb in enumerate(self.token_bytes)
                                 if t != self.eos and tb and b + tb in self.prefixes]
        if b in self.strings:
            out.append(self.eos)
        return sorted(out)

    def sequences(self) -> list[Seq]:
        """Every token sequence of the language, EOS appended (all tokenizations)."""
        if self._sequences is not None:
            return self._sequences
        out, stack = [], [()]
        while stack:
            u = stack.pop()
            for t in self.allowed(u):
                (out.append(u + (t,)) if t == self.eos else stack.append(u + (t,)))
        self._sequences = sorted(out)
        return self._sequences


# ----------------------------------------------------------------- distributions

def seq_prob(model, seq: Seq) -> float:
    """P(seq) under the model (a product of next-token probabilities)."""
    p = 1.0
    for i, t in enumerate(seq):
        p *= probs(model, seq[:i])[t]
    return p


def target(model, lang: ToyLanguage) -> dict[Seq, float]:
    """Q*(w) = P(w) 1[w in L] / P(L), over token sequences with EOS."""
    p = {w: seq_prob(model, w) for w in lang.sequences()}
    z = sum(p.values())
    return {w: v / z for w, v in p.items()}


def weighted_walk(model, lang: ToyLanguage, child_weight) -> dict[Seq, float]:
    """The distribution of a walk drawing t after u with probability ∝ P(t|u) child_weight(ut)."""
    out = {}
    for w in lang.sequences():
        q = 1.0
        for i, t in enumerate(w):
            u = w[:i]
            p = probs(model, u)
            norm = sum(p[s] * child_weight(u + (s,)) for s in lang.allowed_cached(u))
            q *= p[t] * child_weight(u + (t,)) / norm
        out[w] = q
    return out


def gcd_distribution(model, lang: ToyLanguage) -> dict[Seq, float]:
    """The distribution of masked sampling: prod P(t_i|u_i) / Z_i."""
    return weighted_walk(model, lang, lambda _: 1.0)


def future_grammaticality(model, lang: ToyLanguage, prefix: Seq) -> float:
    """c(u): the probability that the model completes ``prefix`` inside the language."""
    pu = seq_prob(model, prefix)
    total = sum(seq_prob(model, w) for w in lang.sequences() if w[:len(prefix)] == prefix)
    return total / pu


def kl(q: dict, p: dict) -> float:
    """KL(q || p) in nats (q must be absolutely continuous w.r.t. p)."""
    return sum(v * math.log(v / p[k]) for k, v in q.items() if v > 0)


def tv(q: dict, p: dict) -> float:
    """Total variation distance."""
    keys = set(q) | set(p)
    return 0.5 * sum(abs(q.get(k, 0.0) - p.get(k, 0.0)) for k in keys)
