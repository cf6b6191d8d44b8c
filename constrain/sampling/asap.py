"""ASAp: adaptive sampling with approximate expected futures (Park et al., NeurIPS 2024)."""

from __future__ import annotations

from .result import SampleSet
from .trie_sampler import TrieSampler


class ASAp(TrieSampler):
    """Grammar-aligned decoding by adaptive masking.

    Draws token t after prefix u with probability proportional to P(t|u) * bound(ut), where
    bound is the trie's upper bound on the expected future grammaticality (an unexplored
    allowed child counts 1, so the first sample is a GCD sample). After every sample the
    bounds along its path are recomputed from the unmasked probabilities. Samples are
    always valid; their distribution converges to P conditioned on the language as the trie
    fills (exactly once every string of a finite language has been explored). The trie
    persists across calls and can be saved (:meth:`save_trie`) and reloaded (``trie=path``).

    A walk can only fail at the ``max_tokens`` cap (a prefix that must stop but is not in
    the language); it is then counted as a rejection, its bound set to 0, and retried, at
    most ``max_attempts`` times per sample.
    """

    def __init__(self, source, grammar, *, max_attempts: int = 100_000, **kwargs):
        super().__init__(source, grammar, **kwargs)
        self.max_attempts = int(max_attempts)

    def sample(self, n: int = 1) -> SampleSet:
        """Draw ``n`` samples, one after the other (each refines the trie for the next)."""
        begun = self._begin()
        return self._finish(self._walks(n, False, self.max_attempts), begun)
