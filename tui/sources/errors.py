"""Errors every source raises: one message a user can act on, never a traceback."""
from __future__ import annotations


class SourceError(Exception):
    """A failure talking to an outside system, with a message meant for the user."""

    source = "source"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class Unreachable(SourceError):
    """The endpoint is missing, refused the connection, or is not what we expected."""


class NotAnswering(Unreachable):
    """The endpoint took the call but gave no answer before the deadline (hung, frozen, overloaded).
    ``waited_s``: how long the call waited, when known."""

    def __init__(self, message: str, *, hint: str = "", waited_s: float = 0.0) -> None:
        super().__init__(message, hint=hint)
        self.waited_s = waited_s


class InvalidAddress(Unreachable):
    """The runtime address cannot name a unix socket at all (too long, a NUL in it): no retry will help."""


class PermissionDenied(SourceError):
    """The endpoint exists but this user may not use it."""


class Unimplemented(SourceError):
    """The runtime does not implement a call (older runtime, or a plugin disabled)."""


class NotFound(SourceError):
    """The object asked for does not exist (any more)."""


class CallFailed(SourceError):
    """The runtime answered with an error."""


class ReadOnlyRefused(SourceError):
    """A change to the node was asked for while n9s runs read-only."""
