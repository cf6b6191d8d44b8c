"""Where a grammar comes from: a file (.lark, .gbnf, .json), a built-in name, or text.

The authoring tools (CLI, pytest plugin, lint) all take a GRAMMAR argument; this module turns
it into a ``GrammarSource`` (the kind and the text, kept for locations in messages) and from
there into a ``constrain.Grammar``. Front ends that have not landed in this build (for example
JSON Schema) give a clear ``GrammarError`` instead of an AttributeError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import GrammarError
from ..grammar import Grammar
from ..grammars import DIRECTORY as BUILTIN_DIR

KIND_BY_SUFFIX = {".lark": "lark", ".gbnf": "gbnf", ".json": "json-schema"}
KINDS = ("lark", "gbnf", "json-schema", "regex")


@dataclass(frozen=True)
class GrammarSource:
    """A grammar's text and what it is.

    Attributes:
        kind: ``"lark"``, ``"gbnf"``, ``"json-schema"`` or ``"regex"``.
        text: the grammar text (the schema as JSON text for ``json-schema``).
        name: how to name it in messages (a path, ``builtin:json``, or ``<text>``).
        path: the file it was read from, if any.
        start: the start rule (None: the front end's default).
        lenient: for JSON Schema, ignore (and warn about) keywords that cannot be compiled.
    """

    kind: str
    text: str
    name: str
    path: Optional[Path] = None
    start: Optional[str] = None
    lenient: bool = False

    def schema(self) -> Any:
        """The JSON Schema (for ``json-schema`` sources), parsed."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as e:
            raise GrammarError(f"{self.name}: not valid JSON: {e}") from None

    def grammar(self) -> Grammar:
        """Compile the source into a ``Grammar`` (raises GrammarError)."""
        return build_grammar(self)


def resolve(spec: Union[str, Path], *, kind: Optional[str] = None, start: Optional[str] = None,
            base: Optional[Path] = None, lenient: bool = False) -> GrammarSource:
    """The source a GRAMMAR argument names.

    ``spec`` is a path to a .lark, .gbnf or .json (JSON Schema) file, or a built-in grammar
    name (``Grammar.builtin_names()``). Relative paths are taken from ``base`` when given.
    ``kind`` overrides the kind guessed from the suffix (for files with other suffixes).
    """
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_file():
        guessed = kind or KIND_BY_SUFFIX.get(path.suffix.lower())
        if guessed is None:
            raise GrammarError(f"{path}: cannot tell the grammar type from the suffix "
                               f"{path.suffix!r}; use .lark, .gbnf or .json")
        return GrammarSource(_check_kind(guessed), path.read_text(encoding="utf-8"), str(path),
                             path=path, start=start, lenient=lenient)
    name = str(spec)
    if name in Grammar.builtin_names():
        builtin = BUILTIN_DIR / f"{name}.lark"
        return GrammarSource("lark", builtin.read_text(encoding="utf-8"), f"builtin:{name}",
                             path=builtin, start=start)
    raise GrammarError(f"no grammar file {str(path)!r} and no built-in grammar named {name!r} "
                       f"(built-ins: {', '.join(Grammar.builtin_names())})")


def from_text(text: str, kind: str, *, start: Optional[str] = None, name: str = "<text>",
              lenient: bool = False) -> GrammarSource:
    """A source given inline (for example in a .grammar-tests.toml file)."""
    return GrammarSource(_check_kind(kind), text, name, start=start, lenient=lenient)


def build_grammar(source: GrammarSource) -> Grammar:
    """The ``Grammar`` of a source; errors name the source."""
    try:
        return _build(source)
    except GrammarError as e:
        message = str(e)
        if source.name not in message:
            message = f"{source.name}: {message}"
        raise GrammarError(message) from None


def _build(source: GrammarSource) -> Grammar:
    if source.kind == "lark":
        return Grammar.from_lark(source.text, start=source.start or "start")
    if source.kind == "regex":
        return Grammar.from_regex(source.text)
    if source.kind == "gbnf":
        start = source.start or "root"
        if hasattr(Grammar, "from_gbnf"):
            return Grammar.from_gbnf(source.text, start=start)
        from ..automata.gbnf import cfg_from_gbnf

        return Grammar.from_cfg(cfg_from_gbnf(source.text, start=start), kind="gbnf")
    if source.kind == "json-schema":
        if not hasattr(Grammar, "from_json_schema"):
            raise GrammarError("JSON Schema grammars are not available in this build of "
                               "constrain (Grammar.from_json_schema is missing)")
        if source.lenient:
            return Grammar.from_json_schema(source.schema(), lenient=True)
        return Grammar.from_json_schema(source.schema())
    raise GrammarError(f"unknown grammar kind {source.kind!r}")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise GrammarError(f"unknown grammar kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind
