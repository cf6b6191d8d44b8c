"""The pytest plugin: ``*.grammar-tests.toml`` files collected and run through ``pytester``."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

# Imported here, before pytester snapshots sys.modules, so that in-process runs reuse it (and
# numpy) instead of importing them a second time.
import constrain.testing.pytest_plugin  # noqa: F401

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent


def _entry_point_installed() -> bool:
    return any(ep.name == "constrain" and ep.value == "constrain.testing.pytest_plugin"
               for ep in metadata.entry_points(group="pytest11"))


def run(pytester, *args):
    """Run pytest in the pytester folder with the plugin loaded exactly once: through its
    installed entry point, or with -p where the installed metadata predates it. Plugins the
    grammar files do not need are left out: they dominate the start-up time."""
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    extra = [] if (autoload and _entry_point_installed()) else \
        ["-p", "constrain.testing.pytest_plugin"]
    quiet = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark"]
    return pytester.runpytest_inprocess(*extra, *quiet,
                                        "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


def test_entry_point_is_declared_in_setup_py():
    text = (REPO / "setup.py").read_text()
    assert re.search(r'"pytest11":\s*\["constrain = constrain.testing.pytest_plugin"\]', text)
    assert '"constrain.testing"' in text


def test_examples_become_items_and_pass(pytester):
    pytester.makefile(".grammar-tests.toml", json='''
grammar = "json"
accept = ['{"a": [1, 2]}', "[]", "  null "]
reject = ["{", "[1,]"]
''')
    result = run(pytester, "-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*json.grammar-tests.toml::accept[[]0[]] PASSED*",
                                 "*json.grammar-tests.toml::reject[[]1[]] PASSED*"])


def test_failures_show_offset_line_column_context_and_expectation(pytester):
    pytester.makefile(".grammar-tests.toml", broken='''
grammar = "json"
accept = ["""{"a":\n  [1, 2}"""]
reject = ["[1]"]
''')
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*_ accept[[]0[]] _*",
        "*stops being a viable prefix at byte 13 (line 2, column 8)*",
        "*[[]1, 2}*",
        "*expected: one of the terminals \",\", \"]\", NUMBER*",
        "*accepts the text \"[[]1]\", which should be rejected*",
    ])


def test_grammar_files_inline_grammars_and_example_files(pytester):
    pytester.path.joinpath("pairs.lark").write_text('start: pair ("," pair)*\n'
                                                    'pair: KEY "=" VALUE\n'
                                                    'KEY: /[a-z]+/\nVALUE: /[0-9]+/\n')
    good = pytester.mkdir("good")
    good.joinpath("one.txt").write_text("a=1,b=2")
    good.joinpath("two.txt").write_text("x=10")
    bad = pytester.mkdir("bad")
    bad.joinpath("eq.txt").write_text("a==1")
    pytester.makefile(".grammar-tests.toml", pairs='''
grammar = "pairs.lark"
accept = ["k=0"]
accept_files = ["good/*.txt"]
reject_files = ["bad/*.txt"]
''', inline='''
gbnf = 'root ::= "a"+'
accept = ["aaa"]
reject = ["", "ab"]
''')
    result = run(pytester, "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*pairs.grammar-tests.toml::accept[[]good/one.txt[]] PASSED*",
                                 "*pairs.grammar-tests.toml::reject[[]bad/eq.txt[]] PASSED*"])


def test_bad_files_give_clear_errors(pytester):
    pytester.makefile(".grammar-tests.toml", unknown_key='grammar = "json"\naccpet = ["1"]\n',
                      missing_grammar='grammar = "nope.lark"\naccept = ["1"]\n',
                      no_files='grammar = "json"\naccept_files = ["none/*.json"]\n')
    result = run(pytester, "--continue-on-collection-errors")
    result.assert_outcomes(failed=1, errors=2)
    result.stdout.fnmatch_lines_random([
        "*unknown key(s) accpet*",
        "*no grammar file*nope.lark*",
        "*pattern 'none/[*].json' matches no file*",
    ])


def test_other_toml_files_are_not_collected(pytester):
    pytester.makefile(".toml", settings='accept = ["x"]\n')
    result = run(pytester)
    assert result.ret == 5      # no tests collected
