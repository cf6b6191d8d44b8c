"""The JSONSchemaBench harness: a fixed sample through constrain (finished walks are valid, drawn
instances are accepted), the hard time limit of the worker processes, the peers' walks, and the
key order given to every engine.

CI samples the quick subsets; ``python -m benchmarks jsonschemabench`` runs every subset on
every engine and records the figures in docs/JSON_SCHEMA.md.
"""

import functools
import os
import time
import types

import pytest

from benchmarks.jsonschemabench import (EngineResult, Harness, ecma_regex, exact_validator,
                                         parse_exact, run_subset, shared_instances, validator)
from benchmarks.schema_engines import SchemaSession, schema_order, short_message
from benchmarks.workers import Worker, WorkerCrashed, WorkerError, WorkerTimeout

SUBSETS = ("Github_trivial", "Github_easy", "Glaiveai2K")
PER_SUBSET = 4
# The last measured compile rate on this sample, as a floor against regressions.
COMPILED_FLOOR = 0.9


def test_sample_walks_are_valid_and_instances_accepted(shared_dir, tokenizer_dir):
    root = shared_dir / "data" / "jsonschemabench"
    with Harness(str(tokenizer_dir("llama3-128k")), ["constrain"], time_limit=60) as harness:
        results = [run_subset(root / name, harness, PER_SUBSET, walks=2, instances=1,
                              max_tokens=300) for name in SUBSETS]
    assert sum(r.schemas for r in results) == PER_SUBSET * len(SUBSETS)
    mine = [r.engines["constrain"] for r in results]
    invalid = [w for r in results for w in r.walks_invalid]
    rejected = [item for r in mine for item in r.rejected.items()]
    assert not invalid, invalid[:5]
    assert not rejected, rejected[:5]
    assert sum(r.instances for r in mine) > 0, "no instance walked: the test checks nothing"
    assert sum(r.walks_finished for r in results) > 0, "no walk finished: the test checks nothing"
    rate = sum(r.compiled for r in mine) / sum(r.schemas for r in mine)
    assert rate >= COMPILED_FLOOR, f"compiled {rate:.0%}, floor {COMPILED_FLOOR:.0%}"


# --------------------------------------------------------------------------------------
# Worker processes
# --------------------------------------------------------------------------------------

TOOLS = functools.partial(types.SimpleNamespace, sleep=time.sleep, exit=os._exit, echo=str)


def test_worker_timeout_kills_a_slow_call_and_restarts():
    with Worker(TOOLS) as worker:
        assert worker.call("echo", 5, timeout=60) == "5"
        start = time.perf_counter()
        with pytest.raises(WorkerTimeout):
            worker.call("sleep", 60, timeout=1)
        assert time.perf_counter() - start < 10, "the time limit did not hold"
        assert worker.call("echo", 6, timeout=60) == "6"
        assert worker.starts == 2


def test_worker_reports_a_crash_and_an_exception():
    with Worker(TOOLS) as worker:
        with pytest.raises(WorkerCrashed, match="exit code 3"):
            worker.call("exit", 3, timeout=60)
        with pytest.raises(WorkerError, match="TypeError"):
            worker.call("sleep", "not a number", timeout=60)
        assert worker.call("echo", 1, timeout=60) == "1"


# --------------------------------------------------------------------------------------
# Peers' walks
# --------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
          "additionalProperties": False}


@pytest.mark.parametrize("engine", ["xgrammar", "llguidance"])
def test_peer_walk_rejects_refused_and_incomplete_sequences(engine, tokenizer_dir,
                                                            load_hf_tokenizer):
    pytest.importorskip(engine)
    tok = load_hf_tokenizer("llama3-128k")
    session = SchemaSession(engine, str(tokenizer_dir("llama3-128k")))
    assert "ms" in session.compile(SCHEMA)
    texts = ['{"a":12}', '{"a":"x"}', '{"a":1', '{"b":1}']
    sequences = [tok.encode(t, add_special_tokens=False) for t in texts]
    out = session.walk(sequences)
    assert out["rejected"] == [1, 2, 3]
    # a mask before every token and one after the last of an accepted sequence
    assert len(out["mask_us"][0]) == len(sequences[0]) + 1
    assert session.accepts(['{"a":-3}', '{"a":1.5}']) == [True, False]


def test_peer_compile_failure_is_a_reason(tokenizer_dir):
    pytest.importorskip("llguidance")
    session = SchemaSession("llguidance", str(tokenizer_dir("llama3-128k")))
    outcome = session.compile({"type": "array", "uniqueItems": True})
    assert "uniqueItems" in outcome["error"]


def test_shared_instances_keep_only_those_every_engine_accepted():
    a, b = EngineResult("constrain"), EngineResult("xgrammar")
    a.mask_us = {"s/1.json": [[1.0], [2.0], [3.0]], "s/2.json": [[4.0]]}
    b.mask_us = {"s/1.json": [[1.0], [2.0], [3.0]]}
    b.rejected = {"s/1.json": {1: "text"}}
    assert shared_instances([a, b]) == {"s/1.json": {0, 2}}
    assert a.times({"s/1.json": {0, 2}}) == [1.0, 3.0]


def test_short_message_drops_log_prefixes():
    line = "[03:19:10] /project/cpp/json_schema_converter.cc:3510: Warning: allOf is partial\nmore"
    assert short_message(line) == "allOf is partial"


# --------------------------------------------------------------------------------------
# Key order
# --------------------------------------------------------------------------------------


def test_schema_order_follows_properties_refs_allof_then_required_then_others():
    schema = {
        "$defs": {"point": {"properties": {"x": {}, "y": {}}}},
        "properties": {"b": {}, "a": {"$ref": "#/$defs/point"}},
        "allOf": [{"properties": {"c": {"type": "array", "items": {"$ref": "#/$defs/point"}}}}],
        "required": ["r"],
    }
    value = {"z": 0, "r": 1, "c": [{"y": 1, "x": 2}], "a": {"extra": 0, "y": 3, "x": 4}, "b": 5}
    ordered = schema_order(value, schema)
    assert list(ordered) == ["b", "a", "c", "r", "z"]
    assert list(ordered["a"]) == ["x", "y", "extra"]
    assert list(ordered["c"][0]) == ["x", "y"]
    assert ordered == value


def test_schema_order_uses_the_branch_the_value_validates():
    schema = {"anyOf": [{"properties": {"n": {"type": "integer"}, "k": {}}, "required": ["n"]},
                        {"properties": {"k": {}, "s": {"type": "string"}}}]}
    assert list(schema_order({"s": "x", "k": 1}, schema)) == ["k", "s"]
    assert list(schema_order({"k": 1, "n": 2}, schema)) == ["n", "k"]


def test_walks_are_judged_on_exact_decimal_numbers():
    money = exact_validator({"type": "number", "multipleOf": 0.01, "maximum": 99999999999.99})
    assert money.is_valid(parse_exact("74862629757.65"))   # a float would miss 0.01's grid
    assert not money.is_valid(parse_exact("74862629757.655"))
    assert not money.is_valid(parse_exact("99999999999.991"))
    year = exact_validator({"type": "integer", "minimum": 0})
    assert year.is_valid(parse_exact("9" * 500 + ".0"))     # a float would overflow to inf
    assert not year.is_valid(parse_exact("1.5"))
    assert not year.is_valid(parse_exact("-1.0"))
    assert not year.is_valid(parse_exact("true"))
    assert exact_validator({"type": "number"}).is_valid(parse_exact("1e99999999999999999999"))
    cents = exact_validator({"multipleOf": 0.01})
    assert cents.is_valid(parse_exact("1e40")) and cents.is_valid(parse_exact("1" * 60 + ".25"))
    assert not cents.is_valid(parse_exact("1" * 60 + ".125"))  # Decimal's % cannot say
    assert cents.is_valid(parse_exact("true"))  # multipleOf does not apply to a non-number


def test_instances_are_judged_with_ecma_262_patterns():
    digits = validator({"pattern": r"^\d+$"})
    assert digits.is_valid("12") and not digits.is_valid("୭೯")    # Python's \d takes both
    assert validator({"pattern": r"^\s$"}).is_valid("\ufeff")     # ECMA white space
    assert not validator({"pattern": r"^\s$"}).is_valid("\x1c")   # Python white space only
    assert not validator({"pattern": r"^\D$"}).is_valid("7")
    assert validator({"pattern": r"^a\\d$"}).is_valid("a\\d")    # an escaped backslash
    words = {"patternProperties": {r"^\w+$": {"type": "integer"}}}
    assert validator(words).is_valid({"é": "x"}) and not validator(words).is_valid({"e": "x"})
    closed = {**words, "additionalProperties": False}
    assert not validator(closed).is_valid({"é": 1}) and validator(closed).is_valid({"e": 1})
    assert ecma_regex(r"[\w.]").pattern == "[A-Za-z0-9_.]"


def test_compile_only_writes_its_own_block(shared_dir, tokenizer_dir, tmp_path):
    """--compile-only: the compile table alone, in the jsonschemabench-compile block."""
    from benchmarks import jsonschemabench
    tokenizer_dir("llama3-128k")
    assert (shared_dir / "data" / "jsonschemabench" / "Github_trivial").is_dir()
    md = tmp_path / "JSON_SCHEMA.md"
    md.write_text("<!-- jsonschemabench:start -->\nkept\n<!-- jsonschemabench:end -->\n")
    jsonschemabench.main(["--compile-only", "--engines", "constrain", "--subsets",
                          "Github_trivial", "--per-subset", "2", "--markdown", str(md)])
    text = md.read_text()
    assert "<!-- jsonschemabench:start -->\nkept\n" in text
    block = text.split("<!-- jsonschemabench-compile:start -->")[1]
    assert "compile only (no instances, no walks)" in block
    assert "| all | constrain | 2 | 2 (100%) |" in block
    assert "mask p50" not in block and "random walks under its masks" not in block
    assert "- instances:" not in block
