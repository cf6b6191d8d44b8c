"""Progress reports for long compiles.

A report is a call ``progress(stage, done, total)``: ``total`` is ``None`` when an uncounted
stage begins (``done`` is then 0), else the stage has done ``done`` of ``total`` units and its
last report has ``done == total``. ``compile(..., progress=...)`` takes such a callable, or
``True`` for :class:`TerminalProgress` on stderr.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Optional, TextIO, TypeVar, Union

__all__ = ["ProgressCallback", "TerminalProgress", "as_callback", "begin", "watch"]

ProgressCallback = Callable[[str, int, Optional[int]], None]
T = TypeVar("T")


class TerminalProgress:
    """Shows reports on a stream: a line per stage and, for counted stages, a tqdm bar (or,
    without tqdm, a line every ``line_interval`` seconds and one at the end)."""

    def __init__(self, stream: Optional[TextIO] = None, *, unit: str = "state",
                 line_interval: float = 1.0):
        self.stream = stream if stream is not None else sys.stderr
        self.unit = unit
        self.line_interval = line_interval
        self._stage: Optional[str] = None
        self._bar = None
        self._last_line: Optional[float] = None

    def __call__(self, stage: str, done: int, total: Optional[int]) -> None:
        """Report ``done`` of ``total`` for ``stage`` (``total`` None: the stage begins)."""
        if stage != self._stage:
            self._begin(stage, total)
        if total is None:
            return
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
        elif (done >= total or self._last_line is None
              or time.monotonic() - self._last_line >= self.line_interval):
            self._write_count(done, total)
        if done >= total:
            self.close()

    def _begin(self, stage: str, total: Optional[int]) -> None:
        self.close()
        self._stage = stage
        if total is None:
            self.stream.write(f"constrain: {stage}\n")
            self.stream.flush()
        else:
            self._bar = _tqdm_bar(stage, total, self.unit, self.stream)

    def _write_count(self, done: int, total: int) -> None:
        self._last_line = time.monotonic()
        percent = 100 * done // total if total else 100
        self.stream.write(f"constrain: {self._stage}: {done}/{total} {self.unit}s ({percent}%)\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the current stage (closes its bar, if any)."""
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._stage = None
        self._last_line = None


def _tqdm_bar(stage: str, total: int, unit: str, stream: TextIO):
    """A tqdm bar on ``stream``, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"constrain: {stage}", unit=unit, file=stream,
                dynamic_ncols=True, leave=True)


def as_callback(progress: Union[bool, ProgressCallback, None]) -> Optional[ProgressCallback]:
    """The callable for a ``progress`` argument: None for False/None, a
    :class:`TerminalProgress` on stderr for True, a callable as it is."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return TerminalProgress()
    if callable(progress):
        return progress
    raise TypeError(f"progress must be a bool or a callable (stage, done, total), not "
                    f"{type(progress).__name__}")


def begin(report: Optional[ProgressCallback], stage: str) -> None:
    """Report that the uncounted ``stage`` begins, if there is a ``report``."""
    if report is not None:
        report(stage, 0, None)


def watch(run: Callable[[], T], counter, total: int, stage: str, report: ProgressCallback,
          interval: float = 0.1) -> T:
    """Run ``run()`` in a worker thread; from this thread, report ``counter.done`` of ``total``
    when it changes (polled every ``interval`` seconds), then ``total`` once ``run()`` returns.
    Its result or exception passes through. ``run`` must release the GIL. An exception here
    (Ctrl-C, a failing ``report``) calls ``counter.cancel()`` and waits for the worker."""
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = run()
        except BaseException as e:  # handed to the calling thread below
            outcome["error"] = e

    worker = threading.Thread(target=work, name=f"constrain: {stage}", daemon=True)
    worker.start()
    reported = -1
    try:
        while worker.is_alive():
            done = counter.done
            # done == total is reported once, after run() returns (its work may not be over).
            if done != reported and done < total:
                report(stage, done, total)
                reported = done
            worker.join(interval)
    except BaseException:
        counter.cancel()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    report(stage, total, total)
    return outcome["value"]
