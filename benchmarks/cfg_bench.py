"""Context-free grammar benchmark: constrain against XGrammar and llguidance.

Run ``python -m benchmarks.cfg_bench [--tokenizer llama3-128k] [--repeat N]
[--markdown docs/PERFORMANCE.md]``.

Three built-in grammars of constrain are measured, in one process and on one thread:

* ``json`` (``grammars/json.lark``) on the JSON documents of ``benchmarks/data/json/``,
  each in three styles (as written, compact, ``indent=2`` with ``ensure_ascii=False``);
* ``c`` (``grammars/c.lark``) on the C programs of ``benchmarks/data/c/``;
* ``sql`` (``grammars/sql.lark``, one SQLite statement) on every statement of the SQL
  scripts of ``benchmarks/data/sql/``.

Every engine walks each document along its canonical tokenization
(``tok.encode(text, add_special_tokens=False)``): one mask fill before every token and
one after the last (timed), then the token is accepted (a refusal ends the walk and is
counted; an engine that has spent ``WORKLOAD_WALKS`` walk budgets on one grammar walks
no more of its documents). Reported: cold compile time (constrain also from its disk
cache), time per mask p50 / p90 / p99 / max, refusals, and the steps whose allowed sets (special and
added tokens, EOS included, left out) differ from constrain's.

The peers get the same grammar where they can read it. XGrammar: its built-in JSON
grammar and, for every grammar, ``Grammar.from_lark`` on the Lark source with templates
and EBNF operators expanded (by Lark's own grammar loader, see ``expand_lark``).
llguidance: its Lark front end on the same expansion; llguidance lexes with a lexer, so
the word-separator terminal ``_B`` of the C and SQL grammars (needed only by a scannerless
reading) is dropped for it. Both peers are given an explicit leading ``%ignore`` item
where the text may start with one (neither allows ignored text before the first token).

The results are printed and, with ``--markdown``, written between the markers
``<!-- cfg-bench:start -->`` and ``<!-- cfg-bench:end -->`` of that file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from benchmarks.common import (
    TOKENIZER_ROOT,
    describe_diff,
    fmt,
    load_average,
    machine_description,
    mask_to_bools,
    percentile,
    publish,
    special_ids,
    tokenizer_path,
    versions,
)
from benchmarks.regex_bench import (
    ConstrainEngine,
    Engine,
    LLGuidanceEngine,
    XGrammarEngine,
    prepare_all,
)

MARKDOWN_BLOCK = "cfg-bench"
REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
GRAMMARS = REPO / "grammars"
COMPILE_BUDGET_S = 3.0  # stop repeating a cold compile once this much time was spent
WALK_BUDGET_S = 6.0  # a walk slower than this (per document) is cut short and marked
WORKLOAD_WALKS = 5  # after this many walk budgets spent on one workload, an engine stops
TARGETS = {  # (grammar, figure) -> (limit, unit); from the project's issue
    ("json", "mask p50"): (10.0, "us"),
    ("json", "mask p99"): (300.0, "us"),
    ("json", "compile, cold"): (200.0, "ms"),
    ("json", "compile, disk cache"): (20.0, "ms"),
    ("c", "mask p50"): (100.0, "us"),
}

# --------------------------------------------------------------------------------------
# Lark expansion for the peers
# --------------------------------------------------------------------------------------

REGEX_KEEP_ESCAPED = "\\.^$|?*+()[]{}/-"
CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CASE_GROUP = re.compile(r"\(\?i:((?:\\.|[^\\()\[\]|*+?{}.^$])*)\)")


def fold_case_groups(pattern: str) -> str:
    """Rewrite case-insensitive groups of plain text, ``(?i:ab)``, as ``(?:[Aa][Bb])``.

    Lark writes alternatives of ``"..."i`` strings as such groups; XGrammar reads no group
    flags. Escapes (``\\.``, ``\\d``) are left as they are.
    """
    def letter(m: re.Match) -> str:
        c = m.group(0)
        return f"[{c.upper()}{c.lower()}]" if c.isascii() and c.isalpha() else c

    return CASE_GROUP.sub(
        lambda m: "(?:" + re.sub(r"\\.|.", letter, m.group(1), flags=re.S) + ")", pattern)


def regex_literal(pattern: str) -> str:
    """Write a Python regex as a Lark ``/.../`` literal both peers read.

    Control characters become escapes, an unescaped ``/`` is escaped, needless escapes of
    punctuation added by ``re.escape`` (``\\&``, ``\\~``, ``\\ ``...), which XGrammar warns
    about, are dropped, and case-insensitive groups are spelt out (``fold_case_groups``).
    """
    pattern = fold_case_groups(pattern)
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in CONTROL_ESCAPES:
                out.append(CONTROL_ESCAPES[nxt])
            elif nxt.isalnum() or nxt in REGEX_KEEP_ESCAPED:
                out.append(ch + nxt)
            else:
                out.append(nxt)
            i += 2
            continue
        if ch == "/":
            out.append("\\/")
        elif ch in CONTROL_ESCAPES:
            out.append(CONTROL_ESCAPES[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
        i += 1
    return "/" + "".join(out) + "/"


def unique_name(base: str, used: set[str]) -> str:
    """Return ``base`` (or ``base_<k>``) not yet in ``used``, and record it."""
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def expand_lark(text: str, drop: tuple[str, ...] = (), leading_ignore: bool = False) -> str:
    """Rewrite a Lark grammar as plain Lark: no templates, no EBNF operators, no imports.

    Lark's own loader expands templates (``rule{b}``), ``?``/``*``/``+``/``[]`` and
    ``%import`` (from ``grammars/`` first, as constrain does); rules and terminals are
    renamed to plain identifiers. Terminals named in ``drop`` are removed from every
    rule (and rules left empty become optional). With ``leading_ignore`` the start rule
    may begin with any number of ``%ignore`` terminals.
    """
    from lark.lexer import PatternStr
    from lark.load_grammar import load_grammar

    grammar, _ = load_grammar(text, "<grammar>", [str(GRAMMARS)], False)
    terminals, rules, ignore = grammar.compile(["start"], set())
    used: set[str] = set()
    term = {t.name: unique_name("T_" + re.sub(r"[^A-Z0-9]+", "_", t.name.upper()).strip("_"), used)
            for t in terminals}
    alternatives: dict[str, list[list[str]]] = {}
    for rule in rules:
        symbols = [s.name for s in rule.expansion if s.name not in drop]
        alternatives.setdefault(rule.origin.name, []).append(symbols)
    empty = {n for n, alts in alternatives.items() if not any(alts)}
    rule_name = {n: "start" if n == "start" else
                 unique_name("r_" + re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_"), used)
                 for n in alternatives}
    if leading_ignore:
        rule_name["start"] = unique_name("r_start_body", used)
    lines = []
    for name, alts in alternatives.items():
        if name in empty:
            continue
        seqs: list[str] = []
        for alt in alts:
            seq = " ".join(rule_name[s] if s in alternatives else term[s]
                           for s in alt if s not in empty)
            if seq not in seqs:
                seqs.append(seq)
        body = " | ".join(s for s in seqs if s)
        lines.append(f"{rule_name[name]}: " + (f"({body})?" if "" in seqs else body))
    if leading_ignore:
        lead = " | ".join(term[i] for i in ignore if i not in drop)
        lines.append(f"start: ({lead})* {rule_name['start']}")
    for t in terminals:
        if t.name in drop:
            continue
        p = t.pattern
        literal = (json.dumps(p.value, ensure_ascii=False) if isinstance(p, PatternStr)
                   else regex_literal(p.value))
        lines.append(f"{term[t.name]}: {literal}{''.join(sorted(p.flags))}")
    lines += [f"%ignore {term[i]}" for i in ignore if i not in drop]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------


@dataclass
class Workload:
    """One grammar, its documents, and how each peer reads it."""

    name: str  # constrain built-in grammar name
    documents: list[tuple[str, str]]  # (label, text)
    lark: str = ""  # the grammar source
    xgrammar_lark: Optional[str] = None
    llguidance_lark: Optional[str] = None
    peer_errors: dict[str, str] = field(default_factory=dict)


def json_documents() -> list[tuple[str, str]]:
    """Return every JSON file of ``data/json`` as written, compact and indent=2/UTF-8."""
    docs = []
    for path in sorted((DATA / "json").glob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        value = json.loads(text)
        docs.append((f"{path.stem} (as written)", text))
        docs.append((f"{path.stem} (compact)", json.dumps(value, separators=(",", ":"))))
        docs.append((f"{path.stem} (indent=2, UTF-8)",
                     json.dumps(value, indent=2, ensure_ascii=False)))
    return docs


def c_documents() -> list[tuple[str, str]]:
    """Return every C program of ``data/c``."""
    return [(path.name, path.read_text(encoding="utf-8"))
            for path in sorted((DATA / "c").glob("*.c"))]


def sql_documents() -> list[tuple[str, str]]:
    """Return every statement of the SQL scripts of ``data/sql``, each a document.

    The built-in grammar reads one statement (with an optional ``;``), so a script is
    split after every ``;`` that ends a line; a comment before a statement stays with it.
    The statements come in turns (the first of every script, then the second...), so an
    engine that stops early (``WORKLOAD_WALKS``) has walked some of every script.
    """
    docs = []
    for path in sorted((DATA / "sql").glob("*.sql")):
        statements = re.split(r"(?<=;)\n", path.read_text(encoding="utf-8"))
        docs += [(k, f"{path.stem} #{k}", text.strip())
                 for k, text in enumerate((s for s in statements if s.strip()), 1)]
    return [(label, text) for _, label, text in sorted(docs, key=lambda d: d[0])]


WORD_SEPARATED = ("c", "sql")  # grammars with the separator _B; texts may start with comments


def build_workloads() -> list[Workload]:
    """Load the three grammars and derive the peers' versions of them."""
    workloads = [Workload("json", json_documents()), Workload("c", c_documents()),
                 Workload("sql", sql_documents())]
    for w in workloads:
        path = GRAMMARS / f"{w.name}.lark"
        if not path.exists():
            continue
        w.lark = path.read_text(encoding="utf-8")
        try:
            separated = w.name in WORD_SEPARATED
            w.xgrammar_lark = expand_lark(w.lark, leading_ignore=separated)
            w.llguidance_lark = (expand_lark(w.lark, drop=("_B",), leading_ignore=True)
                                 if separated else w.lark)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            w.peer_errors["expand"] = f"Lark expansion failed: {type(exc).__name__}: {exc}"[:160]
    return workloads


# --------------------------------------------------------------------------------------
# Engines (the regex benchmark's engines, compiling grammars instead of regexes)
# --------------------------------------------------------------------------------------


class CfgConstrain(ConstrainEngine):
    """constrain: ``Grammar.builtin(name)``, ``compile(threads=1)``; also from disk cache."""

    def compile(self, case: Workload) -> Any:
        """Compile cold: in-memory cache cleared, disk cache off."""
        self.compiler_module._memory_cache.clear()
        grammar = self.cn.Grammar.builtin(case.name)
        return self.cn.compile(grammar, self.vocab, threads=1, cache_on_disk=False)

    def disk_cached_compile_ms(self, case: Workload) -> float:
        """Time a compile served by a warm disk cache (fresh temporary cache directory)."""
        old = os.environ.get("CONSTRAIN_CACHE_DIR")
        with tempfile.TemporaryDirectory() as cache_dir:
            os.environ["CONSTRAIN_CACHE_DIR"] = cache_dir
            try:
                grammar = self.cn.Grammar.builtin(case.name)
                self.compiler_module._memory_cache.clear()
                self.cn.compile(grammar, self.vocab, threads=1, cache_on_disk=True)
                self.compiler_module._memory_cache.clear()
                start = time.perf_counter()
                self.cn.compile(self.cn.Grammar.builtin(case.name), self.vocab, threads=1,
                                cache_on_disk=True)
                return (time.perf_counter() - start) * 1e3
            finally:
                self.compiler_module._memory_cache.clear()
                if old is None:
                    os.environ.pop("CONSTRAIN_CACHE_DIR", None)
                else:
                    os.environ["CONSTRAIN_CACHE_DIR"] = old


class XGrammarBuiltinJson(XGrammarEngine):
    """XGrammar's own JSON grammar (``compile_builtin_json_grammar``)."""

    name = "xgrammar (built-in JSON)"

    def skip_reason(self, case: Workload) -> Optional[str]:
        """Only the JSON workload has a built-in counterpart."""
        return None if case.name == "json" else "n/a (no built-in grammar)"

    def compile(self, case: Workload) -> Any:
        """Compile cold (compiler cache cleared)."""
        self.compiler.clear_cache()
        return self.compiler.compile_builtin_json_grammar()


class XGrammarLark(XGrammarEngine):
    """XGrammar's ``Grammar.from_lark`` on the expanded Lark source (character level)."""

    name = "xgrammar (Lark)"

    def __init__(self, sibling: Optional[XGrammarEngine] = None) -> None:
        super().__init__()
        self.sibling = sibling

    def prepare(self, tok: Any, path: str) -> None:
        """Reuse the sibling engine's tokenizer info and compiler when it has one."""
        if self.sibling is not None and self.sibling.info is not None:
            self.info, self.compiler = self.sibling.info, self.sibling.compiler
            self.vocab_size = self.sibling.vocab_size
        else:
            super().prepare(tok, path)

    def skip_reason(self, case: Workload) -> Optional[str]:
        """Skip when the grammar could not be expanded."""
        return None if case.xgrammar_lark else case.peer_errors.get("expand", "no grammar")

    def compile(self, case: Workload) -> Any:
        """Convert (``from_lark``) and compile cold."""
        self.compiler.clear_cache()
        return self.compiler.compile_grammar(self.xgr.Grammar.from_lark(case.xgrammar_lark))


class CfgLLGuidance(LLGuidanceEngine):
    """llguidance: ``LLMatcher(tokenizer, grammar_from("lark", ...))``."""

    name = "llguidance (Lark)"

    def skip_reason(self, case: Workload) -> Optional[str]:
        """Skip when the grammar could not be expanded."""
        return None if case.llguidance_lark else case.peer_errors.get("expand", "no grammar")

    def compile(self, case: Workload) -> Any:
        """Build the matcher (llguidance compiles lazily, partly during the first masks)."""
        grammar = self.ll.grammar_from("lark", case.llguidance_lark)
        matcher = self.ll.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise RuntimeError(matcher.get_error())
        return matcher


def load_engines() -> tuple[list[Engine], dict[str, str]]:
    """Instantiate the engines that import; return (engines, name -> import error)."""
    engines: list[Engine] = []
    missing: dict[str, str] = {}
    for factory in (CfgConstrain, XGrammarBuiltinJson, XGrammarLark, CfgLLGuidance):
        try:
            if factory is XGrammarLark:
                sibling = next((e for e in engines if isinstance(e, XGrammarEngine)), None)
                engines.append(XGrammarLark(sibling))
            else:
                engines.append(factory())
        except Exception as exc:  # noqa: BLE001 - reported
            missing[factory.name] = f"{type(exc).__name__}: {str(exc)[:100]}"
    return engines, missing


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    """Measurements of one engine on one workload."""

    compile_ms: Optional[float] = None
    disk_compile_ms: Optional[float] = None
    skipped: Optional[str] = None
    mask_us: list[float] = field(default_factory=list)
    steps: int = 0
    walks: int = 0
    refusals: list[str] = field(default_factory=list)  # "document step k: token"
    cut_short: list[str] = field(default_factory=list)  # documents over the walk budget
    not_walked: int = 0  # documents left out once the workload's walk time was spent
    compared: int = 0
    disagree: dict[str, int] = field(default_factory=dict)  # kind -> differing steps
    diffs: dict[str, list[str]] = field(default_factory=dict)  # kind -> first few steps


@dataclass
class Walk:
    """One walk of one document: mask times, packed masks, where it stopped."""

    times: list[float]
    masks: list[np.ndarray]
    refused_at: Optional[int] = None
    cut_at: Optional[int] = None


def time_cold_compile(engine: Engine, case: Workload, repeat: int) -> tuple[float, Any]:
    """Return (median cold compile ms, compiled object) over up to ``repeat`` runs."""
    times: list[float] = []
    compiled = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        compiled = engine.compile(case)
        times.append((time.perf_counter() - start) * 1e3)
        if sum(times) > COMPILE_BUDGET_S * 1e3:
            break
    return statistics.median(times), compiled


def walk(engine: Engine, compiled: Any, tokens: list[int], record: bool,
         budget_s: float = WALK_BUDGET_S) -> Walk:
    """Fill a mask before every token and after the last, accepting the tokens in turn.

    Stops at the first refused token, or once the walk has used ``budget_s`` seconds.
    With ``record`` a copy of every packed mask row is kept.
    """
    matcher = engine.matcher(compiled)
    bitmask = engine.bitmask()
    fill = engine.filler(matcher, bitmask)
    result = Walk([], [])
    deadline = time.perf_counter() + budget_s
    for i in range(len(tokens) + 1):
        bitmask.fill(0)
        start = time.perf_counter_ns()
        fill()
        result.times.append((time.perf_counter_ns() - start) / 1e3)
        if record:
            result.masks.append(bitmask[0].copy())
        if i == len(tokens):
            break
        if not engine.accept(matcher, tokens[i]):
            result.refused_at = i
            break
        if time.perf_counter() > deadline:
            result.cut_at = i + 1
            break
    return result


def packed(mask: np.ndarray, words: int) -> np.ndarray:
    """Return ``mask`` as ``words`` uint32 words (truncated or zero padded)."""
    out = np.zeros(words, dtype=np.uint32)
    n = min(words, mask.size)
    out[:n] = mask.view(np.uint32)[:n]
    return out


FIRST = "first token of the document"
TRAILING_WS = "only constrain allows tokens ending in whitespace"
NON_ASCII = "only constrain allows tokens with non-ASCII text"
OTHER = "other"
DIFFS_SHOWN = {FIRST: 1, TRAILING_WS: 2, NON_ASCII: 1, OTHER: 4}


def classify(step: int, only_ref: np.ndarray, only_other: np.ndarray, tok: Any) -> str:
    """Sort a differing step into a kind: first token, trailing whitespace, non-ASCII text,
    or other.

    Both peers refuse ignored text before the first token (and XGrammar's built-in JSON
    grammar any top-level value but an object or array); after a complete JSON value
    they also refuse trailing whitespace, and llguidance's greedy lexer refuses
    whitespace that would end a lexeme early. The latter show up as steps where only
    constrain allows extra tokens, all ending with whitespace. Case-insensitive strings
    (``"select"i``) follow Python's ``re.IGNORECASE`` in constrain, as in Lark, which also
    matches the non-ASCII letters U+017F, U+0131 and U+212A (long s, dotless i, Kelvin
    sign); the peers fold ASCII only: steps where only constrain allows extra tokens, all
    with non-ASCII text (a partial UTF-8 character decodes as U+FFFD).
    """
    if step == 0:
        return FIRST
    if only_other.size or not only_ref.size:
        return OTHER
    texts = [tok.decode([int(t)]) for t in only_ref]
    if all(t[-1:].isspace() for t in texts):
        return TRAILING_WS
    if all(not t.isascii() for t in texts):
        return NON_ASCII
    return OTHER


def compare(ref: Walk, other: Walk, comparable: np.ndarray, res: Result, tok: Any,
            tokens: list[int], label: str, names: tuple[str, str]) -> None:
    """Count the steps where two engines' allowed sets differ (comparable ids only)."""
    words = comparable.size
    n_vocab = words * 32
    for step in range(min(len(ref.masks), len(other.masks))):
        a = packed(ref.masks[step], words) & comparable
        b = packed(other.masks[step], words) & comparable
        res.compared += 1
        if np.array_equal(a, b):
            continue
        in_a, in_b = mask_to_bools(a, n_vocab), mask_to_bools(b, n_vocab)
        kind = classify(step, np.flatnonzero(in_a & ~in_b), np.flatnonzero(in_b & ~in_a), tok)
        res.disagree[kind] = res.disagree.get(kind, 0) + 1
        shown = res.diffs.setdefault(kind, [])
        if len(shown) < DIFFS_SHOWN[kind]:
            prefix = tok.decode(tokens[:step])[-30:]
            shown.append(f"{label}, step {step} (after ...{prefix!r}): "
                         + describe_diff(in_a, in_b, tok, names))


def report_refusal(engine: Engine, label: str, text: str, tok: Any, tokens: list[int],
                   step: int) -> str:
    """Describe a refused token; for constrain (always a bug) print it loudly."""
    detail = (f"{label}, step {step}: token {tokens[step]} {tok.decode([tokens[step]])!r} "
              f"after ...{tok.decode(tokens[:step])[-40:]!r}")
    if isinstance(engine, ConstrainEngine):
        bar = "!" * 78
        print(f"\n{bar}\nBUG: constrain refused a token of a valid document\n{detail}\n"
              f"--- document ---\n{text}\n{bar}\n", file=sys.stderr)
    return detail


def walk_document(engine: Engine, compiled: Any, res: Result, label: str, text: str,
                  tok: Any, tokens: list[int], repeat: int, budget_s: float) -> Walk:
    """Walk one document up to ``repeat`` times into ``res``; return the first walk."""
    first = None
    for r in range(max(1, repeat)):
        w = walk(engine, compiled, tokens, (r == 0), budget_s)
        res.mask_us.extend(w.times)
        if first is None:
            first = w
        if w.refused_at is not None or w.cut_at is not None:
            break
    res.walks += 1
    res.steps += len(first.times)
    if first.refused_at is not None:
        res.refusals.append(report_refusal(engine, label, text, tok, tokens, first.refused_at))
    if first.cut_at is not None:
        res.cut_short.append(f"{label} ({first.cut_at} of {len(tokens) + 1} steps)")
    return first


def compile_all(engines: list[Engine], case: Workload, repeat: int,
                results: dict[str, Result]) -> dict[str, Any]:
    """Compile ``case`` cold on every engine that reads it; return name -> compiled."""
    compiled: dict[str, Any] = {}
    for engine in engines:
        res = results[engine.name]
        res.skipped = "grammar file missing" if not case.lark else engine.skip_reason(case)
        if res.skipped:
            continue
        try:
            res.compile_ms, compiled[engine.name] = time_cold_compile(engine, case, repeat)
            if isinstance(engine, CfgConstrain):
                res.disk_compile_ms = engine.disk_cached_compile_ms(case)
        except Exception as exc:  # noqa: BLE001 - recorded in the table
            res.skipped = f"compile failed: {type(exc).__name__}: {str(exc)[:160]}"
    return compiled


def run_workload(engines: list[Engine], case: Workload, tok: Any, comparable: np.ndarray,
                 repeat: int, budget_s: float) -> dict[str, Result]:
    """Compile and walk every document of ``case`` on every engine.

    An engine that has spent ``WORKLOAD_WALKS * budget_s`` seconds walking this workload
    walks none of its remaining documents (they are counted as not walked).
    """
    results = {e.name: Result() for e in engines}
    compiled = compile_all(engines, case, repeat, results)
    reference = engines[0] if engines and engines[0].name in compiled else None
    spent = {name: 0.0 for name in compiled}
    for label, text in case.documents:
        tokens = tok.encode(text, add_special_tokens=False)
        walks: dict[str, Walk] = {}
        for engine in (e for e in engines if e.name in compiled):
            res = results[engine.name]
            if spent[engine.name] > WORKLOAD_WALKS * budget_s:
                res.not_walked += 1
                continue
            start = time.perf_counter()
            walks[engine.name] = walk_document(engine, compiled[engine.name], res, label, text,
                                               tok, tokens, repeat, budget_s)
            spent[engine.name] += time.perf_counter() - start
        if reference is not None and reference.name in walks:
            for engine in (e for e in engines[1:] if e.name in walks):
                compare(walks[reference.name], walks[engine.name], comparable,
                        results[engine.name], tok, tokens, label, (reference.name, engine.name))
    return results


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

NOTES = """Notes:

- Mask time = one fill call into a zeroed numpy int32 bitmask (bit t%32 of word t//32),
  timed with `time.perf_counter_ns`, before every token of the canonical tokenization and
  once after the last; the percentiles pool every timed walk. Steps = masks of the first
  walk. A walk that takes more than {budget:.0f} s is cut short (marked below); an engine
  that has spent {workload:.0f} s walking one grammar's documents walks no more of them
  ("documents not walked").
- Compile = cold: constrain `compile(threads=1, cache_on_disk=False)` with its in-memory
  cache cleared (median of up to {repeat} runs); "disk" = the same compile served by a warm
  disk cache in a fresh temporary `CONSTRAIN_CACHE_DIR` (memory cache cleared). XGrammar:
  `compile_builtin_json_grammar()` or `compile_grammar(Grammar.from_lark(...))` after
  `clear_cache()`; llguidance: `LLMatcher(...)`, which compiles lazily, so part of its work
  lands in the first masks (its p99 / max).
- Peer grammars: templates and EBNF operators of the `.lark` files are expanded by Lark's
  own grammar loader into plain Lark (`expand_lark`). XGrammar reads Lark scannerlessly,
  at the character level, like constrain. llguidance lexes: the separator terminal `_B`
  of the C and SQL grammars (one whitespace character or a comment, required between two
  words in a scannerless reading) is dropped for it, since its lexer is meant to keep
  words apart by longest match (kept, it clashes with `%ignore WS` and valid SQL is
  refused). Neither peer accepts `%ignore` text before the first token (llguidance not
  after the last either), so for C and SQL (statements may start with a comment) an
  explicit leading `(WS | comment)*` is added.
- SQL: the grammar reads one statement, so each statement of the five scripts of
  `benchmarks/data/sql` (with the comment before it) is a document, taken in turns
  across the scripts. Keywords are `"..."i` strings, which both peers read; Lark writes
  `"a"i | "b"i` as a regex with `(?i:...)` groups, which XGrammar cannot read, so these
  are spelt out as `[Aa]` classes (`fold_case_groups`). constrain folds case as Python's
  `re.IGNORECASE` does (as Lark does), which also lets U+017F, U+0131 and U+212A (long s,
  dotless i, Kelvin sign) stand for s, i, k in keywords; the peers fold ASCII only (the
  "non-ASCII" disagreements). Without `_B`, llguidance accepts a keyword glued to a name
  (`UPDATEaccounts SET x=1`), hence most of its "other" disagreements on SQL. Its
  refusals on SQL are its Earley parser giving up on a mask ("Too many items (limit
  50000; mask)", ParserTooComplex), not a disagreement about the language.
- Disagreements = steps whose allowed sets differ from constrain's, special and added
  tokens (EOS included) left out, over the steps both engines reached.
"""


def target_lines(results: dict[str, dict[str, Result]], reference: str) -> list[str]:
    """Render the issue's targets as met / not met for constrain."""
    lines = ["| target | constrain | met? |", "|---|--:|---|"]
    for (grammar, figure), (limit, unit) in TARGETS.items():
        res = results.get(grammar, {}).get(reference)
        value: Optional[float] = None
        if res is not None and not res.skipped:
            value = {"mask p50": percentile(res.mask_us, 50),
                     "mask p99": percentile(res.mask_us, 99),
                     "compile, cold": res.compile_ms,
                     "compile, disk cache": res.disk_compile_ms}[figure]
        verdict = "missing" if value is None else ("met" if value <= limit else "**not met**")
        if res is not None and res.cut_short and figure.startswith("mask"):
            verdict = (f"**unknown**: walks cut short after {res.steps} steps, "
                       f"mask p90 there {fmt(percentile(res.mask_us, 90))} us")
        lines.append(f"| {grammar} {figure} <= {limit:g} {unit} | {fmt(value, 2)} {unit} "
                     f"| {verdict} |")
    return lines


def row(case: Workload, name: str, res: Result, reference: str) -> str:
    """Render one engine's row of the main table."""
    if res.skipped:
        return f"| {case.name} | {name} | {res.skipped} | | | | | | | | |"
    compile_cell = fmt(res.compile_ms, 1)
    if res.disk_compile_ms is not None:
        compile_cell += f" (disk {fmt(res.disk_compile_ms, 1)})"
    differing = sum(res.disagree.values())
    other = res.disagree.get(OTHER, 0)
    agreement = ("(reference)" if name == reference
                 else f"{differing} / {res.compared} ({other} other)")
    steps = f"{res.steps}" + (f" ({len(res.cut_short)} walks cut)" if res.cut_short else "")
    if res.not_walked:
        steps += f" ({res.not_walked} documents not walked)"
    return (f"| {case.name} | {name} | {compile_cell} | {fmt(percentile(res.mask_us, 50))} "
            f"| {fmt(percentile(res.mask_us, 90))} | {fmt(percentile(res.mask_us, 99))} "
            f"| {fmt(max(res.mask_us) if res.mask_us else None)} | {steps} "
            f"| {len(res.refusals)} / {res.walks} | {agreement} |")


def render(header: dict[str, str], prep: dict[str, str], workloads: list[Workload],
           results: dict[str, dict[str, Result]], engines: list[Engine],
           reference: str, repeat: int, budget_s: float) -> str:
    """Render the markdown section."""
    lines = ["## Context-free grammar benchmark", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "Vocabulary / tokenizer preparation (once per engine):", "",
              "| engine | preparation |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in prep.items()]
    lines += ["", "Targets (from the issue), constrain:", ""] + target_lines(results, reference)
    lines += ["", "| grammar | engine | compile ms (cold) | mask p50 us | mask p90 us "
              "| mask p99 us | mask max us | steps | walks with a refused token "
              f"| steps differing from {reference} |",
              "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    details: list[str] = []
    for case in workloads:
        for engine in engines:
            res = results[case.name][engine.name]
            lines.append(row(case, engine.name, res, reference))
            details += [f"- {case.name}, {engine.name}: refused at {r}" for r in res.refusals]
            details += [f"- {case.name}, {engine.name}: walk cut short: {c}" for c in res.cut_short]
            for kind, count in res.disagree.items():
                details.append(f"- {case.name}, {engine.name} vs {reference}, {kind}: "
                               f"{count} / {res.compared} steps; first ones:")
                details += [f"  - {d}" for d in res.diffs[kind]]
    documents = "; ".join(f"{c.name}: {len(c.documents)} documents" for c in workloads)
    lines += ["", f"Documents ({documents}). Refusals, cut walks and disagreements:", ""]
    lines += details or ["- none"]
    lines += ["", NOTES.format(budget=budget_s, repeat=repeat,
                                     workload=WORKLOAD_WALKS * budget_s)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tokenizer", default="llama3-128k",
                   help=f"folder name under {TOKENIZER_ROOT} or a path")
    p.add_argument("--repeat", type=int, default=2,
                   help="cold compiles (median) and timed walks per document")
    p.add_argument("--markdown", default=None, help="file whose cfg-bench section to write")
    p.add_argument("--walk-budget", type=float, default=WALK_BUDGET_S,
                   help="seconds after which one engine's walk of one document is cut short")
    return p.parse_args(argv)


def comparable_words(tok: Any) -> np.ndarray:
    """Return a packed uint32 mask of the ids compared (all but special / added ones)."""
    n_vocab = len(tok)
    keep = np.ones(((n_vocab + 31) // 32) * 32, dtype=bool)
    keep[n_vocab:] = False
    keep[[i for i in special_ids(tok) if i < n_vocab]] = False
    return np.packbits(keep, bitorder="little").view(np.uint32)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark, print the section, and optionally write it into markdown."""
    args = parse_args(argv)
    from transformers import AutoTokenizer

    path = tokenizer_path(args.tokenizer)
    tok = AutoTokenizer.from_pretrained(path)
    engines, missing = load_engines()
    prep = prepare_all(engines, tok, path)
    for name, why in missing.items():
        prep[name] = f"not importable ({why}); engine skipped"
    comparable = comparable_words(tok)
    workloads = build_workloads()
    results: dict[str, dict[str, Result]] = {}
    for case in workloads:
        start = time.perf_counter()
        results[case.name] = run_workload(engines, case, tok, comparable, args.repeat,
                                          args.walk_budget)
        print(f"[{case.name}] {time.perf_counter() - start:.1f} s", file=sys.stderr)
    reference = engines[0].name if engines else "-"
    cli = sys.argv[1:] if argv is None else argv
    header = {
        "machine": machine_description() + load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "`" + " ".join(["python -m benchmarks.cfg_bench", *cli]) + "`",
        "tokenizer": f"{os.path.basename(path.rstrip('/'))} ({len(tok):,} tokens)",
        "versions": versions(engines),
        "settings": f"single thread, {args.repeat} timed walk(s) per document, "
                    "numpy int32 bitmask",
    }
    section = render(header, prep, workloads, results, engines, reference, args.repeat,
                     args.walk_budget)
    publish(section, args.markdown, MARKDOWN_BLOCK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
