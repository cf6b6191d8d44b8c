"""Fast-forward (constrain.forced_tokens and generate(..., fast_forward=True)).

The property: a forced token sequence T taken at byte position i of a generated text S is
the start of the tokenizer's canonical encoding of the rest of the text,
``tokenizer.encode(S[i:])[:len(T)] == T``: the forced text plus a feasible continuation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import constrain as cn
from constrain import speculative
from constrain.fast_forward import forced_tokens

PERSON = r'''
start: "{\"name\": " STRING ", \"age\": " NUM ", \"tags\": [" (STRING (", " STRING)*)? "]}"
STRING: /"[a-z ]{0,8}"/
NUM: /[1-9][0-9]{0,2}/
'''


def walk(cg, vocab, tokenizer, rng, max_tokens=200):
    """A random generation with fast-forward: forced tokens appended, the others drawn under
    masks from a toy policy that favours short values. Returns (text, [(byte pos, T)], n)."""
    m = cg.matcher()
    text, records, n = b"", [], 0
    eos = set(vocab.eos_token_ids)
    # Short tokens and closing punctuation end strings and arrays soon.
    shape = np.array([(1e4 if any(c in b for c in b'"]}') else 1.0) * 4.0 ** -len(b)
                      for b in vocab.token_bytes])
    while n < max_tokens and not m.is_terminated():
        forced = forced_tokens(m, vocab, tokenizer)
        if forced:
            records.append((len(text), forced))
            assert m.accept_tokens(forced) == len(forced)
            text += b"".join(vocab.token_bytes[t] for t in forced)
            n += len(forced)
            continue
        allowed = m.allowed_token_ids()
        weights = shape[allowed]
        weights[np.isin(allowed, list(eos))] = 1.0
        t = int(rng.choice(allowed, p=weights / weights.sum()))
        assert m.accept_token(t)
        n += 1
        if t not in eos:
            text += vocab.token_bytes[t]
    return text, records, n


def check_canonical(tokenizer, text: bytes, records):
    for pos, forced in records:
        rest = text[pos:].decode("utf-8")
        canonical = tokenizer.encode(rest, add_special_tokens=False)
        assert canonical[:len(forced)] == forced, (text[:pos], rest, forced, canonical)


@pytest.fixture(scope="module")
def llama3(load_vocab, load_hf_tokenizer):
    return load_vocab("llama3-128k"), load_hf_tokenizer("llama3-128k")


def test_forced_tokens_are_canonical_and_back_off_at_the_boundary(llama3):
    vocab, tokenizer = llama3
    cg = cn.compile(cn.Grammar.from_lark(PERSON), vocab, cache_on_disk=False)
    m = cg.matcher()
    assert m.forced_bytes() == b'{"name": "'
    forced = forced_tokens(m, vocab, tokenizer)
    # ' "' could merge with the string's first letters (' "b'): it is left to the model.
    assert forced == tokenizer.encode('{"name":', add_special_tokens=False)
    assert m.num_steps == 0 and m.forced_bytes() == b'{"name": "'
    rng = np.random.default_rng(0)
    total = 0
    for _ in range(20):
        text, records, n = walk(cg, vocab, tokenizer, rng)
        assert records
        check_canonical(tokenizer, text, records)
        total += n


def test_nothing_forced_utf8_and_special_tokens(llama3):
    vocab, tokenizer = llama3
    m = cn.compile(cn.Grammar.from_regex("[ab]+"), vocab, cache_on_disk=False).matcher()
    assert forced_tokens(m, vocab, tokenizer) == []
    # Forced text ending inside a UTF-8 character: only whole characters are tokenized.
    m = cn.compile(cn.Grammar.from_regex("xé[\u00e0-\u00ff]x"), vocab, cache_on_disk=False).matcher()
    assert m.forced_bytes() == "xé".encode() + b"\xc3"
    ids = forced_tokens(m, vocab, tokenizer)
    assert b"".join(vocab.token_bytes[t] for t in ids) in (b"", b"x", "xé".encode())
    # Text that spells a special token is never tokenized as that special token.
    m = cn.compile(cn.Grammar.from_regex("<\\|eot_id\\|>!"), vocab, cache_on_disk=False).matcher()
    ids = forced_tokens(m, vocab, tokenizer)
    assert not set(ids) & set(int(i) for i in vocab.special_ids)
    assert cn.compile(cn.Grammar.from_regex("<\\|eot_id\\|>!"), vocab).matcher().accept_tokens(ids) == len(ids)


def test_without_tokenizer_longest_match_on_toy_vocabulary():
    tokens = [b"a", b"b", b"ab", b"abc", b"c", b""]
    vocab = cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[5])
    cg = cn.compile(cn.Grammar.from_regex("ababcab(c|d)"), vocab, cache_on_disk=False)
    m = cg.matcher()
    assert m.forced_bytes() == b"ababcab"
    # Longest match gives ab, abc, ab; "abc" could span the end, so the last "ab" backs off.
    assert forced_tokens(m, vocab) == [2, 3]


def test_generate_with_fast_forward_is_valid_and_skips_model_calls():
    tokens = [b"{", b"}", b'"k": ', b'"', b"x", b"y", b'{"k": "', b""]
    vocab = cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[7])
    cg = cn.compile(cn.Grammar.from_regex(r'\{"k": "[xy]{1,3}"\}'), vocab, cache_on_disk=False)
    rng = np.random.default_rng(1)
    model = lambda prefix: np.zeros(len(tokens))  # noqa: E731 - uniform toy model
    for _ in range(20):
        r = speculative.generate(model, None, None, cg, seed=rng, fast_forward=True)
        assert cg.matcher().accept_tokens(r.token_ids) == len(r.token_ids)
        assert r.token_ids[-1] == 7 and r.forced >= 1
        assert r.target_forwards == len(r.token_ids) - r.forced


def _schemas(shared_dir, limit):
    files = sorted((shared_dir / "data" / "jsonschemabench" / "Glaiveai2K").glob("*.json"))
    step = max(1, len(files) // limit)
    return files[::step][:limit]


def test_jsonschemabench_forced_sequences_are_canonical(llama3, shared_dir):
    vocab, tokenizer = llama3
    rng = np.random.default_rng(2)
    compiled = forced = total = 0
    for path in _schemas(shared_dir, 12):
        try:
            grammar = cn.Grammar.from_json_schema(json.loads(path.read_text()))
            cg = cn.compile(grammar, vocab)
        except (cn.GrammarError, RecursionError, json.JSONDecodeError):
            continue
        compiled += 1
        text, records, n = walk(cg, vocab, tokenizer, rng, max_tokens=150)
        check_canonical(tokenizer, text, records)
        forced += sum(len(t) for _, t in records)
        total += n
    assert compiled >= 6
    assert forced > 0.05 * total
