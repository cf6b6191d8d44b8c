"""Scaling with schema size: compile time and time per mask against the size of a JSON Schema.

Run ``python -m benchmarks.schema_scaling [--per-bucket 2 | --full] [--engines ...]
[--markdown docs/PERFORMANCE.md] [--plots docs]`` (``python -m benchmarks scaling`` runs it
after the vocabulary scaling of ``benchmarks.scaling``).

The schemas are JSONSchemaBench's own (every subset pooled), put into buckets by the size of
their file (the schema's JSON text): < 1 KB, 1-4 KB, 4-16 KB, 16-64 KB, > 64 KB. From each
bucket, ``--per-bucket`` schemas are taken, evenly spaced through the bucket sorted by size
(the middle of each stretch, so a single schema is the bucket's median). Each goes through
the JSONSchemaBench harness (``benchmarks.jsonschemabench.run_schemas``): instances drawn by
hypothesis-jsonschema, then on every engine, each in its own worker process with a hard time
limit per call, a cold compile (tokenizer ready) and a walk of every instance, a mask before
every token and after the last. No random walks. Reported per bucket and engine: schemas
compiled (errors and timeouts), compile p50 / max, mask p50 / p99 pooled over the instances
the engine walked, and valid instances it rejected.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

from benchmarks.common import fmt, load_average, machine_description, percentile, publish
from benchmarks.jsonschemabench import (BENCH, EngineResult, Harness, SubsetResult,
                                        engine_versions, evenly_spaced, run_schemas)
from benchmarks.schema_engines import ENGINES

MARKDOWN_BLOCK = "schema-scaling"
KB = 1024
# (label, smallest size in bytes); a bucket holds the sizes up to the next one's smallest
BUCKETS = [("< 1 KB", 0), ("1-4 KB", KB), ("4-16 KB", 4 * KB), ("16-64 KB", 16 * KB),
           ("> 64 KB", 64 * KB)]
PLOT = "schema_scaling.png"


# --------------------------------------------------------------------------------------
# Schemas by size
# --------------------------------------------------------------------------------------


def bucket_of(size: int) -> str:
    """The label of the bucket a schema of ``size`` bytes falls into."""
    return [label for label, low in BUCKETS if size >= low][-1]


def bucketed(files: list[Path]) -> dict[str, list[Path]]:
    """Bucket label -> the files of that size, smallest first (every bucket, maybe empty)."""
    out: dict[str, list[Path]] = {label: [] for label, _ in BUCKETS}
    for path in sorted(files, key=lambda p: (p.stat().st_size, str(p))):
        out[bucket_of(path.stat().st_size)].append(path)
    return out


def pick_schemas(root: Path, per_bucket: Optional[int]) -> dict[str, list[Path]]:
    """``per_bucket`` schemas of every bucket (all with None), evenly spaced by size."""
    return {label: evenly_spaced(files, per_bucket, offset=0.5)
            for label, files in bucketed(sorted(root.glob("*/*.json"))).items()}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def sizes_cell(paths: list[Path]) -> str:
    """The number of schemas and their median size in KB."""
    if not paths:
        return "0"
    median = statistics.median(p.stat().st_size for p in paths) / KB
    return f"{len(paths)} (median {median:,.1f} KB)"


def engine_row(bucket: str, sizes: str, r: EngineResult) -> str:
    """One engine's row of the table for one bucket."""
    times = r.times()
    failed = ", ".join(f"{n} {kind}" for kind, n in sorted(r.failures.items()))
    compiled = f"{r.compiled} / {r.schemas}" + (f" ({failed})" if failed else "")
    rejected = sum(len(x) for x in r.rejected.values())
    return (f"| {bucket} | {sizes} | {r.name} | {compiled} | "
            f"{fmt(percentile(r.compile_ms, 50))} | "
            f"{fmt(max(r.compile_ms) if r.compile_ms else None)} | "
            f"{fmt(percentile(times, 50))} | {fmt(percentile(times, 99))} | {len(times)} | "
            f"{rejected} / {r.instances} |")


def render(results: list[SubsetResult], picked: dict[str, list[Path]], header: dict[str, str],
           time_limit: float) -> str:
    """The markdown block: the settings, a row per bucket and engine, notes."""
    lines = ["## Scaling with schema size", ""] + [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "| schema size | schemas | engine | compiled | compile p50 ms | compile max ms "
              "| mask p50 us | mask p99 us | masks | valid instances rejected |",
              "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for result in results:
        sizes = sizes_cell(picked[result.name])
        lines += [engine_row(result.name, sizes, r) for r in result.engines.values()]
    failures = [f"- {result.name}, {r.name}: " + "; ".join(
                    f"{why} ({n})" for why, n in r.reasons.most_common(3)).replace("|", "\\|")
                for result in results for r in result.engines.values() if r.reasons]
    lines += ["", "Schemas not compiled, and why (first line of the error):", ""]
    lines += failures or ["- none"]
    lines += ["", "Instances usable per bucket (drawn, valid, spelt exactly by the tokenizer); "
              "draws stopped by the time limit: " + "; ".join(
                  f"{r.name}: {r.instances}" + (f" ({sum(r.stopped.values())} stopped)"
                                                if r.stopped else "") for r in results) + "."]
    files = "; ".join(f"{label}: " + ", ".join(f"{p.parent.name}/{p.name}" for p in paths)
                      for label, paths in picked.items() if paths)
    lines += ["", "Notes:", "",
              "- Schemas: JSONSchemaBench, every subset pooled, bucketed by the size of the "
              "schema's JSON file, a few per bucket evenly spaced by size (the middle of each "
              f"stretch): {files}.",
              "- Engines as in the JSONSchemaBench block of JSON_SCHEMA.md "
              "(`benchmarks/schema_engines.py`): compact style, tokenizer ready, cold compile; "
              "each engine in its own worker process, a compile or a schema's walks taking over "
              f"{time_limit:g} s is killed and counted as a timeout (not in the compile "
              "figures). llguidance compiles lazily, so part of its work lands in its masks.",
              "- Masks: the hypothesis-jsonschema instances of each schema, keys in schema order, "
              "walked token by token on every engine that compiled it, up to the first token "
              "it refuses (so the mask counts differ); p50 / p99 pool the masks of the bucket "
              "(a schema with no usable instance adds none).", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------


def plot(results: list[SubsetResult], folder: str) -> str:
    """Draw compile p50 and mask p50 against the bucket into ``folder``; return the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = [r.name for r in results]
    for engine in results[0].engines if results else []:
        for ax, figure in ((left, lambda r: percentile(r.compile_ms, 50)),
                           (right, lambda r: percentile(r.times(), 50))):
            points = [(i, figure(res.engines[engine])) for i, res in enumerate(results)]
            points = [(i, v) for i, v in points if v is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=engine)
    for ax, title in ((left, "compile p50 (ms, cold, tokenizer ready)"),
                      (right, "time per mask p50 (us, instances)")):
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yscale("log")
        ax.set_xlabel("schema size (JSON text)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, PLOT)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tokenizer", default="llama3-128k")
    p.add_argument("--per-bucket", type=int, default=None,
                   help="schemas per size bucket (default 2; 8 with --full)")
    p.add_argument("--full", action="store_true", help="more schemas per bucket")
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    p.add_argument("--instances", type=int, default=2, help="instances drawn per schema")
    p.add_argument("--time-limit", type=float, default=10.0,
                   help="seconds per compile, per schema's walks, per draw (default 10)")
    p.add_argument("--markdown", help="file whose schema-scaling block to write")
    p.add_argument("--plots", metavar="FOLDER", help=f"draw {PLOT} into this folder")
    args = p.parse_args(argv)
    if args.per_bucket is None:
        args.per_bucket = 8 if args.full else 2
    return args


def plot_line(markdown: Optional[str], path: str) -> str:
    """The block's image link to the plot (relative to the markdown file when there is one)."""
    base = os.path.dirname(os.path.abspath(markdown)) if markdown else os.getcwd()
    rel = os.path.relpath(os.path.abspath(path), base)
    return f"![Compile p50 and mask p50 against schema size]({rel})\n"


def main(argv: Optional[list[str]] = None) -> int:
    """Measure every bucket, draw the plot, print the block and write it."""
    args = parse_args(argv)
    picked = pick_schemas(BENCH, args.per_bucket)
    start = time.perf_counter()
    with Harness(args.tokenizer, args.engines, args.time_limit) as harness:
        results = [run_schemas(label, paths, harness, walks=0, instances=args.instances,
                               max_tokens=0) for label, paths in picked.items() if paths]
    cli = sys.argv[1:] if argv is None else argv
    header = {
        "machine": machine_description() + load_average(),
        "command": "`" + " ".join(["python -m benchmarks.schema_scaling", *cli]) + "`",
        "run time": f"{time.perf_counter() - start:.0f} s (worker starts included)",
        "versions": engine_versions(args.engines),
        "settings": f"tokenizer {args.tokenizer}, {args.per_bucket} schema(s) per bucket, up "
                    f"to {args.instances} instances per schema, time limit {args.time_limit:g} "
                    "s, one thread per engine",
    }
    section = render(results, picked, header, args.time_limit)
    if args.plots and results:
        section += "\n" + plot_line(args.markdown, plot(results, args.plots))
    publish(section, args.markdown, MARKDOWN_BLOCK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
