"""generate_json(): schema-valid JSON from a ``transformers`` model, parsed and validated."""

from __future__ import annotations

import functools
import json
from typing import Any, List, Mapping

from .compiler import compile
from .errors import IncompleteOutputError
from .generate import generate_rows, group_rows
from .grammar import Grammar, _load_schema


def generate_json(model, tokenizer, prompt_or_messages, schema, **generate_kwargs):
    """Generate JSON that validates against ``schema``; returns the parsed value.

    ``schema`` is a JSON Schema (a dict, a JSON text or the path of a ``.json`` file) or a
    pydantic v2 model class. The grammar ``Grammar.from_json_schema(schema)`` (or
    ``from_pydantic``) is compiled once per tokenizer and masks every step of
    ``model.generate``; the output is parsed with ``json.loads`` and checked with
    ``jsonschema.Draft202012Validator`` (``jsonschema.ValidationError`` if it fails). With a
    model class the result is ``Model.model_validate(value)``.

    ``prompt_or_messages`` is a prompt string, a list of chat messages
    (``[{"role": "user", "content": ...}]``, rendered with the tokenizer's chat template and
    ``add_generation_prompt=True``), or a list of either for a batch, which returns a list
    (a list of ``k`` values per prompt with ``num_return_sequences=k > 1``).
    ``generate_kwargs`` go to ``model.generate`` as in :func:`constrain.generate`.

    Raises :class:`~constrain.IncompleteOutputError` (with the partial ``text``) when
    generation stops before the JSON is complete, typically because ``max_new_tokens`` ran out:
    invalid JSON is never returned. Raises ValueError for messages when the tokenizer has no
    chat template.
    """
    single, prompts, templated = _prompts(tokenizer, prompt_or_messages)
    schema_doc, model_cls = _schema_of(schema)
    grammar = _grammar(json.dumps(schema_doc))  # key order matters: property order
    rows = generate_rows(model, tokenizer, prompts, lambda vocab: compile(grammar, vocab),
                         add_special_tokens=not templated, **generate_kwargs)
    values = [parse_output(row.text, schema_doc, model_cls, complete=row.ended) for row in rows]
    return group_rows(values, len(prompts), single)


def parse_output(text: str, schema, model_cls=None, *, complete: bool = True):
    """Parse and validate one constrained output: the JSON value (or ``model_cls`` instance).

    ``complete`` False (generation stopped before the grammar accepted) raises
    :class:`~constrain.IncompleteOutputError` carrying ``text``; an output that is not valid
    JSON raises it too, since it can only be a cut-off prefix. ``jsonschema.ValidationError``
    if the value does not validate against ``schema``.
    """
    import jsonschema

    if not complete:
        raise IncompleteOutputError(
            f"generation stopped before the JSON was complete (raise max_new_tokens); "
            f"partial output: {text[:200]!r}", text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise IncompleteOutputError(f"the output is not complete JSON ({e}): {text[:200]!r}",
                                    text) from None
    jsonschema.Draft202012Validator(schema).validate(value)
    return model_cls.model_validate(value) if model_cls is not None else value


def _prompts(tokenizer, prompt_or_messages) -> tuple[bool, List[str], bool]:
    """(single, prompt strings, whether they were rendered by the chat template)."""
    item = prompt_or_messages
    if isinstance(item, str) or _is_messages(item):
        single, items = True, [item]
    elif isinstance(item, (list, tuple)) and item:
        single, items = False, list(item)
    else:
        raise TypeError("expected a prompt string, a list of chat messages, or a non-empty list "
                        "of either")
    kinds = {isinstance(x, str) for x in items}
    if len(kinds) != 1 or not all(isinstance(x, str) or _is_messages(x) for x in items):
        raise TypeError("a batch must be all prompt strings or all lists of chat messages "
                        "(dicts with 'role' and 'content')")
    if kinds == {True}:
        return single, items, False
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{type(tokenizer).__name__} has no chat template: pass a prompt string "
                         f"instead of messages, or set tokenizer.chat_template")
    rendered = [tokenizer.apply_chat_template(list(m), add_generation_prompt=True, tokenize=False)
                for m in items]
    return single, rendered, True


def _is_messages(item) -> bool:
    return (isinstance(item, (list, tuple)) and len(item) > 0
            and all(isinstance(m, Mapping) and "role" in m for m in item))


def _schema_of(schema) -> tuple[Any, Any]:
    """(the JSON Schema document, the pydantic model class or None)."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        return schema.model_json_schema(), schema
    return _load_schema(schema), None


@functools.lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Grammar:
    return Grammar.from_json_schema(json.loads(schema_json))
