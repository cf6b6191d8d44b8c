"""Every benchmark in one command, and the summary table of docs/PERFORMANCE.md.

    python -m benchmarks [PART ...] [--full] [--markdown docs/PERFORMANCE.md]

PART is any of regex, cfg, processor, speculative, jsonschemabench, suite, scaling (all of
them when none is named) and gpu (run only when named: it needs a CUDA device). Each part is
the ``main`` of its script, called in this process one after the other (never two at once),
single-threaded (OMP / MKL / rayon threads set to 1 unless already set), with the script's
default settings, or bigger ones with ``--full``.
Blocks go into ``--markdown`` (docs/PERFORMANCE.md); jsonschemabench and suite write into
JSON_SCHEMA.md beside it, as their scripts do. Afterwards the ``summary`` block right after
the title of the markdown file is rebuilt from the blocks now in both files, so it always
shows the figures of the latest run of each part (``--summary-only`` rebuilds it alone).
jsonschemabench and suite run the peers too, each engine in a worker process with a hard
time limit per call (10 s), so no schema stalls the run: by default jsonschemabench takes
about 3 minutes on a 2-core machine (3 schemas per subset, 18 in all; ``--full`` runs all
7,474 schemas: roughly a day) and suite about half a minute. scaling ends with the
schema-size scaling (``benchmarks.schema_scaling``, about 1.5 minutes: 2 JSONSchemaBench
schemas per size bucket on every engine, in the same worker processes and time limit).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MARKDOWN = "docs/PERFORMANCE.md"
SCHEMA_MARKDOWN = "JSON_SCHEMA.md"  # beside --markdown


@dataclass
class Part:
    """One benchmark script: its module, arguments and the markdown file it writes."""

    name: str
    module: str
    doc: str
    args: list[str] = field(default_factory=list)  # default run
    full_args: list[str] = field(default_factory=list)  # with --full
    schema_doc: bool = False  # writes JSON_SCHEMA.md rather than PERFORMANCE.md
    default: bool = True  # run when no part is named

    def argv(self, full: bool, markdown: Optional[str]) -> list[str]:
        """The argument list passed to the script's ``main``."""
        argv = list(self.full_args if full else self.args)
        if markdown:
            target = (os.path.join(os.path.dirname(markdown), SCHEMA_MARKDOWN)
                      if self.schema_doc else markdown)
            if self.name == "speculative":
                # speculative_bench writes docs/PERFORMANCE.md of the repository (--write)
                if os.path.abspath(markdown) == str(REPO / DEFAULT_MARKDOWN):
                    argv.append("--write")
            else:
                argv += ["--markdown", target]
            if self.name == "scaling":
                argv += ["--plots", os.path.dirname(markdown) or "."]
        return argv

    def command(self, full: bool, markdown: Optional[str]) -> str:
        """The equivalent stand-alone command line."""
        return " ".join(["python -m", self.module, *self.argv(full, markdown)])


PARTS = [
    Part("regex", "benchmarks.regex_bench", "regexes vs XGrammar, llguidance, outlines-core",
         [], ["--repeat", "5"]),
    Part("cfg", "benchmarks.cfg_bench",
         "built-in json, c and sql grammars vs XGrammar, llguidance",
         [], ["--repeat", "3", "--walk-budget", "30"]),
    Part("processor", "benchmarks.processor_bench", "logits-processor overhead per step (CPU)",
         ["--repeat", "20"], ["--repeat", "50"]),
    Part("speculative", "benchmarks.speculative_bench", "draft masks and fast-forward",
         [], ["--runs", "5", "--schemas", "200"]),
    Part("jsonschemabench", "benchmarks.jsonschemabench",
         "JSONSchemaBench vs XGrammar, llguidance, outlines-core",
         ["--per-subset", "3", "--walks", "2", "--instances", "2"], ["--full"], schema_doc=True),
    Part("suite", "benchmarks.json_schema_suite",
         "JSON-Schema-Test-Suite 2020-12 vs XGrammar, llguidance", [], [], schema_doc=True),
    Part("scaling", "benchmarks.scaling",
         "mask / compile time and memory vs vocabulary size, and vs schema size",
         [], ["--full"]),
    Part("gpu", "benchmarks.gpu_bench",
         "bitmask apply time and generation throughput on a CUDA GPU (only when named)",
         [], ["--repeat", "500", "--runs", "5"], default=False),
]
PART_NAMES = [p.name for p in PARTS]


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse the command line (parts are checked against PART_NAMES)."""
    lines = "\n".join(f"  {p.name:16s}{p.doc}" for p in PARTS)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n", 1)[0],
        epilog="parts:\n" + lines, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help="parts to run (default: all); one of " + ", ".join(PART_NAMES))
    parser.add_argument("--full", action="store_true",
                        help="bigger settings (every JSONSchemaBench schema, more repeats)")
    parser.add_argument("--markdown", default=DEFAULT_MARKDOWN,
                        help="PERFORMANCE.md to write the blocks into (default %(default)s)")
    parser.add_argument("--no-markdown", action="store_true",
                        help="print the results only, write no file")
    parser.add_argument("--summary-only", action="store_true",
                        help="run nothing; rebuild the summary block from the blocks there")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the command of every part instead of running it")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in PART_NAMES]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PART_NAMES)}")
    args.selected = [p for p in PARTS if p.name in args.parts or (not args.parts and p.default)]
    if args.no_markdown:
        args.markdown = None
    return args


def single_thread() -> None:
    """Keep numeric libraries to one thread unless the caller chose otherwise."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "RAYON_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_part(part: Part, argv: list[str]) -> None:
    """Import the part's module and call its ``main(argv)``."""
    import importlib
    module = importlib.import_module(part.module)
    main: Callable[[list[str]], object] = module.main
    main(argv)


# --------------------------------------------------------------------------------------
# Summary: headline figures of DESIGN.md section 4, read back from the blocks
# --------------------------------------------------------------------------------------

ENGINES = ["constrain", "XGrammar", "llguidance", "outlines-core"]
PEER_PREFIX = {"constrain": "constrain", "XGrammar": "xgrammar", "llguidance": "llguidance",
               "outlines-core": "outlines-core"}


@dataclass
class Figure:
    """One summary row: a value per engine (None = not measured) and where it came from."""

    name: str
    unit: str  # "us", "ms", or "" for counts
    lower_is_better: bool
    target: str
    values: dict = field(default_factory=dict)  # engine -> float
    cells: dict = field(default_factory=dict)  # engine -> text shown
    command: str = ""


def read(path: Optional[str]) -> str:
    """The file's text, or '' when missing."""
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    return ""


def blocks(text: str) -> dict[str, str]:
    """Block name -> its text, for every ``<!-- name:start -->`` ... ``<!-- name:end -->``."""
    return {m.group(1): m.group(2)
            for m in re.finditer(r"<!-- ([\w-]+):start -->(.*?)<!-- \1:end -->", text, re.S)}


def tables(block: str) -> list[list[dict[str, str]]]:
    """Every markdown table of a block, as lists of rows keyed by the header cells."""
    found, lines = [], block.splitlines() + [""]
    current: list[list[str]] = []
    for line in lines:
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if len(current) >= 2:
            header = current[0]
            found.append([dict(zip(header, row)) for row in current[2:]])
        current = []
    return found


def number(text: Optional[str]) -> Optional[float]:
    """The first number in ``text`` (thousands separators allowed), or None."""
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?", text or "")
    return float(m.group(0).replace(",", "")) if m else None


def command_of(block: str) -> str:
    """The command recorded in a block (``command: `...` `` or a leading backticked one)."""
    m = re.search(r"command: `([^`]+)`", block) or re.search(r"`(python -m benchmarks[^`]*)`",
                                                              block)
    return m.group(1) if m else ""


def engine_of(name: str) -> Optional[str]:
    """Map an engine label of a table ("xgrammar (built-in JSON)") to a summary column."""
    for engine, prefix in PEER_PREFIX.items():
        if name.lower().startswith(prefix):
            return engine
    return None


def mask_figures(perf: dict[str, str]) -> list[Figure]:
    """Time per mask p50 / p99 on the JSON workload of the CFG benchmark."""
    p50 = Figure("time per mask, p50 (built-in JSON grammar, llama3-128k, cfg-bench documents)",
                 "us", True, "<= XGrammar")
    p99 = Figure("time per mask, p99 (same walks)", "us", True, "<= 0.5x the better peer")
    block = perf.get("cfg-bench", "")
    for table in tables(block):
        for row in table:
            if row.get("grammar") != "json" or "mask p50 us" not in row:
                continue
            engine = engine_of(row.get("engine", ""))
            # XGrammar: its own built-in JSON grammar (the Lark row is a second reading)
            if engine is None or (engine == "XGrammar" and "built-in" not in row["engine"]):
                continue
            for fig, column in ((p50, "mask p50 us"), (p99, "mask p99 us")):
                value = number(row.get(column))
                if value is not None:
                    fig.values[engine] = value
                    label = row["engine"][len(PEER_PREFIX[engine]):].strip()
                    fig.cells[engine] = f"{value:,.1f} us" + (f" {label}" if label else "")
    for fig in (p50, p99):
        fig.command = command_of(block)
    return [p50, p99]


def preparation_figure(perf: dict[str, str]) -> Figure:
    """Tokenizer preparation, 128k vocabulary, from the regex (else CFG) benchmark."""
    fig = Figure("tokenizer preparation, llama3-128k", "ms", True,
                 "<= 1 s, <= 100 ms from disk cache")
    for name in ("regex-bench", "cfg-bench"):
        block = perf.get(name, "")
        for table in tables(block):
            for row in table:
                if "preparation" not in row:
                    continue
                engine = engine_of(row.get("engine", ""))
                value = number(row["preparation"])
                if engine is None or value is None or engine in fig.values \
                        or "not importable" in row["preparation"] or "failed" in row["preparation"]:
                    continue
                fig.values[engine] = value
                cell = f"{value:,.0f} ms"
                disk = re.search(r";\s*([\d,.]+) ms \(from_pretrained, disk cache\)",
                                 row["preparation"])
                if disk:
                    cell += f" ({disk.group(1)} ms from disk cache)"
                fig.cells[engine] = cell
        if fig.values:
            fig.command = command_of(block)
            break
    return fig


def rows_of(block: str, column: str, key: str, value: str) -> list[dict[str, str]]:
    """The rows of the block's tables that have ``column`` and whose ``key`` cell is ``value``."""
    return [row for table in tables(block) for row in table
            if column in row and row.get(key) == value]


def set_cell(fig: Figure, engine: Optional[str], value: Optional[float], cell: str) -> None:
    """Record one engine's value (skipped when the engine or the value is unknown)."""
    if engine is not None and value is not None:
        fig.values[engine] = value
        fig.cells[engine] = cell


def jsonschemabench_figures(block: str) -> list[Figure]:
    """Per engine, from the 'all' rows of the JSONSchemaBench block: mask time p50 / p99 on
    the instances, compile p50 / p99, schemas compiled, valid instances rejected; constrain's
    invalid random walks."""
    mask50 = Figure("time per mask, p50 (JSONSchemaBench instances, llama3-128k)", "us", True,
                    "<= XGrammar")
    mask99 = Figure("time per mask, p99 (JSONSchemaBench instances)", "us", True,
                    "<= 0.5x the better peer")
    compile_p50 = Figure("schema compile p50, JSONSchemaBench (tokenizer ready)", "ms", True,
                         "<= 10 ms")
    compile_p99 = Figure("schema compile p99, JSONSchemaBench (each engine over the schemas it "
                         "compiled)", "ms", True, "<= 200 ms")
    compiled = Figure("JSONSchemaBench schemas compiled", "", False, ">= 95%")
    rejected = Figure("valid instances wrongly rejected (JSONSchemaBench: hypothesis-jsonschema "
                      "instances)", "", True, "0")
    walks_bad = Figure("invalid instances wrongly accepted (JSONSchemaBench: finished random "
                       "walks that fail validation)", "", True, "0")
    for row in rows_of(block, "compile p50 ms", "subset", "all"):
        engine = engine_of(row.get("engine", ""))
        for fig, column in ((compile_p50, "compile p50 ms"), (compile_p99, "compile p99 ms")):
            set_cell(fig, engine, number(row[column]), f"{row[column]} ms")
        done = re.match(r"([\d,]+)\s*\((\d+)%\)", row.get("compiled", ""))
        if done:
            set_cell(compiled, engine, float(done.group(2)),
                     f"{done.group(1)} / {row.get('schemas')} ({done.group(2)}%)")
    for row in rows_of(block, "valid instances rejected", "subset", "all"):
        engine = engine_of(row.get("engine", ""))
        for fig, column in ((mask50, "mask p50 us"), (mask99, "mask p99 us")):
            set_cell(fig, engine, number(row.get(column)), f"{row.get(column)} us")
        set_cell(rejected, engine, number(row["valid instances rejected"]),
                 row["valid instances rejected"])
    for row in rows_of(block, "invalid walks", "subset", "all"):
        total = (row.get("walks finished") or "").split("/")[0]
        set_cell(walks_bad, "constrain", number(row["invalid walks"]),
                 f"{row['invalid walks']} / {total}")
    figures = [mask50, mask99, compile_p50, compile_p99, compiled, rejected, walks_bad]
    for fig in figures:
        fig.command = command_of(block)
    return figures


def suite_figures(block: str) -> list[Figure]:
    """Per engine, from the engine table of the JSON-Schema-Test-Suite block."""
    right = Figure("JSON-Schema-Test-Suite 2020-12 cases right", "", False, ">= 1500")
    rejected = Figure("valid instances wrongly rejected (test suite)", "", True, "0")
    accepted = Figure("invalid instances wrongly accepted (test suite)", "", True, "0")
    for table in tables(block):
        for row in table:
            if "engine" not in row or "right" not in row:
                continue
            engine = engine_of(row["engine"])
            set_cell(right, engine, number(row["right"]), f"{row['right']} / {row.get('cases')}")
            for fig, column in ((rejected, "valid rejected"), (accepted, "invalid accepted")):
                set_cell(fig, engine, number(row.get(column)), row.get(column, ""))
    for fig in (right, rejected, accepted):
        fig.command = command_of(block)
    return [right, rejected, accepted]


def compile_only_figures(block: str) -> list[Figure]:
    """Compile p50 / p99 and schemas compiled of a ``--compile-only`` JSONSchemaBench run
    (none when there is no such block), named with the run's scope."""
    if not block:
        return []
    scope = re.search(r"`; ([^;]+);", block)
    figures = jsonschemabench_figures(block)[2:5]
    for fig in figures:
        fig.name += f"; compile-only run, {scope.group(1) if scope else 'see its block'}"
    return figures


def schema_figures(schema: dict[str, str]) -> list[Figure]:
    """The JSONSchemaBench and JSON-Schema-Test-Suite figures, every engine measured there."""
    bench = jsonschemabench_figures(schema.get("jsonschemabench", ""))
    suite = suite_figures(schema.get("json-schema-suite", ""))
    wide = compile_only_figures(schema.get("jsonschemabench-compile", ""))
    return bench[:2] + bench[2:4] + wide + suite + bench[4:]


def ratio(fig: Figure) -> str:
    """constrain's value over the best peer's (for times: lower is better)."""
    mine = fig.values.get("constrain")
    peers = {e: v for e, v in fig.values.items() if e != "constrain" and v is not None}
    if mine is None or not peers:
        return "-"
    best = (min if fig.lower_is_better else max)(peers, key=peers.get)
    if peers[best] == 0:
        return f"- (best peer {best}: 0)"
    return f"{mine / peers[best]:.2f}x {best}"


def summary(perf_path: str) -> str:
    """The summary block built from the blocks of PERFORMANCE.md and JSON_SCHEMA.md."""
    perf = blocks(read(perf_path))
    schema = blocks(read(os.path.join(os.path.dirname(perf_path), SCHEMA_MARKDOWN)))
    bench = schema_figures(schema)
    figures = bench[:2] + mask_figures(perf) + [preparation_figure(perf)] + bench[2:]
    lines = ["## Summary", "",
             "Headline figures of DESIGN.md section 4, as measured in the blocks below "
             "(and in JSON_SCHEMA.md); \"not measured\" where no block measures the figure. "
             "Ratio = constrain / the best peer (times: below 1 is faster; counts: as is). "
             "Rebuilt by `python -m benchmarks` after every run (`--summary-only` to rebuild "
             "it alone). JSONSchemaBench mask times: each engine over the instances of the "
             "schemas it compiled (JSON_SCHEMA.md also compares constrain with each peer on "
             "the instances both accepted); the CFG rows: the built-in JSON grammar on the "
             "CFG benchmark's documents.", "",
             "| figure | " + " | ".join(ENGINES) + " | ratio vs best peer | target | command |",
             "|---|" + "--:|" * len(ENGINES) + "---|---|---|"]
    for fig in figures:
        cells = [fig.cells.get(e, "not measured") for e in ENGINES]
        command = f"`{fig.command}`" if fig.command else "-"
        lines.append(f"| {fig.name} | " + " | ".join(cells)
                     + f" | {ratio(fig)} | {fig.target} | {command} |")
    lines.append("")
    return "\n".join(lines) + "\n"


def write_summary(path: str) -> None:
    """Write the summary block right after the title of ``path`` (replacing an old one)."""
    from benchmarks.common import markers, write_markdown
    start, end = markers("summary")
    text = read(path)
    if start not in text and text:
        lines = text.split("\n")
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
        lines[at:at] = ["", start, end]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    write_markdown(path, summary(path), "summary")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    """Run the chosen parts in turn, then rebuild the summary block."""
    args = parse_args(argv)
    single_thread()
    if args.markdown:
        args.markdown = os.path.relpath(os.path.abspath(args.markdown))
    failed: list[str] = []
    total = time.perf_counter()
    parts = [] if args.summary_only else args.selected
    for i, part in enumerate(parts, 1):
        part_argv = part.argv(args.full, args.markdown)
        print(f"[{i}/{len(parts)}] {part.name}: {part.command(args.full, args.markdown)}",
              file=sys.stderr, flush=True)
        if args.dry_run:
            continue
        start = time.perf_counter()
        try:
            run_part(part, part_argv)
            status = "done"
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - go on with the other parts
            if isinstance(exc, SystemExit) and not exc.code:
                status = "done"
            else:
                traceback.print_exc()
                failed.append(part.name)
                status = f"FAILED ({type(exc).__name__})"
        print(f"[{i}/{len(parts)}] {part.name}: {status} in {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
    if args.markdown and not args.dry_run:
        write_summary(args.markdown)
        print(f"summary written to {args.markdown}", file=sys.stderr)
    if not args.dry_run:
        print(f"all parts: {time.perf_counter() - total:.0f} s"
              + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
