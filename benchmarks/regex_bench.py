"""Regex benchmark: constrain against XGrammar, llguidance and outlines-core.

Run ``python -m benchmarks.regex_bench [--tokenizer llama3-128k] [--repeat N]
[--markdown docs/PERFORMANCE.md]``.

For one tokenizer, in one process and on one thread, every engine is measured on the
same regexes (email, ISO 8601 date-time, IPv6, a 1,000-word alternation, and lists of
100 and 1,000 choices):

* vocabulary / tokenizer preparation time (once per engine);
* cold compile time per regex (median of up to ``--repeat`` runs, caches cleared);
* time per token-mask fill, walking valid example strings token by token along their
  canonical tokenization (``tok.encode(s, add_special_tokens=False)``), including the
  final mask where end-of-sequence becomes allowed;
* a cross-check of the allowed-token sets: at every step, each engine's mask is compared
  with the reference engine's (constrain when it imports, else the first engine),
  ignoring special / added tokens (EOS included), which engines treat differently.

The results are printed and, with ``--markdown``, written between the markers
``<!-- regex-bench:start -->`` and ``<!-- regex-bench:end -->`` of that file.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from benchmarks.common import (
    TOKENIZER_ROOT,
    describe_diff,
    fmt,
    load_average,
    machine_description,
    mask_to_bools,
    new_bitmask,
    percentile,
    special_ids,
    tokenizer_path,
    versions,
    write_markdown,
)

MARKDOWN_BLOCK = "regex-bench"  # written between <!-- regex-bench:start --> and :end -->
COMPILE_BUDGET_S = 2.0
NOTES = """Notes:

- Each mask time is one fill call into a zeroed numpy int32 bitmask (bit t%32 of word t//32),
  timed with `time.perf_counter_ns`; steps = masks per walk (tokens + 1, the last one being
  the final mask, where EOS must be allowed), counted once; the percentiles pool every
  repeated walk. "EOS in final mask" checks the tokenizer's `eos_token_id` bit.
- Compile = the engine's cold preparation of one regex: constrain `compile` (memory cache
  cleared, disk cache off), XGrammar `compile_regex` after `clear_cache()`, outlines-core
  `Index(...)`, llguidance `LLMatcher(...)`. llguidance builds its lexer lazily, so part of
  its compile work lands in the first masks (its p99 / max).
- Choice lists go through `Grammar.from_choices` in constrain and through an escaped
  alternation regex `(c1|c2|...)` in the peers.
- Known causes of peer differences (reproduced with minimal cases on these versions):
  outlines-core builds its DFA with leftmost-first match semantics, so once a prefix has
  matched, continuations through lower-priority paths are dropped (`(a|ab)`: after `a` only
  EOS is allowed; `(a[ab]{0,4}\\.)+[ab]{2,3}` rejects `a.abbb.bb` because `a.abb` already
  matched); it therefore refuses valid tokens (IPv6) and misses valid ones (a domain label
  that starts like a TLD, words or choices that extend other words). llguidance, when the
  grammar forces the next bytes, allows only the canonical token of the forced text instead
  of every token that is a prefix of it (regex `abcdefghij`: XGrammar allows `a`, `ab`,
  `abc`, ..., llguidance only `abcdefgh`), a deliberate narrowing rather than a bug.
"""  # stop repeating a cold compile once this much time was spent on it

# --------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------

HEX4 = "[0-9a-fA-F]{1,4}"
EMAIL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = rf"{EMAIL_ATOM}(\.{EMAIL_ATOM})*@({EMAIL_LABEL}\.)+[A-Za-z]{{2,24}}"

DATETIME_RE = (
    "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?"
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)

IPV6_RE = "(" + "|".join([
    f"({HEX4}:){{7}}{HEX4}",
    f"({HEX4}:){{1,7}}:",
    f"({HEX4}:){{1,6}}:{HEX4}",
    f"({HEX4}:){{1,5}}(:{HEX4}){{1,2}}",
    f"({HEX4}:){{1,4}}(:{HEX4}){{1,3}}",
    f"({HEX4}:){{1,3}}(:{HEX4}){{1,4}}",
    f"({HEX4}:){{1,2}}(:{HEX4}){{1,5}}",
    f"{HEX4}:(:{HEX4}){{1,6}}",
    f":((:{HEX4}){{1,7}}|:)",
]) + ")"

EMAIL_EXAMPLES = [
    "john.doe@example.com",
    "a.b-c_d+tag@sub.mail-server.co.uk",
    "x@y.io",
    "first.last+newsletter@company.example.org",
    "user_123@mail.ru",
    "o'reilly@books.example.net",
    "support@xn--bcher-kva.ch",
]
DATETIME_EXAMPLES = [
    "2024-02-29T23:59:59Z",
    "1999-12-31T00:00:00.123+05:30",
    "2023-07-04T12:30:45-07:00",
    "2000-01-01T00:00:00.000000001Z",
    "2025-10-15T08:05:09.5Z",
    "1970-01-01T00:00:00+00:00",
]
IPV6_EXAMPLES = [
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "2001:db8::1",
    "::1",
    "::",
    "fe80::",
    "fe80::1ff:fe23:4567:890a",
    "2001:db8:0:0:1::1",
    "ff02::2",
    "::ffff:0:1",
]

SYLLABLE_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "st"]
SYLLABLE_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
REGEX_META = set("\\.^$|?*+()[]{}/")


@dataclass
class Case:
    """One benchmark workload: a regex (or a choice list) and valid example strings."""

    name: str
    regex: str
    examples: list[str]
    choices: Optional[list[str]] = None


def pseudo_words(count: int, seed: int) -> list[str]:
    """Return ``count`` distinct pronounceable pseudo-words from a seeded RNG."""
    rng = random.Random(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLE_ONSETS) + rng.choice(SYLLABLE_VOWELS)
                       for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def choice_strings(count: int, seed: int) -> list[str]:
    """Return ``count`` distinct product-name-like phrases (spaces, digits, '.', '-')."""
    rng = random.Random(seed)
    vocab = pseudo_words(400, seed + 1)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        parts = [rng.choice(vocab).capitalize() for _ in range(rng.randint(1, 3))]
        style = rng.random()
        if style < 0.25:
            parts.append(str(rng.randint(1, 999)))
        elif style < 0.35:
            parts[0] = parts[0][:2] + "."
        elif style < 0.45 and len(parts) > 1:
            parts = ["-".join(parts[:2])] + parts[2:]
        text = " ".join(parts)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def escape_regex(text: str) -> str:
    """Escape the regex metacharacters of ``text`` (only those; portable across engines)."""
    return "".join("\\" + ch if ch in REGEX_META else ch for ch in text)


def alternation(strings: list[str]) -> str:
    """Return the regex ``(s1|s2|...)`` matching exactly the given strings."""
    return "(" + "|".join(escape_regex(s) for s in strings) + ")"


def build_cases() -> list[Case]:
    """Build the regex set, each with validated example strings."""
    rng = random.Random(7)
    words = pseudo_words(1000, seed=1000)
    choices100 = choice_strings(100, seed=100)
    choices1000 = choice_strings(1000, seed=2000)
    cases = [
        Case("email", EMAIL_RE, EMAIL_EXAMPLES),
        Case("iso8601 date-time", DATETIME_RE, DATETIME_EXAMPLES),
        Case("ipv6", IPV6_RE, IPV6_EXAMPLES),
        Case("1000-word alternation", alternation(words), rng.sample(words, 8)),
        Case("100 choices", alternation(choices100), rng.sample(choices100, 8), choices100),
        Case("1000 choices", alternation(choices1000), rng.sample(choices1000, 8), choices1000),
    ]
    for case in cases:
        for example in case.examples:
            if not re.fullmatch(case.regex, example):
                raise AssertionError(f"{case.name}: example {example!r} does not match")
    return cases


# --------------------------------------------------------------------------------------
# Tokenizer helpers
# --------------------------------------------------------------------------------------


def byte_level_decoder() -> dict[str, int]:
    """Return the inverse of the GPT-2 byte-to-printable-character map."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    mapping = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            mapping[chr(256 + extra)] = b
            extra += 1
    return mapping


def token_bytes(tok: Any) -> dict[int, bytes]:
    """Return the byte string of every regular (non-added) token of an HF fast tokenizer."""
    vocab = tok.backend_tokenizer.get_vocab(with_added_tokens=False)
    byte_level = any(piece.startswith("Ġ") for piece in vocab)
    out: dict[int, bytes] = {}
    if byte_level:
        inverse = byte_level_decoder()
        for piece, tid in vocab.items():
            if all(ch in inverse for ch in piece):
                out[tid] = bytes(inverse[ch] for ch in piece)
        return out
    for piece, tid in vocab.items():  # SentencePiece style: "▁" = space, "<0xNN>" = one byte
        if re.fullmatch(r"<0x[0-9A-Fa-f]{2}>", piece):
            out[tid] = bytes([int(piece[3:5], 16)])
        else:
            out[tid] = piece.replace("▁", " ").encode("utf-8")
    return out


# --------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------


class Engine:
    """Common interface of the benchmarked engines.

    ``prepare`` builds the vocabulary (timed once), ``compile`` builds one cold compiled
    regex, ``matcher`` starts a sequence, ``fill`` writes the current mask into the
    engine's bitmask (the timed call), ``accept`` advances by one token.
    """

    name = "?"
    exact = True  # whether the engine's masks take part in the cross-check

    def version(self) -> str:
        """Return the installed version of the engine."""
        raise NotImplementedError

    def prepare(self, tok: Any, path: str) -> None:
        """Build the engine's vocabulary for ``tok``."""
        raise NotImplementedError

    def skip_reason(self, case: Case) -> Optional[str]:
        """Return why ``case`` cannot be run on this engine, or None."""
        return None

    def compile(self, case: Case) -> Any:
        """Compile ``case`` with every cache cleared; return the compiled object."""
        raise NotImplementedError

    def matcher(self, compiled: Any) -> Any:
        """Return a fresh matcher for a compiled case."""
        raise NotImplementedError

    def bitmask(self) -> np.ndarray:
        """Allocate the bitmask the engine writes into."""
        raise NotImplementedError

    def filler(self, matcher: Any, bitmask: np.ndarray) -> Callable[[], Any]:
        """Return a no-argument callable that fills ``bitmask`` (the timed operation)."""
        raise NotImplementedError

    def accept(self, matcher: Any, token_id: int) -> bool:
        """Advance ``matcher`` by ``token_id``; False if the token was refused."""
        raise NotImplementedError


class ConstrainEngine(Engine):
    """constrain: ``Grammar.from_regex`` / ``from_choices``, ``compile(threads=1)``."""

    name = "constrain"

    def __init__(self) -> None:
        import constrain
        import constrain.compiler
        self.cn = constrain
        self.compiler_module = constrain.compiler
        self.vocab = None
        self.cached_prepare_ms: Optional[float] = None

    def version(self) -> str:
        """Return constrain's version."""
        return str(getattr(self.cn, "__version__", "dev"))

    def prepare(self, tok: Any, path: str) -> None:
        """Build the vocabulary from the HF tokenizer without the disk cache (the timed part).

        Afterwards ``from_pretrained`` is called twice (the first may write the disk cache)
        and the second call is timed as the disk-cached preparation.
        """
        self.vocab = self.cn.Vocabulary.from_tokenizer(tok, cache=False)
        try:
            self.cn.Vocabulary.from_pretrained(path)
            start = time.perf_counter()
            self.cn.Vocabulary.from_pretrained(path)
            self.cached_prepare_ms = (time.perf_counter() - start) * 1e3
        except Exception:  # noqa: BLE001 - informative only
            self.cached_prepare_ms = None

    def compile(self, case: Case) -> Any:
        """Compile cold: in-memory cache cleared, disk cache off."""
        cache = getattr(self.compiler_module, "_memory_cache", None)
        if cache is not None:
            cache.clear()
        if case.choices is not None:
            grammar = self.cn.Grammar.from_choices(case.choices)
        else:
            grammar = self.cn.Grammar.from_regex(case.regex)
        return self.cn.compile(grammar, self.vocab, threads=1, cache_on_disk=False)

    def matcher(self, compiled: Any) -> Any:
        """Return ``compiled.matcher()``."""
        return compiled.matcher()

    def bitmask(self) -> np.ndarray:
        """Allocate a bitmask for constrain's vocabulary size."""
        return new_bitmask(self.vocab.vocab_size)

    def filler(self, matcher: Any, bitmask: np.ndarray) -> Callable[[], Any]:
        """Return ``lambda: matcher.fill_bitmask(bitmask, row=0)``."""
        return lambda: matcher.fill_bitmask(bitmask, row=0)

    def accept(self, matcher: Any, token_id: int) -> bool:
        """Call ``matcher.accept_token``."""
        return bool(matcher.accept_token(token_id))


class XGrammarEngine(Engine):
    """XGrammar: ``GrammarCompiler(max_threads=1).compile_regex``, ``GrammarMatcher``."""

    name = "xgrammar"

    def __init__(self) -> None:
        import xgrammar
        self.xgr = xgrammar
        self.info = None
        self.compiler = None
        self.vocab_size = 0

    def version(self) -> str:
        """Return XGrammar's version."""
        return importlib.metadata.version("xgrammar")

    def prepare(self, tok: Any, path: str) -> None:
        """Build ``TokenizerInfo.from_huggingface`` and a single-thread compiler."""
        self.vocab_size = len(tok)
        self.info = self.xgr.TokenizerInfo.from_huggingface(tok, vocab_size=self.vocab_size)
        self.compiler = self.xgr.GrammarCompiler(self.info, max_threads=1)

    def compile(self, case: Case) -> Any:
        """Compile cold: the compiler's cache is cleared first."""
        self.compiler.clear_cache()
        return self.compiler.compile_regex(case.regex)

    def matcher(self, compiled: Any) -> Any:
        """Return a new ``GrammarMatcher``."""
        return self.xgr.GrammarMatcher(compiled)

    def bitmask(self) -> np.ndarray:
        """Allocate a bitmask for the tokenizer's size."""
        return new_bitmask(self.vocab_size)

    def filler(self, matcher: Any, bitmask: np.ndarray) -> Callable[[], Any]:
        """Return ``lambda: matcher.fill_next_token_bitmask(bitmask)`` (numpy accepted)."""
        return lambda: matcher.fill_next_token_bitmask(bitmask, 0)

    def accept(self, matcher: Any, token_id: int) -> bool:
        """Call ``matcher.accept_token``."""
        return bool(matcher.accept_token(token_id))


class OutlinesEngine(Engine):
    """outlines-core: ``Index(regex, Vocabulary)`` + ``Guide.write_mask_into``."""

    name = "outlines-core"

    def __init__(self) -> None:
        import outlines_core
        self.oc = outlines_core
        self.vocab = None
        self.vocab_size = 0

    def version(self) -> str:
        """Return outlines-core's version."""
        return importlib.metadata.version("outlines_core")

    def prepare(self, tok: Any, path: str) -> None:
        """Build a ``Vocabulary`` from the regular tokens' bytes (EOS = tokenizer's EOS).

        ``Vocabulary.from_pretrained`` only takes Hub model ids (it downloads), so the
        byte strings are decoded here; that Python work is part of the timed preparation.
        """
        self.vocab_size = len(tok)
        by_bytes: dict[bytes, list[int]] = {}
        for tid, data in token_bytes(tok).items():
            if tid != tok.eos_token_id:
                by_bytes.setdefault(data, []).append(tid)
        self.vocab = self.oc.Vocabulary(tok.eos_token_id, by_bytes)

    def compile(self, case: Case) -> Any:
        """Build the ``Index`` (no cache exists)."""
        return self.oc.Index(case.regex, self.vocab)

    def matcher(self, compiled: Any) -> Any:
        """Return a new ``Guide``."""
        return self.oc.Guide(compiled)

    def bitmask(self) -> np.ndarray:
        """Allocate a bitmask for the tokenizer's size."""
        return new_bitmask(self.vocab_size)

    def filler(self, matcher: Any, bitmask: np.ndarray) -> Callable[[], Any]:
        """Return a call of ``write_mask_into(ptr, numel, 4)``."""
        ptr, numel = bitmask.ctypes.data, bitmask.size
        return lambda: matcher.write_mask_into(ptr, numel, 4)

    def accept(self, matcher: Any, token_id: int) -> bool:
        """Advance the guide if the token is allowed."""
        if not matcher.accepts_tokens([token_id]):
            return False
        matcher.advance(token_id, return_tokens=False)
        return True


class LLGuidanceEngine(Engine):
    """llguidance: ``LLMatcher(LLTokenizer, grammar_from("regex", ...))``.

    llguidance compiles lazily: constructing the matcher parses the regex into a lexer,
    and the token trie walk happens at the first mask, so part of its "compile" cost
    shows up in the first mask time (hence its p99 / max).
    """

    name = "llguidance"

    def __init__(self) -> None:
        import llguidance
        import llguidance.hf
        self.ll = llguidance
        self.tokenizer = None

    def version(self) -> str:
        """Return llguidance's version."""
        return importlib.metadata.version("llguidance")

    def prepare(self, tok: Any, path: str) -> None:
        """Build the ``LLTokenizer`` from the HF fast tokenizer."""
        self.tokenizer = self.ll.hf.from_tokenizer(tok)

    def compile(self, case: Case) -> Any:
        """Build a matcher from the regex (the lark regex literal needs '/' escaped)."""
        grammar = self.ll.grammar_from("regex", case.regex.replace("/", "\\/"))
        matcher = self.ll.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise RuntimeError(matcher.get_error())
        return matcher

    def matcher(self, compiled: Any) -> Any:
        """Return a deep copy of the pristine compiled matcher."""
        return compiled.deep_copy()

    def bitmask(self) -> np.ndarray:
        """Allocate a bitmask for the LLTokenizer's size."""
        return new_bitmask(self.tokenizer.vocab_size)

    def filler(self, matcher: Any, bitmask: np.ndarray) -> Callable[[], Any]:
        """Return a call of ``unsafe_compute_mask_ptr(ptr, nbytes)``."""
        ptr, nbytes = bitmask.ctypes.data, bitmask.nbytes
        return lambda: matcher.unsafe_compute_mask_ptr(ptr, nbytes)

    def accept(self, matcher: Any, token_id: int) -> bool:
        """Consume the token; False if the matcher entered its error state."""
        return bool(matcher.consume_token(token_id)) and not matcher.is_error()


ENGINE_CLASSES = [ConstrainEngine, XGrammarEngine, LLGuidanceEngine, OutlinesEngine]


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """Measurements of one engine on one case."""

    compile_ms: Optional[float] = None
    mask_us: list[float] = field(default_factory=list)
    steps: int = 0
    refused: int = 0  # example tokens the engine refused
    eos_at_end: int = 0  # completed examples whose final mask allowed the tokenizer's EOS
    completed: int = 0
    skipped: Optional[str] = None
    disagree: dict[str, int] = field(default_factory=dict)  # other engine -> steps
    compared: dict[str, int] = field(default_factory=dict)
    first_diff: dict[str, str] = field(default_factory=dict)


def time_compile(engine: Engine, case: Case, repeat: int) -> tuple[float, Any]:
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


def walk(engine: Engine, compiled: Any, tokens: list[int], n_vocab: int,
         record: bool) -> tuple[list[float], list[np.ndarray], int]:
    """Walk one tokenized example; return (mask times us, allowed sets, refused count).

    One mask is filled before each token and one after the last (the final mask);
    with ``record`` each step's allowed set (booleans over at least ``n_vocab`` ids)
    is kept. The walk stops at the first refused token.
    """
    matcher = engine.matcher(compiled)
    bitmask = engine.bitmask()
    fill = engine.filler(matcher, bitmask)
    times: list[float] = []
    allowed: list[np.ndarray] = []
    for i in range(len(tokens) + 1):
        bitmask.fill(0)
        start = time.perf_counter_ns()
        fill()
        times.append((time.perf_counter_ns() - start) / 1e3)
        if record:
            allowed.append(mask_to_bools(bitmask, max(n_vocab, bitmask.size * 32)))
        if i < len(tokens) and not engine.accept(matcher, tokens[i]):
            return times, allowed, 1
    return times, allowed, 0


def run_case(engines: list[Engine], case: Case, tok: Any, comparable: np.ndarray,
             repeat: int) -> dict[str, CaseResult]:
    """Compile and walk ``case`` on every engine; cross-check masks step by step."""
    results = {e.name: CaseResult() for e in engines}
    compiled: dict[str, Any] = {}
    for engine in engines:
        res = results[engine.name]
        res.skipped = engine.skip_reason(case)
        if res.skipped:
            continue
        try:
            res.compile_ms, compiled[engine.name] = time_compile(engine, case, repeat)
        except Exception as exc:  # noqa: BLE001 - recorded in the table
            res.skipped = f"compile failed: {type(exc).__name__}: {str(exc)[:80]}"
    n_vocab = comparable.size
    eos_id = tok.eos_token_id
    for example in case.examples:
        tokens = tok.encode(example, add_special_tokens=False)
        sets: dict[str, list[np.ndarray]] = {}
        for engine in engines:
            if engine.name not in compiled:
                continue
            res = results[engine.name]
            for r in range(max(1, repeat)):
                times, allowed, refused = walk(engine, compiled[engine.name], tokens,
                                               n_vocab, record=(r == 0))
                res.mask_us.extend(times)
                if r == 0:
                    res.steps += len(times)
                    res.refused += refused
                    if not refused:
                        res.completed += 1
                        res.eos_at_end += bool(eos_id < allowed[-1].size and allowed[-1][eos_id])
                    sets[engine.name] = [a[:n_vocab] for a in allowed]
        cross_check(sets, results, comparable, tok, example)
    return results


def cross_check(sets: dict[str, list[np.ndarray]], results: dict[str, CaseResult],
                comparable: np.ndarray, tok: Any, example: str) -> None:
    """Count, for every engine pair, the steps where the comparable allowed sets differ."""
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            steps = min(len(sets[a]), len(sets[b]))
            for step in range(steps):
                ma = sets[a][step] & comparable
                mb = sets[b][step] & comparable
                for x, y in ((a, b), (b, a)):
                    results[x].compared[y] = results[x].compared.get(y, 0) + 1
                if np.array_equal(ma, mb):
                    continue
                for x, y in ((a, b), (b, a)):
                    results[x].disagree[y] = results[x].disagree.get(y, 0) + 1
                if b not in results[a].first_diff:
                    detail = f"{example!r} step {step}: " + describe_diff(ma, mb, tok, (a, b))
                    results[a].first_diff[b] = detail
                    results[b].first_diff[a] = detail


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------


def disagreement_cell(res: CaseResult, reference: str, name: str) -> str:
    """Render the disagreement count of ``name`` against the reference engine."""
    if name == reference:
        return "(reference)"
    if reference not in res.compared:
        return "-"
    return f"{res.disagree.get(reference, 0)} / {res.compared[reference]}"


def render(header: dict[str, str], prep: dict[str, str], cases: list[Case],
           all_results: dict[str, dict[str, CaseResult]], engines: list[Engine],
           reference: str) -> str:
    """Render the markdown section (header, preparation table, per-case table, notes)."""
    lines = ["## Regex benchmark", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "Vocabulary / tokenizer preparation (once per engine):", "",
              "| engine | preparation |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in prep.items()]
    lines += ["", f"Masks compared with {reference} at every step (special/added tokens, "
              "EOS included, masked out). Disagreements = differing steps / compared steps.",
              "", "| regex | engine | compile ms (cold, median) | mask p50 us | mask p99 us "
              "| mask max us | steps | refused tokens | EOS in final mask | disagreements vs "
              + reference + " |",
              "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    notes: list[str] = []
    for case in cases:
        for engine in engines:
            res = all_results[case.name][engine.name]
            if res.skipped:
                lines.append(f"| {case.name} | {engine.name} | skipped: {res.skipped} "
                             "| | | | | | | |")
                continue
            lines.append(
                f"| {case.name} | {engine.name} | {fmt(res.compile_ms, 2)} "
                f"| {fmt(percentile(res.mask_us, 50))} | {fmt(percentile(res.mask_us, 99))} "
                f"| {fmt(max(res.mask_us) if res.mask_us else None)} | {res.steps} "
                f"| {res.refused} | {res.eos_at_end} / {res.completed} "
                f"| {disagreement_cell(res, reference, engine.name)} |")
            for other, detail in sorted(res.first_diff.items()):
                if engine.name < other:
                    notes.append(f"- {case.name}, {engine.name} vs {other}: "
                                 f"{res.disagree[other]} / {res.compared[other]} steps differ; "
                                 f"first: {detail}")
    lines += ["", "Pairwise mask disagreements (all engine pairs; first differing step):", ""]
    lines += notes or ["- none"]
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def load_engines() -> tuple[list[Engine], dict[str, str]]:
    """Instantiate every importable engine; return (engines, name -> import error)."""
    engines: list[Engine] = []
    missing: dict[str, str] = {}
    for cls in ENGINE_CLASSES:
        try:
            engines.append(cls())
        except Exception as exc:  # noqa: BLE001 - reported
            missing[cls.name] = f"{type(exc).__name__}: {str(exc)[:100]}"
    return engines, missing


def prepare_all(engines: list[Engine], tok: Any, path: str) -> dict[str, str]:
    """Time each engine's vocabulary preparation; drop engines whose preparation fails."""
    prep: dict[str, str] = {}
    for engine in list(engines):
        start = time.perf_counter()
        try:
            engine.prepare(tok, path)
        except Exception as exc:  # noqa: BLE001 - reported
            prep[engine.name] = f"failed ({type(exc).__name__}: {str(exc)[:100]}); engine skipped"
            engines.remove(engine)
            continue
        text = f"{(time.perf_counter() - start) * 1e3:,.0f} ms"
        cached = getattr(engine, "cached_prepare_ms", None)
        if cached is not None:
            text += f" (from_tokenizer, no disk cache); {cached:,.1f} ms (from_pretrained, disk cache)"
        prep[engine.name] = text
    return prep


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tokenizer", default="llama3-128k",
                   help=f"folder name under {TOKENIZER_ROOT} or a path")
    p.add_argument("--repeat", type=int, default=3,
                   help="cold compiles (median) and timed walks per example")
    p.add_argument("--markdown", default=None, help="file whose regex-bench section to write")
    p.add_argument("--json", default=None, help="also dump raw results to this file")
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark, print the table, and optionally write it into markdown."""
    args = parse_args(argv)
    from transformers import AutoTokenizer

    path = tokenizer_path(args.tokenizer)
    tok = AutoTokenizer.from_pretrained(path)
    engines, missing = load_engines()
    prep = prepare_all(engines, tok, path)
    for name, why in missing.items():
        prep[name] = f"not importable ({why}); engine skipped"
    n_vocab = len(tok)
    comparable = np.ones(n_vocab, dtype=bool)
    comparable[[i for i in special_ids(tok) if i < n_vocab]] = False
    cases = build_cases()
    all_results: dict[str, dict[str, CaseResult]] = {}
    for case in cases:
        start = time.perf_counter()
        all_results[case.name] = run_case(engines, case, tok, comparable, args.repeat)
        print(f"[{case.name}] {time.perf_counter() - start:.1f} s", file=sys.stderr)
    reference = engines[0].name if engines else "-"
    cli = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m benchmarks.regex_bench", *cli])
    header = {
        "machine": machine_description() + load_average(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"`{command}`",
        "tokenizer": f"{os.path.basename(path.rstrip('/'))} ({n_vocab:,} tokens)",
        "versions": versions(engines),
        "settings": f"single thread, cold compiles (median of up to {args.repeat}), "
                    f"{args.repeat} timed walk(s) per example, numpy int32 bitmask",
    }
    section = render(header, prep, cases, all_results, engines, reference)
    print(section)
    if args.markdown:
        write_markdown(args.markdown, section, MARKDOWN_BLOCK)
    if args.json:
        dump = {c: {e: vars(r) for e, r in res.items()} for c, res in all_results.items()}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"header": header, "prep": prep, "results": dump}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
