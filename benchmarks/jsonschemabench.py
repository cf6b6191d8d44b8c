"""JSONSchemaBench through constrain: compile rate and time, walks and instances per subset.

    python -m benchmarks.jsonschemabench [--per-subset 25 | --full] [--markdown docs/JSON_SCHEMA.md]

For every schema (compact style, tokenizer ready):
- compile: ``Grammar.from_json_schema`` + ``constrain.compile`` (cold), timed; failures counted
  with the reason;
- walks: random walks under the masks (bounded length, biased towards short tokens so they
  finish); every finished walk must be JSON that ``jsonschema`` accepts;
- instances: valid instances drawn independently by hypothesis-jsonschema, checked valid by
  ``jsonschema``, serialised compactly (floats in positional notation) and tokenized with the
  tokenizer's canonical encoding, must be accepted token by token by the schema compiled with
  ``property_order="any"`` (drawn objects list their keys in any order; schemas whose objects
  have too many properties for that style are counted and skipped).
"""

from __future__ import annotations

import argparse
import json
import signal
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import jsonschema
import numpy as np

import constrain as cn
from benchmarks.common import (load_average, machine_description, percentile, shared_data,
                               tokenizer_path, write_markdown)
from constrain.compiler import _memory_cache

BENCH = shared_data() / "data" / "jsonschemabench"


@dataclass
class SubsetResult:
    """Counts and timings for one subset."""

    name: str
    schemas: int = 0
    compiled: int = 0
    compile_ms: list = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    walks: int = 0
    walks_finished: int = 0
    walks_invalid: list = field(default_factory=list)
    instances: int = 0
    instances_rejected: list = field(default_factory=list)
    instances_unordered: int = 0  # schemas whose any-order grammar raised: instances not checked


def schema_files(subset: Path, limit: int | None) -> list[Path]:
    """The subset's schema files, sorted; ``limit`` of them evenly spaced (all if None)."""
    files = sorted(subset.glob("*.json"))
    if limit is None or limit >= len(files):
        return files
    step = len(files) / limit
    return [files[int(i * step)] for i in range(limit)]


def load_schema(path: Path):
    """The schema of a JSONSchemaBench file (each file holds one schema)."""
    return json.loads(path.read_text(encoding="utf-8"))


def validator(schema):
    """Draft 2020-12 validation with formats checked, the definition of the language
    (DESIGN.md section 1), whatever draft the schema names: under draft 4, for example, 1.0 is
    not an integer, under 2020-12 it is."""
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def compact(value) -> str:
    """Compact JSON with floats in positional notation (the number style of the grammars)."""
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text if "." in text or "e" in text.lower() else text + ".0"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + compact(v)
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(compact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def walk(compiled, vocab, rng, max_tokens: int):
    """A random walk biased to finish: EOS when allowed (p=1/2), else short tokens (p=3/4)."""
    m = compiled.matcher()
    eos = np.asarray(vocab.eos_token_ids)
    lengths = _token_lengths(vocab)
    out = b""
    for _ in range(max_tokens):
        allowed = m.allowed_token_ids()
        if not len(allowed):
            raise AssertionError(f"empty mask after {out[-80:]!r}")
        stops = np.isin(allowed, eos)
        if stops.any() and rng.random() < 0.5:
            return out, True
        choices = allowed[~stops]
        if not len(choices):
            return out, True
        short = choices[lengths[choices] <= 2]
        pool = short if len(short) and rng.random() < 0.75 else choices
        token = int(rng.choice(pool))
        assert m.accept_token(token)
        out += vocab.token_bytes[token]
    return out, False


_LENGTHS: dict = {}


def _token_lengths(vocab) -> np.ndarray:
    """Byte length of every token id (cached per vocabulary)."""
    if vocab.fingerprint not in _LENGTHS:
        _LENGTHS[vocab.fingerprint] = np.diff(vocab.blob()[1])
    return _LENGTHS[vocab.fingerprint]


def draw_instances(schema, count: int, seed: int) -> list:
    """Up to ``count`` valid instances from hypothesis-jsonschema ([] if it cannot)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis_jsonschema import from_schema

    found = []
    try:
        strategy = from_schema(schema)

        @settings(max_examples=count, database=None, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(x):
            found.append(x)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
    except Exception:  # noqa: BLE001 - hypothesis-jsonschema cannot handle every schema
        return found[:count]
    return found[:count]


class CompileTimeout(Exception):
    """A schema took longer than the time limit to compile."""


def _raise_timeout(signum, frame):
    raise CompileTimeout()


def run_subset(subset: Path, vocab, tokenizer, limit, walks: int, instances: int,
               max_tokens: int, seed: int = 0, time_limit: int = 10) -> SubsetResult:
    """Compile, walk and check instances for the schemas of one subset.

    A schema whose compile takes over ``time_limit`` seconds counts as not compiled
    ("timeout"), so one pathological schema cannot stall the run.
    """
    result = SubsetResult(subset.name)
    rng = np.random.default_rng(seed)
    for path in schema_files(subset, limit):
        result.schemas += 1
        schema = load_schema(path)
        _memory_cache.clear()
        start = time.perf_counter()
        previous = signal.signal(signal.SIGALRM, _raise_timeout)
        signal.alarm(time_limit)
        try:
            grammar = cn.Grammar.from_json_schema(schema)
            compiled = cn.compile(grammar, vocab, threads=1, cache_on_disk=False)
            elapsed = time.perf_counter() - start
            # Drawn instances put keys in any order, so they are checked against the
            # any-order style (which raises beyond 8 properties per object).
            try:
                unordered = cn.compile(cn.Grammar.from_json_schema(schema, property_order="any"),
                                       vocab, threads=1, cache_on_disk=False)
            except cn.GrammarError:
                unordered = None
        except CompileTimeout:
            result.reasons[f"timeout > {time_limit} s"] += 1
            continue
        except cn.GrammarError as e:
            keyword = getattr(e, "keyword", None)
            result.reasons[f"keyword {keyword}" if keyword else type(e).__name__] += 1
            continue
        except RecursionError:
            result.reasons["RecursionError"] += 1
            continue
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        result.compile_ms.append(elapsed * 1e3)
        result.compiled += 1
        check = validator(schema)
        for _ in range(walks):
            text, finished = walk(compiled, vocab, rng, max_tokens)
            result.walks += 1
            if finished:
                result.walks_finished += 1
                try:
                    ok = check.is_valid(json.loads(text))
                except ValueError:
                    ok = False
                if not ok:
                    result.walks_invalid.append((path.name, text[:200]))
        if unordered is None:
            result.instances_unordered += 1
            continue
        for value in draw_instances(schema, instances, seed):
            if not check.is_valid(value):
                continue
            text = compact(value)
            ids = tokenizer.encode(text, add_special_tokens=False)
            if b"".join(vocab.token_bytes[i] for i in ids) != text.encode():
                continue  # the tokenizer normalised the text (e.g. SentencePiece spaces)
            result.instances += 1
            m = unordered.matcher()
            if m.accept_tokens(ids) != len(ids) or not m.is_accepting():
                result.instances_rejected.append((path.name, text[:200]))
    return result


def markdown(results: list[SubsetResult], args, seconds: float) -> str:
    """The report block: one row per subset and a total."""
    lines = [
        "## JSONSchemaBench",
        "",
        f"- command: `python -m benchmarks.jsonschemabench"
        f"{' --full' if args.full else f' --per-subset {args.per_subset}'}`; tokenizer "
        f"{args.tokenizer}; {args.walks} walks (at most {args.max_tokens} tokens) and up to "
        f"{args.instances} hypothesis-jsonschema instances per schema",
        f"- machine: {machine_description()}{load_average()}; run time {seconds:.0f} s",
        "",
        "| subset | schemas | compiled | compile p50 ms | compile p99 ms | walks finished | "
        "invalid walks | instances | instances rejected | top reasons not compiled |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    every = SubsetResult("total")
    for r in results:
        lines.append(_row(r))
        every.schemas += r.schemas
        every.compiled += r.compiled
        every.compile_ms += r.compile_ms
        every.reasons.update(r.reasons)
        every.walks += r.walks
        every.walks_finished += r.walks_finished
        every.walks_invalid += r.walks_invalid
        every.instances += r.instances
        every.instances_rejected += r.instances_rejected
    lines.append(_row(every))
    return "\n".join(lines) + "\n"


def _row(r: SubsetResult) -> str:
    rate = 100 * r.compiled / r.schemas if r.schemas else 0
    p50, p99 = percentile(r.compile_ms, 50), percentile(r.compile_ms, 99)
    reasons = ", ".join(f"{k} ({n})" for k, n in r.reasons.most_common(3))
    return (f"| {r.name} | {r.schemas} | {r.compiled} ({rate:.0f}%) | "
            f"{p50 or 0:.1f} | {p99 or 0:.1f} | {r.walks_finished}/{r.walks} | "
            f"{len(r.walks_invalid)} | {r.instances} | {len(r.instances_rejected)} | {reasons} |")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen subsets, print the report, optionally write it to a markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", default="llama3-128k")
    parser.add_argument("--per-subset", type=int, default=25)
    parser.add_argument("--full", action="store_true", help="every schema of every subset")
    parser.add_argument("--walks", type=int, default=5)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer

    vocab = cn.Vocabulary.from_pretrained(tokenizer_path(args.tokenizer))
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path(args.tokenizer))
    start = time.perf_counter()
    results = []
    for subset in sorted(p for p in BENCH.iterdir() if p.is_dir()):
        results.append(run_subset(subset, vocab, tokenizer, None if args.full else args.per_subset,
                                  args.walks, args.instances, args.max_tokens))
        print(_row(results[-1]), flush=True)
    report = markdown(results, args, time.perf_counter() - start)
    print(report)
    for r in results:
        for name, text in r.walks_invalid[:5] + r.instances_rejected[:5]:
            print("PROBLEM", r.name, name, text)
    if args.markdown:
        write_markdown(args.markdown, report, "jsonschemabench")


if __name__ == "__main__":
    main()
