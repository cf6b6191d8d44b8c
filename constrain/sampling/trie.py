"""The prefix trie shared by ASAp and CARS: explored prefixes with grammaticality bounds.

Each node is a prefix u. Its ``bound`` is an upper bound on the expected future
grammaticality c(u) = P(the model completes u inside the language | u):

    bound(u) = sum over allowed t of P(t | u) * bound(ut)

where an allowed end-of-sequence token counts 1, an unexplored allowed child counts 1 and a
disallowed token counts 0. Updating the bounds bottom-up along a sampled path keeps every
node consistent with its children; bounds only ever decrease, and reach c(u) once every
continuation below u has been explored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

_FORMAT = "constrain.sampling.PrefixTrie/1"


class TrieNode:
    """One explored prefix.

    ``bound`` is the node's grammaticality bound. Once expanded (the model and the grammar
    consulted at this prefix), ``ids`` holds the allowed token ids (ascending), ``probs``
    their unmasked model probabilities, and ``child_bounds`` the bound of each child
    (1 until the child is explored). ``children`` maps token id -> child node.
    """

    __slots__ = ("bound", "ids", "probs", "child_bounds", "children")

    def __init__(self, bound: float = 1.0):
        self.bound = float(bound)
        self.ids: Optional[np.ndarray] = None
        self.probs: Optional[np.ndarray] = None
        self.child_bounds: Optional[np.ndarray] = None
        self.children: dict[int, TrieNode] = {}

    @property
    def expanded(self) -> bool:
        """True once ``ids``, ``probs`` and ``child_bounds`` are known."""
        return self.ids is not None

    def expand(self, ids: np.ndarray, probs: np.ndarray) -> None:
        """Record the allowed tokens and their probabilities; children keep their bounds."""
        self.ids = np.asarray(ids, dtype=np.int64)
        self.probs = np.asarray(probs, dtype=np.float64)
        self.child_bounds = np.ones(len(self.ids))
        for t, child in self.children.items():
            k = self.index(t)
            if k < 0:
                raise ValueError(f"the trie has a child {t} the grammar does not allow")
            self.child_bounds[k] = child.bound

    def index(self, token: int) -> int:
        """Position of ``token`` in ``ids``, or -1."""
        k = int(np.searchsorted(self.ids, token))
        return k if k < len(self.ids) and self.ids[k] == token else -1

    def child(self, token: int) -> "TrieNode":
        """The child for ``token``, created with the bound its parent holds for it."""
        node = self.children.get(token)
        if node is None:
            k = self.index(token) if self.expanded else -1
            node = TrieNode(self.child_bounds[k] if k >= 0 else 1.0)
            self.children[token] = node
        return node

    def recompute(self) -> None:
        """bound = sum of P(t|u) * bound(ut) over the allowed tokens."""
        for t, child in self.children.items():
            self.child_bounds[self.index(t)] = child.bound
        self.bound = float(np.dot(self.probs, self.child_bounds))


class PrefixTrie:
    """A persistent trie of explored prefixes; see the module docstring.

    ``key`` identifies what the bounds are valid for (grammar, vocabulary, length cap);
    :meth:`load` refuses a file made for another key. The model is not part of the key: a
    trie built with one model must not be reused with another.
    """

    def __init__(self, key: str = ""):
        self.key = key
        self.root = TrieNode()

    def node(self, prefix: Sequence[int]) -> Optional[TrieNode]:
        """The node of ``prefix``, or None if it was never explored."""
        node = self.root
        for t in prefix:
            node = node.children.get(int(t))
            if node is None:
                return None
        return node

    def bound(self, prefix: Sequence[int]) -> float:
        """The bound of ``prefix``: its node's bound, or 1.0 if it is unexplored.

        A prefix under an explored parent that does not allow its last token gets 0.
        """
        node = self.root
        for t in prefix:
            child = node.children.get(int(t))
            if child is None:
                if node.expanded:
                    k = node.index(int(t))
                    return float(node.child_bounds[k]) if k >= 0 else 0.0
                return 1.0
            node = child
        return node.bound

    def update(self, path: Sequence[TrieNode]) -> None:
        """Recompute the bounds of ``path`` (root first), deepest node first."""
        for node in reversed(path):
            if node.expanded:
                node.recompute()

    def __len__(self) -> int:
        return sum(1 for _ in self._walk())

    def _walk(self) -> Iterator[tuple[int, int, TrieNode]]:
        """(index, parent index, node) with the token leading to it, breadth first."""
        queue = [(-1, -1, self.root)]
        i = 0
        while i < len(queue):
            parent, token, node = queue[i]
            yield parent, token, node
            for t in sorted(node.children):
                queue.append((i, t, node.children[t]))
            i += 1

    def save(self, path) -> None:
        """Write the trie's structure and bounds to ``path`` (a ``.npz`` file).

        Model probabilities are not saved; a loaded trie asks the model again when it
        first expands a node.
        """
        rows = list(self._walk())
        with open(Path(path), "wb") as f:
            np.savez(f, parent=np.array([r[0] for r in rows], np.int64),
                     token=np.array([r[1] for r in rows], np.int64),
                     bound=np.array([r[2].bound for r in rows], np.float64),
                     meta=np.array(json.dumps({"format": _FORMAT, "key": self.key})))

    @classmethod
    def load(cls, path, key: Optional[str] = None) -> "PrefixTrie":
        """Read a trie written by :meth:`save`; with ``key``, check that it matches."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path} is not a saved PrefixTrie")
            if key is not None and meta["key"] != key:
                raise ValueError(f"{path} holds a trie for another grammar, vocabulary or "
                                 f"max_tokens")
            parent, token, bound = data["parent"], data["token"], data["bound"]
        trie = cls(meta["key"])
        nodes = [trie.root]
        trie.root.bound = float(bound[0])
        for i in range(1, len(parent)):
            node = TrieNode(bound[i])
            nodes[parent[i]].children[int(token[i])] = node
            nodes.append(node)
        return trie
