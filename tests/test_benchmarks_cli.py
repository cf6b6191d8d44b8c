"""The unified benchmark command: help, argument parsing, summary parsing (no benchmark runs)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import __main__ as cli  # noqa: E402


def test_help_runs():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in cli.PART_NAMES:
        assert name in out.stdout


def test_parts_default_to_all_in_order():
    args = cli.parse_args([])
    assert [p.name for p in args.selected] == cli.PART_NAMES
    assert cli.PART_NAMES == ["regex", "cfg", "processor", "speculative", "jsonschemabench",
                              "suite", "scaling"]
    assert args.markdown == "docs/PERFORMANCE.md" and not args.full


def test_named_parts_keep_the_canonical_order():
    args = cli.parse_args(["scaling", "regex", "--full"])
    assert [p.name for p in args.selected] == ["regex", "scaling"]
    assert args.full


def test_unknown_part_is_an_error():
    with pytest.raises(SystemExit):
        cli.parse_args(["nope"])


def test_part_arguments():
    parts = {p.name: p for p in cli.PARTS}
    md = "docs/PERFORMANCE.md"
    assert parts["regex"].argv(False, md) == ["--markdown", md]
    assert parts["jsonschemabench"].argv(False, md)[-2:] == ["--markdown", "docs/JSON_SCHEMA.md"]
    assert "--full" in parts["jsonschemabench"].argv(True, md)
    assert parts["suite"].argv(False, None) == []
    assert parts["scaling"].argv(False, md) == ["--markdown", md, "--plots", "docs"]
    assert parts["speculative"].argv(False, str(REPO / md)) == ["--write"]
    assert cli.parse_args(["--no-markdown"]).markdown is None


def test_parts_parse_their_arguments():
    """Each script's parser accepts the arguments the command passes (parsing only)."""
    from benchmarks import scaling
    args = scaling.parse_args(cli.PARTS[-1].argv(True, "docs/PERFORMANCE.md"))
    assert args.full and args.walks == 5 and args.plots == "docs"
    assert scaling.parse_args([]).walks == 2
    from benchmarks import cfg_bench, regex_bench
    assert regex_bench.parse_args(cli.PARTS[0].argv(True, "p.md")).repeat == 5
    assert cfg_bench.parse_args(cli.PARTS[1].argv(True, "p.md")).walk_budget == 30


def test_summary_reads_blocks(tmp_path):
    perf = tmp_path / "PERFORMANCE.md"
    perf.write_text(
        "# Performance\n\nintro\n\n<!-- cfg-bench:start -->\n- command: `python -m x`\n\n"
        "| grammar | engine | compile ms (cold) | mask p50 us | mask p99 us |\n|---|---|--:|--:|--:|\n"
        "| json | constrain | 5 | 2.0 | 30.0 |\n| json | xgrammar (built-in JSON) | 5 | 4.0 | 100.0 |\n"
        "| json | xgrammar (Lark) | 5 | 1.0 | 1.0 |\n| json | llguidance (Lark) | 5 | 8.0 | 60.0 |\n"
        "<!-- cfg-bench:end -->\n")
    (tmp_path / "JSON_SCHEMA.md").write_text(
        "<!-- json-schema-suite:start -->\n- right: **10 / 20**; valid instances rejected: 3; "
        "invalid instances accepted: **0**;\n<!-- json-schema-suite:end -->\n")
    cli.write_summary(str(perf))
    text = perf.read_text()
    assert text.index("<!-- summary:start -->") < text.index("intro")
    assert "| 2.0 us | 4.0 us (built-in JSON) | 8.0 us (Lark) |" in text
    assert "0.50x XGrammar" in text and "0.50x llguidance" in text
    assert "| 10 / 20 |" in text and "not measured" in text
    cli.write_summary(str(perf))
    assert perf.read_text().count("<!-- summary:start -->") == 1
