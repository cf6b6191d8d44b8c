"""What every sampler shares: the source, the grammar, masks, the length cap, statistics.

The target of every sampler is the model conditioned on the language L of the compiled
grammar intersected with "at most ``max_tokens`` tokens before EOS": at depth
``max_tokens`` only an end-of-sequence token is allowed.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from constrain._core import fill_bitmasks
from constrain.compiler import CompiledGrammar

from .result import Sample, SampleSet, SamplingError, SamplingStats
from .sources import NextTokenSource, as_source


class Sampler:
    """Base of the samplers: holds the source, the grammar, the RNG and the statistics.

    Args:
        source: a :class:`NextTokenSource`, a ``transformers`` model or a callable
            (prefix tuple -> logits); see :func:`as_source`.
        grammar: the compiled grammar (its vocabulary must match the model's token ids).
        max_tokens: the most tokens before EOS; longer strings are outside the target.
        seed: seed or ``numpy.random.Generator``.
    """

    def __init__(self, source, grammar: CompiledGrammar, *, max_tokens: int = 256, seed=None):
        if not isinstance(grammar, CompiledGrammar):
            raise TypeError(f"grammar must be a CompiledGrammar, not {type(grammar).__name__}")
        if max_tokens < 0:
            raise ValueError(f"max_tokens must be >= 0, not {max_tokens}")
        self.source: NextTokenSource = as_source(source)
        self.grammar = grammar
        self.vocab = grammar.vocab
        self.vocab_size = grammar.vocab_size
        self.max_tokens = int(max_tokens)
        self.rng = np.random.default_rng(seed)
        self.stats = SamplingStats()
        self._eos = np.array(sorted(self.vocab.eos_token_ids), dtype=np.int64)
        if self._eos.size == 0:
            raise SamplingError("the vocabulary has no end-of-sequence token")
        self._eos_set = frozenset(int(e) for e in self._eos)
        self._token_bytes = self.vocab.token_bytes
        self._words = (self.vocab_size + 31) // 32

    # ------------------------------------------------------------------ model

    def _logprobs(self, prefixes: Sequence[Sequence[int]]) -> np.ndarray:
        """``[len(prefixes), vocab_size]`` log-probabilities; identical prefixes cost one call.

        A model wider than the vocabulary (padding ids) keeps its normalisation: the padding
        mass is simply never allowed.
        """
        keys = [tuple(int(t) for t in p) for p in prefixes]
        unique = list(dict.fromkeys(keys))
        if not unique:
            return np.zeros((0, self.vocab_size))
        lp = self.source.logprobs(unique)
        self.stats.model_calls += len(unique)
        self.stats.model_batches += 1
        width = lp.shape[1]
        if width > self.vocab_size:
            lp = lp[:, :self.vocab_size]
        elif width < self.vocab_size:
            lp = np.concatenate([lp, np.full((lp.shape[0], self.vocab_size - width), -np.inf)], 1)
        row = {k: i for i, k in enumerate(unique)}
        return lp[[row[k] for k in keys]]

    # ------------------------------------------------------------------ masks

    def _cap(self, ids: np.ndarray, depth: int) -> np.ndarray:
        return np.intersect1d(ids, self._eos) if depth >= self.max_tokens else ids

    def _allowed_ids(self, matcher, depth: int) -> np.ndarray:
        """Allowed token ids after a prefix of ``depth`` tokens (ascending int64)."""
        self.stats.mask_fills += 1
        return self._cap(np.asarray(matcher.allowed_token_ids(), dtype=np.int64), depth)

    def _allowed_batch(self, matchers: list, depths: Sequence[int]) -> list[np.ndarray]:
        """Allowed ids of many matchers, the masks filled in one parallel batch."""
        bitmask = np.zeros((len(matchers), self._words), dtype=np.int32)
        fill_bitmasks(matchers, bitmask)
        self.stats.mask_fills += len(matchers)
        bits = np.unpackbits(bitmask.view(np.uint8), axis=1, bitorder="little")
        return [self._cap(np.flatnonzero(bits[i, :self.vocab_size]), d)
                for i, d in enumerate(depths)]

    # ------------------------------------------------------------------ helpers

    def _draw(self, weights: np.ndarray, total: float | None = None) -> int:
        """Index i with probability weights[i] / total; -1 (reject) with the remainder.

        ``total`` defaults to ``weights.sum()`` (no rejection).
        """
        cum = np.cumsum(weights)
        r = self.rng.random() * (cum[-1] if total is None else total)
        if r >= cum[-1]:
            if total is None:  # rounding: fall back to the last positive weight
                return int(np.flatnonzero(weights > 0)[-1])
            return -1
        return int(np.searchsorted(cum, r, side="right"))

    def _is_eos(self, token: int) -> bool:
        return token in self._eos_set

    def _sample(self, tokens: Sequence[int], logprob: float, complete: bool = True) -> Sample:
        body = [t for t in tokens if t not in self._eos_set]
        text = b"".join(self._token_bytes[t] for t in body).decode("utf-8", errors="replace")
        return Sample(tuple(int(t) for t in tokens), text, float(logprob), complete)

    def _begin(self) -> tuple[SamplingStats, float]:
        """Marks the start of a sampling call (see :meth:`_finish`)."""
        return self.stats.copy(), time.perf_counter()

    def _finish(self, samples: list[Sample], begun: tuple[SamplingStats, float],
                **extra) -> SampleSet:
        """The call's :class:`SampleSet`, with the statistics accrued since :meth:`_begin`."""
        before, start = begun
        self.stats.seconds += time.perf_counter() - start
        return SampleSet(samples, self.stats - before, **extra)
