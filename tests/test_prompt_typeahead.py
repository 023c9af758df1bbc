"""Keys typed right behind Enter in the `/` prompt (`/web⏎s`, as a fast typist or a paste sends them) belong to the
table: `s` opens a shell on the filtered row instead of vanishing into the closed prompt."""
from __future__ import annotations

from textual import events

from n9s.ui.app import AppConfig, N9sApp
from n9s.widgets.prompt_input import PromptInput

from pilot_helpers import wait_for
from test_app_first_refresh import CountingCollector


def pod_shells(shells: list) -> list:
    """The kinds of the shells asked for, each checked to be on a pod of the view. The collector names its one
    pod anew on every refresh (sb1, sb2, ...), and a refresh may land between the key and the check."""
    assert all(kind != "pod" or key.startswith("sb") for kind, key in shells), shells
    return [kind for kind, _key in shells]


def app_with_shells() -> tuple[N9sApp, list]:
    """The pods view of a one-pod picture; `s` records the shell it would open."""
    collector = CountingCollector()
    collector.release.set()
    app = N9sApp(collector, AppConfig(refresh_s=60.0, start_view="pods"))
    shells: list = []
    app.open_shell = lambda kind, key: shells.append((kind, key))
    return app, shells


async def test_a_key_typed_behind_enter_reaches_the_table():
    app, shells = app_with_shells()
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        await pilot.press("/")
        # All queued at once, as the terminal delivers them: the prompt sees Enter and `s` before the screen has
        # handled the submit.
        for key, character in (("w", "w"), ("e", "e"), ("b", "b"), ("enter", "\r"), ("s", "s")):
            app.post_message(events.Key(key, character))
        assert await wait_for(pilot, lambda: shells != [])
        assert pod_shells(shells) == ["pod"]
        assert app.screen.frame.filter == "web"  # not "webs"
        assert not app.screen.query_one(PromptInput).is_open


async def test_the_prompt_takes_every_key_while_open():
    app, shells = app_with_shells()
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        await pilot.press("/", *"shell")
        assert app.screen.query_one(PromptInput).value == "shell" and shells == []


def post_burst(app, keys: str) -> None:
    """Queue every key at once, as one read from the terminal delivers a paste."""
    for character in keys:
        key = {"\r": "enter", ":": "colon", "/": "slash", " ": "space"}.get(character, character)
        app.post_message(events.Key(key, character))


async def test_a_command_typed_as_one_burst_goes_into_the_prompt_not_to_the_table():
    app, shells = app_with_shells()
    described: list = []
    app.open_describe = lambda kind, key: described.append((kind, key))
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        post_burst(app, ":snap\r")
        assert await wait_for(pilot, lambda: app.screen.frame.view.name == "snapshots")
        post_burst(app, ":pods\r")
        assert await wait_for(pilot, lambda: app.screen.frame.view.name == "pods")
        post_burst(app, "/web\r")
        assert await wait_for(pilot, lambda: app.screen.frame.filter == "web")
        await pilot.pause(0.2)
        assert shells == [] and described == []  # `s`, `d` of ":snap", ":pods" never reached the table


async def test_a_key_behind_the_command_acts_on_the_view_it_opened():
    app, shells = app_with_shells()
    async with app.run_test() as pilot:
        assert await wait_for(pilot, lambda: app.picture is not None)
        post_burst(app, ":snap\rs:pods\rs")  # `s` does nothing on snapshots, opens a shell on pods
        assert await wait_for(pilot, lambda: shells != [])
        assert app.screen.frame.view.name == "pods"
        assert pod_shells(shells) == ["pod"]  # once: the first `s` was the snapshots view's
