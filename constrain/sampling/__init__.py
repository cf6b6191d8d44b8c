"""Grammar-aligned sampling: outputs distributed as the model conditioned on the grammar.

Masked decoding (:class:`GCD`) keeps every output valid but distorts the model's
distribution. The other samplers target P(w | w in L), the model conditioned on the
language of a compiled grammar:

* :class:`ASAp` -- adaptive masking with a persistent trie of grammaticality bounds;
  always valid, converging to the target (Park et al., NeurIPS 2024).
* :class:`CARS` -- constrained adaptive rejection sampling: exact samples, with fewer
  model calls than plain rejection (:class:`RejectionSampler`).
* :class:`SMC` -- weighted particles with masked proposals; a posterior estimate and an
  estimate of P(L).

Every sampler takes a next-token source (a ``transformers`` model, a callable mapping a
token prefix to logits, or a :class:`NextTokenSource`) and a ``CompiledGrammar``. See
``docs/SAMPLING.md``.
"""

from .asap import ASAp
from .base import Sampler
from .cars import CARS
from .gcd import GCD, RejectionSampler
from .result import Sample, SampleSet, SamplingError, SamplingStats
from .smc import SMC
from .sources import CallableSource, NextTokenSource, TransformersSource, as_source
from .trie import PrefixTrie, TrieNode

__all__ = [
    "ASAp",
    "CARS",
    "CallableSource",
    "GCD",
    "NextTokenSource",
    "PrefixTrie",
    "RejectionSampler",
    "SMC",
    "Sample",
    "SampleSet",
    "Sampler",
    "SamplingError",
    "SamplingStats",
    "TransformersSource",
    "TrieNode",
    "as_source",
]
