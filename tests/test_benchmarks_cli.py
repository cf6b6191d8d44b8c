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


def test_parts_default_to_all_in_order_but_gpu():
    args = cli.parse_args([])
    assert cli.PART_NAMES == ["regex", "cfg", "processor", "speculative", "jsonschemabench",
                              "suite", "scaling", "gpu"]
    assert [p.name for p in args.selected] == cli.PART_NAMES[:-1]
    assert args.markdown == "docs/PERFORMANCE.md" and not args.full


def test_gpu_part_runs_when_named():
    assert [p.name for p in cli.parse_args(["gpu", "regex"]).selected] == ["regex", "gpu"]


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
    parts = {p.name: p for p in cli.PARTS}
    args = scaling.parse_args(parts["scaling"].argv(True, "docs/PERFORMANCE.md"))
    assert args.full and args.walks == 5 and args.plots == "docs"
    assert scaling.parse_args([]).walks == 2
    from benchmarks import schema_scaling
    carried = scaling.schema_scaling_argv(args)
    assert carried == ["--full", "--markdown", "docs/PERFORMANCE.md", "--plots", "docs"]
    assert schema_scaling.parse_args(carried).per_bucket == 8
    assert schema_scaling.parse_args([]).per_bucket == 2
    from benchmarks import cfg_bench, jsonschemabench, regex_bench
    assert regex_bench.parse_args(cli.PARTS[0].argv(True, "p.md")).repeat == 5
    assert cfg_bench.parse_args(cli.PARTS[1].argv(True, "p.md")).walk_budget == 30
    part = next(p for p in cli.PARTS if p.name == "jsonschemabench")
    default = jsonschemabench.parse_args(part.argv(False, "docs/PERFORMANCE.md"))
    assert default.per_subset == 3 and not default.full
    assert default.engines == ["constrain", "xgrammar", "llguidance", "outlines-core"]
    assert jsonschemabench.parse_args(part.argv(True, "p.md")).full
    from benchmarks import gpu_bench
    gpu = gpu_bench.parse_args(parts["gpu"].argv(False, "p.md"))
    assert gpu.device == "cuda" and gpu.batches == [1, 64, 1024] and gpu.markdown == "p.md"
    assert gpu_bench.parse_args(parts["gpu"].argv(True, "p.md")).runs == 5


SCHEMA_BLOCKS = """<!-- json-schema-suite:start -->
- right: **10 / 20**; valid instances rejected: 3; invalid instances accepted: **0**;

| engine | cases | right | valid rejected | invalid accepted | not compiled | why not compiled (cases) |
|---|--:|--:|--:|--:|--:|---|
| constrain | 20 | 10 | 3 | 0 | 7 | keyword format (7) |
| xgrammar | 20 | 12 | 1 | 7 | 0 | |
| llguidance | 20 | 9 | 0 | 1 | 10 | Unknown format \\| x (10) |
<!-- json-schema-suite:end -->
<!-- jsonschemabench:start -->
- command: `python -m benchmarks.jsonschemabench --per-subset 3`

| subset | engine | schemas | compiled | of which with warnings | errors | timeouts | crashes | compile p50 ms | compile p99 ms | compile max ms | memory p50 KiB | top reasons not compiled |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|
| A | constrain | 3 | 3 (100%) | 0 | 0 | 0 | 0 | 1.0 | 1.0 | 1.0 | 5 | |
| all | constrain | 6 | 6 (100%) | 0 | 0 | 0 | 0 | 4.0 | 9.0 | 9.0 | 5 | |
| all | xgrammar | 6 | 5 (83%) | 1 | 0 | 1 | 0 | 400.0 | 900.0 | 900.0 | 50 | timeout > 10 s (1) |
| all | llguidance | 6 | 3 (50%) | 0 | 3 | 0 | 0 | 2.0 | 3.0 | 3.0 | n/a | oneOf (3) |
| all | outlines-core | 6 | 1 (17%) | 0 | 0 | 5 | 0 | 900.0 | 900.0 | 900.0 | n/a | timeout > 10 s (5) |

| subset | engine | schemas walked | valid instances rejected | masks | mask p50 us | mask p90 us | mask p99 us | mask p99.9 us | mask max us |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|
| all | constrain | 6 | 0 / 12 | 100 | 2.0 | 5.0 | 30.0 | 40.0 | 50.0 |
| all | xgrammar | 5 | 4 / 10 | 80 | 3.0 | 6.0 | 90.0 | 95.0 | 99.0 |
| all | llguidance | 3 | 0 / 6 | 60 | 1.0 | 7.0 | 60.0 | 70.0 | 80.0 |
| all | outlines-core | 1 | 1 / 2 | 10 | 0.5 | 1.0 | 15.0 | 15.0 | 15.0 |

| subset | walks finished | invalid walks |
|---|--:|--:|
| all | 5/12 | 0 |
<!-- jsonschemabench:end -->
"""


def test_summary_reads_blocks(tmp_path):
    perf = tmp_path / "PERFORMANCE.md"
    perf.write_text(
        "# Performance\n\nintro\n\n<!-- cfg-bench:start -->\n- command: `python -m x`\n\n"
        "| grammar | engine | compile ms (cold) | mask p50 us | mask p99 us |\n|---|---|--:|--:|--:|\n"
        "| json | constrain | 5 | 2.0 | 30.0 |\n| json | xgrammar (built-in JSON) | 5 | 4.0 | 100.0 |\n"
        "| json | xgrammar (Lark) | 5 | 1.0 | 1.0 |\n| json | llguidance (Lark) | 5 | 8.0 | 60.0 |\n"
        "<!-- cfg-bench:end -->\n")
    (tmp_path / "JSON_SCHEMA.md").write_text(SCHEMA_BLOCKS)
    cli.write_summary(str(perf))
    text = perf.read_text()
    assert text.index("<!-- summary:start -->") < text.index("intro")
    assert "| 2.0 us | 4.0 us (built-in JSON) | 8.0 us (Lark) |" in text
    assert "0.50x XGrammar" in text and "0.50x llguidance" in text
    assert "not measured" in text
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()
            if line.startswith("| ")}
    suite = rows["JSON-Schema-Test-Suite 2020-12 cases right"]
    assert "| 10 / 20 | 12 / 20 | 9 / 20 | not measured | 0.83x XGrammar |" in suite
    compile_p50 = rows["schema compile p50, JSONSchemaBench (tokenizer ready)"]
    assert "| 4.0 ms | 400.0 ms | 2.0 ms | 900.0 ms | 2.00x llguidance |" in compile_p50
    compile_p99 = rows["schema compile p99, JSONSchemaBench (each engine over the schemas it "
                       "compiled)"]
    assert "| 9.0 ms | 900.0 ms | 3.0 ms | 900.0 ms | 3.00x llguidance |" in compile_p99
    compiled = rows["JSONSchemaBench schemas compiled"]
    assert "| 6 / 6 (100%) | 5 / 6 (83%) | 3 / 6 (50%) |" in compiled
    mask = rows["time per mask, p99 (JSONSchemaBench instances)"]
    assert "| 30.0 us | 90.0 us | 60.0 us | 15.0 us | 2.00x outlines-core |" in mask
    rejected = rows["valid instances wrongly rejected (JSONSchemaBench: hypothesis-jsonschema "
                    "instances)"]
    assert "| 0 / 12 | 4 / 10 | 0 / 6 |" in rejected
    assert not any("compile-only run" in name for name in rows)
    cli.write_summary(str(perf))
    assert perf.read_text().count("<!-- summary:start -->") == 1


COMPILE_ONLY_BLOCK = """<!-- jsonschemabench-compile:start -->
- command: `python -m benchmarks.jsonschemabench --full --compile-only`; every schema; time limit 10 s

| subset | engine | schemas | compiled | of which with warnings | errors | timeouts | crashes | compile p50 ms | compile p99 ms | compile max ms | memory p50 KiB | top reasons not compiled |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|
| all | constrain | 100 | 99 (99%) | 0 | 1 | 0 | 0 | 5.0 | 300.0 | 900.0 | 5 | |
<!-- jsonschemabench-compile:end -->
"""


def test_summary_shows_a_compile_only_run(tmp_path):
    perf = tmp_path / "PERFORMANCE.md"
    perf.write_text("# Performance\n")
    (tmp_path / "JSON_SCHEMA.md").write_text(SCHEMA_BLOCKS + COMPILE_ONLY_BLOCK)
    cli.write_summary(str(perf))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in perf.read_text().splitlines()
            if line.startswith("| ")}
    p99 = rows["schema compile p99, JSONSchemaBench (each engine over the schemas it compiled)"
               "; compile-only run, every schema"]
    assert "| 300.0 ms | not measured |" in p99 and "<= 200 ms" in p99
    assert "--full --compile-only" in p99
    compiled = rows["JSONSchemaBench schemas compiled; compile-only run, every schema"]
    assert "| 99 / 100 (99%) |" in compiled


def test_gpu_bench_refuses_a_missing_cuda_device():
    import torch
    from benchmarks import gpu_bench
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(SystemExit, match="no CUDA device"):
        gpu_bench.main([])


def test_gpu_bench_runs_on_the_cpu(tokenizer_dir, capsys):
    """The GPU benchmark's code, run small on the CPU: both tables, engines agreeing."""
    pytest.importorskip("transformers")
    from benchmarks import gpu_bench
    tokenizer_dir("llama2-32k")
    gpu_bench.main(["--device", "cpu", "--small", "--tokenizer", "llama2-32k", "--batches", "1", "3", "--repeat", "2",
                    "--batch", "3", "--new-tokens", "6", "--runs", "1", "--vocab", "1000"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| 1 |") and rows[2].startswith("| 3 |")
    try:
        import xgrammar  # noqa: F401
        assert rows[0].endswith("| same -inf as XGrammar |")
        assert rows[1].endswith("| yes |") and rows[2].endswith("| yes |")
    except ImportError:
        assert "XGrammar is not installed" in out and "XGrammar" not in rows[0]
    through = rows[-1].split("|")
    assert float(through[1].replace(",", "")) > 0 and float(through[2].replace(",", "")) > 0
    assert through[4].strip() == "yes"
