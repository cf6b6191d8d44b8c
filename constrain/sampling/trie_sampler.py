"""Walking the prefix trie: the machinery ASAp and CARS share."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .base import Sampler
from .result import Sample, SamplingError
from .trie import PrefixTrie, TrieNode


class TrieSampler(Sampler):
    """A sampler that keeps a :class:`PrefixTrie` of explored prefixes across samples.

    ``trie``: an existing trie, or the path of one saved with :meth:`save_trie`; by default
    a new, empty trie. A node's model probabilities and mask are computed once, on its
    first visit, so revisiting a prefix costs no model call.
    """

    def __init__(self, source, grammar, *, trie: Union[PrefixTrie, str, Path, None] = None,
                 **kwargs):
        super().__init__(source, grammar, **kwargs)
        key = f"{grammar.grammar.fingerprint}:{self.vocab.fingerprint}:{self.max_tokens}"
        if trie is None:
            trie = PrefixTrie(key)
        elif isinstance(trie, (str, Path)):
            trie = PrefixTrie.load(trie, key)
        elif trie.key != key:
            raise ValueError("the trie was built for another grammar, vocabulary or max_tokens")
        self.trie = trie

    def _walks(self, n: int, rejecting: bool, max_attempts: int) -> list[Sample]:
        """``n`` samples from repeated walks; a walk that returns None counts as a rejection."""
        samples: list[Sample] = []
        for _ in range(n):
            for _attempt in range(max_attempts):
                s = self._walk(rejecting)
                if s is not None:
                    samples.append(s)
                    break
                self.stats.rejections += 1
            else:
                raise SamplingError(f"no valid sample in {max_attempts} attempts "
                                    f"(unpruned mass {self.trie.root.bound:.3g})")
        return samples

    def save_trie(self, path) -> None:
        """Save the trie (structure and bounds) to ``path``; reload with ``trie=path``."""
        self.trie.save(path)

    def _expand(self, node: TrieNode, matcher, tokens: list[int]) -> None:
        if not node.expanded:
            ids = self._allowed_ids(matcher, len(tokens))
            lp = self._logprobs([tokens])[0]
            node.expand(ids, np.exp(lp[ids]))

    def _walk(self, rejecting: bool) -> Optional[Sample]:
        """One walk from the root, then the bounds of its path updated.

        Each step draws child t of u with probability P(t|u) * bound(ut) / norm. ASAp
        (``rejecting=False``) uses norm = the sum over the children; CARS uses the bound
        the parent held for u when the walk reached it, and the difference (mass just
        found invalid) rejects the walk: None. A walk that meets a dead end (possible only
        at the ``max_tokens`` cap) also returns None; its bound drops to 0.
        """
        self.stats.attempts += 1
        matcher = self.grammar.matcher()
        node = self.trie.root
        view = node.bound
        tokens: list[int] = []
        path: list[TrieNode] = []
        logprob = 0.0
        while True:
            path.append(node)
            self._expand(node, matcher, tokens)
            weights = node.probs * node.child_bounds
            if weights.size == 0 or weights.sum() <= 0:
                self.trie.update(path)
                if self.trie.root.bound > 0:
                    return None
                raise SamplingError("the language has probability 0 under the model "
                                    f"(within max_tokens={self.max_tokens})")
            k = self._draw(weights, view if rejecting else None)
            if k < 0:
                self.trie.update(path)
                return None
            t = int(node.ids[k])
            tokens.append(t)
            logprob += math.log(node.probs[k])
            if self._is_eos(t):
                break
            view = float(node.child_bounds[k])
            matcher.accept_token(t)
            node = node.child(t)
        self.trie.update(path)
        return self._sample(tokens, logprob)
