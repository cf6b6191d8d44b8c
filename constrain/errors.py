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


class SchemaError(GrammarError):
    """A JSON Schema that cannot be compiled exactly, or that matches no JSON value.

    Attributes:
        keyword: the JSON Schema keyword at fault (e.g. ``"uniqueItems"``), or None when no
            single keyword is (e.g. a schema that is not an object).
        pointer: the JSON pointer of the schema object in the document (``#/properties/tags``).
    """

    def __init__(self, keyword, pointer: str, reason: str = ""):
        self.keyword = keyword
        self.pointer = pointer
        self.reason = reason
        if keyword is None:
            message = f"JSON Schema at {pointer}"
        elif "matches no JSON value" in reason:
            message = f"JSON Schema keyword {keyword!r} at {pointer}"
        else:
            message = f"unsupported JSON Schema keyword {keyword!r} at {pointer}"
        super().__init__(f"{message}: {reason}" if reason else message)


class IncompleteOutputError(ConstrainError):
    """Generation stopped (``max_new_tokens`` ran out) before the grammar accepted the output.

    Attributes:
        text: the partial output, a prefix of some string of the grammar.
    """

    def __init__(self, message: str, text: str):
        self.text = text
        super().__init__(message)
