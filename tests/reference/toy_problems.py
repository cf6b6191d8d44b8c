"""The toy problems of the sampling tests and of the table in docs/SAMPLING.md: a skewed
binary language and bounded Dyck words, with exact distributions from toy_models."""

from __future__ import annotations

import constrain as cn
from reference.toy_models import (ToyLanguage, dirichlet_model, dyck_words, regex_language,
                                   table_model, weighted_walk)

BINARY = [b"0", b"1", b""]
SKEW_PATTERN = r"0[01]{4}|1{5}"


def _skew(prefix):
    """Prefers a leading 1 (allowed only in 11111), then prefers 0s."""
    d = len(prefix)
    if d == 0:
        return [0.05, 0.94, 0.01]
    if d < 5:
        return [0.9, 0.05, 0.05]
    return [0.05, 0.05, 0.9]


def skewed():
    """(model, compiled grammar, reference language) of the skewed binary example."""
    vocab = cn.Vocabulary.from_token_bytes(BINARY, eos_token_ids=[2])
    cg = cn.compile(cn.Grammar.from_regex(SKEW_PATTERN), vocab)
    lang = ToyLanguage(regex_language(SKEW_PATTERN, "01", 6), BINARY, 2)
    return table_model(_skew), cg, lang


DYCK_TOKENS = [b"(", b")", b"()", b"((", b"))", b""]
DYCK_EOS = 5
_DYCK_MODELS: dict = {}


def dyck(model_seed: int, max_len: int = 6):
    """Non-empty Dyck words of length <= max_len, tokens with several tokenizations, and a
    random Dirichlet(0.5) model (cached per seed so the reference memo is reused)."""
    vocab = cn.Vocabulary.from_token_bytes(DYCK_TOKENS, eos_token_ids=[DYCK_EOS])
    words = [w for w in dyck_words(max_len) if w]
    cg = cn.compile(cn.Grammar.from_choices(words), vocab)
    lang = ToyLanguage([w.encode() for w in words], DYCK_TOKENS, DYCK_EOS)
    model = _DYCK_MODELS.setdefault(model_seed, dirichlet_model(6, model_seed, alpha=0.5))
    return model, cg, lang


def asap_distribution(model, lang, sampler) -> dict:
    """ASAp's exact next-sample distribution: the walk with the trie's current bounds."""
    def weight(u):
        return 1.0 if u[-1] == lang.eos else sampler.trie.bound(u)
    return weighted_walk(model, lang, weight)


