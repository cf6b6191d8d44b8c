"""GBNF front end: languages compared with equivalent regexes, Lark grammars or json.loads;
errors name the rule, line and column."""

from __future__ import annotations

import json
import re

import lark
import pytest

import constrain as cn
from constrain.automata.gbnf import cfg_from_gbnf


def gbnf(text: str, **kw) -> cn.Grammar:
    return cn.Grammar.from_gbnf(text, **kw)


def lark_accepts(parser: lark.Lark, text: str) -> bool:
    try:
        parser.parse(text)
        return True
    except lark.exceptions.UnexpectedInput:
        return False


# ---------------------------------------------------------------- against regexes

REGULAR_CASES = [
    (  # a list grammar
        r'''
root ::= "[" ( item ( ", " item )* )? "]"
item ::= [a-z]{1,5}
''',
        r"\[([a-z]{1,5}(, [a-z]{1,5})*)?\]",
        ["[]", "[a]", "[ab, cde]", "[abcde, x, y]", "[abcdef]", "[a,b]", "[a, ]", "[", "[A]",
         "[a, b, c, d, e, f, g]"],
    ),
    (  # chess moves in short algebraic notation, up to four
        r'''
# a few moves separated by single spaces
root  ::= move (" " move){0,3}
move  ::= ( piece? file rank | piece file? "x" file rank | castle ) check?
piece ::= [KQRBN]
file  ::= [a-h]
rank  ::= [1-8]
castle ::= "O-O" | "O-O-O"
check ::= "+" | "#"
''',
        r"(([KQRBN]?[a-h][1-8]|[KQRBN][a-h]?x[a-h][1-8]|O-O|O-O-O)[+#]?)"
        r"( (([KQRBN]?[a-h][1-8]|[KQRBN][a-h]?x[a-h][1-8]|O-O|O-O-O)[+#]?)){0,3}",
        ["e4", "e4 e5 Nf3 Nc6", "Bxe5+", "Nbxd2", "O-O-O#", "e4 e5 Nf3 Nc6 Bb5", "e9", "Ke",
         "O-O-", "e4  e5", "", "Qh5+ Ke7"],
    ),
    (  # escapes, classes, negation, dot, bounded and unbounded counts, dashes, comments
        r'''
root ::= greeting-part sep tail   # the whole thing
greeting-part ::= "h\x69\u00e9\U0001F600" | "\"q\"\\"
sep ::= [\t\n\-]{2}
tail ::= [^a-c\]]{1,} "." . |
  "end"
  [0-9]{3,}
''',
        r"(hi\u00e9\U0001F600|\"q\"\\)[\t\n-]{2}([^a-c\]]+\..|end[0-9]{3,})",
        ["hi\u00e9\U0001F600--zz.!", '"q"\\\t\nend123', '"q"\\\t\nend12', "hi\u00e9\U0001F600-zz.!",
         "hi\u00e9\U0001F600--za.!", "hi\u00e9\U0001F600--]x.y", "hi\u00e9\U0001F600--xy.\n",
         "hi\u00e9\U0001F600--x..", "hi\u00e9\U0001F600-\nend0000", "hi\u00e9\U0001F600--end"],
    ),
    (  # repetition over rules, empty alternatives, nested groups
        r'''
root ::= (pair ";"){2,3} opt
pair ::= key "=" (key | )
key ::= [xy] [0-9]?
opt ::= "!" |
''',
        r"([xy][0-9]?=([xy][0-9]?)?;){2,3}!?",
        ["x=;y1=x;", "x=;y=;x9=y2;!", "x=;", "x=;y=;x=;y=;", "x=y;y=x;!", "x=y;y=x;!!", "z=;x=;"],
    ),
]


@pytest.mark.parametrize("grammar, pattern, samples", REGULAR_CASES)
def test_gbnf_matches_equivalent_regex(grammar, pattern, samples):
    g = gbnf(grammar)
    for s in samples:
        assert g.matches(s) == bool(re.fullmatch(pattern, s, re.DOTALL)), (s, pattern)


# ---------------------------------------------------------------- against Lark


ARITH_GBNF = r'''
root   ::= expr
expr   ::= term (("+" | "-") term)*
term   ::= factor (("*" | "/") factor)*
factor ::= [0-9]+ | "(" expr ")" | "-" factor
'''

ARITH_LARK = r'''
start: expr
expr: term (("+" | "-") term)*
term: factor (("*" | "/") factor)*
factor: /[0-9]+/ | "(" expr ")" | "-" factor
'''

ARITH_SAMPLES = ["1", "1+2*3", "(1+2)*-3", "--4", "((7))/2-1", "1+", "(1", "1 + 2", "", "*2",
                 "12(3)", "1--2", "(-(-(5)))"]


def test_gbnf_arithmetic_matches_lark():
    g = gbnf(ARITH_GBNF)
    parser = lark.Lark(ARITH_LARK, parser="earley", lexer="dynamic_complete")
    for s in ARITH_SAMPLES:
        assert g.matches(s) == lark_accepts(parser, s), s


JSON_GBNF = r'''
root   ::= value
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]*)) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws

# optional whitespace: spaces, tabs, newlines
ws ::= ([ \t\n] ws)?
'''

JSON_SAMPLES = [
    '{}', '[]', '{"a": 1}', '{"a":[1,2.5e-3,{"b":null}],"c":"d\\n\\u00e9"}', '[true, false]',
    '"caf\u00e9"', '-0', '0.5', '1E+9', '[1,]', "{'a':1}", '01', '[1 2]', '"tab\there"',
    '{"a" : 1}', '"\\x41"', '[\n  1,\n  2\n]\n', 'nul', '{"a":}', '1.', '-', '"\\u12"',
]


def json_reference(s: str) -> bool:
    """json.loads, restricted to this grammar's style: no leading whitespace, no \\r, no DEL."""
    if s[:1].isspace() or "\r" in s or "\x7f" in s:
        return False
    try:
        json.loads(s, parse_constant=lambda name: 1 / 0)
        return True
    except (ValueError, ZeroDivisionError):
        return False


def test_gbnf_json_matches_json_loads():
    g = gbnf(JSON_GBNF)
    for s in JSON_SAMPLES:
        assert g.matches(s) == json_reference(s), s


def test_gbnf_start_rule_can_be_chosen():
    g = gbnf('root ::= "a"\nother ::= "b" root', start="other")
    assert g.matches("ba") and not g.matches("a")


def test_gbnf_builds_terminals_and_helper_rules():
    cfg = cfg_from_gbnf('root ::= "ab" [c-d]* x{2,}\nx ::= "x" | "yy"')
    assert set(cfg.rules) >= {"root", "x"}
    assert cfg.start == "root" and cfg.ignore == ()
    # the regular prefix "ab" [c-d]* is one terminal
    first = cfg.rules["root"][0][0]
    assert first in cfg.terminals
    g = cn.Grammar.from_cfg(cfg)
    assert g.matches("abcdxyy") and g.matches("abxx") and not g.matches("abx")


# ---------------------------------------------------------------- errors


ERROR_CASES = [
    ('root ::= item\nitem ::= "a" thing', "rule 'item', line 2, column 14: undefined rule 'thing'"),
    ('root ::= "abc', "rule 'root', line 1, column 10: unclosed string literal"),
    ('root ::= "a"\n  [abc', "rule 'root', line 2, column 3: unclosed character class"),
    ('other ::= "a"', "no rule 'root'"),
    ('root ::= ("a" | "b"\nx ::= "c"', "rule 'root', line 1, column 10: unclosed '('"),
    ('root ::= "a" )', "rule 'root', line 1, column 14: unexpected ')'"),
    ('root ::= "\\q"', "rule 'root', line 1, column 11: unknown escape \\q"),
    ('root := "a"', "line 1, column 6: expected '::='"),
    ('root ::= "a"{3,1}', "rule 'root', line 1, column 13: repetition {3,1}"),
    ('root ::= "a"{x}', "rule 'root', line 1, column 14: expected a number"),
    ('root ::= "a"{2', "rule 'root', line 1, column 15: expected '}'"),
    ('root ::= [z-a]', "rule 'root', line 1, column 12: bad range"),
    ('root ::= "\\x4"', "rule 'root', line 1, column 11: escape \\x needs 2 hexadecimal digits"),
    ('root ::= "a"\nroot ::= "b"', "rule 'root', line 2, column 1: rule 'root' is defined twice"),
    ('root ::= "a" ! "b"', "rule 'root', line 1, column 14: unexpected '!'"),
    ('"a" ::= root', "line 1, column 1: expected a rule name"),
    ('root ::= loop\nloop ::= "a" loop', "empty"),
]


@pytest.mark.parametrize("text, message", ERROR_CASES)
def test_gbnf_errors_name_rule_line_and_column(text, message):
    with pytest.raises(cn.GrammarError) as info:
        gbnf(text)
    assert message in str(info.value)


def test_gbnf_rejects_non_text():
    with pytest.raises(TypeError):
        cfg_from_gbnf(b"root ::= \"a\"")
