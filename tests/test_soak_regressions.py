"""What bench/soak.py found, kept fixed: memory that grew for as long as n9s ran.

Each test runs on n9s's Footer and, as a canary, on Textual's own: the stock runs are strict xfails for the two
upstream leaks n9s's Footer works around (widgets/footer.py). When a Textual release fixes one, its canary passes,
the strict xfail turns the suite red, and the workaround in widgets/footer.py can go.
"""
from __future__ import annotations

import gc

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from n9s.widgets.footer import Footer

WATCHERS_LEAK = "https://github.com/Textualize/textual/issues/6666"
STYLES_CACHE_LEAK = "https://github.com/Textualize/textual/issues/6665"


def footers(leak: str) -> list:
    """n9s's Footer, and Textual's stock Footer as a strict-xfail canary for ``leak``."""
    return [pytest.param(Footer, id="n9s-footer"),
            pytest.param(TextualFooter, id="stock-footer-canary", marks=pytest.mark.xfail(
                strict=True, raises=AssertionError,
                reason=f"Textual leak {leak}; if this passes, Textual fixed it: drop the workaround in "
                       "widgets/footer.py"))]


class KeysApp(App):
    BINDINGS = [Binding(k, f"notify('{k}')", f"key {k}") for k in "abcdefgh"]

    def __init__(self, footer: type[TextualFooter] = Footer) -> None:
        super().__init__()
        self.footer = footer

    def compose(self) -> ComposeResult:
        yield self.footer()


def live_footer_keys() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))


@pytest.mark.parametrize("footer", footers(WATCHERS_LEAK))
async def test_a_footer_that_recomposes_keeps_only_the_keys_it_shows(footer):
    """Every view switch, filter or screen closed recomposes the footer; Textual's footer kept every key it had
    ever shown (a watcher list on its `compact` reactive), about 40 widgets per log view opened and closed."""
    app = KeysApp(footer)
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        shown = live_footer_keys()
        assert shown >= 8
        for _ in range(30):
            app.screen.refresh_bindings()
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert live_footer_keys() <= shown + 8  # at most one recompose in flight
        watchers = getattr(app.query_one(footer), "__watchers", {}).get("compact", [])
        assert len(watchers) <= 16


class Busy(Screen):
    def __init__(self, footer: type[TextualFooter]) -> None:
        super().__init__()
        self.footer = footer

    def compose(self) -> ComposeResult:
        for i in range(20):
            yield Static(f"line {i}")
        yield self.footer()


def live_styles_caches() -> int:
    from textual._styles_cache import StylesCache

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, StylesCache))


@pytest.mark.parametrize("footer", footers(STYLES_CACHE_LEAK))
async def test_screens_opened_and_closed_leave_no_styles_behind(footer):
    """A Textual lru_cache (1,024 entries) kept the styles cache, and the last rendered lines, of every removed
    widget; opening and closing a screen left about 25 of them each time."""
    app = KeysApp(footer)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.push_screen(Busy(footer))
        await pilot.pause(0.1)
        app.pop_screen()
        await pilot.pause(0.1)
        after_one = live_styles_caches()
        for _ in range(12):
            await app.push_screen(Busy(footer))
            await pilot.pause(0.05)
            app.pop_screen()
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert live_styles_caches() <= after_one + 30
