"""JSON Schema leaf languages (automata/json_leaves.py), DFA boolean operations
(automata/dfa.py) and search-semantics patterns (automata/regex.parse_pattern_search).

Oracles: ``jsonschema`` validity for strings and numbers (numbers parsed as ``Decimal``, so
bounds and ``multipleOf`` are compared exactly), the ``regex`` package for patterns, and
set semantics on sampled strings for the DFA operations.
"""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal, localcontext

import jsonschema
import numpy as np
import pytest
import regex as oracle_re
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automata.dfa import (complement_within, concatenate, intersect, is_disjoint, is_subset,
                          minimize, union, accepts_nothing)
from automata.json_leaves import (FormatUnsupported, NumberUnsupported, format_dfa,
                                  json_chars_dfa, json_number_dfa, json_string_dfa,
                                  pattern_alternatives, pattern_content_dfa, _counted,
                                  _counted_quoted, _unit, _JSON_CHAR)
from automata.regex import ast_to_dfa, parse_pattern_search, regex_to_dfa
from constrain.errors import RegexError
from tests.strategies import regex_asts, render, strings_around

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


# ---------------------------------------------------------------------------
# DFA operations against set semantics


@FAST
@given(regex_asts, regex_asts, st.data())
def test_boolean_operations_match_set_semantics(a_node, b_node, data):
    a_pat, a_oracle = render(a_node)
    b_pat, b_oracle = render(b_node)
    a, b = regex_to_dfa(a_pat), regex_to_dfa(b_pat)
    u, i = union(a, b), intersect(a, b)
    a_minus_b = complement_within(b, a)
    ab = concatenate(a, b)
    words = strings_around(a_node, data) + strings_around(b_node, data)
    words += [x + y for x, y in zip(words, reversed(words))]
    for w in words:
        in_a = oracle_re.fullmatch(a_oracle, w) is not None
        in_b = oracle_re.fullmatch(b_oracle, w) is not None
        enc = w.encode()
        assert u.matches(enc) == (in_a or in_b)
        assert i.matches(enc) == (in_a and in_b)
        assert a_minus_b.matches(enc) == (in_a and not in_b)
        in_ab = oracle_re.fullmatch(f"(?:{a_oracle})(?:{b_oracle})", w) is not None
        assert ab.matches(enc) == in_ab
    assert is_subset(i, a) and is_subset(a, u) and is_disjoint(a_minus_b, b)
    assert is_subset(a, b) == accepts_nothing(a_minus_b)
    assert is_disjoint(a, b) == i.is_empty
    for d in (u, i, a_minus_b, ab):  # results are minimal and canonical
        m = minimize(d.transitions, d.accepting)
        assert np.array_equal(m.transitions, d.transitions)


def test_operations_on_empty_and_identities():
    a = regex_to_dfa("[ab]*")
    empty = intersect(regex_to_dfa("a"), regex_to_dfa("b"))
    assert empty.is_empty and accepts_nothing(empty)
    assert union(empty, a) is a and intersect(a, empty).is_empty
    assert complement_within(empty, a) is a and complement_within(a, a).is_empty
    assert is_subset(empty, a) and not is_subset(a, empty) and is_disjoint(a, empty)
    assert concatenate(a, empty).is_empty and concatenate().matches(b"")


# ---------------------------------------------------------------------------
# Search-semantics patterns


def _oracle_search(oracle: str, start: bool, end: bool) -> str:
    return ("\\A" if start else "") + f"(?:{oracle})" + ("\\Z" if end else "")


@FAST
@given(regex_asts, st.booleans(), st.booleans(), st.data())
def test_pattern_search_matches_anywhere_unless_anchored(node, start, end, data):
    ours, oracle = render(node)
    pattern = ("^" if start else "") + f"(?:{ours})" + ("$" if end else "")
    dfa = ast_to_dfa(parse_pattern_search(pattern))
    rx = _oracle_search(oracle, start, end)
    words = strings_around(node, data)
    words += ["x" + w for w in words] + [w + "\n" for w in words]
    for w in words:
        assert dfa.matches(w.encode()) == (oracle_re.search(rx, w) is not None), (pattern, w)


def test_pattern_search_branches_and_errors():
    dfa = ast_to_dfa(parse_pattern_search("^ab|cd$|ef"))
    for w, ok in [("abx", True), ("xab", False), ("xcd", True), ("cdx", False), ("xefx", True),
                  ("", False)]:
        assert dfa.matches(w.encode()) == ok, w
    assert ast_to_dfa(parse_pattern_search("")).matches("anything é".encode())
    multi = ast_to_dfa(parse_pattern_search("(?m)^a$"))
    assert multi.matches(b"x\na\ny") and not multi.matches(b"xa")
    with pytest.raises(RegexError):
        parse_pattern_search("a^b")
    with pytest.raises(RegexError):
        parse_pattern_search("(a$)b")


# ---------------------------------------------------------------------------
# Strings

_CHARS = st.sampled_from(["a", "b", "c", "é", "€", "😀", "\U0010ffff", '"', "\\", "/", "\n",
                          "\t", "\x00", "\x1f", "\x7f", "\u2028", " ", "1", "Z"])
_TEXT = st.lists(_CHARS, max_size=7).map("".join) | st.text(max_size=6)

# (pattern for constrain, oracle regex for `regex.search`): ECMA-262 meanings.
_PATTERNS = [("a", "a"), ("^a", r"\Aa"), ("b$", r"b\Z"), ("^[a-c]*$", r"\A[a-c]*\Z"),
             ("é|😀", "é|😀"), ("^.{2}", r"\A[^\n\r\u2028\u2029]{2}"), ('"', '"'),
             (r"\\", r"\\"), ("^(ab)+$|^$", r"\A(?:ab)+\Z|\A\Z"), (r"\n", r"\n")]
_FORMATS = ["date", "ipv4", "ipv6", "json-pointer", "uuid"]


def test_the_oracle_checks_the_formats_it_judges():
    # jsonschema passes any string for a format whose optional package is missing; the test
    # extra installs them (jsonpointer, rfc3339-validator), and this says so if one is gone
    assert not FORMAT_CHECKER.conforms("0", "json-pointer"), "pip install jsonpointer"
    assert not FORMAT_CHECKER.conforms("2020-01-01T25:00:00Z", "date-time"), \
        "pip install rfc3339-validator"
    for fmt in _FORMATS:
        assert not FORMAT_CHECKER.conforms("not valid", fmt), fmt


def _string_valid(s: str, lo: int, hi: int | None, oracle: str | None,
                  fmt: str | None) -> bool:
    schema: dict = {"type": "string", "minLength": lo}
    if hi is not None:
        schema["maxLength"] = hi
    if fmt is not None:
        schema["format"] = fmt
    ok = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER).is_valid(s)
    return ok and (oracle is None or oracle_re.search(oracle, s) is not None)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.integers(0, 3), st.none() | st.integers(0, 5),
       st.none() | st.sampled_from(_PATTERNS), st.none() | st.sampled_from(_FORMATS))
def test_string_dfa_matches_jsonschema(s, lo, hi, pat, fmt):
    pattern, oracle = pat if pat else (None, None)
    dfa = json_string_dfa(min_length=lo, max_length=hi, pattern=pattern, format=fmt)
    valid = _string_valid(s, lo, hi, oracle, fmt)
    minimal = json.dumps(s, ensure_ascii=False)
    ascii_ = json.dumps(s, ensure_ascii=True)
    enc = minimal.encode("utf-8", "surrogatepass")
    assert dfa.matches(enc) == (valid and _encodable(s)), (s, minimal)
    if pattern is None and fmt is None:
        assert dfa.matches(ascii_.encode()) == valid, ascii_
    else:  # minimal style: \uXXXX only for control characters, '"' and '\'
        assert dfa.matches(ascii_.encode()) == (valid and ascii_ == minimal)


def _encodable(s: str) -> bool:
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in s)


@pytest.mark.parametrize("kwargs", [{}, {"max_length": 2}, {"pattern": "a"},
                                    {"format": "json-pointer"}])
def test_string_dfa_rejects_malformed_tokens(kwargs):
    dfa = json_string_dfa(**kwargs)
    for bad in [b'"a', b'a"', b'"\x01"', b'"\n"', b'"\\"', b'"\\x"', b'"\\u12"', b'"\\ud800"',
                b'"\\udc00"', b'"\\ud800\\u0041"', b'"a""', b'"\xff"', b'"\xed\xa0\x80"',
                b'"\xc0\xaf"', b"'a'"]:
        assert not dfa.matches(bad), bad


def test_string_escape_styles():
    plain = json_string_dfa(min_length=1, max_length=1)
    for tok in [br'"\/"', br'"\u0041"', br'"\uD83D\uDE00"', b'"\xf0\x9f\x98\x80"', br'"\""',
                br'"\u001F"', br'"\u001f"']:
        assert plain.matches(tok), tok
    assert not plain.matches(br'"\uD83D\uDE00\uD83D\uDE00"')
    pat = json_string_dfa(pattern="^.*$", max_length=1)
    for tok, ok in [(br'"\/"', False), (br'"/"', True), (br'"\u0041"', False), (br'"A"', True),
                    (br'"\u001F"', True), (br'"\u001f"', True), (br'"\t"', True),
                    (br'"\u0009"', True), (br'"\u0022"', True), (br'"\u005C"', True),
                    (br'"\u005c"', True), (br'"\n"', False)]:  # '.' excludes \n
        assert pat.matches(tok) == ok, tok


def test_counted_chains_are_minimal():
    for lo, hi in [(0, 0), (0, 3), (2, 5), (3, None), (0, None), (1, None), (4, 4)]:
        for make in (lambda: _counted_quoted(_unit(_JSON_CHAR), lo, hi),
                     lambda: _counted(_unit(r"[\s\S]"), lo, hi)):
            d = make()
            m = minimize(d.transitions, d.accepting)
            assert np.array_equal(m.transitions, d.transitions), (lo, hi)


def test_large_max_length_is_exact_at_the_bound():
    dfa = json_string_dfa(min_length=2, max_length=3000)
    assert dfa.matches(json.dumps("é" * 3000).encode())
    assert dfa.matches(json.dumps("😀" * 3000, ensure_ascii=False).encode())
    assert not dfa.matches(json.dumps("a" * 3001).encode())
    assert not dfa.matches(b'"a"')
    assert json_string_dfa(min_length=3, max_length=2).is_empty


def test_pattern_with_length_and_escapes():
    dfa = json_string_dfa(pattern=r'^[a"\\]+$', min_length=2, max_length=3)
    assert dfa.matches(br'"a\"\\"') and dfa.matches(br'"a\u0022"')
    assert not dfa.matches(br'"a"') and not dfa.matches(br'"aaaa"')


# ---------------------------------------------------------------------------
# Formats

_EXAMPLES = {
    "date": (["2020-02-29", "2000-02-29", "0001-01-01", "1999-12-31"],
             ["1900-02-29", "0000-01-01", "2021-04-31", "2021-13-01", "2021-1-01"]),
    "time": (["23:59:59Z", "00:00:00.5+05:30", "12:00:00z", "08:30:06-00:00"],
             ["24:00:00Z", "12:00:00", "12:00:00+24:00", "23:59:60Z", "12:00:00.Z"]),
    "date-time": (["1963-06-19T08:30:06.283185Z", "1963-06-19t08:30:06z"],
                  ["1963-06-19 08:30:06Z", "1963-06-19T08:30:06"]),
    "duration": (["P1Y2M3DT4H5M6S", "PT36H", "P2W", "P1M2D"],
                 ["P", "PT", "P1Y2D", "P1W2D", "PT1H2S", "P1.5D"]),
    "email": (["a.b@example.com", '"a b"@x', "x@[1.2.3.4]", "x@[IPv6:::1]"],
              ["a..b@x", ".a@x", "a@-x", "a@", "@x", "a b@x"]),
    # A-labels ("xn--", any "--" in positions 3-4) are refused: their punycode is not checked.
    "hostname": (["a", "a-b.c0m", "ab-c.d--e"], ["-a", "a-", "a..b", "a.", "a_b",
                                                 "xn--bcher-kva.example", "ab--c"]),
    "ipv4": (["0.0.0.0", "255.255.255.255"], ["256.0.0.0", "01.2.3.4", "1.2.3"]),
    "ipv6": (["::", "1::", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5::1.2.3.4"],
             ["1:2:3:4:5:6::1.2.3.4", ":1::", "1::2::3", "::1.2.3.04", "12345::"]),
    "uri": (["http://a/b?c#d", "urn:x:y", "a:", "s://[v1.x]/"], ["//a", "a b:c", "1a:", "a:%g0"]),
    "uri-reference": (["", "//a", "./x:y", "#f", "a/b:c"], ["1:b", "/[::1]", "%zz"]),
    "uuid": (["2EB8AA08-aa98-11ea-b4aa-73b441d16380"], ["2eb8aa08aa9811eab4aa73b441d16380"]),
    "json-pointer": (["", "/", "/a~0~1", "/\x00"], ["a", "/~2", "/~"]),
    "relative-json-pointer": (["0", "10#", "2/a"], ["01", "-1", "0##", ""]),
}


@pytest.mark.parametrize("name", sorted(_EXAMPLES))
def test_format_examples(name):
    dfa = format_dfa(name)
    valid, invalid = _EXAMPLES[name]
    for s in valid:
        assert dfa.matches(s.encode()), s
    for s in invalid:
        assert not dfa.matches(s.encode()), s


def test_hostname_total_length_is_at_most_253():
    dfa = format_dfa("hostname")
    label = "a" * 63
    longest = ".".join([label] * 3 + ["b" * 61])  # 253 characters
    assert len(longest) == 253 and dfa.matches(longest.encode())
    assert not dfa.matches((longest + "c").encode())
    assert not dfa.matches(("a." * 127).rstrip(".").encode() + b".bb")  # 256 characters
    assert not dfa.matches(("a" * 64).encode())


def test_leap_seconds_opt_in():
    dfa = format_dfa("time", leap_seconds=True)
    for s, ok in [("23:59:60Z", True), ("01:29:60+01:30", True), ("15:59:60.1-08:00", True),
                  ("23:59:60+01:00", False), ("22:59:60Z", False), ("23:59:61Z", False)]:
        assert dfa.matches(s.encode()) == ok, s


def test_unsupported_formats():
    for name in ("regex", "no-such-format"):
        with pytest.raises(FormatUnsupported) as err:
            json_string_dfa(format=name)
        assert err.value.format == name and name in str(err.value)


# Known, documented differences from the test suite (see the module docstring).
_SUITE_EXCEPTIONS = {"time": {"leap second"}, "date-time": {"leap second"}}


def test_formats_against_the_test_suite(shared_dir):
    folder = shared_dir / "data" / "json-schema-test-suite" / "draft2020-12" / "optional" / "format"
    for name in sorted(_EXAMPLES):
        dfa = json_string_dfa(format=name)
        for group in json.loads((folder / f"{name}.json").read_text(encoding="utf-8")):
            for case in group["tests"]:
                if not isinstance(case["data"], str):
                    continue
                got = dfa.matches(json.dumps(case["data"], ensure_ascii=False).encode())
                if got == case["valid"]:
                    continue
                desc = case["description"]
                known = _SUITE_EXCEPTIONS.get(name, set())
                refused_a_label = (name == "hostname" and case["valid"]
                                   and re.search(r"(^|\.)[^.]{2}--", case["data"]))
                if any(k in desc for k in known) or refused_a_label:
                    continue
                pytest.fail(f"{name}: {case['data']!r} ({desc}) expected {case['valid']}")


# ---------------------------------------------------------------------------
# Numbers

_KEYS = {"minimum": "minimum", "maximum": "maximum", "exclusive_minimum": "exclusiveMinimum",
         "exclusive_maximum": "exclusiveMaximum", "multiple_of": "multipleOf"}
_INTEGER_STYLE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL_STYLE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def _number_validator(integer: bool, kwargs: dict):
    schema: dict = {"type": "integer" if integer else "number"}
    for k, v in kwargs.items():
        schema[_KEYS[k]] = Decimal(str(v)) if isinstance(v, float) else v
    return jsonschema.Draft202012Validator(schema)


def _number_valid(validator, numeral: str) -> bool:
    with localcontext() as ctx:
        ctx.prec = 1000
        return validator.is_valid(json.loads(numeral, parse_float=Decimal))


_CONFIGS = [dict(minimum=0), dict(minimum=-1.5), dict(maximum=2.25), dict(exclusive_minimum=0),
            dict(exclusive_maximum=-0.5), dict(minimum=1, maximum=1),
            dict(exclusive_minimum=1, maximum=1), dict(minimum=-12.3, exclusive_maximum=9.99),
            dict(multiple_of=3), dict(multiple_of=0.25, minimum=-2), dict(multiple_of=0.07),
            dict(multiple_of=10, exclusive_minimum=-30), dict(minimum=0.001),
            dict(maximum=Decimal("-0.001"))]


@pytest.mark.parametrize("kwargs", _CONFIGS)
def test_numbers_exhaustive_short_numerals(kwargs):
    for integer in (True, False):
        dfa = json_number_dfa(integer=integer, **kwargs)
        validator = _number_validator(integer, kwargs)
        style = _INTEGER_STYLE if integer else _DECIMAL_STYLE
        for n in range(1, 5):
            for chars in itertools.product("-0123456789.", repeat=n):
                s = "".join(chars)
                expected = bool(style.fullmatch(s)) and _number_valid(validator, s)
                assert dfa.matches(s.encode()) == expected, (integer, kwargs, s)


_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=3,
                        min_value=-10**6, max_value=10**6)
_BOUND = st.none() | st.integers(-10**30, 10**30) | _DECIMALS


def _numerals(value: Decimal) -> list[str]:
    text = format(value, "f")
    out = [text, text + ".0" if "." not in text else text + "0"]
    if text.startswith("-"):
        out.append(text[1:])
    else:
        out.append("-" + text)
    return out


@settings(max_examples=150, deadline=None)
@given(st.booleans(), _BOUND, _BOUND, _BOUND, _BOUND,
       st.none() | st.sampled_from([1, 3, 7, 12, Decimal("0.5"), Decimal("0.01"),
                                    Decimal("2.5"), Decimal("0.3")]),
       st.lists(st.integers(-10**40, 10**40).map(Decimal) | _DECIMALS, min_size=1,
                max_size=6))
def test_numbers_random_bounds(integer, lo, hi, xlo, xhi, mult, values):
    kwargs = {k: v for k, v in dict(minimum=lo, maximum=hi, exclusive_minimum=xlo,
                                    exclusive_maximum=xhi, multiple_of=mult).items()
              if v is not None}
    dfa = json_number_dfa(integer=integer, **kwargs)
    validator = _number_validator(integer, kwargs)
    style = _INTEGER_STYLE if integer else _DECIMAL_STYLE
    bounds = [v for v in (lo, hi, xlo, xhi) if v is not None]
    candidates = [n for v in values + bounds for n in _numerals(Decimal(v))]
    for s in candidates:
        expected = bool(style.fullmatch(s)) and _number_valid(validator, s)
        assert dfa.matches(s.encode()) == expected, (kwargs, s)


def test_number_styles_and_edges():
    free = json_number_dfa(integer=False)
    for s in ["0", "-0", "1.5e-3", "1E+9", "-0.0"]:
        assert free.matches(s.encode()), s
    for s in ["01", "1.", ".5", "+1", "1e", "--1"]:
        assert not free.matches(s.encode()), s
    ints = json_number_dfa(integer=True)
    assert ints.matches(b"-0") and not ints.matches(b"1.0") and not ints.matches(b"1e3")
    bounded = json_number_dfa(integer=False, minimum=0)
    assert bounded.matches(b"-0") and bounded.matches(b"-0.000") and not bounded.matches(b"1e3")
    assert not json_number_dfa(integer=False, exclusive_minimum=0).matches(b"-0.0")
    big = 10**50
    dfa = json_number_dfa(integer=True, minimum=big, maximum=big + 1)
    assert dfa.matches(str(big).encode()) and dfa.matches(str(big + 1).encode())
    assert not dfa.matches(str(big + 2).encode()) and not dfa.matches(str(big - 1).encode())
    assert json_number_dfa(integer=True, minimum=1.5, maximum=1.9).is_empty
    assert json_number_dfa(integer=False, minimum=3, maximum=2).is_empty
    five = json_number_dfa(integer=False, multiple_of=5)
    for s, ok in [("10", True), ("10.0", True), ("10.00", True), ("10.5", False), ("-5", True),
                  ("0.0", True), ("7", False)]:
        assert five.matches(s.encode()) == ok, s
    assert json_number_dfa(integer=False, multiple_of=0.1).matches(b"0.3")  # exact decimals
    with pytest.raises(NumberUnsupported):
        json_number_dfa(integer=True, multiple_of=10**7 + 1)
    with pytest.raises(ValueError):
        json_number_dfa(integer=True, multiple_of=0)


# ---------------------------------------------------------------------------
# Pieces of long strings, patterns split at top-level alternatives


def test_chars_pieces_count_characters_in_every_spelling():
    inside = json_chars_dfa(2, 3)
    for text, ok in ((b"ab", True), (b"abc", True), (b"a", False), (b"abcd", False),
                     (b"\\u00e9\\n", True), (b'a"', False), (b"\\ud83d\\ude00x", True)):
        assert inside.matches(text) == ok, text
    opened = json_chars_dfa(1, 1, open_quote=True)
    assert opened.matches(b'"a') and not opened.matches(b'a') and not opened.matches(b'"a"')
    closed = json_chars_dfa(0, 1, close_quote=True)
    assert closed.matches(b'"') and closed.matches(b'a"') and not closed.matches(b'ab"')
    both = json_chars_dfa(0, None, open_quote=True, close_quote=True)
    assert both.matches(b'""') and both.matches(b'"abc"') and not both.matches(b'"a')
    assert json_chars_dfa(3, 2).is_empty


def test_pattern_alternatives_split_and_unwrap():
    assert pattern_alternatives(r"^$|(^(?:\S+\s+){0,19}\S+$)") == [
        "^$", r"^(?:\S+\s+){0,19}\S+$"]
    assert pattern_alternatives("(^$)|(?P<u>^[a-f]{8}$)") == ["^$", "^[a-f]{8}$"]
    assert pattern_alternatives("(?:x|(^y$))") == ["x", "^y$"]
    for unsplit in ("(a)(b)", r"a\|b", "(a)+", "[(|]", "(?x)a|b"):
        assert pattern_alternatives(unsplit) in ([unsplit], ["[(|]"]), unsplit
    assert pattern_alternatives("[(|]|x") == ["[(|]", "x"]


def test_anchors_inside_alternatives_are_exact():
    pattern = r"^$|(^(?:\S+\s+){0,2}\S+$)"
    dfa = pattern_content_dfa(pattern)
    for text in ("", "a", "a b", "a b c", "a b c d", " a", "a ", "a  b"):
        expected = oracle_re.search(pattern, text) is not None
        assert dfa.matches(text.encode()) == expected, text
    with pytest.raises(RegexError, match="anchor"):
        pattern_content_dfa(r"^(a($|/))*$")  # an anchor inside a repetition stays unsupported


def test_unanchored_alternation_of_words_stays_small_and_exact():
    words = ["Red", "Blue", "Gold", "Black", "Black 2", "X", "Y", "Omega Ruby", "Ultra Sun",
             "Let's Go Eevee", "LeafGreen", "HeartGold", "Sapphire", "Alpha Sapphire"] * 2
    pattern = "|".join(dict.fromkeys(words + [w + "!" for w in words]))
    dfa = pattern_content_dfa(pattern)
    assert dfa.n_states < 500
    for text in ("xxRedyy", "Bl", "Ultra", "Ultra Sun", "a Black 2", "lack", "", "HeartGol"):
        assert dfa.matches(text.encode()) == (oracle_re.search(pattern, text) is not None), text


def test_negative_bounds_beyond_decimal_precision_are_exact():
    # 29 digits: more than the default Decimal context keeps, so negating must not round.
    bound = -15624999999999999999999999995
    gt = json_number_dfa(integer=False, exclusive_minimum=bound)
    assert not gt.matches(str(bound).encode()) and not gt.matches(str(bound - 1).encode())
    assert gt.matches(str(bound + 1).encode())
    assert gt.matches(b"-15624999999999999999999999994.9999999")
    assert not gt.matches(b"-15624999999999999999999999995.0000001")
    le = json_number_dfa(integer=True, maximum=bound)
    assert le.matches(str(bound).encode()) and not le.matches(str(bound + 1).encode())
