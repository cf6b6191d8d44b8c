"""The official JSON-Schema-Test-Suite (draft 2020-12) through constrain's JSON Schema compiler.

    python -m benchmarks.json_schema_suite [--markdown docs/JSON_SCHEMA.md]

Per test case: the group's schema is compiled (compact style); the instance, serialised in that
style (``json.dumps(x, separators=(",", ":"), ensure_ascii=False)``), must be accepted when the
suite says it is valid and rejected when it says it is invalid. A schema that does not compile
counts all its cases as wrong. ``format`` asserts only in ``optional/format`` files (in 2020-12
it is an annotation unless the format-assertion vocabulary is on).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import constrain as cn
from benchmarks.common import load_average, machine_description, shared_data, write_markdown

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


def serialise(instance) -> str:
    """An instance in the grammar's compact style."""
    return json.dumps(instance, separators=(",", ":"), ensure_ascii=False)


def reason(error: Exception) -> str:
    """A short label for why a schema did not compile: the keyword when known."""
    keyword = getattr(error, "keyword", None)
    return f"keyword {keyword}" if keyword else type(error).__name__


def run_file(path: Path, root: Path) -> FileResult:
    """Run every test case of one suite file."""
    result = FileResult(str(path.relative_to(root)))
    assert_format = "optional/format" in result.name.replace("\\", "/")
    for group in json.loads(path.read_text(encoding="utf-8")):
        tests = group["tests"]
        result.tests += len(tests)
        try:
            grammar = cn.Grammar.from_json_schema(group["schema"], assert_format=assert_format)
        except cn.GrammarError as e:
            result.not_compiled += len(tests)
            result.reasons[reason(e)] += len(tests)
            continue
        for test in tests:
            accepted = grammar.matches(serialise(test["data"]))
            if accepted == test["valid"]:
                result.right += 1
            elif test["valid"]:
                result.valid_rejected += 1
            else:
                result.invalid_accepted += 1
                result.invalid_accepted_cases.append(
                    (result.name, group["description"], test["description"]))
    return result


def run_suite(root: Path = SUITE) -> list[FileResult]:
    """Run every draft 2020-12 file (optional ones included), sorted by path."""
    base = root / "draft2020-12"
    return [run_file(p, base) for p in sorted(base.rglob("*.json"))]


def total(results: list[FileResult]) -> FileResult:
    """The sum of all files' counts."""
    out = FileResult("total")
    for r in results:
        out.add(r)
    return out


def markdown(results: list[FileResult], seconds: float) -> str:
    """The report block: per-file counts and the totals."""
    t = total(results)
    lines = [
        "## JSON-Schema-Test-Suite, draft 2020-12",
        "",
        "- command: `python -m benchmarks.json_schema_suite --markdown docs/JSON_SCHEMA.md`",
        f"- machine: {machine_description()}{load_average()}; run time {seconds:.0f} s",
        f"- right: **{t.right} / {t.tests}**; valid instances rejected: {t.valid_rejected}; "
        f"invalid instances accepted: **{t.invalid_accepted}**; cases whose schema did not "
        f"compile: {t.not_compiled}",
        "",
        "| file | cases | right | valid rejected | invalid accepted | not compiled | why not compiled |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        why = ", ".join(f"{k} ({n})" for k, n in r.reasons.most_common(3))
        lines.append(f"| {r.name} | {r.tests} | {r.right} | {r.valid_rejected} | "
                     f"{r.invalid_accepted} | {r.not_compiled} | {why} |")
    lines.append(f"| **total** | {t.tests} | {t.right} | {t.valid_rejected} | "
                 f"{t.invalid_accepted} | {t.not_compiled} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the suite, print the report, optionally write it into a markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--markdown", help="write the report into this file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run_suite(args.suite)
    report = markdown(results, time.perf_counter() - start)
    print(report)
    if args.markdown:
        write_markdown(args.markdown, report, "json-schema-suite")


if __name__ == "__main__":
    main()
