"""The fused CUDA bitmask kernel (Triton), used by :func:`constrain.apply_bitmask`.

One kernel reads each logit's bit straight from the packed int32 words, so no unpacked
boolean tensor is materialised. Columns past ``32 * words`` (a padded vocabulary) are masked.
CI has no GPU: tests/test_kernels.py runs this kernel in Triton's CPU interpreter
(``TRITON_INTERPRET=1``), which checks its arithmetic but not its speed on a device.
"""

from __future__ import annotations

import functools

_BLOCK = 4096


@functools.lru_cache(maxsize=1)
def _triton_kernel():
    """The compiled-on-first-use Triton kernel, or None if triton is unavailable."""
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def kernel(logits_ptr, mask_ptr, vocab, words, logits_stride, mask_stride,
               BLOCK: tl.constexpr):
        row = tl.program_id(0)
        cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        in_vocab = cols < vocab
        word = cols // 32
        bits = tl.load(mask_ptr + row * mask_stride + word, mask=in_vocab & (word < words), other=0)
        allowed = ((bits >> (cols % 32)) & 1) != 0
        tl.store(logits_ptr + row * logits_stride + cols, float("-inf"), mask=in_vocab & ~allowed)

    return kernel, triton


def triton_available() -> bool:
    """True if the fused CUDA kernel can be used (triton imports)."""
    return _triton_kernel() is not None


def apply_triton(target, mask) -> bool:
    """Mask CUDA logits ``[rows, V]`` in place with the Triton kernel; False if it cannot run
    (no triton, or logits columns not contiguous), leaving the logits untouched."""
    found = _triton_kernel()
    if found is None or target.stride(-1) != 1:
        return False
    kernel, triton = found
    mask = mask.to(target.device, non_blocking=True).contiguous()
    rows, vocab = target.shape
    grid = (rows, triton.cdiv(vocab, _BLOCK))
    kernel[grid](target, mask, vocab, mask.shape[1], target.stride(0), mask.stride(0), BLOCK=_BLOCK)
    return True
