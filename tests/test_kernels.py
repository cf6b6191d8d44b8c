"""The fused Triton bitmask kernel (constrain.kernels), run by Triton's interpreter on CPU.

CI has no GPU, so the kernel's arithmetic (bit order, the tails of a row, the columns past
``32 * words`` of a padded vocabulary, row strides, half-precision stores) is checked here by
``TRITON_INTERPRET=1``, which executes the same kernel body with numpy. Where triton is not
installed the tests skip, unless ``CONSTRAIN_REQUIRE_TRITON=1`` (set by .ci/run) makes that
a failure.
"""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

if os.environ.get("CONSTRAIN_REQUIRE_TRITON") == "1":
    import triton  # noqa: F401  (an ImportError fails the run instead of skipping it)
else:
    pytest.importorskip("triton")

from constrain import kernels  # noqa: E402


@pytest.fixture
def interpreted(monkeypatch):
    """The kernel built for Triton's CPU interpreter; rebuilt normally afterwards."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    kernels._triton_kernel.cache_clear()
    yield
    kernels._triton_kernel.cache_clear()


def reference(logits, bitmask):
    """Bit t % 32 of word t // 32 allows token t; tokens past the words are refused."""
    vocab = logits.shape[1]
    cols = torch.arange(vocab)
    covered = cols < 32 * bitmask.shape[1]
    words = bitmask[:, (cols // 32).clamp(max=bitmask.shape[1] - 1)].long()
    allowed = ((words >> (cols % 32)) & 1).bool() & covered
    return logits.masked_fill(~allowed, float("-inf"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("rows,vocab,words", [(1, 32, 1), (3, 100, 4), (2, 9000, 260),
                                              (4, 5000, 120)])
def test_kernel_masks_exactly_the_refused_and_padded_tokens(interpreted, dtype, rows, vocab,
                                                           words):
    gen = torch.Generator().manual_seed(rows * vocab + words)
    logits = torch.randn(rows, vocab, generator=gen).to(dtype)
    bitmask = torch.randint(-2**31, 2**31 - 1, (rows, words), dtype=torch.int32, generator=gen)
    expected = reference(logits, bitmask)
    assert kernels.apply_triton(logits, bitmask)
    assert torch.equal(logits, expected)


def test_kernel_follows_row_strides_and_leaves_other_columns(interpreted):
    gen = torch.Generator().manual_seed(7)
    storage = torch.randn(3, 7000, generator=gen)
    logits = storage[:, 100:6100]  # rows 7000 apart: stride(0) != vocab
    bitmask = torch.randint(-2**31, 2**31 - 1, (3, 188), dtype=torch.int32, generator=gen)
    before = storage.clone()
    expected = reference(logits.clone(), bitmask)
    assert kernels.apply_triton(logits, bitmask)
    assert torch.equal(logits, expected)
    assert torch.equal(storage[:, :100], before[:, :100])
    assert torch.equal(storage[:, 6100:], before[:, 6100:])


def test_kernel_declines_non_contiguous_columns(interpreted):
    logits = torch.randn(200, 2).t()  # stride(-1) == 2
    before = logits.clone()
    assert not kernels.apply_triton(logits, torch.zeros(2, 7, dtype=torch.int32))
    assert torch.equal(logits, before)
