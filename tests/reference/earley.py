"""A slow, independent scannerless Earley recogniser for Lark grammars (the test oracle).

It shares nothing with constrain's automata or C++ core: Lark's loader reads the grammar,
each terminal is matched with the ``regex`` package (partial full-matching for prefixes) on
the characters scanned since the terminal began, and ignored terminals are separate
terminals allowed between any two terminals and at both ends. Text is Unicode characters;
byte prefixes that end inside a character are decided by trying the code points that can
complete it (see ``viable_bytes``).

Assumption of the byte handling: terminals mention non-ASCII characters only literally (no
escapes for them, no Unicode classes), so between two mentioned code points all code points of
one UTF-8 length behave alike; the lowest and highest consistent code points, U+2028/U+2029 and
the neighbours of every mentioned code point represent all of them.
"""

from __future__ import annotations

import regex
from lark.load_grammar import load_grammar

from constrain.grammars import DIRECTORY

IGNORES = "%ignores"  # nonterminal: any number of ignored terminals


class EarleyOracle:
    """Viability and membership of texts in the language of a Lark grammar."""

    def __init__(self, text: str, start: str = "start"):
        grammar, _ = load_grammar(text, "<oracle>", [str(DIRECTORY)], False)
        terminal_defs, rules, ignore = grammar.compile([start], set())
        self.patterns = {}
        for t in terminal_defs:
            source = (regex.escape(t.pattern.value) if type(t.pattern).__name__ == "PatternStr"
                      else t.pattern.value)
            flags = "".join(sorted(t.pattern.flags))
            self.patterns[t.name] = regex.compile(f"(?{flags}:{source})" if flags else source)
        self.marks = sorted({ord(ch) for p in self.patterns.values() for ch in p.pattern
                             if ord(ch) >= 0x80})
        self.rules: list[tuple[str, tuple[str, ...]]] = []
        for r in rules:
            rhs = []
            for s in r.expansion:
                rhs.append(s.name)
                if s.is_term and ignore:
                    rhs.append(IGNORES)
            self.rules.append((r.origin.name, tuple(rhs)))
        self.start = "%start"
        self.rules.append((self.start, (IGNORES, start) if ignore else (start,)))
        self.rules.append((IGNORES, ()))
        self.rules += [(IGNORES, (IGNORES, name)) for name in ignore]
        self._drop_unproductive()
        self.by_lhs: dict[str, list[int]] = {}
        for i, (lhs, _) in enumerate(self.rules):
            self.by_lhs.setdefault(lhs, []).append(i)
        self.nullable = self._nullable()
        self._text = ""
        self._sets = [self._closure(0, {(("r", i), 0, 0) for i in self.by_lhs.get(self.start, [])})]

    # ------------------------------------------------------------------ grammar analysis

    def _is_terminal(self, s: str) -> bool:
        return s in self.patterns

    def _drop_unproductive(self) -> None:
        productive = {t for t, p in self.patterns.items() if _nonempty(p)}
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self.rules:
                if lhs not in productive and all(s in productive for s in rhs):
                    productive.add(lhs)
                    changed = True
        self.rules = [(l, r) for l, r in self.rules if all(s in productive for s in r)]

    def _nullable(self) -> set:
        nullable = {t for t, p in self.patterns.items() if p.fullmatch("")}
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self.rules:
                if lhs not in nullable and all(s in nullable for s in rhs):
                    nullable.add(lhs)
                    changed = True
        return nullable

    # ------------------------------------------------------------------ Earley
    # Items: (("r", rule), dot, origin) or (("t", terminal), 0, origin).

    def _next_symbol(self, item):
        (kind, x), dot, _ = item
        if kind != "r":
            return None
        rhs = self.rules[x][1]
        return rhs[dot] if dot < len(rhs) else None

    def _closure(self, i: int, items: set) -> set:
        todo = list(items)
        while todo:
            item = todo.pop()
            (kind, x), dot, origin = item
            if kind == "t":
                continue
            nxt = self._next_symbol(item)
            new = []
            if nxt is None:
                lhs = self.rules[x][0]
                if origin != i:
                    new += [(k, d + 1, o) for (k, d, o) in self._sets[origin]
                            if self._next_symbol((k, d, o)) == lhs]
            elif self._is_terminal(nxt):
                new.append((("t", nxt), 0, i))
                if nxt in self.nullable:
                    new.append(((kind, x), dot + 1, origin))
            else:
                new += [(("r", r), 0, i) for r in self.by_lhs.get(nxt, [])]
                if nxt in self.nullable:
                    new.append(((kind, x), dot + 1, origin))
            for n in new:
                if n not in items:
                    items.add(n)
                    todo.append(n)
        return items

    def _scan(self, text: str, i: int) -> set:
        """The set after character i of ``text``, from the sets before it."""
        items = set()
        for (kind, x), _, origin in self._sets[i]:
            if kind != "t":
                continue
            piece = text[origin:i + 1]
            pattern = self.patterns[x]
            if pattern.fullmatch(piece, partial=True) is None:
                continue
            items.add((("t", x), 0, origin))
            if pattern.fullmatch(piece) is not None:
                items |= {(k, d + 1, o) for (k, d, o) in self._sets[origin]
                          if self._next_symbol((k, d, o)) == x}
        self._sets.append(items)  # _closure reads earlier sets through self._sets
        closed = self._closure(i + 1, items)
        self._sets[-1] = closed
        return closed

    def _run(self, text: str) -> set:
        """The Earley set after ``text``, reusing the sets of the previous text's common prefix."""
        common = 0
        for a, b in zip(self._text, text):
            if a != b:
                break
            common += 1
        del self._sets[common + 1:]
        self._text = text[:common]
        for i in range(common, len(text)):
            if not self._sets[-1]:
                break
            self._scan(text, i)
            self._text = text[:i + 1]
        return self._sets[len(text)] if len(self._sets) > len(text) else set()

    # ------------------------------------------------------------------ public

    def viable(self, text: str) -> bool:
        """True if ``text`` is a prefix of a string of the language."""
        return bool(self._run(text))

    def complete(self, text: str) -> bool:
        """True if ``text`` is a string of the language."""
        return any(k == ("r", r) and d == len(self.rules[r][1]) and o == 0
                   for (k, d, o) in self._run(text) for r in self.by_lhs.get(self.start, []))

    def viable_bytes(self, data: bytes) -> bool:
        """True if ``data`` is a byte prefix of the UTF-8 encoding of a string of the language."""
        split = _split(data)
        if split is None:
            return False
        text, dangling = split
        if not dangling:
            return self.viable(text)
        candidates = set(_representatives(dangling))
        candidates |= {c for m in self.marks for c in (m - 1, m, m + 1)
                       if not 0xD800 <= c <= 0xDFFF and chr(c).encode().startswith(dangling)}
        return any(self.viable(text + chr(c)) for c in sorted(candidates))

    def complete_bytes(self, data: bytes) -> bool:
        """True if ``data`` is the UTF-8 encoding of a string of the language."""
        try:
            return self.complete(data.decode("utf-8"))
        except UnicodeDecodeError:
            return False


def _nonempty(pattern) -> bool:
    return pattern.fullmatch("", partial=True) is not None


def _split(data: bytes):
    """(decoded text, trailing incomplete character bytes), or None if not UTF-8."""
    for cut in range(len(data), max(len(data) - 4, -1), -1):
        try:
            text = data[:cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        tail = data[cut:]
        if tail and not _representatives(tail):
            return None
        return text, tail
    return None


def _representatives(dangling: bytes) -> list[int]:
    """Code points completing ``dangling``: the lowest, the highest, and U+2028/U+2029."""
    found = []
    for lo, hi in ((0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF)):
        cps = [c for c in (lo, hi, 0x2028, 0x2029, 0xD7FF, 0xE000) if lo <= c <= hi]
        for c in cps:
            if not 0xD800 <= c <= 0xDFFF and chr(c).encode("utf-8").startswith(dangling):
                found.append(c)
        # The lowest and highest code points of this length that start with ``dangling``.
        if dangling[0] >= 0xC0:
            length = 2 if dangling[0] < 0xE0 else 3 if dangling[0] < 0xF0 else 4
            need = length - len(dangling)
            if need > 0 and len(chr(lo).encode()) == length:
                for fill in (b"\x80" * need, b"\xbf" * need):
                    try:
                        found.append(ord((dangling + fill).decode("utf-8")))
                    except UnicodeDecodeError:
                        pass
    return sorted(set(found))
