"""Lending the real terminal to a shell or attach session, and taking it back, however the session ends, so that no
key typed for the session acts on n9s: what is still unread when the session ends is discarded before n9s reads the
terminal again, and n9s comes back behind a screen that drops keys for a moment (n9s.ui.screens.session_ended)."""
from __future__ import annotations

import os
import termios
from contextlib import contextmanager
from typing import Any, Iterator


def discard_typeahead(fd: int) -> None:
    """Drop the bytes typed on terminal `fd` that nobody has read yet (TCIFLUSH)."""
    try:
        if os.isatty(fd):
            termios.tcflush(fd, termios.TCIFLUSH)
    except (OSError, termios.error):
        pass  # the terminal went away: nothing is left to discard


@contextmanager
def lend_terminal(app: Any, stdin_fd: int) -> Iterator[None]:
    """`App.suspend()` around the session. Raises SuspendNotSupported, before lending anything, where the app is
    not on a real terminal. However the session ends (an error too), the keys it left unread are discarded and the
    app comes back behind SessionEnded."""
    from n9s.ui.screens.session_ended import SessionEnded

    lent = False
    failed: BaseException | None = None
    try:
        with app.suspend():
            lent = True
            try:
                yield
            except BaseException as err:  # noqa: BLE001 - raised again below
                # App.suspend() takes the terminal back only when its block ends without an exception: a session
                # that failed to open would leave n9s frozen on a terminal in line mode.
                failed = err
            finally:
                discard_typeahead(stdin_fd)  # before the app's input thread starts again
    finally:
        if lent:
            app.push_screen(SessionEnded())
    if failed is not None:
        raise failed
