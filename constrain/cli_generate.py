"""The ``generate`` and ``compile`` commands of the ``constrain`` CLI.

Exit codes: 0 success; 1 generation stopped before the grammar accepted (``--max-new-tokens``
too small); 2 a file, folder or grammar that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

from .errors import ConstrainError, GrammarError, IncompleteOutputError
from .grammar import Grammar
from .progress import TerminalProgress, begin

OK, INCOMPLETE, UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """A command-line input that cannot be used (exit 2)."""


def add_commands(commands) -> None:
    """Register ``generate`` and ``compile`` on an ``argparse`` subparsers object."""
    gen = commands.add_parser("generate", help="constrained generation with a local model folder")
    gen.add_argument("--model", required=True, help="a local transformers model folder")
    _grammar_options(gen, choices=True)
    gen.add_argument("--prompt", required=True, help="the prompt text")
    gen.add_argument("-n", "--num", type=int, default=1, help="outputs to generate (default 1)")
    gen.add_argument("--max-new-tokens", type=int, default=256, help="default 256")
    gen.add_argument("--temperature", type=float, default=None,
                     help="sampling temperature; 0 is greedy (default: greedy for one output, "
                          "1.0 for several)")
    gen.add_argument("--seed", type=int, default=None, help="torch random seed")
    _progress_option(gen)
    gen.set_defaults(run=run_generate)

    comp = commands.add_parser("compile", help="compile a grammar for a tokenizer, print stats, "
                                               "fill the cache")
    comp.add_argument("--tokenizer", required=True, help="a tokenizer folder (tokenizer.json)")
    _grammar_options(comp, choices=False)
    _progress_option(comp)
    comp.set_defaults(run=run_compile)


def _grammar_options(parser, *, choices: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--schema", metavar="FILE", help="a JSON Schema file")
    group.add_argument("--grammar", metavar="FILE",
                       help="a .lark or .gbnf grammar file (or a built-in grammar name)")
    group.add_argument("--regex", metavar="R", help="a regular expression")
    if choices:
        group.add_argument("--choices", metavar="A,B", help="comma-separated choices")


def _progress_option(parser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the compile's stages and a progress bar on stderr (default: "
                             "when stderr is a terminal)")


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Run the command ``args`` was parsed for; returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return args.run(args, out, err)
    except IncompleteOutputError as e:
        err.write(f"constrain {args.command}: {e}\n")
        return INCOMPLETE
    except (UsageError, ConstrainError, OSError) as e:
        err.write(f"constrain {args.command}: {e}\n")
        return UNUSABLE


def run_generate(args, out: TextIO, err: TextIO) -> int:
    """``constrain generate``: print one output per line (JSON values for ``--schema``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .generate import generate_rows
    from .json_generation import parse_output

    if args.num < 1 or args.max_new_tokens < 1:
        raise UsageError("-n and --max-new-tokens must be at least 1")
    report = _progress(args, err)
    begin(report, "building the grammar")
    grammar, schema = _grammar(args)
    folder = _folder(args.model, "model")
    begin(report, "loading the model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True).eval()
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot load a model and tokenizer from {folder}: {e}") from None
    temperature = args.temperature if args.temperature is not None else (0.0 if args.num == 1
                                                                          else 1.0)
    if temperature < 0 or (temperature == 0 and args.num > 1):
        raise UsageError("--temperature must be > 0 for several outputs (0 is greedy)")
    kwargs = {"max_new_tokens": args.max_new_tokens, "num_return_sequences": args.num,
              "do_sample": temperature > 0}
    if temperature > 0:
        kwargs["temperature"] = temperature
    if args.seed is not None:
        torch.manual_seed(args.seed)
    with torch.no_grad():
        rows = generate_rows(model, tokenizer, [args.prompt],
                             lambda v: _compile_for_generation(grammar, v, report), **kwargs)
    incomplete = 0
    for row in rows:
        if schema is not None and row.ended:
            out.write(json.dumps(parse_output(row.text, schema), ensure_ascii=False) + "\n")
        else:
            out.write(row.text + "\n")
        if not row.ended:
            incomplete += 1
    if incomplete:
        err.write(f"constrain generate: {incomplete} of {len(rows)} output(s) stopped at "
                  f"--max-new-tokens before the grammar accepted (printed as they are)\n")
        return INCOMPLETE
    return OK


def run_compile(args, out: TextIO, err: TextIO) -> int:
    """``constrain compile``: compile for a tokenizer and print time, grammar and memory."""
    from . import cache
    from .compiler import compile
    from .vocabulary import Vocabulary

    folder = _folder(args.tokenizer, "tokenizer")
    report = _progress(args, err)
    t0 = time.perf_counter()
    begin(report, "building the grammar")
    grammar, _ = _grammar(args)
    t1 = time.perf_counter()
    begin(report, "loading the vocabulary")
    vocab = Vocabulary.from_pretrained(folder)
    t2 = time.perf_counter()
    compiled = compile(grammar, vocab, progress=report)
    # Context-free grammars compute token sets lazily: the first mask does the start's share.
    begin(report, "computing the first mask")
    compiled.matcher().allowed_token_ids()
    t3 = time.perf_counter()
    where = cache.cache_dir()
    out.write(f"grammar:    {grammar!r} (parsed in {(t1 - t0) * 1e3:.1f} ms)\n"
              f"vocabulary: {folder.name}, {vocab.vocab_size} tokens, eos {list(vocab.eos_token_ids)} "
              f"(loaded in {(t2 - t1) * 1e3:.1f} ms)\n"
              f"compiled:   {(t3 - t2) * 1e3:.1f} ms (with the first mask), "
              f"{compiled.memory_bytes / 1024:.1f} KiB\n"
              f"cache:      {where if where is not None else 'disabled (CONSTRAIN_CACHE=0)'}\n")
    return OK


def _progress(args, err: TextIO) -> Optional[TerminalProgress]:
    """The progress display on ``err`` that ``--progress``/``--no-progress`` ask for; by default
    one when ``err`` is a terminal."""
    show = args.progress
    if show is None:
        isatty = getattr(err, "isatty", None)
        show = isatty is not None and isatty()
    return TerminalProgress(err) if show else None


def _compile_for_generation(grammar: Grammar, vocab, report: Optional[TerminalProgress]):
    """``compile(grammar, vocab)`` with its stages shown on ``report``, then the stage
    ``generating``."""
    from .compiler import compile

    compiled = compile(grammar, vocab, progress=report)
    begin(report, "generating")
    return compiled


def _grammar(args) -> tuple[Grammar, Optional[object]]:
    """(the grammar the options name, the JSON Schema document for ``--schema``, else None)."""
    from .grammar import _load_schema

    try:
        if args.schema is not None:
            schema = _load_schema(str(_file(args.schema, "schema")))
            return Grammar.from_json_schema(schema), schema
        if args.grammar is not None:
            return _grammar_file(args.grammar), None
        if args.regex is not None:
            return Grammar.from_regex(args.regex), None
        choices = [c for c in args.choices.split(",") if c]
        return Grammar.from_choices(choices), None
    except GrammarError as e:
        raise UsageError(str(e)) from None


def _grammar_file(spec: str) -> Grammar:
    from .testing.sources import resolve

    path = Path(spec)
    if path.exists() and path.suffix.lower() not in (".lark", ".gbnf"):
        raise UsageError(f"{spec}: --grammar takes a .lark or .gbnf file (use --schema for JSON "
                         f"Schema)")
    return resolve(spec).grammar()


def _file(spec: str, what: str) -> Path:
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"{what} file {spec!r} not found")
    return path


def _folder(spec: str, what: str) -> Path:
    path = Path(spec)
    if not path.is_dir():
        raise UsageError(f"{what} folder {spec!r} not found (local folders only)")
    return path
