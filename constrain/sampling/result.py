"""What samplers return: samples, their weights, and what they cost."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from constrain.errors import ConstrainError


class SamplingError(ConstrainError):
    """A sampler could not produce a sample (zero grammatical mass, attempts exhausted)."""


@dataclass(frozen=True)
class Sample:
    """One generated sequence.

    Attributes:
        token_ids: the sampled token ids, ending with the end-of-sequence id when
            ``complete``.
        text: the bytes of the non-EOS tokens decoded as UTF-8 (invalid bytes replaced).
        logprob: the model's log-probability of ``token_ids`` (EOS included), unmasked.
        complete: False only when masked sampling met a dead end (the ``max_tokens`` cap
            reached outside the language); such a sample is not in the language.
    """

    token_ids: tuple[int, ...]
    text: str
    logprob: float
    complete: bool = True


@dataclass
class SamplingStats:
    """Cost counters (cumulative on a sampler, per call on a :class:`SampleSet`).

    Attributes:
        model_calls: next-token distributions computed (one per distinct prefix evaluated).
        model_batches: calls into the next-token source (a batch may hold many prefixes).
        rejections: attempts thrown away (CARS, rejection sampling).
        attempts: sequences started, accepted or not.
        mask_fills: grammar masks computed.
        resamplings: SMC resampling steps.
        seconds: wall-clock time spent sampling.
    """

    model_calls: int = 0
    model_batches: int = 0
    rejections: int = 0
    attempts: int = 0
    mask_fills: int = 0
    resamplings: int = 0
    seconds: float = 0.0

    def __sub__(self, other: "SamplingStats") -> "SamplingStats":
        return SamplingStats(**{f.name: getattr(self, f.name) - getattr(other, f.name)
                                for f in dataclasses.fields(self)})

    def copy(self) -> "SamplingStats":
        """An independent copy."""
        return dataclasses.replace(self)


@dataclass
class SampleSet:
    """Samples from one call of a sampler, with their cost.

    Attributes:
        samples: the samples, in the order drawn.
        stats: what producing them cost.
        log_weights: normalised log importance weights (SMC); None when the samples are
            unweighted (each counts 1/len).
        log_evidence: an estimate of log P(language) under the model (SMC), else None.
    """

    samples: list[Sample]
    stats: SamplingStats = field(default_factory=SamplingStats)
    log_weights: Optional[np.ndarray] = None
    log_evidence: Optional[float] = None

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self):
        return iter(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    @property
    def weights(self) -> np.ndarray:
        """Normalised weights (uniform for unweighted samples)."""
        if self.log_weights is None:
            n = len(self.samples)
            return np.full(n, 1.0 / n) if n else np.zeros(0)
        return np.exp(self.log_weights)

    @property
    def calls_per_sample(self) -> float:
        """Model calls per returned sample."""
        return self.stats.model_calls / len(self.samples) if self.samples else math.inf

    def posterior(self, by: str = "tokens") -> dict:
        """The (weighted) empirical distribution of the samples.

        ``by="tokens"`` keys it by ``token_ids``; ``by="text"`` by ``text`` (different
        tokenizations of one text summed).
        """
        if by not in ("tokens", "text"):
            raise ValueError(f"by must be 'tokens' or 'text', not {by!r}")
        out: dict = defaultdict(float)
        for s, w in zip(self.samples, self.weights):
            out[s.token_ids if by == "tokens" else s.text] += float(w)
        return dict(out)
