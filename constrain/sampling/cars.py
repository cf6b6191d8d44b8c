"""CARS: constrained adaptive rejection sampling, exact samples of P conditioned on L."""

from __future__ import annotations

from typing import Optional

from .result import Sample, SampleSet
from .trie_sampler import TrieSampler


class CARS(TrieSampler):
    """Exact samples of the model conditioned on the language, by adaptive rejection.

    An attempt samples from the model restricted to the mass not yet proven invalid: child
    t of u with probability P(t|u) * bound(ut) / bound(u), where bound(u) is the mass
    of u's continuations not yet pruned. When an attempt first reaches a prefix, the
    grammar's mask there prunes every disallowed token at once; if the attempt drew one of
    them it is rejected. Pruned mass propagates up the trie and the next attempt starts
    afresh. Accepted samples are exactly distributed as P(w | w in L) at every stage, and
    the acceptance rate P(L) / bound(root) only grows. Repeated prefixes cost no model call.

    ``max_attempts``: the most attempts per returned sample before :class:`SamplingError`.
    """

    def __init__(self, source, grammar, *, max_attempts: int = 100_000, **kwargs):
        super().__init__(source, grammar, **kwargs)
        self.max_attempts = int(max_attempts)

    @property
    def mass_bound(self) -> float:
        """Upper bound on P(L) under the model: the unpruned mass (1.0 before any attempt)."""
        return self.trie.root.bound

    def attempt(self) -> Optional[Sample]:
        """One attempt: an exact sample, or None if it was rejected (and mass pruned)."""
        sample = self._walk(rejecting=True)
        if sample is None:
            self.stats.rejections += 1
        return sample

    def sample(self, n: int = 1) -> SampleSet:
        """Draw ``n`` exact samples."""
        begun = self._begin()
        return self._finish(self._walks(n, True, self.max_attempts), begun)
