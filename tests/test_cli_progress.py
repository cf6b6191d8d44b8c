"""Progress of long compiles: the C++ counter of the mask store build, compile(progress=...),
the terminal display (tqdm or plain lines) and ``constrain compile --progress``."""

from __future__ import annotations

import io
import re
import sys
import threading
from collections import OrderedDict

import numpy as np
import pytest

import constrain as cn
from constrain import compiler
from constrain._core import BuildProgress, DfaIndex
from constrain.cli import main
from constrain.progress import TerminalProgress

# 601 states: enough for the build to split them over two threads (256 states each at least).
MID_REGEX = "[a-z ]{0,600}"
STAGE = "building the mask store"


@pytest.fixture
def vocab(load_vocab):
    return load_vocab("llama2-32k")


@pytest.fixture
def fresh_memory_cache(monkeypatch):
    """Each compile() in the test builds again instead of returning an earlier result."""
    def clear():
        monkeypatch.setattr(compiler, "_memory_cache", OrderedDict())
    clear()
    return clear


def dfa_arrays(regex):
    dfa = cn.Grammar.from_regex(regex).dfa
    return (np.ascontiguousarray(dfa.transitions, np.int32),
            np.ascontiguousarray(dfa.accepting, np.uint8))


def test_counter_reaches_the_number_of_states(vocab):
    transitions, accepting = dfa_arrays(MID_REGEX)
    counter = BuildProgress()
    index = DfaIndex.build(compiler.token_trie(vocab), transitions, accepting,
                           vocab.eos_token_ids, threads=2, progress=counter)
    assert counter.done == index.num_states == len(transitions) == 601


def test_cancelled_build_raises(vocab):
    transitions, accepting = dfa_arrays(MID_REGEX)
    counter = BuildProgress()
    counter.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        DfaIndex.build(compiler.token_trie(vocab), transitions, accepting, vocab.eos_token_ids,
                       threads=2, progress=counter)
    assert counter.done == 0


def test_progress_callback_counts_up_to_the_number_of_states(vocab, fresh_memory_cache):
    reports = []
    cn.compile(cn.Grammar.from_regex(MID_REGEX), vocab, cache_on_disk=False,
               progress=lambda *report: reports.append(report))
    counted = [r for r in reports if r[0] == STAGE]
    assert counted[-1] == (STAGE, 601, 601)
    dones = [done for _, done, _ in counted]
    assert dones == sorted(dones) and dones.count(601) == 1


def test_compile_with_progress_gives_the_same_masks(vocab, fresh_memory_cache, capsys):
    grammar = cn.Grammar.from_regex(MID_REGEX)
    plain = cn.compile(grammar, vocab, cache_on_disk=False)
    fresh_memory_cache()
    shown = cn.compile(grammar, vocab, cache_on_disk=False, progress=True)
    assert shown is not plain
    assert STAGE in capsys.readouterr().err
    for name, array in plain._index.mask_arrays().items():
        np.testing.assert_array_equal(shown._index.mask_arrays()[name], array, err_msg=name)
    ids = [vocab.token_bytes.index(b" a"), vocab.token_bytes.index(b"b")]
    a, b = plain.matcher(), shown.matcher()
    for tid in [None] + ids * 3:
        if tid is not None:
            assert a.accept_token(tid) and b.accept_token(tid)
        np.testing.assert_array_equal(a.allowed_token_ids(), b.allowed_token_ids())


def test_a_failing_callback_stops_the_build(vocab, fresh_memory_cache):
    def fail(stage, done, total):
        raise KeyboardInterrupt  # as Ctrl-C would, while the build runs

    with pytest.raises(KeyboardInterrupt):
        cn.compile(cn.Grammar.from_regex(MID_REGEX), vocab, cache_on_disk=False, progress=fail)
    assert not compiler._memory_cache
    assert not [t for t in threading.enumerate() if t.name == f"constrain: {STAGE}"]


def test_progress_must_be_a_bool_or_a_callable(vocab):
    with pytest.raises(TypeError, match="progress must be a bool or a callable"):
        cn.compile(cn.Grammar.from_regex("a"), vocab, progress="yes")


def test_terminal_progress_without_tqdm_writes_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    stream = io.StringIO()
    show = TerminalProgress(stream, line_interval=3600)
    show("loading", 0, None)
    for done in (0, 5, 9):
        show(STAGE, done, 10)
    show(STAGE, 10, 10)
    assert stream.getvalue().splitlines() == [
        "constrain: loading", f"constrain: {STAGE}: 0/10 states (0%)",
        f"constrain: {STAGE}: 10/10 states (100%)"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def stats(out: str) -> str:
    """The stdout of ``constrain compile`` without its timings."""
    return re.sub(r"[0-9.]+ ms", "_ ms", out)


def test_cli_compile_progress(tokenizer_dir, capsys, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE", "0")
    monkeypatch.setattr(compiler, "_memory_cache", OrderedDict())
    folder = tokenizer_dir("llama2-32k")
    code, out, err = cli(capsys, "compile", "--tokenizer", folder, "--regex", MID_REGEX,
                         "--progress")
    assert code == 0, err
    for stage in ("building the grammar", "loading the vocabulary", STAGE,
                  "computing the first mask"):
        assert f"constrain: {stage}" in err
    assert "601/601" in err

    monkeypatch.setattr(compiler, "_memory_cache", OrderedDict())
    code, quiet_out, quiet_err = cli(capsys, "compile", "--tokenizer", folder, "--regex",
                                     MID_REGEX, "--no-progress")
    assert code == 0 and quiet_err == ""
    assert stats(out) == stats(quiet_out) and "601 states" in out and "KiB" in out


def test_cli_shows_no_progress_by_default_off_a_terminal(tokenizer_dir, capsys, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_CACHE", "0")
    code, _, err = cli(capsys, "compile", "--tokenizer", tokenizer_dir("llama2-32k"),
                       "--regex", "[a-z]{0,50}")
    assert code == 0 and err == ""
