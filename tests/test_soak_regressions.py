"""What bench/soak.py found, kept fixed: memory that grew for as long as n9s ran."""
from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
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


class Busy(Screen):
    def compose(self) -> ComposeResult:
        for i in range(20):
            yield Static(f"line {i}")
        yield Footer()


def live_styles_caches() -> int:
    from textual._styles_cache import StylesCache

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, StylesCache))


async def test_screens_opened_and_closed_leave_no_styles_behind():
    """A Textual lru_cache (1,024 entries) kept the styles cache, and the last rendered lines, of every removed
    widget; opening and closing a screen left about 25 of them each time."""
    app = KeysApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await app.push_screen(Busy())
        await pilot.pause(0.1)
        app.pop_screen()
        await pilot.pause(0.1)
        after_one = live_styles_caches()
        for _ in range(12):
            await app.push_screen(Busy())
            await pilot.pause(0.05)
            app.pop_screen()
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert live_styles_caches() <= after_one + 30
