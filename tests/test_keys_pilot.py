"""A key moved in the config file's `[keymap]` is moved everywhere a user reads or presses it: the footer, `?`, the
command palette, the container detail screen, and the key that works (the old one does nothing). Read-only mode
marks the moved key and it says why. Against the demo node, with the keymap read as `n9s` reads its config."""
from __future__ import annotations

import asyncio

import pytest
from pilot_helpers import make_app, record_notifications, screen_text, table_rows, wait_for
from textual.command import CommandPalette
from textual.widgets._footer import FooterKey

from n9s.core.config import load_config
from n9s.ui.screens.browser import BrowserScreen
from n9s.ui.screens.container_detail import ContainerDetailScreen
from n9s.ui.screens.describe import DescribeScreen
from n9s.ui.screens.help import HelpScreen
from n9s.ui.screens.logs import LogsScreen
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node

KEYMAP = '[keymap]\n"view-logs" = "L"\n"view-describe" = "i"\n"view-shell" = "e"\n'


def keymap(tmp_path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(KEYMAP)
    return load_config(config).values["keymap"]


def footer(app) -> dict[str, FooterKey]:
    return {k.description: k for k in app.screen.query(FooterKey)}


async def help_rows(app, pilot) -> list[tuple[str, str]]:
    """`?` as the user reads it: (keys, what) rows."""
    await pilot.press("question_mark")
    assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    rows = [(key, what) for _, key, what in app.screen.rows]
    await pilot.press("escape")
    assert await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
    return rows


def keys_for(rows: list[tuple[str, str]], what: str) -> list[str]:
    return [key for key, text in rows if text.startswith(what)]


async def on_container(app, pilot, name: str, pod: str) -> None:
    await pilot.press("colon", *"co", "enter")
    assert await wait_for(pilot, lambda: any(r[:2] == [name, pod] for r in table_rows(app)), timeout=20)
    index = next(i for i, r in enumerate(table_rows(app)) if r[:2] == [name, pod])
    app.screen.query_one(ResourceTable).move_cursor(row=index)
    await pilot.pause(0.1)


async def test_a_remapped_key_is_the_one_the_footer_help_and_palette_show_and_the_one_that_works(demo_node, tmp_path):
    app = make_app(demo_node, keymap=keymap(tmp_path))
    async with asyncio.timeout(120), app.run_test(size=(200, 50)) as pilot:
        await on_container(app, pilot, "server", "default/web")
        assert await wait_for(pilot, lambda: footer(app).get("Logs") is not None and footer(app)["Logs"].key == "L")
        keys_shown = {desc: k.key for desc, k in footer(app).items()}
        assert keys_shown["Describe"] == "i" and keys_shown["Shell"] == "e"
        rows = await help_rows(app, pilot)
        assert keys_for(rows, "Logs") == ["L"], rows
        assert keys_for(rows, "Describe") + keys_for(rows, "What the runtime") == ["i"], rows
        assert "l" not in [key for key, _ in rows]  # the old key is gone from `?`

        # The palette names the action with the key it has now.
        await pilot.press("ctrl+p")
        assert await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Logs")
        assert await wait_for(pilot, lambda: "Logs (L)" in screen_text(app), timeout=10), screen_text(app)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))

        # The old key does nothing; the new one opens the logs.
        await pilot.press("l")
        await pilot.pause(0.5)
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("L")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("i")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DescribeScreen))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))

        # The container detail screen has the same actions, so the same keys.
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ContainerDetailScreen))
        assert await wait_for(pilot, lambda: footer(app).get("Logs") is not None and footer(app)["Logs"].key == "L")
        assert keys_for(await help_rows(app, pilot), "Logs") == ["L"]
        await pilot.press("l")
        await pilot.pause(0.5)
        assert isinstance(app.screen, ContainerDetailScreen)
        await pilot.press("L")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        await pilot.press("escape", "escape")
        await pilot.press("q")


async def test_in_read_only_mode_the_remapped_key_is_marked_and_says_why(demo_node, tmp_path):
    app = make_app(demo_node, keymap=keymap(tmp_path), readonly=True)
    lines = record_notifications(app)
    async with asyncio.timeout(120), app.run_test(size=(200, 50)) as pilot:
        await on_container(app, pilot, "server", "default/web")
        assert await wait_for(pilot, lambda: footer(app).get("Shell") is not None and footer(app)["Shell"].key == "e")
        assert footer(app)["Shell"].has_class("-disabled") and not footer(app)["Logs"].has_class("-disabled")
        shell = [what for key, what in await help_rows(app, pilot) if key == "e"]
        assert len(shell) == 1 and shell[0].startswith("A shell in the container"), shell
        assert shell[0].endswith("(disabled: read-only)"), shell
        await pilot.press("e")
        await pilot.pause(0.3)
        assert isinstance(app.screen, BrowserScreen) and lines == ["read-only: shell is disabled"]
        await pilot.press("s")  # the old key is not the shell any more
        await pilot.pause(0.3)
        assert lines == ["read-only: shell is disabled"]
        await pilot.press("q")
