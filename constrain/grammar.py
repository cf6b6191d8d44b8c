"""Grammar: the language generation is constrained to, before it meets a vocabulary."""

from __future__ import annotations

import functools
import hashlib
from typing import Iterable, Optional, Union

from .automata.cfg import Cfg, CfgTables, fingerprint, normalize
from .automata.dfa import ByteDFA, dfa_from_strings
from .automata.gbnf import cfg_from_gbnf
from .automata.lark_grammar import cfg_from_lark
from .automata.regex import regex_to_dfa
from .errors import GrammarError
from .grammars import DIRECTORY as BUILTIN_DIR



class Grammar:
    """A language over bytes, built by one of the ``from_*`` constructors.

    Regular languages (regexes, choices) are held as a minimal byte DFA; context-free ones
    (Lark, built-ins) as normalised rule tables over regular terminals. A grammar is
    independent of any tokenizer; ``constrain.compile(grammar, vocab)`` binds it to one.
    """

    def __init__(self, kind: str, source: bytes, *, dfa: Optional[ByteDFA] = None,
                 tables: Optional[CfgTables] = None, cfg: Optional[Cfg] = None):
        if (dfa is None) == (tables is None):
            raise ValueError("a Grammar holds either a DFA or CFG tables")
        if dfa is not None and dfa.is_empty:
            raise GrammarError(f"the {kind} grammar matches no string at all (empty language)")
        self.kind = kind
        self._dfa = dfa
        self._tables = tables
        self._cfg = cfg
        self._fingerprint = hashlib.sha256(kind.encode() + b"\0" + source).hexdigest()

    @classmethod
    def from_regex(cls, pattern: str, *, ignore_case: bool = False) -> "Grammar":
        """The strings that match ``pattern`` as a whole (Python ``re`` syntax, ECMA-262 classes).

        Raises RegexError (naming the construct and its position) for constructs that are not
        regular, such as backreferences and lookarounds.
        """
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a str, not {type(pattern).__name__}")
        dfa = regex_to_dfa(pattern, ignore_case=ignore_case)
        source = f"{int(ignore_case)}:{pattern}".encode("utf-8", "surrogatepass")
        return cls("regex", source, dfa=dfa)

    @classmethod
    def from_choices(cls, choices: Iterable[Union[str, bytes]]) -> "Grammar":
        """Exactly one of the given strings (str as UTF-8, or bytes)."""
        encoded = []
        for i, choice in enumerate(choices):
            if isinstance(choice, str):
                encoded.append(choice.encode("utf-8"))
            elif isinstance(choice, (bytes, bytearray)):
                encoded.append(bytes(choice))
            else:
                raise TypeError(f"choice {i} is a {type(choice).__name__}, not str or bytes")
        if not encoded:
            raise GrammarError("from_choices needs at least one choice")
        unique = sorted(set(encoded))
        source = b"".join(len(c).to_bytes(4, "little") + c for c in unique)
        return cls("choices", source, dfa=dfa_from_strings(unique))

    @classmethod
    def from_lark(cls, text: str, *, start: str = "start") -> "Grammar":
        """A Lark grammar, read scannerless: every lexing of the output counts.

        Supports rules and terminals, string and regex literals (flag ``i``), ``?rule`` and
        ``_rule``, templates, ``%ignore`` and ``%import common.NAME``; aliases and priorities
        do not change the language. Errors name the rule, line and column.
        """
        if not isinstance(text, str):
            raise TypeError(f"a Lark grammar must be a str, not {type(text).__name__}")
        return cls.from_cfg(cfg_from_lark(text, start=start), kind="lark")

    @classmethod
    def from_gbnf(cls, text: str, *, start: str = "root") -> "Grammar":
        """A llama.cpp GBNF grammar. Errors name the rule, line and column."""
        if not isinstance(text, str):
            raise TypeError(f"a GBNF grammar must be a str, not {type(text).__name__}")
        return cls.from_cfg(cfg_from_gbnf(text, start=start), kind="gbnf")

    @classmethod
    def from_cfg(cls, cfg: Cfg, *, kind: str = "cfg") -> "Grammar":
        """A grammar from the IR (``constrain.automata.cfg.Cfg``), as front ends build it."""
        tables = normalize(cfg)
        return cls(kind, fingerprint(tables).encode(), tables=tables, cfg=cfg)

    @classmethod
    def from_json_schema(cls, schema, *, whitespace: str = "compact", max_whitespace: int = 16,
                         separators=None, indent=None, property_order: str = "schema",
                         lenient: bool = False, assert_format: bool = True) -> "Grammar":
        """The JSON texts that validate against a JSON Schema (Draft 2020-12), in one style.

        ``schema`` is a dict (or boolean), a JSON text, or the path of a ``.json`` file.
        Options (see docs/JSON_SCHEMA.md): ``whitespace`` ``"compact"`` or ``"flexible"``
        (at most ``max_whitespace`` characters per gap), ``separators`` as for
        ``json.dumps``, ``indent`` (``json.dumps(indent=N)`` layout), ``property_order``
        ``"schema"`` or ``"any"``, ``assert_format`` (enforce ``format``).

        What cannot be compiled exactly raises ``SchemaError`` naming the keyword and its
        JSON pointer; with ``lenient=True`` such keywords are ignored instead, listed in
        ``grammar.ignored`` and reported with ``warnings.warn``.
        """
        import warnings

        from .automata.json_schema import cfg_from_json_schema

        schema = _load_schema(schema)
        cfg, notes = cfg_from_json_schema(
            schema, whitespace=whitespace, max_whitespace=max_whitespace, separators=separators,
            indent=indent, property_order=property_order, lenient=lenient,
            assert_format=assert_format)
        grammar = cls.from_cfg(cfg, kind="json_schema")
        grammar.ignored = list(notes)
        if notes:
            warnings.warn("JSON Schema keywords ignored (lenient=True): " + "; ".join(notes),
                          stacklevel=2)
        return grammar

    @classmethod
    def from_pydantic(cls, model, **options) -> "Grammar":
        """The JSON texts that validate as ``model`` (a pydantic v2 ``BaseModel`` class),
        through its ``model_json_schema()``; options as for ``from_json_schema``."""
        if not hasattr(model, "model_json_schema"):
            raise TypeError(f"{model!r} is not a pydantic v2 model (no model_json_schema())")
        return cls.from_json_schema(model.model_json_schema(), **options)

    @classmethod
    def builtin(cls, name: str) -> "Grammar":
        """A grammar shipped with constrain: ``json``, ... (see ``Grammar.builtin_names()``)."""
        path = BUILTIN_DIR / f"{name}.lark"
        if name not in cls.builtin_names():
            raise GrammarError(f"no built-in grammar {name!r}; there are: "
                               f"{', '.join(cls.builtin_names())}")
        return cls.from_lark(path.read_text(encoding="utf-8"))

    @staticmethod
    def builtin_names() -> list[str]:
        """Names of the built-in grammars."""
        return sorted(p.stem for p in BUILTIN_DIR.glob("*.lark") if p.stem != "common")

    @property
    def is_regular(self) -> bool:
        """True if the grammar is held as a single DFA (regexes, choices)."""
        return self._dfa is not None

    @property
    def dfa(self) -> ByteDFA:
        """The minimal byte DFA of a regular grammar."""
        if self._dfa is None:
            raise GrammarError(f"a {self.kind} grammar has no single DFA")
        return self._dfa

    @property
    def tables(self) -> CfgTables:
        """The normalised rule tables of a context-free grammar."""
        if self._tables is None:
            raise GrammarError(f"a {self.kind} grammar has no rule tables")
        return self._tables

    def to_cfg(self) -> Cfg:
        """The grammar in the IR, for composing it into larger grammars (a regular grammar
        becomes one rule over one DFA terminal)."""
        if self._cfg is not None:
            return self._cfg
        return Cfg(terminals={"TEXT": self._dfa}, rules={"start": (("TEXT",),)}, start="start")

    @property
    def fingerprint(self) -> str:
        """A hash of the grammar's source; equal sources give equal fingerprints."""
        return self._fingerprint

    def matches(self, text: Union[str, bytes]) -> bool:
        """True if ``text`` (str as UTF-8, or bytes) is a string of the language."""
        m = self._byte_matcher()
        return m.accept_bytes(_as_bytes(text)) and m.is_accepting()

    def is_prefix(self, text: Union[str, bytes]) -> bool:
        """True if ``text`` can still be completed to a string of the language."""
        return self._byte_matcher().accept_bytes(_as_bytes(text))

    def _byte_matcher(self):
        from .compiler import compile

        return compile(self, _byte_vocabulary(), cache_on_disk=False).matcher()

    def __repr__(self) -> str:
        if self._dfa is not None:
            return f"Grammar({self.kind}, {self._dfa.n_states} states)"
        return (f"Grammar({self.kind}, {len(self._tables.rule_lhs)} rules, "
                f"{len(self._tables.terminal_names)} terminals)")


def _load_schema(schema):
    """A schema given as a dict/bool, a JSON text, or a path to a .json file."""
    import json
    import os

    if isinstance(schema, (dict, bool)):
        return schema
    if isinstance(schema, bytes):
        schema = schema.decode("utf-8")
    if isinstance(schema, os.PathLike):
        schema = os.fspath(schema)
        with open(schema, encoding="utf-8") as f:
            return json.load(f)
    if isinstance(schema, str):
        text = schema.strip()
        if text.startswith("{") or text in ("true", "false"):
            try:
                return json.loads(text)
            except json.JSONDecodeError as e:
                raise GrammarError(f"the JSON Schema is not valid JSON: {e}") from None
        if os.path.exists(schema):
            with open(schema, encoding="utf-8") as f:
                try:
                    return json.load(f)
                except json.JSONDecodeError as e:
                    raise GrammarError(f"{schema}: not valid JSON: {e}") from None
        raise GrammarError(f"a JSON Schema must be a dict, JSON text or an existing .json file "
                           f"path; got the string {schema[:60]!r}")
    raise TypeError(f"a JSON Schema must be a dict, str or path, not {type(schema).__name__}")


def _as_bytes(text: Union[str, bytes]) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


@functools.lru_cache(maxsize=1)
def _byte_vocabulary():
    """One token per byte value, and an end-of-sequence token: matching text byte by byte."""
    from .vocabulary import Vocabulary

    return Vocabulary.from_token_bytes([bytes([b]) for b in range(256)] + [b""],
                                       eos_token_ids=[256])
