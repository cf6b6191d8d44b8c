"""Helpers shared by the benchmark scripts (``benchmarks/*_bench.py``).

Machine and version description for the report header, percentiles and number
formatting, numpy int32 bitmask helpers (bit t%32 of word t//32, the layout every
engine here shares), the set of special / added token ids left out of mask
comparisons, progress bars (tqdm when installed) and the replacement of one benchmark's
block in a markdown file.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from typing import Any, Iterable, Optional

import numpy as np

from pathlib import Path


def shared_data() -> Path:
    """The test data folder: ``$CONSTRAIN_TEST_DATA``, else ``../shared`` beside the repository."""
    default = Path(__file__).resolve().parent.parent.parent / "shared"
    return Path(os.environ.get("CONSTRAIN_TEST_DATA") or default)


TOKENIZER_ROOT = str(shared_data() / "tokenizers")


def tokenizer_path(name: str) -> str:
    """Return ``name`` if it is a folder, else the folder of that name under TOKENIZER_ROOT."""
    return name if os.path.isdir(name) else os.path.join(TOKENIZER_ROOT, name)


def special_ids(tok: Any) -> set[int]:
    """Return ids that are special or added tokens (excluded from mask comparisons)."""
    ids = set(tok.all_special_ids)
    ids.update(int(i) for i in tok.added_tokens_decoder)
    return ids


def mask_to_bools(bitmask: np.ndarray, n: int) -> np.ndarray:
    """Expand one int32 bitmask row (bit t%32 of word t//32) to ``n`` booleans."""
    bits = np.unpackbits(bitmask.reshape(-1).view(np.uint8), bitorder="little")
    out = np.zeros(n, dtype=bool)
    m = min(n, bits.size)
    out[:m] = bits[:m].astype(bool)
    return out


def new_bitmask(vocab_size: int) -> np.ndarray:
    """Allocate a zeroed ``(1, ceil(V/32))`` int32 bitmask."""
    return np.zeros((1, (vocab_size + 31) // 32), dtype=np.int32)


def describe_diff(a: np.ndarray, b: np.ndarray, tok: Any, names: tuple[str, str]) -> str:
    """Summarize how two allowed sets differ (counts and a few decoded tokens)."""
    only_a = np.flatnonzero(a & ~b)
    only_b = np.flatnonzero(b & ~a)

    def sample(ids: np.ndarray) -> str:
        """Decode the first few ids."""
        return ", ".join(repr(tok.decode([int(t)])) for t in ids[:4])

    return (f"only {names[0]}: {only_a.size} [{sample(only_a)}]; "
            f"only {names[1]}: {only_b.size} [{sample(only_b)}]")


def machine_description() -> str:
    """Return the CPU model name (from ``lscpu``) and core count."""
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def load_average() -> str:
    """Return the 1-minute load average (other work on the machine skews timings)."""
    try:
        return f" (1-min load average at the end: {os.getloadavg()[0]:.2f})"
    except OSError:
        return ""


def versions(engines: Iterable[Any]) -> str:
    """Return 'name version' for every engine plus the Python / numpy / transformers."""
    parts = [f"{e.name} {e.version()}" for e in engines]
    for pkg in ("transformers", "numpy"):
        parts.append(f"{pkg} {importlib.metadata.version(pkg)}")
    parts.append(f"Python {platform.python_version()}")
    return ", ".join(parts)


def fmt(value: Optional[float], digits: int = 1) -> str:
    """Format a number, or '-' when missing."""
    return "-" if value is None else f"{value:,.{digits}f}"


def progress(items: Iterable[Any], desc: str) -> Iterable[Any]:
    """``items`` with a progress bar on stderr when tqdm is installed (a soft dependency)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, file=sys.stderr, dynamic_ncols=True)


def percentile(values: list[float], q: float) -> Optional[float]:
    """Return the ``q``-th percentile of ``values`` or None when empty."""
    return float(np.percentile(values, q)) if values else None


def markers(block: str) -> tuple[str, str]:
    """Return the start / end HTML comments delimiting benchmark ``block`` in a markdown file."""
    return f"<!-- {block}:start -->", f"<!-- {block}:end -->"


def write_markdown(path: str, section: str, block: str) -> None:
    """Replace the text between the ``block`` markers in ``path`` with ``section``.

    The file is created when missing; the markers are appended at its end when absent.
    Everything outside the block is left as it was.
    """
    start, end = markers(block)
    wrapped = f"{start}\n{section}{end}"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    else:
        text = "# Performance\n\nMeasured figures of constrain and its peers, one section per benchmark.\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: wrapped, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + wrapped + "\n"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def publish(section: str, markdown: Optional[str], block: str) -> None:
    """Print a benchmark's markdown section and, with a ``markdown`` path, write its block."""
    print(section)
    if markdown:
        write_markdown(markdown, section, block)
