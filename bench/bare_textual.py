"""A bare Textual app that does nothing: a header line, an empty body and a footer (``python -m bench.bare_textual``).
Its CPU while idle is what any Textual app costs before it does any work: the refresh scenario measures it in the
same run, beside n9s."""
from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class BareApp(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("bare textual app")
        yield Static("")
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
