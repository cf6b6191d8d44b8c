"""Shared test fixtures: the test data folder beside the repository, and cached tokenizers.

The data (real tokenizers, JSON Schema suites) lives outside the repository, in
``$CONSTRAIN_TEST_DATA`` (default ``<repo>/../shared``). Without it the tests that need it
skip, except when ``CONSTRAIN_REQUIRE_TEST_DATA=1`` (CI), where they fail.

Fixtures:
    ``shared_dir``: the data folder (``Path``).
    ``tokenizer_dir(name)``: ``shared_dir / "tokenizers" / name``, checked to exist.
    ``load_vocab(name)``: ``Vocabulary.from_pretrained`` of that tokenizer, once per session.
    ``load_hf_tokenizer(name)``: ``transformers.AutoTokenizer.from_pretrained``, once per session.

Tokenizer names: ``llama2-32k``, ``llama3-128k``, ``qwen3-152k``, ``gemma3-262k``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOKENIZERS = ("llama2-32k", "llama3-128k", "qwen3-152k", "gemma3-262k")


def _missing(reason: str):
    if os.environ.get("CONSTRAIN_REQUIRE_TEST_DATA") == "1":
        pytest.fail(f"test data missing: {reason} (CONSTRAIN_REQUIRE_TEST_DATA=1)")
    pytest.skip(f"test data missing: {reason}")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The test data folder: ``$CONSTRAIN_TEST_DATA`` or ``<repo>/../shared``."""
    path = Path(os.environ.get("CONSTRAIN_TEST_DATA") or REPO.parent / "shared")
    if not path.is_dir():
        _missing(f"{path} is not a directory; set CONSTRAIN_TEST_DATA")
    return path


@pytest.fixture(scope="session")
def tokenizer_dir(shared_dir):
    """A function: tokenizer name -> its folder (skips or fails if it is missing)."""
    def get(name: str) -> Path:
        path = shared_dir / "tokenizers" / name
        if not (path / "tokenizer.json").is_file():
            _missing(f"{path / 'tokenizer.json'} not found")
        return path
    return get


@pytest.fixture(scope="session")
def load_vocab(tokenizer_dir):
    """A cached function: tokenizer name -> ``Vocabulary.from_pretrained`` (no disk cache)."""
    from constrain.vocabulary import Vocabulary

    @functools.lru_cache(maxsize=None)
    def load(name: str):
        return Vocabulary.from_pretrained(tokenizer_dir(name), cache=False)
    return load


@pytest.fixture(scope="session")
def load_hf_tokenizer(tokenizer_dir):
    """A cached function: tokenizer name -> ``transformers.AutoTokenizer.from_pretrained``."""
    transformers = pytest.importorskip("transformers")

    @functools.lru_cache(maxsize=None)
    def load(name: str):
        return transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir(name)))
    return load
