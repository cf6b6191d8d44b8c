"""Logits-processor benchmark: the cost a grammar adds to each decoding step in ``transformers``.

Run ``python -m benchmarks.processor_bench [--tokenizer llama3-128k] [--repeat N]
[--markdown docs/PERFORMANCE.md]``.

For batch sizes 1, 8 and 32, each engine's ``transformers`` logits processor is called the
way ``model.generate`` calls it: ``processor(input_ids, scores)`` with ``input_ids`` = an
8-token prompt + the tokens generated so far and ``scores`` = synthetic float32 logits
``[batch, vocab]`` on the CPU. Every row walks the same fixed sequence of valid tokens (the
canonical tokenization of a string of the grammar, then the final step, where only
end-of-sequence is allowed). Only the processor call is timed (``time.perf_counter_ns``);
refreshing the logits between calls is not. Each walk uses a new processor; walks are repeated
and every step of every walk is pooled into the percentiles.

Engines:

* constrain: ``constrain.hf.GrammarLogitsProcessor`` (rows keyed by generated prefix, batch
  fill in C++ threads, bitmask applied in place);
* XGrammar: ``xgrammar.contrib.hf.LogitsProcessor`` as shipped;
* llguidance ships no ``transformers`` processor: the same contract written with its own
  helpers (``LLMatcher.consume_token`` per row, ``llguidance.torch.fill_next_token_bitmask_par``
  with an ``LLExecutor``, ``llguidance.torch.apply_token_bitmask_inplace``).

Before timing, every engine's masks are compared with constrain's at every step of one walk
(non-special tokens only); mismatching steps are reported.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
import time
from typing import Callable, List, Optional

import numpy as np

from benchmarks.common import TOKENIZER_ROOT, write_markdown
import torch

PROMPT_LEN = 8
BATCHES = (1, 8, 32)

REGEX = (r'\{"name": "[A-Z][a-z]{1,20}( [A-Z][a-z]{1,20})?", "age": [1-9]\d?, '
         r'"email": "[a-z0-9._]{1,30}@[a-z0-9-]{1,20}\.(com|org|net)", '
         r'"tags": \[("[a-z]{2,12}"(, "[a-z]{2,12}"){0,4})?\]\}')
SAMPLE = ('{"name": "Ada Lovelace", "age": 36, "email": "ada.lovelace@analytical-engine.org", '
          '"tags": ["mathematics", "poetry", "engines"]}')


# --------------------------------------------------------------------------------------
# Engines: each builds a fresh processor callable (input_ids, scores) -> scores
# --------------------------------------------------------------------------------------


class Engine:
    """One library's processor factory for a regex and a tokenizer."""

    name = ""

    def version(self) -> str:
        raise NotImplementedError

    def processor(self) -> Callable:
        raise NotImplementedError


class ConstrainEngine(Engine):
    name = "constrain"

    def __init__(self, tokenizer, vocab_size, eos):
        import constrain as cn
        from constrain.hf import GrammarLogitsProcessor

        vocab = cn.Vocabulary.from_tokenizer(tokenizer, vocab_size=vocab_size, eos_token_ids=eos)
        self.compiled = cn.compile(cn.Grammar.from_regex(REGEX), vocab)
        self._cls = GrammarLogitsProcessor

    def version(self):
        import constrain
        return constrain.__version__

    def processor(self):
        return self._cls(self.compiled)


class XGrammarEngine(Engine):
    name = "XGrammar"

    def __init__(self, tokenizer, vocab_size, eos):
        import xgrammar as xgr
        from xgrammar.contrib.hf import LogitsProcessor

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=eos)
        self.compiled = xgr.GrammarCompiler(info).compile_regex(REGEX)
        self._cls = LogitsProcessor

    def version(self):
        return importlib.metadata.version("xgrammar")

    def processor(self):
        return self._cls(self.compiled)


class LLGuidanceProcessor:
    """llguidance's matcher and torch helpers behind the transformers processor contract."""

    def __init__(self, engine):
        self.engine, self.matchers, self.bitmask, self.started = engine, None, None, False

    def __call__(self, input_ids, scores):
        import llguidance
        import llguidance.torch as lt

        rows = input_ids.shape[0]
        if self.matchers is None:
            self.matchers = [llguidance.LLMatcher(self.engine.tokenizer, self.engine.grammar)
                             for _ in range(rows)]
            self.bitmask = lt.allocate_token_bitmask(rows, self.engine.vocab_size)
        elif self.started:
            for m, t in zip(self.matchers, input_ids[:, -1].tolist()):
                if not m.is_stopped():
                    assert m.consume_token(t), m.get_error()
        self.started = True
        lt.fill_next_token_bitmask_par(self.engine.executor, [(m, i) for i, m in enumerate(self.matchers)],
                                       self.bitmask)
        lt.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores


class LLGuidanceEngine(Engine):
    name = "llguidance"

    def __init__(self, tokenizer, vocab_size, eos):
        import llguidance
        import llguidance.hf

        self.tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=eos)
        self.grammar = llguidance.LLMatcher.grammar_from_regex(REGEX)
        self.executor = llguidance.LLExecutor()
        self.vocab_size = vocab_size

    def version(self):
        return importlib.metadata.version("llguidance")

    def processor(self):
        return LLGuidanceProcessor(self)


ENGINES = (ConstrainEngine, XGrammarEngine, LLGuidanceEngine)


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


def walk(processor, tokens: List[int], batch: int, base: torch.Tensor, *, check=None) -> List[int]:
    """One generation: call ``processor`` once per step; returns the call times in ns."""
    prompt = torch.full((batch, PROMPT_LEN), 11, dtype=torch.long)
    generated = torch.tensor(tokens, dtype=torch.long).expand(batch, -1)
    scores = base.clone()
    times = []
    for step in range(len(tokens) + 1):
        ids = torch.cat([prompt, generated[:, :step]], dim=1)
        scores.copy_(base)
        t0 = time.perf_counter_ns()
        processor(ids, scores)
        times.append(time.perf_counter_ns() - t0)
        if check is not None:
            check(step, scores)
    return times


def cross_check(engines, tokens, vocab_size, special: np.ndarray) -> dict:
    """Steps (of one batch-1 walk) where an engine's allowed set differs from constrain's."""
    base = torch.zeros(1, vocab_size)
    keep = np.ones(vocab_size, bool)
    keep[special[special < vocab_size]] = False
    sets = {}
    for engine in engines:
        rows = []
        walk(engine.processor(), tokens, 1, base,
             check=lambda step, s: rows.append(torch.isfinite(s[0]).numpy() & keep))
        sets[engine.name] = rows
    ref = sets[engines[0].name]
    return {name: sum(int(not np.array_equal(a, b)) for a, b in zip(ref, rows))
            for name, rows in sets.items()}


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def measure(engines, tokens, vocab_size, repeat) -> dict:
    results = {}
    for batch in BATCHES:
        base = torch.randn(batch, vocab_size, generator=torch.Generator().manual_seed(batch))
        for engine in engines:
            walk(engine.processor(), tokens, batch, base)  # warm-up (lazy inits, torch.compile)
            times = []
            for _ in range(repeat):
                times += walk(engine.processor(), tokens, batch, base)
            us = [t / 1000 for t in times]
            results[(engine.name, batch)] = (statistics.median(us), percentile(us, 90), statistics.mean(us))
        if engines and engines[0].name == "constrain":
            results[("apply", batch)] = apply_share(engines[0], tokens, batch, base, repeat)
    return results


def apply_share(engine, tokens, batch, base, repeat) -> float:
    """Median time of constrain's mask application alone, on the masks of a walk (us)."""
    from constrain import apply_bitmask

    processor, masks = engine.processor(), []
    walk(processor, tokens, batch, base, check=lambda step, s: masks.append(processor._bitmask.clone()))
    scores, times = base.clone(), []
    for _ in range(repeat):
        for mask in masks:
            scores.copy_(base)
            t0 = time.perf_counter_ns()
            apply_bitmask(scores, mask)
            times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1000


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def markdown(engines, results, mismatches, args, n_tokens, vocab_size, failed) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    versions = ", ".join(f"{e.name} {e.version()}" for e in engines)
    lines = [
        "## Logits processor overhead per decoding step (CPU)",
        "",
        f"`python -m benchmarks.processor_bench --tokenizer {args.tokenizer} --repeat {args.repeat}`"
        f" ({now}; {platform.machine()}, {os.cpu_count()} cores, torch threads {args.torch_threads}, {platform.python_version()}, "
        f"torch {torch.__version__}, transformers {importlib.metadata.version('transformers')}; "
        f"{versions}).",
        "",
        f"Tokenizer {args.tokenizer} (vocab {vocab_size}); a JSON-like regex; each walk = {n_tokens} "
        f"valid tokens + the final EOS step; time of one `processor(input_ids, scores)` call on "
        f"float32 CPU logits, in microseconds: median / p90 / mean over {args.repeat} walks.",
        "",
        "| batch | " + " | ".join(e.name for e in engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for batch in BATCHES:
        cells = []
        for e in engines:
            p50, p90, mean = results[(e.name, batch)]
            cells.append(f"{p50:,.0f} / {p90:,.0f} / {mean:,.0f}")
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    if ("apply", BATCHES[0]) in results:
        lines += ["", "constrain's mask application alone, timed separately on the same masks "
                  "(median): " + ", ".join(f"{results[('apply', b)]:,.0f} us at batch {b}"
                                           for b in BATCHES) + "."]
    lines += ["", "Steps whose allowed set (special tokens aside) differs from constrain's: "
              + ", ".join(f"{name} {n}/{n_tokens + 1}" for name, n in mismatches.items()) + "."]
    if failed:
        lines += ["", "Not measured: " + "; ".join(f"{k} ({v})" for k, v in failed.items()) + "."]
    lines += ["", "Notes: every engine fills and applies on the CPU here; constrain fills all rows in "
              "one call into C++ (threads for large batches, GIL released) and applies the mask "
              "with `constrain.apply_bitmask` (its CPU path); XGrammar's processor "
              "fills row by row from Python and applies with its CPU kernel; llguidance fills in "
              "its executor's threads and applies with its `torch.compile`d helper. At batch 32 "
              "most of the time is writing -inf into 4M logits (memory bound, for every engine). "
              "llguidance's differing steps are those where the grammar forces text: it then "
              "allows only the canonical token of the forced bytes (a deliberate narrowing). "
              "The machine was shared with other jobs while measuring: compare columns within a "
              "row, not absolute values across runs. constrain "
              "also compares each row's generated tokens with its previous state (the price of "
              "supporting beam reordering and assisted decoding), which the peers' processors do "
              "not do.", ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizer", default="llama3-128k")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--markdown", default=None, help="write the table into this file")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads (1: steadier numbers on a shared machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)

    from transformers import AutoTokenizer

    import constrain as cn

    path = f"{TOKENIZER_ROOT}/{args.tokenizer}"
    tokenizer = AutoTokenizer.from_pretrained(path)
    vocab = cn.Vocabulary.from_tokenizer(tokenizer)
    vocab_size, eos = vocab.vocab_size, list(vocab.eos_token_ids)
    tokens = tokenizer.encode(SAMPLE, add_special_tokens=False)
    assert cn.Grammar.from_regex(REGEX).matches(SAMPLE)
    engines, failed = [], {}
    for cls in ENGINES:
        try:
            engines.append(cls(tokenizer, vocab_size, eos))
        except Exception as exc:  # noqa: BLE001 - reported in the table
            failed[cls.name] = f"{type(exc).__name__}: {str(exc)[:80]}"
    mismatches = cross_check(engines, tokens, vocab_size, vocab.special_ids)
    results = measure(engines, tokens, vocab_size, args.repeat)
    section = markdown(engines, results, mismatches, args, len(tokens), vocab_size, failed)
    print(section)
    if args.markdown:
        write_markdown(args.markdown, section, "processor-bench")


if __name__ == "__main__":
    main()
