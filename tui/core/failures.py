"""The one line a failure shows on screen. Headless: no textual here."""
from __future__ import annotations

from n9s.core.sanitize import sanitize_label
from n9s.sources.errors import SourceError

# Failures n9s expects and whose message a user can act on: a source's (runtime, API), the operating system's,
# and a value the user gave that does not fit.
EXPECTED = (SourceError, OSError, ValueError)
INTERNAL = "an internal error in n9s"


def failure_line(err: BaseException | None, limit: int = 300) -> str:
    """An expected failure says its message, sanitised. Anything else is a bug in n9s, whose message (an attribute,
    a type, a traceback) means nothing to an operator: the screen says so in words, the log file has the rest."""
    if isinstance(err, EXPECTED):
        return sanitize_label(str(err), limit)
    return INTERNAL
