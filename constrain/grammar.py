"""Grammar: the language generation is constrained to, before it meets a vocabulary."""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence, Union

from .automata.dfa import ByteDFA, dfa_from_strings
from .automata.regex import regex_to_dfa
from .errors import GrammarError


class Grammar:
    """A language over bytes, built by one of the ``from_*`` constructors.

    Regular languages (regexes, choices) are held as a minimal byte DFA. A grammar is
    independent of any tokenizer; ``constrain.compile(grammar, vocab)`` binds it to one.
    """

    def __init__(self, dfa: ByteDFA, kind: str, source: bytes):
        if dfa.is_empty:
            raise GrammarError(f"the {kind} grammar matches no string at all (empty language)")
        self._dfa = dfa
        self.kind = kind
        self._fingerprint = hashlib.sha256(kind.encode() + b"\0" + source).hexdigest()

    @classmethod
    def from_regex(cls, pattern: str, *, ignore_case: bool = False) -> "Grammar":
        """The strings that match ``pattern`` as a whole (Python ``re`` syntax, ECMA-262 classes).

        Raises RegexError (naming the construct and its position) for constructs that are not
        regular, such as backreferences and lookarounds.
        """
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a str, not {type(pattern).__name__}")
        dfa = regex_to_dfa(pattern, ignore_case=ignore_case)
        return cls(dfa, "regex", f"{int(ignore_case)}:{pattern}".encode("utf-8", "surrogatepass"))

    @classmethod
    def from_choices(cls, choices: Iterable[Union[str, bytes]]) -> "Grammar":
        """Exactly one of the given strings (str as UTF-8, or bytes)."""
        encoded = []
        for i, choice in enumerate(choices):
            if isinstance(choice, str):
                encoded.append(choice.encode("utf-8"))
            elif isinstance(choice, (bytes, bytearray)):
                encoded.append(bytes(choice))
            else:
                raise TypeError(f"choice {i} is a {type(choice).__name__}, not str or bytes")
        if not encoded:
            raise GrammarError("from_choices needs at least one choice")
        unique = sorted(set(encoded))
        source = b"".join(len(c).to_bytes(4, "little") + c for c in unique)
        return cls(dfa_from_strings(unique), "choices", source)

    @property
    def dfa(self) -> ByteDFA:
        """The minimal byte DFA of the language."""
        return self._dfa

    @property
    def fingerprint(self) -> str:
        """A hash of the grammar's source; equal sources give equal fingerprints."""
        return self._fingerprint

    def matches(self, text: Union[str, bytes]) -> bool:
        """True if ``text`` (str as UTF-8, or bytes) is a string of the language."""
        return self._dfa.matches(text.encode("utf-8") if isinstance(text, str) else bytes(text))

    def is_prefix(self, text: Union[str, bytes]) -> bool:
        """True if ``text`` can still be completed to a string of the language."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return self._dfa.is_viable_prefix(data)

    def __repr__(self) -> str:
        return f"Grammar({self.kind}, {self._dfa.n_states} states)"
