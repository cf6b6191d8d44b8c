"""constrain: exact grammar-constrained decoding for language models.

    import constrain as cn
    vocab = cn.Vocabulary.from_pretrained("path/to/tokenizer")
    cg = cn.compile(cn.Grammar.from_regex(r"\\d{4}-\\d{2}-\\d{2}"), vocab)
    m = cg.matcher()
    bitmask = cn.allocate_bitmask(1, vocab.vocab_size)
    m.fill_bitmask(bitmask)
"""

from ._core import Matcher, fill_bitmasks
from ._version import __version__
from .bitmask import allocate_bitmask, apply_bitmask, bitmask_to_ids
from .compiler import CompiledGrammar, compile
from .fast_forward import forced_tokens
from .errors import (ConstrainError, GrammarError, IncompleteOutputError, RegexError, SchemaError,
                     VocabularyError)
from . import sampling, speculative
from .generate import generate
from .json_generation import generate_json
from .grammar import Grammar
from .vocabulary import Vocabulary

__all__ = [
    "CompiledGrammar",
    "ConstrainError",
    "Grammar",
    "GrammarError",
    "IncompleteOutputError",
    "Matcher",
    "RegexError",
    "SchemaError",
    "Vocabulary",
    "VocabularyError",
    "__version__",
    "allocate_bitmask",
    "apply_bitmask",
    "bitmask_to_ids",
    "compile",
    "fill_bitmasks",
    "forced_tokens",
    "generate",
    "generate_json",
    "sampling",
    "speculative",
]


def __getattr__(name):
    # constrain.hf needs transformers: import it on first use, not with the package.
    if name == "hf":
        import importlib

        return importlib.import_module(".hf", __name__)
    raise AttributeError(f"module 'constrain' has no attribute {name!r}")
