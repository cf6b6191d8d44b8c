"""The official JSON-Schema-Test-Suite (draft 2020-12): constrain, XGrammar and llguidance.

    python -m benchmarks.json_schema_suite [--engines constrain xgrammar llguidance]
        [--markdown docs/JSON_SCHEMA.md]

Per test case: the group's schema is compiled (compact style); the instance, its keys put in
schema order (``schema_engines.schema_order``, the order every engine here writes) and
serialised in that style (``json.dumps(x, separators=(",", ":"), ensure_ascii=False)``), must
be accepted when the suite says it is valid and rejected when it says it is invalid. Every
engine gets the same text. A schema that does not compile counts all its cases as wrong.
For constrain ``format`` asserts only in ``optional/format`` files (in 2020-12 it is an
annotation unless the format-assertion vocabulary is on); the peers have no such switch.

The peers run in worker processes (``benchmarks.workers``): a compile or a group's checks taking
over ``--time-limit`` seconds count the group's cases as wrong (timeout). XGrammar compiles
against a 256-token byte vocabulary (acceptance of a text does not depend on the vocabulary,
and its compile time grows with it) and checks a text with ``accept_string``; llguidance uses
the llama3-128k tokenizer and consumes its own tokenization of the text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import constrain as cn
from benchmarks.common import (load_average, machine_description, progress, shared_data,
                               write_markdown)
from benchmarks.schema_engines import SchemaSession, schema_order
from benchmarks.workers import Worker, WorkerCrashed, WorkerTimeout

SUITE = shared_data() / "data" / "json-schema-test-suite"


@dataclass
class FileResult:
    """Counts for one suite file."""

    name: str
    tests: int = 0
    right: int = 0
    valid_rejected: int = 0
    invalid_accepted: int = 0
    not_compiled: int = 0
    reasons: Counter = field(default_factory=Counter)
    invalid_accepted_cases: list = field(default_factory=list)

    def add(self, other: "FileResult") -> None:
        """Accumulate another file's counts (for totals)."""
        for name in ("tests", "right", "valid_rejected", "invalid_accepted", "not_compiled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        self.invalid_accepted_cases += other.invalid_accepted_cases


def serialise(instance, schema) -> str:
    """An instance in the grammar's compact style, its keys in schema order."""
    return json.dumps(schema_order(instance, schema), separators=(",", ":"), ensure_ascii=False)


def reason(error: Exception) -> str:
    """A short label for why a schema did not compile: the keyword when known."""
    keyword = getattr(error, "keyword", None)
    return f"keyword {keyword}" if keyword else type(error).__name__


class CheckFailed(Exception):
    """A peer could not check a group's instances (timeout or crash); the message says which."""


class ConstrainChecker:
    """constrain, in this process: ``Grammar.from_json_schema`` and ``Grammar.matches``."""

    name = "constrain"

    def __init__(self) -> None:
        self.grammar = None

    def compile(self, schema, assert_format: bool) -> Optional[str]:
        """Compile ``schema``; None when it compiled, else why not."""
        try:
            self.grammar = cn.Grammar.from_json_schema(schema, assert_format=assert_format)
        except cn.GrammarError as e:
            self.grammar = None
            return reason(e)
        return None

    def accepts(self, texts: list[str]) -> list[bool]:
        """Whether each text is in the language of the last compiled schema."""
        return [self.grammar.matches(t) for t in texts]

    def close(self) -> None:
        """Nothing to release."""


class PeerChecker:
    """A peer in a worker process (``SchemaSession``), each call bounded by ``time_limit``."""

    TOKENIZERS = {"xgrammar": None, "llguidance": "llama3-128k"}

    def __init__(self, name: str, time_limit: float) -> None:
        self.name = name
        self.time_limit = time_limit
        self.worker = Worker(SchemaSession, name, self.TOKENIZERS[name])

    def compile(self, schema, assert_format: bool) -> Optional[str]:
        """Compile ``schema`` (``assert_format`` is not a peer option); None or why not."""
        try:
            outcome = self.worker.call("compile", schema, timeout=self.time_limit)
        except WorkerTimeout:
            return f"timeout > {self.time_limit:g} s"
        except WorkerCrashed:
            return "crash"
        return outcome.get("error")

    def accepts(self, texts: list[str]) -> list[bool]:
        """Whether each text is a complete instance; CheckFailed on a timeout or crash."""
        try:
            return self.worker.call("accepts", texts, timeout=self.time_limit)
        except WorkerTimeout:
            raise CheckFailed(f"checks: timeout > {self.time_limit:g} s") from None
        except WorkerCrashed:
            raise CheckFailed("checks: crash") from None

    def close(self) -> None:
        """Stop the worker."""
        self.worker.close()


def run_file(path: Path, root: Path, checker=None) -> FileResult:
    """Run every test case of one suite file (on constrain unless ``checker`` says otherwise)."""
    checker = checker or ConstrainChecker()
    result = FileResult(str(path.relative_to(root)))
    assert_format = "optional/format" in result.name.replace("\\", "/")
    for group in json.loads(path.read_text(encoding="utf-8")):
        tests = group["tests"]
        result.tests += len(tests)
        why = checker.compile(group["schema"], assert_format)
        if why is None:
            try:
                verdicts = checker.accepts([serialise(t["data"], group["schema"]) for t in tests])
            except CheckFailed as e:
                why = str(e)
        if why is not None:
            result.not_compiled += len(tests)
            result.reasons[why] += len(tests)
            continue
        for test, accepted in zip(tests, verdicts):
            if accepted == test["valid"]:
                result.right += 1
            elif test["valid"]:
                result.valid_rejected += 1
            else:
                result.invalid_accepted += 1
                result.invalid_accepted_cases.append(
                    (result.name, group["description"], test["description"]))
    return result


def run_suite(root: Path = SUITE, checker=None) -> list[FileResult]:
    """Run every draft 2020-12 file (optional ones included), sorted by path, on one engine
    (constrain unless ``checker`` is given)."""
    base = root / "draft2020-12"
    checker = checker or ConstrainChecker()
    files = sorted(base.rglob("*.json"))
    return [run_file(p, base, checker) for p in progress(files, desc=checker.name)]


def total(results: list[FileResult]) -> FileResult:
    """The sum of all files' counts."""
    out = FileResult("total")
    for r in results:
        out.add(r)
    return out


def markdown(results: dict[str, list[FileResult]], seconds: float, time_limit: float,
             command: str = "python -m benchmarks.json_schema_suite") -> str:
    """The report block: totals per engine, then per-file counts (constrain's in detail)."""
    totals = {name: total(rs) for name, rs in results.items()}
    lines = [
        "## JSON-Schema-Test-Suite, draft 2020-12",
        "",
        f"- command: `{command}`",
        f"- machine: {machine_description()}{load_average()}; run time {seconds:.0f} s; "
        f"peers in worker processes, {time_limit:g} s per compile and per group's checks",
        "- counting: one case = one instance of one test group; right = a valid instance "
        "accepted or an invalid one rejected; every case of a group whose schema an engine "
        "cannot compile counts as wrong; instances keyed in schema order, compact, the same "
        "text for every engine",
    ]
    if "constrain" in totals:
        t = totals["constrain"]
        lines.append(f"- right: **{t.right} / {t.tests}**; valid instances rejected: "
                     f"{t.valid_rejected}; invalid instances accepted: **{t.invalid_accepted}**; "
                     f"cases whose schema did not compile: {t.not_compiled}")
    lines += ["", "| engine | cases | right | valid rejected | invalid accepted | not compiled | "
              "why not compiled (cases) |", "|---|--:|--:|--:|--:|--:|---|"]
    for name, t in totals.items():
        why = "; ".join(f"{k} ({n})" for k, n in t.reasons.most_common(3)).replace("|", "\\|")
        lines.append(f"| {name} | {t.tests} | {t.right} | {t.valid_rejected} | "
                     f"{t.invalid_accepted} | {t.not_compiled} | {why} |")
    lines += ["", "Per file (constrain in detail; the peers' cases right):", ""]
    lines += file_table(results)
    return "\n".join(lines) + "\n"


def file_table(results: dict[str, list[FileResult]]) -> list[str]:
    """Per-file rows: constrain's counts and reasons, and each other engine's cases right."""
    peers = [n for n in results if n != "constrain"]
    main = results.get("constrain") or results[peers[0]]
    lines = ["| file | cases | right | valid rejected | invalid accepted | not compiled | "
             "why not compiled | " + " | ".join(f"{p} right" for p in peers) + " |",
             "|---|--:|--:|--:|--:|--:|---|" + "--:|" * len(peers)]
    for i, r in enumerate(main):
        why = ", ".join(f"{k} ({n})" for k, n in r.reasons.most_common(3)).replace("|", "\\|")
        lines.append(f"| {r.name} | {r.tests} | {r.right} | {r.valid_rejected} | "
                     f"{r.invalid_accepted} | {r.not_compiled} | {why} | "
                     + " | ".join(str(results[p][i].right) for p in peers) + " |")
    t = total(main)
    lines.append(f"| **total** | {t.tests} | {t.right} | {t.valid_rejected} | "
                 f"{t.invalid_accepted} | {t.not_compiled} | | "
                 + " | ".join(str(total(results[p]).right) for p in peers) + " |")
    return lines


ENGINE_NAMES = ("constrain", "xgrammar", "llguidance")


def main(argv: list[str] | None = None) -> None:
    """Run the suite on every engine, print the report, optionally write it into markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--engines", nargs="+", default=list(ENGINE_NAMES), choices=ENGINE_NAMES)
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="seconds per peer compile and per group's checks (default 10)")
    parser.add_argument("--markdown", help="write the report into this file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = {}
    for name in args.engines:
        checker = ConstrainChecker() if name == "constrain" else PeerChecker(name, args.time_limit)
        try:
            results[name] = run_suite(args.suite, checker)
        finally:
            checker.close()
    command = " ".join(["python -m benchmarks.json_schema_suite",
                        *(sys.argv[1:] if argv is None else argv)])
    report = markdown(results, time.perf_counter() - start, args.time_limit, command)
    print(report)
    if args.markdown:
        write_markdown(args.markdown, report, "json-schema-suite")


if __name__ == "__main__":
    main()
