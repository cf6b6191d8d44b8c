"""compile(): a Grammar bound to a Vocabulary, cached in memory and on disk."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Optional, Union

import numpy as np

from . import cache
from ._core import BuildProgress, CfgIndex, DfaIndex, Matcher, TokenTrie
from .grammar import Grammar
from .progress import ProgressCallback, as_callback, begin, watch
from .vocabulary import PerVocabulary, Vocabulary

_MEMORY_CACHE_SIZE = 64
_memory_cache: "OrderedDict[str, CompiledGrammar]" = OrderedDict()
_memory_cache_lock = threading.Lock()


class CompiledGrammar:
    """A grammar compiled against one vocabulary: immutable, shared by all its matchers.

    For a regular grammar: its DFA and, for every DFA state, the tokens that keep it live (the
    mask store). For a context-free grammar: its rules and, for every terminal, such a store
    plus the tokens in which the terminal can end (C++).
    """

    def __init__(self, grammar: Grammar, vocab: Vocabulary, index):
        self.grammar = grammar
        self.vocab = vocab
        self._index = index

    def matcher(self) -> Matcher:
        """A new Matcher at the start of the grammar."""
        return self._index.matcher()

    @property
    def vocab_size(self) -> int:
        """Number of token ids (the bitmask covers this many bits)."""
        return self.vocab.vocab_size

    @property
    def memory_bytes(self) -> int:
        """Memory held by this grammar's DFA and mask store (the shared vocabulary trie excluded)."""
        return self._index.memory_bytes

    def __repr__(self) -> str:
        return (f"CompiledGrammar({self.grammar!r}, vocab {self.vocab_size}, "
                f"{self.memory_bytes / 1024:.1f} KiB)")


def compile(grammar: Grammar, vocab: Vocabulary, *, threads: Optional[int] = None,
            cache_on_disk: bool = True,
            progress: Union[bool, ProgressCallback, None] = False) -> CompiledGrammar:
    """Compile ``grammar`` for ``vocab``.

    Results are cached in memory (keyed by grammar and vocabulary fingerprints and the library
    version). Regular grammars build their whole mask store here (``threads``, default: the
    machine's cores) and cache it on disk unless ``cache_on_disk=False`` or
    ``CONSTRAIN_CACHE=0``; context-free grammars compute token sets lazily, per class of
    terminal states, on first use, so compiling them is cheap and nothing is cached on disk.

    ``progress=True`` shows the stages and a bar over the DFA states of the mask store build on
    stderr; a callable ``progress(stage, done, total)`` receives them instead (see
    :mod:`constrain.progress`). The masks do not depend on it.
    """
    if not isinstance(grammar, Grammar):
        raise TypeError(f"compile() needs a Grammar, not {type(grammar).__name__}")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"compile() needs a Vocabulary, not {type(vocab).__name__}")
    report = as_callback(progress)
    key = cache.cache_key("grammar", vocab.fingerprint, grammar.fingerprint)
    with _memory_cache_lock:
        hit = _memory_cache.get(key)
        if hit is not None:
            _memory_cache.move_to_end(key)
            return hit
    threads = threads or os.cpu_count() or 1
    if grammar.is_regular:
        index = _load_or_build_dfa(grammar, vocab, key, threads, cache_on_disk, report)
    else:
        # Cheap: the CFG core computes token sets lazily, per class of terminal states.
        begin(report, "binding the grammar to the vocabulary")
        index = CfgIndex.build(token_trie(vocab), grammar.tables, vocab.eos_token_ids)
    compiled = CompiledGrammar(grammar, vocab, index)
    with _memory_cache_lock:
        _memory_cache[key] = compiled
        while len(_memory_cache) > _MEMORY_CACHE_SIZE:
            _memory_cache.popitem(last=False)
    return compiled


def _load_or_build_dfa(grammar: Grammar, vocab: Vocabulary, key: str, threads: int,
                       cache_on_disk: bool, report: Optional[ProgressCallback]) -> DfaIndex:
    dfa = grammar.dfa
    transitions = np.ascontiguousarray(dfa.transitions, dtype=np.int32)
    accepting = np.ascontiguousarray(dfa.accepting, dtype=np.uint8)
    trie = token_trie(vocab)
    path = cache.cache_path("grammar", key, ".npz") if cache_on_disk else None
    if path is not None:
        arrays = cache.load_arrays(path)
        if arrays is not None:
            begin(report, "loading the mask store from the cache")
            try:
                return DfaIndex.from_arrays(trie, transitions, accepting, vocab.eos_token_ids,
                                            arrays["forms"], arrays["offsets"], arrays["lengths"],
                                            arrays["data"])
            except (KeyError, ValueError):
                pass  # a stale or damaged cache entry: rebuild it below
    index = _build_dfa_index(trie, transitions, accepting, vocab.eos_token_ids, threads, report)
    if path is not None:
        cache.save_arrays(path, **index.mask_arrays())
    return index


def _build_dfa_index(trie: TokenTrie, transitions: np.ndarray, accepting: np.ndarray, eos_ids,
                     threads: int, report: Optional[ProgressCallback]) -> DfaIndex:
    """``DfaIndex.build``, in a worker thread watched from this one when ``report`` is given."""
    if report is None:
        return DfaIndex.build(trie, transitions, accepting, eos_ids, threads=threads)
    counter = BuildProgress()
    return watch(lambda: DfaIndex.build(trie, transitions, accepting, eos_ids, threads=threads,
                                        progress=counter),
                 counter, len(transitions), "building the mask store", report)


def _build_trie(vocab: Vocabulary) -> TokenTrie:
    data, offsets = vocab.blob()
    return TokenTrie(data, offsets)


#: The C++ token trie of a vocabulary (built once per vocabulary fingerprint, then shared).
token_trie = PerVocabulary(_build_trie, keep=8)
