"""Tests of token bytes (automata/tokenizer_bytes.py), Vocabulary and the disk cache."""

from __future__ import annotations

import json
import shutil
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constrain import cache
from constrain.automata import tokenizer_bytes as tb
from constrain.errors import VocabularyError
from constrain.vocabulary import Vocabulary

TOKENIZERS = ("llama2-32k", "llama3-128k", "qwen3-152k", "gemma3-262k")

TEXTS = [
    "",
    "hello world",
    "Hello, World! How are you?",
    "  two leading spaces",
    "trailing spaces   ",
    "tabs\tand\nnewlines\r\nand\n\n\nblank lines",
    " \t \n mixed whitespace \t\t\n",
    "café naïve résumé Ångström",
    "e\u0301 combining accent, Ünïcödé",
    "日本語のテキストです。",
    "中文，标点。한국어 텍스트",
    "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷",
    "def f(x):\n    return x ** 2  # square\n",
    '{"key": [1, 2.5e-3, null, true], "s": "a\\"b"}',
    "<html><body class='x'>&amp;</body></html>",
    "mixed: α+β=γ; ∑ ∫ — “quotes” ‘single’ …",
    "\u00a0no-break\u2028line separator\ufeffbom",
    "zero\u200bwidth space",
    "a" * 200,
    " " * 33,
    "\n" * 9,
    "12345678901234567890 3.14159",
    "▁ the SentencePiece marker itself",
    "<0x0A> looks like a byte token",
    "<think>not special in qwen</think>",
]


def _flat(component, key):
    if component is None:
        return []
    if component.get("type") == "Sequence":
        return [c for sub in component.get(key, []) for c in _flat(sub, key)]
    return [component]


def expected_bytes(text: str, backend: dict) -> bytes:
    """The bytes the tokens of ``text`` must concatenate to, read off the tokenizer's JSON.

    Unicode normalizers apply; SentencePiece decoders turn a literal ``▁`` into a space; and a
    ``Prepend('▁')`` normalizer or a ``Metaspace`` pre-tokenizer with ``prepend_scheme``
    always/first adds a leading space (Metaspace only if the text does not start with one).
    """
    normalizers = _flat(backend.get("normalizer"), "normalizers")
    pre_tokenizers = _flat(backend.get("pre_tokenizer"), "pretokenizers")
    decoders = _flat(backend.get("decoder"), "decoders")
    for n in normalizers:
        if n["type"] in ("NFC", "NFD", "NFKC", "NFKD"):
            text = unicodedata.normalize(n["type"], text)
    if any(d["type"] == "Metaspace" or (d["type"] == "Replace" and d["pattern"].get("String") == "▁")
           for d in decoders):
        text = text.replace("▁", " ")
    if text and any(n["type"] == "Prepend" and n["prepend"] == "▁" for n in normalizers):
        text = " " + text
    if text and not text.startswith(" ") and any(
            p["type"] == "Metaspace" and p.get("prepend_scheme") in ("always", "first")
            for p in pre_tokenizers):
        text = " " + text
    return text.encode("utf-8")


@pytest.fixture(scope="session")
def backend_json(load_hf_tokenizer):
    cache_ = {}

    def get(name):
        if name not in cache_:
            cache_[name] = json.loads(load_hf_tokenizer(name).backend_tokenizer.to_str())
        return cache_[name]
    return get


def _check_round_trip(name, text, load_vocab, load_hf_tokenizer, backend_json):
    vocab = load_vocab(name)
    tok = load_hf_tokenizer(name)
    ids = tok.encode(text, add_special_tokens=False)
    got = b"".join(vocab.token_bytes[i] for i in ids)
    assert got == expected_bytes(text, backend_json(name)), (name, text, ids)


# ---------------------------------------------------------------- real tokenizers

@pytest.mark.parametrize("name", TOKENIZERS)
def test_encoded_texts_concatenate_to_their_bytes(name, load_vocab, load_hf_tokenizer, backend_json):
    for text in TEXTS:
        _check_round_trip(name, text, load_vocab, load_hf_tokenizer, backend_json)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_random_unicode_texts_round_trip(name, load_vocab, load_hf_tokenizer, backend_json):
    specials = list(load_vocab(name).special_token_text.values())

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(max_size=40))
    def check(text):
        if any(s and s in text for s in specials):
            return
        _check_round_trip(name, text, load_vocab, load_hf_tokenizer, backend_json)

    check()


def test_leading_space_rule_is_read_from_the_tokenizer(backend_json, load_hf_tokenizer, load_vocab):
    # Llama 2 prepends "▁"; Gemma 3 does not.
    assert expected_bytes("Hi", backend_json("llama2-32k")) == b" Hi"
    assert expected_bytes("Hi", backend_json("gemma3-262k")) == b"Hi"
    ids = load_hf_tokenizer("llama2-32k").encode("Hi", add_special_tokens=False)
    assert load_vocab("llama2-32k").token_bytes[ids[0]].startswith(b" ")


@pytest.mark.parametrize("name, special", [
    ("llama2-32k", {0: "<unk>", 1: "<s>", 2: "</s>"}),
    ("llama3-128k", {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128255: "<|reserved_special_token_250|>"}),
    ("qwen3-152k", {151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"}),
    ("gemma3-262k", {0: "<pad>", 2: "<bos>", 106: "<end_of_turn>", 262144: "<image_soft_token>"}),
])
def test_special_tokens_have_no_bytes(name, special, load_vocab):
    vocab = load_vocab(name)
    ids = set(vocab.special_ids.tolist())
    for i, text in special.items():
        assert i in ids and vocab.token_bytes[i] == b"" and vocab.special_token_text[i] == text
    assert vocab.special_ids.dtype == np.int32
    assert np.all(np.diff(vocab.special_ids) > 0)
    # every special id is empty, every empty id is special
    empty = {i for i, b in enumerate(vocab.token_bytes) if not b}
    assert empty == ids


@pytest.mark.parametrize("name, eos, size", [
    ("llama2-32k", (2,), 32000),
    ("llama3-128k", (128001,), 128256),
    ("qwen3-152k", (151645,), 151669),
    ("gemma3-262k", (106,), 262145),
])
def test_eos_and_size_from_the_config(name, eos, size, load_vocab):
    vocab = load_vocab(name)
    assert vocab.eos_token_ids == eos
    assert vocab.vocab_size == len(vocab) == len(vocab.token_bytes) == size


def test_non_special_added_tokens_decode_like_tokenizers(load_vocab):
    qwen = load_vocab("qwen3-152k")
    assert qwen.token_bytes[151667] == b"<think>" and 151667 not in qwen.special_ids
    gemma = load_vocab("gemma3-262k")
    assert gemma.token_bytes[138] == b"  "  # added token "▁▁"
    assert gemma.token_bytes[107] == b"\n"
    unused = gemma.token_id("<unused0>")
    assert unused is not None and unused not in gemma.special_ids


def test_generation_config_adds_eos(tmp_path, tokenizer_dir, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE", "0")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir("qwen3-152k") / f, tmp_path / f)
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [151645, 151643]}))
    (tmp_path / "config.json").write_text(json.dumps({"eos_token_id": 151643}))
    vocab = Vocabulary.from_pretrained(tmp_path)
    assert vocab.eos_token_ids == (151645, 151643)
    assert Vocabulary.from_pretrained(tmp_path, eos_token_ids=[151643]).eos_token_ids == (151643,)


def test_padded_vocab_size(tokenizer_dir, load_vocab):
    base = load_vocab("llama3-128k")
    vocab = Vocabulary.from_pretrained(tokenizer_dir("llama3-128k"), vocab_size=128256 + 64, cache=False)
    assert len(vocab) == 128320 and vocab.token_bytes[:128256] == base.token_bytes
    assert set(range(128256, 128320)) <= set(vocab.special_ids.tolist())
    data, offsets = vocab.blob()
    assert len(offsets) == 128321 and offsets[-1] == len(data) == base.blob()[0].size
    assert vocab.fingerprint != base.fingerprint


def test_too_small_vocab_size_raises(tokenizer_dir):
    with pytest.raises(VocabularyError, match="smaller than the tokenizer"):
        Vocabulary.from_pretrained(tokenizer_dir("qwen3-152k"), vocab_size=151000, cache=False)


@pytest.mark.parametrize("name", ["llama2-32k", "gemma3-262k"])
def test_byte_fallback_tokens(name, load_vocab, load_hf_tokenizer):
    vocab, tok = load_vocab(name), load_hf_tokenizer(name)
    for byte in (0x0A, 0x00, 0x41, 0xE2, 0xFF):
        assert vocab.token_bytes[tok.convert_tokens_to_ids(f"<0x{byte:02X}>")] == bytes([byte])


def test_byte_level_tokens(load_vocab, load_hf_tokenizer):
    vocab, tok = load_vocab("llama3-128k"), load_hf_tokenizer("llama3-128k")
    assert vocab.token_bytes[tok.convert_tokens_to_ids("Ġworld")] == b" world"
    assert vocab.token_bytes[tok.convert_tokens_to_ids("Ċ")] == b"\n"
    # all 256 single bytes exist as tokens
    assert all(vocab.token_id(bytes([b])) is not None for b in range(256))


@pytest.mark.parametrize("name", TOKENIZERS)
def test_from_tokenizer_agrees_with_from_pretrained(name, load_vocab, load_hf_tokenizer):
    a = load_vocab(name)
    b = Vocabulary.from_tokenizer(load_hf_tokenizer(name), cache=False)
    assert a.token_bytes == b.token_bytes or name == "gemma3-262k"
    assert a.eos_token_ids == b.eos_token_ids
    if name == "gemma3-262k":
        # transformers' GemmaTokenizer has mask_token="<mask>" as a class default; the
        # files do not call id 4 special, so only from_tokenizer marks it.
        extra = set(b.special_ids.tolist()) - set(a.special_ids.tolist())
        assert extra == {4} and a.token_bytes[4] == b"<mask>"
        assert all(x == y for i, (x, y) in enumerate(zip(a.token_bytes, b.token_bytes)) if i != 4)
    else:
        assert a.fingerprint == b.fingerprint


# ---------------------------------------------------------------- disk cache

def test_disk_cache_round_trip_and_corruption(tmp_path, monkeypatch, tokenizer_dir):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CONSTRAIN_CACHE", raising=False)
    path = tokenizer_dir("llama2-32k")
    cold = Vocabulary.from_pretrained(path)
    files = list((tmp_path / "vocab").glob("*.npz"))
    assert len(files) == 1
    warm = Vocabulary.from_pretrained(path)
    assert warm.fingerprint == cold.fingerprint and warm._token_bytes is None  # came from disk
    assert warm.token_bytes == cold.token_bytes
    assert warm.special_token_text == cold.special_token_text
    assert warm.eos_token_ids == cold.eos_token_ids
    assert np.array_equal(warm.special_ids, cold.special_ids)

    for garbage in (b"not a zip file", files[0].read_bytes()[:1000], b""):
        files[0].write_bytes(garbage)
        again = Vocabulary.from_pretrained(path)
        assert again.fingerprint == cold.fingerprint
        assert cache.load_arrays(files[0]) is not None  # rebuilt and rewritten
    # a different argument is a different entry
    Vocabulary.from_pretrained(path, vocab_size=32064)
    assert len(list((tmp_path / "vocab").glob("*.npz"))) == 2
    assert not list((tmp_path / "vocab").glob("*.tmp"))


def test_cache_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CONSTRAIN_CACHE", "0")
    assert cache.cache_dir() is None and cache.cache_path("vocab", "k", ".npz") is None
    monkeypatch.setenv("CONSTRAIN_CACHE", "1")
    assert cache.cache_path("vocab", "k", ".npz") == tmp_path / "vocab" / "k.npz"


def test_save_and_load_arrays(tmp_path):
    path = tmp_path / "sub" / "entry.npz"
    assert cache.load_arrays(path) is None
    assert cache.save_arrays(path, a=np.arange(5), b=np.frombuffer(b"xyz", np.uint8))
    loaded = cache.load_arrays(path)
    assert loaded["a"].tolist() == [0, 1, 2, 3, 4] and loaded["b"].tobytes() == b"xyz"
    assert cache.cache_key("ab", "c") != cache.cache_key("a", "bc")


# ---------------------------------------------------------------- toy vocabularies

def test_from_token_bytes():
    vocab = Vocabulary.from_token_bytes([b"a", b"bc", b"", b"<s>", b"d"], eos_token_ids=[4],
                                        special_ids=[3], special_token_text={3: "<s>"}, vocab_size=8)
    assert vocab.token_bytes == [b"a", b"bc", b"", b"", b"", b"", b"", b""]
    assert vocab.special_ids.tolist() == [2, 3, 4, 5, 6, 7]
    assert vocab.eos_token_ids == (4,) and vocab.special_token_text == {3: "<s>"}
    data, offsets = vocab.blob()
    assert data.tobytes() == b"abc" and offsets.tolist() == [0, 1, 3, 3, 3, 3, 3, 3, 3]
    assert vocab.token_id("bc") == 1 and vocab.token_id(b"zz") is None and vocab.token_id("") is None
    same = Vocabulary.from_token_bytes([b"a", b"bc", b"", b"<s>", b"d"], eos_token_ids=[4],
                                       special_ids=[3], vocab_size=8)
    assert same.fingerprint == vocab.fingerprint and same == vocab
    with pytest.raises(ValueError):
        data[0] = 1  # read-only


@pytest.mark.parametrize("kwargs, message", [
    ({"eos_token_ids": [9]}, "outside the vocabulary"),
    ({"eos_token_ids": [], "special_ids": [-1]}, "outside the vocabulary"),
    ({"eos_token_ids": [], "vocab_size": 1}, "smaller than the tokenizer"),
])
def test_from_token_bytes_errors(kwargs, message):
    with pytest.raises(VocabularyError, match=message):
        Vocabulary.from_token_bytes([b"a", b"b"], **kwargs)
    with pytest.raises(VocabularyError, match="expected bytes"):
        Vocabulary.from_token_bytes(["a"], eos_token_ids=[])


def _tokenizer_json(vocab, decoder, added=(), model_type="BPE", **model):
    return {"added_tokens": list(added), "decoder": decoder,
            "model": {"type": model_type, "vocab": vocab, "merges": [], **model}}


def _added(i, content, special):
    return {"id": i, "content": content, "special": special}


def test_bytes_to_unicode_is_a_bijection():
    table = tb.bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"


def test_synthetic_byte_level():
    t = tb.from_tokenizer_json(_tokenizer_json(
        {"ĠHi": 0, "Ċ": 1, "Ã©": 2, "ðŁ": 3, "x": 5},
        {"type": "ByteLevel"},
        [_added(6, "<|eot|>", True), _added(7, "<tool>", False), _added(5, "x", False)]))
    assert t.token_bytes == [b" Hi", b"\n", "é".encode(), b"\xf0\x9f", b"", b"x", b"", b"<tool>"]
    assert t.special_ids == [4, 6]  # id 4 is a hole
    assert t.special_token_text == {6: "<|eot|>"} and t.kind == "byte_level"
    assert t.token_id("<|eot|>") == 6


def test_byte_level_falls_back_to_utf8_for_foreign_characters():
    t = tb.from_tokenizer_json(_tokenizer_json({"a": 0}, {"type": "ByteLevel"}, [_added(1, "π ▁", False)]))
    assert t.token_bytes == [b"a", "π ▁".encode()]


def test_synthetic_sentencepiece_and_unigram():
    decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    t = tb.from_tokenizer_json(_tokenizer_json(
        {"<unk>": 0, "<0x0A>": 1, "▁the": 2, "<0x0a>": 3, "<0xZZ>": 4}, decoder, unk_token="<unk>"))
    assert t.token_bytes == [b"", b"\n", b" the", b"\n", b"<0xZZ>"] and t.special_ids == [0]
    u = tb.from_tokenizer_json(_tokenizer_json(
        [["<unk>", 0.0], ["▁a", -1.0], ["b▁", -2.0]], {"type": "Metaspace", "replacement": "▁"},
        model_type="Unigram", unk_id=0))
    assert u.token_bytes == [b"", b" a", b"b "] and u.special_ids == [0]


def test_strip_before_fuse_applies_per_token():
    decoder = {"type": "Sequence", "decoders": [{"type": "Strip", "content": "x", "start": 1, "stop": 1}]}
    t = tb.from_tokenizer_json(_tokenizer_json({"xabx": 0, "xx": 1}, decoder))
    assert t.token_bytes == [b"ab", b""]


@pytest.mark.parametrize("decoder, model_type", [
    ({"type": "WordPiece", "prefix": "##"}, "BPE"),
    ({"type": "CTC"}, "BPE"),
    (None, "WordPiece"),
])
def test_unsupported_decoders_raise(decoder, model_type):
    with pytest.raises(VocabularyError, match=(decoder or {}).get("type", "WordPiece")):
        tb.from_tokenizer_json(_tokenizer_json({"a": 0}, decoder, model_type=model_type))


def test_raw_vocabulary_without_decoder():
    assert tb.from_tokenizer_json(_tokenizer_json({"ab": 0, "é": 1}, None)).token_bytes == [b"ab", "é".encode()]


def test_load_tokenizer_json_skips_merges_only_when_safe():
    full = _tokenizer_json({"a": 0, "b": 1, "ab": 2}, None)
    full["model"]["merges"] = [["a", "b"]]
    text = json.dumps(full, indent=2)
    assert tb.load_tokenizer_json(text)["model"]["merges"] == []
    reordered = {"model": {"merges": ["a b"], "vocab": {"a": 0}, "type": "BPE"}, "decoder": None}
    assert tb.load_tokenizer_json(json.dumps(reordered)) == reordered
    with pytest.raises(VocabularyError, match="not valid JSON"):
        tb.load_tokenizer_json("{")


class _SlowTokenizer:
    """A stand-in for a tokenizer without a ``tokenizers`` backend."""

    all_special_ids = [0, 1]
    eos_token_id = 1
    name_or_path = ""

    def __len__(self):
        return 5

    def convert_ids_to_tokens(self, ids):
        return [["<s>", "</s>", "▁hi", "<0x0A>", "x▁"][i] for i in ids]


def test_slow_tokenizer():
    vocab = Vocabulary.from_tokenizer(_SlowTokenizer(), vocab_size=6)
    assert vocab.token_bytes == [b"", b"", b" hi", b"\n", b"x ", b""]
    assert vocab.eos_token_ids == (1,) and vocab.special_ids.tolist() == [0, 1, 5]
    assert vocab.special_token_text == {0: "<s>", 1: "</s>"}
