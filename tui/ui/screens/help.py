"""`?`: the keys of the screen it was opened on, read from that screen's ACTIVE bindings (so a key the config's
`[keymap]` moved shows where it is now), worded by the key registry, and marked or left out as the screen's gate
says (read-only mode, remote mode)."""
from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from n9s.core import keys
from n9s.sources.exec import DETACH_KEY_NAME
from n9s.render.viewspec import VIEWS
from n9s.ui.screens.base import N9sModalScreen
from n9s.ui.screens.keyed import bindings

READ_ONLY_MARK = " (disabled: read-only)"
SECTIONS = ("", "Navigation", "Sort", "Table", "App")  # the screen's own actions first


def help_rows(screen: Any) -> list[tuple[str, str, str]]:
    """(section, keys, what) rows for `screen`: every active binding with an id, grouped by what it does."""
    app = screen.app
    state_of = getattr(screen, "key_state", None)
    title = getattr(screen, "help_title", "") or "This screen"
    declared = [a.id for a in getattr(screen, "KEYS", ())]
    grouped: dict[tuple[str, str], list[str]] = {}
    order: dict[tuple[str, str], tuple[int, int]] = {}  # section, then the registry's order (a remapped key moves)
    shown_ids: set[str] = set()
    for seen, active in enumerate(screen.active_bindings.values()):
        binding = active.binding
        if binding.id is None:
            continue  # Textual's own focus and copy keys
        entry = keys.by_id(binding.id)
        state = state_of(binding.action) if state_of is not None else keys.OFFERED
        if not state.shown:
            continue  # this session cannot do it at all: not offered
        if entry is not None:
            section, what = entry.section, entry.what
        else:
            section, what = "Table", binding.tooltip or binding.description
        if state.readonly:
            what += READ_ONLY_MARK
        elif not active.enabled:
            what += " (disabled)"
        grouped.setdefault((section, what), []).append(app.get_key_display(binding))
        position = declared.index(binding.id) if binding.id in declared else len(declared) + seen
        order.setdefault((section, what), (_rank(section), position))
        shown_ids.add(binding.id)
    rows = [(section or title, ", ".join(names), what)
            for (section, what), names in sorted(grouped.items(), key=lambda item: order[item[0]])]
    if shown_ids & {keys.SHELL.id, keys.ATTACH.id}:
        rows.append(("Shell/attach", DETACH_KEY_NAME, "Leave a shell or attach session (also when it hangs)"))
    if "command" in shown_ids:
        rows += [("Views", ":" + " :".join(v.names), v.title) for v in VIEWS]
    return rows


def _rank(section: str) -> int:
    return SECTIONS.index(section) if section in SECTIONS else len(SECTIONS)


class HelpScreen(N9sModalScreen):
    BINDINGS = bindings(keys.HELP_SCREEN)
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 80%; border: round $accent; background: $surface; }
    """

    def __init__(self, rows: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        self.rows = rows
        self.view_title = title

    def compose(self) -> ComposeResult:
        table = Table(title=f"Keys: {self.view_title}", expand=True, show_edge=False)
        table.add_column("SECTION", style="dim")
        table.add_column("KEY", style="bold")
        table.add_column("WHAT")
        for section, key, what in self.rows:
            table.add_row(Text(section), Text(key), Text(what))
        with VerticalScroll():
            yield Static(table, id="help-table")
