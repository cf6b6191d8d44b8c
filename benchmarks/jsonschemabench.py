"""JSONSchemaBench: constrain, XGrammar, llguidance and outlines-core on the same schemas.

    python -m benchmarks.jsonschemabench [--per-subset 3 | --full] [--engines ...]
        [--time-limit 10] [--compile-only] [--markdown docs/JSON_SCHEMA.md]

For every schema of every subset (or ``--per-subset`` of them, evenly spaced), tokenizer ready:

- instances: valid instances drawn by hypothesis-jsonschema, checked valid by ``jsonschema``,
  their keys put in schema order (``schema_engines.schema_order``: the order all engines here
  write), serialised compactly (floats in positional notation) and tokenized with the
  tokenizer's canonical encoding (an instance whose tokens do not spell its text is dropped);
- per engine (see ``benchmarks.schema_engines`` for how each compiles): a cold compile, timed;
  then every instance is walked token by token, one mask fill before every token and one after
  the last (timed), each token accepted in turn; an instance refused on the way, or not
  complete at its end, is a valid instance wrongly rejected. Memory of the compiled grammar is
  read after the walks, where the engine exposes it;
- constrain also takes random walks under its masks (biased to finish); every finished walk
  must be JSON that ``jsonschema`` accepts.

Each engine, and the drawing of instances, runs in its own worker process; one call (a compile,
the walks of one schema, one draw) that takes more than ``--time-limit`` seconds kills the
worker and counts as a timeout, so no schema can stall the run.

``--compile-only`` skips the instances and the walks: the compile table alone, over many
schemas (``--full --engines constrain --compile-only`` compiles all 7,474 in about 4 minutes
on one core), in a block of its own (``jsonschemabench-compile``).
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import re
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Optional

import jsonschema
import numpy as np

from benchmarks.common import (fmt, load_average, machine_description, percentile, progress,
                               shared_data, tokenizer_path, write_markdown)
from benchmarks.schema_engines import ENGINES, SchemaSession, schema_order
from benchmarks.workers import Worker, WorkerCrashed, WorkerTimeout

BENCH = shared_data() / "data" / "jsonschemabench"
MASK_QUANTILES = (50, 90, 99, 99.9)


# --------------------------------------------------------------------------------------
# Schemas and instances
# --------------------------------------------------------------------------------------


def evenly_spaced(items: list, limit: Optional[int], offset: float = 0.0) -> list:
    """``limit`` of ``items`` evenly spaced (all if None or more than there are); with
    ``offset`` 0 the first is taken, with 0.5 the middle of each stretch."""
    if limit is None or limit >= len(items):
        return list(items)
    step = len(items) / limit
    return [items[int((i + offset) * step)] for i in range(limit)]


def schema_files(subset: Path, limit: Optional[int]) -> list[Path]:
    """The subset's schema files, sorted; ``limit`` of them evenly spaced (all if None)."""
    return evenly_spaced(sorted(subset.glob("*.json")), limit)


def load_schema(path: Path):
    """The schema of a JSONSchemaBench file (each file holds one schema)."""
    return json.loads(path.read_text(encoding="utf-8"))


def validator(schema):
    """Draft 2020-12 validation with formats checked and ECMA-262 patterns, the definition of
    the language (DESIGN.md section 1), whatever draft the schema names: under draft 4, for
    example, 1.0 is not an integer, under 2020-12 it is. (jsonschema's own pattern check runs
    Python's re, whose \\d and \\w take any Unicode digit or letter: ``ecma_regex``.)"""
    cls = _validator_class(exact=False)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def exact_validator(schema):
    """``validator`` over exact numbers, the judge of constrain's random walks: the schema and
    the judged texts are read with ``decimal.Decimal`` for every non-integer, so that a number
    is judged by its decimal value, as the grammar judges it (docs/JSON_SCHEMA.md), not after
    rounding to a float (which overflows past ~1e308, and makes 74862629757.65 no multiple of
    0.01). Judge texts parsed by ``parse_exact``."""
    cls = _validator_class(exact=True)
    return cls(parse_exact(json.dumps(schema)), format_checker=cls.FORMAT_CHECKER)


@functools.lru_cache(maxsize=None)
def _validator_class(exact: bool):
    """Draft202012Validator with ECMA-262 patterns; ``exact``: decimals count as integers."""
    base = jsonschema.Draft202012Validator
    types = base.TYPE_CHECKER.redefine("integer", _is_integer) if exact else base.TYPE_CHECKER
    keywords = {"pattern": _pattern, "patternProperties": _pattern_properties,
                "additionalProperties": _additional_properties}
    if exact:
        keywords["multipleOf"] = _multiple_of
    return jsonschema.validators.extend(base, validators=keywords, type_checker=types)


def _multiple_of(validator, divisor, instance, schema):
    """The ``multipleOf`` keyword on exact numbers, with fractions: Decimal's ``%`` fails
    (DivisionImpossible) when the quotient has more digits than its precision (1e40 and
    0.01). A non-finite float (an exponent past Decimal's range) is left to jsonschema."""
    if isinstance(instance, float) and not math.isfinite(instance):
        yield from jsonschema.Draft202012Validator.VALIDATORS["multipleOf"](
            validator, divisor, instance, schema)
    elif validator.is_type(instance, "number") and Fraction(instance) % Fraction(divisor):
        yield jsonschema.ValidationError(f"{instance} is not a multiple of {divisor}")


def _pattern(validator, pattern, instance, schema):
    """The ``pattern`` keyword, by ``ecma_regex``."""
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    """The ``patternProperties`` keyword, by ``ecma_regex``."""
    if validator.is_type(instance, "object"):
        for pattern, subschema in patterns.items():
            for key, value in instance.items():
                if ecma_regex(pattern).search(key):
                    yield from validator.descend(value, subschema, path=key,
                                                 schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    """The ``additionalProperties`` keyword, keys matched against ``patternProperties`` by
    ``ecma_regex``."""
    if not validator.is_type(instance, "object"):
        return
    named, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [key for key in instance if key not in named
              and not any(ecma_regex(p).search(key) for p in patterns)]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield jsonschema.ValidationError(f"additional properties {extras!r} are not allowed")


# ECMA-262's character class escapes, as the bodies of Python character classes.
_ECMA_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_",
                 "s": "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"}


@functools.lru_cache(maxsize=None)
def ecma_regex(pattern: str) -> "re.Pattern":
    """``pattern`` compiled by Python's re with ECMA-262's \\d, \\w, \\s (ASCII digits and
    word characters; ECMA white space and line terminators) and their negations in place of
    re's Unicode classes. (A negated escape inside brackets, [\\D...], is left to re.)"""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            escape = pattern[i + 1]
            body = _ECMA_CLASSES.get(escape.lower())
            if body is not None and not (in_class and escape.isupper()):
                out.append(body if in_class else ("[^%s]" if escape.isupper() else "[%s]") % body)
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return re.compile("".join(out))


def parse_exact(text):
    """JSON with non-integers as ``decimal.Decimal`` (as a float where the exponent is past
    Decimal's range, ~10^18: an unbounded number may be written 1e99999999999999999999)."""
    return json.loads(text, parse_float=_decimal)


def _decimal(text: str):
    try:
        return Decimal(text)
    except ArithmeticError:
        return float(text)


def _is_integer(checker, value) -> bool:
    """2020-12 "integer": a number with no fractional part (1.0 included), decimals too."""
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(value, "integer")


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


def draw_instances(schema, count: int, seed: int) -> list:
    """Up to ``count`` instances from hypothesis-jsonschema ([] if it cannot handle the schema).

    ``seed`` is unused: drawing is derandomized, so every run draws the same instances.
    hypothesis-jsonschema rewrites the schema it is given in place (it sorts ``properties``,
    for one), so it gets a copy.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis_jsonschema import from_schema

    found = []
    try:
        strategy = from_schema(copy.deepcopy(schema))

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


class InstanceSource:
    """Worker-side: draws, checks, orders, serialises and tokenizes instances of a schema."""

    def __init__(self, tokenizer: str):
        import constrain as cn
        from transformers import AutoTokenizer
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path(tokenizer))
        self.vocab = cn.Vocabulary.from_pretrained(tokenizer_path(tokenizer))

    def draw(self, schema, count: int, seed: int = 0) -> dict:
        """``{"texts": [...], "sequences": [token ids, ...], "dropped": {why: n}}``."""
        check = validator(schema)
        out: dict = {"texts": [], "sequences": [], "dropped": Counter()}
        for value in draw_instances(schema, count, seed):
            if not check.is_valid(value):
                out["dropped"]["drawn instance invalid"] += 1
                continue
            text = compact(schema_order(value, schema))
            ids = self.tokenizer.encode(text, add_special_tokens=False)
            if b"".join(self.vocab.token_bytes[i] for i in ids) != text.encode():
                out["dropped"]["tokenizer normalised the text"] += 1
                continue
            out["texts"].append(text)
            out["sequences"].append(ids)
        return out


# --------------------------------------------------------------------------------------
# constrain's random walks
# --------------------------------------------------------------------------------------


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


class ConstrainSession(SchemaSession):
    """constrain's worker session, with random walks under the masks."""

    def __init__(self, tokenizer: str):
        super().__init__("constrain", tokenizer)

    def random_walks(self, schema, count: int, max_tokens: int, seed: int) -> dict:
        """``count`` random walks with the last compiled schema; the finished ones validated.

        Returns ``{"finished": n, "invalid": [first 200 bytes of each invalid text]}``.
        """
        check = exact_validator(schema)
        rng = np.random.default_rng(seed)
        finished, invalid = 0, []
        for _ in range(count):
            text, done = walk(self.compiled, self.engine.vocab, rng, max_tokens)
            if not done:
                continue
            finished += 1
            try:
                ok = check.is_valid(parse_exact(text))
            except ValueError:
                ok = False
            if not ok:
                invalid.append(text[:200])
        return {"finished": finished, "invalid": invalid}


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


@dataclass
class EngineResult:
    """One engine's counts and timings over a set of schemas."""

    name: str
    schemas: int = 0
    compiled: int = 0
    failures: Counter = field(default_factory=Counter)  # error / timeout / crash
    reasons: Counter = field(default_factory=Counter)  # reason text -> schemas
    warned: int = 0  # compiled, with warnings (approximations the engine announced)
    warnings: Counter = field(default_factory=Counter)  # warning text -> schemas
    compile_ms: list = field(default_factory=list)
    memory: list = field(default_factory=list)
    walk_failures: Counter = field(default_factory=Counter)  # compiled, walks not measured
    mask_us: dict = field(default_factory=dict)  # schema -> [mask times of each instance]
    instances: int = 0
    rejected: dict = field(default_factory=dict)  # schema -> {instance index: text}

    def add(self, other: "EngineResult") -> None:
        """Accumulate another result of the same engine (for totals)."""
        for name in ("schemas", "compiled", "warned", "instances"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("failures", "reasons", "warnings", "walk_failures"):
            getattr(self, name).update(getattr(other, name))
        self.compile_ms += other.compile_ms
        self.memory += other.memory
        self.mask_us.update(other.mask_us)
        self.rejected.update(other.rejected)

    def times(self, keep: Optional[dict] = None) -> list[float]:
        """Every mask time; ``keep``: only these schemas' instances (schema -> indices)."""
        return [t for schema, walks in self.mask_us.items() if keep is None or schema in keep
                for i, ts in enumerate(walks) if keep is None or i in keep[schema] for t in ts]


@dataclass
class SubsetResult:
    """Per engine results for one subset, plus the instances drawn and constrain's walks."""

    name: str
    schemas: int = 0
    engines: dict = field(default_factory=dict)  # engine name -> EngineResult
    instances: int = 0  # usable instances drawn (every engine walks the same ones)
    dropped: Counter = field(default_factory=Counter)  # instances not used, by reason
    stopped: Counter = field(default_factory=Counter)  # work killed by the time limit, by kind
    walks: int = 0
    walks_finished: int = 0
    walks_invalid: list = field(default_factory=list)  # (schema file, text)

    def add(self, other: "SubsetResult") -> None:
        """Accumulate another subset (for totals)."""
        for name in ("schemas", "instances", "walks", "walks_finished"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped.update(other.dropped)
        self.stopped.update(other.stopped)
        self.walks_invalid += other.walks_invalid
        for engine, r in other.engines.items():
            self.engines.setdefault(engine, EngineResult(engine)).add(r)


def failure_kind(error: Exception) -> str:
    """'timeout' or 'crash' for a worker failure."""
    return "timeout" if isinstance(error, WorkerTimeout) else "crash"


class Harness:
    """The worker processes of a run: one instance source, one session per engine."""

    def __init__(self, tokenizer: str, engines: list[str], time_limit: float):
        self.time_limit = time_limit
        self.seconds: Counter = Counter()  # wall time per activity, worker restarts included
        self.source = Worker(InstanceSource, tokenizer)
        self.sessions = {name: Worker(ConstrainSession, tokenizer) if name == "constrain"
                         else Worker(SchemaSession, name, tokenizer) for name in engines}

    def close(self) -> None:
        """Stop every worker."""
        for worker in [self.source, *self.sessions.values()]:
            worker.close()

    def __enter__(self) -> "Harness":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, activity: str, worker: Worker, method: str, *args):
        """``worker.call`` bounded by the time limit, its wall time added to ``activity``."""
        start = time.perf_counter()
        try:
            return worker.call(method, *args, timeout=self.time_limit)
        finally:
            self.seconds[activity] += time.perf_counter() - start

    def draw(self, schema, count: int, seed: int, result: SubsetResult) -> dict:
        """The instances of ``schema`` (none if drawing timed out or crashed: counted)."""
        if count == 0:
            return {"texts": [], "sequences": []}
        try:
            drawn = self.call("drawing instances", self.source, "draw", schema, count, seed)
        except (WorkerTimeout, WorkerCrashed) as e:
            result.stopped[f"drawing instances ({failure_kind(e)})"] += 1
            return {"texts": [], "sequences": []}
        result.dropped.update(drawn["dropped"])
        result.instances += len(drawn["texts"])
        return drawn

    def run_engine(self, name: str, schema, file: str, drawn: dict, result: EngineResult) -> bool:
        """Compile ``schema`` and walk the instances on one engine; True if it compiled."""
        worker = self.sessions[name]
        result.schemas += 1
        try:
            outcome = self.call(name, worker, "compile", schema)
        except (WorkerTimeout, WorkerCrashed) as e:
            kind = failure_kind(e)
            result.failures[kind] += 1
            result.reasons[f"{kind} > {self.time_limit:g} s" if kind == "timeout" else kind] += 1
            return False
        if "error" in outcome:
            result.failures["error"] += 1
            result.reasons[outcome["error"]] += 1
            return False
        result.compiled += 1
        result.compile_ms.append(outcome["ms"])
        if outcome["warnings"]:
            result.warned += 1
            result.warnings.update(outcome["warnings"])
        try:
            walked = self.call(name, worker, "walk", drawn["sequences"])
        except (WorkerTimeout, WorkerCrashed) as e:
            result.walk_failures[failure_kind(e)] += 1
            return True
        if walked["memory"] is not None:
            result.memory.append(walked["memory"])
        result.mask_us[file] = walked["mask_us"]
        result.instances += len(drawn["sequences"])
        if walked["rejected"]:
            result.rejected[file] = {i: drawn["texts"][i] for i in walked["rejected"]}
        return True

    def random_walks(self, schema, file: str, walks: int, max_tokens: int, seed: int,
                     result: SubsetResult) -> None:
        """constrain's random walks with the schema it compiled last (a timeout is counted)."""
        try:
            out = self.call("constrain random walks", self.sessions["constrain"], "random_walks",
                            schema, walks, max_tokens, seed)
        except (WorkerTimeout, WorkerCrashed) as e:
            result.stopped[f"constrain's random walks ({failure_kind(e)})"] += 1
            return
        result.walks += walks
        result.walks_finished += out["finished"]
        result.walks_invalid += [(file, text) for text in out["invalid"]]


def run_subset(subset: Path, harness: Harness, limit: Optional[int], walks: int, instances: int,
               max_tokens: int, seed: int = 0) -> SubsetResult:
    """Draw instances, then compile and walk them on every engine, schema by schema."""
    return run_schemas(subset.name, schema_files(subset, limit), harness, walks, instances,
                       max_tokens, seed)


def run_schemas(name: str, paths: list[Path], harness: Harness, walks: int, instances: int,
                max_tokens: int, seed: int = 0) -> SubsetResult:
    """``run_subset`` on a given list of schema files, the result named ``name``; with
    ``walks`` 0 constrain takes no random walks."""
    result = SubsetResult(name)
    result.engines = {engine: EngineResult(engine) for engine in harness.sessions}
    for path in progress(paths, desc=name):
        result.schemas += 1
        schema = load_schema(path)
        key = f"{path.parent.name}/{path.name}"
        drawn = harness.draw(schema, instances, seed, result)
        for engine in harness.sessions:
            compiled = harness.run_engine(engine, schema, key, drawn, result.engines[engine])
            if engine == "constrain" and compiled and walks:
                harness.random_walks(schema, key, walks, max_tokens, seed, result)
    return result


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def shared_instances(engines: list[EngineResult]) -> dict[str, set[int]]:
    """Schema -> the instances that all ``engines`` walked to the end and accepted."""
    if not engines:
        return {}
    schemas = set.intersection(*(set(r.mask_us) for r in engines))
    out = {}
    for schema in schemas:
        count = len(engines[0].mask_us[schema])
        refused = set().union(*(r.rejected.get(schema, {}).keys() for r in engines))
        out[schema] = set(range(count)) - refused
    return out


def compile_row(subset: str, r: EngineResult) -> str:
    """A row of the compile table."""
    rate = 100 * r.compiled / r.schemas if r.schemas else 0
    memory = f"{percentile(r.memory, 50) / 1024:,.0f}" if r.memory else "n/a"
    reasons = "; ".join(f"{k} ({n})" for k, n in r.reasons.most_common(3)).replace("|", "\\|")
    return (f"| {subset} | {r.name} | {r.schemas} | {r.compiled} ({rate:.0f}%) | {r.warned} | "
            f"{r.failures['error']} | {r.failures['timeout']} | {r.failures['crash']} | "
            f"{fmt(percentile(r.compile_ms, 50))} | {fmt(percentile(r.compile_ms, 99))} | "
            f"{fmt(max(r.compile_ms) if r.compile_ms else None)} | {memory} | {reasons} |")


def mask_row(subset: str, r: EngineResult, keep: Optional[dict] = None) -> str:
    """A row of a mask table; ``keep``: only these instances (schema -> indices)."""
    times = r.times(keep)
    cells = " | ".join(fmt(percentile(times, q)) for q in MASK_QUANTILES)
    if keep is None:
        skipped = sum(r.walk_failures.values())
        walked = f"{sum(1 for x in r.mask_us.values() if x)}" + (
            f" (+{skipped} stopped)" if skipped else "")
        rejected = sum(len(x) for x in r.rejected.values())
        instances = f"{rejected} / {r.instances}"
    else:
        walked = str(sum(1 for x in keep.values() if x))
        instances = str(sum(len(x) for x in keep.values()))
    return (f"| {subset} | {r.name} | {walked} | {instances} | {len(times)} | {cells} | "
            f"{fmt(max(times) if times else None)} |")


def markdown(results: list[SubsetResult], args, seconds: float, engines_line: str,
             spent: Counter) -> str:
    """The report block: compile, masks and instances, masks on shared instances, walks."""
    every = SubsetResult("all")
    for r in results:
        every.add(r)
    lines = header_lines(every, args, seconds, engines_line, spent) + compile_lines(results, every)
    if not args.compile_only:
        lines += mask_lines(results, every) + walk_lines(results, every)
    return "\n".join(lines) + "\n"


def header_lines(every: SubsetResult, args, seconds: float, engines_line: str,
                 spent: Counter) -> list[str]:
    """The block's title and the settings of the run."""
    scope = "every schema" if args.full else f"{args.per_subset} schemas per subset"
    work = ("compile only (no instances, no walks)" if args.compile_only else
            f"up to {args.instances} hypothesis-jsonschema instances per schema "
            f"({every.instances} usable; the same token sequences for every engine); {args.walks} "
            f"random walks of constrain (at most {args.max_tokens} tokens) per schema")
    lines = [
        "## JSONSchemaBench" + (": compile times" if args.compile_only else ""),
        "",
        f"- command: `{args.command}`; {scope}; time limit {args.time_limit:g} s; tokenizer "
        f"{args.tokenizer}; {work}",
        f"- machine: {machine_description()}{load_average()}; run time {seconds:.0f} s; "
        "one thread per engine, engines one after the other",
        f"- versions: {engines_line}",
        "- wall time (worker starts and restarts included): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items()),
        "- each engine in its own worker process, which compiles a two-property schema once, "
        "untimed, before the timed compiles (lazy imports are not a compile); a compile or a "
        f"schema's walks taking over {args.time_limit:g} s is killed and counted (timeout); a "
        "worker that dies is a crash",
    ]
    if args.compile_only:
        return lines
    return lines + [
        "- instances: keys in schema order for every engine (constrain compiled with the "
        "default `property_order=\"schema\"`); instances dropped: "
        + (", ".join(f"{k} ({n})" for k, n in sorted(every.dropped.items())) or "none")
        + "; schemas whose drawing or walks were stopped (time limit or crash): "
        + (", ".join(f"{k} ({n})" for k, n in sorted(every.stopped.items())) or "none"),
    ]


def compile_lines(results: list[SubsetResult], every: SubsetResult) -> list[str]:
    """The compile table (a row per subset and engine, then the totals) and the warnings."""
    names = list(every.engines)
    lines = [
        "",
        "Compile (cold, tokenizer ready); memory of the compiled grammar after the walks "
        "(constrain builds its token sets lazily, those the walks needed are included; n/a: "
        "the engine does not expose it):",
        "",
        "| subset | engine | schemas | compiled | of which with warnings | errors | timeouts | "
        "crashes | compile p50 ms | compile p99 ms | compile max ms | memory p50 KiB | "
        "top reasons not compiled |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in [*results, every]:
        lines += [compile_row(r.name, r.engines[n]) for n in names]
    lines += ["", "Warnings at compile (the engine's API and what it printed; an engine that "
              "approximates a keyword without saying so is not caught here):", ""]
    lines += [f"- {n}: " + ("; ".join(f"{k} ({c})" for k, c in
                                      every.engines[n].warnings.most_common(4)) or "none")
              for n in names]
    return lines


def mask_lines(results: list[SubsetResult], every: SubsetResult) -> list[str]:
    """The mask tables: every engine on its own walks, then constrain and each peer on the
    instances both accepted."""
    names = list(every.engines)
    quantiles = " | ".join(f"mask p{q:g} us" for q in MASK_QUANTILES)
    header = f"| subset | engine | schemas walked | {{}} | masks | {quantiles} | mask max us |"
    rule = "|---|---|--:|--:|--:|" + "--:|" * len(MASK_QUANTILES) + "--:|"
    lines = ["", "Instances walked token by token on the schemas each engine compiled (a mask "
             "before every token and after the last); valid instances wrongly rejected:", "",
             header.format("valid instances rejected"), rule]
    for r in [*results, every]:
        lines += [mask_row(r.name, r.engines[n]) for n in names]
    if "constrain" in names and len(names) > 1:
        lines += ["", "constrain and each peer on the instances both walked to the end and "
                  "accepted (the same masks for both):", "", header.format("instances"), rule]
        for peer in (n for n in names if n != "constrain"):
            pair = [every.engines["constrain"], every.engines[peer]]
            keep = shared_instances(pair)
            lines += [mask_row(f"shared with {peer}", r, keep) for r in pair]
    return lines


def walk_lines(results: list[SubsetResult], every: SubsetResult) -> list[str]:
    """constrain's random walks per subset (none when constrain did not run)."""
    if "constrain" not in every.engines:
        return []
    return (["", "constrain's random walks under its masks (finished walks must validate):", "",
             "| subset | walks finished | invalid walks |", "|---|--:|--:|"]
            + [f"| {r.name} | {r.walks_finished}/{r.walks} | {len(r.walks_invalid)} |"
               for r in [*results, every]])


def engine_versions(engines: list[str]) -> str:
    """'engine version' for every engine run."""
    import importlib.metadata
    packages = {"constrain": "constrain", "xgrammar": "xgrammar", "llguidance": "llguidance",
                "outlines-core": "outlines_core"}
    parts = []
    for name in engines:
        try:
            parts.append(f"{name} {importlib.metadata.version(packages[name])}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (version unknown)")
    return ", ".join(parts)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", default="llama3-128k")
    parser.add_argument("--per-subset", type=int, default=3,
                        help="schemas per subset, evenly spaced (default 3)")
    parser.add_argument("--full", action="store_true", help="every schema of every subset")
    parser.add_argument("--subsets", nargs="+", help="only these subsets (default: all)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="seconds per compile, per schema's walks, per draw (default 10)")
    parser.add_argument("--walks", type=int, default=2, help="constrain's random walks per schema")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--compile-only", action="store_true",
                        help="compile times only (no instances, no walks), e.g. with --full; "
                             "written to its own block of --markdown")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    if args.compile_only:
        args.instances = args.walks = 0
    return args


def main(argv: Optional[list[str]] = None) -> None:
    """Run the chosen subsets, print the report, optionally write it to a markdown file."""
    args = parse_args(argv)
    args.command = " ".join(["python -m benchmarks.jsonschemabench",
                             *(sys.argv[1:] if argv is None else argv)])
    subsets = sorted(p for p in BENCH.iterdir() if p.is_dir())
    if args.subsets:
        unknown = set(args.subsets) - {p.name for p in subsets}
        if unknown:
            raise SystemExit(f"unknown subset(s) {', '.join(sorted(unknown))} in {BENCH}")
        subsets = [p for p in subsets if p.name in args.subsets]
    start = time.perf_counter()
    with Harness(args.tokenizer, args.engines, args.time_limit) as harness:
        results = [run_subset(subset, harness, None if args.full else args.per_subset,
                              args.walks, args.instances, args.max_tokens) for subset in subsets]
    report = markdown(results, args, time.perf_counter() - start, engine_versions(args.engines),
                      harness.seconds)
    print(report)
    for r in results:
        for engine in r.engines.values():
            for name, texts in list(engine.rejected.items())[:3]:
                print("REJECTED", engine.name, name, next(iter(texts.values()))[:300],
                      file=sys.stderr)
        for name, text in r.walks_invalid[:5]:
            print("INVALID WALK", r.name, name, text, file=sys.stderr)
    if args.markdown:
        write_markdown(args.markdown, report,
                       "jsonschemabench-compile" if args.compile_only else "jsonschemabench")


if __name__ == "__main__":
    main()
