"""`?`: the keys of the current view, generated from the bindings and the view registry."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..viewspec import VIEWS, ViewSpec
from .base import N9sModalScreen


def _key(key: str) -> str:
    names = {
        "colon": ":", "slash": "/", "question_mark": "?", "escape": "esc", "less_than_sign": "<",
        "greater_than_sign": ">", "exclamation_mark": "!", "space": "space",
    }
    return ",".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def help_rows(view: ViewSpec, bindings: list[Binding], readonly: bool) -> list[tuple[str, str, str]]:
    """(section, key, what) rows: the view's own keys first, then navigation."""
    rows = []
    for spec in view.keys:
        note = " (disabled: read-only)" if spec.dangerous and readonly else ""
        rows.append((view.title, _key(spec.key), spec.description + note))
    view_actions = {k.action for v in VIEWS for k in v.keys}
    for b in bindings:
        if b.action in view_actions:
            continue
        rows.append(("Navigation", _key(b.key), b.tooltip or b.description))
    rows.append(("Navigation", "ctrl+p", "Command palette: jump to a pod or container by name"))
    rows.append(("Navigation", "q, ctrl+c", "Quit"))
    rows.append(("Shell/attach", "ctrl+]", "Leave a shell or attach session (also when it hangs)"))
    rows.append(("Views", ":" + " :".join(VIEWS[0].names), "Pods"))
    for v in VIEWS[1:]:
        rows.append(("Views", ":" + " :".join(v.names), v.title))
    return rows


class HelpScreen(N9sModalScreen):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help-close", tooltip="Close the help"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 80%; border: round $accent; background: $surface; }
    """

    def __init__(self, view: ViewSpec, bindings: list[Binding], readonly: bool) -> None:
        super().__init__()
        self.rows = help_rows(view, bindings, readonly)
        self.view_title = view.title

    def compose(self) -> ComposeResult:
        table = Table(title=f"Keys: {self.view_title}", expand=True, show_edge=False)
        table.add_column("SECTION", style="dim")
        table.add_column("KEY", style="bold")
        table.add_column("WHAT")
        for section, key, what in self.rows:
            table.add_row(section, key, what)
        with VerticalScroll():
            yield Static(table, id="help-table")
