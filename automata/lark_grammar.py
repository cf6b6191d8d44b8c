"""Lark grammars into the grammar IR.

Lark's own loader parses the grammar language (rules, terminals, `?rule`, `_rule`, templates,
`%import`, `%ignore`, aliases) and expands EBNF into plain rules; this module turns its result
into a ``Cfg``. `%import common.X` resolves to constrain's `grammars/common.lark`. Priorities and
aliases do not change the language and are ignored.
"""

from __future__ import annotations

import re
from constrain.errors import GrammarError, RegexError
from constrain.grammars import DIRECTORY

from .cfg import Cfg
from .regex import parse_regex

def cfg_from_lark(text: str, *, start: str = "start") -> Cfg:
    """The ``Cfg`` of a Lark grammar. Raises GrammarError with Lark's line and column."""
    import lark
    from lark.load_grammar import load_grammar

    try:
        grammar, _ = load_grammar(text, "<grammar>", [str(DIRECTORY)], False)
        terminal_defs, rules, ignore = grammar.compile([start], set())
    except lark.exceptions.LarkError as e:
        raise GrammarError(f"Lark grammar: {e}".strip()) from None
    terminals = {}
    for t in terminal_defs:
        flags = "".join(sorted(t.pattern.flags))
        if type(t.pattern).__name__ == "PatternStr":
            source = re.escape(t.pattern.value)
        else:
            source = t.pattern.value
        pattern = f"(?{flags}:{source})" if flags else source
        try:
            terminals[t.name] = parse_regex(pattern)
        except RegexError as e:
            raise GrammarError(f"terminal {t.name}: {e}") from None
    alternatives: dict[str, list[tuple[str, ...]]] = {}
    for rule in rules:
        alternatives.setdefault(rule.origin.name, []).append(tuple(s.name for s in rule.expansion))
    return Cfg(terminals=terminals,
               rules={k: tuple(v) for k, v in alternatives.items()},
               start=start, ignore=tuple(ignore))
