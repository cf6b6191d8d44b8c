"""The grammar-authoring commands of the ``constrain`` CLI: check, lint, sample, explain.

Exit codes (for CI):
    0  success (every example as expected / no lint errors / samples written / text accepted)
    1  the check failed (an example misbehaved / lint errors, or warnings with --strict /
       fewer samples than asked / text rejected)
    2  the grammar could not be loaded or an input file could not be read
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, TextIO

from ..errors import GrammarError
from .sources import resolve

OK, FAILED, UNUSABLE = 0, 1, 2


def add_commands(commands) -> None:
    """Register the subcommands on an ``argparse`` subparsers object."""
    grammar_help = "a .lark, .gbnf or .json (JSON Schema) file, or a built-in grammar name"

    check = commands.add_parser("check", help="check example files against a grammar")
    check.add_argument("grammar", help=grammar_help)
    check.add_argument("--accept", nargs="+", default=[], metavar="FILE",
                       help="files whose whole content must be accepted")
    check.add_argument("--reject", nargs="+", default=[], metavar="FILE",
                       help="files whose content must be rejected")
    check.add_argument("--lenient", action="store_true",
                       help="JSON Schema: ignore keywords that cannot be compiled (warns)")
    check.add_argument("--start", help="start rule (default: start, or root for GBNF)")
    check.set_defaults(run=run_check)

    lint = commands.add_parser("lint", help="find unreachable/unproductive rules, overlaps, ...")
    lint.add_argument("grammar", help=grammar_help)
    lint.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    lint.add_argument("--json", action="store_true", help="findings as a JSON list")
    lint.add_argument("--start", help="start rule")
    lint.set_defaults(run=run_lint)

    sample = commands.add_parser("sample", help="random strings of a grammar (for fuzzing)")
    sample.add_argument("grammar", help=grammar_help)
    sample.add_argument("-n", "--count", type=int, default=10, help="how many (default 10)")
    sample.add_argument("--max-len", type=int, default=200, help="bytes per string (default 200)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument("--unique", action="store_true", help="no repeated strings")
    sample.add_argument("--raw", action="store_true",
                        help="print strings as they are, one per line (default: JSON strings)")
    sample.add_argument("--out-dir", type=Path, help="write each string to its own file here")
    sample.add_argument("--lenient", action="store_true",
                       help="JSON Schema: ignore keywords that cannot be compiled (warns)")
    sample.add_argument("--start", help="start rule")
    sample.set_defaults(run=run_sample)

    explain = commands.add_parser("explain", help="where and why a text fails a grammar")
    explain.add_argument("grammar", help=grammar_help)
    explain.add_argument("text", nargs="?", help="the text (or use --file)")
    explain.add_argument("--file", type=Path, help="read the text from this file")
    explain.add_argument("--lenient", action="store_true",
                       help="JSON Schema: ignore keywords that cannot be compiled (warns)")
    explain.add_argument("--start", help="start rule")
    explain.set_defaults(run=run_explain)


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Run the subcommand ``args`` was parsed for; returns the exit code."""
    return args.run(args, out or sys.stdout, err or sys.stderr)


def _load(args, err: TextIO):
    """(source, grammar), or None after printing why the grammar cannot be used."""
    try:
        source = resolve(args.grammar, start=args.start, lenient=args.lenient)
        return source, source.grammar()
    except (GrammarError, OSError) as e:
        print(f"constrain: cannot load grammar: {e}", file=err)
        return None


def run_check(args, out: TextIO, err: TextIO) -> int:
    from .assertions import explain

    loaded = _load(args, err)
    if loaded is None:
        return UNUSABLE
    source, grammar = loaded
    failures = 0
    for path, should_accept in [(p, True) for p in args.accept] + [(p, False) for p in args.reject]:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            print(f"constrain: cannot read {path}: {e}", file=err)
            return UNUSABLE
        result = explain(grammar, data)
        if result.accepted == should_accept:
            print(f"ok    {path} ({'accepted' if should_accept else 'rejected'})", file=out)
            continue
        failures += 1
        if should_accept:
            print(f"FAIL  {path}: should be accepted; {result.message()}", file=out)
        else:
            print(f"FAIL  {path}: should be rejected, but {source.name} accepts it", file=out)
    total = len(args.accept) + len(args.reject)
    print(f"{source.name}: {total - failures} of {total} example file(s) as expected", file=out)
    return FAILED if failures else OK


def run_lint(args, out: TextIO, err: TextIO) -> int:
    from .lint import describe, lint

    try:
        source = resolve(args.grammar, start=args.start)
    except (GrammarError, OSError) as e:
        print(f"constrain: cannot load grammar: {e}", file=err)
        return UNUSABLE
    findings = lint(source, start=args.start)
    if args.json:
        rows = [{"code": f.code, "severity": f.severity, "message": f.message,
                 "symbol": f.symbol, "line": f.line, "column": f.column, "pointer": f.pointer}
                for f in findings]
        print(json.dumps(rows, indent=2), file=out)
    else:
        print(describe(findings, source.name), file=out)
    failing = [f for f in findings if f.severity == "error" or args.strict]
    return FAILED if failing else OK


def run_sample(args, out: TextIO, err: TextIO) -> int:
    from .fuzz import sample

    loaded = _load(args, err)
    if loaded is None:
        return UNUSABLE
    _, grammar = loaded
    try:
        strings = sample(grammar, args.count, max_len=args.max_len, seed=args.seed,
                         unique=args.unique)
    except GrammarError as e:
        print(f"constrain: {e}", file=err)
        return FAILED
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        width = len(str(max(len(strings) - 1, 0)))
        for i, text in enumerate(strings):
            (args.out_dir / f"sample_{i:0{width}d}.txt").write_text(text, encoding="utf-8")
        print(f"wrote {len(strings)} sample(s) to {args.out_dir}", file=out)
        return OK
    for text in strings:
        print(text if args.raw else json.dumps(text, ensure_ascii=False), file=out)
    return OK


def run_explain(args, out: TextIO, err: TextIO) -> int:
    from .assertions import explain

    if (args.text is None) == (args.file is None):
        print("constrain explain: give the text or --file, not both", file=err)
        return UNUSABLE
    loaded = _load(args, err)
    if loaded is None:
        return UNUSABLE
    _, grammar = loaded
    try:
        data = args.file.read_bytes() if args.file is not None else args.text.encode("utf-8")
    except OSError as e:
        print(f"constrain: cannot read {args.file}: {e}", file=err)
        return UNUSABLE
    result = explain(grammar, data)
    print(result.message(), file=out)
    return OK if result.accepted else FAILED
