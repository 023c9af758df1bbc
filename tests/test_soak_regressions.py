"""What bench/soak.py found, kept fixed: memory that grew for as long as n9s ran."""
from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from n9s.widgets.footer import Footer


class KeysApp(App):
    BINDINGS = [Binding(k, f"notify('{k}')", f"key {k}") for k in "abcdefgh"]

    def compose(self) -> ComposeResult:
        yield Footer()


def live_footer_keys() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


async def test_a_footer_that_recomposes_keeps_only_the_keys_it_shows():
    """Every view switch, filter or screen closed recomposes the footer; Textual's footer kept every key it had
    ever shown (a watcher list on its `compact` reactive), about 40 widgets per log view opened and closed."""
    app = KeysApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        shown = live_footer_keys()
        assert shown >= 8
        for _ in range(30):
            app.screen.refresh_bindings()
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert live_footer_keys() <= shown + 8  # at most one recompose in flight
        footer = app.query_one(Footer)
        assert len(getattr(footer, "__watchers", {}).get("compact", [])) <= 16
