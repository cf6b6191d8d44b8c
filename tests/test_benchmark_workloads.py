"""Benchmark workloads without running a benchmark: the SQL documents of the CFG benchmark and
how the peers read the SQL grammar, the per-workload walk budget, and the schema-size buckets
and table of ``benchmarks.schema_scaling``."""

import time
import types
from pathlib import Path

import numpy as np
import pytest

from benchmarks import cfg_bench, schema_scaling
from benchmarks.jsonschemabench import EngineResult, SubsetResult, evenly_spaced
from test_builtin_grammars import check


# --------------------------------------------------------------------------------------
# CFG benchmark: SQL
# --------------------------------------------------------------------------------------

SQL_DOCUMENTS = cfg_bench.sql_documents()


@pytest.mark.parametrize("label, text", SQL_DOCUMENTS, ids=[d[0] for d in SQL_DOCUMENTS])
def test_sql_documents_are_accepted_by_the_sql_grammar(label, text):
    """constrain and Lark's Earley parser both accept every statement walked."""
    check("sql", text, True)


def test_sql_scripts_split_into_statements_in_turns():
    labels = [label for label, _ in SQL_DOCUMENTS]
    scripts = sorted((cfg_bench.DATA / "sql").glob("*.sql"))
    assert len(scripts) >= 5 and len(labels) == len(set(labels)) >= 4 * len(scripts)
    assert labels[:len(scripts)] == [f"{p.stem} #1" for p in scripts]
    assert all(text.endswith(";") for _, text in SQL_DOCUMENTS)


def test_case_insensitive_groups_are_spelt_out():
    assert cfg_bench.fold_case_groups("(?:(?i:ab_c)|(?i:d\\.e))") == \
        "(?:(?:[Aa][Bb]_[Cc])|(?:[Dd]\\.[Ee]))"
    assert cfg_bench.fold_case_groups("(?i:[ab])") == "(?i:[ab])"  # not plain text: kept


def test_sql_workload_is_read_by_the_peers():
    sql = next(w for w in cfg_bench.build_workloads() if w.name == "sql")
    assert not sql.peer_errors and "(?i:" not in sql.xgrammar_lark
    assert "T_B:" in sql.xgrammar_lark and "T_B:" not in sql.llguidance_lark
    assert sql.xgrammar_lark.count("start:") == 1 and "r_start_body" in sql.xgrammar_lark
    xgr = pytest.importorskip("xgrammar")
    xgr.Grammar.from_lark(sql.xgrammar_lark)


class SlowEngine:
    """A stand-in engine whose every mask takes about ``delay`` seconds."""

    name = "slow"

    def __init__(self, delay: float):
        self.delay = delay

    def skip_reason(self, case):
        return None

    def compile(self, case):
        return None

    def matcher(self, compiled):
        return None

    def bitmask(self):
        return np.zeros((1, 1), dtype=np.int32)

    def filler(self, matcher, bitmask):
        return lambda: time.sleep(self.delay)

    def accept(self, matcher, token):
        return True


def test_an_engine_stops_walking_a_workload_after_its_budget(monkeypatch):
    monkeypatch.setattr(cfg_bench, "WORKLOAD_WALKS", 2)
    case = cfg_bench.Workload("toy", [(f"doc {k}", "x" * 50) for k in range(6)], lark="x")
    tok = types.SimpleNamespace(encode=lambda text, add_special_tokens: list(range(len(text))))
    res = cfg_bench.run_workload([SlowEngine(0.002)], case, tok, np.ones(1, np.uint32),
                                 repeat=1, budget_s=0.02)["slow"]
    assert res.cut_short and res.not_walked and res.walks + res.not_walked == 6
    assert "documents not walked" in cfg_bench.row(case, "slow", res, "slow")


# --------------------------------------------------------------------------------------
# Schema-size scaling
# --------------------------------------------------------------------------------------


def test_buckets_by_size():
    kb = 1024
    assert [schema_scaling.bucket_of(n) for n in (0, kb - 1, kb, 4 * kb, 64 * kb - 1, 10 ** 7)] \
        == ["< 1 KB", "< 1 KB", "1-4 KB", "4-16 KB", "16-64 KB", "> 64 KB"]


def test_pick_schemas_spreads_over_each_bucket(tmp_path: Path):
    for subset, sizes in (("a", (10, 20, 30, 2000)), ("b", (40, 5000))):
        (tmp_path / subset).mkdir()
        for size in sizes:
            (tmp_path / subset / f"s{size}.json").write_text(" " * size)
    picked = schema_scaling.pick_schemas(tmp_path, 2)
    assert [p.name for p in picked["< 1 KB"]] == ["s20.json", "s40.json"]
    assert [p.name for p in picked["1-4 KB"]] == ["s2000.json"]
    assert picked["> 64 KB"] == []
    assert evenly_spaced(list(range(10)), 2) == [0, 5]
    assert evenly_spaced(list(range(10)), 2, offset=0.5) == [2, 7]


def test_schema_scaling_table(tmp_path: Path):
    schema = tmp_path / "Github_easy" / "o1.json"
    schema.parent.mkdir()
    schema.write_text(" " * 2048)
    result = SubsetResult("1-4 KB", schemas=1)
    mine = EngineResult("constrain", schemas=1, compiled=1, compile_ms=[4.0], instances=2,
                        mask_us={"Github_easy/o1.json": [[1.0, 3.0], [2.0]]})
    peer = EngineResult("outlines-core", schemas=1)
    peer.failures["timeout"] += 1
    result.engines = {"constrain": mine, "outlines-core": peer}
    text = schema_scaling.render([result], {"1-4 KB": [schema]}, {"command": "`x`"}, 10.0)
    rows = [line for line in text.splitlines() if line.startswith("| 1-4 KB")]
    assert rows[0] == ("| 1-4 KB | 1 (median 2.0 KB) | constrain | 1 / 1 | 4.0 | 4.0 | 2.0 "
                       "| 3.0 | 3 | 0 / 2 |")
    assert rows[1].startswith("| 1-4 KB | 1 (median 2.0 KB) | outlines-core | 0 / 1 (1 timeout)")
    assert "Github_easy/o1.json" in text
