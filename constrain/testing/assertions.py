"""``explain``, ``assert_accepts`` and ``assert_rejects``: where a text leaves a grammar, and why.

The text is fed to a matcher over a byte-level vocabulary (256 one-byte tokens and an
end-of-sequence token), so the allowed next bytes at the failure point are exact. The terminals
named as "expected" come from a small scannerless Earley run over the grammar's IR
(``_earley.TerminalTracker``): those being matched at the failure point that an allowed byte
continues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..grammar import Grammar
from ._analysis import allowed_next, byte_matcher, describe_bytes, quote, terminal_label
from ._earley import TerminalTracker

CONTEXT = 30        # bytes of text shown either side of the failure point
MAX_TRACKED = 20_000  # longest prefix for which the expected terminals are worked out


class GrammarAssertionError(AssertionError):
    """``assert_accepts`` / ``assert_rejects`` failed; ``explanation`` holds the details."""

    def __init__(self, message: str, explanation: "Explanation"):
        super().__init__(message)
        self.explanation = explanation


@dataclass(frozen=True)
class Explanation:
    """How a text fares against a grammar.

    Attributes:
        accepted: the whole text is a string of the grammar.
        viable: the whole text is a prefix of some string of the grammar.
        offset: byte offset of the first byte that cannot follow (``len(text)`` when the text
            is a viable prefix, i.e. it stops too early or is accepted).
        line, column: 1-based position of ``offset`` (columns count characters).
        allowed_bytes: the bytes that could come at ``offset``.
        can_end: the text could end at ``offset``.
        forced: bytes the grammar forces at ``offset`` (empty when there is a choice).
        expected_terminals: terminals that could continue at ``offset`` (labels).
        context: the text around ``offset``, with a caret line under it.
    """

    accepted: bool
    viable: bool
    offset: int
    line: int
    column: int
    allowed_bytes: tuple[int, ...]
    can_end: bool
    forced: bytes
    expected_terminals: tuple[str, ...]
    context: str
    text: bytes = field(repr=False, default=b"")

    def expected(self) -> str:
        """What the grammar expected at the failure point, in words."""
        parts = []
        if self.forced:
            parts.append(f"forced continuation {quote(self.forced)}")
        if self.expected_terminals:
            label = "terminal" if len(self.expected_terminals) == 1 else "one of the terminals"
            parts.append(f"{label} {', '.join(self.expected_terminals)}")
        if self.allowed_bytes:
            parts.append(f"next byte in [{describe_bytes(self.allowed_bytes)}]")
        if self.can_end:
            parts.append("the end of the text")
        return "; ".join(parts) if parts else "nothing (the grammar is exhausted)"

    def message(self) -> str:
        """A multi-line report: where the text stops being viable and what was expected."""
        where = f"byte {self.offset} (line {self.line}, column {self.column})"
        if self.accepted:
            return f"the text is accepted by the grammar ({len(self.text)} bytes)"
        if self.viable:
            head = f"the text ends too early at {where}: it is a prefix, not a complete string"
        else:
            found = describe_bytes([self.text[self.offset]])
            head = f"the text stops being a viable prefix at {where}: unexpected byte {found}"
        return f"{head}\n{self.context}\nexpected: {self.expected()}"


def explain(grammar: Grammar, text: Union[str, bytes]) -> Explanation:
    """Where ``text`` stops being a viable prefix of ``grammar``, and what was expected there."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    m = byte_matcher(grammar)
    offset = _viable_length(m, data)
    viable = offset == len(data)
    allowed, can_end = allowed_next(m)
    accepted = viable and m.is_accepting()
    forced = b"" if accepted else bytes(m.forced_bytes())
    line, column = _line_column(data, offset)
    terminals = () if accepted else _expected_terminals(grammar, data[:offset], allowed)
    return Explanation(accepted=accepted, viable=viable, offset=offset, line=line, column=column,
                       allowed_bytes=tuple(allowed), can_end=can_end, forced=forced,
                       expected_terminals=terminals, context=_context(data, offset), text=data)


def assert_accepts(grammar: Grammar, text: Union[str, bytes]) -> None:
    """Fail (``GrammarAssertionError``) unless ``text`` is a string of ``grammar``; the message
    gives the offset, line:column, the text around it and what the grammar expected."""
    result = explain(grammar, text)
    if not result.accepted:
        raise GrammarAssertionError(f"grammar rejects the text: {result.message()}", result)


def assert_rejects(grammar: Grammar, text: Union[str, bytes]) -> None:
    """Fail (``GrammarAssertionError``) if ``text`` is a string of ``grammar``."""
    result = explain(grammar, text)
    if result.accepted:
        preview = quote(result.text[:80]) + ("..." if len(result.text) > 80 else "")
        raise GrammarAssertionError(f"grammar accepts the text {preview}, which should be "
                                    "rejected", result)


def _viable_length(m, data: bytes) -> int:
    """Feed ``data`` to ``m``; the length of its longest viable prefix (``m`` ends there).

    A refused ``accept_bytes`` leaves the state unchanged, and viability is monotone in the
    prefix length, so a binary search over the remaining bytes finds the failure point.
    """
    if m.accept_bytes(data):
        return len(data)
    lo, hi = 0, len(data)          # data[:lo] is viable, data[:hi] is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if m.accept_bytes(data[lo:mid]):
            lo = mid
        else:
            hi = mid
    return lo


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    last = before[before.rfind(b"\n") + 1:]
    return line, len(last.decode("utf-8", "replace")) + 1


def _context(data: bytes, offset: int) -> str:
    """The text around ``offset`` on one line (escaped), with a caret under ``offset``."""
    start = max(0, offset - CONTEXT)
    left = _escape(data[start:offset])
    right = _escape(data[offset:offset + CONTEXT])
    if start > 0:
        left = "..." + left
    if offset + CONTEXT < len(data):
        right += "..."
    if offset >= len(data):
        right += "<end of text>"
    return f"  {left}{right}\n  {' ' * len(left)}^"


def _escape(data: bytes) -> str:
    text = data.decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _expected_terminals(grammar: Grammar, before: bytes, allowed: list[int]) -> tuple[str, ...]:
    """Terminals being matched after ``before`` that one of the ``allowed`` bytes continues."""
    if not allowed or len(before) > MAX_TRACKED:
        return ()
    cfg = grammar.to_cfg()
    if len(cfg.terminals) == 1 and not cfg.ignore:
        return ()       # a regex or choices: the terminal is the whole grammar
    tracker = getattr(grammar, "_testing_tracker", None)
    if tracker is None:
        tracker = TerminalTracker(cfg)
        grammar._testing_tracker = tracker
    ignored = set(cfg.ignore)
    found = {terminal_label(cfg, name) for name, state in tracker.alive(before)
             if name not in ignored
             and any(tracker.dfas[name].transitions[state, b] >= 0 for b in allowed)}
    return tuple(sorted(found, key=lambda s: (not s.startswith('"'), s)))
