"""The screen n9s shows when the terminal comes back from a shell or attach, however the session ended (exit,
detach, the container killed, the stream refused or cut): keys typed while it ended were meant for the session, so
none of them may act on n9s. It takes every key (the key gate hands them to it before any binding, n9s.ui.key_gate)
and drops them until it has been on the screen for a quiet moment; the first key after that only closes it."""
from __future__ import annotations

import time

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from n9s.ui.screens.base import N9sModalScreen

QUIET_S = 0.5  # after it is drawn, and after each key dropped: a burst of stray keys keeps it up


class SessionEnded(N9sModalScreen[None]):
    DEFAULT_CSS = """
    SessionEnded { align: center middle; }
    SessionEnded > Vertical { width: 64; max-width: 100%; height: auto; border: round $warning;
                              background: $surface; padding: 0 1; }
    """

    def __init__(self, quiet_s: float = QUIET_S) -> None:
        super().__init__()
        self.quiet_s = quiet_s
        self._quiet_until: float | None = None  # None until drawn: every key before that is dropped
        self.dropped = 0

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("The session has ended.\n", style="bold")
        text.append("Keys typed while it ended were not passed on.\n")
        text.append("Press any key to go back to n9s.", style="bold")
        with Vertical():
            yield Static(text, id="session-ended-text")

    def on_mount(self) -> None:
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        self._quiet_until = time.monotonic() + self.quiet_s

    def trap_key(self, event: events.Key) -> None:
        """Every key while this screen is up comes here, and goes no further."""
        now = time.monotonic()
        if self._quiet_until is None or now < self._quiet_until:
            self.dropped += 1
            if self._quiet_until is not None:
                self._quiet_until = now + self.quiet_s
            return
        self.dismiss()
