"""GCD: grammar-constrained decoding by masking, the baseline (valid, but distorted)."""

from __future__ import annotations

import numpy as np

from .base import Sampler
from .result import SampleSet, SamplingError


class GCD(Sampler):
    """Masked sampling: at each step, sample from the model renormalised over allowed tokens.

    Every complete sample is in the language, but its probability is
    ``prod_i P(t_i | u_i) / Z_i`` (``Z_i`` the allowed mass at step i), not P conditioned
    on the language. ``sample(n)`` runs the n sequences as one batch: one source call and
    one parallel mask fill per step.
    """

    def sample(self, n: int = 1) -> SampleSet:
        """Draw ``n`` independent samples."""
        begun = self._begin()
        matchers = [self.grammar.matcher() for _ in range(n)]
        tokens: list[list[int]] = [[] for _ in range(n)]
        logprob = np.zeros(n)
        complete = [True] * n
        live = list(range(n))
        self.stats.attempts += n
        while live:
            lp = self._logprobs([tokens[i] for i in live])
            allowed = self._allowed_batch([matchers[i] for i in live],
                                          [len(tokens[i]) for i in live])
            still = []
            for row, i in enumerate(live):
                ids = allowed[row]
                p = np.exp(lp[row, ids])
                if ids.size == 0 or p.sum() <= 0:
                    complete[i] = False  # dead end: the length cap outside the language
                    continue
                t = int(ids[self._draw(p)])
                tokens[i].append(t)
                logprob[i] += lp[row, t]
                matchers[i].accept_token(t)
                if not self._is_eos(t):
                    still.append(i)
            live = still
        samples = [self._sample(tokens[i], logprob[i], complete[i]) for i in range(n)]
        return self._finish(samples, begun)


class RejectionSampler(Sampler):
    """Plain rejection sampling, the exact but costly reference for CARS.

    Samples from the unmasked model and restarts as soon as a token leaves the language
    (checked incrementally), or the length cap is passed. Nothing is remembered between
    attempts. ``max_attempts`` bounds the work per sample.
    """

    def __init__(self, source, grammar, *, max_attempts: int = 100_000, **kwargs):
        super().__init__(source, grammar, **kwargs)
        self.max_attempts = int(max_attempts)

    def sample(self, n: int = 1) -> SampleSet:
        """Draw ``n`` exact samples of the model conditioned on the language."""
        begun = self._begin()
        samples = []
        for _ in range(n):
            for _attempt in range(self.max_attempts):
                s = self._attempt()
                if s is not None:
                    samples.append(s)
                    break
                self.stats.rejections += 1
            else:
                raise SamplingError(f"no valid sample in {self.max_attempts} attempts")
        return self._finish(samples, begun)

    def _attempt(self):
        self.stats.attempts += 1
        m = self.grammar.matcher()
        tokens: list[int] = []
        logprob = 0.0
        while True:
            lp = self._logprobs([tokens])[0]
            t = self._draw(np.exp(lp), 1.0)  # the rest: padding ids of a wider model
            if t < 0 or (len(tokens) >= self.max_tokens and not self._is_eos(t)) or not m.accept_token(t):
                return None
            tokens.append(t)
            logprob += lp[t]
            if self._is_eos(t):
                return self._sample(tokens, logprob)
