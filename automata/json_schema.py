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

from constrain.errors import SchemaError

from .cfg import Cfg
from .dfa import ByteDFA, dfa_from_strings
from .regex import CharSet, alternation, ast_to_dfa, concat, repeat

from .dfa import complement_within, intersect, union

from .json_leaves import FormatUnsupported, NumberUnsupported, json_number_dfa, json_string_dfa
from .regex import parse_regex

__all__ = ["cfg_from_json_schema"]

ROOT_URI = "urn:constrain:schema"
MAX_BRANCHES = 256          # disjuncts one node may flatten into
MAX_ANY_ORDER = 8           # named properties under property_order="any"
MAX_PATTERNS = 6            # distinct patternProperties per object (2^n key classes)
MAX_COUNTER_STATES = 20_000  # states of one array/object counter automaton
MAX_UNIQUE_VALUES = 12      # finite item values under uniqueItems
MAX_COMPLEMENT_DEPTH = 40
MAX_INDENT_DEPTH = 12       # nesting kept under indent= with lenient=True and recursion

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
    "x-exclude", "x-not-string", "x-not-number"))
# The formats Draft 2020-12 defines; other names are annotations that no validator asserts.
STANDARD_FORMATS = frozenset((
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex"))
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_STRING_KEYS = ("minLength", "maxLength", "pattern", "format")


class _Unsupported(Exception):
    def __init__(self, keyword: str, pointer: str, reason: str = ""):
        super().__init__(keyword, pointer, reason)
        self.keyword, self.pointer, self.reason = keyword, pointer, reason


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
    pointers: dict = field(default_factory=dict)  # keyword -> pointer (first seen)


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
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER if assert_format else None
        self._checker = checker
        self._root_validator = jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=checker)
        self._validators: dict[str, Any] = {}

    # -- bookkeeping --------------------------------------------------------

    def _walk(self, obj, pointer, base):
        if isinstance(obj, dict):
            if isinstance(obj.get("$id"), str):
                base = urljoin(base, obj["$id"]).split("#")[0]
            self._ptr.setdefault(id(obj), pointer)
            self._base.setdefault(id(obj), base)
            if isinstance(obj.get("$dynamicAnchor"), str):
                self._dyn_anchors.setdefault(obj["$dynamicAnchor"], []).append(obj)
            for k, v in obj.items():
                if k in ("enum", "const", "default", "examples"):
                    continue
                if isinstance(v, (dict, list)):
                    self._walk(v, f"{pointer}/{_escape_pointer(k)}", base)
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

    def unsupported(self, keyword: str, pointer: str, reason: str = "") -> None:
        """Raise SchemaError, or under lenient=True record that ``keyword`` is ignored."""
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
        if schema is True:
            return True
        if schema is False:
            return False
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

    # -- references ---------------------------------------------------------

    def resolve(self, ref: str, owner: dict, keyword: str):
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
                if "oneOf" in s:
                    try:
                        add_choice(self.one_of(s))
                    except _Unsupported as e:
                        self.unsupported("oneOf", ptr + "/oneOf", e.reason or
                                         f"{e.keyword!r} at {e.pointer} has no expressible complement")
                if "not" in s:
                    try:
                        add_choice([[c] for c in self.complement(s["not"], ptr + "/not")])
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
                for name, sub in (s.get("dependentSchemas") or {}).items():
                    lacks = self.synth({"properties": {name: False}}, ptr + "/dependentSchemas")
                    has = self.synth({"required": [name]}, ptr + "/dependentSchemas")
                    add_choice([[lacks], [has, sub]])
                for name, needed in (s.get("dependentRequired") or {}).items():
                    lacks = self.synth({"properties": {name: False}}, ptr + "/dependentRequired")
                    has = self.synth({"required": [name, *needed]}, ptr + "/dependentRequired")
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
                p = {k: v for k, v in s.items() if k in _PLAIN}
                if p:
                    if len(p) != len(s):
                        p = self.synth(p, ptr, self._base.get(id(s)))
                    else:
                        p = s
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
        """A synthesized schema {"not": s} (flattened lazily through _complement)."""
        return self.synth({"not": s}, ptr)

    def one_of(self, s) -> list[list]:
        """oneOf as a disjunction: branch i = B_i and not B_j (j != i); the negations are
        dropped where B_i and B_j are provably disjoint."""
        subs = s["oneOf"]
        ptr = self.pointer(s) + "/oneOf"
        alts = []
        for i, b in enumerate(subs):
            alt = [b]
            for j, c in enumerate(subs):
                if i != j and not self.disjoint(b, c):
                    alt.append(self.negation(c, f"{ptr}/{j}"))
                    # make sure the complement exists now (errors name oneOf)
                    self.complement(c, f"{ptr}/{j}")
            alts.append(alt)
        return alts

    # -- disjointness (cheap, sound) -----------------------------------------

    def summary(self, s, depth=0):
        """(type set, finite values or None, {required property: finite values}) of s,
        over-approximated (sound for disjointness)."""
        if s is True or depth > 20:
            return _ALL_TYPES, None, {}
        if s is False:
            return frozenset(), [], {}
        types, values, props = set(_ALL_TYPES), None, {}
        todo = [s]
        seen = set()
        while todo:
            d = todo.pop()
            if d is True or id(d) in seen:
                continue
            if d is False:
                return frozenset(), [], {}
            seen.add(id(d))
            if "type" in d:
                t = d["type"]
                ts = set()
                for x in ([t] if isinstance(t, str) else t):
                    ts |= _TYPE_SETS.get(x, set())
                types &= ts
            for kw in ("enum", "const"):
                if kw in d:
                    vals = [d["const"]] if kw == "const" else list(d["enum"])
                    values = vals if values is None else [v for v in values
                                                          if any(_json_equal(v, u) for u in vals)]
            if "$ref" in d:
                try:
                    todo.append(self.resolve(d["$ref"], d, "$ref"))
                except _Unsupported:
                    pass
            for sub in d.get("allOf", []):
                todo.append(sub)
            req = d.get("required", [])
            for name, sub in (d.get("properties") or {}).items():
                if name in req:
                    _, vals, _ = self.summary(sub, depth + 1)
                    if vals is not None:
                        props[name] = vals
        if values is not None:
            types &= {_json_type(v) for v in values}
        return frozenset(types), values, props

    def disjoint(self, a, b) -> bool:
        ta, va, pa = self.summary(a)
        tb, vb, pb = self.summary(b)
        if not (ta & tb):
            return True
        if va is not None and vb is not None and not any(_json_equal(x, y) for x in va for y in vb):
            return True
        if (ta | tb) <= {"object"} or ({"object"} == ta & tb and va is None and vb is None):
            for name in set(pa) & set(pb):
                if not any(_json_equal(x, y) for x in pa[name] for y in pb[name]):
                    # both require `name` with disjoint values: disjoint among objects
                    if ta & tb == {"object"}:
                        return True
        return False

    # -- complement (De Morgan, keyword by keyword) ---------------------------

    def complement(self, s, ptr: str, depth: int = 0) -> list:
        """Schemas whose union is the complement of s; raises _Unsupported."""
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
                rest = _ALL_TYPES - ts
                names = [t for t in ("null", "boolean", "object", "array", "string") if t in rest]
                if {"integer", "nonint"} <= rest:
                    names.append("number")
                elif "integer" in rest:
                    names.append("integer")
                elif "nonint" in rest:
                    names.append("x-nonint")
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
                    has = self.synth({"type": "object", "required": [name]}, kp)
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
            elif kw in ("additionalProperties", "patternProperties", "propertyNames",
                        "unevaluatedProperties", "unevaluatedItems", "x-not-string",
                        "x-not-number", "x-some-item"):
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
            return self.synth({"properties": names, "patternProperties": patterns,
                               "additionalProperties": s[kw]}, ptr, self._base.get(id(s)))
        return self.synth({"prefixItems": [True] * prefix_len, "items": s[kw]}, ptr,
                          self._base.get(id(s)))

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
        for branch in self.branches(conj):
            m = self.merge(branch, pointer)
            balts, why = self.branch_alternatives(m, conj, depth)
            alts.extend(balts)
            reason = reason or why
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
            dfa = self.string_dfa(m)
            term = self.dfa_terminal(dfa) if dfa is not None else None
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
        return self.dfa_terminal(dfa, ("num",) + tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
                                 + (integer, repr(m.not_number), repr(m.exclude), "integer" in m.types))

    def string_dfa(self, m: _Merged) -> Optional[ByteDFA]:
        """The string tokens of a merged branch (None if empty)."""
        max_length = m.max_length
        if max_length is not None and max_length < m.min_length:
            return None
        dfa = None
        parts = [dict(min_length=m.min_length, max_length=max_length)]
        for pattern, ptr in m.patterns:
            parts.append(dict(pattern=pattern, _ptr=ptr, _kw="pattern"))
        for fmt, ptr in m.formats:
            if fmt in STANDARD_FORMATS:  # unknown formats are annotations (2020-12, 7.2.3)
                parts.append(dict(format=fmt, _ptr=ptr, _kw="format"))
        for kwargs in parts:
            ptr = kwargs.pop("_ptr", m.pointer)
            kw = kwargs.pop("_kw", "minLength")
            try:
                part = self._cached(("str",) + tuple(sorted(kwargs.items())),
                                    lambda kwargs=kwargs: json_string_dfa(**kwargs))
            except FormatUnsupported as e:
                self.unsupported("format", ptr, f"format {kwargs.get('format')!r} is not "
                                 f"supported ({e})")
                continue
            except SchemaError:
                raise
            except Exception as e:  # a pattern the regex engine rejects
                if kw == "pattern":
                    self.unsupported("pattern", ptr, str(e))
                    continue
                raise
            dfa = part if dfa is None else intersect(dfa, part)
            if dfa.is_empty:
                return None
        if dfa is None:
            dfa = self.string_any()
        strings = [v for v in m.exclude if isinstance(v, str)]
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
        if len(contains) > 1:
            self.unsupported("contains", contains[1][3] + "/contains",
                             "several contains constraints on one array")
            contains = contains[:1]
        if m.unique and not (max_items is not None and max_items <= 1):
            if prefix_len or contains:
                self.unsupported("uniqueItems", m.unique, "uniqueItems with prefixItems or contains")
            else:
                return self.unique_array(m, conj_at(0), min_items, max_items, depth)
        if contains:
            c_schema, min_c, max_c, cptr = contains[0]
            if max_c is not None and max_c < min_c:
                return []
            cap_c = max_c + 0 if max_c is not None else min_c
        cap_i = max(prefix_len, min_items) if max_items is None else max_items
        if cap_i > MAX_COUNTER_STATES:
            self.unsupported("maxItems" if max_items is not None else "minItems", m.pointer,
                             f"more than {MAX_COUNTER_STATES} counted items")
            cap_i, max_items = max(prefix_len, 0), None
        item_cache: dict = {}

        def items_at(i):
            """[(nonterminal, counts)] for position i."""
            j = min(i, prefix_len)
            if j in item_cache:
                return item_cache[j]
            base = conj_at(j)
            if not contains:
                r = [(self.node(base, depth + 1), 0)]
            else:
                neg = self.negation(c_schema, cptr + "/contains")
                try:
                    self.complement(c_schema, cptr + "/contains")
                    r = [(self.node(base + (c_schema,), depth + 1), 1),
                         (self.node(base + (neg,), depth + 1), 0)]
                except _Unsupported as e:
                    self.unsupported("contains", cptr + "/contains",
                                     f"items that do not match need the complement ({e.reason})")
                    r = [(self.node(base, depth + 1), 0)]
            item_cache[j] = r
            return r

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

        start = state(0, 0, True)
        while todo:
            i, c, first = todo.pop()
            name = states[(i, c, first)]
            alts = []
            if max_items is None or i < max_items:
                sep = self.punct("[" if first else ",", depth)
                for sym, counts in items_at(i):
                    c2 = c + counts
                    if contains:
                        if max_c is not None and c2 > max_c:
                            continue
                        c2 = min(c2, cap_c)
                    i2 = i + 1 if max_items is not None else min(i + 1, cap_i)
                    alts.append((sep, sym, state(i2, c2, False)))
            ok_count = not contains or (c >= min_c)
            if i >= min_items and ok_count:
                alts.append((self.punct("[]" if first else "]", depth),))
            self.rules[name] = alts
        return [(start,)]

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
        # Named keys: properties, required, and keys that dependencies name.
        named: list[str] = []
        for props, _, _, _ in m.prop_specs:
            for k in props:
                if k not in named:
                    named.append(k)
        for k in m.required:
            if k not in named:
                named.append(k)
        patterns: dict[str, str] = {}
        for _, pats, _, ptr in m.prop_specs:
            for p in pats:
                patterns.setdefault(p, f"{ptr}/patternProperties/{_escape_pointer(p)}")
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

        # Named members: (key, value nonterminal) or None when the key cannot appear.
        members: dict[str, Optional[tuple]] = {}
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
            members[k] = (key_term, self.node(conj, depth + 1))
        if any(members[k] is None for k in m.required):
            return []
        # Other keys: one class per set of matching patterns.
        extra = []
        names_dfa = None
        if m.property_names:
            names_dfa = self.property_names_dfa(m)
        pattern_list = list(patterns)
        any_additional = any(a is not False for _, _, a, _ in m.prop_specs) or not m.prop_specs
        if names_dfa is None or not names_dfa.is_empty:
            # keys are written in the minimal escape style: one spelling per key, so a
            # named key cannot reappear as an "other" key
            base = self.string_minimal() if names_dfa is None else intersect(
                names_dfa, self.string_minimal())
            if named:
                base = complement_within(self.string_literals_dfa(named), base)
            for bits in itertools.product((False, True), repeat=len(pattern_list)):
                matched = frozenset(p for p, b in zip(pattern_list, bits) if b)
                conj = value_conj(None, matched)
                if any(s is False for s in conj):
                    continue
                if not matched and not any_additional:
                    continue
                dfa = base
                try:
                    for p, b in zip(pattern_list, bits):
                        pd = self.pattern_dfa(p, patterns[p])
                        dfa = intersect(dfa, pd) if b else complement_within(pd, dfa)
                        if dfa.is_empty:
                            break
                except _Unsupported as e:
                    self.unsupported(e.keyword, e.pointer, e.reason)
                    continue
                if dfa.is_empty:
                    continue
                extra.append((self.dfa_terminal(dfa), self.node(conj, depth + 1)))
        extra_rule = None
        if extra:
            extra_rule = self._name("X")
            colon = self.punct(":", depth)
            self.rules[extra_rule] = [(k, colon, v) for k, v in extra]
        present = [k for k in named if members[k] is not None]
        if self.order == "any":
            return self.object_any_order(m, present, members, extra_rule, depth)
        return self.object_schema_order(m, present, members, extra_rule, depth)

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

    def object_schema_order(self, m, present, members, extra_rule, depth):
        n = len(present)
        required = set(m.required)
        track = m.min_props > 0 or m.max_props is not None
        cap = (m.max_props if m.max_props is not None else m.min_props) if track else 0
        if m.max_props is not None and m.max_props < m.min_props:
            return []
        states: dict = {}
        todo = []

        def state(i, c, first):
            key = (i, c, first)
            if key not in states:
                states[key] = self._name("O")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("maxProperties", m.pointer, "object automaton too large")
            return states[key]

        def bump(c):
            return min(c + 1, cap) if track else 0

        start = state(0, 0, True)
        while todo:
            i, c, first = todo.pop()
            alts = []
            sep, colon = self._member_alts(first, depth)
            can_add = m.max_props is None or c < m.max_props
            if i < n:
                k = present[i]
                key_term, value = members[k]
                if can_add:
                    alts.append((sep, key_term, colon, value, state(i + 1, bump(c), False)))
                if k not in required:
                    alts.append((state(i + 1, c, first),))
            else:
                if extra_rule is not None and can_add:
                    alts.append((sep, extra_rule, state(n, bump(c), False)))
                if not track or c >= m.min_props:
                    alts.append((self.punct("{}" if first else "}", depth),))
            self.rules[states[(i, c, first)]] = alts
        return [(start,)]

    def object_any_order(self, m, present, members, extra_rule, depth):
        n = len(present)
        if n > MAX_ANY_ORDER:
            raise SchemaError("properties", m.pointers.get("properties", m.pointer),
                              f"property_order='any' supports at most {MAX_ANY_ORDER} named "
                              f"properties per object (this one has {n}); use "
                              "property_order='schema'")
        required_mask = sum(1 << i for i, k in enumerate(present) if k in m.required)
        track = m.min_props > 0 or m.max_props is not None
        cap = (m.max_props if m.max_props is not None else m.min_props) if track else 0
        if m.max_props is not None and m.max_props < m.min_props:
            return []
        states: dict = {}
        todo = []

        def state(used, c, first):
            key = (used, c, first)
            if key not in states:
                states[key] = self._name("Q")
                todo.append(key)
                if len(states) > MAX_COUNTER_STATES:
                    raise SchemaError("properties", m.pointer, "object automaton too large")
            return states[key]

        def bump(c):
            return min(c + 1, cap) if track else 0

        start = state(0, 0, True)
        while todo:
            used, c, first = todo.pop()
            alts = []
            sep, colon = self._member_alts(first, depth)
            if m.max_props is None or c < m.max_props:
                for i, k in enumerate(present):
                    if not used >> i & 1:
                        key_term, value = members[k]
                        alts.append((sep, key_term, colon, value, state(used | 1 << i, bump(c), False)))
                if extra_rule is not None:
                    alts.append((sep, extra_rule, state(used, bump(c), False)))
            if used & required_mask == required_mask and (not track or c >= m.min_props):
                alts.append((self.punct("{}" if first else "}", depth),))
            self.rules[states[(used, c, first)]] = alts
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
        productive: set = set()
        changed = True
        while changed:
            changed = False
            for lhs, alts in self.rules.items():
                if lhs in productive:
                    continue
                if any(all(s in self.terminals or s in productive for s in a) for a in alts):
                    productive.add(lhs)
                    changed = True
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
    compiler = _Compiler(upgrade_dependencies(schema), style, property_order, lenient,
                         assert_format)
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
