"""The on-disk cache: where it lives, how entries are named, atomic writes, safe reads.

Entries are numpy ``.npz`` archives (uncompressed, no pickles). A cache is only ever an
optimisation: a missing, unreadable or corrupt entry reads as ``None`` and is rebuilt by the
caller, and a failed write is ignored.

Environment:
    ``CONSTRAIN_CACHE_DIR``: the directory (default ``~/.cache/constrain``).
    ``CONSTRAIN_CACHE=0``: disable the disk cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from constrain._version import __version__

__all__ = ["cache_dir", "cache_key", "cache_path", "save_arrays", "load_arrays"]

_OFF = {"0", "false", "no", "off"}


def cache_dir() -> Path | None:
    """The cache directory, or ``None`` when ``CONSTRAIN_CACHE=0`` disables the cache."""
    if os.environ.get("CONSTRAIN_CACHE", "1").strip().lower() in _OFF:
        return None
    custom = os.environ.get("CONSTRAIN_CACHE_DIR")
    return Path(custom).expanduser() if custom else Path.home() / ".cache" / "constrain"


def cache_key(*parts: bytes | str) -> str:
    """A hex sha256 of ``parts`` and the library version, for naming cache entries.

    Parts are length-prefixed so that ``("ab", "c")`` and ``("a", "bc")`` differ.
    """
    h = hashlib.sha256(f"constrain {__version__}".encode())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def cache_path(kind: str, key: str, suffix: str = ".npz") -> Path | None:
    """The path of the entry ``key`` of ``kind`` (a subdirectory, e.g. ``"vocab"``).

    ``None`` when the cache is disabled. The directory is not created here.
    """
    root = cache_dir()
    if root is None:
        return None
    return root / kind / f"{key}{suffix}"


def save_arrays(path: Path | str, **arrays: np.ndarray) -> bool:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz``, atomically.

    The archive is written to a temporary file in the same directory and moved over
    ``path`` with ``os.replace``, so readers see either the old entry or the complete new
    one. Returns ``False`` (and leaves nothing behind) if the write fails.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


def load_arrays(path: Path | str | None) -> dict[str, np.ndarray] | None:
    """Read an archive written by :func:`save_arrays`; ``None`` if missing or unreadable."""
    if path is None:
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt entry (bad zip, truncated array ...) is just a miss
        return None
