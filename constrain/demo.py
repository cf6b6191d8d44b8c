"""`constrain demo`: constrained generation from random models, with timings; no download.

Part 1 samples regexes and choices from uniformly random logits under their masks. Part 2 runs a
tiny randomly initialised ``LlamaForCausalLM`` under a JSON Schema and validates every output.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional, TextIO

import numpy as np

from .bitmask import bitmask_words
from .compiler import compile
from .grammar import Grammar
from .vocabulary import Vocabulary

DEMO_GRAMMARS = [
    ("ISO date", Grammar.from_regex, r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"),
    ("email", Grammar.from_regex, r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,12}(\.[a-z]{2,6}){1,2}"),
    ("answer", Grammar.from_choices, ["yes", "no", "maybe", "it depends"]),
    ("JSON-ish pair", Grammar.from_regex, r'\{"name": "[A-Za-zé ]{1,16}", "age": [1-9]\d?\}'),
]


DEMO_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12},
                   "age": {"type": "integer", "minimum": 0, "maximum": 120}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
JSON_PROMPT = "A person as JSON: "


def llama3_folder() -> Optional[Path]:
    """The shared Llama-3 tokenizer folder (``$CONSTRAIN_TEST_DATA`` or ``../shared``), if present."""
    shared = Path(os.environ.get("CONSTRAIN_TEST_DATA", Path.cwd().parent / "shared"))
    llama3 = shared / "tokenizers" / "llama3-128k"
    return llama3 if (llama3 / "tokenizer.json").exists() else None


def demo_vocabulary() -> tuple[Vocabulary, str]:
    """Llama-3's vocabulary from the shared test data when present, else a built-in byte vocabulary."""
    llama3 = llama3_folder()
    if llama3 is not None:
        return Vocabulary.from_pretrained(llama3), "llama3-128k"
    return _byte_vocabulary(), "bytes-263"


def run_demo(out: TextIO, seed: int = 0, samples: int = 3, max_tokens: int = 64,
             vocab: Optional[Vocabulary] = None, json_schema: bool = True) -> None:
    """Compile a few grammars and sample from uniformly random logits under their masks, then
    (``json_schema``) generate JSON with a tiny random Llama model (:func:`run_json_demo`).

    ``vocab`` replaces the demo vocabulary (Llama-3's from ``../shared``, else bytes); with it
    the JSON part runs on that vocabulary without a ``transformers`` tokenizer.
    """
    t0 = time.perf_counter()
    given = vocab is not None
    if vocab is None:
        vocab, name = demo_vocabulary()
    else:
        name = "given"
    _regex_demo(out, vocab, name, t0, seed, samples, max_tokens)
    if json_schema:
        folder = None if given else llama3_folder()
        run_json_demo(out, seed=seed, samples=samples, vocab=None if folder else vocab,
                      tokenizer_folder=folder)


def _regex_demo(out: TextIO, vocab: Vocabulary, name: str, t0: float, seed: int, samples: int,
                max_tokens: int) -> None:
    rng = np.random.default_rng(seed)
    out.write(f"vocabulary {name}: {vocab.vocab_size} tokens, ready in "
              f"{(time.perf_counter() - t0) * 1e3:.0f} ms\n")
    row = np.empty((1, bitmask_words(vocab.vocab_size)), np.int32)
    for title, make, source in DEMO_GRAMMARS:
        t0 = time.perf_counter()
        compiled = compile(make(source), vocab)
        compile_ms = (time.perf_counter() - t0) * 1e3
        out.write(f"\n{title}: {source!r}\n  compiled in {compile_ms:.1f} ms to "
                  f"{compiled.grammar!r}, {compiled.memory_bytes / 1024:.1f} KiB\n")
        fill_times = []
        for _ in range(samples):
            matcher = compiled.matcher()
            text = b""
            for _ in range(max_tokens):
                t1 = time.perf_counter()
                matcher.fill_bitmask(row)
                fill_times.append(time.perf_counter() - t1)
                allowed = np.flatnonzero(np.unpackbits(row.view(np.uint8), bitorder="little")
                                         [:vocab.vocab_size])
                token = int(rng.choice(allowed))  # a uniformly random "model" under the mask
                if not matcher.accept_token(token):
                    raise AssertionError(f"the matcher refused token {token} it allowed")
                if matcher.is_terminated():
                    break
                text += vocab.token_bytes[token]
            status = "complete" if matcher.is_terminated() else "cut at max_tokens"
            out.write(f"  -> {text.decode('utf-8', 'replace')!r} ({status})\n")
        out.write(f"  mask fill: median {np.median(fill_times) * 1e6:.1f} us over "
                  f"{len(fill_times)} masks\n")


def run_json_demo(out: TextIO, seed: int = 0, samples: int = 3, max_new_tokens: int = 160,
                  vocab: Optional[Vocabulary] = None, tokenizer_folder: Optional[Path] = None,
                  schema=None) -> None:
    """Generate ``samples`` JSON values for ``schema`` (default :data:`DEMO_SCHEMA`) with a tiny
    randomly initialised Llama model, printing each output, its validation and timings.

    With ``tokenizer_folder`` the model uses that ``transformers`` tokenizer (through the
    machinery of :func:`constrain.generate_json`); otherwise it runs on ``vocab`` (default: a byte
    vocabulary), prompting with one token per byte. Outputs are printed as ``json -> TEXT``.
    """
    import jsonschema
    import torch
    import transformers

    from .errors import IncompleteOutputError
    from .generate import generate_rows
    from .json_generation import parse_output

    schema = DEMO_SCHEMA if schema is None else schema
    grammar = Grammar.from_json_schema(schema)
    t0 = time.perf_counter()
    if tokenizer_folder is not None:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer_folder))
        vocab_size, name = len(tokenizer), Path(tokenizer_folder).name
    else:
        tokenizer = None
        vocab = vocab if vocab is not None else _byte_vocabulary()
        vocab_size, name = vocab.vocab_size, f"{vocab.vocab_size}-token vocabulary, no tokenizer"
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, intermediate_size=128, max_position_embeddings=512,
        tie_word_embeddings=True)
    model = transformers.LlamaForCausalLM(config).eval()
    out.write(f"\nJSON Schema {json.dumps(schema)}\n  random LlamaForCausalLM (hidden 64, 2 layers) "
              f"on {name}, ready in {(time.perf_counter() - t0) * 1e3:.0f} ms\n")
    for _ in range(samples):
        # Sampled: greedy decoding of a random model may repeat a token forever (1.000...).
        kwargs = {"max_new_tokens": max_new_tokens, "do_sample": True}
        t1 = time.perf_counter()
        with torch.no_grad():
            try:
                if tokenizer is not None:
                    row = generate_rows(model, tokenizer, [JSON_PROMPT],
                                        lambda v: compile(grammar, v), **kwargs)[0]
                else:
                    row = _generate_on_vocab(model, vocab, grammar, **kwargs)
                value = parse_output(row.text, schema, complete=row.ended)
            except IncompleteOutputError as e:
                out.write(f"  cut at {max_new_tokens} tokens: {e.text!r}\n")
                continue
            except jsonschema.ValidationError as e:  # never expected: the grammar is exact
                out.write(f"  json -> {row.text}\n     INVALID: {e.message}\n")
                continue
        ms = (time.perf_counter() - t1) * 1e3
        out.write(f"  json -> {row.text}\n     valid against the schema: {value!r}, "
                  f"{ms:.0f} ms\n")


def _generate_on_vocab(model, vocab: Vocabulary, grammar: Grammar, **generate_kwargs):
    """``model.generate`` under ``grammar`` with the prompt as one token per byte
    (``vocab`` must hold the 256 single-byte tokens); returns a ``GeneratedRow``."""
    import torch

    from .generate import decode_row
    from .hf import GrammarLogitsProcessor

    ids_of_byte = {t: i for i, t in enumerate(vocab.token_bytes) if len(t) == 1}
    prompt = [ids_of_byte[bytes([b])] for b in JSON_PROMPT.encode("utf-8")]
    compiled = compile(grammar, vocab)
    eos = list(vocab.eos_token_ids)
    output = model.generate(input_ids=torch.tensor([prompt]), logits_processor=[
        GrammarLogitsProcessor(compiled)], eos_token_id=eos, pad_token_id=eos[0],
        **generate_kwargs)
    return decode_row(output[0, len(prompt):].tolist(), vocab)


def _byte_vocabulary() -> Vocabulary:
    tokens = [bytes([b]) for b in range(256)] + [b"ab", b"on", b"er", b"  ", b"\":", b"e@"]
    tokens.append(b"")  # end of sequence
    return Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1])
