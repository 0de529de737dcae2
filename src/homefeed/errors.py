"""Typed errors that the CLI and the HTTP layer turn into messages a person can act on."""

from __future__ import annotations


class HomefeedError(Exception):
    """Base class of every error homefeed raises on purpose; ``code`` is a stable identifier a
    client can branch on (the HTTP layer maps each class to a status)."""

    code = "conflict"


class NotFoundError(HomefeedError):
    """A requested item, user or model does not exist."""

    code = "not_found"


class InvalidInputError(HomefeedError):
    """Input that breaks a rule; the message names the field and what was expected."""

    code = "invalid_input"

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

    code = "model_not_trained"


class ConfigurationError(HomefeedError):
    """Settings that cannot work, found at start-up (e.g. an unknown pipeline component)."""

    code = "configuration"


class TooLargeError(HomefeedError):
    """Work the engine refuses before starting it because it would not fit (a dense model over
    too large a catalog); the message says what to use instead."""

    code = "too_large"


class UnavailableError(HomefeedError):
    """A part the request needs is not available now (the store is busy or away, a model
    reload failed); trying again later may succeed."""

    code = "unavailable"
