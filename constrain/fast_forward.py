"""Fast-forward: the tokens of text the grammar forces, safe to append without sampling.

When the grammar allows exactly one next byte, again and again (``Matcher.forced_bytes()``,
e.g. ``{"name": "`` after ``{`` in a JSON object with one required key), a decoder can append
the tokens of that text without asking the model. The tokens must be the ones the tokenizer
itself would produce, or the model sees a tokenization it never saw in training. Tokenizers
merge across the end of the forced text with whatever follows (``": "`` might become one
token with the next ``"``), so the last tokens whose bytes a longer vocabulary token could
extend past the end are left out: the model samples them, under masks, at the next step.
"""

from __future__ import annotations

import bisect
from typing import List, Optional

from ._core import Matcher
from .vocabulary import PerVocabulary, Vocabulary

# Scanning more candidate tokens than this for one boundary position is not worth it: the
# position is then assumed to be spannable (a conservative, never wrong, answer).
_MAX_CANDIDATES = 4096


class _TokenIndex:
    """The non-special tokens of a vocabulary sorted by bytes, for prefix range queries."""

    def __init__(self, vocab: Vocabulary):
        pairs = sorted((b, i) for i, b in enumerate(vocab.token_bytes) if b)
        self.token_bytes = vocab.token_bytes
        self.sorted_bytes = [b for b, _ in pairs]
        self.sorted_ids = [i for _, i in pairs]
        self.by_bytes: dict[bytes, int] = {}
        for b, i in pairs:  # the lowest id of equal byte strings wins
            self.by_bytes.setdefault(b, i)
        self.max_len = max((len(b) for b in self.sorted_bytes), default=0)

    def extensions(self, prefix: bytes) -> range:
        """Positions in ``sorted_bytes`` of the tokens that strictly extend ``prefix``."""
        lo = bisect.bisect_right(self.sorted_bytes, prefix)
        hi = bisect.bisect_left(self.sorted_bytes, prefix + b"\xff" * (self.max_len + 1), lo)
        return range(lo, hi)

    def longest_match(self, data: bytes, start: int) -> Optional[int]:
        """The id of the longest token that ``data[start:]`` begins with (None if none)."""
        for end in range(min(len(data), start + self.max_len), start, -1):
            tid = self.by_bytes.get(data[start:end])
            if tid is not None:
                return tid
        return None


#: The token index of a vocabulary, built once per vocabulary fingerprint (a few are kept).
_index = PerVocabulary(_TokenIndex, keep=4)


def forced_tokens(matcher: Matcher, vocab: Vocabulary, tokenizer=None) -> List[int]:
    """Tokens for the text the grammar forces next, safe to append without sampling.

    The forced bytes (``matcher.forced_bytes()``) are tokenized by ``tokenizer``
    (``tokenizer.encode(text, add_special_tokens=False)``, the canonical encoding of a
    byte-level BPE tokenizer) or, without one or when its tokens do not spell the text (e.g.
    a SentencePiece tokenizer adding a leading ``▁``), by longest match over ``vocab``. Then
    the tokens are cut before the first position ``s`` at which a longer vocabulary token,
    one the grammar could accept there, begins with the rest of the text ``text[s:]``: such a
    token could swallow the boundary in the canonical encoding of what is finally generated.
    Text ending inside a UTF-8 character is cut back to the character's start first.

    The returned tokens were checked one by one against a fork of ``matcher`` (the matcher
    itself is not changed). The list is empty when nothing is forced or nothing is safe.
    """
    text = matcher.forced_bytes()
    if not text:
        return []
    index = _index(vocab)
    ids = _tokenize(text, index, tokenizer)
    ends, pos = [], 0
    for t in ids:
        pos += len(vocab.token_bytes[t])
        ends.append(pos)
    cut = _safe_cut(matcher, text, index)
    keep = 0
    while keep < len(ids) and ends[keep] <= cut:
        keep += 1
    if keep == 0:
        return []
    check = matcher.fork()
    accepted = check.accept_tokens(ids[:keep])
    return [int(t) for t in ids[:accepted]]


def _tokenize(text: bytes, index: _TokenIndex, tokenizer) -> List[int]:
    """Tokens spelling a prefix of ``text`` (canonical when the tokenizer can give them)."""
    if tokenizer is not None:
        decodable = _utf8_prefix(text)
        if decodable:
            ids = [int(t) for t in tokenizer.encode(decodable.decode("utf-8"),
                                                    add_special_tokens=False)]
            if all(0 <= t < len(index.token_bytes) for t in ids) and \
                    b"".join(index.token_bytes[t] for t in ids) == decodable:
                return ids
    out, pos = [], 0
    while pos < len(text):
        tid = index.longest_match(text, pos)
        if tid is None:
            break
        out.append(tid)
        pos += len(index.token_bytes[tid])
    return out


def _utf8_prefix(data: bytes) -> bytes:
    """The longest prefix of ``data`` that decodes as UTF-8."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError as e:
        return data[:e.start]


def _safe_cut(matcher: Matcher, text: bytes, index: _TokenIndex) -> int:
    """The first position where a token the grammar allows could begin inside ``text`` and
    end past it (``len(text)`` if there is none)."""
    after = matcher.fork()
    if not after.accept_bytes(text):  # cannot happen for forced bytes; be safe anyway
        return 0
    for s in range(max(0, len(text) - index.max_len + 1), len(text)):
        rest = text[s:]
        span = index.extensions(rest)
        if len(span) > _MAX_CANDIDATES:
            return s
        for j in span:
            if after.accept_bytes(index.sorted_bytes[j][len(rest):]):
                after.rollback(1)
                return s
    return len(text)
