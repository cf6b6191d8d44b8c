"""Lint for JSON Schemas: keywords that would be ignored.

Two kinds of findings, each at its JSON pointer:

- ``ignored-schema-keyword``: a keyword constrain cannot compile, which
  ``Grammar.from_json_schema(..., lenient=True)`` drops (the strict compiler refuses it), as
  the compiler's own notes (``grammar.ignored``) list them.
- ``unknown-schema-keyword``: a keyword Draft 2020-12 does not define (often a typo such as
  ``"requried"``); every validator ignores it.
"""

from __future__ import annotations

import copy
import difflib
import re
import warnings
from typing import Any, Iterator

from ..errors import GrammarError
from ..grammar import Grammar

KNOWN = frozenset("""
    $schema $id $ref $anchor $dynamicRef $dynamicAnchor $vocabulary $comment $defs
    definitions $recursiveRef $recursiveAnchor dependencies additionalItems
    allOf anyOf oneOf not if then else dependentSchemas prefixItems items contains properties
    patternProperties additionalProperties propertyNames unevaluatedItems unevaluatedProperties
    type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength
    minLength pattern maxItems minItems uniqueItems maxContains minContains maxProperties
    minProperties required dependentRequired title description default deprecated readOnly
    writeOnly examples format contentEncoding contentMediaType contentSchema
""".split())
ONE_SCHEMA = ("additionalProperties", "items", "contains", "propertyNames", "not", "if", "then",
              "else", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
              "contentSchema")
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
IGNORED_NOTE = re.compile(r"ignored keyword '([^']+)' at (#[^\s:]*)")


def lint_schema(schema: Any) -> list:
    """Findings for a JSON Schema (a dict or a boolean)."""
    from .lint import Finding

    findings = []
    for pointer, keyword in _keywords(schema, "#"):
        if keyword not in KNOWN:
            close = difflib.get_close_matches(keyword, sorted(KNOWN), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            findings.append(Finding("unknown-schema-keyword", "warning",
                                    f"unknown keyword {keyword!r} at {pointer} is ignored by "
                                    f"every validator{hint}", keyword, pointer=pointer))
    findings += _probe_unsupported(schema)
    return findings


def _keywords(schema: Any, pointer: str) -> Iterator[tuple[str, str]]:
    """(pointer of the schema, keyword) for every keyword of every subschema."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        yield pointer, key
        here = f"{pointer}/{_escape(key)}"
        if key in ONE_SCHEMA and isinstance(value, (dict, bool)):
            yield from _keywords(value, here)
        elif key in SCHEMA_MAP and isinstance(value, dict):
            for name, sub in value.items():
                yield from _keywords(sub, f"{here}/{_escape(name)}")
        elif key in SCHEMA_LIST and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _keywords(sub, f"{here}/{i}")


def _probe_unsupported(schema: Any) -> list:
    """The keywords ``lenient=True`` ignores, from the compiler's own notes."""
    from .lint import Finding

    if not hasattr(Grammar, "from_json_schema"):
        return [Finding("schema-support-missing", "warning",
                        "cannot tell which keywords lenient=True would ignore: JSON Schema "
                        "support (Grammar.from_json_schema) is not in this build")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grammar = Grammar.from_json_schema(copy.deepcopy(schema), lenient=True)
    except GrammarError as e:
        return [Finding("load-error", "error", str(e), getattr(e, "keyword", None) or "",
                        pointer=getattr(e, "pointer", None))]
    except Exception as e:  # noqa: BLE001 - a compiler bug must not hide the other findings
        return [Finding("load-error", "error", f"the JSON Schema compiler failed: "
                        f"{type(e).__name__}: {e}")]
    findings = []
    for note in getattr(grammar, "ignored", ()):
        found = IGNORED_NOTE.match(note)
        keyword, pointer = (found.group(1), found.group(2)) if found else ("", None)
        findings.append(Finding("ignored-schema-keyword", "warning",
                                f"{note} (the strict compiler refuses it; lenient=True "
                                "ignores it)", keyword, pointer=pointer))
    return findings


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
