"""constrain.testing: assertions with located messages, sampling, lint, and the CLI commands."""

from __future__ import annotations

import json
import random
from pathlib import Path

import lark
import pytest

import constrain as cn
from constrain.cli import main
from constrain.grammars import DIRECTORY
from constrain.testing import (GrammarAssertionError, assert_accepts, assert_rejects, explain,
                               has_errors, lint, sample)
from constrain.testing._earley import TerminalTracker

BROKEN = Path(__file__).parent / "data" / "broken_grammars"
JSON = cn.Grammar.builtin("json")


def lark_accepts(text: str, data: str) -> bool:
    """The reference for complete strings: Lark's Earley parser, complete dynamic lexer."""
    parser = _lark_parser(text)
    try:
        parser.parse(data)
        return True
    except lark.exceptions.UnexpectedInput:
        return False


_PARSERS: dict = {}


def _lark_parser(text):
    if text not in _PARSERS:
        _PARSERS[text] = lark.Lark(text, parser="earley", lexer="dynamic_complete",
                                   import_paths=[str(DIRECTORY)])
    return _PARSERS[text]


# ---------------------------------------------------------------------------
# assert_accepts / assert_rejects / explain


def test_assert_accepts_passes_and_reports_the_failure_point():
    assert_accepts(JSON, '{"a": [1, 2]}')
    with pytest.raises(GrammarAssertionError) as info:
        assert_accepts(JSON, '{"a":\n  [1, 2}')
    message = str(info.value)
    assert "byte 13 (line 2, column 8)" in message
    assert "unexpected byte '}'" in message
    assert "[1, 2}" in message and "^" in message
    assert 'one of the terminals ",", "]", NUMBER' in message
    assert "']'" in message
    assert info.value.explanation.offset == 13


def test_incomplete_text_names_the_end_and_the_forced_continuation():
    with pytest.raises(GrammarAssertionError) as info:
        assert_accepts(JSON, '{"a": tru')
    message = str(info.value)
    assert "ends too early at byte 9" in message
    assert 'forced continuation "e"' in message and 'terminal "true"' in message


def test_assert_rejects():
    assert_rejects(JSON, "[1,]")
    assert_rejects(JSON, b"\xff")
    with pytest.raises(GrammarAssertionError, match="accepts the text"):
        assert_rejects(JSON, "[1]")


def test_explain_regex_and_columns_count_characters():
    g = cn.Grammar.from_regex(r"é+x")
    e = explain(g, "ééy")
    assert not e.accepted and not e.viable
    assert (e.offset, e.line, e.column) == (4, 1, 3)
    assert e.allowed_bytes == (ord("x"), 0xC3)
    assert e.expected_terminals == ()
    assert explain(g, "éx").accepted


def test_explain_on_builtins():
    e = explain(cn.Grammar.builtin("arithmetic"), "1 + (2 * 3")
    assert e.viable and not e.accepted
    assert '")"' in e.expected_terminals
    e = explain(cn.Grammar.builtin("sql"), "SELECT a FROM")
    assert e.viable and not e.accepted and e.allowed_bytes


def test_terminal_tracker_agrees_with_the_matcher_on_viability():
    rng = random.Random(5)
    for name in ("json", "arithmetic"):
        grammar = cn.Grammar.builtin(name)
        tracker = TerminalTracker(grammar.to_cfg())
        for text in sample(grammar, 8, max_len=40, seed=1, as_bytes=True):
            for _ in range(4):
                cut = rng.randrange(len(text) + 1)
                prefix = bytearray(text[:cut])
                if prefix and rng.random() < 0.5:
                    prefix[rng.randrange(len(prefix))] = rng.choice(b'{}[],:"1 -+*()x')
                assert bool(tracker.alive(bytes(prefix))) == grammar.is_prefix(bytes(prefix)), \
                    (name, bytes(prefix))


# ---------------------------------------------------------------------------
# sample


@pytest.mark.parametrize("name", cn.Grammar.builtin_names())
def test_samples_of_builtins_are_accepted_by_constrain_and_lark(name):
    grammar = cn.Grammar.builtin(name)
    text = (DIRECTORY / f"{name}.lark").read_text()
    strings = sample(grammar, 12, max_len=80, seed=7)
    assert len(strings) == 12
    for s in strings:
        assert len(s.encode()) <= 80
        assert grammar.matches(s)
        assert lark_accepts(text, s), (name, s)


def test_samples_of_a_recursive_grammar_terminate_and_match_lark():
    text = 'start: "(" start ")" | start start | "x"\n'
    grammar = cn.Grammar.from_lark(text)
    strings = sample(grammar, 40, max_len=12, seed=3)
    assert all(len(s) <= 12 and lark_accepts(text, s) for s in strings)
    assert len(set(strings)) > 5


def test_sampling_is_reproducible_and_honours_unique_and_bytes():
    assert sample(JSON, 5, seed=11) == sample(JSON, 5, seed=11)
    assert sample(JSON, 5, seed=11) != sample(JSON, 5, seed=12)
    choices = cn.Grammar.from_choices(["a", "b", "c"])
    assert sorted(sample(choices, 3, seed=0, unique=True)) == ["a", "b", "c"]
    with pytest.raises(cn.GrammarError, match="could only draw"):
        sample(choices, 4, unique=True)
    assert all(isinstance(s, bytes) for s in sample(choices, 3, as_bytes=True))
    with pytest.raises(cn.GrammarError, match="shortest string"):
        sample(cn.Grammar.from_regex("a{10}"), 1, max_len=5)


def test_samples_of_a_gbnf_grammar():
    from constrain.automata.gbnf import cfg_from_gbnf

    grammar = cn.Grammar.from_cfg(cfg_from_gbnf('root ::= "[" (item ("," item)*)? "]"\n'
                                                'item ::= [0-9]+ | "x"\n'), kind="gbnf")
    for s in sample(grammar, 10, max_len=30, seed=1):
        assert grammar.matches(s) and s.startswith("[")


# ---------------------------------------------------------------------------
# lint


CORPUS = {
    "unreachable_rule": ("unreachable-rule", "warning", "orphan", 4),
    "unproductive_rule": ("unproductive-rule", "error", "loop", 3),
    "empty_language": ("unproductive-rule", "error", "start", 2),
    "empty_terminal": ("empty-terminal", "warning", "DIGITS", 3),
    "overlapping_terminals": ("overlapping-terminals", "warning", "NAME", 4),
    "unused_terminal": ("unused-terminal", "warning", "HEX", 4),
    "syntax_error": ("load-error", "error", "", None),
}


def test_the_broken_corpus_is_complete():
    assert {p.stem for p in BROKEN.glob("*.lark")} == set(CORPUS)


@pytest.mark.parametrize("stem", sorted(CORPUS))
def test_each_broken_grammar_gets_its_finding(stem):
    code, severity, symbol, line = CORPUS[stem]
    findings = lint(BROKEN / f"{stem}.lark")
    matching = [f for f in findings if f.code == code and f.symbol == symbol]
    assert matching, findings
    assert matching[0].severity == severity and matching[0].line == line
    assert {f.code for f in findings} == {code}     # nothing else is reported


def test_empty_language_is_reported_although_from_lark_refuses_it():
    with pytest.raises(cn.GrammarError):
        cn.Grammar.from_lark((BROKEN / "empty_language.lark").read_text())
    assert "language is empty" in lint(BROKEN / "empty_language.lark")[0].message


@pytest.mark.parametrize("name", cn.Grammar.builtin_names())
def test_builtins_lint_without_errors(name):
    assert not has_errors(lint(name))


def test_lint_of_texts_grammar_objects_and_gbnf():
    findings = lint('start: A | B\nA: /[ab]+/\nB: /b[0-9]*/\n')
    assert [f.code for f in findings] == ["overlapping-terminals"]
    assert '"b"' in findings[0].message                     # the shortest shared string
    assert lint('start: "a" | "b"\nA: /x/\nB: /x/\n') == [] or \
        {f.code for f in lint('start: "a" | "b"\nA: /x/\nB: /x/\n')} == {"unused-terminal"}
    assert lint(JSON) == []
    gbnf = 'root ::= item\nitem ::= [a-z]+ | "x" loop\nloop ::= "y" loop\nunused ::= "q"\n'
    by_code = {f.code: f for f in lint(gbnf)}
    assert by_code["unproductive-rule"].symbol == "loop" and by_code["unproductive-rule"].line == 3
    assert by_code["unreachable-rule"].symbol == "unused" and by_code["unreachable-rule"].line == 4


def test_terminals_at_different_positions_do_not_count_as_overlapping():
    assert lint('start: A "=" B\nA: /[a-z]+/\nB: /[a-z0-9]+/\n') == []


def test_schema_lint_flags_unknown_keywords_with_pointers():
    schema = {"type": "object", "properties": {"tags": {"type": "array", "itmes": {}}},
              "requried": ["tags"]}
    findings = lint(schema)
    unknown = sorted((f.pointer, f.symbol) for f in findings if f.code == "unknown-schema-keyword")
    assert unknown == [("#", "requried"), ("#/properties/tags", "itmes")]
    assert any("did you mean 'required'" in f.message for f in findings)
    if hasattr(cn.Grammar, "from_json_schema"):
        assert all(f.code != "schema-support-missing" for f in findings)
    else:
        assert any(f.code == "schema-support-missing" for f in findings)


@pytest.mark.skipif(not hasattr(cn.Grammar, "from_json_schema"),
                    reason="JSON Schema front end not in this build")
def test_schema_lint_names_keywords_lenient_mode_would_drop():
    tags = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    schema = {"type": "object", "properties": {"tags": tags}}
    with pytest.raises(cn.GrammarError, match="uniqueItems"):
        cn.Grammar.from_json_schema(schema)
    findings = lint(schema)
    assert [(f.code, f.symbol) for f in findings] == [("ignored-schema-keyword", "uniqueItems")]
    assert findings[0].pointer.startswith("#/properties/tags")
    assert [f.code for f in lint({"type": "strin"})] == ["load-error"]


# ---------------------------------------------------------------------------
# CLI


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check(tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"a": [1, 2]}')
    bad.write_text('{"a": [1, 2,]}')
    assert run_cli(capsys, "check", "json", "--accept", str(good), "--reject", str(bad))[0] == 0
    code, out, _ = run_cli(capsys, "check", "json", "--accept", str(good), str(bad))
    assert code == 1
    assert "FAIL" in out and "line 1, column 13" in out and "1 of 2" in out
    assert run_cli(capsys, "check", "json", "--reject", str(good))[0] == 1
    assert run_cli(capsys, "check", "json", "--accept", str(tmp_path / "missing"))[0] == 2
    assert run_cli(capsys, "check", "no-such-grammar")[0] == 2
    lark_file = tmp_path / "g.lark"
    lark_file.write_text('start: "a"+\n')
    (tmp_path / "a.txt").write_text("aaa")
    assert run_cli(capsys, "check", str(lark_file), "--accept", str(tmp_path / "a.txt"))[0] == 0
    gbnf_file = tmp_path / "g.gbnf"
    gbnf_file.write_text('root ::= "a"+\n')
    assert run_cli(capsys, "check", str(gbnf_file), "--accept", str(tmp_path / "a.txt"))[0] == 0


def test_cli_lint_exit_codes(capsys):
    code, out, _ = run_cli(capsys, "lint", str(BROKEN / "unproductive_rule.lark"))
    assert code == 1 and "unproductive_rule.lark:3:1: error [unproductive-rule]" in out
    assert run_cli(capsys, "lint", str(BROKEN / "unreachable_rule.lark"))[0] == 0
    assert run_cli(capsys, "lint", "--strict", str(BROKEN / "unreachable_rule.lark"))[0] == 1
    code, out, _ = run_cli(capsys, "lint", "--json", str(BROKEN / "empty_terminal.lark"))
    assert json.loads(out)[0]["code"] == "empty-terminal"
    assert run_cli(capsys, "lint", "json")[0] == 0
    assert run_cli(capsys, "lint", "missing.lark")[0] == 2


def test_cli_sample(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "sample", "json", "-n", "4", "--seed", "3", "--max-len", "50")
    strings = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(strings) == 4 and all(JSON.matches(s) for s in strings)
    assert run_cli(capsys, "sample", "json", "-n", "4", "--seed", "3", "--max-len", "50")[1] == out
    assert run_cli(capsys, "sample", "arithmetic", "-n", "3", "--out-dir", str(tmp_path))[0] == 0
    assert len(list(tmp_path.glob("sample_*.txt"))) == 3


def test_cli_explain(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "explain", "json", '{"a": tru}')
    assert code == 1 and "line 1, column 10" in out and "expected:" in out
    assert run_cli(capsys, "explain", "json", "[1]")[0] == 0
    path = tmp_path / "t.json"
    path.write_text("[1,\n 2,\n]")
    code, out, _ = run_cli(capsys, "explain", "json", "--file", str(path))
    assert code == 1 and "line 3, column 1" in out
    assert run_cli(capsys, "explain", "json")[0] == 2
