"""SMC: sequential Monte Carlo with masked proposals and importance weights."""

from __future__ import annotations

import math

import numpy as np

from .base import Sampler
from .result import SampleSet, SamplingError


class SMC(Sampler):
    """Particles extended by masked proposals, weighted toward P conditioned on the language.

    Each live particle at prefix u draws t from P(.|u) restricted to the allowed tokens and
    multiplies its weight by Z = the allowed mass; a finished string w then has weight
    P(w) / q(w) = prod Z_i, so the weighted particles estimate P(w | w in L). When the
    effective sample size falls below ``ess_threshold * N``, particles are resampled
    (systematic resampling) and their weights reset. All particles advance together: one
    source call over their distinct prefixes and one parallel mask fill per step.
    """

    def __init__(self, source, grammar, *, ess_threshold: float = 0.5, **kwargs):
        super().__init__(source, grammar, **kwargs)
        if not 0 <= ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be in [0, 1], not {ess_threshold}")
        self.ess_threshold = float(ess_threshold)

    def sample(self, n_particles: int = 64) -> SampleSet:
        """Run ``n_particles`` particles to the end.

        Returns one sample per particle (a particle that met a dead end at the
        ``max_tokens`` cap has ``complete=False`` and weight 0), with normalised
        ``log_weights`` and ``log_evidence`` (the log of an unbiased estimate of P(L)).
        ``SampleSet.posterior()`` is the weighted estimate of P(. | L).
        """
        begun = self._begin()
        n = int(n_particles)
        if n < 1:
            raise ValueError(f"n_particles must be positive, not {n}")
        matchers = [self.grammar.matcher() for _ in range(n)]
        tokens: list[list[int]] = [[] for _ in range(n)]
        logprob = np.zeros(n)
        logw = np.zeros(n)
        done = np.zeros(n, dtype=bool)
        complete = np.ones(n, dtype=bool)
        log_evidence = 0.0
        self.stats.attempts += n
        while not done.all():
            live = np.flatnonzero(~done)
            lp = self._logprobs([tokens[i] for i in live])
            allowed = self._allowed_batch([matchers[i] for i in live],
                                          [len(tokens[i]) for i in live])
            for row, i in enumerate(live):
                ids = allowed[row]
                p = np.exp(lp[row, ids])
                z = p.sum()
                if z <= 0:  # dead end (length cap): the particle carries no weight
                    logw[i] = -np.inf
                    done[i] = True
                    complete[i] = False
                    continue
                t = int(ids[self._draw(p)])
                logw[i] += math.log(z)
                logprob[i] += lp[row, t]
                tokens[i].append(t)
                matchers[i].accept_token(t)
                done[i] = self._is_eos(t)
            if not np.isfinite(logw).any():
                raise SamplingError("every particle reached a dead end")
            if not done.all() and self._ess(logw) < self.ess_threshold * n:
                log_evidence += _logmeanexp(logw)
                keep = self._systematic(logw)
                matchers = [matchers[j] if first else matchers[j].fork()
                            for j, first in zip(keep, _first_use(keep))]
                tokens = [list(tokens[j]) for j in keep]
                logprob, done, complete = logprob[keep], done[keep], complete[keep]
                logw = np.zeros(n)
                self.stats.resamplings += 1
        log_evidence += _logmeanexp(logw)
        samples = [self._sample(tokens[i], logprob[i], complete[i]) for i in range(n)]
        norm = logw - np.logaddexp.reduce(logw)
        return self._finish(samples, begun, log_weights=norm, log_evidence=log_evidence)

    @staticmethod
    def _ess(logw: np.ndarray) -> float:
        w = np.exp(logw - logw.max())
        return float(w.sum() ** 2 / (w ** 2).sum())

    def _systematic(self, logw: np.ndarray) -> np.ndarray:
        n = len(logw)
        w = np.exp(logw - logw.max())
        cum = np.cumsum(w / w.sum())
        cum[-1] = 1.0
        points = (self.rng.random() + np.arange(n)) / n
        return np.searchsorted(cum, points, side="right")


def _logmeanexp(x: np.ndarray) -> float:
    return float(np.logaddexp.reduce(x) - math.log(len(x)))


def _first_use(indices: np.ndarray) -> list[bool]:
    """True at the first occurrence of each index (that copy may reuse the original)."""
    seen: set[int] = set()
    out = []
    for j in indices:
        out.append(int(j) not in seen)
        seen.add(int(j))
    return out
