"""constrain.hf.GrammarLogitsProcessor and constrain.generate with tiny random Llama models.

The processor is first checked on its own (synthetic input_ids: beams reordered, drafts
rejected, finished rows padded) against fresh matchers, then inside ``model.generate`` with
real tokenizers: every output must be a string of its grammar, read from the exact bytes of the
generated ids up to end-of-sequence.
"""

from __future__ import annotations

import functools
import itertools
import random

import pytest
import torch

import constrain as cn

transformers = pytest.importorskip("transformers")

from constrain.generate import generate  # noqa: E402
from constrain.hf import GrammarLogitsProcessor, GrammarRefusedToken  # noqa: E402

CODE = r"\d{3}-[a-z]{2,4}"
CHOICES = ["yes", "no", "maybe", " not sure", "définitivement"]


# ----------------------------------------------------------------- helpers


def small_vocab():
    """Tokens of one or two pieces over a small alphabet, a special token and EOS (last id)."""
    pieces = [b"a", b"b", b"1", b"2", b"-"]
    tokens = [x + y for x, y in itertools.product(pieces, repeat=2)] + pieces + [b"", b""]
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1],
                                          special_ids=[len(tokens) - 2])


def allowed_ids(scores_row: torch.Tensor) -> set:
    return set(torch.isfinite(scores_row).nonzero().flatten().tolist())


def expected_ids(compiled, tokens) -> set:
    m = compiled.matcher()
    for t in tokens:
        if m.is_terminated():
            break
        assert m.accept_token(t)
    return set(m.allowed_token_ids().tolist())


def generated_bytes(ids, vocab):
    """(bytes of the ids before the first EOS, whether an EOS was met)."""
    eos = set(vocab.eos_token_ids)
    out = b""
    for t in ids:
        if t in eos:
            return out, True
        out += vocab.token_bytes[t]
    return out, False


def assert_valid(sequences, prompt_len, vocab, grammars, per_input):
    """Every row ended with EOS and its bytes are in the grammar of its input."""
    texts = []
    for r, row in enumerate(sequences.tolist()):
        data, ended = generated_bytes(row[prompt_len:], vocab)
        grammar = grammars[r // per_input]
        assert ended, (r, data)
        assert grammar.matches(data), (r, data)
        texts.append(data)
    return texts


def left_pad(tokenizer, prompts, pad_id):
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    width = max(map(len, encoded))
    ids = torch.tensor([[pad_id] * (width - len(e)) + e for e in encoded])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
    return ids, mask


@functools.lru_cache(maxsize=None)
def tiny_llama(vocab_size: int, seed: int = 0, layers: int = 2, hidden: int = 32):
    """A randomly initialised LlamaForCausalLM; large init so greedy choices are clear-cut."""
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=2, num_key_value_heads=2, intermediate_size=2 * hidden,
        tie_word_embeddings=True, initializer_range=0.5, max_position_embeddings=256)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def setup(load_vocab, load_hf_tokenizer):
    """A function: tokenizer name -> (hf tokenizer, Vocabulary)."""
    def get(name):
        return load_hf_tokenizer(name), load_vocab(name)
    return get


def run(model, input_ids, mask, processor, vocab, pad_id, **kwargs):
    kwargs.setdefault("max_new_tokens", 16)
    with torch.no_grad():
        return model.generate(input_ids=input_ids, attention_mask=mask, logits_processor=[processor],
                              eos_token_id=list(vocab.eos_token_ids), pad_token_id=pad_id, **kwargs)


# ----------------------------------------------------------------- the processor on its own


def test_masks_padded_logits_columns():
    vocab = small_vocab()
    compiled = cn.compile(cn.Grammar.from_regex(r"(ab|1)+-2"), vocab, cache_on_disk=False)
    proc = GrammarLogitsProcessor(compiled)
    width = vocab.vocab_size + 77
    scores = torch.zeros(2, width)
    out = proc(torch.tensor([[5, 6], [7, 6]]), scores)
    assert out is scores  # in place
    assert torch.isinf(scores[:, vocab.vocab_size:]).all()
    for r in range(2):
        assert allowed_ids(scores[r]) == expected_ids(compiled, [])


def test_state_follows_prefixes_reordered_and_rolled_back():
    """Random beam reorders, multi-token steps and rollbacks give the masks of fresh matchers."""
    vocab = small_vocab()
    compiled = cn.compile(cn.Grammar.from_regex(r"((ab|1)+-)*2?b"), vocab, cache_on_disk=False)
    rng = random.Random(7)
    rows, prompt = 4, [3, 4, 5]
    proc = GrammarLogitsProcessor(compiled)
    seqs = [[] for _ in range(rows)]  # generated tokens; all rows have one length, as in generate
    for step in range(150):
        ids = torch.tensor([prompt + s for s in seqs])
        scores = torch.zeros(rows, vocab.vocab_size)
        proc(ids, scores)
        for r in range(rows):
            assert allowed_ids(scores[r]) == expected_ids(compiled, seqs[r]), (step, seqs[r])
        op = rng.random()
        if op < 0.25:  # beam search: rows take over other rows' histories
            seqs = [list(seqs[rng.randrange(rows)]) for _ in range(rows)]
        elif op < 0.4:  # assisted decoding: drafted tokens rejected
            cut = rng.randrange(0, len(seqs[0]) + 1)
            seqs = [s[:cut] for s in seqs]
        if len(seqs[0]) > 12:
            cut = rng.randrange(0, 4)
            seqs = [s[:cut] for s in seqs]
        for _ in range(1 if op < 0.7 else rng.randrange(1, 4)):
            for s in seqs:
                ok = sorted(expected_ids(compiled, s))
                finished = vocab.eos_token_ids[0] in s
                s.append(rng.randrange(vocab.vocab_size) if finished else rng.choice(ok))


def test_finished_rows_allow_only_eos_and_refusals_name_the_row():
    vocab = small_vocab()
    eos = vocab.eos_token_ids[0]
    compiled = cn.compile(cn.Grammar.from_choices(["ab", "1"]), vocab, cache_on_disk=False)
    tok = {b: vocab.token_id(b) for b in (b"ab", b"1", b"2", b"b")}
    proc = GrammarLogitsProcessor(compiled)
    proc(torch.tensor([[0], [0]]), torch.zeros(2, vocab.vocab_size))
    # row 0 finished and is padded with EOS, then with another id (a pad token that is not EOS)
    scores = torch.zeros(2, vocab.vocab_size)
    proc(torch.tensor([[0, tok[b"1"], eos, eos, 0], [0, tok[b"ab"], eos, eos, eos]]), scores)
    assert allowed_ids(scores[0]) == {eos} == allowed_ids(scores[1])
    with pytest.raises(GrammarRefusedToken, match=rf"row 1: generated token {tok[b'2']} "):
        proc(torch.tensor([[0, tok[b"1"]], [0, tok[b"2"]]]), torch.zeros(2, vocab.vocab_size))


def test_new_generation_resets_and_grammars_map_to_row_groups():
    vocab = small_vocab()
    g1 = cn.compile(cn.Grammar.from_regex("1+"), vocab, cache_on_disk=False)
    g2 = cn.compile(cn.Grammar.from_regex("b+"), vocab, cache_on_disk=False)
    proc = GrammarLogitsProcessor([g1, g2])
    scores = torch.zeros(4, vocab.vocab_size)
    proc(torch.tensor([[0, 9]] * 4), scores)
    for r in range(4):
        assert allowed_ids(scores[r]) == expected_ids([g1, g2][r // 2], [])
    one = vocab.token_id(b"1")
    proc(torch.tensor([[0, 9, one]] * 2 + [[0, 9, vocab.token_id(b"b")]] * 2), scores)
    # a different prompt (and length): a new generation, not a continuation
    scores = torch.zeros(4, vocab.vocab_size)
    proc(torch.tensor([[9, 3, 9, 1]] * 4), scores)
    assert proc.prompt_length == 4
    assert allowed_ids(scores[0]) == expected_ids(g1, [])
    with pytest.raises(ValueError, match="multiple of the number of grammars"):
        GrammarLogitsProcessor([g1, g2])(torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, vocab.vocab_size))
    with pytest.raises(TypeError, match="CompiledGrammar"):
        GrammarLogitsProcessor(cn.Grammar.from_regex("1"))


@pytest.mark.parametrize("rows,width,words", [(3, 100, 3), (2, 50, 3), (1, 96, 3), (4, 1000, 40)])
def test_apply_bitmask_paths_match_bit_by_bit_reference(rows, width, words):
    gen = torch.Generator().manual_seed(width)
    logits = torch.randn(rows, width, generator=gen)
    bitmask = torch.randint(-2**31, 2**31 - 1, (rows, words), dtype=torch.int32, generator=gen)
    expected = logits.clone()
    for r in range(rows):
        for t in range(width):
            if t >= 32 * words or not (int(bitmask[r, t // 32]) >> (t % 32)) & 1:
                expected[r, t] = float("-inf")
    fast = cn.apply_bitmask(logits.clone(), bitmask)                     # numpy CPU path
    torch_path = cn.apply_bitmask(logits.clone(), bitmask, indices=list(range(rows)))
    assert torch.equal(fast, expected) and torch.equal(torch_path, expected)
    one = logits[0].clone()
    assert torch.equal(cn.apply_bitmask(one, bitmask[0].numpy()), expected[0])


# ----------------------------------------------------------------- inside model.generate


def test_batch_of_prompts_of_different_lengths_greedy(setup):
    tokenizer, vocab = setup("llama3-128k")
    grammar = cn.Grammar.from_regex(CODE)
    compiled = cn.compile(grammar, vocab)
    model = tiny_llama(vocab.vocab_size)
    eos = vocab.eos_token_ids[0]
    prompts = ["Hi", "The code of the parcel is", "x", "A somewhat longer prompt, with more words in it:"]
    ids, mask = left_pad(tokenizer, prompts, eos)
    out = run(model, ids, mask, GrammarLogitsProcessor(compiled), vocab, eos)
    batched = assert_valid(out, ids.shape[1], vocab, [grammar] * 4, 1)
    for i, prompt in enumerate(prompts):  # greedy: the same output alone as in the batch
        one, one_mask = left_pad(tokenizer, [prompt], eos)
        alone = run(model, one, one_mask, GrammarLogitsProcessor(compiled), vocab, eos)
        assert assert_valid(alone, one.shape[1], vocab, [grammar], 1)[0] == batched[i]


def test_beam_search_with_return_sequences_and_a_grammar_per_input(setup):
    tokenizer, vocab = setup("llama2-32k")
    grammars = [cn.Grammar.from_regex(CODE), cn.Grammar.from_choices(CHOICES)]
    compiled = [cn.compile(g, vocab) for g in grammars]
    model = tiny_llama(vocab.vocab_size, seed=1)
    ids, mask = left_pad(tokenizer, ["Give a code:", "Answer"], vocab.eos_token_ids[0])
    # pad finished rows with <unk> (0), which is not EOS: finished rows must ignore it
    out = run(model, ids, mask, GrammarLogitsProcessor(compiled), vocab, 0,
              num_beams=3, num_return_sequences=2)
    assert out.shape[0] == 4
    assert_valid(out, ids.shape[1], vocab, grammars, 2)
    rows = out.tolist()
    assert rows[0] != rows[1] and rows[2] != rows[3]  # distinct beams (maybe the same text)


@pytest.mark.parametrize("name", ["llama3-128k", "llama2-32k"])
def test_sampling_with_return_sequences(setup, name):
    tokenizer, vocab = setup(name)
    grammars = [cn.Grammar.from_choices(CHOICES), cn.Grammar.from_regex(CODE)]
    compiled = [cn.compile(g, vocab) for g in grammars]
    model = tiny_llama(vocab.vocab_size, seed=2)
    ids, mask = left_pad(tokenizer, ["Say", "Your code, please:"], vocab.eos_token_ids[0])
    torch.manual_seed(3)
    out = run(model, ids, mask, GrammarLogitsProcessor(compiled), vocab, vocab.eos_token_ids[0],
              do_sample=True, num_return_sequences=2, top_k=50, temperature=1.5)
    assert_valid(out, ids.shape[1], vocab, grammars, 2)


class Spy(transformers.LogitsProcessor):
    """Delegates to a processor and records the length of every input_ids it sees."""

    def __init__(self, inner):
        self.inner, self.lengths = inner, []

    def __call__(self, input_ids, scores):
        self.lengths.append(input_ids.shape[1])
        return self.inner(input_ids, scores)


@pytest.mark.parametrize("mode", ["greedy", "sample", "prompt_lookup"])
def test_assisted_decoding_re_sees_prefixes(setup, mode):
    tokenizer, vocab = setup("llama2-32k")
    grammar = cn.Grammar.from_regex(r"(\d{2,3}-[a-z]{2,3} ){3}[A-Z]")
    compiled = cn.compile(grammar, vocab)
    model = tiny_llama(vocab.vocab_size, seed=4)
    ids, mask = left_pad(tokenizer, ["Codes: 12-ab 34-cd 56-ef Z; again:"], vocab.eos_token_ids[0])
    kwargs = {"max_new_tokens": 48}
    if mode == "prompt_lookup":
        kwargs["prompt_lookup_num_tokens"] = 4
    else:
        kwargs["assistant_model"] = tiny_llama(vocab.vocab_size, seed=5, layers=1, hidden=16)
    if mode == "sample":
        kwargs["do_sample"] = True
        torch.manual_seed(6)
    spy = Spy(GrammarLogitsProcessor(compiled))
    out = run(model, ids, mask, spy, vocab, vocab.eos_token_ids[0], **kwargs)
    assert_valid(out, ids.shape[1], vocab, [grammar], 1)
    if mode != "prompt_lookup":  # drafts of a random assistant get rejected: prefixes re-seen
        assert any(b < a for a, b in zip(spy.lengths, spy.lengths[1:])), spy.lengths


def test_padded_model_vocabulary(setup):
    tokenizer, vocab = setup("llama2-32k")
    grammar = cn.Grammar.from_regex(CODE)
    model = tiny_llama(vocab.vocab_size + 96, seed=7)  # logits wider than the tokenizer
    ids, mask = left_pad(tokenizer, ["a", "bb bb bb"], vocab.eos_token_ids[0])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits[:, -1].clone()
    logits[:, vocab.vocab_size:] = 100.0  # the padding columns would win without the mask
    proc = GrammarLogitsProcessor(cn.compile(grammar, vocab))
    proc(ids, logits)
    assert torch.isinf(logits[:, vocab.vocab_size:]).all()
    out = run(model, ids, mask, GrammarLogitsProcessor(cn.compile(grammar, vocab)), vocab,
              vocab.eos_token_ids[0], do_sample=True)
    assert_valid(out, ids.shape[1], vocab, [grammar] * 2, 1)


def test_generate_helper(setup):
    tokenizer, vocab = setup("llama3-128k")
    model = tiny_llama(vocab.vocab_size)
    text = generate(model, tokenizer, "Code:", regex=CODE, max_new_tokens=16)
    assert isinstance(text, str) and cn.Grammar.from_regex(CODE).matches(text)
    texts = generate(model, tokenizer, ["Pick one", "Choose"], choices=CHOICES, max_new_tokens=16)
    assert len(texts) == 2 and all(t in CHOICES for t in texts)
    grouped = generate(model, tokenizer, ["a", "bcd"], grammar=cn.Grammar.from_regex(CODE),
                       max_new_tokens=16, num_beams=2, num_return_sequences=2)
    assert [len(g) for g in grouped] == [2, 2]
    assert all(cn.Grammar.from_regex(CODE).matches(t) for g in grouped for t in g)
    with pytest.raises(TypeError, match="exactly one"):
        generate(model, tokenizer, "x", regex=CODE, choices=CHOICES)
