"""The user's terminal during a session: a clean screen, a status line on top that names the target, and the
session in the scroll region below it, so the line stays while the session's output scrolls. Headless.

The session is told it has one row fewer than the terminal, and origin mode puts its row 1 on the terminal's
row 2, so a program that moves the cursor or clears the screen stays below the line. Clearing the whole screen
erases the line too, and a full reset drops the scroll region: after such output the line is drawn again (and the
region set again). A program that sets scroll regions of its own can still draw over the line until it clears
the screen or leaves; that is the price of passing its output through unchanged."""
from __future__ import annotations

from typing import Callable

CLEAR_HOME = b"\x1b[H\x1b[2J"
SAVE, RESTORE = b"\x1b7", b"\x1b8"  # DECSC/DECRC: cursor, attributes and origin mode
ORIGIN_ON, ORIGIN_OFF = b"\x1b[?6h", b"\x1b[?6l"
WHOLE_REGION = b"\x1b[r"
REVERSE, PLAIN = b"\x1b[7m", b"\x1b[0m"
MIN_ROWS = 3  # below this the line would leave the session almost nothing: no line then

# Output after which the line is drawn again: erasing the whole screen, switching screens.
REDRAW_AFTER = (b"\x1b[2J", b"\x1b[3J", b"\x1b[?1049", b"\x1b[?1047", b"\x1b[?47")
# ... and after which the scroll region and origin mode are set again: a full reset, the whole-screen region.
SETUP_AFTER = (b"\x1bc", WHOLE_REGION, b"\x1b[;r", ORIGIN_OFF)


class SessionScreen:
    """``write`` puts bytes on the terminal; ``size`` gives (columns, rows) or None. ``status`` is our own text,
    already safe to print."""

    def __init__(self, write: Callable[[bytes], None], size: Callable[[], tuple[int, int] | None],
                 status: str) -> None:
        self._write = write
        self._size = size
        self.status = status
        self.shown = status
        self.cols, self.rows = size() or (80, 24)
        self.active = False

    @property
    def has_line(self) -> bool:
        return self.rows >= MIN_ROWS

    def remote_size(self) -> tuple[int, int]:
        """The (columns, rows) the session gets: the terminal's, less the status line."""
        return self.cols, self.rows - 1 if self.has_line else self.rows

    def _region(self) -> bytes:
        return f"\x1b[2;{self.rows}r".encode() + ORIGIN_ON if self.has_line else b""

    def _line(self) -> bytes:
        if not self.has_line:
            return b""
        width = max(1, self.cols - 1)  # the last column would wrap on some terminals
        text = self.shown[:width].ljust(width).encode("utf-8", "replace")
        return SAVE + ORIGIN_OFF + b"\x1b[1;1H\x1b[2K" + REVERSE + text + PLAIN + RESTORE

    def begin(self) -> None:
        """A clean screen, the line, and the cursor at the top of the session's region."""
        self.active = True
        self.cols, self.rows = self._size() or (self.cols, self.rows)
        if not self.has_line:
            self._write(CLEAR_HOME + self.shown.encode("utf-8", "replace") + b"\r\n")
            return
        self._write(CLEAR_HOME + self._region() + self._line())

    def resized(self) -> None:
        """The terminal changed size: the region follows it and the line is drawn again."""
        size = self._size()
        if size is None or size == (self.cols, self.rows):
            return
        self.cols, self.rows = size
        self._write(SAVE + (self._region() if self.has_line else WHOLE_REGION + ORIGIN_OFF) + RESTORE
                    + self._line())

    def show(self, text: str) -> None:
        """Put ``text`` (ours, safe) in the line instead of the status, e.g. a question; ``show(status)`` back."""
        self.shown = text
        if self.has_line:
            self._write(self._line())
        else:
            self._write(b"\r\n" + text.encode("utf-8", "replace") + b"\r\n")

    def output(self, chunk: bytes) -> None:
        """Write the session's output; after a reset of the region (which homes the cursor) the region is set
        again right there, and after a clear the line is drawn again."""
        if not self.has_line or b"\x1b" not in chunk:
            self._write(chunk)
            return
        cut = max((chunk.rfind(s) + len(s) for s in SETUP_AFTER if s in chunk), default=-1)
        if cut >= 0:
            self._write(chunk[:cut] + self._region() + self._line())
            chunk = chunk[cut:]
        self._write(chunk)
        if any(s in chunk for s in REDRAW_AFTER):
            self._write(self._line())

    def end(self) -> None:
        """The whole screen back to normal, the cursor on the last row."""
        if not self.active:
            return
        self.active = False
        if self.has_line:
            self._write(PLAIN + ORIGIN_OFF + WHOLE_REGION + f"\x1b[{self.rows};1H".encode() + b"\r\n")
