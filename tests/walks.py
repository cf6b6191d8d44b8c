"""Helpers shared by token-level tests: random walks under masks, random tokenizations, and the
ids worth checking against a slow oracle."""

from __future__ import annotations

import numpy as np

SAMPLED_IDS = 1500  # ids checked beyond the allowed ones on large vocabularies


def random_walk(compiled, vocab, rng, max_tokens, on_step=None, stop_probability=1 / 3):
    """Sample uniformly among allowed tokens; EOS with ``stop_probability`` when allowed.

    Returns (bytes produced, whether EOS was taken). ``on_step(matcher, bytes_so_far,
    allowed_ids)`` runs before every choice. Every mask must be non-empty.
    """
    m = compiled.matcher()
    text = b""
    eos = set(vocab.eos_token_ids)
    for _ in range(max_tokens):
        allowed = m.allowed_token_ids()
        assert len(allowed), f"empty mask after {text!r}"
        if on_step is not None:
            on_step(m, text, set(allowed.tolist()))
        stop = [int(t) for t in allowed if t in eos]
        if stop and rng.random() < stop_probability:
            assert m.accept_token(stop[0]) and m.is_terminated()
            return text, True
        token = int(rng.choice([t for t in allowed if t not in eos] or stop))
        assert m.accept_token(token)
        if m.is_terminated():
            return text, True
        text += vocab.token_bytes[token]
    return text, False


def random_split(data, vocab, rng, longest=16):
    """A random tokenization of ``data`` into vocabulary tokens of at most ``longest`` bytes."""
    ids, i = [], 0
    while i < len(data):
        options = [tid for n in range(1, min(longest, len(data) - i) + 1)
                   if (tid := vocab.token_id(data[i:i + n])) is not None]
        assert options, f"no token starts {data[i:i + 4]!r}"
        tid = int(rng.choice(options))
        ids.append(tid)
        i += len(vocab.token_bytes[tid])
    return ids


def checked_ids(vocab, allowed, rng):
    """All ids on small vocabularies; else the allowed ids (sampled) and a random sample."""
    if vocab.vocab_size <= 40_000:
        return range(vocab.vocab_size)
    sample = rng.choice(vocab.vocab_size, SAMPLED_IDS, replace=False)
    allowed = np.asarray(sorted(allowed), dtype=np.int64)
    if len(allowed) > SAMPLED_IDS:
        allowed = rng.choice(allowed, SAMPLED_IDS, replace=False)
    return sorted(set(sample.tolist()) | set(allowed.tolist()) | set(vocab.eos_token_ids))
