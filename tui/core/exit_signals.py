"""SIGTERM and SIGHUP end n9s's TUI in every state, and the terminal is left as it was found.

The handler asks the app to end through its event loop (thread-safe, so it may interrupt the loop anywhere). A guard
thread then gives the app GRACE_S to finish; if it has not (its loop is stuck), the guard puts the terminal back
itself and ends the process. Headless: no textual or rich imports.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
import threading
from typing import Callable, Iterator

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
GRACE_S = 2.0
# What a full-screen app turns on, turned off: synchronized output, focus events, bracketed paste, mouse reports,
# the kitty keyboard protocol; then the cursor shown and the main screen back.
RESET = ("\x1b[?2026l\x1b[?1004l\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[<u"
         "\x1b[?25h\x1b[?1049l")


class TerminalState:
    """The terminal's modes when n9s started, to put back if n9s must end without its UI's own teardown."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.modes: list | None = None
        for stream in (sys.__stdin__, sys.__stderr__, sys.__stdout__):
            if stream is None:
                continue
            try:
                fd = stream.fileno()
                if os.isatty(fd):
                    self.fd, self.modes = fd, termios.tcgetattr(fd)
                    return
            except (AttributeError, ValueError, OSError, termios.error):
                continue

    def restore(self) -> None:
        if self.fd is None or self.modes is None:
            return
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(self.fd, termios.TCSANOW, self.modes)
        with contextlib.suppress(OSError):
            os.write(self.fd, RESET.encode())


@contextlib.contextmanager
def exit_on_signals(ask_exit: Callable[[int], None], *, grace_s: float = GRACE_S,
                    terminal: TerminalState | None = None) -> Iterator[list[int]]:
    """Within the block, SIGTERM and SIGHUP call ``ask_exit(signum)`` and arm the guard; leaving the block disarms
    it and puts the old handlers back. Yields the list of signals received."""
    terminal = terminal or TerminalState()
    done = threading.Event()
    received: list[int] = []

    def guard(signum: int) -> None:
        if done.wait(grace_s):
            return
        terminal.restore()
        os._exit(128 + signum)

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001 - signal handler signature
        first = not received
        received.append(signum)
        ask_exit(signum)
        if first:
            threading.Thread(target=guard, args=(signum,), name="n9s-exit-guard", daemon=True).start()

    old = {s: signal.signal(s, handler) for s in EXIT_SIGNALS}
    try:
        yield received
    finally:
        done.set()
        for s, h in old.items():
            signal.signal(s, h)
