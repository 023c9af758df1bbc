"""ctrl-k in the container detail: end one of the container's exec processes. Opens on Cancel; dismisses with
the chosen ExecRow, or None (Escape, Cancel). The dialog changes nothing itself."""
from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, RadioButton, RadioSet, Static

from n9s.model.picture import ExecRow
from n9s.render.detail import owner_text
from n9s.core.sanitize import sanitize_label
from n9s.sources.exec_procs import HANGUP_GRACE_S
from n9s.ui.screens.base import N9sModalScreen


def exec_choice_label(e: ExecRow) -> str:
    return f"pid {e.pid}  {sanitize_label(e.command, 60) or '?'}  ({owner_text(e.owner)})"


class EndExecDialog(N9sModalScreen[ExecRow | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="end-exec-cancel", tooltip="Close; change nothing")]
    DEFAULT_CSS = """
    EndExecDialog { align: center middle; }
    EndExecDialog > #dialog { width: 84; max-width: 100%; height: auto; max-height: 95%;
                              border: thick $error 70%; background: $surface; padding: 0 1; }
    EndExecDialog #title { text-style: bold; padding: 0 0 1 0; }
    EndExecDialog #execs { width: 100%; border: none; padding: 0; }
    EndExecDialog #consequences { padding: 1 0 0 0; }
    EndExecDialog #buttons { height: auto; align-horizontal: right; padding: 1 0 0 0; }
    EndExecDialog #buttons Button { margin: 0 0 0 2; }
    """

    def __init__(self, label: str, execs: Sequence[ExecRow]) -> None:
        super().__init__()
        self.label = sanitize_label(label, 120)
        self.execs = list(execs)
        self.chosen = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"End an exec process in {self.label}?"), id="title")
            yield RadioSet(*[RadioButton(Text(exec_choice_label(e)), value=i == 0, id=f"exec-{i}")
                             for i, e in enumerate(self.execs)], id="execs")
            yield Static(Text(
                f"• containerd sends SIGHUP to the exec's process, then SIGKILL if it is still there after "
                f"{HANGUP_GRACE_S:g} s.\n"
                "• Processes it started are not signalled; those in its terminal's foreground get SIGHUP when it "
                "ends.\n"
                "• A session attached to it (another user's kubectl exec) ends with it."), id="consequences")
            with Horizontal(id="buttons"):
                yield Button("End", variant="error", id="confirm")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # a destructive dialog opens on Cancel

    @on(RadioSet.Changed, "#execs")
    def _chosen(self, event: RadioSet.Changed) -> None:
        self.chosen = event.radio_set.pressed_index

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(self.execs[self.chosen] if 0 <= self.chosen < len(self.execs) else None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
