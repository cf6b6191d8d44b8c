"""Token bitmasks: allocation and application to logits.

Layout (shared with XGrammar and llguidance): int32 ``[rows, ceil(vocab_size / 32)]``; bit
``t % 32`` of word ``t // 32`` is set iff token ``t`` is allowed.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

import numpy as np


def bitmask_words(vocab_size: int) -> int:
    """Number of int32 words per bitmask row for ``vocab_size`` tokens."""
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, not {vocab_size}")
    return (vocab_size + 31) // 32


def allocate_bitmask(rows: int, vocab_size: int, *, pin_memory: bool = False):
    """A CPU int32 torch tensor ``[rows, ceil(vocab_size / 32)]`` with every token allowed.

    ``pin_memory=True`` pins it, so copies to a GPU can overlap with computation.
    """
    import torch

    if rows < 1:
        raise ValueError(f"rows must be positive, not {rows}")
    mask = torch.full((rows, bitmask_words(vocab_size)), -1, dtype=torch.int32)
    return mask.pin_memory() if pin_memory else mask


def apply_bitmask(logits, bitmask, indices: Optional[Sequence[int]] = None):
    """Set the logits of disallowed tokens to -inf, in place; returns ``logits``.

    ``logits``: float tensor ``[rows, V]`` (or ``[V]``) on any device; ``bitmask``: int32
    ``[rows, words]`` (numpy or torch, any device; for CUDA logits ideally pinned CPU memory,
    copied asynchronously). ``indices`` picks the logits rows to mask (bitmask row i applies
    to logits row indices[i]); by default row i to row i. Logits columns past ``32 * words``
    (a model's padded vocabulary) are masked too.

    Paths: CPU logits with a CPU bitmask unpack bits with numpy (one byte per token); CUDA
    logits use a fused Triton kernel when triton is installed; otherwise torch ops.
    """
    import torch

    if isinstance(bitmask, np.ndarray):
        bitmask = torch.from_numpy(bitmask)
    squeeze = logits.dim() == 1
    target = logits.unsqueeze(0) if squeeze else logits
    if bitmask.dim() == 1:
        bitmask = bitmask.unsqueeze(0)
    if bitmask.dtype != torch.int32:
        raise TypeError(f"bitmask must be int32, not {bitmask.dtype}")
    if indices is None and bitmask.shape[0] == target.shape[0]:
        if target.device.type == "cpu" and bitmask.device.type == "cpu" and sys.byteorder == "little":
            _apply_cpu(target, bitmask)
            return logits
        if target.is_cuda:
            from .kernels import apply_triton

            if apply_triton(target, bitmask):
                return logits
    bitmask = bitmask.to(target.device, non_blocking=True)
    rows = list(range(bitmask.shape[0])) if indices is None else list(indices)
    if len(rows) != bitmask.shape[0]:
        raise ValueError(f"{len(rows)} indices for a bitmask of {bitmask.shape[0]} rows")
    vocab = target.shape[-1]
    allowed = _unpack(bitmask, vocab)
    if indices is None and bitmask.shape[0] == target.shape[0]:
        target.masked_fill_(~allowed, float("-inf"))
    else:
        index = torch.as_tensor(rows, device=target.device)
        target[index] = target[index].masked_fill(~allowed, float("-inf"))
    return logits


def _apply_cpu(target, mask) -> None:
    """CPU path: one byte per token from ``numpy.unpackbits``, then ``masked_fill_``."""
    import torch

    vocab = target.shape[1]
    covered = min(vocab, 32 * mask.shape[1])
    words = np.ascontiguousarray(mask.numpy())
    # Little-endian int32 words viewed as bytes put token t at bit t % 8 of byte t // 8.
    refused = np.unpackbits(np.invert(words).view(np.uint8), axis=1, count=covered,
                            bitorder="little")
    target[:, :covered].masked_fill_(torch.from_numpy(refused).view(torch.bool), float("-inf"))
    if covered < vocab:
        target[:, covered:] = float("-inf")


def _unpack(bitmask, vocab: int):
    """Boolean ``[rows, vocab]`` tensor of allowed tokens (columns past the mask are False)."""
    import torch

    shifts = torch.arange(32, device=bitmask.device, dtype=torch.int32)
    bits = ((bitmask.unsqueeze(-1) >> shifts) & 1).bool().reshape(bitmask.shape[0], -1)
    if bits.shape[1] >= vocab:
        return bits[:, :vocab]
    pad = torch.zeros(bits.shape[0], vocab - bits.shape[1], dtype=torch.bool, device=bits.device)
    return torch.cat([bits, pad], dim=1)


def bitmask_to_ids(row: np.ndarray, vocab_size: int) -> np.ndarray:
    """The token ids whose bits are set in one bitmask row (numpy), ascending."""
    row = np.ascontiguousarray(row, dtype=np.int32)
    bits = np.unpackbits(row.view(np.uint8), bitorder="little")[:vocab_size]
    return np.flatnonzero(bits)
