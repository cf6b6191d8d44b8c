"""JSON Schema (Draft 2020-12) -> the grammar IR (``Cfg``).

``cfg_from_json_schema(schema, ...)`` returns a ``Cfg`` whose language is the set of JSON
texts, in one output style, that ``jsonschema.Draft202012Validator(schema)`` accepts (with
``assert_format=True`` the ``format`` keyword is asserted too). What cannot be expressed
exactly raises ``SchemaError(keyword, pointer)``; ``lenient=True`` ignores that keyword
instead and reports it in the returned notes. See docs/JSON_SCHEMA.md.

How it works, in short:

- A *node* is a conjunction of schema objects (dicts or booleans) at one nesting depth; it
  becomes one nonterminal, memoised by the identities of its schema objects, so recursive
  schemas become recursive rules.
- A node is *flattened* into a disjunction of *branches*: ``$ref``/``allOf`` add
  conjuncts, ``anyOf``/``oneOf``/``if``/``dependentSchemas``/``dependentRequired``
  distribute, ``not`` is pushed inwards by De Morgan (``_complement``), keyword by keyword.
- The plain keywords of a branch are merged per JSON type (types intersect, bounds
  tighten, string and number languages intersect as byte DFAs) and emitted: leaves as DFA
  terminals, arrays and objects as small counter/automaton rules over member nonterminals.
- ``enum``/``const`` make a branch finite: its values are filtered by the real validator
  (``jsonschema``) against the whole node, which is exact whatever else the node says.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional
from urllib.parse import urljoin

import jsonschema
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from constrain.errors import GrammarError, SchemaError

from .cfg import Cfg, productive_symbols
from .dfa import ByteDFA, dfa_from_strings
from .regex import CharSet, ast_to_dfa, concat, repeat

from .dfa import complement_within, intersect, union

from .json_leaves import (SUPPORTED_FORMATS, FormatUnsupported, LengthUnsupported,
                          NumberUnsupported, format_dfa, json_chars_dfa, json_number_dfa,
                          json_string_dfa, pattern_content_dfa, pattern_is_vacuous)
from .regex import parse_regex

__all__ = ["cfg_from_json_schema"]

ROOT_URI = "urn:constrain:schema"
MAX_BRANCHES = 256          # disjuncts one node may flatten into
MAX_ANY_ORDER = 8           # named properties under property_order="any"
MAX_PATTERNS = 6            # distinct patternProperties per object (2^n key classes)
MAX_COUNTER_STATES = 20_000  # states of one array/object counter automaton
MAX_UNIQUE_VALUES = 12      # finite item values under uniqueItems
MAX_CONTAINS = 4            # contains constraints on one array (2^n item choices)
MAX_COMPLEMENT_DEPTH = 40
MAX_INDENT_DEPTH = 12       # nesting kept under indent= with lenient=True and recursion
MAX_FACTS_DEPTH = 8         # nesting followed by the cheap disjointness proofs
MAX_CHECKED_VALUES = 50     # constants validated one by one in disjointness proofs
MAX_CHECK_NODES = 2000      # nodes built by emptiness checks, per schema
STRING_BLOCK = 256          # characters per block of a long string (see long_string)
LONG_STRING = 512           # length bounds above which strings are cut into blocks

_TYPES = ("null", "boolean", "object", "array", "string", "integer", "nonint")
_ALL_TYPES = frozenset(_TYPES)
_TYPE_SETS = {"null": {"null"}, "boolean": {"boolean"}, "object": {"object"}, "array": {"array"},
              "string": {"string"}, "integer": {"integer"}, "number": {"integer", "nonint"},
              "x-nonint": {"nonint"}}  # synthesized: numbers that are not integers

# Keywords that combine subschemas; handled while flattening a node into branches.
_APPLICATORS = ("$ref", "$dynamicRef", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
                "dependentSchemas", "dependentRequired", "unevaluatedProperties",
                "unevaluatedItems")
# Keywords merged per branch.
_PLAIN = frozenset((
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minLength", "maxLength", "pattern", "format", "items", "prefixItems",
    "minItems", "maxItems", "contains", "minContains", "maxContains", "uniqueItems",
    "properties", "patternProperties", "additionalProperties", "propertyNames", "required",
    "minProperties", "maxProperties",
    # synthesized by _complement (never in user schemas' semantics)
    "x-exclude", "x-not-string", "x-not-number", "x-some-item", "x-some-key"))
# The formats Draft 2020-12 defines; other names are annotations that no validator asserts.
STANDARD_FORMATS = frozenset((
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex"))
# What valid() decides itself (see _valid_simple): assertions on the value alone, and
# annotations that assert nothing.
_SIMPLE_KEYWORDS = frozenset((
    "type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not", "title", "description", "default", "examples",
    "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "$schema"))
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_STRING_KEYS = ("minLength", "maxLength", "pattern", "format")


class _Unsupported(Exception):
    def __init__(self, keyword: str, pointer: str, reason: str = ""):
        super().__init__(keyword, pointer, reason)
        self.keyword, self.pointer, self.reason = keyword, pointer, reason


class _CheckAbort(Exception):
    """A keyword that cannot be compiled met while checking a conjunction for emptiness:
    the check proves nothing (and, under lenient=True, reports nothing)."""


# ---------------------------------------------------------------------------
# JSON values


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as JSON Schema defines it (1 == 1.0, True != 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return False


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return "integer"
    if isinstance(v, float):
        return "nonint"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _unique_values(values):
    out = []
    for v in values:
        if not any(_json_equal(v, u) for u in out):
            out.append(v)
    return out


def _escape_pointer(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _lit_ast(text: str):
    return concat([CharSet.of(ord(c)) for c in text])


def _number_param(x):
    """A number as json_number_dfa takes it (Fraction results back to int/float)."""
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else x
    return x


# ---------------------------------------------------------------------------
# Output style


@dataclass(frozen=True)
class _Style:
    flexible: bool
    max_ws: int
    item_sep: str
    key_sep: str
    indent: Optional[int]

    def nl(self, depth: int) -> str:
        return "" if self.indent is None else "\n" + " " * (self.indent * depth)


def _make_style(whitespace, max_whitespace, separators, indent) -> _Style:
    if whitespace not in ("compact", "flexible"):
        raise ValueError(f"whitespace must be 'compact' or 'flexible', not {whitespace!r}")
    if not isinstance(max_whitespace, int) or max_whitespace < 0:
        raise ValueError(f"max_whitespace must be an int >= 0, not {max_whitespace!r}")
    if indent is not None and (not isinstance(indent, int) or isinstance(indent, bool) or indent < 0):
        raise ValueError(f"indent must be None or an int >= 0, not {indent!r}")
    if whitespace == "flexible" and (separators is not None or indent is not None):
        raise ValueError("whitespace='flexible' cannot be combined with separators or indent")
    if separators is None:
        separators = (",", ": ") if indent is not None else (",", ":")
    item_sep, key_sep = separators
    for s in separators:
        if not isinstance(s, str) or s.strip(" \t\n\r") not in (",", ":") or not s.strip():
            raise ValueError(f"bad separators {separators!r}: each is ',' or ':' with JSON whitespace")
    if item_sep.strip() != "," or key_sep.strip() != ":":
        raise ValueError(f"bad separators {separators!r}: expected (item, key) like (', ', ': ')")
    return _Style(whitespace == "flexible", max_whitespace, item_sep, key_sep, indent)


# ---------------------------------------------------------------------------
# Merged constraints of one branch


@dataclass
class _Merged:
    pointer: str
    types: frozenset = _ALL_TYPES
    type_pointer: str = ""
    enum: Optional[list] = None
    enum_keyword: str = "enum"
    exclude: list = field(default_factory=list)
    # numbers: (value, exclusive) bounds
    lower: Optional[tuple] = None
    upper: Optional[tuple] = None
    multiple_of: list = field(default_factory=list)
    not_number: list = field(default_factory=list)
    # strings
    min_length: int = 0
    max_length: Optional[int] = None
    patterns: list = field(default_factory=list)
    formats: list = field(default_factory=list)
    not_string: list = field(default_factory=list)
    # arrays: per dict (prefixItems list, items schema or None)
    item_specs: list = field(default_factory=list)
    min_items: int = 0
    max_items: Optional[int] = None
    contains: list = field(default_factory=list)
    unique: Optional[str] = None  # pointer of uniqueItems: true
    # objects: per dict (properties, patternProperties, additionalProperties or None, pointer)
    prop_specs: list = field(default_factory=list)
    required: list = field(default_factory=list)
    min_props: int = 0
    max_props: Optional[int] = None
    property_names: list = field(default_factory=list)
    some_keys: list = field(default_factory=list)  # x-some-key witnesses (see complement)
    pointers: dict = field(default_factory=dict)  # keyword -> pointer (first seen)


class _PropertyCounter:
    """The member count an object automaton tracks for min/maxProperties (capped)."""

    def __init__(self, m: "_Merged"):
        self.lo, self.hi = m.min_props, m.max_props
        self.track = self.lo > 0 or self.hi is not None
        self.cap = (self.hi if self.hi is not None else self.lo) if self.track else 0
        self.empty = self.hi is not None and self.hi < self.lo

    def can_add(self, c: int) -> bool:
        """Whether one more member is allowed after c."""
        return self.hi is None or c < self.hi

    def bump(self, c: int) -> int:
        """The count after one more member."""
        return min(c + 1, self.cap) if self.track else 0

    def done(self, c: int) -> bool:
        """Whether the object may end with count c."""
        return not self.track or c >= self.lo


# ---------------------------------------------------------------------------
# Facts: a cheap over-approximation of a schema, for proofs of disjointness


@dataclass(frozen=True)
class _Facts:
    """What every value of a schema has (an over-approximation: the schema's values are
    among the values with these facts).

    ``types``: the JSON types possible; ``values``: a finite set of candidate values, or
    None; for objects, ``required`` keys, ``props`` (name, subschema) constraints on present
    keys, ``closed`` (named keys, ((pattern, pointer), ...)) pairs of
    ``additionalProperties: false`` (other keys are forbidden), and property counts.
    """

    types: frozenset = _ALL_TYPES
    values: Optional[tuple] = None
    required: frozenset = frozenset()
    props: tuple = ()
    closed: tuple = ()
    min_props: int = 0
    max_props: Optional[int] = None

    def meet(self, other: "_Facts") -> "_Facts":
        """The facts of the conjunction."""
        values = self.values
        if other.values is not None:
            values = other.values if values is None else tuple(
                v for v in values if any(_json_equal(v, u) for u in other.values))
        maxes = [m for m in (self.max_props, other.max_props) if m is not None]
        return _Facts(self.types & other.types, values, self.required | other.required,
                      self.props + other.props, self.closed + other.closed,
                      max(self.min_props, other.min_props), min(maxes) if maxes else None)

    def join(self, other: "_Facts") -> "_Facts":
        """The facts of the disjunction (what both sides have)."""
        if not self.types:
            return other
        if not other.types:
            return self
        values = None
        if self.values is not None and other.values is not None:
            values = tuple(_unique_values(self.values + other.values))
        max_props = None
        if self.max_props is not None and other.max_props is not None:
            max_props = max(self.max_props, other.max_props)
        return _Facts(self.types | other.types, values, self.required & other.required,
                      min_props=min(self.min_props, other.min_props), max_props=max_props)


_TOP = _Facts()
_BOTTOM = _Facts(types=frozenset())


def _plain_facts(d: dict) -> _Facts:
    """The facts of the keywords of one schema object (not its subschema applicators)."""
    types = set(_ALL_TYPES)
    t = d.get("type")
    if isinstance(t, (str, list)):
        known = [x for x in ([t] if isinstance(t, str) else t) if x in _TYPE_SETS]
        if len(known) == (1 if isinstance(t, str) else len(t)):
            types = set().union(*(_TYPE_SETS[x] for x in known)) if known else set()
    values = None
    if "const" in d:
        values = (d["const"],)
    if isinstance(d.get("enum"), list):
        enum = tuple(d["enum"])
        values = enum if values is None else tuple(
            v for v in values if any(_json_equal(v, u) for u in enum))
    if values is not None:
        types &= {_json_type(v) for v in values}
    required = d.get("required")
    required = frozenset(x for x in required if isinstance(x, str)) \
        if isinstance(required, list) else frozenset()
    props = d.get("properties")
    props = tuple(props.items()) if isinstance(props, dict) else ()
    closed = ()
    if d.get("additionalProperties") is False:
        pats = d.get("patternProperties")
        pats = tuple(pats) if isinstance(pats, dict) else ()
        closed = ((frozenset(k for k, _ in props), pats),)
    counts = {}
    for kw in ("minProperties", "maxProperties"):
        v = d.get(kw)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and v == int(v):
            counts[kw] = int(v)
    return _Facts(frozenset(types), values, required, props, closed,
                  counts.get("minProperties", 0), counts.get("maxProperties"))


@functools.lru_cache(maxsize=None)
def exact_format_checker() -> jsonschema.FormatChecker:
    """Draft 2020-12's format checker with every format the compiler supports checked by
    its own automaton: enum and const values are then judged as the grammar judges other
    strings, whatever optional packages jsonschema finds (without ``fqdn``, ``jsonpointer``
    ... its checker passes any string as a hostname, a JSON pointer ...)."""
    checker = jsonschema.FormatChecker(
        formats=jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
    for name in SUPPORTED_FORMATS:
        checker.checks(name)(functools.partial(_conforms, name))
    return checker


def _conforms(name: str, value) -> bool:
    """Whether ``value`` satisfies format ``name`` (formats constrain strings only)."""
    if not isinstance(value, str):
        return True
    return format_dfa(name).matches(value.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------------
# The compiler


class _Compiler:
    def __init__(self, schema, style: _Style, property_order: str, lenient: bool,
                 assert_format: bool):
        self.root = schema
        self.style = style
        self.order = property_order
        self.lenient = lenient
        self.assert_format = assert_format
        self.notes: list[str] = []
        self._noted: set = set()
        self.terminals: dict[str, Any] = {}
        self.rules: dict[str, list] = {}
        self.origins: dict[str, str] = {}
        self._term_by_key: dict = {}
        self._nodes: dict = {}
        self._keep: list = []          # keeps synthesized schema objects (and their ids) alive
        self._ptr: dict[int, str] = {}
        self._base: dict[int, str] = {}
        self._synth: set[int] = set()
        self._direct_empty: dict[str, tuple] = {}  # nonterminal -> (keyword, pointer)
        self._in_progress: set = set()
        self._counter = itertools.count()
        self._dyn_anchors: dict[str, list] = {}
        self._checking = 0                 # > 0 while proving a conjunction empty
        self._depth = 0                    # the depth of the node being built
        self._productive: set = set()      # nonterminals proven productive
        self._check_budget = MAX_CHECK_NODES  # nodes that emptiness checks may still build
        base = ROOT_URI
        if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
            base = urljoin(ROOT_URI, schema["$id"]) if ":" not in schema["$id"] else schema["$id"]
        self._root_uri = base.split("#")[0]
        self._walk(schema, "#", self._root_uri)
        # Draft 2020-12 whatever "$schema" says, as Draft202012Validator does
        resource = DRAFT202012.create_resource(schema)
        self.registry = referencing.Registry().with_resource(self._root_uri, resource)
        try:
            self.registry = self.registry.crawl()
        except Exception:  # malformed subschemas: reported where the compiler meets them
            pass
        checker = exact_format_checker() if assert_format else None
        self._checker = checker
        self._root_validator = jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=checker)
        self._validators: dict[str, Any] = {}

    # -- bookkeeping --------------------------------------------------------

    def _walk(self, obj, pointer, base, names: bool = False):
        """Record the pointer and base URI of every schema object. ``names``: obj maps
        names to subschemas (``properties``, ``$defs`` ...), so a key such as "enum" there
        names a schema rather than holding values."""
        if isinstance(obj, dict):
            if not names:
                if isinstance(obj.get("$id"), str):
                    base = urljoin(base, obj["$id"]).split("#")[0]
                if isinstance(obj.get("$dynamicAnchor"), str):
                    self._dyn_anchors.setdefault(obj["$dynamicAnchor"], []).append(obj)
            self._ptr.setdefault(id(obj), pointer)
            self._base.setdefault(id(obj), base)
            for k, v in obj.items():
                if not names and k in ("enum", "const", "default", "examples"):
                    continue
                if isinstance(v, (dict, list)):
                    self._walk(v, f"{pointer}/{_escape_pointer(k)}", base,
                               not names and k in _SUBSCHEMA_MAPS)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                if isinstance(v, (dict, list)):
                    self._walk(v, f"{pointer}/{i}", base)

    def pointer(self, obj, default="#") -> str:
        return self._ptr.get(id(obj), default)

    def synth(self, obj, pointer: str, base: Optional[str] = None):
        """Register a synthesized schema object (kept alive, with a pointer for messages)."""
        self._keep.append(obj)
        if isinstance(obj, dict):
            self._ptr[id(obj)] = pointer
            self._synth.add(id(obj))
            if base is not None:
                self._base[id(obj)] = base
        return obj

    def synth_once(self, key, pointer: str, make, base: Optional[str] = None, refs=()):
        """The synthesized schema ``make()``, built once per ``key`` (which must determine
        its content, by the ids of the schema objects it depends on; those the result does
        not hold go in ``refs``, kept alive so that no other object takes their id): the
        same object every time, so that nodes and proofs about it are shared."""
        memo = self.__dict__.setdefault("_synth_memo", {})
        if key not in memo:
            memo[key] = (self.synth(make(), pointer, base), refs)
        return memo[key][0]

    def unsupported(self, keyword: str, pointer: str, reason: str = "") -> None:
        """Raise SchemaError, or under lenient=True record that ``keyword`` is ignored
        (while proving a conjunction empty: abort the proof)."""
        if self._checking:
            raise _CheckAbort(keyword, pointer, reason)
        if not self.lenient:
            raise SchemaError(keyword, pointer, reason)
        key = (keyword, pointer)
        if key not in self._noted:
            self._noted.add(key)
            why = f": {reason}" if reason else ""
            self.notes.append(f"ignored keyword {keyword!r} at {pointer}{why}")

    def _name(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter)}"

    # -- terminals ----------------------------------------------------------

    def literal(self, text: str) -> str:
        key = ("lit", text)
        name = self._term_by_key.get(key)
        if name is None:
            name = self._name("LIT")
            self.terminals[name] = _lit_ast(text)
            self._term_by_key[key] = name
        return name

    def ws_ast(self):
        return repeat(CharSet.of(0x20, 0x09, 0x0A, 0x0D), 0, self.style.max_ws)

    def punct(self, what: str, depth: int) -> str:
        """Punctuation with its whitespace, by style: open/close/empty of objects and arrays,
        comma and colon."""
        st = self.style
        key = ("punct", what, depth if st.indent is not None else 0)
        name = self._term_by_key.get(key)
        if name is not None:
            return name
        if st.flexible:
            ws = self.ws_ast()
            ch = {"{": "{", "}": "}", "[": "[", "]": "]", ",": ",", ":": ":", "{}": None, "[]": None}
            if what in ("{", "["):
                ast = concat([_lit_ast(what), ws])
            elif what in ("}", "]"):
                ast = concat([ws, _lit_ast(what)])
            elif what in ("{}", "[]"):
                ast = concat([_lit_ast(what[0]), ws, _lit_ast(what[1])])
            else:
                ast = concat([ws, _lit_ast(ch[what]), ws])
        else:
            if what in ("{", "["):
                text = what + st.nl(depth + 1)
            elif what in ("}", "]"):
                text = st.nl(depth) + what
            elif what in ("{}", "[]"):
                text = what
            elif what == ",":
                text = st.item_sep + st.nl(depth + 1)
            else:
                text = st.key_sep
            ast = _lit_ast(text)
        name = self._name("P")
        self.terminals[name] = ast
        self._term_by_key[key] = name
        return name

    def dfa_terminal(self, dfa: ByteDFA, key=None) -> Optional[str]:
        if dfa.is_empty:
            return None
        if key is not None and key in self._term_by_key:
            return self._term_by_key[key]
        name = self._name("T")
        self.terminals[name] = dfa
        if key is not None:
            self._term_by_key[key] = name
        return name

    # -- leaf languages -----------------------------------------------------

    def string_any(self) -> ByteDFA:
        return self._cached(("str-any",), lambda: json_string_dfa())

    def string_minimal(self) -> ByteDFA:
        """Every string in the minimal escape style (``json.dumps(s, ensure_ascii=False)``
        up to the case of \\u00XX hex digits): one spelling per value, so that
        complements and key sets stay exact."""
        return self._cached(("str-min",), lambda: json_string_dfa(pattern=""))

    def number_plain(self) -> ByteDFA:
        """Numbers in plain decimal notation (no exponent), the style of bounded numbers."""
        return self._cached(("num-plain",), lambda: ast_to_dfa(parse_regex(
            r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")))

    def string_literal_dfa(self, s: str) -> ByteDFA:
        """Every spelling of the JSON string ``s`` in the minimal escape style."""
        return self.string_literals_dfa((s,))

    def string_literals_dfa(self, values) -> ByteDFA:
        """Every spelling of the JSON strings ``values`` in the minimal escape style."""
        values = tuple(values)
        return self._cached(("str-lits", values), lambda: _string_literals(values))

    def number_literal_dfa(self, v, canonical: bool = False) -> ByteDFA:
        """Every plain decimal spelling of the number ``v`` (``1``, ``1.0``, ``1.00`` ...),
        with ``canonical`` also ``json.dumps(v)`` (e.g. ``1e+300``)."""
        dfa = self._cached(("num-lit", repr(v)),
                           lambda: json_number_dfa(integer=False, minimum=v, maximum=v))
        if canonical:
            text = json.dumps(v)
            if not dfa.matches(text.encode()):
                dfa = self._cached(("num-lit-c", repr(v)),
                                   lambda: union(dfa, dfa_from_strings([text.encode()])))
        return dfa

    def _cached(self, key, make):
        cache = self.__dict__.setdefault("_dfa_cache", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    # -- validation (for finite branches) -----------------------------------

    def valid(self, value, schema) -> bool:
        """Whether the JSON value satisfies the schema object (the real validator),
        memoised by the schema object's identity and the value's repr (which tells apart
        1, 1.0 and True, lists and tuples)."""
        if schema is True:
            return True
        if schema is False:
            return False
        memo = self.__dict__.setdefault("_valid_memo", {})
        key = (id(schema), repr(value))
        if key not in memo:  # (the value keeps the schema alive)
            memo[key] = (self._valid(value, schema), schema)
        return memo[key][0]

    def _valid(self, value, schema) -> bool:
        """valid's work."""
        simple = self._valid_simple(value, schema)
        if simple is not None:
            return simple
        if id(schema) in self._synth:
            if set(schema) == {"not"}:
                return not self.valid(value, schema["not"])
            if set(schema) == {"allOf"}:
                return all(self.valid(value, s) for s in schema["allOf"])
            return self._root_validator.evolve(schema=schema).is_valid(value)
        ptr = self._ptr.get(id(schema))
        if ptr is None:
            return self._root_validator.evolve(schema=schema).is_valid(value)
        v = self._validators.get(ptr)
        if v is None:
            v = jsonschema.Draft202012Validator({"$ref": self._root_uri + ptr},
                                                registry=self.registry,
                                                format_checker=self._checker)
            self._validators[ptr] = v
        return v.is_valid(value)

    def _valid_simple(self, value, schema) -> Optional[bool]:
        """``valid`` decided without the validator for a document schema of only ``type``,
        ``enum``, ``const``, annotations, and ``$ref`` (within the document), ``allOf``,
        ``anyOf``, ``oneOf``, ``not`` whose subschemas go through ``valid``: the usual
        wrappers of enum definitions. None for any other schema."""
        if (not isinstance(schema, dict) or id(schema) in self._synth
                or not schema.keys() <= _SIMPLE_KEYWORDS):
            return None
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            kind = _json_type(value)
            if not any(t == kind or (t == "number" and kind in ("integer", "nonint"))
                       for t in types):
                return False
        if "const" in schema and not _json_equal(value, schema["const"]):
            return False
        if "enum" in schema and not any(_json_equal(value, x) for x in schema["enum"]):
            return False
        if not all(isinstance(schema.get(k, []), list) for k in ("allOf", "anyOf", "oneOf")):
            return None
        pending = self.__dict__.setdefault("_valid_pending", set())
        if id(schema) in pending:  # a loop of references: leave it to the validator
            return None
        pending.add(id(schema))
        try:  # the subschemas through valid (memoised; the validator where not simple)
            return ((("$ref" not in schema)
                     or self.valid(value, self.resolve(schema["$ref"], schema, "$ref")))
                    and all(self.valid(value, x) for x in schema.get("allOf", []))
                    and ("anyOf" not in schema
                         or any(self.valid(value, x) for x in schema["anyOf"]))
                    and ("oneOf" not in schema
                         or sum(self.valid(value, x) for x in schema["oneOf"]) == 1)
                    and ("not" not in schema or not self.valid(value, schema["not"])))
        except _Unsupported:
            return None
        finally:
            pending.discard(id(schema))

    # -- references ---------------------------------------------------------

    def resolve(self, ref: str, owner: dict, keyword: str):
        """The schema ``ref`` (in ``owner``'s ``keyword``) points to, memoised per owner
        and reference (lookups through the registry are slow); raises _Unsupported for a
        reference that cannot be resolved or leaves the document."""
        memo = self.__dict__.setdefault("_resolved", {})
        key = (id(owner), ref, keyword)
        if key not in memo:
            memo[key] = (self._resolve(ref, owner, keyword), owner)  # (keeps owner alive)
        return memo[key][0]

    def _resolve(self, ref: str, owner: dict, keyword: str):
        """resolve's work."""
        ptr = self.pointer(owner)
        base = self._base.get(id(owner), self._root_uri)
        try:
            resolved = self.registry.resolver(base_uri=base).lookup(ref)
        except (referencing.exceptions.Unresolvable, referencing.exceptions.Unretrievable,
                Exception) as e:  # noqa: B014 -- any lookup failure is an unresolvable ref
            raise _Unsupported(keyword, ptr + "/" + keyword,
                               f"cannot resolve reference {ref!r} ({type(e).__name__})") from None
        target = resolved.contents
        if id(target) not in self._ptr and not isinstance(target, bool):
            raise _Unsupported(keyword, ptr + "/" + keyword,
                               f"reference {ref!r} leaves the schema document")
        return target

    def resolve_dynamic(self, ref: str, owner: dict):
        target = self.resolve(ref, owner, "$dynamicRef")
        anchor = ref.split("#", 1)[1] if "#" in ref else ""
        if (isinstance(target, dict) and target.get("$dynamicAnchor") == anchor
                and len(self._dyn_anchors.get(anchor, [])) > 1):
            raise _Unsupported("$dynamicRef", self.pointer(owner) + "/$dynamicRef",
                               f"several $dynamicAnchor {anchor!r}: the target depends on the "
                               "dynamic scope")
        return target

    # -- flattening: a conjunction -> a disjunction of branches of plain dicts

    def branches(self, conj) -> list[list[dict]]:
        out: list[list[dict]] = []
        stack = [([(s, frozenset()) for s in conj], [], frozenset())]
        while stack:
            items, plain, seen = stack.pop()
            while items:
                s, ancestors = items[0]
                items = items[1:]
                if s is True:
                    continue
                if s is False:
                    break
                if not isinstance(s, dict):
                    raise SchemaError(None, self.pointer(s), "a schema must be an object or a boolean")
                if id(s) in seen:
                    continue
                seen = seen | {id(s)}
                ptr = self.pointer(s)
                anc = ancestors | {id(s)}
                new_items = []
                choices: list[list] = [[]]  # alternatives of extra items (product)

                def add_choice(alts):
                    nonlocal choices
                    choices = [c + a for c in choices for a in alts]
                    if len(choices) > MAX_BRANCHES:
                        raise SchemaError("anyOf", ptr, f"more than {MAX_BRANCHES} alternatives "
                                          "after distributing anyOf/oneOf/if/not")

                for kw in ("$ref", "$dynamicRef"):
                    if kw in s:
                        try:
                            t = (self.resolve(s[kw], s, kw) if kw == "$ref"
                                 else self.resolve_dynamic(s[kw], s))
                        except _Unsupported as e:
                            self.unsupported(e.keyword, e.pointer, e.reason)
                            continue
                        if id(t) in anc:
                            raise SchemaError(kw, ptr + "/" + kw,
                                              "reference loops back to itself without consuming input")
                        new_items.append(t)
                if "allOf" in s:
                    new_items.extend(s["allOf"])
                if "anyOf" in s:
                    add_choice([[x] for x in s["anyOf"]])
                p = {k: v for k, v in s.items() if k in _PLAIN}
                if p and len(p) != len(s):
                    p = self.synth_once(("plain", id(s)), ptr, functools.partial(dict, p),
                                        self._base.get(id(s)), (s,))
                elif p:
                    p = s
                if "oneOf" in s:
                    try:
                        add_choice(self.one_of(s, tuple(plain) + ((p,) if p else ())))
                    except _Unsupported as e:
                        self.unsupported("oneOf", ptr + "/oneOf", "branches not proven disjoint, "
                                         f"and the complement of {e.keyword!r} at {e.pointer} is "
                                         f"not expressible{': ' + e.reason if e.reason else ''}")
                if "not" in s:
                    try:
                        parts = self.complement(s["not"], ptr + "/not")
                        context = tuple(plain) + ((p,) if p else ())
                        add_choice([[c] for c in parts if not self.cheaply_disjoint(c, context)])
                    except _Unsupported as e:
                        self.unsupported("not", ptr + "/not", f"its complement is not expressible "
                                         f"({e.keyword!r} at {e.pointer}{': ' + e.reason if e.reason else ''})")
                if "if" in s:
                    then = s.get("then", True)
                    else_ = s.get("else", True)
                    try:
                        neg = self.complement(s["if"], ptr + "/if") if else_ is not True else None
                        alts = [[s["if"], then]]
                        alts += [[c, else_] for c in neg] if neg is not None else [[True]]
                        if else_ is True:
                            alts = [[s["if"], then], [self.negation(s["if"], ptr + "/if")]]
                        add_choice(alts)
                    except _Unsupported as e:
                        self.unsupported("if", ptr + "/if", f"its complement is not expressible "
                                         f"({e.keyword!r} at {e.pointer})")
                # "lacks the key" (non-objects included) or "an object with the key", disjoint
                for name, sub in (s.get("dependentSchemas") or {}).items():
                    lacks = self.lacks(name, ptr + "/dependentSchemas")
                    has = self.has((name,), ptr + "/dependentSchemas")
                    add_choice([[lacks], [has, sub]])
                for name, needed in (s.get("dependentRequired") or {}).items():
                    lacks = self.lacks(name, ptr + "/dependentRequired")
                    has = self.has((name, *needed), ptr + "/dependentRequired")
                    add_choice([[lacks], [has]])
                for kw in ("unevaluatedProperties", "unevaluatedItems"):
                    if kw in s:
                        try:
                            extra = self.unevaluated(s, kw)
                        except _Unsupported as e:
                            self.unsupported(kw, ptr + "/" + kw, e.reason)
                            continue
                        if extra is not None:
                            new_items.append(extra)
                if p:
                    plain = plain + [p]
                if not choices:  # an empty disjunction (e.g. not {}): this branch is false
                    break
                tagged = [(x, anc) for x in new_items]
                if len(choices) == 1:
                    items = tagged + [(x, anc) for x in choices[0]] + items
                    continue
                for c in choices[1:]:
                    stack.append((tagged + [(x, anc) for x in c] + items, plain, seen))
                items = tagged + [(x, anc) for x in choices[0]] + items
            else:
                out.append(plain)
            if len(out) > MAX_BRANCHES:
                raise SchemaError("anyOf", self.pointer(conj[0]) if conj else "#",
                                  f"more than {MAX_BRANCHES} alternatives")
        return out

    def negation(self, s, ptr):
        """The synthesized schema {"not": s} (flattened lazily through complement), one
        per schema object, so that nodes built from it are shared (and recursion closes)."""
        return self.synth_once(("not", id(s)), ptr, lambda: {"not": s})

    def has(self, names: tuple, ptr: str):
        """The synthesized schema {"type": "object", "required": names} (one per names and
        pointer)."""
        return self.synth_once(("has", names, ptr), ptr,
                               lambda: {"type": "object", "required": list(names)})

    def lacks(self, name: str, ptr: str):
        """The synthesized schema {"properties": {name: False}} (one per name and pointer)."""
        return self.synth_once(("lacks", name, ptr), ptr, lambda: {"properties": {name: False}})

    def one_of(self, s, context: tuple = ()) -> list[list]:
        """oneOf as a disjunction of branches "B_i and no other B_j", simplified exactly
        within ``context`` (plain schemas that hold wherever this oneOf does). Where the
        branches give an optional property k pairwise disjoint finite values, objects with
        k (where the branches are disjoint) and values without k are treated apart."""
        memo = self.__dict__.setdefault("_one_ofs", {})
        memo_key = (id(s), tuple(id(x) for x in context))
        if memo_key in memo:  # exact whenever computed: reuse (the proofs are costly)
            return memo[memo_key][0]
        subs = s["oneOf"]
        ptr = self.pointer(s) + "/oneOf"
        key = self.discriminator(subs)
        if key is None:
            out = self.exactly_one(subs, ptr, context)
        else:
            has = self.has((key,), ptr)
            lacks = self.lacks(key, ptr)
            out = ([[has] + alt for alt in self.exactly_one(subs, ptr, context + (has,))]
                   + [[lacks] + alt for alt in self.exactly_one(subs, ptr, context + (lacks,))])
        memo[memo_key] = (out, s, context)  # (keeps the keyed objects alive)
        return out

    def exactly_one(self, subs, ptr: str, context: tuple) -> list[list]:
        """Branch i = B_i and not B_j (j != i), where "not B_j" is simplified:

        - B_i and B_j proven disjoint: dropped (B_i implies it);
        - B_j accepts every value of the types T (``total_types``) and is proven disjoint
          from B_i among the other types: "not of a type in T" (no complement of B_j);
        - else the complement of B_j (SchemaError if inexpressible), without its parts
          proven disjoint from B_i; none left: branch i is empty.
        """
        done: dict = {}

        def without(i, j):
            """What stands for "not B_j" beside B_i: None (nothing), False, or a schema."""
            pair = (min(i, j), max(i, j))
            if pair not in done:
                done[pair] = self.disjoint(subs[i], subs[j], context)
            if done[pair]:
                return None
            total = self.total_types(subs[j])
            if total:
                names = tuple(_type_names(_ALL_TYPES - total))
                if not names:
                    return False
                others = self.synth_once(("type", names, f"{ptr}/{j}"), f"{ptr}/{j}",
                                         lambda: {"type": list(names)})
                if self.disjoint(subs[i], subs[j], context + (others,)):
                    return others
            parts = self.complement(subs[j], f"{ptr}/{j}")  # errors now, naming oneOf
            keep = [c for c in parts if not self.disjoint(subs[i], c, context)]
            if not keep:
                return False
            if len(keep) == len(parts):
                return self.negation(subs[j], f"{ptr}/{j}")
            return self.any_of(keep, f"{ptr}/{j}")

        alts = []
        for i, b in enumerate(subs):
            alt = [b] + [without(i, j) for j in range(len(subs)) if j != i]
            if not any(x is False for x in alt):
                alts.append([x for x in alt if x is not None])
        return alts

    def any_of(self, schemas: list, ptr: str) -> dict:
        """The synthesized schema {"anyOf": schemas}, one per list of schema objects (so
        that nodes built from it are shared)."""
        return self.synth_once(("anyOf", tuple(id(x) for x in schemas)), ptr,
                               lambda: {"anyOf": list(schemas)})

    def discriminator(self, subs) -> Optional[str]:
        """A property, named by every branch and optional in some, with which the
        branches are cheaply proven pairwise disjoint (a constant per branch, or an object
        whose required keys tell them apart), or None (also when the branches are
        disjoint without it)."""
        facts = [self.facts(sub) for sub in subs]
        if len(subs) < 2 or any(not f.types for f in facts):
            return None
        pairs = list(itertools.combinations(subs, 2))
        if all(self.cheaply_disjoint(a, (b,)) for a, b in pairs):
            return None
        names = set.intersection(*({name for name, _ in f.props} for f in facts))
        for name in sorted(names):
            if all(name in f.required for f in facts):
                continue
            has = self.has((name,), "#")
            if all(self.cheaply_disjoint(a, (b, has)) for a, b in pairs):
                return name
        return None

    def total_types(self, s, depth: int = 0) -> frozenset:
        """Types whose every value satisfies ``s`` (an under-approximation: a type left
        out may still be total)."""
        if s is True:
            return _ALL_TYPES
        if not isinstance(s, dict) or depth > MAX_FACTS_DEPTH:
            return frozenset()
        memo = self.__dict__.setdefault("_total", {})
        if id(s) in memo:
            return memo[id(s)] if memo[id(s)] is not None else frozenset()
        memo[id(s)] = None
        total = set(_ALL_TYPES)
        for kw, v in s.items():
            if kw in _KEYWORD_TYPES:
                total -= _KEYWORD_TYPES[kw]
            elif kw == "type":
                total &= _plain_facts({"type": v}).types
            elif kw in ("enum", "const", "x-exclude", "$dynamicRef", "if"):
                total = set()
            elif kw == "$ref":
                try:
                    total &= self.total_types(self.resolve(v, s, kw), depth + 1)
                except _Unsupported:
                    total = set()
            elif kw == "allOf":
                for sub in v:
                    total &= self.total_types(sub, depth + 1)
            elif kw == "anyOf":
                total &= set().union(*(self.total_types(sub, depth + 1) for sub in v))
            elif kw == "oneOf":
                total &= self.one_of_total(v, depth)
            elif kw == "not":
                total -= self.facts(v, depth + 1).types
        memo[id(s)] = frozenset(total)
        return memo[id(s)]

    def one_of_total(self, subs, depth: int) -> set:
        """Types on which a oneOf is total: one branch is, the others admit no value."""
        out = set()
        totals = [self.total_types(sub, depth + 1) for sub in subs]
        kinds = [self.facts(sub, depth + 1).types for sub in subs]
        for t in _ALL_TYPES:
            hits = [i for i, tt in enumerate(totals) if t in tt]
            if len(hits) == 1 and not any(t in k for i, k in enumerate(kinds) if i != hits[0]):
                out.add(t)
        return out

    # -- disjointness (sound: True only when proven) ---------------------------

    def facts(self, s, depth: int = 0) -> "_Facts":
        """An over-approximation of the values of schema ``s`` (see ``_Facts``)."""
        if s is True or depth > MAX_FACTS_DEPTH or not isinstance(s, (dict, bool)):
            return _TOP
        if s is False:
            return _BOTTOM
        memo = self.__dict__.setdefault("_facts", {})
        key = id(s)
        if key in memo:
            return memo[key] if memo[key] is not None else _TOP  # a cycle: no knowledge
        memo[key] = None
        f = _plain_facts(s)
        refs = [s[kw] for kw in ("$ref",) if isinstance(s.get(kw), str)]
        for ref in refs:
            try:
                f = f.meet(self.facts(self.resolve(ref, s, "$ref"), depth + 1))
            except _Unsupported:
                pass
        for sub in s.get("allOf", []) if isinstance(s.get("allOf"), list) else []:
            f = f.meet(self.facts(sub, depth + 1))
        for kw in ("anyOf", "oneOf"):
            if isinstance(s.get(kw), list):
                branches = [self.facts(sub, depth + 1) for sub in s[kw]]
                f = f.meet(functools.reduce(_Facts.join, branches, _BOTTOM))
        memo[key] = f
        return f

    def facts_empty(self, f: "_Facts", depth: int = 0) -> bool:
        """Whether the facts prove that no JSON value has them."""
        if not f.types:
            return True
        if f.values is not None and not any(_json_type(v) in f.types for v in f.values):
            return True
        if not f.types <= {"object"} or f.values is not None:
            return False
        if f.max_props is not None and (len(f.required) > f.max_props or f.min_props > f.max_props):
            return True
        for name in f.required:
            if any(self.closed_to(name, names, patterns) for names, patterns in f.closed):
                return True
            subs = [sub for n, sub in f.props if n == name]
            if not subs or depth >= MAX_FACTS_DEPTH:
                continue
            inner = functools.reduce(_Facts.meet, (self.facts(x, depth + 1) for x in subs), _TOP)
            if self.facts_empty(inner, depth + 1):
                return True
        return False

    def closed_to(self, name: str, names: frozenset, patterns: tuple) -> bool:
        """Whether ``additionalProperties: false`` beside these properties and patterns
        forbids the key ``name`` (a pattern that cannot be compiled may match it)."""
        if name in names:
            return False
        for pattern in patterns:
            try:
                if self.key_matches(name, pattern, "#"):
                    return False
            except (_Unsupported, GrammarError):
                return False
        return True

    def disjoint(self, a, b, context: tuple = ()) -> bool:
        """Whether no JSON value satisfies a, b and every schema of ``context`` (proven:
        False means "not proven"): cheaply, else by compiling the conjunction."""
        return self.cheaply_disjoint(a, (b, *context)) or self.provably_empty((*context, a, b))

    def cheaply_disjoint(self, a, context: tuple) -> bool:
        """Whether no JSON value satisfies a and every schema of ``context``, proven from
        their facts and by validating their constants (no compiling). Memoised by the
        schema objects' identities."""
        schemas = (a, *context)
        memo = self.__dict__.setdefault("_cheap_memo", {})
        key = tuple(map(id, schemas))
        if key not in memo:  # (the value keeps the keyed objects alive)
            memo[key] = (self._cheaply_disjoint(schemas), schemas)
        return memo[key][0]

    def _cheaply_disjoint(self, schemas: tuple) -> bool:
        """cheaply_disjoint's work."""
        for own in schemas:
            values = self.facts(own).values
            if values is not None and len(values) <= MAX_CHECKED_VALUES and not any(
                    all(self.valid(v, x) for x in schemas) for v in values):
                return True
        return self.facts_empty(functools.reduce(_Facts.meet, map(self.facts, schemas), _TOP))

    def provably_empty(self, conj: tuple) -> bool:
        """Whether the conjunction ``conj`` is proven to match no JSON value: its node is
        compiled (exactly, or not at all) and found unproductive. Nodes still being built
        (recursion) count as productive, so True is a proof. A conjunction that cannot be
        compiled proves nothing, and leaves no trace. Checks share a budget of
        MAX_CHECK_NODES nodes per schema (nested oneOfs could otherwise multiply them);
        past it nothing more is proven this way."""
        if self._check_budget <= 0:
            return False
        saved = (len(self._nodes), len(self._term_by_key), len(self.notes))
        self._checking += 1
        try:
            name = self.node(conj, self._depth)
        except (GrammarError, _Unsupported, _CheckAbort, RecursionError):
            self._rollback(*saved)
            return False
        finally:
            self._checking -= 1
            self._check_budget -= len(self._nodes) - saved[0] + 1
        return not self.productive(name)

    def _rollback(self, n_nodes: int, n_terms: int, n_notes: int) -> None:
        """Forget the nodes and memoised terminals/constants made by a failed check (some
        have no rules yet, and would otherwise read as empty)."""
        while len(self._nodes) > n_nodes:
            key, name = self._nodes.popitem()
            self._in_progress.discard(key)
            self.rules.pop(name, None)
            self.origins.pop(name, None)
        while len(self._term_by_key) > n_terms:
            self._term_by_key.popitem()
        del self.notes[n_notes:]

    def productive(self, name: str) -> bool:
        """Whether nonterminal ``name`` derives some string, counting nonterminals whose
        rules are not written yet (nodes in progress) as productive. Results that need no
        such assumption are cached."""
        known = self._productive
        if name in known or name in self.terminals:
            return True
        reach, order = {name}, [name]
        for lhs in order:
            for alt in self.rules.get(lhs, ()):
                for sym in alt:
                    if sym not in reach and sym not in known and sym not in self.terminals:
                        reach.add(sym)
                        order.append(sym)
        assumed = {x for x in order if x not in self.rules}
        sub = {x: self.rules[x] for x in order if x in self.rules}
        found = productive_symbols(sub, assumed | {
            sym for alts in sub.values() for alt in alts for sym in alt
            if sym in known or sym in self.terminals})
        if not assumed:
            known.update(found)
        return name in found

    # -- complement (De Morgan, keyword by keyword) ---------------------------

    def complement(self, s, ptr: str, depth: int = 0) -> list:
        """Schemas whose union is the complement of s; raises _Unsupported. Memoised per
        schema object: the same synthesized schemas every time (shared nodes)."""
        memo = self.__dict__.setdefault("_complements", {})
        if isinstance(s, dict) and id(s) in memo:
            return memo[id(s)]
        out = self._complement(s, ptr, depth)
        if isinstance(s, dict):
            memo[id(s)] = out
        return out

    def _complement(self, s, ptr: str, depth: int) -> list:
        """complement's work, keyword by keyword (De Morgan)."""
        if depth > MAX_COMPLEMENT_DEPTH:
            raise _Unsupported("not", ptr, "complement nests too deeply (recursive schema)")
        if s is True:
            return []
        if s is False:
            return [True]
        if not isinstance(s, dict):
            raise SchemaError(None, ptr, "a schema must be an object or a boolean")
        ptr = self._ptr.get(id(s), ptr)
        out: list = []

        def syn(d):
            out.append(self.synth(d, ptr, self._base.get(id(s))))

        for kw, v in s.items():
            kp = f"{ptr}/{_escape_pointer(kw)}"
            if kw == "type":
                ts = set()
                for x in ([v] if isinstance(v, str) else v):
                    ts |= _TYPE_SETS.get(x, set())
                names = _type_names(_ALL_TYPES - ts)
                if names:
                    syn({"type": names})
            elif kw in ("enum", "const"):
                vals = [v] if kw == "const" else list(v)
                if any(isinstance(x, (dict, list)) for x in vals):
                    if any(isinstance(x, dict) for x in vals):
                        raise _Unsupported(kw, kp, "complement of object values")
                    raise _Unsupported(kw, kp, "complement of array values")
                syn({"x-exclude": vals})
            elif kw in ("minimum", "exclusiveMinimum"):
                syn({"type": "number", ("exclusiveMaximum" if kw == "minimum" else "maximum"): v})
            elif kw in ("maximum", "exclusiveMaximum"):
                syn({"type": "number", ("exclusiveMinimum" if kw == "maximum" else "minimum"): v})
            elif kw == "multipleOf":
                syn({"type": "number", "x-not-number": [{"multipleOf": v}]})
            elif kw == "minLength":
                if v > 0:
                    syn({"type": "string", "maxLength": v - 1})
            elif kw == "maxLength":
                syn({"type": "string", "minLength": v + 1})
            elif kw in ("pattern", "format"):
                if kw == "format" and (not self.assert_format or v not in STANDARD_FORMATS):
                    continue
                syn({"type": "string", "x-not-string": [{kw: v}]})
            elif kw == "minItems":
                if v > 0:
                    syn({"type": "array", "maxItems": v - 1})
            elif kw == "maxItems":
                syn({"type": "array", "minItems": v + 1})
            elif kw == "minProperties":
                if v > 0:
                    syn({"type": "object", "maxProperties": v - 1})
            elif kw == "maxProperties":
                syn({"type": "object", "minProperties": v + 1})
            elif kw == "required":
                for name in v:
                    syn({"type": "object", "properties": {name: False}})
            elif kw == "properties":
                for name, sub in v.items():
                    if sub is True:
                        continue
                    syn({"type": "object", "required": [name],
                         "properties": {name: self.negation(sub, f"{kp}/{_escape_pointer(name)}")}})
            elif kw == "dependentRequired":
                for name, needed in v.items():
                    for n in needed:
                        syn({"type": "object", "required": [name], "properties": {n: False}})
            elif kw == "dependentSchemas":
                for name, sub in v.items():
                    has = self.has((name,), kp)
                    syn({"allOf": [has, self.negation(sub, f"{kp}/{_escape_pointer(name)}")]})
            elif kw == "prefixItems" or (kw == "items" and "prefixItems" not in s):
                prefix = s.get("prefixItems", [])
                for i, sub in enumerate(prefix):
                    if sub is not True:
                        syn({"type": "array", "minItems": i + 1,
                             "prefixItems": [True] * i + [self.negation(sub, f"{ptr}/prefixItems/{i}")]})
                if kw == "items" or (kw == "prefixItems" and "items" in s):
                    items = s.get("items", True)
                    if items is not True:
                        syn({"type": "array", "prefixItems": [True] * len(prefix),
                             "x-some-item": self.negation(items, f"{ptr}/items")})
            elif kw == "items":
                continue  # handled with prefixItems
            elif kw == "contains":
                if "minContains" in s or "maxContains" in s:
                    raise _Unsupported("contains", kp, "complement of minContains/maxContains")
                syn({"type": "array", "items": self.negation(v, kp)})
            elif kw in ("allOf",):
                for i, sub in enumerate(v):
                    out.extend(self.complement(sub, f"{kp}/{i}", depth + 1))
            elif kw == "anyOf":
                syn({"allOf": [self.negation(sub, f"{kp}/{i}") for i, sub in enumerate(v)]})
            elif kw == "oneOf":
                syn({"allOf": [self.negation(sub, f"{kp}/{i}") for i, sub in enumerate(v)]})
                for i, j in itertools.combinations(range(len(v)), 2):
                    syn({"allOf": [v[i], v[j]]})
            elif kw == "not":
                out.append(v)
            elif kw in ("$ref", "$dynamicRef"):
                t = self.resolve(v, s, kw) if kw == "$ref" else self.resolve_dynamic(v, s)
                out.extend(self.complement(t, kp, depth + 1))
            elif kw == "if":
                then, else_ = s.get("then", True), s.get("else", True)
                if then is not True:
                    syn({"allOf": [v, self.negation(then, ptr + "/then")]})
                if else_ is not True:
                    syn({"allOf": [self.negation(v, kp), self.negation(else_, ptr + "/else")]})
            elif kw in ("then", "else", "minContains", "maxContains"):
                continue
            elif kw in ("x-exclude",):
                out.append(self.synth({"enum": list(v)}, ptr))
            elif kw in ("uniqueItems",):
                if v:
                    raise _Unsupported(kw, kp, "complement of uniqueItems")
            elif kw == "additionalProperties":
                # some key that is neither named nor matched by a pattern, whose value
                # violates the schema
                if v is True or v == {}:
                    continue
                if v is not False:
                    self.complement(v, kp, depth + 1)  # errors now, naming its keyword
                syn({"type": "object", "x-some-key": [{
                    "names": list(s.get("properties") or {}),
                    "patterns": list(s.get("patternProperties") or {}),
                    "match": None, "schema": v, "pointer": kp}]})
            elif kw == "patternProperties":
                # some key matching a pattern, whose value violates the pattern's schema
                for pattern, sub in v.items():
                    if sub is True or sub == {}:
                        continue
                    if sub is not False:
                        self.complement(sub, f"{kp}/{_escape_pointer(pattern)}", depth + 1)
                    syn({"type": "object", "x-some-key": [{
                        "names": [], "patterns": [], "match": pattern, "schema": sub,
                        "pointer": f"{kp}/{_escape_pointer(pattern)}"}]})
            elif kw in ("propertyNames",
                        "unevaluatedProperties", "unevaluatedItems", "x-not-string",
                        "x-not-number", "x-some-item", "x-some-key"):
                if v is True or v == {}:
                    continue
                raise _Unsupported(kw, kp, "its complement is not expressible")
            # anything else is an annotation or unknown: no constraint, empty complement
        return out

    # -- unevaluated*: only where the evaluated set is static -----------------

    def unevaluated(self, s, kw):
        """A synthesized schema equivalent to ``kw`` of s, or None if it has no effect."""
        props = kw == "unevaluatedProperties"
        names, patterns = {}, {}
        prefix_len = 0
        all_evaluated = False
        direct = ("properties", "patternProperties", "additionalProperties",
                  "unevaluatedProperties") if props else ("prefixItems", "items", "contains",
                                                           "unevaluatedItems")
        conditional = ("anyOf", "oneOf", "if", "then", "else", "dependentSchemas")

        def touches(d, seen):
            """Whether d's subtree (through refs) evaluates properties/items."""
            if not isinstance(d, dict) or id(d) in seen:
                return False
            seen.add(id(d))
            if any(k in d for k in direct):
                return True
            subs = list(d.get("allOf", [])) + list(d.get("anyOf", [])) + list(d.get("oneOf", []))
            subs += [d[k] for k in ("if", "then", "else") if k in d]
            subs += list((d.get("dependentSchemas") or {}).values())
            if "$ref" in d:
                subs.append(self.resolve(d["$ref"], d, "$ref"))
            return any(touches(x, seen) for x in subs)

        todo, seen = [s], set()
        first = True
        while todo:
            d = todo.pop()
            if not isinstance(d, dict) or id(d) in seen:
                continue
            seen.add(id(d))
            for c in conditional:
                subs = d.get(c)
                if subs is None:
                    continue
                subs = list(subs.values()) if isinstance(subs, dict) and c == "dependentSchemas" \
                    else (subs if isinstance(subs, list) else [subs])
                if any(touches(x, set()) for x in subs):
                    raise _Unsupported(kw, self.pointer(d),
                                       f"evaluated {'properties' if props else 'items'} depend on "
                                       f"which {c} branch matches")
            if props:
                names.update({n: True for n in d.get("properties", {})})
                patterns.update({p: True for p in d.get("patternProperties", {})})
                if "additionalProperties" in d or (not first and "unevaluatedProperties" in d):
                    all_evaluated = True
            else:
                if "contains" in d:
                    raise _Unsupported(kw, self.pointer(d), "items evaluated by contains")
                prefix_len = max(prefix_len, len(d.get("prefixItems", [])))
                if "items" in d or (not first and "unevaluatedItems" in d):
                    all_evaluated = True
            first = False
            todo.extend(d.get("allOf", []))
            if "$ref" in d:
                todo.append(self.resolve(d["$ref"], d, "$ref"))
        if all_evaluated:
            return None
        ptr = self.pointer(s) + "/" + kw
        if props:
            return self.synth_once((kw, id(s)), ptr, lambda: {
                "properties": names, "patternProperties": patterns,
                "additionalProperties": s[kw]}, self._base.get(id(s)), (s,))
        return self.synth_once((kw, id(s)), ptr, lambda: {
            "prefixItems": [True] * prefix_len, "items": s[kw]}, self._base.get(id(s)), (s,))

    # -- merging a branch ----------------------------------------------------

    def merge(self, branch: list[dict], pointer: str) -> _Merged:
        m = _Merged(pointer=pointer)
        types = set(_ALL_TYPES)
        for d in branch:
            ptr = self.pointer(d, pointer)
            if any(k in d for k in _COUNTS):
                d = dict(d)
                for k in _COUNTS:
                    if k in d:
                        d[k] = _count(d[k], k, ptr)
            for kw in d:
                m.pointers.setdefault(kw, f"{ptr}/{_escape_pointer(kw)}")
            if "type" in d:
                t = d["type"]
                ts = set()
                for x in ([t] if isinstance(t, str) else t):
                    if x not in _TYPE_SETS:
                        raise SchemaError("type", ptr + "/type", f"unknown type {x!r}")
                    ts |= _TYPE_SETS[x]
                types &= ts
                m.type_pointer = ptr + "/type"
            for kw in ("enum", "const"):
                if kw in d:
                    vals = [d["const"]] if kw == "const" else list(d["enum"])
                    m.enum = _unique_values(vals) if m.enum is None else [
                        v for v in m.enum if any(_json_equal(v, u) for u in vals)]
                    m.enum_keyword = kw
            if "x-exclude" in d:
                m.exclude.extend(d["x-exclude"])
            for kw, strict in (("minimum", False), ("exclusiveMinimum", True)):
                if kw in d:
                    b = (d[kw], strict)
                    if m.lower is None or b[0] > m.lower[0] or (b[0] == m.lower[0] and strict):
                        m.lower = b
            for kw, strict in (("maximum", False), ("exclusiveMaximum", True)):
                if kw in d:
                    b = (d[kw], strict)
                    if m.upper is None or b[0] < m.upper[0] or (b[0] == m.upper[0] and strict):
                        m.upper = b
            if "multipleOf" in d:
                m.multiple_of.append(d["multipleOf"])
            m.not_number.extend(d.get("x-not-number", []))
            if "minLength" in d:
                m.min_length = max(m.min_length, d["minLength"])
            if "maxLength" in d:
                m.max_length = d["maxLength"] if m.max_length is None else min(m.max_length, d["maxLength"])
            if "pattern" in d:
                m.patterns.append((d["pattern"], ptr + "/pattern"))
            if "format" in d and self.assert_format:
                m.formats.append((d["format"], ptr + "/format"))
            m.not_string.extend(d.get("x-not-string", []))
            if "prefixItems" in d or "items" in d:
                items = d.get("items")
                if isinstance(items, list):
                    raise SchemaError("items", ptr + "/items", "an array of schemas is not "
                                      "Draft 2020-12 'items' (use prefixItems)")
                m.item_specs.append((list(d.get("prefixItems", [])), items))
            if "x-some-item" in d:
                m.contains.append((d["x-some-item"], 1, None, ptr))
            if "minItems" in d:
                m.min_items = max(m.min_items, d["minItems"])
            if "maxItems" in d:
                m.max_items = d["maxItems"] if m.max_items is None else min(m.max_items, d["maxItems"])
            if "contains" in d:
                m.contains.append((d["contains"], d.get("minContains", 1), d.get("maxContains"),
                                   ptr))
            if d.get("uniqueItems") is True:
                m.unique = m.unique or ptr + "/uniqueItems"
            if any(k in d for k in ("properties", "patternProperties", "additionalProperties")):
                m.prop_specs.append((d.get("properties") or {}, d.get("patternProperties") or {},
                                     d.get("additionalProperties"), ptr))
            for name in d.get("required", []):
                if name not in m.required:
                    m.required.append(name)
            if "minProperties" in d:
                m.min_props = max(m.min_props, d["minProperties"])
            if "maxProperties" in d:
                m.max_props = d["maxProperties"] if m.max_props is None else min(m.max_props, d["maxProperties"])
            if "propertyNames" in d:
                m.property_names.append(d["propertyNames"])
            m.some_keys.extend(d.get("x-some-key", []))
        m.types = frozenset(types)
        return m

    # -- nodes ---------------------------------------------------------------

    def node(self, conj, depth: int) -> str:
        """The nonterminal of the JSON values satisfying every schema in ``conj``."""
        conj = tuple(s for s in conj if s is not True) or (True,)
        if any(s is False for s in conj):
            conj = (False,)
        ids = tuple(id(s) for s in conj)
        d = depth if self.style.indent is not None else 0
        key = (ids, d)
        name = self._nodes.get(key)
        if name is not None:
            return name
        if self.style.indent is not None:
            why = ("indent= with a recursive schema (or a value left open, such as an "
                   "unconstrained property, which may nest without bound) is not context-free: "
                   "the indentation grows with the depth; use whitespace='compact', separators "
                   "or whitespace='flexible'")
            if not self.lenient and any(k[0] == ids for k in self._in_progress):
                raise SchemaError("indent", self.pointer(conj[0]), why)
            if depth > MAX_INDENT_DEPTH:
                self.unsupported("indent", self.pointer(conj[0]),
                                 f"{why}; values nested deeper than {MAX_INDENT_DEPTH} levels "
                                 "are cut off")
                name = self._name("N")
                self._nodes[key] = name
                self.rules[name] = []
                return name
        name = self._name("N")
        self._nodes[key] = name
        self._keep.append(conj)
        pointer = self.pointer(conj[0])
        self.origins[name] = pointer
        self._in_progress.add(key)
        alts: list = []
        reason = None
        outer, self._depth = self._depth, depth
        try:
            for branch in self.branches(conj):
                m = self.merge(branch, pointer)
                balts, why = self.branch_alternatives(m, conj, depth)
                alts.extend(balts)
                reason = reason or why
        finally:
            self._depth = outer
        self._in_progress.discard(key)
        uniq = list(dict.fromkeys(alts))
        self.rules[name] = uniq
        if not uniq:
            self._direct_empty[name] = reason or (None, pointer)
        return name

    def branch_alternatives(self, m: _Merged, conj, depth):
        """(alternatives, (keyword, pointer) explaining emptiness)."""
        if m.enum is not None:
            values = [v for v in m.enum
                      if not any(_json_equal(v, x) for x in m.exclude)
                      and all(self.valid(v, s) for s in conj)]
            return [(self.const(v, depth),) for v in values], (m.enum_keyword,
                                                                m.pointers.get(m.enum_keyword, m.pointer))
        alts = []
        reason = ("type", m.type_pointer or m.pointer)
        for t in ("null", "boolean"):
            if t in m.types:
                for v in ([None] if t == "null" else [True, False]):
                    if not any(_json_equal(v, x) for x in m.exclude):
                        alts.append((self.literal(json.dumps(v)),))
        if m.types & {"integer", "nonint"}:
            term = self.number_terminal(m)
            if term is not None:
                alts.append((term,))
            else:
                reason = (self._first_kw(m, _NUMBER_KEYS + ("type",)))
        if "string" in m.types:
            term = self.long_string(m)
            if term is None:
                dfa = self.string_dfa(m)
                term = self.dfa_terminal(dfa, ("dfa", id(dfa))) if dfa is not None else None
            if term is not None:
                alts.append((term,))
            else:
                reason = self._first_kw(m, _STRING_KEYS + ("type",))
        if "array" in m.types:
            a = self.array_alternatives(m, depth)
            alts.extend(a)
            if not a:
                reason = self._first_kw(m, ("minItems", "maxItems", "prefixItems", "items", "contains"))
        if "object" in m.types:
            o = self.object_alternatives(m, depth)
            alts.extend(o)
            if not o:
                reason = self._first_kw(m, ("required", "minProperties", "maxProperties",
                                            "properties", "additionalProperties"))
        return alts, reason

    def _first_kw(self, m, keys):
        for k in keys:
            if k in m.pointers:
                return k, m.pointers[k]
        return None, m.pointer

    # -- leaves ----------------------------------------------------------------

    def number_terminal(self, m: _Merged) -> Optional[str]:
        # Integers are written as plain decimals whose value is whole ("1", "-0", "1.0");
        # like every bounded number, without an exponent.
        integer = "nonint" not in m.types
        kwargs: dict = {}
        if m.lower is not None:
            kwargs["exclusive_minimum" if m.lower[1] else "minimum"] = m.lower[0]
        if m.upper is not None:
            kwargs["exclusive_maximum" if m.upper[1] else "maximum"] = m.upper[0]
        multiples = list(m.multiple_of) + ([1] if integer else [])
        if multiples:
            kwargs["multiple_of"] = _combine_multiples(multiples)
        ptr = m.pointers.get("multipleOf") or m.pointers.get("minimum") or m.pointer
        key = (("num",) + tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
               + (integer, repr(m.not_number), repr(m.exclude), "integer" in m.types))
        if key in self._term_by_key:  # the same constraints: the same terminal
            return self._term_by_key[key]
        try:
            dfa = json_number_dfa(integer=False, **kwargs)
            nums = [v for v in m.exclude if _json_type(v) in ("integer", "nonint")]
            if "integer" not in m.types or m.not_number or nums:
                # complements are taken among plain decimal spellings (one value, many
                # spellings -- all of them are removed together)
                dfa = intersect(dfa, self.number_plain())
            if "integer" not in m.types:  # non-integers only
                dfa = complement_within(json_number_dfa(integer=False, multiple_of=1), dfa)
            for neg in m.not_number:
                if dfa.is_empty:
                    break
                dfa = complement_within(json_number_dfa(integer=False, **_number_kwargs(neg)), dfa)
            if nums and not dfa.is_empty:
                dfa = complement_within(_union_all([self.number_literal_dfa(v) for v in nums]), dfa)
        except NumberUnsupported as e:
            kw = "multipleOf" if m.multiple_of else "minimum"
            self.unsupported(kw, m.pointers.get(kw, ptr), str(e))
            dfa = json_number_dfa(integer=integer)
        return self.dfa_terminal(dfa, key)

    def long_string(self, m: _Merged) -> Optional[str]:
        """A nonterminal for the strings of a branch limited only by a long length range
        (a bound over LONG_STRING characters), else None.

        One DFA would need about 20 states per character of the bound (32767 -> 650,000
        states). Instead the inside of the string is cut into blocks of K = STRING_BLOCK
        characters and a tail: a string of n = a*K + b characters (0 <= b < K) is, after
        ``a`` blocks, ``Z_a -> BLOCK Z_a+1 | TAIL_a``, where TAIL_a has the b characters that
        keep n in range and the closing quote (the first piece has the opening one). A
        tail is shorter than a block, so the split is unambiguous; every spelling of every
        character is allowed, as in the one-DFA string. The pieces' states are shared by
        all blocks, so masks computed inside one block serve every other.
        """
        lo, hi = m.min_length, m.max_length
        if max(lo, hi or 0) <= LONG_STRING or (hi is not None and hi < lo):
            return None
        if (m.not_string or any(isinstance(v, str) for v in m.exclude)
                or any(f in STANDARD_FORMATS for f, _ in m.formats) or self.string_patterns(m)):
            return None
        k = STRING_BLOCK
        last = (hi if hi is not None else lo) // k
        if last > MAX_COUNTER_STATES:
            kw = "maxLength" if hi is not None else "minLength"
            self.unsupported(kw, m.pointers.get(kw, m.pointer),
                             f"more than {MAX_COUNTER_STATES * k:,} characters counted")
            return self.dfa_terminal(self.string_any(), ("str-any",))  # lenient: no bound
        key = ("long-str", lo, hi)
        if key in self._term_by_key:
            return self._term_by_key[key]

        def chars(a, b, first, end):
            """Characters a..b, with the opening quote if first, the closing one if end."""
            key = ("chars", a, b, first, end)
            return self._term_by_key.get(key) or self.dfa_terminal(
                json_chars_dfa(a, b, open_quote=first, close_quote=end), key)

        names = [self._name("L") for _ in range(last + 1)]
        for a, name in enumerate(names):
            if hi is None:
                self.rules[name] = ([(chars(k, k, a == 0, False), names[a + 1])] if a < last
                                    else [(chars(lo - a * k, None, a == 0, True),)])
                continue
            alts = [(chars(k, k, a == 0, False), names[a + 1])] if (a + 1) * k <= hi else []
            t_lo, t_hi = max(0, lo - a * k), min(k - 1, hi - a * k)
            if t_lo <= t_hi:
                alts.append((chars(t_lo, t_hi, a == 0, True),))
            self.rules[name] = alts
        self._term_by_key[key] = names[0]
        return names[0]

    def string_dfa(self, m: _Merged) -> Optional[ByteDFA]:
        """The string tokens of a merged branch (None if empty), memoised by the branch's
        string constraints (same constraints, same DFA object: one terminal)."""
        max_length = m.max_length
        if max_length is not None and max_length < m.min_length:
            return None
        patterns = self.string_patterns(m)
        formats = tuple(dict.fromkeys(f for f, ptr in m.formats if f in STANDARD_FORMATS
                                      and self.check_string_part("format", f, ptr)))
        strings = tuple(v for v in m.exclude if isinstance(v, str))
        key = ("str-branch", m.min_length, max_length, patterns, formats,
               json.dumps(m.not_string, sort_keys=True), strings)
        return self._cached(key, lambda: self._string_dfa(m, patterns, formats, strings))

    def string_patterns(self, m: _Merged) -> tuple:
        """The branch's patterns that constrain something (a pattern every string matches,
        such as an unanchored ``([0-9]+)?``, is dropped: it imposes nothing, nor the
        minimal escape style)."""
        return tuple(dict.fromkeys(p for p, ptr in m.patterns
                                   if self.check_string_part("pattern", p, ptr)
                                   and not pattern_is_vacuous(p)))

    def check_string_part(self, keyword: str, value: str, ptr: str) -> bool:
        """Whether a pattern (or standard format) compiles; if not, SchemaError naming it
        (under lenient=True: noted, and False: the keyword is ignored)."""
        try:
            if keyword == "pattern":
                pattern_content_dfa(value)
            else:
                format_dfa(value)
            return True
        except FormatUnsupported as e:
            self.unsupported("format", ptr, f"format {value!r} is not supported ({e})")
        except SchemaError:
            raise
        except Exception as e:  # a pattern the regex engine rejects
            if keyword != "pattern":
                raise
            self.unsupported("pattern", ptr, str(e))
        return False

    def _string_dfa(self, m: _Merged, patterns, formats, strings) -> Optional[ByteDFA]:
        """string_dfa's work: lengths, patterns and formats intersected (on the decoded
        content, then escaped), then the complements taken."""
        try:
            dfa = self._cached(("str-all", m.min_length, m.max_length, patterns, formats),
                               lambda: json_string_dfa(min_length=m.min_length,
                                                       max_length=m.max_length,
                                                       patterns=patterns, formats=formats))
        except LengthUnsupported as e:
            bounded = [e.keyword] + [kw for kw, on in (("minLength", m.min_length > 0),
                                                       ("maxLength", m.max_length is not None))
                                     if on and kw != e.keyword]
            for kw in bounded:
                self.unsupported(kw, m.pointers.get(kw, m.pointer), str(e))
            # lenient: the length bounds are ignored (each reported), the rest is kept
            dfa = self._cached(("str-all", 0, None, patterns, formats),
                               lambda: json_string_dfa(patterns=patterns, formats=formats))
        if dfa.is_empty:
            return None
        if m.not_string or strings:
            # complements are taken in the minimal escape style (one spelling per value)
            dfa = intersect(dfa, self.string_minimal())
        for neg in m.not_string:
            kwargs = {"pattern": neg["pattern"]} if "pattern" in neg else {"format": neg["format"]}
            try:
                part = json_string_dfa(**kwargs)
            except FormatUnsupported as e:
                raise SchemaError("format", m.pointer, f"complement of format: {e}") from None
            dfa = complement_within(part, dfa)
        if strings and not dfa.is_empty:
            dfa = complement_within(self.string_literals_dfa(strings), dfa)
        return None if dfa.is_empty else dfa

    # -- constants -------------------------------------------------------------

    def const(self, v, depth: int) -> str:
        d = depth if self.style.indent is not None else 0
        key = ("const", json.dumps(v, sort_keys=False), type(v).__name__, d)
        name = self._term_by_key.get(key)
        if name is not None:
            return name
        name = self._name("C")
        self._term_by_key[key] = name
        if v is None or isinstance(v, bool):
            self.rules[name] = [(self.literal(json.dumps(v)),)]
        elif isinstance(v, (int, float)):
            self.rules[name] = [(self.dfa_terminal(self.number_literal_dfa(v, canonical=True),
                                                   ("num-lit-c", repr(v))),)]
        elif isinstance(v, str):
            self.rules[name] = [(self.dfa_terminal(self.string_literal_dfa(v), ("str-lit", v)),)]
        elif isinstance(v, list):
            if not v:
                self.rules[name] = [(self.punct("[]", depth),)]
            else:
                seq = [self.punct("[", depth)]
                for i, x in enumerate(v):
                    if i:
                        seq.append(self.punct(",", depth))
                    seq.append(self.const(x, depth + 1))
                seq.append(self.punct("]", depth))
                self.rules[name] = [tuple(seq)]
        else:
            if not v:
                self.rules[name] = [(self.punct("{}", depth),)]
            else:
                keys = list(v)
                orders = [keys]
                if self.order == "any":
                    if len(keys) > 6:
                        raise SchemaError("const", "#", "an object constant with more than 6 "
                                          "properties under property_order='any'")
                    orders = list(itertools.permutations(keys))
                alts = []
                for order in orders:
                    seq = [self.punct("{", depth)]
                    for i, k in enumerate(order):
                        if i:
                            seq.append(self.punct(",", depth))
                        seq += [self.dfa_terminal(self.string_literal_dfa(k), ("str-lit", k)),
                                self.punct(":", depth), self.const(v[k], depth + 1)]
                    seq.append(self.punct("}", depth))
                    alts.append(tuple(seq))
                self.rules[name] = alts
        return name

    # -- arrays ----------------------------------------------------------------

    def array_alternatives(self, m: _Merged, depth: int) -> list:
        prefix_len = max((len(p) for p, _ in m.item_specs), default=0)
        min_items, max_items = m.min_items, m.max_items

        def conj_at(i):
            c = []
            for prefix, items in m.item_specs:
                if i < len(prefix):
                    c.append(prefix[i])
                elif items is not None:
                    c.append(items)
            return tuple(c)

        for i in range(prefix_len):
            if any(s is False for s in conj_at(i)):
                max_items = i if max_items is None else min(max_items, i)
                break
        if any(s is False for s in conj_at(prefix_len)):
            max_items = prefix_len if max_items is None else min(max_items, prefix_len)
        if max_items is not None and max_items < min_items:
            return []
        contains = [c for c in m.contains if not (c[1] == 0 and c[2] is None)]
        if len(contains) > MAX_CONTAINS:
            self.unsupported("contains", contains[MAX_CONTAINS][3] + "/contains",
                             f"more than {MAX_CONTAINS} contains constraints on one array")
            contains = contains[:MAX_CONTAINS]
        if m.unique and not (max_items is not None and max_items <= 1):
            if prefix_len or contains:
                self.unsupported("uniqueItems", m.unique, "uniqueItems with prefixItems or contains")
            else:
                return self.unique_array(m, conj_at(0), min_items, max_items, depth)
        if any(hi is not None and hi < lo for _, lo, hi, _ in contains):
            return []
        contains = [c for c in contains if self.contains_complement(c)]
        caps = tuple(hi if hi is not None else lo for _, lo, hi, _ in contains)
        cap_i = max(prefix_len, min_items) if max_items is None else max_items
        if cap_i > MAX_COUNTER_STATES:
            self.unsupported("maxItems" if max_items is not None else "minItems", m.pointer,
                             f"more than {MAX_COUNTER_STATES} counted items")
            cap_i, max_items = max(prefix_len, 0), None
        item_cache: dict = {}

        def items_at(i):
            """[(nonterminal, per-contains increments)] for position i: one per choice of
            the contains schemas the item matches (and the complements of the others)."""
            j = min(i, prefix_len)
            if j not in item_cache:
                base = conj_at(j)
                item_cache[j] = [
                    (self.node(base + tuple(c[0] if hit else self.negation(c[0], c[3] + "/contains")
                                            for c, hit in zip(contains, hits)), depth + 1),
                     tuple(int(hit) for hit in hits))
                    for hits in itertools.product((True, False), repeat=len(contains))]
            return item_cache[j]

        states: dict = {}
        todo = []

        def state(i, c, first):
            key = (i, c, first)
            if key not in states:
                states[key] = self._name("A")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("maxItems", m.pointer, "array automaton too large")
            return states[key]

        start = state(0, (0,) * len(contains), True)
        while todo:
            i, c, first = todo.pop()
            name = states[(i, c, first)]
            alts = []
            if max_items is None or i < max_items:
                sep = self.punct("[" if first else ",", depth)
                for sym, incs in items_at(i):
                    counts = [x + d for x, d in zip(c, incs)]
                    if any(hi is not None and n > hi for n, (_, _, hi, _) in zip(counts, contains)):
                        continue
                    c2 = tuple(min(n, cap) for n, cap in zip(counts, caps))
                    i2 = i + 1 if max_items is not None else min(i + 1, cap_i)
                    alts.append((sep, sym, state(i2, c2, False)))
            if i >= min_items and all(n >= lo for n, (_, lo, _, _) in zip(c, contains)):
                alts.append((self.punct("[]" if first else "]", depth),))
            self.rules[name] = alts
        return [(start,)]

    def contains_complement(self, contains) -> bool:
        """Whether the complement of a contains schema (items that do not match) is
        expressible; if not, SchemaError (under lenient=True: noted, and the contains
        constraint is dropped)."""
        schema, _, _, ptr = contains
        try:
            self.complement(schema, ptr + "/contains")
            return True
        except _Unsupported as e:
            self.unsupported("contains", ptr + "/contains",
                             f"items that do not match need the complement ({e.reason})")
            return False

    def finite_values(self, conj) -> Optional[list]:
        """The JSON values of ``conj`` if it is a small finite set, else None."""
        conj = tuple(conj) or (True,)
        values = []
        for branch in self.branches(conj):
            m = self.merge(branch, self.pointer(conj[0]))
            if m.enum is not None:
                values += [v for v in m.enum if all(self.valid(v, s) for s in conj)]
            elif m.types <= {"null", "boolean"}:
                values += [v for v in [None, True, False] if _json_type(v) in m.types
                           and all(self.valid(v, s) for s in conj)]
            else:
                return None
        return _unique_values(values)

    def unique_array(self, m, item_conj, min_items, max_items, depth):
        values = self.finite_values(item_conj)
        if values is None or len(values) > MAX_UNIQUE_VALUES:
            self.unsupported("uniqueItems", m.unique, "only arrays whose items come from a small "
                             "finite set (enum, boolean, null) can be unique exactly")
            m2 = _Merged(pointer=m.pointer, item_specs=m.item_specs, min_items=m.min_items,
                         max_items=m.max_items, contains=m.contains)
            return self.array_alternatives(m2, depth)
        consts = [self.const(v, depth + 1) for v in values]
        n = len(values)
        hi = n if max_items is None else min(n, max_items)
        states: dict = {}
        todo = []

        def state(used, first):
            key = (used, first)
            if key not in states:
                states[key] = self._name("U")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("uniqueItems", m.unique, "unique-array automaton too large")
            return states[key]

        start = state(0, True)
        while todo:
            used, first = todo.pop()
            count = bin(used).count("1")
            alts = []
            if count < hi:
                sep = self.punct("[" if first else ",", depth)
                for k in range(n):
                    if not used >> k & 1:
                        alts.append((sep, consts[k], state(used | 1 << k, False)))
            if count >= min_items:
                alts.append((self.punct("[]" if first else "]", depth),))
            self.rules[states[(used, first)]] = alts
        return [(start,)]

    # -- objects ---------------------------------------------------------------

    def pattern_dfa(self, pattern, ptr):
        try:
            return self._cached(("str", ("pattern", pattern)),
                                lambda: json_string_dfa(pattern=pattern))
        except FormatUnsupported:
            raise
        except SchemaError:
            raise
        except Exception as e:
            raise _Unsupported("patternProperties", ptr, str(e)) from None

    def key_matches(self, key: str, pattern: str, ptr: str) -> bool:
        return self.pattern_dfa(pattern, ptr).matches(json.dumps(key, ensure_ascii=False).encode())

    def object_alternatives(self, m: _Merged, depth: int) -> list:
        """The object alternatives of a merged branch: named members in order (or any
        order), then other keys by classes of matching patterns; ``x-some-key`` witnesses
        (complements of ``additionalProperties``) are tracked as flags."""
        # Named keys: properties, required, and keys a witness must not be.
        named: list[str] = []
        for props, _, _, _ in m.prop_specs:
            named.extend(props)
        named.extend(m.required)
        for entry in m.some_keys:
            named.extend(entry["names"])
        named = list(dict.fromkeys(named))
        patterns: dict[str, str] = {}
        for _, pats, _, ptr in m.prop_specs:
            for p in pats:
                patterns.setdefault(p, f"{ptr}/patternProperties/{_escape_pointer(p)}")
        for entry in m.some_keys:
            for p in entry["patterns"] + ([entry["match"]] if entry["match"] is not None else []):
                patterns.setdefault(p, entry["pointer"])
        if len(patterns) > MAX_PATTERNS:
            self.unsupported("patternProperties", next(iter(patterns.values())),
                             f"more than {MAX_PATTERNS} distinct patterns on one object")
            patterns = dict(list(patterns.items())[:MAX_PATTERNS])

        def value_conj(key: Optional[str], matched: frozenset):
            c = []
            for props, pats, additional, ptr in m.prop_specs:
                hit = False
                if key is not None and key in props:
                    c.append(props[key])
                    hit = True
                for p, sub in pats.items():
                    if p in matched:
                        c.append(sub)
                        hit = True
                if not hit and additional is not None:
                    c.append(additional)
            return tuple(c)

        def values(key: Optional[str], matched: frozenset, conj: tuple) -> list:
            """[(value nonterminal, witness flags)] of a member with this key."""
            options = [((), 0)]
            for e, entry in enumerate(m.some_keys):
                if (key in entry["names"] or matched & set(entry["patterns"])
                        or entry["match"] is not None and entry["match"] not in matched):
                    continue  # not a key the witness is about
                sub = entry["schema"]
                bad = () if sub is False else (self.negation(sub, entry["pointer"]),)
                options = [(extra + more, bits | flag) for extra, bits in options
                           for more, flag in ([] if sub is False else [((sub,), 0)])
                           + [(bad, 1 << e)]]
            return [(self.node(conj + extra, depth + 1), bits) for extra, bits in options]

        # Named members: [(key, value nonterminal, flags)], or None when the key cannot appear.
        members: dict[str, Optional[list]] = {}
        for k in named:
            try:
                matched = frozenset(p for p, ptr in patterns.items() if self.key_matches(k, p, ptr))
            except _Unsupported as e:
                self.unsupported(e.keyword, e.pointer, e.reason)
                matched = frozenset()
            conj = value_conj(k, matched)
            if any(s is False for s in conj) or not all(self.valid(k, pn) for pn in m.property_names):
                members[k] = None
                continue
            key_term = self.dfa_terminal(self.string_literal_dfa(k), ("str-lit", k))
            members[k] = [(key_term, v, bits) for v, bits in values(k, matched, conj)]
        if any(members[k] is None for k in m.required):
            return []
        # Other keys: one class per set of matching patterns; one rule per witness flags.
        extra: dict[int, list] = {}
        base = self.other_keys_dfa(m, named)
        pattern_list = list(patterns)
        if not base.is_empty:
            for bits in itertools.product((False, True), repeat=len(pattern_list)):
                matched = frozenset(p for p, b in zip(pattern_list, bits) if b)
                conj = value_conj(None, matched)
                if any(s is False for s in conj):
                    continue
                try:
                    dfa = self._cached(("key-class", id(base), tuple(zip(pattern_list, bits))),
                                       lambda: self._key_class_dfa(base, patterns, bits))
                except _Unsupported as e:
                    self.unsupported(e.keyword, e.pointer, e.reason)
                    continue
                if dfa.is_empty:
                    continue
                key_term = self.dfa_terminal(dfa, ("dfa", id(dfa)))
                for value, flags in values(None, matched, conj):
                    extra.setdefault(flags, []).append((key_term, value))
        colon = self.punct(":", depth)
        extra_rules = []
        for flags, pairs in extra.items():
            rule = self._name("X")
            self.rules[rule] = [(k, colon, v) for k, v in pairs]
            extra_rules.append((rule, flags))
        present = [k for k in named if members[k] is not None]
        if self.order == "any":
            return self.object_any_order(m, present, members, extra_rules, depth)
        return self.object_schema_order(m, present, members, extra_rules, depth)

    def other_keys_dfa(self, m: _Merged, named: list) -> ByteDFA:
        """The keys (as string tokens) that ``propertyNames`` allows beside the ``named``
        ones, memoised by the names and the propertyNames schema objects."""
        # keys are written in the minimal escape style: one spelling per key, so a named
        # key cannot reappear as an "other" key

        def make():
            dfa = self.string_minimal()
            if m.property_names:
                dfa = intersect(self.property_names_dfa(m), dfa)
            if named and not dfa.is_empty:
                dfa = complement_within(self.string_literals_dfa(named), dfa)
            return dfa

        return self._cached(("other-keys", tuple(named), tuple(map(id, m.property_names))), make)

    def _key_class_dfa(self, base: ByteDFA, patterns: dict, bits: tuple) -> ByteDFA:
        """The keys of ``base`` that match exactly the patterns (pattern -> pointer) whose
        bit is set."""
        dfa = base
        for (p, ptr), b in zip(patterns.items(), bits):
            pd = self.pattern_dfa(p, ptr)
            dfa = intersect(dfa, pd) if b else complement_within(pd, dfa)
            if dfa.is_empty:
                break
        return dfa

    def property_names_dfa(self, m: _Merged) -> ByteDFA:
        """The key strings every propertyNames schema allows, as string tokens."""
        dfa = None
        for pn in m.property_names:
            ptr = self.pointer(pn, m.pointer)
            parts = []
            for branch in self.branches((pn,)):
                bm = self.merge(branch, ptr)
                if bm.enum is not None:
                    vals = [v for v in bm.enum if isinstance(v, str) and self.valid(v, pn)]
                    parts.append(self.string_literals_dfa(vals))
                elif "string" in bm.types:
                    if bm.types & {"object", "array"} and (bm.prop_specs or bm.item_specs):
                        pass  # constraints on other types do not matter for keys
                    sd = self.string_dfa(bm)
                    if sd is not None:
                        parts.append(sd)
            part = _union_all(parts) if parts else _empty()
            dfa = part if dfa is None else intersect(dfa, part)
        return dfa

    def _member_alts(self, first, depth):
        return self.punct("{" if first else ",", depth), self.punct(":", depth)

    def object_schema_order(self, m, present, members, extra_rules, depth):
        """Named members in order (optional ones skippable), then other keys; states
        count members (for min/maxProperties) and collect witness flags."""
        n = len(present)
        required = set(m.required)
        full = (1 << len(m.some_keys)) - 1
        counter = _PropertyCounter(m)
        if counter.empty:
            return []
        states: dict = {}
        todo = []

        def state(i, c, first, w):
            key = (i, c, first, w)
            if key not in states:
                states[key] = self._name("O")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("maxProperties", m.pointer, "object automaton too large")
            return states[key]

        start = state(0, 0, True, 0)
        while todo:
            i, c, first, w = todo.pop()
            alts = []
            sep, colon = self._member_alts(first, depth)
            if i < n:
                k = present[i]
                if counter.can_add(c):
                    for key_term, value, bits in members[k]:
                        alts.append((sep, key_term, colon, value,
                                     state(i + 1, counter.bump(c), False, w | bits)))
                if k not in required:
                    alts.append((state(i + 1, c, first, w),))
            else:
                if counter.can_add(c):
                    for rule, bits in extra_rules:
                        alts.append((sep, rule, state(n, counter.bump(c), False, w | bits)))
                if counter.done(c) and w == full:
                    alts.append((self.punct("{}" if first else "}", depth),))
            self.rules[states[(i, c, first, w)]] = alts
        return [(start,)]

    def object_any_order(self, m, present, members, extra_rules, depth):
        """Named members in any order, each at most once, other keys anywhere."""
        n = len(present)
        if n > MAX_ANY_ORDER:
            raise SchemaError("properties", m.pointers.get("properties", m.pointer),
                              f"property_order='any' supports at most {MAX_ANY_ORDER} named "
                              f"properties per object (this one has {n}); use "
                              "property_order='schema'")
        required_mask = sum(1 << i for i, k in enumerate(present) if k in m.required)
        full = (1 << len(m.some_keys)) - 1
        counter = _PropertyCounter(m)
        if counter.empty:
            return []
        states: dict = {}
        todo = []

        def state(used, c, first, w):
            key = (used, c, first, w)
            if key not in states:
                states[key] = self._name("Q")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("properties", m.pointer, "object automaton too large")
            return states[key]

        start = state(0, 0, True, 0)
        while todo:
            used, c, first, w = todo.pop()
            alts = []
            sep, colon = self._member_alts(first, depth)
            if counter.can_add(c):
                for i, k in enumerate(present):
                    if not used >> i & 1:
                        for key_term, value, bits in members[k]:
                            alts.append((sep, key_term, colon, value,
                                         state(used | 1 << i, counter.bump(c), False, w | bits)))
                for rule, bits in extra_rules:
                    alts.append((sep, rule, state(used, counter.bump(c), False, w | bits)))
            if used & required_mask == required_mask and counter.done(c) and w == full:
                alts.append((self.punct("{}" if first else "}", depth),))
            self.rules[states[(used, c, first, w)]] = alts
        return [(start,)]

    # -- the whole grammar -----------------------------------------------------

    def build(self) -> Cfg:
        top = self.node((self.root,), 0)
        start = "json"
        if self.style.flexible:
            ws = self._name("WS")
            ws2 = self._name("WS")
            self.terminals[ws] = self.ws_ast()
            self.terminals[ws2] = self.ws_ast()
            self.rules[start] = [(ws, top, ws2)]
        else:
            self.rules[start] = [(top,)]
        self.check_productive(top)
        rules = {k: tuple(v) for k, v in self.rules.items()}
        return Cfg(terminals=dict(self.terminals), rules=rules, start=start,
                   origins=dict(self.origins))

    def check_productive(self, top: str) -> None:
        productive = productive_symbols(self.rules, self.terminals)
        if top in productive:
            return
        # Report the first directly empty node reachable from the top, else the top.
        order, seen = [top], {top}
        for lhs in order:
            if lhs in self._direct_empty:
                kw, ptr = self._direct_empty[lhs]
                raise SchemaError(kw, ptr, "the schema matches no JSON value")
            for a in self.rules.get(lhs, ()):
                for s in a:
                    if s in self.rules and s not in seen and s not in productive:
                        seen.add(s)
                        order.append(s)
        raise SchemaError(None, "#", "the schema matches no JSON value (no finite instance)")


def _type_names(types) -> list:
    """The ``type`` keyword value (with the synthesized "x-nonint") of a set of types."""
    names = [t for t in ("null", "boolean", "object", "array", "string") if t in types]
    if {"integer", "nonint"} <= types:
        names.append("number")
    elif "integer" in types:
        names.append("integer")
    elif "nonint" in types:
        names.append("x-nonint")
    return names


# The types a keyword constrains (values of other types satisfy it whatever its value).
_KEYWORD_TYPES = {kw: frozenset(types) for types, kws in (
    (("object",), ("properties", "patternProperties", "additionalProperties", "required",
                   "propertyNames", "minProperties", "maxProperties", "dependentRequired",
                   "dependentSchemas", "unevaluatedProperties", "x-some-key")),
    (("array",), ("items", "prefixItems", "contains", "minContains", "maxContains", "minItems",
                  "maxItems", "uniqueItems", "unevaluatedItems", "x-some-item")),
    (("string",), ("minLength", "maxLength", "pattern", "format", "x-not-string")),
    (("integer", "nonint"), ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                             "multipleOf", "x-not-number")),
) for kw in kws}


_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minContains", "maxContains",
           "minProperties", "maxProperties")


def _count(v, keyword, ptr) -> int:
    """A non-negative integer keyword value (2.0 is 2, as JSON Schema allows)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v != int(v):
        raise SchemaError(keyword, f"{ptr}/{keyword}", f"{keyword} must be a non-negative "
                          f"integer, not {v!r}")
    return int(v)


def _combine_multiples(values):
    fr = [Fraction(str(v)) if isinstance(v, float) else Fraction(v) for v in values]
    acc = fr[0]
    for f in fr[1:]:
        acc = Fraction(math.lcm(acc.numerator, f.numerator), math.gcd(acc.denominator, f.denominator))
    if len(set(values)) == 1:
        return values[0]
    return _number_param(acc) if acc.denominator == 1 else float(acc)


def _number_kwargs(neg: dict) -> dict:
    out = {}
    for kw, arg in (("minimum", "minimum"), ("maximum", "maximum"),
                    ("exclusiveMinimum", "exclusive_minimum"),
                    ("exclusiveMaximum", "exclusive_maximum"), ("multipleOf", "multiple_of")):
        if kw in neg:
            out[arg] = neg[kw]
    return out


def _empty() -> ByteDFA:
    return dfa_from_strings([])


def _string_literals(values) -> ByteDFA:
    """The DFA of ``string_literals_dfa``: strings without a character that must be escaped
    have one spelling (a finite set, built at once); the others get every escape choice."""
    plain, escaped = [], []
    for v in values:
        try:
            spelled = ('"' + v + '"').encode()
        except UnicodeEncodeError:  # a lone surrogate: only escapes can spell it
            spelled = None
        if spelled is not None and not any(b < 0x20 or b in b'"\\' for b in spelled[1:-1]):
            plain.append(spelled)
        else:
            escaped.append(json_string_dfa(
                pattern="^" + "".join(f"\\u{{{ord(c):x}}}" for c in v) + "$"))
    return _union_all([dfa_from_strings(plain)] + escaped)


def _union_all(dfas):
    dfas = [d for d in dfas if not d.is_empty]
    if not dfas:
        return _empty()
    acc = dfas[0]
    for d in dfas[1:]:
        acc = union(acc, d)
    return acc


def cfg_from_json_schema(schema, *, whitespace: str = "compact", max_whitespace: int = 16,
                         separators=None, indent=None, property_order: str = "schema",
                         lenient: bool = False, assert_format: bool = True) -> tuple[Cfg, list[str]]:
    """The grammar of the JSON texts (in one style) that validate against ``schema``.

    Args:
        schema: a JSON Schema (Draft 2020-12) as a Python object (dict or bool).
        whitespace: ``"compact"`` (no whitespace beyond the separators) or ``"flexible"``
            (any JSON whitespace, at most ``max_whitespace`` characters per gap).
        separators: ``(item_separator, key_separator)`` as for ``json.dumps``; default
            ``(",", ":")``, or ``(",", ": ")`` with ``indent``.
        indent: ``json.dumps(obj, indent=N)`` layout (newline and N spaces per depth).
        property_order: ``"schema"`` (named properties in the order of ``properties``,
            other keys after them) or ``"any"`` (any order, each key at most once).
        lenient: ignore keywords that cannot be compiled exactly, and report them.
        assert_format: enforce ``format`` (else it is an annotation, the 2020-12 default).

    Returns ``(cfg, notes)``: notes name every keyword ignored under ``lenient=True`` with
    its JSON pointer. Raises ``SchemaError`` for what cannot be compiled exactly and for
    schemas that match no JSON value.
    """
    style = _make_style(whitespace, max_whitespace, separators, indent)
    if property_order not in ("schema", "any"):
        raise ValueError(f"property_order must be 'schema' or 'any', not {property_order!r}")
    if not isinstance(schema, (dict, bool)):
        raise SchemaError(None, "#", f"a schema must be an object or a boolean, not "
                          f"{type(schema).__name__}")
    schema = upgrade_dependencies(schema)
    if not lenient:  # (lenient reports each ignored keyword at each of its places)
        schema = share_equal_subschemas(schema)
    compiler = _Compiler(schema, style, property_order, lenient, assert_format)
    cfg = compiler.build()
    return cfg, list(compiler.notes)


# Keywords whose value is one subschema, a list of them, or a map of names to them.
_SUBSCHEMA = ("not", "if", "then", "else", "additionalProperties", "propertyNames", "contains",
              "unevaluatedProperties", "unevaluatedItems", "items", "additionalItems")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                   "dependencies")


def upgrade_dependencies(schema):
    """A copy of ``schema`` where every pre-2020 ``dependencies`` keyword is split into its
    2020-12 successors: ``dependentRequired`` (array values) and ``dependentSchemas`` (schemas),
    as users of older schemas expect. Only schema positions are rewritten (a property named
    "dependencies" stays a property)."""
    if isinstance(schema, list):
        return [upgrade_dependencies(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            value = {name: upgrade_dependencies(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            value = [upgrade_dependencies(sub) for sub in value]
        elif key in _SUBSCHEMA:
            value = upgrade_dependencies(value)
        out[key] = value
    legacy = out.pop("dependencies", None)
    if isinstance(legacy, dict):
        required = {k: v for k, v in legacy.items() if isinstance(v, list)}
        schemas = {k: v for k, v in legacy.items() if not isinstance(v, list)}
        for keyword, part in (("dependentRequired", required), ("dependentSchemas", schemas)):
            if part:
                existing = out.get(keyword, {})
                clash = set(existing) & set(part)
                if clash:  # both spellings for one property: they must both hold
                    out.setdefault("allOf", []).append({keyword: {k: part[k] for k in clash}})
                    part = {k: v for k, v in part.items() if k not in clash}
                out[keyword] = {**existing, **part}
    elif legacy is not None:
        out["dependencies"] = legacy
    return out


# Keys that give a schema an identity of its own: the registry finds it by them.
_IDENTIFYING = ("$id", "$anchor", "$dynamicAnchor")


def share_equal_subschemas(schema):
    """A copy of ``schema`` in which equal objects and arrays (same content, key order
    included, and same base URI) are one object. The compiler memoises nodes, proofs and
    references by object identity, so a subschema repeated across a big schema is then
    compiled once. Objects carrying ``$id``/``$anchor``/``$dynamicAnchor`` stay apart."""
    table: dict = {}

    def key_of(value):
        if isinstance(value, (dict, list)):
            return id(value)  # already shared: identity stands for content
        if isinstance(value, float):
            return (float, value.hex())  # (0.0 and -0.0 are equal, yet written apart)
        return (type(value), value)

    def share(value, base):
        if isinstance(value, dict):
            if isinstance(value.get("$id"), str):
                base = urljoin(base, value["$id"]).split("#")[0]
            out = {k: share(v, base) for k, v in value.items()}
            if any(k in out for k in _IDENTIFYING):
                return out
            key = (base, tuple((k, key_of(v)) for k, v in out.items()))
        elif isinstance(value, list):
            out = [share(v, base) for v in value]
            key = ("array", *map(key_of, out))
        else:
            return value
        return table.setdefault(key, out)

    return share(schema, ROOT_URI)

