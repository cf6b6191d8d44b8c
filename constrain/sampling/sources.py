"""Next-token sources: what samplers ask for the model's distribution after a prefix.

A source maps a batch of token-id prefixes to next-token log-probabilities. Wrap a plain
callable (toy models, other frameworks) with :class:`CallableSource`, a ``transformers``
causal language model with :class:`TransformersSource`, or let :func:`as_source` pick.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional, Sequence

import numpy as np

Prefix = tuple[int, ...]


class NextTokenSource:
    """Base class: next-token log-probabilities for a batch of prefixes."""

    def logprobs(self, prefixes: Sequence[Prefix]) -> np.ndarray:
        """Float64 ``[len(prefixes), V]`` log-probabilities (each row normalised over V)."""
        raise NotImplementedError


def _log_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64) / temperature
    top = np.max(x, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return x - top - np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True))


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().to("cpu").double().numpy()
    return np.asarray(x, dtype=np.float64)


class CallableSource(NextTokenSource):
    """A source from a Python function returning next-token logits (unnormalised).

    ``fn(prefix)`` gets a tuple of token ids and returns a 1-D array-like (numpy, list or
    torch) of logits; with ``batched=True``, ``fn(list_of_prefixes)`` returns a 2-D array.
    Logits are divided by ``temperature`` before the softmax.
    """

    def __init__(self, fn: Callable, *, batched: bool = False, temperature: float = 1.0):
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, not {temperature}")
        self.fn = fn
        self.batched = batched
        self.temperature = float(temperature)

    def logprobs(self, prefixes: Sequence[Prefix]) -> np.ndarray:
        """See :meth:`NextTokenSource.logprobs`."""
        if self.batched:
            logits = _to_numpy(self.fn([tuple(p) for p in prefixes]))
        else:
            logits = np.stack([_to_numpy(self.fn(tuple(p))) for p in prefixes])
        if logits.ndim != 2 or logits.shape[0] != len(prefixes):
            raise ValueError(f"the source returned logits of shape {logits.shape} "
                             f"for {len(prefixes)} prefixes")
        return _log_softmax(logits, self.temperature)


class TransformersSource(NextTokenSource):
    """A ``transformers`` causal LM as a source: one forward pass per batch of prefixes.

    Each prefix is scored as ``prompt_ids + prefix``. ``prompt_ids`` defaults to the model's
    BOS token. Prefixes of equal length share a forward pass (up to ``batch_size`` rows), so
    no padding is involved. There is no KV cache: a call costs a full forward of the prefix.
    """

    def __init__(self, model, prompt_ids: Optional[Sequence[int]] = None, *,
                 batch_size: int = 64, temperature: float = 1.0):
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, not {temperature}")
        if prompt_ids is None:
            bos = getattr(getattr(model, "config", None), "bos_token_id", None)
            prompt_ids = [] if bos is None else [int(bos)]
        self.model = model
        self.prompt_ids = [int(t) for t in prompt_ids]
        self.batch_size = int(batch_size)
        self.temperature = float(temperature)

    def logprobs(self, prefixes: Sequence[Prefix]) -> np.ndarray:
        """See :meth:`NextTokenSource.logprobs`."""
        import torch

        rows: list[Optional[np.ndarray]] = [None] * len(prefixes)
        by_length: dict[int, list[int]] = {}
        for i, p in enumerate(prefixes):
            by_length.setdefault(len(p), []).append(i)
        device = next(self.model.parameters()).device
        for length, idx in by_length.items():
            if length + len(self.prompt_ids) == 0:
                raise ValueError("an empty prefix needs prompt_ids (the model has no BOS token)")
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                ids = torch.tensor([self.prompt_ids + list(prefixes[i]) for i in chunk],
                                   dtype=torch.long, device=device)
                with torch.no_grad():
                    logits = self.model(input_ids=ids).logits[:, -1, :]
                    logp = torch.log_softmax(logits.double() / self.temperature, dim=-1)
                for i, row in zip(chunk, logp.cpu().numpy()):
                    rows[i] = row
        return np.stack(rows) if rows else np.zeros((0, 0))


def as_source(obj, **kwargs) -> NextTokenSource:
    """``obj`` as a :class:`NextTokenSource`.

    A source is returned as is; a ``torch.nn.Module`` (a ``transformers`` model) becomes a
    :class:`TransformersSource`; any other callable a :class:`CallableSource` (prefix ->
    logits). ``kwargs`` go to the constructor.
    """
    if isinstance(obj, NextTokenSource):
        if kwargs:
            raise TypeError("options cannot be given with a ready NextTokenSource")
        return obj
    torch = sys.modules.get("torch")  # a torch module can only exist if torch is loaded
    if torch is not None and isinstance(obj, torch.nn.Module):
        return TransformersSource(obj, **kwargs)
    if callable(obj):
        return CallableSource(obj, **kwargs)
    raise TypeError(f"cannot use a {type(obj).__name__} as a next-token source")
