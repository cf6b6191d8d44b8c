"""JSON Schema -> grammar: walks under masks validate, instances round-trip, errors name
keyword and pointer.

For every schema: random walks under token masks over a byte vocabulary must end in JSON
texts in the chosen style that ``jsonschema`` accepts; hand-written (and, where
``hypothesis-jsonschema`` is installed, generated) valid instances serialised in the style
must match; mutations that ``jsonschema`` rejects must not.
"""

from __future__ import annotations

import enum
import json
import re
import warnings
from typing import Dict, List, Literal, Optional, Union

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import constrain as cn
from constrain.automata.json_schema import cfg_from_json_schema, share_equal_subschemas
from constrain.errors import SchemaError

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def byte_vocab():
    tokens = [bytes([b]) for b in range(256)]
    tokens += [b'{"', b'":', b'",', b"true", b"null", b"false", b"12", b"\\u00e9", b"\\n"]
    tokens.append(b"")
    return cn.Vocabulary.from_token_bytes(tokens, eos_token_ids=[len(tokens) - 1])


VOCAB = byte_vocab()
PREFERRED = set(b'"}],:0123456789-.eE[{tfn \n') | {256 + i for i in range(9)}


def walk(compiled, rng, max_tokens=400):
    """A random walk under masks that favours structure, so that walks end."""
    m = compiled.matcher()
    text = b""
    eos = VOCAB.eos_token_ids[0]
    for _ in range(max_tokens):
        allowed = m.allowed_token_ids()
        assert len(allowed), f"empty mask after {text!r}"
        allowed = [int(t) for t in allowed]
        if eos in allowed and rng.random() < 0.5:
            assert m.accept_token(eos)
            return text
        choices = [t for t in allowed if t != eos]
        if not choices:
            assert m.accept_token(eos)
            return text
        preferred = [t for t in choices if t in PREFERRED]
        if preferred and rng.random() < 0.6:
            choices = preferred
        t = int(rng.choice(choices))
        assert m.accept_token(t)
        text += VOCAB.token_bytes[t]
    return None


# ---------------------------------------------------------------------------
# Style checks

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?'
                    r"|-?Infinity|NaN|true|false|null|[{}\[\],:]|[ \t\n\r]+", re.S)


def _shape(text: str) -> list:
    """The token kinds and whitespace of a JSON text (strings/numbers as placeholders)."""
    out, pos = [], 0
    while pos < len(text):
        mt = _TOKEN.match(text, pos)
        assert mt, f"not a JSON token at {pos} in {text!r}"
        tok = mt.group()
        if tok[0] == '"':
            out.append("S")
        elif tok[0] in "-0123456789IN":
            out.append("N")
        else:
            out.append(tok)
        pos = mt.end()
    return out


def dumps(value, opts) -> str:
    if opts.get("whitespace") == "flexible":
        return json.dumps(value, ensure_ascii=False, indent=1)
    indent = opts.get("indent")
    seps = opts.get("separators") or ((",", ": ") if indent is not None else (",", ":"))
    return json.dumps(value, ensure_ascii=False, separators=tuple(seps), indent=indent)


def check_style(text: str, value, opts) -> None:
    if opts.get("whitespace") == "flexible":
        limit = opts.get("max_whitespace", 16)
        for tok in _shape(text):
            if tok.strip() == "":
                assert len(tok) <= limit, text
        return
    canonical = dumps(value, opts)
    assert _shape(text) == _shape(canonical), (text, canonical)


def _imprecise(value) -> bool:
    if isinstance(value, float):
        return not abs(value) < 2.0 ** 52
    if isinstance(value, int) and not isinstance(value, bool):
        return False
    if isinstance(value, list):
        return any(_imprecise(x) for x in value)
    if isinstance(value, dict):
        return any(_imprecise(x) for x in value.values())
    return False


def validator(schema, assert_format=True):
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS if assert_format else None)


def check(schema, valid=(), invalid=(), walks=12, seed=0, min_complete=1, **opts):
    grammar = cn.Grammar.from_json_schema(schema, **opts)
    v = validator(schema, opts.get("assert_format", True))
    for x in valid:
        assert v.is_valid(x), f"test bug: {x!r} is not valid"
        text = dumps(x, opts)
        assert grammar.matches(text), f"valid instance rejected: {text}"
    for x in invalid:
        assert not v.is_valid(x), f"test bug: {x!r} is valid"
        text = dumps(x, opts)
        assert not grammar.matches(text), f"invalid instance accepted: {text}"
    if walks:
        compiled = cn.compile(grammar, VOCAB, cache_on_disk=False)
        rng = np.random.default_rng(seed)
        complete = 0
        for _ in range(walks):
            data = walk(compiled, rng)
            if data is None:
                continue
            complete += 1
            text = data.decode("utf-8")
            value = json.loads(text)
            if _imprecise(value):
                continue  # a float that json.loads rounds: jsonschema sees another number
            assert v.is_valid(value), f"walk produced an invalid instance: {text}"
            check_style(text, value, opts)
        assert complete >= min_complete, "no walk completed"
    return grammar


# ---------------------------------------------------------------------------
# Hand-written schemas, one or more keywords each

CASES = {
    "true": (True, [None, 1, "a", [1, {"a": []}], {"x": {"y": True}}], []),
    "empty": ({}, [None, 0.5, {"a": 1}], []),
    "type-list": ({"type": ["integer", "null"]}, [1, None, -7, 1.0, -0.0], [1.5, "a", True]),
    "boolean": ({"type": "boolean"}, [True, False], [0, None]),
    "null": ({"type": "null"}, [None], [False]),
    "const-str": ({"const": "hi\n\u00e9"}, ["hi\n\u00e9"], ["hi", 1]),
    "const-obj": ({"const": {"a": [1, "x", None], "b": {}}}, [{"a": [1, "x", None], "b": {}}],
                  [{"a": [1, "x"], "b": {}}]),
    "enum": ({"enum": [1, "a", None, True, [1, 2], {"k": "v"}]},
             [1, "a", None, True, [1, 2], {"k": "v"}], [2, "b", False, [2, 1], {}]),
    "enum-typed": ({"type": "string", "enum": ["a", 1, "b"]}, ["a", "b"], [1, "c"]),
    "string-len": ({"type": "string", "minLength": 2, "maxLength": 4},
                   ["ab", "abcd", "\u00e9\u00e9"], ["a", "abcde", 3]),
    "pattern": ({"type": "string", "pattern": "^[a-z]+[0-9]$"}, ["ab1", "z9"], ["ab", "1a1", "Ab1"]),
    "pattern-search": ({"type": "string", "pattern": "ab"}, ["xxabyy", "ab"], ["a", "ba"]),
    "format-date": ({"type": "string", "format": "date"}, ["2024-02-29", "1999-12-31"],
                    ["2024-13-01", "hello"]),
    "integer-range": ({"type": "integer", "minimum": -3, "exclusiveMaximum": 12},
                      [-3, 0, 11], [-4, 12, 2.5]),
    "number-range": ({"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
                     [0.25, 1, 1.5], [0, 1.75, -1]),
    "multipleOf": ({"type": "integer", "multipleOf": 3, "minimum": 0, "maximum": 30},
                   [0, 3, 30], [1, 31, 33]),
    "object": ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                "required": ["a"], "additionalProperties": False},
               [{"a": 1}, {"a": 1, "b": "x"}], [{"b": "x"}, {"a": 1, "c": 2}, {"a": "1"}]),
    "object-additional-schema": ({"type": "object", "properties": {"a": {"type": "null"}},
                                  "additionalProperties": {"type": "integer"}},
                                 [{}, {"a": None, "x": 1, "y": 2}], [{"x": "s"}, {"a": 1}]),
    "object-open": ({"type": "object", "properties": {"a": {"type": "integer"}}},
                    [{"a": 1, "z": [1, {"q": None}]}, {"zz": "x"}], [{"a": "x"}]),
    "patternProperties": ({"type": "object", "patternProperties": {"^x": {"type": "integer"},
                                                                   "y$": {"type": "string"}},
                           "additionalProperties": False},
                          [{"x1": 1, "ay": "s"}, {"xy": 1} if False else {"x": 2}, {}],
                          [{"x1": "s"}, {"ay": 1}, {"b": 1}]),
    "pattern-and-named": ({"type": "object", "properties": {"xa": {"minimum": 5}},
                           "patternProperties": {"^x": {"type": "integer"}},
                           "additionalProperties": False},
                          [{"xa": 5}, {"xb": 1}], [{"xa": 1}, {"xa": 5.5}, {"b": 1}]),
    "propertyNames": ({"type": "object", "propertyNames": {"maxLength": 2, "pattern": "^[a-c]"}},
                      [{"a": 1, "bc": 2}, {}], [{"abc": 1}, {"d": 1}]),
    "min-max-properties": ({"type": "object", "minProperties": 1, "maxProperties": 2,
                            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                           "c": {"type": "integer"}}, "additionalProperties": False},
                           [{"a": 1}, {"a": 1, "c": 2}], [{}, {"a": 1, "b": 2, "c": 3}]),
    "dependentRequired": ({"type": "object", "properties": {"a": {}, "b": {}},
                           "dependentRequired": {"a": ["b"]}, "additionalProperties": False},
                          [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}]),
    "dependentSchemas": ({"type": "object", "properties": {"a": {}, "b": {}},
                          "dependentSchemas": {"a": {"properties": {"b": {"type": "string"}},
                                                     "required": ["b"]}},
                          "additionalProperties": False},
                         [{}, {"b": 1}, {"a": 1, "b": "s"}], [{"a": 1}, {"a": 1, "b": 2}]),
    "items": ({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
              [[1], [1, 2, 3]], [[], [1, 2, 3, 4], ["a"]]),
    "prefixItems": ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}],
                     "items": False},
                    [[], ["a"], ["a", True]], [["a", True, 1], [True]]),
    "prefix-then-items": ({"type": "array", "prefixItems": [{"const": 0}], "items": {"type": "string"}},
                          [[0], [0, "a", "b"]], [[1], [0, 1]]),
    "contains": ({"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 10},
                  "minContains": 1, "maxContains": 2},
                 [[10], [1, 10, 11], [12, 2]], [[], [1, 2], [10, 11, 12]]),
    "contains-default": ({"type": "array", "contains": {"type": "string"}},
                         [["a"], [1, "b", None]], [[], [1, 2]]),
    "uniqueItems-enum": ({"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True},
                         [[], ["a"], ["c", "a", "b"]], [["a", "a"], ["d"]]),
    "uniqueItems-bool": ({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
                         [[True, False], [False]], [[True, True]]),
    "allOf": ({"allOf": [{"type": "integer", "minimum": 0}, {"maximum": 10},
                         {"not": {"const": 5}}]},
              [0, 4, 6, 10], [-1, 5, 11, "a"]),
    "allOf-objects": ({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                 {"properties": {"a": {"minimum": 3}, "b": {"type": "string"}},
                                  "required": ["b"]}], "type": "object"},
                      [{"a": 3, "b": "x"}], [{"a": 2, "b": "x"}, {"a": 3}, {"b": "x"}]),
    "anyOf": ({"anyOf": [{"type": "string", "maxLength": 1}, {"type": "integer", "minimum": 100}]},
              ["", "a", 100], ["ab", 99, None]),
    "oneOf-types": ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 1], [None, 1.5]),
    "oneOf-overlap": ({"oneOf": [{"type": "integer"}, {"minimum": 2}]},
                      [1, 2.5, "a", -4], [2, 3, 1.5]),
    "oneOf-discriminator": ({"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}},
         "required": ["kind", "x"], "additionalProperties": False},
        {"type": "object", "properties": {"kind": {"const": "b"}, "y": {"type": "string"}},
         "required": ["kind"], "additionalProperties": False}]},
        [{"kind": "a", "x": 1}, {"kind": "b"}, {"kind": "b", "y": "s"}],
        [{"kind": "a"}, {"kind": "c"}, {"kind": "b", "x": 1}]),
    "not-type": ({"not": {"type": ["string", "object", "array"]}}, [1, None, True], ["a", {}, []]),
    "not-enum": ({"type": "string", "not": {"enum": ["no", "never"]}}, ["yes", "n"], ["no", "never"]),
    "not-pattern": ({"type": "string", "not": {"pattern": "^a"}, "maxLength": 3}, ["b", ""], ["a", "ab"]),
    "if-then-else": ({"type": "object", "properties": {"kind": {"enum": ["n", "s"]}, "v": {}},
                      "required": ["kind", "v"], "additionalProperties": False,
                      "if": {"properties": {"kind": {"const": "n"}}},
                      "then": {"properties": {"v": {"type": "number"}}},
                      "else": {"properties": {"v": {"type": "string"}}}},
                     [{"kind": "n", "v": 1}, {"kind": "s", "v": "x"}],
                     [{"kind": "n", "v": "x"}, {"kind": "s", "v": 1}]),
    "ref-defs": ({"$defs": {"pos": {"type": "integer", "minimum": 1}},
                  "type": "array", "items": {"$ref": "#/$defs/pos"}}, [[1, 2]], [[0], ["a"]]),
    "anchor": ({"$defs": {"s": {"$anchor": "short", "type": "string", "maxLength": 2}},
                "properties": {"a": {"$ref": "#short"}}, "type": "object"},
               [{"a": "ab"}], [{"a": "abc"}]),
    "id-ref": ({"$id": "https://example.com/root.json",
                "$defs": {"x": {"$id": "x.json", "type": "boolean"}},
                "type": "array", "items": {"$ref": "x.json"}}, [[True]], [[1]]),
    "recursive": ({"$defs": {"node": {"type": "object",
                                      "properties": {"v": {"type": "integer"},
                                                     "children": {"type": "array",
                                                                  "items": {"$ref": "#/$defs/node"}}},
                                      "required": ["v"], "additionalProperties": False}},
                   "$ref": "#/$defs/node"},
                  [{"v": 1}, {"v": 1, "children": [{"v": 2, "children": []}]}],
                  [{"v": 1, "children": [{}]}, {"children": []}]),
    "recursive-root": ({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#"},
                                                         "maxItems": 2}]},
                       [1, [], [1, [2, [3]]]], [[1, 2, 3], "a"]),
    "unevaluatedProperties": ({"type": "object", "allOf": [{"properties": {"a": {"type": "integer"}}}],
                               "properties": {"b": {"type": "string"}},
                               "unevaluatedProperties": False},
                              [{"b": "x", "a": 1}, {}], [{"c": 1}, {"a": "x"}]),
    "unevaluatedItems": ({"type": "array", "prefixItems": [{"type": "integer"}],
                          "unevaluatedItems": {"type": "string"}},
                         [[1], [1, "a", "b"]], [[1, 2], ["a"]]),
    "dynamicRef-single": ({"$dynamicAnchor": "node", "type": "object",
                           "properties": {"next": {"$dynamicRef": "#node"}},
                           "additionalProperties": False},
                          [{}, {"next": {"next": {}}}], [{"next": 1}]),
    "false-branch": ({"type": "object", "properties": {"a": False, "b": {"type": "integer"}}},
                     [{"b": 1}, {}], [{"a": 1}]),
    "enum-number-equal": ({"enum": [1, 2.5]}, [1, 1.0, 2.5], [2, 3]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schema_walks_and_instances(name):
    schema, valid, invalid = CASES[name]
    rare = name in ("pattern-search",)  # random bytes rarely complete these
    check(schema, valid, invalid, walks=10, seed=sum(name.encode()), min_complete=0 if rare else 1)


STYLES = [dict(), dict(separators=(", ", ": ")), dict(indent=2), dict(indent=0),
          dict(whitespace="flexible", max_whitespace=3)]


@pytest.mark.parametrize("opts", STYLES, ids=lambda o: str(o) or "compact")
@pytest.mark.parametrize("name", ["object", "items", "const-obj", "enum", "oneOf-discriminator",
                                  "prefixItems", "uniqueItems-enum", "min-max-properties"])
def test_styles(name, opts):
    schema, valid, invalid = CASES[name]
    check(schema, valid, invalid, walks=6, seed=1, **opts)


def test_flexible_whitespace_is_bounded():
    g = cn.Grammar.from_json_schema({"type": "array", "items": {"type": "integer"}},
                                    whitespace="flexible", max_whitespace=2)
    assert g.matches("[ 1 ,\n2\t]")
    assert g.matches("  [1,2]  ")
    assert not g.matches("[   1]")
    assert not g.matches("[1,2]   ")


def test_indent_matches_json_dumps():
    leaf = {"type": "array", "items": {"type": "integer"}}
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"v": {"type": "integer"},
                             "w": {"type": "array", "items": {"type": "object",
                                                             "additionalProperties": leaf}}}}
    g = cn.Grammar.from_json_schema(schema, indent=3)
    for x in [{"v": 1, "w": [{}, {"a": [1, 2], "b": []}]}, {}, {"w": []}]:
        assert g.matches(json.dumps(x, indent=3))
        assert not g.matches(json.dumps(x, indent=2)) or x == {}


def test_indent_with_recursion_raises():
    for schema in (CASES["recursive"][0], {"type": "object"}):
        with pytest.raises(SchemaError) as e:
            cn.Grammar.from_json_schema(schema, indent=2)
        assert e.value.keyword == "indent"
    with pytest.warns(UserWarning, match="indent"):
        g = cn.Grammar.from_json_schema({"type": "object"}, indent=2, lenient=True)
    assert g.matches(json.dumps({"a": [1, {"b": None}]}, indent=2))


# ---------------------------------------------------------------------------
# property_order


def test_property_order_schema_and_any():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                               "c": {"type": "integer"}},
              "required": ["a", "c"], "additionalProperties": False}
    g = cn.Grammar.from_json_schema(schema)
    assert g.matches('{"a":1,"b":2,"c":3}') and g.matches('{"a":1,"c":3}')
    assert not g.matches('{"c":3,"a":1}')
    h = check(schema, [{"a": 1, "c": 2}, {"c": 1, "b": 2, "a": 3}], [{"a": 1}, {"a": 1, "a2": 2}],
              property_order="any")
    assert h.matches('{"c":3,"a":1}') and h.matches('{"b":2,"c":3,"a":1}')
    assert not h.matches('{"a":1,"c":3,"a":1}')  # no duplicate keys


def test_no_duplicate_named_keys():
    g = cn.Grammar.from_json_schema({"type": "object", "properties": {"a": {}}})
    assert g.matches('{"a":1,"b":2}')
    assert not g.matches('{"a":1,"a":2}')
    assert not g.matches('{"b":1,"a":2}')  # schema order: named first


def test_any_order_limit():
    schema = {"type": "object", "properties": {f"p{i}": {} for i in range(9)}}
    cn.Grammar.from_json_schema(schema)  # fine in schema order
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema(schema, property_order="any")
    assert e.value.keyword == "properties"


# ---------------------------------------------------------------------------
# Errors and lenient mode

ERRORS = [
    ({"type": "integer", "minimum": 5, "maximum": 1}, "minimum", "#/minimum"),
    (False, None, "#"),
    ({"type": "object", "properties": {"a": {"type": "string", "minLength": 3, "maxLength": 2}},
      "required": ["a"]}, "minLength", "#/properties/a/minLength"),
    ({"type": "string", "enum": [1, 2]}, "enum", "#/enum"),
    ({"type": ["string"], "allOf": [{"type": "integer"}]}, "type", None),
    ({"properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}},
     "uniqueItems", "#/properties/tags/uniqueItems"),
    ({"$ref": "https://example.com/other.json"}, "$ref", "#/$ref"),
    ({"$ref": "#/$defs/missing"}, "$ref", "#/$ref"),
    ({"not": {"type": "array", "uniqueItems": True}}, "not", "#/not"),
    ({"type": "array", "items": [{"type": "integer"}]}, "items", "#/items"),
    ({"anyOf": [{"$ref": "#"}]}, "$ref", None),
]


@pytest.mark.parametrize("schema,keyword,pointer", ERRORS)
def test_errors_name_keyword_and_pointer(schema, keyword, pointer):
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema(schema)
    assert e.value.keyword == keyword, str(e.value)
    if pointer is not None:
        assert e.value.pointer == pointer, str(e.value)
    assert isinstance(e.value, cn.GrammarError)


def test_error_message_format():
    with pytest.raises(SchemaError, match=r"unsupported JSON Schema keyword 'uniqueItems' at "
                                          r"#/properties/tags"):
        cn.Grammar.from_json_schema({"properties": {"tags": {"type": "array", "uniqueItems": True}}})


def test_false_subschema_only_removes_an_option():
    g = cn.Grammar.from_json_schema({"anyOf": [False, {"type": "null"}]})
    assert g.matches("null") and not g.matches("1")


def test_lenient_records_ignored_keywords():
    schema = {"properties": {"tags": {"type": "array", "items": {"type": "string"},
                                      "uniqueItems": True}}}
    with pytest.warns(UserWarning, match="uniqueItems"):
        g = cn.Grammar.from_json_schema(schema, lenient=True)
    assert len(g.ignored) == 1 and "'uniqueItems' at #/properties/tags" in g.ignored[0]
    assert g.matches('{"tags":["a","a"]}')  # the keyword is ignored, the rest still holds
    assert not g.matches('{"tags":[1]}')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = cn.Grammar.from_json_schema({"type": "string"}, lenient=True)
    assert h.ignored == []


def test_a_length_bound_too_large_to_count_with_a_pattern_is_refused(monkeypatch):
    from constrain.automata import json_leaves
    monkeypatch.setattr(json_leaves, "MAX_COUNTED_STATES", 500)
    schema = {"properties": {"w": {"type": "string", "pattern": "^[a-z]+( [a-z]+)*$",
                                   "minLength": 2, "maxLength": 300}}}
    with pytest.raises(SchemaError, match=r"'maxLength' at #/properties/w/maxLength: "
                                          r"maxLength 300 with a pattern"):
        cn.Grammar.from_json_schema(schema)
    with pytest.warns(UserWarning, match="maxLength"):
        g = cn.Grammar.from_json_schema(schema, lenient=True)
    assert [n.split(" at ")[0] for n in g.ignored] == ["ignored keyword 'maxLength'",
                                                     "ignored keyword 'minLength'"]
    long = " ".join(["word"] * 100)
    assert g.matches(json.dumps({"w": long}, separators=(",", ":"))) and g.matches('{"w":"a"}')  # bounds ignored
    assert not g.matches('{"w":"A"}')  # the pattern still holds
    small = {"properties": {"w": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}}}
    assert cn.Grammar.from_json_schema(small).matches('{"w":"abc"}')  # under the limit


def test_format_annotation_only():
    schema = {"type": "string", "format": "date"}
    g = cn.Grammar.from_json_schema(schema, assert_format=False)
    assert g.matches('"not a date"')
    h = cn.Grammar.from_json_schema(schema)
    assert not h.matches('"not a date"') and h.matches('"2020-01-31"')


def test_schema_from_text_and_file(tmp_path):
    schema = {"type": "array", "items": {"type": "boolean"}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    for source in (json.dumps(schema), str(path), path):
        assert cn.Grammar.from_json_schema(source).matches("[true,false]")
    with pytest.raises(cn.GrammarError):
        cn.Grammar.from_json_schema("no-such-file.json")


def test_options_are_checked():
    with pytest.raises(ValueError):
        cfg_from_json_schema({}, whitespace="loose")
    with pytest.raises(ValueError):
        cfg_from_json_schema({}, property_order="random")
    with pytest.raises(ValueError):
        cfg_from_json_schema({}, whitespace="flexible", indent=2)


# ---------------------------------------------------------------------------
# pydantic models

pydantic = pytest.importorskip("pydantic")


class Color(str, enum.Enum):
    red = "red"
    green = "green"


class Address(pydantic.BaseModel):
    street: str
    zip: Optional[int] = None


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=8)
    age: int = pydantic.Field(ge=0, le=150)
    color: Color = Color.red
    kind: Literal["a", "b"]
    tags: List[str] = []
    address: Optional[Address] = None
    scores: Dict[str, float] = {}
    ratio: Union[int, str] = 0


class Tree(pydantic.BaseModel):
    value: int
    children: List["Tree"] = []


@pytest.mark.parametrize("model,instances", [
    (Person, [Person(name="ann", age=3, kind="a"),
              Person(name="bo", age=150, kind="b", tags=["x"], address=Address(street="s", zip=1),
                     scores={"m": 1.5}, color=Color.green, ratio="r")]),
    (Tree, [Tree(value=1, children=[Tree(value=2)])]),
])
def test_pydantic(model, instances):
    grammar = cn.Grammar.from_pydantic(model)
    schema = model.model_json_schema()
    valid = [json.loads(x.model_dump_json()) for x in instances]
    check(schema, valid, walks=12)
    for text in (x.model_dump_json() for x in instances):
        assert grammar.matches(text)
        model.model_validate_json(text)
    compiled = cn.compile(grammar, VOCAB, cache_on_disk=False)
    rng = np.random.default_rng(3)
    for _ in range(10):
        data = walk(compiled, rng)
        if data is not None:
            model.model_validate_json(data)


# ---------------------------------------------------------------------------
# generated instances (hypothesis-jsonschema, when installed)

GENERATED = ["object", "items", "anyOf", "allOf", "contains", "patternProperties", "enum",
             "dependentRequired", "oneOf-discriminator", "string-len", "if-then-else",
             "prefixItems", "propertyNames", "multipleOf"]


@pytest.mark.parametrize("name", GENERATED)
def test_generated_instances(name):
    hjs = pytest.importorskip("hypothesis_jsonschema")
    from hypothesis import HealthCheck, given, settings

    schema = CASES[name][0]
    grammar = cn.Grammar.from_json_schema(schema, property_order="any")  # keys come in any order
    v = validator(schema)

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(hjs.from_schema(schema))
    def run(x):
        # hypothesis-jsonschema targets older drafts: keep what 2020-12 accepts
        if v.is_valid(x) and not _imprecise(x):
            assert grammar.matches(dumps(x, {})), dumps(x, {})

    run()


def test_unknown_format_is_an_annotation_and_unsupported_format_raises():
    g = cn.Grammar.from_json_schema({"type": "string", "format": "my-own-format"})
    assert g.matches('"anything"')
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema({"properties": {"r": {"type": "string", "format": "regex"}}})
    assert e.value.keyword == "format" and e.value.pointer == "#/properties/r/format"
    g = cn.Grammar.from_json_schema({"type": "string", "format": "regex"}, assert_format=False)
    assert g.matches('"("')


def test_complements_cover_every_spelling():
    g = cn.Grammar.from_json_schema({"type": "string", "not": {"enum": ["no"]}})
    assert g.matches('"yes"') and not g.matches('"no"') and not g.matches('"\\u006eo"')
    g = cn.Grammar.from_json_schema({"type": "number", "not": {"const": 1}})
    for text in ("1", "1.0", "1.00"):
        assert not g.matches(text), text
    assert g.matches("-0.0") and g.matches("2")
    g = cn.Grammar.from_json_schema({"enum": [1, "a"]})
    assert g.matches("1.0") and g.matches("1") and not g.matches("2") and g.matches('"a"')
    g = cn.Grammar.from_json_schema({"properties": {"a": {"type": "integer"}}})
    assert g.matches('{"a":1,"b":"x"}')
    assert not g.matches('{"a":1,"\\u0061":"x"}')  # an additional key cannot spell "a"


def test_integer_spellings_and_non_integers():
    g = cn.Grammar.from_json_schema({"type": "integer"})
    assert g.matches("3") and g.matches("3.0") and g.matches("-0") and not g.matches("3.5")
    g = cn.Grammar.from_json_schema({"type": "number", "not": {"type": "integer"}})
    assert g.matches("3.5") and not g.matches("3") and not g.matches("3.00")


def test_oneOf_without_proof_of_disjointness_uses_complements():
    schema = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "integer", "maximum": 10}]}
    g = check(schema, [-5, 11], [5, 0, 10, "a"], walks=8)
    assert g.matches("-1") and not g.matches("3")


def test_pre_2020_dependencies_are_honoured_as_dependent_required_and_schemas():
    schema = {"type": "object",
              "properties": {"dependencies": {"type": "integer"}, "a": {}, "b": {}},
              "dependencies": {"a": ["b"], "b": {"required": ["dependencies"]}}}
    grammar = cn.Grammar.from_json_schema(schema)
    assert grammar.matches('{"dependencies":1,"a":1,"b":2}')
    assert not grammar.matches('{"a":1}')                    # a needs b
    assert not grammar.matches('{"b":2}')                    # b needs "dependencies"
    assert grammar.matches('{"dependencies":3}')             # the property is just a property
    assert not grammar.matches('{"dependencies":"x"}')


# ---------------------------------------------------------------------------
# oneOf told apart without complements; complements of closed objects; long strings


def _compiler(schema):
    from constrain.automata.json_schema import _Compiler, _make_style
    return _Compiler(schema, _make_style("compact", 16, None, None), "schema", False, True)


ONE_OF_CASES = {
    # one branch requires "b", the other is closed to it
    "required-vs-closed": ({"oneOf": [
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
         "required": ["a", "b"], "additionalProperties": False},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
         "additionalProperties": False}]},
        [{"a": 1, "b": 2}, {"a": 1}], [{"b": 2}, {"a": "x"}, 1]),
    # a required property whose values differ by type
    "required-property-types": ({"oneOf": [
        {"type": "object", "properties": {"p": {"type": "string"}}, "required": ["p"]},
        {"type": "object", "properties": {"p": {"type": "object"}}, "required": ["p"]}]},
        [{"p": "x"}, {"p": {}}, {"p": "x", "q": 1}], [{"p": 1}, {}, "x"]),
    # disjoint only among objects, which the sibling "type" imposes
    "context-type": ({"type": "object", "oneOf": [
        {"properties": {"c": {"const": "A"}}, "required": ["c"]},
        {"properties": {"c": {"const": "B"}}, "required": ["c"]}]},
        [{"c": "A"}, {"c": "B", "d": 1}], [{"c": "C"}, {}, "A"]),
    # untyped object branches: every non-object satisfies both, so none is valid
    "untyped-objects": ({"oneOf": [
        {"properties": {"k": {"enum": ["m"]}}, "required": ["k"], "additionalProperties": False},
        {"properties": {"k": {"enum": ["v"]}, "n": {"type": "integer"}}, "required": ["k", "n"],
         "additionalProperties": False}]},
        [{"k": "m"}, {"k": "v", "n": 1}], [1, "x", None, [], {"k": "v"}, {"k": "m", "n": 1}]),
    # an optional discriminator: objects without it need exactly one branch
    "optional-discriminator": ({"oneOf": [
        {"properties": {"kind": {"enum": ["a"]}, "x": {"type": "integer"}},
         "additionalProperties": False},
        {"properties": {"kind": {"enum": ["b"]}, "x": {"type": "string"}},
         "additionalProperties": False}]},
        [{"kind": "a", "x": 1}, {"kind": "b"}, {"x": 1}, {"x": "s"}],
        [{}, {"kind": "a", "x": "s"}, {"kind": "c"}, 1, {"y": 1}]),
    # the discriminator is an optional object whose required key has a constant per branch
    "nested-discriminator": ({"type": "object", "oneOf": [
        {"properties": {"meta": {"type": "object", "required": ["kind"],
                                 "properties": {"kind": {"const": "a"}}},
                        "v": {"type": "integer"}}},
        {"properties": {"meta": {"type": "object", "required": ["kind"],
                                 "properties": {"kind": {"const": "b"}}},
                        "v": {"type": "string"}}}]},
        [{"meta": {"kind": "a"}, "v": 1}, {"v": 1}, {"meta": {"kind": "b"}}, {"v": "s"}],
        [{}, {"v": 1.5}, {"meta": {"kind": "a"}, "v": "s"}, {"meta": {"kind": "c"}}]),
    # string languages proven disjoint by intersecting their automata
    "disjoint-patterns": ({"oneOf": [{"type": "string", "pattern": "^a"},
                                     {"type": "string", "pattern": "^b"}]},
                          ["ab", "ba"], ["c", "", 1]),
    # the same closed objects, with and without a key only one of them names
    "overlapping-closed": ({"type": "object", "oneOf": [
        {"properties": {"r": {"type": "integer"}, "t": {"enum": ["n"]}}, "required": ["r"],
         "additionalProperties": False},
        {"properties": {"r": {"type": "integer"}, "t": {"enum": ["x", "y"]},
                        "s": {"type": "boolean"}}, "required": ["r"],
         "additionalProperties": False}]},
        [{"r": 1, "t": "n"}, {"r": 1, "s": True}, {"r": 1, "t": "x"}],
        [{"r": 1}, {"r": 1, "t": "n", "s": True}, {"t": "n"}]),
}


@pytest.mark.parametrize("name", sorted(ONE_OF_CASES))
def test_oneOf_exactly_one_branch(name):
    schema, valid, invalid = ONE_OF_CASES[name]
    check(schema, valid, invalid, walks=10, seed=sum(name.encode()), min_complete=0)


def test_disjointness_proofs():
    required_vs_closed = ONE_OF_CASES["required-vs-closed"][0]["oneOf"]
    patterns = ONE_OF_CASES["disjoint-patterns"][0]["oneOf"]
    c = _compiler({"oneOf": required_vs_closed + patterns})
    assert c.disjoint(*required_vs_closed)           # cheap facts: "b" required vs forbidden
    assert c.disjoint(*patterns)                       # the compiled conjunction is empty
    assert not c.disjoint({"type": "string"}, {"minLength": 2})
    untyped = ONE_OF_CASES["untyped-objects"][0]["oneOf"]
    c = _compiler({"oneOf": untyped})
    assert not c.disjoint(*untyped)                    # non-objects satisfy both
    assert c.disjoint(*untyped, context=({"type": "object"},))
    assert c.total_types(untyped[0]) == frozenset({"null", "boolean", "array", "string",
                                                   "integer", "nonint"})


def test_memoised_proofs_and_validation_keep_schemas_apart():
    c = _compiler({})
    integer = {"type": "integer"}
    # validation is memoised by the value's repr: 1, 1.0 and True stay apart
    assert c.valid(1, integer) and c.valid(1.0, integer) and not c.valid(True, integer)
    assert c.valid(True, {"type": "boolean"}) and not c.valid(1, {"type": "boolean"})
    # memos keyed by object identity keep their objects alive: a later temporary object
    # never inherits the answer of an earlier one that had the same id
    for _ in range(50):
        assert c.cheaply_disjoint({"type": "string"}, ({"type": "integer"},))
        assert not c.cheaply_disjoint({"type": "string"}, ({"minLength": 1},))
        assert c.valid("x", {"type": "string"}) and not c.valid("x", {"type": "integer"})
    # synthesized schemas are shared per key, and only per key
    a, b = {"type": "string"}, {"type": "string"}
    assert c.negation(a, "#/a") is c.negation(a, "#/x")
    assert c.negation(a, "#/a") is not c.negation(b, "#/a")
    has = c.has(("k",), "#/p")
    assert has is c.has(("k",), "#/p") and has["required"] == ["k"]
    assert has is not c.has(("k",), "#/q") and has is not c.has(("j",), "#/p")
    assert c.lacks("k", "#/p")["properties"] == {"k": False}
    assert c.lacks("k", "#/p") is not c.lacks("j", "#/p")


def test_oneOf_memo_is_per_context():
    # the same oneOf: beside "type": "object" its branches are proven disjoint, alone they
    # are not (non-objects satisfy both): the second use must not reuse the first's result
    untyped = ONE_OF_CASES["untyped-objects"][0]["oneOf"]
    schema = {"$defs": {"o": {"oneOf": untyped}}, "type": "object",
              "properties": {"a": {"$ref": "#/$defs/o", "type": "object"},
                             "b": {"$ref": "#/$defs/o"}}}
    check(schema, [{"a": {"k": "m"}}, {"b": {"k": "v", "n": 1}}, {"a": {"k": "v", "n": 1}}],
          [{"b": 1}, {"b": "x"}, {"a": 1}, {"a": {"k": "m", "n": 1}}, {"b": {"k": "v"}}],
          walks=6, min_complete=0)


def test_oneOf_without_a_proof_and_without_a_complement_raises():
    schema = {"oneOf": [{"type": "array", "uniqueItems": True}, {"type": "array", "maxItems": 3}]}
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema(schema)
    assert e.value.keyword == "oneOf" and e.value.pointer == "#/oneOf"
    assert "uniqueItems" in str(e.value)


COMPLEMENT_CASES = {
    "not-closed-object": ({"not": {"properties": {"a": {}}, "additionalProperties": False}},
                          [{"b": 1}, {"a": 1, "b": 2}], [{}, {"a": 1}, 1, "x"]),
    "not-additional-schema": ({"type": "object", "not": {
        "properties": {"a": {}}, "additionalProperties": {"type": "integer"}}},
        [{"b": "x"}, {"a": "x", "b": "y"}, {"b": 1, "c": []}], [{"b": 2}, {"a": "x"}, {}]),
    "not-closed-with-patterns": ({"type": "object", "not": {
        "patternProperties": {"^x": {}}, "additionalProperties": False}},
        [{"y": 1}, {"x1": 1, "y": 2}], [{"x1": 1}, {}]),
    "not-items": ({"not": {"items": {"type": "integer"}}}, [[1, "a"], ["a"]], [[1, 2], [], 1]),
    "not-recursive": ({"$defs": {"n": {"type": "object", "properties": {
        "next": {"$ref": "#/$defs/n"}, "v": {"type": "integer"}}}}, "not": {"$ref": "#/$defs/n"}},
        [{"v": "x"}, {"next": {"v": "x"}}, {"next": 1}, 1], [{"v": 1}, {"next": {}}, {}]),
}


@pytest.mark.parametrize("name", sorted(COMPLEMENT_CASES))
def test_complements_of_objects_and_arrays(name):
    schema, valid, invalid = COMPLEMENT_CASES[name]
    check(schema, valid, invalid, walks=10, seed=sum(name.encode()), min_complete=0)


def test_dependent_keywords_leave_non_objects_alone():
    check({"dependentRequired": {"a": ["b"]}, "dependentSchemas": {"c": {"required": ["d"]}}},
          [1, "x", None, {"a": 1, "b": 2}, {"c": 1, "d": 2}, {}], [{"a": 1}, {"c": 1}], walks=6)


def test_definitions_named_like_keywords_resolve():
    schema = {"definitions": {"enum": {"type": "integer"}, "default": {"type": "string"}},
              "type": "array", "prefixItems": [{"$ref": "#/definitions/enum"},
                                               {"$ref": "#/definitions/default"}]}
    check(schema, [[1, "a"], [1]], [["a"], [1, 2]], walks=6)


def test_long_strings_are_exact_and_cut_into_blocks():
    g = check({"type": "string", "minLength": 600, "maxLength": 1500}, walks=0)
    for n, ok in ((599, False), (600, True), (1500, True), (1501, False)):
        assert g.matches(json.dumps("a" * n)) == ok, n
        assert g.matches(json.dumps("\u00e9" * n)) == ok, n      # six-byte escapes count once
    assert g.matches(json.dumps("\U0001f600" * 700))             # surrogate pairs count once
    cfg, _ = cfg_from_json_schema({"type": "string", "maxLength": 32767})
    largest = max(t.n_states for t in cfg.terminals.values() if hasattr(t, "n_states"))
    assert largest < 20 * 300, largest                             # one block, not 32767 chars
    g = cn.Grammar.from_json_schema({"type": "string", "minLength": 1000})
    assert g.matches(json.dumps("b" * 1000)) and g.matches(json.dumps("b" * 3000))
    assert not g.matches(json.dumps("b" * 999))
    with pytest.raises(SchemaError) as e:                          # 20,000 blocks at most
        cn.Grammar.from_json_schema({"type": "string", "maxLength": 10 ** 9})
    assert e.value.keyword == "maxLength" and e.value.pointer == "#/maxLength"


def test_patterns_with_anchors_in_alternatives():
    check({"type": "string", "pattern": "(^$)|(^[a-f0-9]{4}-[a-f0-9]{2}$)"},
          ["", "ab12-cd"], ["ab12", "x", "ab12-cd-"], walks=6, min_complete=0)
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema({"type": "string", "pattern": r"^(\/?([a-z]*)($|\/))*$"})
    assert e.value.keyword == "pattern"


def test_a_pattern_every_string_matches_imposes_nothing():
    g = check({"type": "string", "pattern": "([0-9]+)?", "maxLength": 2000}, ["", "abc"],
              [1], walks=4)
    assert g.matches('"\\u0061"')                  # any spelling: no minimal escape style
    assert g.matches(json.dumps("x" * 2000)) and not g.matches(json.dumps("x" * 2001))


def test_failed_disjointness_proofs_leave_no_lenient_notes():
    schema = {"oneOf": [{"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                         "minItems": 1},
                        {"type": "array", "items": {"type": "integer"}, "minItems": 1}]}
    with pytest.raises(SchemaError) as e:
        cn.Grammar.from_json_schema(schema)
    assert e.value.keyword == "uniqueItems"
    with pytest.warns(UserWarning, match="uniqueItems"):
        g = cn.Grammar.from_json_schema(schema, lenient=True)
    assert len(g.ignored) == 1 and "'uniqueItems' at #/oneOf/0" in g.ignored[0], g.ignored
    assert g.matches('["a","a"]') and g.matches("[1]") and not g.matches("[]")


def test_several_contains_on_one_array():
    schema = {"type": "array", "allOf": [{"contains": {"const": 1}},
                                         {"contains": {"const": 2}, "maxContains": 1}]}
    check(schema, [[1, 2], [2, 1, 3], [1, 1, 2]], [[1], [2], [1, 2, 2], []], walks=8,
          min_complete=0)
    # items proven wrong for two other oneOf branches: two "some item violates" witnesses
    check({"type": "array", "oneOf": [{"items": {"type": "integer"}}, {"items": {"type": "string"}},
                                      {"items": {"type": "boolean"}}]},
          [[1], ["a"], [True]], [[], [1, "a"], [None]], walks=8, min_complete=0)


_SIMPLE_LEAVES = (st.none() | st.booleans() | st.integers(-3, 3)
                  | st.sampled_from([1.0, 2.5, -0.0]) | st.sampled_from(["a", "b", ""]))
_SIMPLE_VALUES = _SIMPLE_LEAVES | st.recursive(
    _SIMPLE_LEAVES,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from("ab"), inner,
                                                                 max_size=2),
    max_leaves=4)
_TYPES = st.sampled_from(["integer", "number", "string", "boolean", "null", "array", "object"])
_SIMPLE_SCHEMAS = st.fixed_dictionaries({
    "type": st.none() | _TYPES | st.lists(_TYPES, min_size=1, max_size=3, unique=True),
    "enum": st.none() | st.lists(_SIMPLE_VALUES, min_size=1, max_size=4),
    "const": st.none() | _SIMPLE_VALUES,
    "description": st.none() | st.just("annotation"),
}).map(lambda d: {k: v for k, v in d.items() if v is not None})


_REF = {"$ref": "#/$defs/t"}
_WRAPPERS = [None, {**_REF, "description": "wrapper"}, {"anyOf": [_REF, {"type": "string"}]},
             {"oneOf": [_REF, {"type": "integer"}]}, {"allOf": [_REF, {"not": {"const": 0}}]},
             {"not": _REF}]


@settings(max_examples=300, deadline=None)
@given(_SIMPLE_SCHEMAS, st.lists(_SIMPLE_VALUES, min_size=1, max_size=5),
       st.sampled_from(_WRAPPERS))
def test_validation_without_the_validator_agrees_with_it(target, values, wrapper):
    # type/enum/const schemas, alone or inside $ref/anyOf/oneOf/allOf/not wrappers, are
    # decided by the compiler itself (_valid_simple): the same answers as jsonschema
    values = values + target.get("enum", []) + ([target["const"]] if "const" in target else [])
    root = {"$defs": {"t": target}, **(wrapper or {})}
    schema = root if wrapper else target
    c = _compiler(root)
    for v in values:
        expected = jsonschema.Draft202012Validator(root if wrapper else target).is_valid(v)
        assert c.valid(v, schema) == expected, (schema, v)


# -- equal subschemas shared (one object each, so compiled once) ---------------------------

_IDENTIFYING_KEYS = ("$id", "$anchor", "$dynamicAnchor")

json_trees = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([0.0, -0.0, 1.0, "a", "b"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "items", "a", "b", "$anchor"]), kids, max_size=3),
    max_leaves=14)


def _strict(value):
    """A form of ``value`` equal only for equal JSON: types, key order and -0.0 count."""
    if isinstance(value, dict):
        return ("object", tuple((k, _strict(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(map(_strict, value)))
    if isinstance(value, float):
        return (float, value.hex())
    return (type(value), value)


def _containers(value):
    """Every object and array in ``value`` (one entry per place)."""
    if isinstance(value, (dict, list)):
        yield value
        for child in (value.values() if isinstance(value, dict) else value):
            yield from _containers(child)


def _identified(value) -> bool:
    """Whether an object in ``value`` carries a key that gives it an identity."""
    return any(isinstance(c, dict) and any(k in c for k in _IDENTIFYING_KEYS)
               for c in _containers(value))


@settings(max_examples=200, deadline=None)
@given(json_trees)
def test_equal_subschemas_become_one_object_and_nothing_else_changes(tree):
    shared = share_equal_subschemas(tree)
    assert _strict(shared) == _strict(tree)
    places = list(_containers(shared))
    for i, x in enumerate(places):
        for y in places[:i]:
            same_content = _strict(x) == _strict(y)
            assert (x is y) == (same_content and not _identified(x)), (x, y)


def test_subschemas_under_different_base_uris_stay_apart():
    ref = {"items": {"$ref": "item"}}
    schema = {"$defs": {"a": {"$id": "https://example.com/a/", "properties": {"p": ref}},
                        "b": {"$id": "https://example.com/b/", "properties": {"p": dict(ref)}},
                        "c": {"properties": {"p": dict(ref)}}, "d": {"properties": {"p": dict(ref)}}}}
    defs = share_equal_subschemas(schema)["$defs"]
    assert defs["a"]["properties"]["p"] is not defs["b"]["properties"]["p"]
    assert defs["c"] is defs["d"]                       # same base, same content
    assert defs["a"]["properties"]["p"] is not defs["c"]["properties"]["p"]


def test_shared_subschemas_compile_to_the_same_language_at_each_place():
    item = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}},
            "required": ["n"]}
    schema = {"type": "object", "properties": {"x": item, "y": json.loads(json.dumps(item))},
              "required": ["x", "y"], "additionalProperties": False}
    grammar = cn.Grammar.from_json_schema(schema)
    assert grammar.matches('{"x":{"n":3},"y":{"n":4}}')
    assert not grammar.matches('{"x":{"n":3},"y":{"n":2}}')
    assert not grammar.matches('{"x":{"n":2},"y":{"n":3}}')



# -- enum/const values judged by the compiler's own format automata --------------------------

@pytest.mark.parametrize("fmt, values", [
    ("hostname", ["-bad-", "good.example", "a..b"]),
    ("json-pointer", ["0", "/a", "/a~2"]),
    ("uri", ["no scheme", "https://x.org/a"]),
    ("duration", ["P1Y", "P", "PT1.5S"]),
    ("email", ["no-at", "a@b.org"]),
    ("date-time", ["2020-01-01T00:00:00Z", "2020-13-01T00:00:00Z"]),
])
def test_enum_values_with_a_format_are_judged_as_format_strings_are(fmt, values):
    # whatever optional packages jsonschema finds (fqdn, jsonpointer, ...): an enum value
    # is in the language iff the format's own grammar accepts it
    plain = cn.Grammar.from_json_schema({"type": "string", "format": fmt})
    listed = cn.Grammar.from_json_schema({"type": "string", "format": fmt, "enum": values})
    const = [cn.Grammar.from_json_schema({"type": "string", "format": fmt, "const": v})
             if plain.matches(json.dumps(v)) else None for v in values]
    assert any(plain.matches(json.dumps(v)) for v in values)
    assert not all(plain.matches(json.dumps(v)) for v in values)
    for v, c in zip(values, const):
        assert listed.matches(json.dumps(v)) == plain.matches(json.dumps(v)), v
        if c is not None:
            assert c.matches(json.dumps(v))
