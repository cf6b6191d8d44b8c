"""constrain and its peers on JSON Schema: the engines, the worker-side session, key order.

Every engine compiles a schema to the compact style (no whitespace, separators ``,`` and ``:``):

- constrain: ``Grammar.from_json_schema(schema)`` (named properties in schema order) and
  ``compile(threads=1, cache_on_disk=False)`` with the in-memory cache cleared;
- XGrammar: ``GrammarCompiler(max_threads=1).compile_json_schema(json.dumps(schema),
  any_whitespace=False, separators=(",", ":"), strict_mode=False)`` with the compiler cache
  cleared. ``strict_mode`` is off because on it forbids properties and items the schema does
  not name, which valid instances may have (JSON Schema allows them unless
  ``additionalProperties`` says otherwise);
- llguidance: ``LLMatcher(tokenizer, LLMatcher.grammar_from_json_schema(schema,
  defaults={"whitespace_flexible": False}))``; an error state is a compile failure. llguidance
  builds its lexer lazily, so part of its compile cost shows up in the first masks;
- outlines-core: ``Index(json_schema.build_regex_from_schema(json.dumps(schema), ""),
  Vocabulary)`` (whitespace pattern empty: the compact style).

A peer that writes object keys in schema order rejects a valid instance whose keys come in
another order; ``schema_order`` puts the keys of an instance in the order every engine here
writes them, so that all engines are given the same text.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from typing import Any, Optional

import jsonschema
import referencing.exceptions

from benchmarks.common import tokenizer_path
from benchmarks.regex_bench import (ConstrainEngine, Engine, LLGuidanceEngine, OutlinesEngine,
                                    XGrammarEngine)

MAX_REF_DEPTH = 50  # $ref chains followed when ordering keys (recursive schemas)


# --------------------------------------------------------------------------------------
# Key order
# --------------------------------------------------------------------------------------


def schema_order(value: Any, schema: Any) -> Any:
    """``value`` with every object's keys in the order of a schema-order grammar.

    At each object: the keys named by ``properties`` of the subschemas that apply to it (its own
    first, then depth first through ``$ref``, ``allOf``, the ``anyOf``/``oneOf`` branches it
    validates against, ``then``/``else`` as ``if`` decides, ``dependentSchemas`` of present
    keys), then keys only named by ``required``, then every other key in its original order.
    This is the order of constrain's ``property_order="schema"``, XGrammar and llguidance.
    Only local ``$ref`` (``#...`` JSON pointers) are followed.
    """
    check = jsonschema.Draft202012Validator(schema if isinstance(schema, dict) else {})
    return _order(value, [schema], schema, check)


def _order(value: Any, schemas: list, root: Any, check) -> Any:
    """``value`` reordered under the subschemas ``schemas`` that apply to it."""
    if isinstance(value, dict):
        applying = _applying(schemas, value, root, check)
        named: list[str] = []
        for key in (k for s in applying for k in s.get("properties") or {}):
            if key not in named:
                named.append(key)
        for key in (k for s in applying for k in s.get("required") or []):
            if isinstance(key, str) and key not in named:
                named.append(key)
        keys = [k for k in named if k in value] + [k for k in value if k not in named]
        return {k: _order(value[k], _member_schemas(applying, k), root, check) for k in keys}
    if isinstance(value, list):
        applying = _applying(schemas, value, root, check)
        return [_order(v, _item_schemas(applying, i), root, check) for i, v in enumerate(value)]
    return value


def _applying(schemas: list, value: Any, root: Any, check) -> list[dict]:
    """The object subschemas that apply to ``value``, depth first, each once."""
    out: list[dict] = []
    seen: set[int] = set()

    def visit(s: Any, depth: int) -> None:
        if not isinstance(s, dict) or id(s) in seen or depth > MAX_REF_DEPTH:
            return
        seen.add(id(s))
        out.append(s)
        ref = s.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            visit(_resolve(root, ref), depth + 1)
        for sub in s.get("allOf") or []:
            visit(sub, depth + 1)
        for keyword in ("anyOf", "oneOf"):
            for sub in s.get(keyword) or []:
                if _valid(check, sub, value):
                    visit(sub, depth + 1)
                    break
        if "if" in s:
            visit(s.get("then") if _valid(check, s["if"], value) else s.get("else"), depth + 1)
        if isinstance(value, dict):
            for key, sub in (s.get("dependentSchemas") or {}).items():
                if key in value:
                    visit(sub, depth + 1)

    for schema in schemas:
        visit(schema, 0)
    return out


def _member_schemas(applying: list[dict], key: str) -> list:
    """The subschemas that apply to the value of ``key``: properties, patterns, additional."""
    out = []
    for s in applying:
        hit = False
        if key in (s.get("properties") or {}):
            out.append(s["properties"][key])
            hit = True
        for pattern, sub in (s.get("patternProperties") or {}).items():
            if _search(pattern, key):
                out.append(sub)
                hit = True
        if not hit and isinstance(s.get("additionalProperties"), dict):
            out.append(s["additionalProperties"])
    return out


def _item_schemas(applying: list[dict], index: int) -> list:
    """The subschemas that apply to item ``index``: prefixItems / items (old array form too)."""
    out = []
    for s in applying:
        prefix = s.get("prefixItems")
        items = s.get("items")
        if prefix is None and isinstance(items, list):
            prefix, items = items, s.get("additionalItems")
        if isinstance(prefix, list) and index < len(prefix):
            out.append(prefix[index])
        elif isinstance(items, dict):
            out.append(items)
    return out


def _resolve(root: Any, ref: str) -> Any:
    """The subschema a local reference (``#/a/b``) points at, or None."""
    node = root
    for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _valid(check, schema: Any, value: Any) -> bool:
    """Whether ``value`` validates against the subschema ``schema`` (refs from the root)."""
    try:
        return check.evolve(schema=schema).is_valid(value)
    except (referencing.exceptions.Unresolvable, re.error):
        return False  # a branch that cannot be checked is not used for the order


def _search(pattern: str, key: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``key`` (Python ``re``; False if invalid)."""
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return False


# --------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------


class SchemaEngine:
    """What the JSON-schema engines add to the regex benchmark's engines (defaults)."""

    def reason(self, error: Exception) -> str:
        """Why a compile failed: the first line of the error message."""
        return short_message(str(error))

    def warnings(self, compiled: Any) -> list[str]:
        """Warnings of a compiled grammar from the engine's API (stderr is read separately)."""
        return []

    def memory(self, compiled: Any) -> Optional[int]:
        """Bytes held by a compiled grammar; None where the engine does not expose it."""
        return None

    def accepting(self, matcher: Any) -> bool:
        """Whether the text accepted so far is a complete instance."""
        raise NotImplementedError

    def accepts_text(self, compiled: Any, text: str) -> bool:
        """Whether ``text`` is a complete instance (checks of whole texts)."""
        raise NotImplementedError(f"{type(self).__name__} does not check whole texts")


class SchemaConstrain(SchemaEngine, ConstrainEngine):
    """constrain on JSON Schema (schema key order, compact style)."""

    def prepare(self, tok: Any, path: str) -> None:
        """The vocabulary from the disk cache (preparation is not measured here)."""
        self.vocab = self.cn.Vocabulary.from_pretrained(path)

    def compile(self, schema: Any) -> Any:
        """Compile cold: in-memory cache cleared, disk cache off."""
        self.compiler_module._memory_cache.clear()
        grammar = self.cn.Grammar.from_json_schema(schema)
        return self.cn.compile(grammar, self.vocab, threads=1, cache_on_disk=False)

    def reason(self, error: Exception) -> str:
        """The keyword that could not be compiled, else the exception type."""
        keyword = getattr(error, "keyword", None)
        return f"keyword {keyword}" if keyword else type(error).__name__

    def accepting(self, matcher: Any) -> bool:
        """Whether the text so far is a complete instance."""
        return bool(matcher.is_accepting())

    def memory(self, compiled: Any) -> Optional[int]:
        """``CompiledGrammar.memory_bytes`` (the lazily built token sets included)."""
        return int(compiled.memory_bytes)


class SchemaXGrammar(SchemaEngine, XGrammarEngine):
    """XGrammar on JSON Schema (see the module docstring for the options)."""

    name = "xgrammar"

    def prepare(self, tok: Any, path: str) -> None:
        """TokenizerInfo of ``tok``; ``tok=None``: a 256-token byte vocabulary plus EOS, for
        checks of whole texts (acceptance does not depend on the vocabulary, and compiling
        against 256 tokens is fast)."""
        if tok is not None:
            return super().prepare(tok, path)
        self.vocab_size = 257
        self.info = self.xgr.TokenizerInfo([bytes([b]) for b in range(256)] + ["</s>"],
                                           stop_token_ids=[256])
        self.compiler = self.xgr.GrammarCompiler(self.info, max_threads=1)

    def compile(self, schema: Any) -> Any:
        """Compile cold (compiler cache cleared)."""
        self.compiler.clear_cache()
        # as text: the dict form refuses the boolean schemas true / false
        return self.compiler.compile_json_schema(json.dumps(schema), any_whitespace=False,
                                                 separators=(",", ":"), strict_mode=False)

    def accepting(self, matcher: Any) -> bool:
        """Whether the grammar's root rule is fully matched."""
        return bool(matcher.is_completed())

    def memory(self, compiled: Any) -> Optional[int]:
        """``CompiledGrammar.memory_size_bytes``."""
        return int(compiled.memory_size_bytes)

    def accepts_text(self, compiled: Any, text: str) -> bool:
        """Whether ``text`` is a complete instance (``accept_string``)."""
        m = self.xgr.GrammarMatcher(compiled)
        return bool(m.accept_string(text) and m.is_completed())


class SchemaLLGuidance(SchemaEngine, LLGuidanceEngine):
    """llguidance on JSON Schema (see the module docstring for the options)."""

    def compile(self, schema: Any) -> Any:
        """Build the matcher; an error state (unsupported keyword, ...) raises."""
        grammar = self.ll.LLMatcher.grammar_from_json_schema(
            schema, defaults={"whitespace_flexible": False})
        matcher = self.ll.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise RuntimeError(matcher.get_error())
        return matcher

    def accepting(self, matcher: Any) -> bool:
        """Whether the text so far is a complete instance."""
        return bool(matcher.is_accepting()) and not matcher.is_error()

    def warnings(self, compiled: Any) -> list[str]:
        """The grammar's warnings (keywords llguidance approximated or ignored)."""
        return list(compiled.get_grammar_warnings())

    def accepts_text(self, compiled: Any, text: str) -> bool:
        """Whether ``text`` (llguidance's own tokenization of it) is a complete instance."""
        m = compiled.deep_copy()
        ids = self.tokenizer.tokenize_bytes(text.encode("utf-8"))
        return bool(m.consume_tokens(ids)) and self.accepting(m)


class SchemaOutlines(SchemaEngine, OutlinesEngine):
    """outlines-core on JSON Schema: schema -> regex -> ``Index``."""

    def compile(self, schema: Any) -> Any:
        """Build the regex (whitespace pattern empty) and its Index (no cache exists)."""
        from outlines_core.json_schema import build_regex_from_schema
        return self.oc.Index(build_regex_from_schema(json.dumps(schema), ""), self.vocab)

    def accepting(self, matcher: Any) -> bool:
        """Whether the guide is in a final state."""
        return bool(matcher.is_finished())


ENGINES = {"constrain": SchemaConstrain, "xgrammar": SchemaXGrammar,
           "llguidance": SchemaLLGuidance, "outlines-core": SchemaOutlines}


# "[03:19:10] /project/cpp/json_schema_converter.cc:3510: Warning: " (XGrammar's log lines)
_LOG_PREFIX = re.compile(r"^\[[\d:]+\]\s+\S+?:\d+:\s*(?:Warning:\s*)?")


def short_message(text: str, width: int = 70) -> str:
    """The first non-empty line of an error or log message without a log line's time stamp and
    source location, cut to ``width`` characters."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    line = _LOG_PREFIX.sub("", line) or "(no message)"
    return line if len(line) <= width else line[:width - 3] + "..."


# --------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def captured_stderr(lines: list[str]):
    """Send file descriptor 2 (native code's logging too) to a file; append its lines to
    ``lines`` on exit."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            lines += [x for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]


def timed_walk(engine: Engine, compiled: Any, tokens: list[int]) -> tuple[list[float], bool]:
    """Walk one token sequence: a mask fill before every token and one after the last (timed),
    then the token is accepted. Returns (mask times in us, whether the sequence was accepted
    as a complete instance); the walk stops at the first refused token."""
    matcher = engine.matcher(compiled)
    bitmask = engine.bitmask()
    fill = engine.filler(matcher, bitmask)
    times: list[float] = []
    for i in range(len(tokens) + 1):
        start = time.perf_counter_ns()
        fill()
        times.append((time.perf_counter_ns() - start) / 1e3)
        if i < len(tokens) and not engine.accept(matcher, tokens[i]):
            return times, False
    return times, engine.accepting(matcher)


#: Compiled once by every engine before the timed compiles.
WARM_UP_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"},
                                                   "count": {"type": "integer"}}}


class SchemaSession:
    """One engine in a worker process: its tokenizer prepared once, then one schema at a time.

    ``tokenizer`` names a tokenizer folder (see ``benchmarks.common.tokenizer_path``), or is
    None for engines that can check whole texts against a byte vocabulary (XGrammar).
    """

    def __init__(self, engine: str, tokenizer: Optional[str]):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        self.engine = ENGINES[engine]()
        self.tokenizer = None
        path = tokenizer_path(tokenizer) if tokenizer else ""
        if tokenizer:
            from transformers import AutoTokenizer
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.engine.prepare(self.tokenizer, path)
        # One untimed compile first: lazy imports and first-use set-up are paid once per
        # process, like the tokenizer's preparation, not by whichever schema comes first.
        try:
            self.engine.compile(WARM_UP_SCHEMA)
        except Exception:  # noqa: BLE001 - an engine's refusal shows again on real schemas
            pass
        self.compiled = None

    def compile(self, schema: Any) -> dict:
        """Compile ``schema`` cold and keep it.

        Returns ``{"ms": float, "warnings": [...]}`` (what the engine's API reports and what it
        printed on stderr meanwhile, e.g. XGrammar's "falling back to anyOf semantics"), or
        ``{"error": reason}``.
        """
        self.compiled = None
        printed: list[str] = []
        try:
            with captured_stderr(printed):
                start = time.perf_counter()
                compiled = self.engine.compile(schema)
                ms = (time.perf_counter() - start) * 1e3
        except RecursionError:
            return {"error": "RecursionError"}
        except Exception as e:  # noqa: BLE001 - a peer's refusal is a counted failure
            return {"error": self.engine.reason(e)}
        self.compiled = compiled
        found = self.engine.warnings(compiled) + [short_message(line) for line in printed]
        return {"ms": ms, "warnings": sorted(set(found))}

    def walk(self, sequences: list[list[int]]) -> dict:
        """Walk every token sequence with the last compiled schema.

        Returns ``{"mask_us": [[times of one sequence], ...], "rejected": [indices],
        "memory": bytes or None}`` (memory after the walks).
        """
        if self.compiled is None:
            raise RuntimeError("walk() before a successful compile()")
        mask_us, rejected = [], []
        for i, tokens in enumerate(sequences):
            times, accepted = timed_walk(self.engine, self.compiled, tokens)
            mask_us.append(times)
            if not accepted:
                rejected.append(i)
        return {"mask_us": mask_us, "rejected": rejected,
                "memory": self.engine.memory(self.compiled)}

    def accepts(self, texts: list[str]) -> list[bool]:
        """Whether each text is a complete instance of the last compiled schema."""
        if self.compiled is None:
            raise RuntimeError("accepts() before a successful compile()")
        return [self.engine.accepts_text(self.compiled, t) for t in texts]

