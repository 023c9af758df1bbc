"""The screen n9s comes back behind after a shell session: every key typed before it has been seen for a quiet
moment is dropped, the app's priority keys (ctrl-c quits) included; a key after that only closes it."""
from __future__ import annotations

from textual import events

from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.session_ended import QUIET_S, SessionEnded

from pilot_helpers import wait_for
from test_prompt_typeahead import app_with_shells, post_burst


async def test_keys_before_a_quiet_moment_are_dropped_then_one_key_goes_back():
    app, shells = app_with_shells()
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        guard = SessionEnded()
        app.push_screen(guard)
        # Queued at once, as they come when the terminal is handed back: the screen has not been drawn yet.
        app.post_message(events.Key("ctrl+c", None))
        app.post_message(events.Key("ctrl+d", None))
        post_burst(app, "\r s:q\r")
        await pilot.pause(0.2)
        assert app.is_running and app.screen is guard  # ctrl-c did not quit, `:q` did not either
        assert guard.dropped == 8
        assert shells == []
        # A user who waits a moment, then presses a key, is back on the table; that key did nothing else.
        for _ in range(5):
            await pilot.pause(2 * QUIET_S)
            await pilot.press("s")
            if isinstance(app.screen, BrowserScreen):
                break
        assert isinstance(app.screen, BrowserScreen)
        assert shells == []
        await pilot.press("s")
        assert await wait_for(pilot, lambda: shells != [])  # and the next key is the table's again
