"""Tools for grammar authors: assertions with readable failures, random samples, lint, a pytest
plugin for ``*.grammar-tests.toml`` files, and the ``constrain check/lint/sample/explain``
commands.

    from constrain.testing import assert_accepts, assert_rejects, explain, lint, sample

    g = constrain.Grammar.builtin("json")
    assert_accepts(g, '{"a": [1, 2]}')
    assert_rejects(g, '{"a": [1, 2,]}')
    print(explain(g, '{"a": tru}').message())   # where it fails and what was expected
    for finding in lint("my_grammar.lark"):
        print(finding.format("my_grammar.lark"))
    fuzz_inputs = sample(g, 100, max_len=200, seed=0)
"""

from .assertions import (Explanation, GrammarAssertionError, assert_accepts, assert_rejects,
                         explain)
from .fuzz import sample
from .lint import Finding, has_errors, lint
from .sources import GrammarSource, resolve

__all__ = [
    "Explanation",
    "Finding",
    "GrammarAssertionError",
    "GrammarSource",
    "assert_accepts",
    "assert_rejects",
    "explain",
    "has_errors",
    "lint",
    "resolve",
    "sample",
]
