"""pytest plugin: every ``*.grammar-tests.toml`` file becomes a set of test items.

A file names one grammar and lists examples::

    grammar = "json"                  # built-in name, or a .lark/.gbnf/.json path relative
                                      # to this file; or inline: lark = '''...''' / gbnf = ...
    start = "start"                   # optional start rule
    lenient = true                    # optional, JSON Schema: ignore uncompilable keywords
    accept = ['{"a": 1}', "[]"]
    reject = ["{", "[1,]"]
    accept_files = ["examples/good/*.json"]   # globs relative to this file
    reject_files = ["examples/bad/*.json"]

Each example is one item (``accept[0]``, ``reject[1]``, ``accept[good/a.json]``), failing with
the message of ``assert_accepts`` / ``assert_rejects``: the byte offset and line:column where
the text stops being a viable prefix, the text around it, and what the grammar expected.

Registered through the ``pytest11`` entry point ``constrain``; without the installed entry
point, load it with ``-p constrain.testing.pytest_plugin``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from ..errors import GrammarError
from .assertions import GrammarAssertionError, assert_accepts, assert_rejects
from .sources import from_text, resolve

SUFFIX = ".grammar-tests.toml"
INLINE_KINDS = {"lark": "lark", "gbnf": "gbnf", "regex": "regex", "json_schema": "json-schema"}
KNOWN_KEYS = {"grammar", "start", "lenient", "accept", "reject", "accept_files", "reject_files",
              *INLINE_KINDS}


def pytest_collect_file(file_path: Path, parent):
    """Collect ``*.grammar-tests.toml`` files."""
    if file_path.name.endswith(SUFFIX):
        return GrammarTestFile.from_parent(parent, path=file_path)
    return None


class GrammarTestFile(pytest.File):
    """A ``.grammar-tests.toml`` file: one grammar, its accept and reject examples."""

    def collect(self):
        try:
            spec = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise GrammarTestFileError(f"{self.path}: not valid TOML: {e}") from None
        unknown = sorted(set(spec) - KNOWN_KEYS)
        if unknown:
            raise GrammarTestFileError(f"{self.path}: unknown key(s) {', '.join(unknown)}; "
                                       f"expected some of {', '.join(sorted(KNOWN_KEYS))}")
        holder = _GrammarHolder(self.path, spec)
        for should_accept in (True, False):
            key = "accept" if should_accept else "reject"
            for i, text in enumerate(_strings(self.path, spec, key)):
                yield GrammarExampleItem.from_parent(self, name=f"{key}[{i}]", holder=holder,
                                                     text=text, should_accept=should_accept)
            for path in _files(self.path, spec, f"{key}_files"):
                name = f"{key}[{path.relative_to(self.path.parent).as_posix()}]"
                yield GrammarExampleItem.from_parent(self, name=name, holder=holder,
                                                     text=path.read_bytes(),
                                                     should_accept=should_accept)


    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GrammarTestFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class GrammarTestFileError(Exception):
    """A malformed ``.grammar-tests.toml`` file (shown as a collection error)."""


class GrammarExampleItem(pytest.Item):
    """One example: the grammar must accept (or reject) ``text``."""

    def __init__(self, *, holder: "_GrammarHolder", text, should_accept: bool, **kwargs):
        super().__init__(**kwargs)
        self.holder = holder
        self.text = text
        self.should_accept = should_accept

    def runtest(self):
        grammar = self.holder.get()
        if self.should_accept:
            assert_accepts(grammar, self.text)
        else:
            assert_rejects(grammar, self.text)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (GrammarAssertionError, GrammarError)):
            return f"{self.holder.name}: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class _GrammarHolder:
    """Builds the grammar of a file once, on first use; a load error fails every item."""

    def __init__(self, path: Path, spec: dict):
        self.path = path
        self.spec = spec
        self.name = str(spec.get("grammar") or path.name)
        self._grammar = None
        self._error: Optional[GrammarError] = None

    def get(self):
        if self._error is not None:
            raise self._error
        if self._grammar is None:
            try:
                self._grammar = self._source().grammar()
            except GrammarError as e:
                self._error = e
                raise
        return self._grammar

    def _source(self):
        start = self.spec.get("start")
        lenient = bool(self.spec.get("lenient", False))
        inline = [k for k in INLINE_KINDS if k in self.spec]
        if len(inline) + ("grammar" in self.spec) != 1:
            raise GrammarError(f"{self.path}: give exactly one of 'grammar' (a file or built-in "
                               f"name) or an inline {', '.join(map(repr, INLINE_KINDS))}")
        if inline:
            return from_text(self.spec[inline[0]], INLINE_KINDS[inline[0]], start=start,
                             name=f"{self.path.name} ({inline[0]})", lenient=lenient)
        return resolve(self.spec["grammar"], start=start, base=self.path.parent, lenient=lenient)


def _strings(path: Path, spec: dict, key: str) -> list[str]:
    values = spec.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise GrammarTestFileError(f"{path}: {key!r} must be a list of strings")
    return values


def _files(path: Path, spec: dict, key: str) -> list[Path]:
    patterns = _strings(path, spec, key)
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(p for p in path.parent.glob(pattern) if p.is_file())
        if not matches:
            raise GrammarTestFileError(f"{path}: {key} pattern {pattern!r} matches no file")
        found += matches
    return found
