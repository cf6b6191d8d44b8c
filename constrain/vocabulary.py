"""`Vocabulary`: what every token id of a model means as bytes, and which ids are special."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from constrain import cache as _cache
from constrain.automata import tokenizer_bytes as _tb
from constrain.errors import VocabularyError

__all__ = ["Vocabulary", "PerVocabulary"]


class PerVocabulary:
    """A small thread-safe cache of data derived from a vocabulary, keyed by its fingerprint
    (equal vocabularies share one entry); the least recently built entries are dropped first."""

    def __init__(self, make, keep: int):
        self._make = make
        self._keep = keep
        self._entries: "OrderedDict[str, object]" = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, vocab: "Vocabulary"):
        with self._lock:
            hit = self._entries.get(vocab.fingerprint)
            if hit is None:
                hit = self._entries[vocab.fingerprint] = self._make(vocab)
                while len(self._entries) > self._keep:
                    self._entries.popitem(last=False)
            return hit

    def forget(self, vocab: "Vocabulary") -> None:
        """Drop the entry of ``vocab`` (e.g. to time building it again)."""
        with self._lock:
            self._entries.pop(vocab.fingerprint, None)


class Vocabulary:
    """The byte string of every token id of a model, its special ids and its EOS ids.

    Build one with :meth:`from_tokenizer` (a ``transformers`` tokenizer),
    :meth:`from_pretrained` (a directory with ``tokenizer.json``) or :meth:`from_token_bytes`
    (any list of byte strings). A vocabulary is immutable and cheap to share.

    Bytes rules (see ``docs/VOCABULARY.md``):

    * byte-level BPE tokens (Llama 3, Qwen, GPT-2) map through the inverse GPT-2 byte table;
    * SentencePiece tokens (Llama 2, Gemma) map ``▁`` to a space and ``<0xNN>`` to byte NN.
      A token's bytes are what it contributes to the output, so Llama 2's ``▁Hello`` is
      ``b" Hello"``. Tokenizers whose normalizer or pre-tokenizer *prepends* ``▁`` (Llama 2)
      therefore encode the text ``"Hi"`` into tokens whose bytes are ``b" Hi"``; the decoder
      strips that first space again when it turns a whole sequence into text. Grammars see the
      token bytes, leading space included.
    * special tokens (BOS, chat markers, the unknown token), ids no token uses, padding ids
      beyond the tokenizer (``vocab_size`` larger than the tokenizer) and EOS ids are
      *special*: their bytes are ``b""`` and grammars never produce them as text.
    """

    def __init__(self, data: np.ndarray, offsets: np.ndarray, special_ids: np.ndarray,
                 eos_token_ids: Sequence[int], special_token_text: dict[int, str],
                 fingerprint: str | None = None, token_bytes: list[bytes] | None = None):
        """Internal: use the ``from_*`` constructors, which validate their input."""
        self._data = _readonly(np.asarray(data, dtype=np.uint8))
        self._offsets = _readonly(np.asarray(offsets, dtype=np.int64))
        self._special_ids = _readonly(np.asarray(special_ids, dtype=np.int32))
        self._eos = tuple(int(e) for e in eos_token_ids)
        self._special_text = dict(special_token_text)
        self._token_bytes = token_bytes
        self._by_bytes: dict[bytes, int] | None = None
        self._fingerprint = fingerprint or self._compute_fingerprint()

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_token_bytes(cls, token_bytes: Sequence[bytes], *, eos_token_ids: Iterable[int],
                         special_ids: Iterable[int] = (),
                         special_token_text: dict[int, str] | None = None,
                         vocab_size: int | None = None) -> "Vocabulary":
        """A vocabulary from explicit byte strings (raw vocabularies, tests).

        Args:
            token_bytes: the bytes of ids ``0 .. len - 1``.
            eos_token_ids: the end-of-sequence ids (may be empty).
            special_ids: ids grammar text can never produce; their bytes become ``b""``.
            special_token_text: optional display text of special ids.
            vocab_size: the model's logits width; ids from ``len(token_bytes)`` on are padding.

        Raises:
            VocabularyError: non-bytes entries, ids out of range, ``vocab_size`` too small.
        """
        token_bytes = list(token_bytes)
        for i, b in enumerate(token_bytes):
            if not isinstance(b, bytes):
                raise VocabularyError(f"token {i} is {type(b).__name__}, expected bytes")
        return _build(token_bytes, special=special_ids, special_text=special_token_text or {},
                      eos=eos_token_ids, vocab_size=vocab_size)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, vocab_size: int | None = None,
                        eos_token_ids: Iterable[int] | None = None,
                        cache: bool = True) -> "Vocabulary":
        """A vocabulary from a tokenizer directory, without ``transformers``.

        Reads ``tokenizer.json`` (required), ``tokenizer_config.json``, and if present
        ``generation_config.json`` and ``config.json``. Special ids: special added tokens,
        the tokens ``tokenizer_config.json`` names (bos/eos/unk/pad/..., additional and extra
        special tokens), the unknown token. EOS ids: the union of ``eos_token`` of
        ``tokenizer_config.json`` and ``eos_token_id`` of the two config files, unless
        ``eos_token_ids`` is given.

        Args:
            path: the directory.
            vocab_size: the model's logits width if it is wider than the tokenizer.
            eos_token_ids: explicit EOS ids, replacing those found in the files.
            cache: use the disk cache (see :mod:`constrain.cache`), keyed by the content of
                the files, the arguments and the library version.

        Raises:
            VocabularyError: no ``tokenizer.json``, an unsupported tokenizer, a
                ``vocab_size`` smaller than the tokenizer.
        """
        path = Path(path)
        tokenizer_json = _read(path / "tokenizer.json")
        if tokenizer_json is None:
            raise VocabularyError(f"no tokenizer.json in {str(path)!r}")
        config_texts = [_read(path / name) or b"" for name in
                        ("tokenizer_config.json", "generation_config.json", "config.json")]
        eos_arg = None if eos_token_ids is None else [int(e) for e in eos_token_ids]
        key = _cache.cache_key("pretrained", tokenizer_json, *config_texts, repr(vocab_size), repr(eos_arg))
        tokenizer_config = _json_or_empty(config_texts[0], "tokenizer_config.json")
        if eos_arg is not None:
            eos_names, eos = [], eos_arg
        else:
            eos_names, eos = [tokenizer_config.get("eos_token")], _config_eos(config_texts[1:])
        return _cached(key, cache, lambda: _from_json(
            tokenizer_json, tokenizer_config, eos_names=eos_names, eos=eos, vocab_size=vocab_size))

    @classmethod
    def from_tokenizer(cls, hf_tokenizer, *, vocab_size: int | None = None,
                       eos_token_ids: Iterable[int] | None = None,
                       cache: bool = True) -> "Vocabulary":
        """A vocabulary from a ``transformers`` tokenizer.

        Fast tokenizers go through their ``tokenizer.json`` (``backend_tokenizer.to_str()``),
        exactly like :meth:`from_pretrained`. Tokenizers without a backend are read token by
        token with ``convert_ids_to_tokens``: byte-level rules if they have a ``byte_decoder``,
        SentencePiece rules (``▁``, ``<0xNN>``) otherwise; those are not cached.
        ``hf_tokenizer.all_special_ids`` are special. EOS ids: ``hf_tokenizer.eos_token_id``
        plus ``eos_token_id`` of ``generation_config.json`` / ``config.json`` when
        ``hf_tokenizer.name_or_path`` is a local directory holding them, unless
        ``eos_token_ids`` is given.

        Raises:
            VocabularyError: an unsupported tokenizer, a ``vocab_size`` smaller than it.
        """
        special = sorted({int(i) for i in (getattr(hf_tokenizer, "all_special_ids", None) or [])})
        if eos_token_ids is not None:
            eos = [int(e) for e in eos_token_ids]
        else:
            first = getattr(hf_tokenizer, "eos_token_id", None)
            eos = [first] if isinstance(first, int) else []
            directory = _local_dir(hf_tokenizer)
            if directory is not None:
                eos = _unique(eos + _config_eos(_read(directory / name) or b""
                                                for name in ("generation_config.json", "config.json")))
        backend = getattr(hf_tokenizer, "backend_tokenizer", None)
        if backend is None:
            return _from_slow_tokenizer(hf_tokenizer, special, eos, vocab_size)
        text = backend.to_str()
        key = _cache.cache_key("tokenizer", text, repr(special), repr(eos), repr(vocab_size))
        return _cached(key, cache, lambda: _from_json(
            text, {}, eos_names=[], eos=eos, vocab_size=vocab_size, extra_special=special))

    # ----------------------------------------------------------------- the contract

    @property
    def token_bytes(self) -> list[bytes]:
        """The bytes of every id, ``len == vocab_size``; ``b""`` for special ids. Do not mutate."""
        if self._token_bytes is None:
            raw = self._data.tobytes()
            bounds = self._offsets.tolist()
            self._token_bytes = [raw[a:b] for a, b in zip(bounds, bounds[1:])]
        return self._token_bytes

    @property
    def special_ids(self) -> np.ndarray:
        """Sorted int32 ids that grammar text never produces (specials, padding, empty tokens, EOS)."""
        return self._special_ids

    @property
    def special_token_text(self) -> dict[int, str]:
        """id -> text of the special tokens that have one (``{128000: "<|begin_of_text|>"}``)."""
        return dict(self._special_text)

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        """The end-of-sequence ids, the tokenizer's own first."""
        return self._eos

    @property
    def vocab_size(self) -> int:
        """The number of ids (the logits width), padding included."""
        return len(self._offsets) - 1

    @property
    def fingerprint(self) -> str:
        """A sha256 hex digest of the token bytes, special ids, EOS ids and vocab size."""
        return self._fingerprint

    def blob(self) -> tuple[np.ndarray, np.ndarray]:
        """All token bytes concatenated (uint8) and the int64 offsets (``vocab_size + 1``).

        Token ``i`` is ``data[offsets[i]:offsets[i + 1]]``. Both arrays are read-only.
        """
        return self._data, self._offsets

    def __len__(self) -> int:
        """The vocabulary size."""
        return self.vocab_size

    def token_id(self, token: str | bytes) -> int | None:
        """The lowest non-special id whose bytes are ``token`` (str is UTF-8 encoded), or None."""
        if self._by_bytes is None:
            special = set(self._special_ids.tolist())
            by_bytes: dict[bytes, int] = {}
            for i, b in enumerate(self.token_bytes):
                if i not in special:
                    by_bytes.setdefault(b, i)
            self._by_bytes = by_bytes
        return self._by_bytes.get(token.encode("utf-8") if isinstance(token, str) else bytes(token))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other._fingerprint == self._fingerprint

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __repr__(self) -> str:
        return (f"Vocabulary(vocab_size={self.vocab_size}, special={len(self._special_ids)}, "
                f"eos_token_ids={self._eos}, fingerprint={self._fingerprint[:12]})")

    # ----------------------------------------------------------------- internals

    def _compute_fingerprint(self) -> str:
        h = hashlib.sha256(b"constrain.Vocabulary v1")
        for arr in (np.array([self.vocab_size], np.int64), self._offsets, self._data,
                    self._special_ids, np.array(self._eos, np.int64)):
            h.update(len(arr).to_bytes(8, "little"))
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def _to_arrays(self) -> dict[str, np.ndarray]:
        ids = sorted(self._special_text)
        texts = [self._special_text[i].encode("utf-8") for i in ids]
        text_offsets = np.zeros(len(texts) + 1, np.int64)
        np.cumsum([len(t) for t in texts], out=text_offsets[1:])
        return {"data": self._data, "offsets": self._offsets, "special_ids": self._special_ids,
                "eos": np.array(self._eos, np.int64), "text_ids": np.array(ids, np.int64),
                "text_data": np.frombuffer(b"".join(texts), np.uint8),
                "text_offsets": text_offsets,
                "fingerprint": np.frombuffer(self._fingerprint.encode("ascii"), np.uint8)}

    @classmethod
    def _from_arrays(cls, a: dict[str, np.ndarray]) -> "Vocabulary | None":
        """Rebuild from :meth:`_to_arrays`; None if the arrays are inconsistent."""
        try:
            offsets, data = a["offsets"], a["data"]
            if offsets.ndim != 1 or len(offsets) < 1 or offsets[-1] != len(data) or offsets[0] != 0:
                return None
            raw = a["text_data"].tobytes()
            bounds = a["text_offsets"].tolist()
            text = {int(i): raw[s:e].decode("utf-8")
                    for i, s, e in zip(a["text_ids"].tolist(), bounds, bounds[1:])}
            return cls(data, offsets, a["special_ids"], a["eos"].tolist(), text,
                       fingerprint=a["fingerprint"].tobytes().decode("ascii"))
        except (KeyError, ValueError, AttributeError, UnicodeDecodeError):
            return None


def _build(token_bytes: list[bytes], *, special: Iterable[int], special_text: dict[int, str],
           eos: Iterable[int], vocab_size: int | None) -> Vocabulary:
    """Validate and assemble a Vocabulary (special ids get ``b""``, padding appended)."""
    n = len(token_bytes)
    size = n if vocab_size is None else int(vocab_size)
    if size < n:
        raise VocabularyError(f"vocab_size {size} is smaller than the tokenizer, whose highest "
                              f"token id is {n - 1} (pass vocab_size >= {n})")
    eos = _unique(int(e) for e in eos)
    special = {int(s) for s in special}
    for what, ids in (("EOS", eos), ("special", special)):
        bad = [i for i in ids if not 0 <= i < size]
        if bad:
            raise VocabularyError(f"{what} token id {bad[0]} is outside the vocabulary (size {size})")
    lengths = np.fromiter(map(len, token_bytes), np.int64, n)
    marked = np.array(sorted(special.union(eos)), np.int64)
    nonempty = marked[marked < n]
    nonempty = nonempty[lengths[nonempty] > 0]
    if len(nonempty):
        token_bytes = list(token_bytes)
        for i in nonempty.tolist():
            token_bytes[i] = b""
        lengths[nonempty] = 0
    all_special = np.union1d(marked, np.flatnonzero(lengths == 0))
    all_special = np.union1d(all_special, np.arange(n, size)).astype(np.int32)
    token_bytes = token_bytes + [b""] * (size - n)
    offsets = np.zeros(size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:n + 1])
    offsets[n + 1:] = offsets[n]
    data = np.frombuffer(b"".join(token_bytes), np.uint8)
    text = {int(i): t for i, t in special_text.items() if 0 <= int(i) < size}
    return Vocabulary(data, offsets, all_special, eos, text, token_bytes=token_bytes)


def _from_json(tokenizer_json: str | bytes, tokenizer_config: dict, *, eos_names: list,
               eos: list[int], vocab_size: int | None,
               extra_special: Iterable[int] = ()) -> Vocabulary:
    """Build from tokenizer.json text; EOS ids are those of ``eos_names`` then ``eos``."""
    tok = _tb.from_tokenizer_json(_tb.load_tokenizer_json(tokenizer_json))
    special = set(tok.special_ids).union(extra_special)
    named = [tok.token_id(name) for name in _tb.named_special_tokens(tokenizer_config)]
    special.update(i for i in named if i is not None)
    named_eos = []
    for name in eos_names:
        if isinstance(name, dict):
            name = name.get("content")
        if isinstance(name, str) and tok.token_id(name) is not None:
            named_eos.append(tok.token_id(name))
    eos = _unique(named_eos + list(eos))
    if not eos:
        warnings.warn("no end-of-sequence token found; pass eos_token_ids=...", stacklevel=3)
    return _build(tok.token_bytes, special=special, special_text=tok.special_token_text,
                  eos=eos, vocab_size=vocab_size)


def _from_slow_tokenizer(hf_tokenizer, special: list[int], eos: list[int],
                         vocab_size: int | None) -> Vocabulary:
    """Tokenizers without a ``tokenizers`` backend: read every token's text."""
    kind = "byte_level" if hasattr(hf_tokenizer, "byte_decoder") else "sentencepiece"
    n = len(hf_tokenizer)
    pieces = hf_tokenizer.convert_ids_to_tokens(list(range(n)))
    holes = [i for i, p in enumerate(pieces) if p is None]
    special_set = set(special).union(holes)
    token_bytes = [b"" if i in special_set else _tb.piece_bytes(p, kind) for i, p in enumerate(pieces)]
    text = {i: pieces[i] for i in special_set if i < n and pieces[i]}
    return _build(token_bytes, special=special_set, special_text=text, eos=eos, vocab_size=vocab_size)


def _cached(key: str, use_cache: bool, build) -> Vocabulary:
    """Load the vocabulary ``key`` from the disk cache, or build and store it."""
    path = _cache.cache_path("vocab", key) if use_cache else None
    if path is not None:
        arrays = _cache.load_arrays(path)
        if arrays is not None:
            vocab = Vocabulary._from_arrays(arrays)
            if vocab is not None:
                return vocab
    vocab = build()
    if path is not None:
        _cache.save_arrays(path, **vocab._to_arrays())
    return vocab


def _config_eos(texts: Iterable[bytes]) -> list[int]:
    """``eos_token_id`` (int or list) of generation_config.json / config.json texts."""
    out: list[int] = []
    for text in texts:
        config = _json_or_empty(text, "config")
        for scope in (config, config.get("text_config") or {}):
            value = scope.get("eos_token_id") if isinstance(scope, dict) else None
            values = value if isinstance(value, list) else [value]
            out += [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return _unique(out)


def _json_or_empty(text: bytes, name: str) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise VocabularyError(f"{name} is not valid JSON: {e}") from None
    return value if isinstance(value, dict) else {}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _local_dir(hf_tokenizer) -> Path | None:
    name = getattr(hf_tokenizer, "name_or_path", None)
    return Path(name) if isinstance(name, str) and name and Path(name).is_dir() else None


def _unique(values: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.copy() if not a.flags.owndata else a
        a.setflags(write=False)
    return a
