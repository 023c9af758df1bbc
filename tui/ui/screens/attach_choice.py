"""`a`: the small choice before attaching to a container's main process: watch only, or type into it too."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from n9s.core.sanitize import sanitize_label
from n9s.ui.screens.base import N9sModalScreen

READ_ONLY = "read-only"
WITH_STDIN = "stdin"


class AttachChoice(N9sModalScreen[str | None]):
    """Dismisses with READ_ONLY, WITH_STDIN, or None (cancelled). WITH_STDIN is offered only when the container
    keeps its stdin open (`stdin_open`), since keys would go nowhere otherwise."""

    BINDINGS = [
        Binding("r,enter", "choose('read-only')", "Read-only", id="attach-read-only", tooltip="Watch the output"),
        Binding("i", "choose('stdin')", "With stdin", id="attach-stdin", tooltip="Send keys to the process"),
        Binding("escape,q", "choose('')", "Cancel", id="attach-cancel", tooltip="Do not attach"),
    ]
    DEFAULT_CSS = """
    AttachChoice { align: center middle; }
    AttachChoice > Vertical { width: 76; max-width: 100%; height: auto; border: round $accent;
                              background: $surface; padding: 0 1; }
    """

    def __init__(self, label: str, *, tty: bool, stdin_open: bool) -> None:
        super().__init__()
        self.label = sanitize_label(label)
        self.tty = tty
        self.stdin_open = stdin_open

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(f"Attach to the main process of {self.label}\n", style="bold")
        text.append(f"its terminal: {'a TTY' if self.tty else 'no TTY (stdout and stderr)'}\n\n", style="dim")
        text.append("r / Enter", style="bold")
        text.append("  read-only: watch the output; ctrl-] or ctrl-c leaves\n")
        if self.stdin_open:
            text.append("i        ", style="bold")
            text.append("  with stdin: your keys go to the process; ctrl-] leaves\n")
        else:
            text.append("(the container does not keep stdin open, so read-only is the only way)\n", style="dim")
        text.append("Esc      ", style="bold")
        text.append("  cancel")
        with Vertical():
            yield Static(text, id="attach-text")

    def action_choose(self, choice: str) -> None:
        if choice == WITH_STDIN and not self.stdin_open:
            self.app.bell()
            return
        self.dismiss(choice or None)
