"""Speculative decoding verified with grammar masks, and fast-forward of forced text.

A small draft model proposes ``k`` tokens; the target model scores all of them in one forward
pass; the standard speculative-sampling rule (Leviathan et al. 2023, Chen et al. 2023) keeps
a prefix of the drafts and draws one more token. Both rules are applied to *masked*
distributions: ``p~`` = the target's next-token distribution restricted to the grammar's
allowed tokens and renormalised, ``q~`` = the same for the draft (or the draft's plain
distribution with ``draft_masks=False``). Draft ``x`` is kept with probability
``min(1, p~(x) / q~(x))``; at the first refusal the token is drawn from the residual
``max(0, p~ - q~)`` renormalised; when all drafts are kept a bonus token is drawn from
``p~`` after them. The output is then distributed exactly as masked sampling from the target
alone. A draft token the grammar refuses has ``p~ = 0`` and is always refused *through the
rule* (residual sampling): replacing it by a fresh draw from ``p~`` would bias the output.

``temperature=0`` is greedy: drafts are the draft's masked argmax and are kept while they
equal the target's masked argmax, which reproduces greedy constrained decoding exactly.

Models are ``transformers`` causal LMs (run with a KV cache that is cropped after refused
drafts) or, for tests, callables ``prefix tuple -> logits``. ``draft=None`` (or ``k=0``) is
plain masked sampling from the target with the same loop, the baseline for speed-ups.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np

from ._core import fill_draft_bitmasks
from .compiler import CompiledGrammar
from .errors import ConstrainError
from .fast_forward import forced_tokens

__all__ = ["SpeculativeResult", "SpeculativeError", "generate", "masked_probs",
           "acceptance_probs", "verify"]


class SpeculativeError(ConstrainError):
    """Generation cannot go on: the grammar allows no token the model gives any probability."""


@dataclass
class SpeculativeResult:
    """What :func:`generate` returns.

    Attributes:
        token_ids: the generated ids (the prompt excluded), ending with an end-of-sequence id
            unless ``max_new_tokens`` stopped generation.
        text: the bytes of the non-EOS tokens decoded as UTF-8 (invalid bytes replaced).
        drafted: draft tokens proposed (over all rounds).
        accepted: draft tokens the target kept.
        target_forwards: forward passes of the target (one per round).
        draft_forwards: forward passes of the draft model.
        forced: tokens appended by fast-forward, without any model call.
        seconds: wall time of the call.
    """

    token_ids: List[int]
    text: str
    drafted: int = 0
    accepted: int = 0
    target_forwards: int = 0
    draft_forwards: int = 0
    forced: int = 0
    seconds: float = 0.0

    @property
    def acceptance_rate(self) -> float:
        """Share of draft tokens the target kept (0 when nothing was drafted)."""
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def tokens_per_target_forward(self) -> float:
        """Generated tokens (forced ones included) per target forward pass."""
        return len(self.token_ids) / max(1, self.target_forwards)

    @property
    def forced_share(self) -> float:
        """Share of the generated tokens that fast-forward appended."""
        return self.forced / max(1, len(self.token_ids))


# ------------------------------------------------------------------ the rule, on numpy rows

def masked_probs(logits: np.ndarray, allowed: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The distribution ``softmax(logits / temperature)`` restricted to ``allowed`` (bool [V]),
    renormalised, as float64. Raises :class:`SpeculativeError` if no allowed token has mass."""
    x = np.asarray(logits, dtype=np.float64)[:allowed.shape[0]]
    if temperature != 1.0:
        x = x / temperature
    x = np.where(allowed[:x.shape[0]], x, -np.inf)
    top = x.max() if x.size else -np.inf
    if not np.isfinite(top):
        raise SpeculativeError("the grammar allows no token with non-zero probability here")
    p = np.exp(x - top)
    return p / p.sum()


def acceptance_probs(p_rows: Sequence[np.ndarray], q_rows: Sequence[np.ndarray],
                     drafts: Sequence[int]):
    """The speculative-sampling rule for one round, as probabilities.

    ``p_rows[i]``: masked target distribution before draft ``i``; ``q_rows[i]``: the
    distribution draft ``i`` was drawn from. ``len(p_rows)`` is ``len(drafts) + 1`` (the last
    row is for the bonus token) or ``len(drafts)`` (no bonus: the last draft ends the
    sequence or is refused for sure). Returns ``(accept, outcomes)``: ``accept[i]`` =
    ``min(1, p(x_i) / q(x_i))``; ``outcomes[i]`` = the distribution of the token emitted when
    draft ``i`` is the first refused (the residual ``max(0, p - q)`` renormalised), and
    ``outcomes[len(drafts)]``, if present, the bonus distribution ``p_rows[-1]``.
    """
    k = len(drafts)
    if len(q_rows) != k or len(p_rows) not in (k, k + 1):
        raise ValueError(f"{k} drafts need {k} draft rows and {k} or {k + 1} target rows")
    accept = np.empty(k)
    outcomes = []
    for i, x in enumerate(drafts):
        p, q = p_rows[i], q_rows[i]
        accept[i] = 1.0 if p[x] >= q[x] else p[x] / q[x]
        residual = np.maximum(p - q, 0.0)
        total = residual.sum()
        # total == 0 only when p == q, where refusal has probability 0: any row will do.
        outcomes.append(residual / total if total > 0 else p)
    if len(p_rows) == k + 1:
        outcomes.append(p_rows[k])
    return accept, outcomes


def verify(p_rows, q_rows, drafts, rng: Optional[np.random.Generator]):
    """Runs the rule of :func:`acceptance_probs`; ``rng=None`` is the greedy rule.

    Returns ``(kept, token)``: the number of leading drafts kept and the token to append after
    them (None when every draft was kept and there is no bonus row).
    """
    if rng is None:
        for i, x in enumerate(drafts):
            best = int(np.argmax(p_rows[i]))
            if best != x:
                return i, best
        return len(drafts), (int(np.argmax(p_rows[-1])) if len(p_rows) > len(drafts) else None)
    accept, outcomes = acceptance_probs(p_rows, q_rows, drafts)
    for i in range(len(drafts)):
        if rng.random() >= accept[i]:
            return i, _draw(outcomes[i], rng)
    return len(drafts), (_draw(outcomes[-1], rng) if len(outcomes) > len(drafts) else None)


def _draw(p: np.ndarray, rng: np.random.Generator) -> int:
    cum = np.cumsum(p)
    i = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
    return min(i, int(np.flatnonzero(p > 0)[-1]))


# ------------------------------------------------------------------ models

class _Scorer:
    """Next-token logits of a model at the last ``n`` positions of a token list."""

    forwards = 0

    def logits(self, ids: List[int], n: int) -> np.ndarray:
        """``[n, V]`` float logits: row j predicts the token after ``ids[:len(ids) - n + 1 + j]``."""
        raise NotImplementedError


class _CallableScorer(_Scorer):
    """A callable ``prefix tuple -> logits``; the prefix holds the generated tokens only."""

    def __init__(self, fn: Callable, prompt_len: int):
        self.fn = fn
        self.prompt_len = prompt_len

    def logits(self, ids, n):
        self.forwards += 1
        body = tuple(ids[self.prompt_len:])
        return np.stack([np.asarray(self.fn(body[:len(body) - n + 1 + j]), dtype=np.float64)
                         for j in range(n)])


class _TransformersScorer(_Scorer):
    """A ``transformers`` causal LM with a KV cache, cropped to the longest still-valid prefix."""

    def __init__(self, model):
        self.model = model
        self.cache = None
        self.cached: List[int] = []  # the tokens whose keys and values the cache holds

    def logits(self, ids, n):
        import torch

        keep = 0
        limit = min(len(self.cached), len(ids) - n)
        while keep < limit and self.cached[keep] == ids[keep]:
            keep += 1
        if self.cache is not None and keep < len(self.cached):
            self.cache.crop(keep - len(self.cached))  # negative: drop that many positions
        device = next(self.model.parameters()).device
        new = torch.tensor([ids[keep:]], dtype=torch.long, device=device)
        with torch.no_grad():
            out = self.model(input_ids=new, past_key_values=self.cache if keep else None,
                             use_cache=True)
        self.cache = out.past_key_values
        self.cached = list(ids)
        self.forwards += 1
        return out.logits[0, -n:].to("cpu", torch.float64).numpy()


def _scorer(model, prompt_len: int) -> _Scorer:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return _TransformersScorer(model)
    if callable(model):
        return _CallableScorer(model, prompt_len)
    raise TypeError(f"cannot use a {type(model).__name__} as a model")


# ------------------------------------------------------------------ generation

def generate(target, draft, tokenizer, compiled: CompiledGrammar, *, k: int = 4,
             temperature: float = 1.0, max_new_tokens: int = 256, prompt: Optional[str] = None,
             prompt_ids: Optional[Sequence[int]] = None, draft_masks: bool = True,
             fast_forward: bool = False, seed=None) -> SpeculativeResult:
    """Constrained generation with speculative decoding; the output follows masked sampling
    from ``target`` exactly (greedy decoding with ``temperature=0``).

    Args:
        target: a ``transformers`` causal LM, or a callable ``prefix tuple -> logits`` (the
            prefix holds the generated tokens only; for tests and toy models).
        draft: the draft model (same kinds, same token ids), or None for plain masked
            sampling from the target (then ``k`` is ignored).
        tokenizer: a ``transformers`` tokenizer, for the prompt and fast-forward (may be None
            with ``prompt_ids`` and callables).
        compiled: the grammar compiled for the tokenizer's vocabulary.
        k: draft tokens per round.
        temperature: applied to both models' logits; 0 means greedy.
        max_new_tokens: the most tokens generated (EOS included).
        prompt, prompt_ids: the prompt as text (encoded with ``tokenizer``) or ids; default:
            the tokenizer's BOS token for ``transformers`` models, nothing for callables.
        draft_masks: mask the draft's distribution with the grammar (higher acceptance);
            False drafts from the plain draft distribution (the rule stays exact).
        fast_forward: append the tokens of grammar-forced text (:func:`constrain.forced_tokens`)
            without calling any model.
        seed: seed or ``numpy.random.Generator`` for sampling.
    """
    if not isinstance(compiled, CompiledGrammar):
        raise TypeError(f"compiled must be a CompiledGrammar, not {type(compiled).__name__}")
    if k < 0 or max_new_tokens < 0 or temperature < 0:
        raise ValueError("k, max_new_tokens and temperature must be non-negative")
    start = time.perf_counter()
    vocab = compiled.vocab
    ids = _prompt_ids(target, tokenizer, prompt, prompt_ids)
    prompt_len = len(ids)
    rng = None if temperature == 0 else np.random.default_rng(seed)
    temp = temperature or 1.0
    eos = frozenset(vocab.eos_token_ids)
    target_scorer = _scorer(target, prompt_len)
    draft_scorer = None if draft is None or k == 0 else _scorer(draft, prompt_len)
    matcher = compiled.matcher()
    words = (vocab.vocab_size + 31) // 32
    bitmask = np.zeros((k + 1, words), dtype=np.int32)
    result = SpeculativeResult([], "")

    def fit(logits: np.ndarray) -> np.ndarray:
        """Logits cut or padded (with -inf) to the vocabulary's width."""
        width = logits.shape[1]
        if width >= vocab.vocab_size:
            return logits[:, :vocab.vocab_size]
        pad = np.full((logits.shape[0], vocab.vocab_size - width), -np.inf)
        return np.concatenate([logits, pad], axis=1)

    def allowed(row: int) -> np.ndarray:
        bits = np.unpackbits(bitmask[row].view(np.uint8), bitorder="little")
        return bits[:vocab.vocab_size].astype(bool)

    def dist(logits: np.ndarray, row: int) -> np.ndarray:
        if rng is None:  # greedy: a one-hot row at the masked argmax
            x = np.where(allowed(row), logits, -np.inf)
            if not np.isfinite(x.max()):
                raise SpeculativeError("the grammar allows no token here")
            onehot = np.zeros(vocab.vocab_size)
            onehot[int(np.argmax(x))] = 1.0
            return onehot
        return masked_probs(logits, allowed(row), temp)

    def unmasked(logits: np.ndarray) -> np.ndarray:
        everything = np.ones(vocab.vocab_size, dtype=bool)
        if rng is None:
            onehot = np.zeros(vocab.vocab_size)
            onehot[int(np.argmax(logits))] = 1.0
            return onehot
        return masked_probs(logits, everything, temp)

    done = False
    while not done and len(ids) - prompt_len < max_new_tokens:
        remaining = max_new_tokens - (len(ids) - prompt_len)
        if fast_forward:
            forced = forced_tokens(matcher, vocab, tokenizer)[:remaining]
            if forced:
                matcher.accept_tokens(forced)
                ids.extend(forced)
                result.forced += len(forced)
                continue
        budget = 0 if draft_scorer is None else min(k, remaining - 1)
        drafts: List[int] = []
        q_rows: List[np.ndarray] = []
        for _ in range(budget):
            logits = fit(draft_scorer.logits(ids + drafts, 1))[0]
            if draft_masks:
                matcher.fill_bitmask(bitmask, len(drafts))
                q = dist(logits, len(drafts))
            else:
                q = unmasked(logits)
            x = int(np.argmax(q)) if rng is None else _draw(q, rng)
            drafts.append(x)
            q_rows.append(q)
            if draft_masks and not matcher.accept_token(x):
                raise AssertionError(f"the grammar refused masked draft token {x}")
            if x in eos:
                break
        if draft_masks:
            matcher.fill_bitmask(bitmask, len(drafts))
            valid = len(drafts)
            matcher.rollback(len(drafts))
        else:
            valid = fill_draft_bitmasks(matcher, drafts, bitmask)
        # Verify the drafts up to the first one the grammar refuses; the target scores the
        # position before each, plus a bonus position unless a refusal or EOS ends the round.
        checked = drafts[:valid + 1]
        no_bonus = valid < len(drafts) or (drafts and drafts[-1] in eos)
        rows = len(checked) + (0 if no_bonus else 1)
        logits = fit(target_scorer.logits(ids + checked[:rows - 1], rows))
        p_rows = [dist(logits[i], i) for i in range(rows)]
        kept, token = verify(p_rows, q_rows[:len(checked)], checked, rng)
        new = checked[:kept] + ([] if token is None else [token])
        result.drafted += len(drafts)
        result.accepted += kept
        if matcher.accept_tokens(new) != len(new):
            raise AssertionError("the grammar refused a verified token")
        ids.extend(new)
        done = any(t in eos for t in new) or matcher.is_terminated()
    result.token_ids = ids[prompt_len:]
    body = b"".join(vocab.token_bytes[t] for t in result.token_ids if t not in eos)
    result.text = body.decode("utf-8", errors="replace")
    result.target_forwards = target_scorer.forwards
    result.draft_forwards = 0 if draft_scorer is None else draft_scorer.forwards
    result.seconds = time.perf_counter() - start
    return result


def _prompt_ids(model, tokenizer, prompt, prompt_ids) -> List[int]:
    if prompt is not None and prompt_ids is not None:
        raise TypeError("give prompt or prompt_ids, not both")
    if prompt_ids is not None:
        return [int(t) for t in prompt_ids]
    if prompt is not None:
        if tokenizer is None:
            raise TypeError("a text prompt needs a tokenizer")
        return [int(t) for t in tokenizer(prompt)["input_ids"]]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        bos = getattr(tokenizer, "bos_token_id", None)
        if bos is None:
            bos = getattr(model.config, "bos_token_id", None)
        if bos is None:
            raise ValueError("the model needs a prompt: give prompt= or prompt_ids=")
        return [int(bos)]
    return []
