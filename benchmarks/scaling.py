"""Scaling with vocabulary size: mask time, compile and preparation time, memory.

Run ``python -m benchmarks.scaling [--full] [--tokenizers NAME ...] [--engines NAME ...]
[--markdown docs/PERFORMANCE.md] [--plots docs]``.

For each of the four shared tokenizers (llama2-32k, llama3-128k, qwen3-152k, gemma3-262k),
in one process and on one thread, constrain, XGrammar and llguidance are measured on

* (a) the built-in JSON grammar (constrain ``Grammar.builtin("json")``, XGrammar
  ``compile_builtin_json_grammar()``, llguidance the same ``grammars/json.lark``), walked
  along the JSON documents of the CFG benchmark (``benchmarks/data/json``, as written,
  compact and indented);
* (b) the e-mail regex of the regex benchmark, walked along its example addresses.

Figures: tokenizer preparation (constrain: ``Vocabulary.from_tokenizer`` without disk cache
plus the token trie; XGrammar: ``TokenizerInfo.from_huggingface`` plus the compiler;
llguidance: ``llguidance.hf.from_tokenizer``), cold compile time (median of up to
``--repeat``), time per mask fill (p50 / p99 pooled over the walks), memory of the compiled
grammar (constrain ``CompiledGrammar.memory_bytes``, after compile and after the walks since
CFG token sets are computed lazily; XGrammar ``CompiledGrammar.memory_size_bytes``;
llguidance exposes none) and of the vocabulary (constrain: token bytes + offsets + trie).

The raw per-mask times go to ``--raw`` (JSON, default ``build/benchmarks/scaling.json``);
the plots ``mask_time_cdf.png`` and ``scaling.png`` are drawn from them (``--plot-only``
redraws them without measuring).

Then scaling with schema size: ``benchmarks.schema_scaling`` (JSONSchemaBench schemas in
size buckets, every engine's compile and mask times per bucket) writes its own block and
``schema_scaling.png``, with the same ``--markdown``, ``--plots`` and ``--full``;
``--no-schema-sizes`` leaves it out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from benchmarks.common import (fmt, load_average, machine_description, percentile,
                               tokenizer_path, versions, write_markdown)
from benchmarks.schema_scaling import main as schema_scaling_main

MARKDOWN_BLOCK = "scaling"
REPO = Path(__file__).resolve().parent.parent
TOKENIZERS = ["llama2-32k", "llama3-128k", "qwen3-152k", "gemma3-262k"]
ENGINES = ["constrain", "xgrammar", "llguidance"]
WORKLOADS = ["json", "regex"]
DEFAULT_RAW = REPO / "build" / "benchmarks" / "scaling.json"
WALK_BUDGET_S = 6.0
MiB = 1024 * 1024


@dataclass
class Measure:
    """One engine on one workload and tokenizer."""

    compile_ms: Optional[float] = None
    mask_us: list = field(default_factory=list)
    masks: int = 0
    refused: int = 0
    cut: int = 0
    memory_bytes: Optional[int] = None  # compiled grammar, after compile
    memory_after_bytes: Optional[int] = None  # after the walks (constrain's lazy CFG sets)
    error: Optional[str] = None


@dataclass
class EngineRun:
    """One engine on one tokenizer: preparation and both workloads."""

    prepare_ms: Optional[float] = None
    prepare_note: str = ""
    vocab_bytes: Optional[int] = None
    error: Optional[str] = None
    workloads: dict = field(default_factory=dict)  # workload -> Measure


# --------------------------------------------------------------------------------------
# Engines: the CFG benchmark's engines, which also compile regexes through their parents
# --------------------------------------------------------------------------------------


def make_engine(name: str) -> Any:
    """Instantiate the CFG-benchmark engine for ``name`` (raises ImportError if missing)."""
    from benchmarks import cfg_bench
    return {"constrain": cfg_bench.CfgConstrain, "xgrammar": cfg_bench.XGrammarBuiltinJson,
            "llguidance": cfg_bench.CfgLLGuidance}[name]()


def prepare(name: str, engine: Any, tok: Any, path: str, run: EngineRun) -> None:
    """Time the engine's tokenizer preparation; record its vocabulary memory when known."""
    start = time.perf_counter()
    if name == "constrain":
        engine.vocab = engine.cn.Vocabulary.from_tokenizer(tok, cache=False)
        middle = time.perf_counter()
        engine.compiler_module.token_trie.forget(engine.vocab)  # an earlier part may have built it
        trie = engine.compiler_module.token_trie(engine.vocab)
        end = time.perf_counter()
        data, offsets = engine.vocab.blob()
        run.vocab_bytes = int(data.nbytes + offsets.nbytes + trie.memory_bytes)
        run.prepare_note = (f"vocabulary {(middle - start) * 1e3:,.0f} ms + trie "
                            f"{(end - middle) * 1e3:,.0f} ms")
    else:
        engine.prepare(tok, path)
        end = time.perf_counter()
    run.prepare_ms = (end - start) * 1e3


def compile_once(name: str, engine: Any, workload: str, case: Any) -> Any:
    """Compile one workload cold on one engine."""
    from benchmarks import regex_bench
    if workload == "json":
        return engine.compile(case)
    parent = {"constrain": regex_bench.ConstrainEngine, "xgrammar": regex_bench.XGrammarEngine,
              "llguidance": regex_bench.LLGuidanceEngine}[name]
    return parent.compile(engine, case)


def memory_of(name: str, compiled: Any) -> Optional[int]:
    """Bytes held by a compiled grammar, where the engine exposes it."""
    if name == "constrain":
        return int(compiled.memory_bytes)
    if name == "xgrammar":
        return int(compiled.memory_size_bytes)
    return None


def measure(name: str, engine: Any, workload: str, case: Any, documents: list[list[int]],
            repeat: int, walks: int) -> Measure:
    """Cold compile (median of up to ``repeat``), then ``walks`` timed walks per document."""
    from benchmarks.cfg_bench import walk
    res = Measure()
    times, compiled = [], None
    try:
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            compiled = compile_once(name, engine, workload, case)
            times.append((time.perf_counter() - start) * 1e3)
            if sum(times) > 3000:
                break
    except Exception as exc:  # noqa: BLE001 - reported in the table
        res.error = f"compile failed: {type(exc).__name__}: {str(exc)[:100]}"
        return res
    res.compile_ms = statistics.median(times)
    res.memory_bytes = memory_of(name, compiled)
    for tokens in documents:
        for r in range(max(1, walks)):
            w = walk(engine, compiled, tokens, record=False, budget_s=WALK_BUDGET_S)
            res.mask_us.extend(round(t, 2) for t in w.times)
            if r == 0:
                res.masks += len(w.times)
                res.refused += w.refused_at is not None
                res.cut += w.cut_at is not None
            if w.refused_at is not None or w.cut_at is not None:
                break
    res.memory_after_bytes = memory_of(name, compiled)
    return res


def workloads() -> dict[str, tuple[Any, list[str]]]:
    """The two workloads: (case object the engines compile, documents to walk)."""
    from benchmarks import cfg_bench, regex_bench
    json_case = cfg_bench.Workload("json", cfg_bench.json_documents())
    json_case.lark = (cfg_bench.GRAMMARS / "json.lark").read_text(encoding="utf-8")
    json_case.llguidance_lark = json_case.lark
    email = next(c for c in regex_bench.build_cases() if c.name == "email")
    return {"json": (json_case, [text for _, text in json_case.documents]),
            "regex": (email, list(email.examples))}


def encode(tok: Any, token_bytes: Any, text: str) -> Optional[list[int]]:
    """Token ids spelling exactly ``text``: the canonical encoding, or, for tokenizers that
    add a leading space (SentencePiece's dummy prefix, llama2), the encoding of
    ``"\\n" + text`` with the tokens of the newline dropped; None when the tokenizer
    cannot spell the text (llama2 normalises the character U+2581 to a space)."""
    ids = tok.encode(text, add_special_tokens=False)
    if b"".join(token_bytes[i] for i in ids) == text.encode():
        return ids
    ids = tok.encode("\n" + text, add_special_tokens=False)
    for k in range(1, 4):
        if b"".join(token_bytes[i] for i in ids[k:]) == text.encode():
            return ids[k:]
    return None


def run_tokenizer(name: str, engines: list[str], repeat: int, walks: int) -> dict:
    """Measure every engine on one tokenizer; return a JSON-able record."""
    from transformers import AutoTokenizer
    path = tokenizer_path(name)
    tok = AutoTokenizer.from_pretrained(path)
    cases = workloads()
    import constrain as cn
    token_bytes = cn.Vocabulary.from_pretrained(path).token_bytes  # only to check encodings
    encoded = {w: [encode(tok, token_bytes, t) for t in texts] for w, (_, texts) in cases.items()}
    docs = {w: [ids for ids in e if ids is not None] for w, e in encoded.items()}
    record = {"tokenizer": name, "vocab_size": len(tok), "engines": {},
              "unspellable": {w: len(e) - len(docs[w]) for w, e in encoded.items()}}
    for engine_name in engines:
        run = EngineRun()
        record["engines"][engine_name] = run
        try:
            engine = make_engine(engine_name)
            prepare(engine_name, engine, tok, path, run)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            run.error = f"{type(exc).__name__}: {str(exc)[:100]}"
            continue
        for workload, (case, _) in cases.items():
            start = time.perf_counter()
            run.workloads[workload] = measure(engine_name, engine, workload, case,
                                              docs[workload], repeat, walks)
            m = run.workloads[workload]
            print(f"  [{name} {engine_name} {workload}] compile {fmt(m.compile_ms)} ms, "
                  f"mask p50 {fmt(percentile(m.mask_us, 50))} us, "
                  f"{time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        del engine
    return record


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def mib(value: Optional[int]) -> str:
    """Bytes as MiB with two decimals, or 'not exposed'."""
    return "not exposed" if value is None else f"{value / MiB:,.2f}"


def render(records: list[dict], header: dict[str, str]) -> str:
    """The markdown block: a preparation / vocabulary table and the per-workload table."""
    lines = ["## Scaling with vocabulary size", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "| tokenizer | vocab | engine | preparation ms | vocabulary memory MiB |",
              "|---|--:|---|--:|--:|"]
    for rec in records:
        for engine, run in rec["engines"].items():
            if run["error"]:
                lines.append(f"| {rec['tokenizer']} | {rec['vocab_size']:,} | {engine} "
                             f"| failed: {run['error']} | |")
                continue
            note = f" ({run['prepare_note']})" if run["prepare_note"] else ""
            lines.append(f"| {rec['tokenizer']} | {rec['vocab_size']:,} | {engine} "
                         f"| {fmt(run['prepare_ms'], 0)}{note} | {mib(run['vocab_bytes'])} |")
    lines += ["", "| workload | tokenizer | engine | compile ms (cold) | mask p50 us "
              "| mask p99 us | masks | refused / cut walks | grammar memory MiB "
              "(after compile; after walks) |",
              "|---|---|---|--:|--:|--:|--:|--:|--:|"]
    notes: list[str] = []
    for workload in WORKLOADS:
        for rec in records:
            for engine, run in rec["engines"].items():
                m = run["workloads"].get(workload)
                if m is None:
                    continue
                if m["error"]:
                    lines.append(f"| {workload} | {rec['tokenizer']} | {engine} | {m['error']} "
                                 "| | | | | |")
                    continue
                memory = mib(m["memory_bytes"])
                if m["memory_after_bytes"] is not None and \
                        m["memory_after_bytes"] != m["memory_bytes"]:
                    memory += f"; {mib(m['memory_after_bytes'])}"
                skipped = rec.get("unspellable", {}).get(workload, 0)
                if skipped:
                    notes.append(f"- {workload}, {rec['tokenizer']}: {skipped} document(s) "
                                 "left out (the tokenizer cannot spell them exactly).")
                lines.append(
                    f"| {workload} | {rec['tokenizer']} | {engine} | {fmt(m['compile_ms'])} "
                    f"| {fmt(percentile(m['mask_us'], 50))} | {fmt(percentile(m['mask_us'], 99))} "
                    f"| {m['masks']} | {m['refused']} / {m['cut']} | {memory} |")
    lines += ["", "Notes:", ""] + sorted(set(notes)) + [
              "- json: the built-in JSON grammar (XGrammar: its own built-in JSON grammar, which "
              "allows only an object or array at the top and no trailing whitespace; llguidance: "
              "`grammars/json.lark`), walked along the CFG benchmark's 15 JSON documents; regex: "
              "the regex benchmark's e-mail regex along its 7 addresses. Masks = fills of the "
              "first walk of every document; p50 / p99 pool every timed walk.",
              "- Preparation: constrain `Vocabulary.from_tokenizer(cache=False)` plus its token "
              "trie (built once per vocabulary and shared by every grammar); XGrammar "
              "`TokenizerInfo.from_huggingface` + `GrammarCompiler`; llguidance "
              "`llguidance.hf.from_tokenizer`. Compile: cold, caches cleared, tokenizer ready; "
              "llguidance compiles lazily, so part of its work lands in its first masks.",
              "- Memory: constrain `CompiledGrammar.memory_bytes` (DFA / parse tables and mask "
              "store, the shared trie excluded; the JSON grammar's token sets are computed "
              "lazily, hence the second figure after the walks); XGrammar "
              "`CompiledGrammar.memory_size_bytes`; llguidance and XGrammar's `TokenizerInfo` "
              "do not expose theirs. Vocabulary memory (constrain) = token bytes + offsets + trie.",
              "- Plots: `docs/mask_time_cdf.png` (JSON workload) and `docs/scaling.png`, drawn "
              "from the raw times of this run.", ""]
    return "\n".join(lines)


def to_jsonable(records: list[dict]) -> list[dict]:
    """Dataclasses in the records as plain dicts."""
    out = []
    for rec in records:
        engines = {}
        for name, run in rec["engines"].items():
            d = asdict(run) if not isinstance(run, dict) else run
            engines[name] = d
        out.append({**rec, "engines": engines})
    return out


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def plot(records: list[dict], folder: str) -> list[str]:
    """Draw ``mask_time_cdf.png`` and ``scaling.png`` into ``folder``; return their paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    colours = {"constrain": "tab:blue", "xgrammar": "tab:orange", "llguidance": "tab:green"}
    paths = []

    n = len(records)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4 * rows), squeeze=False)
    for ax, rec in zip(axes.flat, records):
        for engine, run in rec["engines"].items():
            m = run["workloads"].get("json")
            if not m or not m["mask_us"]:
                continue
            xs = np.sort(np.maximum(np.asarray(m["mask_us"], dtype=float), 0.01))
            ys = np.arange(1, xs.size + 1) / xs.size
            ax.plot(xs, ys, label=engine, color=colours.get(engine))
        ax.set_xscale("log")
        ax.set_xlabel("time per mask (us, log scale)")
        ax.set_ylabel("fraction of masks")
        ax.set_title(f"JSON, {rec['tokenizer']} ({rec['vocab_size']:,} tokens)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    path = os.path.join(folder, "mask_time_cdf.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    engines = sorted({e for rec in records for e in rec["engines"]}, key=ENGINES.index)
    for engine in engines:
        for workload, style in (("json", "-"), ("regex", "--")):
            xs, p50, comp = [], [], []
            for rec in records:
                m = rec["engines"].get(engine, {}).get("workloads", {}).get(workload)
                if not m or m["error"] or not m["mask_us"]:
                    continue
                xs.append(rec["vocab_size"])
                p50.append(percentile(m["mask_us"], 50))
                comp.append(m["compile_ms"])
            if xs:
                label = f"{engine}, {workload}"
                left.plot(xs, p50, style, marker="o", color=colours.get(engine), label=label)
                right.plot(xs, comp, style, marker="o", color=colours.get(engine), label=label)
    for ax, title, unit in ((left, "time per mask, p50", "us"),
                            (right, "compile time (cold, tokenizer ready)", "ms")):
        ax.set_yscale("log")
        ax.set_xlabel("vocabulary size (tokens)")
        ax.set_ylabel(f"{unit} (log scale)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(folder, "scaling.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    return paths


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tokenizers", nargs="+", default=TOKENIZERS, metavar="NAME")
    p.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    p.add_argument("--repeat", type=int, default=None,
                   help="cold compiles per grammar, median (default 2; 3 with --full)")
    p.add_argument("--walks", type=int, default=None,
                   help="timed walks per document (default 2; 5 with --full)")
    p.add_argument("--full", action="store_true", help="more compiles and walks")
    p.add_argument("--markdown", default=None, help="file whose scaling block to write")
    p.add_argument("--plots", default=None, metavar="FOLDER",
                   help="draw mask_time_cdf.png and scaling.png into this folder")
    p.add_argument("--raw", default=str(DEFAULT_RAW), help="JSON file for the raw results")
    p.add_argument("--plot-only", action="store_true",
                   help="redraw the plots from --raw without measuring")
    p.add_argument("--no-schema-sizes", action="store_true",
                   help="skip the schema-size scaling (benchmarks.schema_scaling)")
    args = p.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.full else 2
    if args.walks is None:
        args.walks = 5 if args.full else 2
    return args


def main(argv: Optional[list[str]] = None) -> int:
    """Measure, print the block, write it, save the raw times and draw the plots."""
    args = parse_args(argv)
    if args.plot_only:
        with open(args.raw, encoding="utf-8") as f:
            records = json.load(f)["records"]
        for path in plot(records, args.plots or str(REPO / "docs")):
            print("wrote", path)
        return 0
    records = []
    for name in args.tokenizers:
        start = time.perf_counter()
        records.append(run_tokenizer(name, args.engines, args.repeat, args.walks))
        print(f"[{name}] {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    records = to_jsonable(records)
    engines = []
    for name in args.engines:
        try:
            engines.append(make_engine(name))
        except Exception:  # noqa: BLE001 - missing engines are reported in the table
            pass
    cli = sys.argv[1:] if argv is None else argv
    header = {
        "machine": machine_description() + load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "`" + " ".join(["python -m benchmarks.scaling", *cli]) + "`",
        "versions": versions(engines),
        "settings": f"single thread, cold compiles (median of up to {args.repeat}), "
                    f"{args.walks} timed walk(s) per document, numpy int32 bitmask",
    }
    section = render(records, header)
    print(section)
    os.makedirs(os.path.dirname(os.path.abspath(args.raw)), exist_ok=True)
    with open(args.raw, "w", encoding="utf-8") as f:
        json.dump({"header": header, "records": records}, f)
    if args.markdown:
        write_markdown(args.markdown, section, MARKDOWN_BLOCK)
    if args.plots:
        paths = plot(records, args.plots)
        for path in paths:
            print("wrote", path, file=sys.stderr)
        if args.markdown:
            write_markdown(args.markdown, plots_block(args.markdown, paths), "plots")
    if not args.no_schema_sizes:
        schema_scaling_main(schema_scaling_argv(args))
    return 0


def schema_scaling_argv(args: argparse.Namespace) -> list[str]:
    """The arguments of ``benchmarks.schema_scaling`` that carry over from this run."""
    argv = ["--full"] if args.full else []
    if args.markdown:
        argv += ["--markdown", args.markdown]
    if args.plots:
        argv += ["--plots", args.plots]
    return argv


def plots_block(markdown: str, paths: list[str]) -> str:
    """The short markdown block showing the plots (paths relative to the markdown file)."""
    base = os.path.dirname(os.path.abspath(markdown))
    rel = [os.path.relpath(os.path.abspath(p), base) for p in paths]
    return ("## Plots\n\n"
            "Drawn by `python -m benchmarks.scaling` from the raw per-mask times of its walks "
            "(see the scaling block).\n\n"
            f"![CDF of the time per mask, JSON workload, per engine and tokenizer]({rel[0]})\n\n"
            f"![Mask p50 and compile time against vocabulary size]({rel[1]})\n")


if __name__ == "__main__":
    sys.exit(main())
