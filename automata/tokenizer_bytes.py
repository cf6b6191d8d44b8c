"""Exact byte strings of the tokens of a Hugging Face ``tokenizer.json``.

A language model emits token ids; what a grammar constrains is the bytes those ids decode
to. This module turns the parsed ``tokenizer.json`` (the ``tokenizers`` library format) into
one ``bytes`` object per id, reproducing what the tokenizer's own decoder does to a single
token:

* byte-level BPE (decoder ``ByteLevel``: GPT-2, Llama 3, Qwen): every character of a token
  stands for one byte through the GPT-2 "bytes to unicode" table, which is inverted here. A
  token holding a character outside that table decodes to its own UTF-8, as in ``tokenizers``.
* SentencePiece style (decoder ``Metaspace``, or a ``Sequence`` of ``Replace('▁', ' ')``,
  ``ByteFallback``, ``Fuse``, ``Strip``): ``▁`` becomes a space and a ``<0xNN>`` token is the
  single byte ``NN``. ``Strip`` after ``Fuse`` removes the space in front of the *first* token
  of a decoded text only; that is a property of whole texts, not of tokens, so it is ignored.
* no decoder at all with a BPE/Unigram/WordLevel model: tokens are their raw UTF-8 text.

Anything else (``WordPiece``, ``CTC``, ``BPEDecoder`` ...) raises :class:`VocabularyError`
naming the decoder, because guessing would make masks silently wrong.

Special added tokens (``"special": true``), the model's unknown token and ids that no token
uses (holes) get ``b""`` and are reported as special. Non-special added tokens go through
the decoder like every other token (``tokenizers`` decodes them that way): Gemma's added
``"▁▁"`` is two spaces, Qwen's ``<think>`` is the ASCII text ``<think>``.

Pure Python and numpy; ``transformers`` and ``tokenizers`` are not needed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from constrain.errors import VocabularyError

__all__ = ["TokenizerBytes", "from_tokenizer_json", "load_tokenizer_json", "named_special_tokens", "bytes_to_unicode", "piece_bytes"]


def bytes_to_unicode() -> dict[int, str]:
    """The GPT-2 byte-level table: byte value -> the printable character that stands for it.

    Printable Latin-1 bytes stand for themselves; the other 68 bytes are shifted to U+0100
    and above, in byte order.
    """
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in keep}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(0x100 + shifted)
            shifted += 1
    return table


def _byte_level_table() -> dict[int, int | str]:
    """A ``str.translate`` table: byte-level character -> the Latin-1 character of its byte.

    Latin-1 characters that are *not* byte-level characters (space, control characters,
    U+00AD) are sent to U+0100, which is not Latin-1, so that ``encode('latin-1')`` fails on
    any token that is not pure byte-level and the caller falls back to per-token handling.
    """
    table: dict[int, int | str] = {ord(ch): b for b, ch in bytes_to_unicode().items()}
    for cp in range(256):
        table.setdefault(cp, "\u0100")
    return table


_BYTE_LEVEL = _byte_level_table()
_MERGES = re.compile(r'"merges"\s*:\s*\[')
_MERGES_END = re.compile(r"\]\s*\}\s*\}\s*$")
_BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")

# Special-token fields of tokenizer_config.json; their tokens are never text.
_NAMED_SPECIALS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")


@dataclass
class TokenizerBytes:
    """The byte view of one tokenizer.

    Attributes:
        token_bytes: the bytes of every id ``0 .. size - 1`` (``b""`` for special ids).
        special_ids: sorted ids that grammar text can never produce: special added tokens,
            the model's unknown token, holes in the id range.
        special_token_text: id -> text of the special tokens that have one (``"<s>"``).
        kind: ``"byte_level"``, ``"sentencepiece"`` or ``"raw"``.
    """

    token_bytes: list[bytes]
    special_ids: list[int]
    special_token_text: dict[int, str]
    kind: str
    _ids: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        """Number of ids the tokenizer uses (highest id + 1)."""
        return len(self.token_bytes)

    def token_id(self, content: str) -> int | None:
        """The id of the token whose text (as written in ``tokenizer.json``) is ``content``."""
        return self._ids.get(content)


def load_tokenizer_json(text: str | bytes) -> dict:
    """Parse ``tokenizer.json`` text, skipping the BPE merges, which token bytes do not need.

    ``tokenizers`` writes ``"merges"`` as the last key of ``"model"``, itself the last key of
    the file. Cutting that array out before parsing saves most of the time on big files
    (Gemma 3: 1.2 s -> 0.2 s). Any other layout is parsed whole.

    Raises:
        VocabularyError: the text is not valid JSON.
    """
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    start = _MERGES.search(text)
    tail = _MERGES_END.search(text, max(0, len(text) - 256))
    if start and tail and start.end() <= tail.start():
        try:
            data = json.loads(text[: start.end()] + text[tail.start():])
        except ValueError:
            data = None
        model = data.get("model") if isinstance(data, dict) else None
        if isinstance(model, dict) and "vocab" in model and model.get("merges") == []:
            return data
    try:
        return json.loads(text)
    except ValueError as e:
        raise VocabularyError(f"tokenizer.json is not valid JSON: {e}") from None


def from_tokenizer_json(tokenizer: dict | str | bytes) -> TokenizerBytes:
    """Compute the bytes of every token of a ``tokenizer.json`` (parsed dict, or its text).

    Raises:
        VocabularyError: an unsupported model or decoder, or a malformed file.
    """
    if isinstance(tokenizer, (str, bytes, bytearray)):
        tokenizer = load_tokenizer_json(tokenizer)
    if not isinstance(tokenizer, dict) or not isinstance(tokenizer.get("model"), dict):
        raise VocabularyError("tokenizer.json has no 'model' object")
    model = tokenizer["model"]
    steps, kind = _decoder_steps(tokenizer.get("decoder"), model.get("type"))

    ids = _model_vocab(model)
    added = tokenizer.get("added_tokens") or []
    size = max([*ids.values(), *(int(a["id"]) for a in added)], default=-1) + 1
    pieces: list[str | None] = [None] * size
    for piece, i in ids.items():
        pieces[i] = piece

    special: set[int] = set()
    special_text: dict[int, str] = {}
    for a in added:
        i, content = int(a["id"]), a["content"]
        # The same id may be both in the model vocabulary and an added token; the added
        # token is what decoding looks up first, so it wins.
        pieces[i] = content
        ids[content] = i
        if a.get("special"):
            special.add(i)
            special_text[i] = content
    unk = model.get("unk_token")
    if isinstance(unk, str) and unk in ids:
        special.add(ids[unk])
        special_text.setdefault(ids[unk], unk)
    elif isinstance(model.get("unk_id"), int) and model["unk_id"] < size:  # Unigram
        special.add(model["unk_id"])
        special_text.setdefault(model["unk_id"], pieces[model["unk_id"]] or "")
    special.update(i for i, p in enumerate(pieces) if p is None)

    texts = ["" if i in special else p for i, p in enumerate(pieces)]
    token_bytes = _decode_pieces(texts, steps)
    return TokenizerBytes(token_bytes, sorted(special), special_text, kind, ids)


def named_special_tokens(tokenizer_config: dict) -> list[str]:
    """The token texts that ``tokenizer_config.json`` names as special (bos, eos, pad, ...)."""
    names: list = [tokenizer_config.get(k) for k in _NAMED_SPECIALS]
    names += list(tokenizer_config.get("additional_special_tokens") or [])
    extra = tokenizer_config.get("extra_special_tokens") or []
    names += list(extra.values()) if isinstance(extra, dict) else list(extra)
    out = []
    for n in names:
        if isinstance(n, dict):
            n = n.get("content")
        if isinstance(n, str) and n:
            out.append(n)
    return out


def piece_bytes(piece: str, kind: str) -> bytes:
    """Bytes of one token text under the rules of ``kind`` (for tokenizers without a JSON).

    ``"sentencepiece"``: ``▁`` is a space, ``<0xNN>`` is that byte; ``"byte_level"``: the
    inverse GPT-2 table; ``"raw"``: UTF-8.
    """
    steps = {"sentencepiece": [("replace", "\u2581", " "), ("byte_fallback",)],
             "byte_level": [("byte_level",)], "raw": []}[kind]
    return _decode_pieces([piece], steps)[0]


def _model_vocab(model: dict) -> dict[str, int]:
    """token text -> id for the model part of tokenizer.json."""
    mtype = model.get("type")
    vocab = model.get("vocab")
    if mtype == "Unigram" and isinstance(vocab, list):
        return {entry[0]: i for i, entry in enumerate(vocab)}
    if isinstance(vocab, dict):
        return dict(vocab)
    raise VocabularyError(f"unsupported tokenizer model type {mtype!r} (no vocabulary found)")


def _decoder_steps(decoder: dict | None, model_type: str | None) -> tuple[list[tuple], str]:
    """Translate the decoder into per-token steps and a family name."""
    if decoder is None:
        if model_type in ("BPE", "Unigram", "WordLevel"):
            return [], "raw"
        raise VocabularyError(f"tokenizer model {model_type!r} without a decoder is not supported")
    decoders = decoder.get("decoders", []) if decoder.get("type") == "Sequence" else [decoder]
    steps: list[tuple] = []
    kind = "raw"
    fused = False
    for d in decoders:
        t = d.get("type")
        if t == "ByteLevel":
            steps.append(("byte_level",))
            kind = "byte_level"
        elif t == "Metaspace":
            steps.append(("replace", d.get("replacement", "\u2581"), " "))
            kind = "sentencepiece"
        elif t == "Replace":
            pattern = d.get("pattern", {})
            if "String" not in pattern:
                raise VocabularyError(f"unsupported decoder Replace with pattern {pattern!r}")
            steps.append(("replace", pattern["String"], d.get("content", "")))
            if pattern["String"] == "\u2581":
                kind = "sentencepiece"
        elif t == "ByteFallback":
            steps.append(("byte_fallback",))
            kind = "sentencepiece"
        elif t == "Fuse":
            fused = True
        elif t == "Strip":
            # Before Fuse, Strip works on every token; after it, only on the text's ends.
            if not fused:
                steps.append(("strip", d.get("content", " "), d.get("start", 0), d.get("stop", 0)))
        else:
            raise VocabularyError(
                f"unsupported tokenizer decoder {t!r}: cannot tell the bytes of its tokens "
                "(supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)")
    return steps, kind


def _decode_pieces(texts: list[str], steps: list[tuple]) -> list[bytes]:
    """Apply the decoder steps to every token text; each ends as bytes."""
    items: list = texts
    for step in steps:
        op = step[0]
        if op == "replace":
            a, b = step[1], step[2]
            items = [t.replace(a, b) if type(t) is str else t for t in items]
        elif op == "byte_fallback":
            items = [_byte_fallback(t) if type(t) is str and t.startswith("<0x") else t for t in items]
        elif op == "strip":
            items = [_strip(t, *step[1:]) if type(t) is str else t for t in items]
        elif op == "byte_level":
            items = _byte_level(items)
    return [t.encode("utf-8") if type(t) is str else t for t in items]


def _byte_fallback(t: str) -> str | bytes:
    m = _BYTE_FALLBACK.fullmatch(t)
    return bytes([int(m.group(1), 16)]) if m else t


def _strip(t: str, content: str, start: int, stop: int) -> str:
    lo = 0
    while lo < min(start, len(t)) and t[lo] == content:
        lo += 1
    hi = len(t)
    while len(t) - hi < stop and hi > lo and t[hi - 1] == content:
        hi -= 1
    return t[lo:hi]


def _byte_level(items: list) -> list:
    """Invert the GPT-2 byte table on every str item.

    The common case (every token made of table characters) is done on one joined string:
    translate, encode as Latin-1, cut at the token boundaries. One char is one byte, so the
    boundaries are the running sum of the token lengths.
    """
    if all(type(t) is str for t in items):
        try:
            data = "".join(items).translate(_BYTE_LEVEL).encode("latin-1")
        except UnicodeEncodeError:
            pass
        else:
            out = []
            pos = 0
            for t in items:
                end = pos + len(t)
                out.append(data[pos:end])
                pos = end
            return out
    return [_byte_level_one(t) if type(t) is str else t for t in items]


def _byte_level_one(t: str) -> bytes:
    try:
        return t.translate(_BYTE_LEVEL).encode("latin-1")
    except UnicodeEncodeError:
        # Like tokenizers: a token with a character outside the table is its own UTF-8.
        return t.encode("utf-8")
