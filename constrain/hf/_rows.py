"""Per-row matcher state keyed by the generated prefix, not by call count.

``transformers`` calls a logits processor with ``input_ids`` = prompt + generated tokens. Between
two calls a row may grow by one token (greedy, sampling), take over another row's history (beam
search reorders beams), grow by several tokens, or shrink (assisted decoding re-sees prefixes
after the main model rejects drafted tokens). :class:`PrefixTracker` maps every row of a call to
the matcher state of exactly its generated suffix: it finds, among the previous call's rows of the
same grammar, the one sharing the longest prefix with it, forks that row's matcher if several rows
descend from it, rolls back to the common prefix and accepts the rest.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..compiler import CompiledGrammar


class GrammarRefusedToken(ValueError):
    """A generated token that the row's grammar does not allow (and the row had not finished)."""


class _Row:
    """A row's matcher and how many tokens of its suffix it consumed.

    ``consumed`` is smaller than the suffix length only for a finished row: once the matcher
    accepted end-of-sequence, later tokens (padding) are not fed to it.
    """

    __slots__ = ("matcher", "consumed")

    def __init__(self, matcher, consumed: int = 0):
        self.matcher = matcher
        self.consumed = consumed

    def fork(self) -> "_Row":
        return _Row(self.matcher.fork(), self.consumed)


def grammar_index(row: int, num_rows: int, num_grammars: int) -> int:
    """The grammar of ``row``: rows are split into ``num_grammars`` equal contiguous groups.

    ``generate`` expands each input row into ``num_beams * num_return_sequences`` adjacent rows,
    so grammar i (given per input) applies to all rows that descend from input i.
    """
    if num_grammars == 1:
        return 0
    if num_rows % num_grammars:
        raise ValueError(f"{num_grammars} grammars for a batch of {num_rows} rows: the number of "
                         f"rows must be a multiple of the number of grammars")
    return row // (num_rows // num_grammars)


def common_prefix_lengths(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise length of the common prefix of two equally shaped 2-D integer arrays."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[0], np.int64)
    differ = a != b
    first = differ.argmax(axis=1)
    return np.where(differ.any(axis=1), first, a.shape[1])


class PrefixTracker:
    """Matcher state of each row of a batch, keyed by the row's generated tokens.

    ``update(suffixes)`` takes the generated tokens of every row (int64 ``[rows, n]``) and
    returns one matcher per row, positioned after exactly those tokens. Cost per call: a
    vectorised comparison with the previous call's tokens, plus matcher work proportional to the
    tokens that changed (O(rows^2 * n) comparisons only for rows that changed history, as in beam
    search).
    """

    def __init__(self, grammars: Sequence[CompiledGrammar]):
        self._grammars = list(grammars)
        self.reset()

    def reset(self) -> None:
        """Forget all rows (the next ``update`` starts from fresh matchers)."""
        self._rows: Optional[List[_Row]] = None
        self._tokens = np.zeros((0, 0), np.int64)
        self._groups = np.zeros(0, np.int64)

    def update(self, suffixes: np.ndarray) -> list:
        """Position one matcher per row after that row's generated tokens; returns the matchers.

        Raises:
            GrammarRefusedToken: a row holds a token its grammar refuses before it finished.
        """
        suffixes = np.asarray(suffixes, dtype=np.int64)
        num_rows, n = suffixes.shape
        if self._rows is None or len(self._rows) != num_rows:
            self._start(num_rows)
        old_rows, old = self._rows, self._tokens
        k = min(n, old.shape[1])
        lcp = common_prefix_lengths(suffixes[:, :k], old[:, :k])
        sources = np.arange(num_rows)
        for r in np.flatnonzero(lcp < old.shape[1]).tolist():
            # The row's own history is not a prefix of its new tokens (a beam took over another
            # beam's history, or drafted tokens were rejected): use the closest old row.
            lengths = common_prefix_lengths(np.broadcast_to(suffixes[r, :k], (num_rows, k)), old[:, :k])
            lengths[self._groups != self._groups[r]] = -1
            best = int(lengths.argmax())
            if lengths[best] > lcp[r]:
                sources[r], lcp[r] = best, lengths[best]
        self._rows = self._reassign(old_rows, sources.tolist())
        try:
            for r, row in enumerate(self._rows):
                self._advance(r, row, suffixes[r], int(lcp[r]))
        except Exception:
            self.reset()  # half-updated rows must not be trusted by a later call
            raise
        self._tokens = suffixes
        return [row.matcher for row in self._rows]

    def _start(self, num_rows: int) -> None:
        groups = [grammar_index(r, num_rows, len(self._grammars)) for r in range(num_rows)]
        self._rows = [_Row(self._grammars[g].matcher()) for g in groups]
        self._tokens = np.zeros((num_rows, 0), np.int64)
        self._groups = np.array(groups, np.int64)

    @staticmethod
    def _reassign(old_rows: List[_Row], sources: List[int]) -> List[_Row]:
        """New rows from old ones: a source used by several rows is forked before any row moves."""
        owner = {}
        for r, s in enumerate(sources):
            if s not in owner or r == s:
                owner[s] = r
        new = [old_rows[s] if owner[s] == r else old_rows[s].fork() for r, s in enumerate(sources)]
        return new

    def _advance(self, r: int, row: _Row, tokens: np.ndarray, common: int) -> None:
        m = row.matcher
        if row.consumed > common:
            m.rollback(row.consumed - common)
            row.consumed = common
        elif row.consumed < common:
            return  # finished earlier: everything after its end-of-sequence is padding
        todo = tokens[common:].tolist()
        if not todo:
            return
        try:
            accepted = m.accept_tokens(todo)
        except ValueError:  # an id outside the grammar's vocabulary (e.g. padded logits)
            accepted = _accept_in_range(m, todo)
        row.consumed += accepted
        if accepted < len(todo) and not m.is_terminated():
            bad = todo[accepted]
            position = common + accepted
            raise GrammarRefusedToken(
                f"row {r}: generated token {bad} (position {position} of the generated text) is "
                f"not allowed by the grammar and the row has not ended; was this processor "
                f"reused for another generate() call without reset(), or did another logits "
                f"processor change the choice?")


def _accept_in_range(m, tokens: List[int]) -> int:
    """``accept_tokens`` that stops, instead of raising, at an id outside the vocabulary."""
    accepted = 0
    for t in tokens:
        if not 0 <= t < m.vocab_size or not m.accept_token(t):
            break
        accepted += 1
    return accepted
