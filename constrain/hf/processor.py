"""GrammarLogitsProcessor: constrained decoding inside ``transformers``' ``model.generate``."""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
from transformers import LogitsProcessor

from .._core import fill_bitmasks
from ..bitmask import apply_bitmask, bitmask_words
from ..compiler import CompiledGrammar
from ._rows import PrefixTracker


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks every token that would leave the grammar, for ``model.generate(logits_processor=[...])``.

    Args:
        grammars: one :class:`~constrain.CompiledGrammar` for every row, or a list of them, one
            per input row of ``generate``: with ``G`` grammars and ``R`` rows at the first call,
            row ``r`` uses grammar ``r // (R // G)``. ``generate`` expands each input into
            ``num_beams * num_return_sequences`` adjacent rows, so grammar ``i`` constrains every
            output of input ``i``. ``R`` must be a multiple of ``G``.
        threads: C++ threads for filling the masks (default: chosen by batch size).

    Works with batches (left-padded prompts of any length), greedy search, sampling, beam
    search (beams are reordered every step), ``num_return_sequences`` and assisted decoding
    (``assistant_model=`` or ``prompt_lookup_num_tokens=``), where a call may bring several new
    tokens or re-see a shorter prefix after drafts were rejected: the state of every row is keyed
    by its generated tokens, never by the number of calls.

    The prompt length is taken from the first call. A processor serves one ``generate`` call;
    reuse it only after :meth:`reset` (a new batch size or a shorter or different prompt is
    detected and resets it automatically). A row that ended (its grammar accepted an
    end-of-sequence token) allows only end-of-sequence tokens and ignores the padding
    ``generate`` appends after it; any other token the grammar refuses raises
    :class:`~constrain.hf.GrammarRefusedToken` naming the row and the token.

    Logits wider than the vocabulary (a padded embedding matrix) have their extra columns set
    to -inf. Masks are applied in place on the logits' device; for CUDA logits the bitmask is
    filled in pinned memory and copied asynchronously.
    """

    supports_continuous_batching = False

    def __init__(self, grammars: Union[CompiledGrammar, Sequence[CompiledGrammar]], *,
                 threads: Optional[int] = None):
        if isinstance(grammars, CompiledGrammar):
            listed = [grammars]
        elif isinstance(grammars, (list, tuple)):
            listed = list(grammars)
        else:
            raise TypeError(f"expected a CompiledGrammar or a list of them, not "
                            f"{type(grammars).__name__} (use constrain.compile(grammar, vocab))")
        if not listed:
            raise ValueError("GrammarLogitsProcessor needs at least one compiled grammar")
        for i, g in enumerate(listed):
            if not isinstance(g, CompiledGrammar):
                raise TypeError(f"grammars[{i}] is a {type(g).__name__}, not a CompiledGrammar "
                                f"(use constrain.compile(grammar, vocab))")
        self.grammars = listed
        self.vocab_size = max(g.vocab_size for g in listed)
        self.threads = threads
        self._tracker = PrefixTracker(listed)
        self._bitmask = None
        self._copied = None  # CUDA event: the last host-to-device copy of the bitmask finished
        self.reset()

    def reset(self) -> None:
        """Forget the prompt and all rows, to serve a new ``generate`` call."""
        self._tracker.reset()
        self._prompt_len: Optional[int] = None
        self._prompt_last: Optional[np.ndarray] = None

    @property
    def prompt_length(self) -> Optional[int]:
        """The prompt length seen at the first call (None before it)."""
        return self._prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Mask ``scores`` ``[rows, V]`` in place for the rows' generated tokens; returns ``scores``."""
        if input_ids.dim() != 2 or scores.dim() != 2 or input_ids.shape[0] != scores.shape[0]:
            raise ValueError(f"expected input_ids [rows, length] and scores [rows, V] with the same "
                             f"rows, got {tuple(input_ids.shape)} and {tuple(scores.shape)}")
        matchers = self._tracker.update(self._generated(input_ids))
        bitmask = self._host_bitmask(scores)
        fill_bitmasks(matchers, bitmask, threads=self.threads)
        apply_bitmask(scores, bitmask)
        if scores.is_cuda:
            self._copied = torch.cuda.Event()
            self._copied.record()
        return scores

    def _generated(self, input_ids: torch.Tensor) -> np.ndarray:
        """The generated tokens of every row (int64 numpy), detecting a new generation."""
        rows, length = input_ids.shape
        p = self._prompt_len
        if p is None or length < p or rows != len(self._prompt_last):
            return self._new_generation(input_ids)
        # One copy to the host: the last prompt column (to notice a new prompt) and the suffix.
        tail = input_ids[:, max(p - 1, 0):].to("cpu", copy=True).numpy()
        if p > 0:
            if not np.array_equal(tail[:, 0], self._prompt_last):
                return self._new_generation(input_ids)
            tail = tail[:, 1:]
        return tail

    def _new_generation(self, input_ids: torch.Tensor) -> np.ndarray:
        self.reset()
        rows, length = input_ids.shape
        self._prompt_len = length
        last = input_ids[:, -1] if length else input_ids.new_zeros(rows)
        self._prompt_last = last.to("cpu", copy=True).numpy()
        return np.zeros((rows, 0), np.int64)

    def _host_bitmask(self, scores: torch.Tensor) -> torch.Tensor:
        """The CPU bitmask to fill: ``[rows, words]`` covering both the logits and the vocabulary."""
        shape = (scores.shape[0], bitmask_words(max(scores.shape[1], self.vocab_size)))
        pinned = scores.is_cuda
        b = self._bitmask
        if b is None or tuple(b.shape) != shape or b.is_pinned() != pinned:
            b = torch.empty(shape, dtype=torch.int32, pin_memory=pinned)
            self._bitmask, self._copied = b, None
        elif self._copied is not None:
            # The previous asynchronous copy may still be reading this pinned buffer.
            self._copied.synchronize()
        return b

    def __repr__(self) -> str:
        return f"GrammarLogitsProcessor({len(self.grammars)} grammar(s), vocab {self.vocab_size})"
