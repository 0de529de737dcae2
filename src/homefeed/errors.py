"""Typed errors that the CLI and the HTTP layer turn into messages a person can act on."""

from __future__ import annotations


class HomefeedError(Exception):
    """Base class of every error homefeed raises on purpose."""


class NotFoundError(HomefeedError):
    """A requested item, user or model does not exist."""


class InvalidInputError(HomefeedError):
    """Input that breaks a rule; the message names the field and what was expected."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RowError(InvalidInputError):
    """A bad row in an imported file: names the file, line, column and what was expected."""

    def __init__(self, source: str, line: int, column: str, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{source}, line {line}, column {column!r}: {problem}", field=column)


class ModelNotTrainedError(HomefeedError):
    """No trained model version exists yet."""


class ConfigurationError(HomefeedError):
    """Settings that cannot work, found at start-up (e.g. an unknown pipeline component)."""


class TooLargeError(HomefeedError):
    """Work the engine refuses before starting it because it would not fit (a dense model over
    too large a catalog); the message says what to use instead."""
