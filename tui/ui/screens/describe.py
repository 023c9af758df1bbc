"""`d` and `y`: a scrollable, searchable text document (YAML or JSON of what the runtime says)."""
from __future__ import annotations

import logging

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Input, Static, TextArea

from n9s.widgets.footer import Footer

from n9s.core import keys
from n9s.core.failures import failure_line
from n9s.core.sanitize import sanitize_text
from n9s.ui.screens.base import N9sScreen
from n9s.ui.screens.keyed import Keyed, bindings

log = logging.getLogger("n9s.render.describe")


class DescribeScreen(Keyed, N9sScreen):
    KEYS = keys.DESCRIBE_SCREEN
    BINDINGS = bindings(KEYS)
    help_title = "Describe"
    DEFAULT_CSS = """
    DescribeScreen #title { height: 1; background: $boost; padding: 0 1; }
    DescribeScreen #search { display: none; }
    DescribeScreen #search.visible { display: block; }
    """

    def __init__(self, title: str, loader, language: str | None = "yaml") -> None:
        super().__init__()
        self.doc_title = title
        self.loader = loader  # () -> str, runs in a thread
        self.language = language
        self.term = ""

    def compose(self) -> ComposeResult:
        yield Static(sanitize_text(self.doc_title), id="title")
        yield TextArea("loading…", read_only=True, id="doc", show_line_numbers=True)
        yield Input(placeholder="/ search", id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        try:
            text = self.loader()
        except Exception as err:  # noqa: BLE001 - shown to the user in one line, the traceback logged
            log.warning("%s: could not load", self.doc_title, exc_info=err)
            text = f"could not load: {failure_line(err)}"
        self.app.call_from_thread(self._show, "\n".join(sanitize_text(line, tab_size=2) for line in text.split("\n")))

    def _show(self, text: str) -> None:
        doc = self.query_one("#doc", TextArea)
        doc.text = text
        if self.language:
            try:
                doc.language = self.language
            except Exception:  # noqa: BLE001 - highlighting is optional (tree-sitter may be missing)
                pass
        doc.focus()

    def action_close(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_class("visible"):
            search.remove_class("visible")
            self.query_one("#doc").focus()
            return
        self.dismiss()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("visible")
        search.focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.term = event.value
        event.input.remove_class("visible")
        self.query_one("#doc").focus()
        self.action_next_match()

    def _find(self, forward: bool) -> None:
        if not self.term:
            return
        doc = self.query_one("#doc", TextArea)
        lines = doc.text.split("\n")
        row, col = doc.cursor_location
        term = self.term.lower()
        order = list(range(row + 1, len(lines))) + list(range(0, row + 1)) if forward else (
            list(range(row - 1, -1, -1)) + list(range(len(lines) - 1, row - 1, -1))
        )
        for r in order:
            c = lines[r].lower().find(term)
            if c >= 0:
                doc.cursor_location = (r, c)
                doc.scroll_cursor_visible(center=True)
                return
        self.notify(f"{self.term!r} not found", severity="warning")

    def action_next_match(self) -> None:
        self._find(True)

    def action_previous_match(self) -> None:
        self._find(False)
