"""Context-free grammars on the real tokenizers: exact masks, walks, every tokenization."""

from __future__ import annotations

import json

import lark
import numpy as np
import pytest

import constrain as cn
from conftest import TOKENIZERS
from constrain.grammars import DIRECTORY
from reference.earley import EarleyOracle
from reference.token_oracle import reference_allowed
from walks import checked_ids, random_split, random_walk

JSON_TEXT = (DIRECTORY / "json.lark").read_text()
JSON_DOCS = [
    {"name": "Alice", "age": 30, "tags": ["a", "b"], "ok": True, "none": None},
    [1, -2.5, 3e10, {"k": "v with spaces, é and 中文 and 😀"}],
    {"nested": {"deeper": [[], {}, [{"x": "\"quoted\" \\ slash \n newline"}]]}},
    "just a string",
    -0.0,
]
SERIALISATIONS = [dict(separators=(",", ":")), dict(indent=2), dict(ensure_ascii=False)]


@pytest.fixture(scope="module")
def json_grammar():
    return cn.Grammar.builtin("json")


@pytest.fixture(scope="module")
def json_oracle():
    return EarleyOracle(JSON_TEXT)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_json_masks_equal_oracle_along_a_walk(load_vocab, json_grammar, json_oracle, name):
    vocab = load_vocab(name)
    compiled = cn.compile(json_grammar, vocab)
    rng = np.random.default_rng(11)
    checks = []

    def check(m, prefix, allowed):
        if len(checks) >= (2 if vocab.vocab_size <= 40_000 else 4):
            return
        ids = checked_ids(vocab, allowed, rng)
        expected = reference_allowed(vocab.token_bytes, vocab.eos_token_ids, prefix,
                                     json_oracle.viable_bytes, json_oracle.complete_bytes, ids)
        got = allowed & set(ids)
        assert got == expected, (prefix, sorted(got - expected)[:8], sorted(expected - got)[:8])
        checks.append(prefix)

    out, complete = random_walk(compiled, vocab, rng, max_tokens=40, on_step=check,
                                stop_probability=0.5)
    if complete:
        json.loads(out)  # a complete walk is JSON
        lark.Lark(JSON_TEXT, parser="earley", lexer="dynamic_complete").parse(out.decode())


@pytest.mark.parametrize("name", TOKENIZERS)
def test_json_masks_exact_at_hand_picked_prefixes(load_vocab, json_grammar, json_oracle, name):
    vocab = load_vocab(name)
    compiled = cn.compile(json_grammar, vocab)
    rng = np.random.default_rng(5)
    prefixes = ['{"a', '{"a": 1', '[1, 2.', '{"k": "\\u00', '["\xe4', '[tr', '{"x": [1e',
                '{"a" :', '"ok" ', '{\n  "a": {\n    "b": nul']
    if vocab.vocab_size <= 40_000:
        prefixes = prefixes[:3]
    for text in prefixes:
        prefix = text.encode()
        m = compiled.matcher()
        assert m.accept_bytes(prefix)
        allowed = set(m.allowed_token_ids().tolist())
        ids = checked_ids(vocab, allowed, rng)
        expected = reference_allowed(vocab.token_bytes, vocab.eos_token_ids, prefix,
                                     json_oracle.viable_bytes, json_oracle.complete_bytes, ids)
        got = allowed & set(ids)
        assert got == expected, (text, sorted(got - expected)[:8], sorted(expected - got)[:8])


@pytest.mark.parametrize("name", TOKENIZERS)
def test_every_tokenization_of_json_documents_is_accepted(load_vocab, load_hf_tokenizer,
                                                          json_grammar, name):
    vocab = load_vocab(name)
    tokenizer = load_hf_tokenizer(name)
    compiled = cn.compile(json_grammar, vocab)
    rng = np.random.default_rng(2)
    for doc in JSON_DOCS:
        for style in SERIALISATIONS:
            text = json.dumps(doc, **style)
            data = text.encode()
            splits = [random_split(data, vocab, rng) for _ in range(2)]
            canonical = tokenizer.encode(text, add_special_tokens=False)
            if b"".join(vocab.token_bytes[t] for t in canonical) == data:
                splits.append(canonical)  # SentencePiece prepends a space: not a split of data
            for ids in splits:
                m = compiled.matcher()
                assert m.accept_tokens(ids) == len(ids), text
                assert m.is_accepting(), text
                assert m.accept_token(vocab.eos_token_ids[0])
