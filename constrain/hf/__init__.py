"""Hugging Face ``transformers`` integration.

    from constrain.hf import GrammarLogitsProcessor
    model.generate(**inputs, logits_processor=[GrammarLogitsProcessor(compiled_grammar)])
"""

from ._rows import GrammarRefusedToken
from .processor import GrammarLogitsProcessor

__all__ = ["GrammarLogitsProcessor", "GrammarRefusedToken"]
