"""Benchmark work in a child process with a hard time limit.

A ``Worker`` keeps one long-lived child process holding an object built once (an engine with its
tokenizer prepared, say) and forwards method calls to it. A call that runs past its time limit
kills the child: the limit holds whatever the call is doing (native code, hypothesis, garbage
collector callbacks), which a SIGALRM handler in the same process cannot promise. The next call
starts a fresh child. A child that dies (a crash in native code) is reported the same way, so
one pathological input costs one failure, never the run.
"""

from __future__ import annotations

import multiprocessing
import traceback
from typing import Any, Callable, Optional

# "spawn": the child does not inherit the parent's threads (tokenizers, torch) half-copied.
_CONTEXT = multiprocessing.get_context("spawn")


class WorkerTimeout(Exception):
    """A call did not finish within its time limit (the child was killed)."""


class WorkerCrashed(Exception):
    """The child process died during a call (its exit code is in the message)."""


class WorkerError(Exception):
    """The call raised in the child; the message holds the child's traceback."""


def _serve(conn, factory: Callable[..., Any], args: tuple) -> None:
    """Child side: build the object, then answer (method, args) requests until None."""
    try:
        target = factory(*args)
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ok", None))
    while True:
        request = conn.recv()
        if request is None:
            return
        method, call_args = request
        try:
            conn.send(("ok", getattr(target, method)(*call_args)))
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it
            conn.send(("error", traceback.format_exc()))


class Worker:
    """One child process holding ``factory(*args)``; ``call`` runs a method of it, bounded.

    The child is started on the first call (and again after a timeout or crash); building the
    object is bounded by ``start_timeout`` seconds.
    """

    def __init__(self, factory: Callable[..., Any], *args: Any, start_timeout: float = 300.0):
        self.factory = factory
        self.args = args
        self.start_timeout = start_timeout
        self.process = None
        self.conn = None
        self.starts = 0

    def _start(self) -> None:
        """Start the child and wait until its object is built."""
        parent, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(child, self.factory, self.args),
                                        daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.starts += 1
        try:
            self._receive(self.start_timeout, f"starting {self._label()}")
        except WorkerError:
            self._stop()
            raise

    def _label(self) -> str:
        """The factory's name with its arguments, for messages."""
        args = ", ".join(repr(a) for a in self.args)
        return f"{getattr(self.factory, '__name__', self.factory)}({args})"

    def _receive(self, timeout: float, what: str) -> Any:
        """The child's answer within ``timeout`` seconds; kill the child otherwise."""
        try:
            ready = self.conn.poll(timeout)
            status, value = self.conn.recv() if ready else (None, None)
        except (EOFError, ConnectionError, OSError):
            code = self._stop()
            raise WorkerCrashed(f"{what}: the worker process died (exit code {code})") from None
        if not ready:
            self._stop()
            raise WorkerTimeout(f"{what}: no answer within {timeout:g} s")
        if status == "error":
            raise WorkerError(f"{what} raised in the worker:\n{value}")
        return value

    def call(self, method: str, *args: Any, timeout: float) -> Any:
        """``getattr(obj, method)(*args)`` in the child; WorkerTimeout after ``timeout`` s."""
        if self.process is None:
            self._start()
        try:
            self.conn.send((method, args))
        except (BrokenPipeError, ConnectionError, OSError):
            code = self._stop()
            raise WorkerCrashed(f"{method}: the worker process died (exit code {code})") from None
        return self._receive(timeout, method)

    def _stop(self) -> Optional[int]:
        """Kill the child (if any) and return its exit code."""
        if self.process is None:
            return None
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        code = self.process.exitcode
        self.conn.close()
        self.process = self.conn = None
        return code

    def close(self) -> None:
        """Ask the child to exit, killing it if it does not within a few seconds."""
        if self.process is None:
            return
        try:
            self.conn.send(None)
            self.process.join(5)
        except (BrokenPipeError, ConnectionError, OSError):
            pass  # the child is gone already; _stop reaps it
        self._stop()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
