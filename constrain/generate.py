"""generate(): constrained text generation with a ``transformers`` model, in one call."""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Callable, List, NamedTuple, Optional, Sequence, Union

from .compiler import CompiledGrammar, compile
from .grammar import Grammar
from .vocabulary import Vocabulary

_vocab_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_vocab_lock = threading.Lock()


def generate(model, tokenizer, prompt: Union[str, Sequence[str]], *,
             grammar: Union[Grammar, CompiledGrammar, None] = None, regex: Optional[str] = None,
             choices: Optional[Sequence[Union[str, bytes]]] = None,
             **generate_kwargs) -> Union[str, List[str], List[List[str]]]:
    """Generate text that belongs to a grammar; returns the generated text without the prompt.

    Give exactly one of ``grammar`` (a :class:`Grammar` or a :class:`CompiledGrammar`),
    ``regex`` or ``choices``. Grammars are compiled once per tokenizer and cached.
    ``generate_kwargs`` go to ``model.generate`` (``max_new_tokens``, ``do_sample``,
    ``num_beams``, ``num_return_sequences``, ``assistant_model``...); ``max_new_tokens``
    defaults to 256.

    ``prompt`` is a string or a list of strings (run as one left-padded batch). Returns a string
    for one prompt, a list for a list of prompts, and with ``num_return_sequences=k > 1`` a list of
    ``k`` strings per prompt instead of one string. The text is the exact bytes of the generated
    tokens up to the first end-of-sequence token, decoded as UTF-8 (invalid bytes, possible
    only when generation stopped at ``max_new_tokens``, are replaced).
    """
    single = isinstance(prompt, str)
    prompts = [prompt] if single else list(prompt)
    if not prompts or not all(isinstance(p, str) for p in prompts):
        raise TypeError("prompt must be a string or a non-empty list of strings")
    rows = generate_rows(model, tokenizer, prompts,
                         lambda vocab: _compiled(grammar, regex, choices, vocab), **generate_kwargs)
    return group_rows([r.text for r in rows], len(prompts), single)


class GeneratedRow(NamedTuple):
    """One output sequence: its text (UTF-8, invalid bytes replaced), its exact bytes, and
    whether it ended with an end-of-sequence token (which the grammar allows only once it has
    accepted: ``ended`` False means generation stopped at ``max_new_tokens``)."""

    text: str
    data: bytes
    ended: bool


def generate_rows(model, tokenizer, prompts: Sequence[str],
                  make_grammar: Callable[[Vocabulary], CompiledGrammar], *,
                  add_special_tokens: bool = True, **generate_kwargs) -> List[GeneratedRow]:
    """Run ``model.generate`` on ``prompts`` (one left-padded batch) under a grammar.

    The shared machinery of :func:`generate` and :func:`constrain.generate_json`:
    ``make_grammar(vocab)`` returns the grammar compiled for the tokenizer's vocabulary (with
    the end-of-sequence ids generation stops on). ``add_special_tokens`` goes to the tokenizer
    (False for prompts rendered by a chat template, which already hold them). Returns one
    :class:`GeneratedRow` per output sequence, in ``model.generate``'s order (the outputs of
    prompt ``i`` are adjacent).
    """
    import torch
    from transformers import LogitsProcessorList

    from .hf import GrammarLogitsProcessor

    eos_ids = _eos_ids(model, tokenizer, generate_kwargs.get("eos_token_id"))
    vocab = _vocabulary(tokenizer, eos_ids)
    compiled = make_grammar(vocab)

    pad_id = generate_kwargs.pop("pad_token_id", None)
    if pad_id is None:
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else vocab.eos_token_ids[0]
    encoded = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
    width = max(len(ids) for ids in encoded)
    input_ids = torch.tensor([[pad_id] * (width - len(ids)) + list(ids) for ids in encoded])
    attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
    device = getattr(model, "device", None)
    if device is not None:
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)

    processors = LogitsProcessorList([GrammarLogitsProcessor(compiled)])
    processors.extend(generate_kwargs.pop("logits_processor", None) or [])
    generate_kwargs.setdefault("max_new_tokens", 256)
    generate_kwargs["eos_token_id"] = list(vocab.eos_token_ids)
    output = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                            logits_processor=processors, pad_token_id=pad_id, **generate_kwargs)
    sequences = output.sequences if hasattr(output, "sequences") else output
    return [decode_row(row[width:].tolist(), vocab) for row in sequences]


def group_rows(items: list, n_prompts: int, single: bool):
    """Shape per-row results like :func:`generate`'s return value: one item per prompt, or a
    list of ``k`` items per prompt with ``num_return_sequences=k > 1``; unwrapped for a single
    prompt."""
    per_prompt = len(items) // n_prompts
    if per_prompt > 1:
        items = [items[i * per_prompt:(i + 1) * per_prompt] for i in range(n_prompts)]
    return items[0] if single else items


def decode_row(ids: List[int], vocab: Vocabulary) -> GeneratedRow:
    """The :class:`GeneratedRow` of generated token ids: their bytes up to the first
    end-of-sequence id of ``vocab``, and whether there was one."""
    eos = set(vocab.eos_token_ids)
    data = bytearray()
    token_bytes = vocab.token_bytes
    ended = False
    for t in ids:
        if t in eos:
            ended = True
            break
        if 0 <= t < len(token_bytes):
            data += token_bytes[t]
    return GeneratedRow(data.decode("utf-8", errors="replace"), bytes(data), ended)


def _eos_ids(model, tokenizer, explicit) -> Optional[List[int]]:
    """The end-of-sequence ids generation stops on: explicit, else the model's, else the tokenizer's."""
    for value in (explicit, getattr(getattr(model, "generation_config", None), "eos_token_id", None),
                  getattr(tokenizer, "eos_token_id", None)):
        if value is None:
            continue
        if hasattr(value, "tolist"):
            value = value.tolist()
        values = value if isinstance(value, (list, tuple)) else [value]
        values = [int(v) for v in values]
        if values:
            return values
    return None


def _vocabulary(tokenizer, eos_ids: Optional[List[int]]) -> Vocabulary:
    """``Vocabulary.from_tokenizer``, remembered per tokenizer object and EOS ids."""
    key = None if eos_ids is None else tuple(eos_ids)
    try:
        with _vocab_lock:
            per_tokenizer = _vocab_cache.setdefault(tokenizer, {})
            if key in per_tokenizer:
                return per_tokenizer[key]
    except TypeError:  # not weak-referenceable: no caching
        per_tokenizer = {}
    vocab = Vocabulary.from_tokenizer(tokenizer, eos_token_ids=eos_ids)
    with _vocab_lock:
        per_tokenizer[key] = vocab
    return vocab


def _compiled(grammar, regex, choices, vocab: Vocabulary) -> CompiledGrammar:
    given = [name for name, v in (("grammar", grammar), ("regex", regex), ("choices", choices))
             if v is not None]
    if len(given) != 1:
        raise TypeError(f"give exactly one of grammar=, regex=, choices= (got {given or 'none'})")
    if isinstance(grammar, CompiledGrammar):
        if grammar.vocab != vocab:
            raise ValueError("the compiled grammar was compiled for another vocabulary than this "
                             "tokenizer's (or other end-of-sequence ids); pass the Grammar instead")
        return grammar
    if grammar is not None:
        if not isinstance(grammar, Grammar):
            raise TypeError(f"grammar must be a Grammar or CompiledGrammar, not {type(grammar).__name__}")
        return compile(grammar, vocab)
    if regex is not None:
        return compile(_regex_grammar(regex), vocab)
    return compile(_choices_grammar(tuple(choices)), vocab)


@functools.lru_cache(maxsize=64)
def _regex_grammar(pattern: str) -> Grammar:
    return Grammar.from_regex(pattern)


@functools.lru_cache(maxsize=64)
def _choices_grammar(choices: tuple) -> Grammar:
    return Grammar.from_choices(choices)
