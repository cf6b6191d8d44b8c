"""`constrain demo`: constrained generation from a random "model", with timings; no download."""

from __future__ import annotations

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


def demo_vocabulary() -> tuple[Vocabulary, str]:
    """Llama-3's vocabulary from the shared test data when present, else a built-in byte vocabulary."""
    shared = Path(os.environ.get("CONSTRAIN_TEST_DATA", Path.cwd().parent / "shared"))
    llama3 = shared / "tokenizers" / "llama3-128k"
    if (llama3 / "tokenizer.json").exists():
        return Vocabulary.from_pretrained(llama3), "llama3-128k"
    tokens = [bytes([b]) for b in range(256)] + [b"ab", b"on", b"er", b"  ", b"\":", b"e@"]
    tokens.append(b"")  # end of sequence
    return Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1]), "bytes-263"


def run_demo(out: TextIO, seed: int = 0, samples: int = 3, max_tokens: int = 64,
             vocab: Optional[Vocabulary] = None) -> None:
    """Compile a few grammars and sample from uniformly random logits under their masks."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if vocab is None:
        vocab, name = demo_vocabulary()
    else:
        name = "given"
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
