"""Exceptions raised by constrain. Every error names the problem and where it is."""


class ConstrainError(Exception):
    """Base class of every error raised by constrain."""


class GrammarError(ConstrainError, ValueError):
    """A grammar that cannot be compiled: bad syntax, an empty language, an unsupported construct."""


class RegexError(GrammarError):
    """A regular expression that cannot be compiled.

    Attributes:
        pattern: the regular expression.
        position: the 0-based character offset of the problem in ``pattern``.
    """

    def __init__(self, message: str, pattern: str, position: int):
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} at position {position} in regex {pattern!r}")


class VocabularyError(ConstrainError, ValueError):
    """A tokenizer whose vocabulary cannot be turned into byte strings."""
