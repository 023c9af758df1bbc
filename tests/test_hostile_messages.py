"""Messages that quote a container's names (errors, notifications) reach the terminal sanitised too: a pod whose
name carries escape sequences, with no container, and with a container whose log file is gone."""
from __future__ import annotations

import os

import pytest
from pilot_helpers import make_app, table_rows, wait_for
from test_hostile_oversized import EVIL, screen_text, terminal_problems

from n9s.demo import ContainerSpec, PodSpec

pytestmark = pytest.mark.node


@pytest.fixture
def quiet_pods(demo_node):
    empty = demo_node.run_pod(PodSpec(name=f"empty{EVIL}[/]", namespace="hostile-msg", containers=[]))
    nolog = demo_node.run_pod(PodSpec(name=f"nolog{EVIL}", namespace="hostile-msg",
                                      containers=[ContainerSpec(f"c{EVIL}", ["sleep", "100000"])]))
    os.remove(nolog.log_paths[f"c{EVIL}"])
    yield empty, nolog
    demo_node.remove_pod(empty)
    demo_node.remove_pod(nolog)


def _words(app) -> str:
    """The screen's text as single-spaced words (a notification wraps inside its box, behind a ▌ gutter)."""
    return " ".join(screen_text(app).replace("\u258c", " ").split())


async def test_log_errors_naming_a_hostile_pod_are_shown_without_its_escapes(demo_node, quiet_pods):
    app = make_app(demo_node, refresh_s=1.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: sum(r[0] == "hostile-msg" for r in table_rows(app)) == 2, 20)
        await pilot.press("slash", *"empty", "enter")
        await pilot.pause(0.3)
        assert [r[:2] for r in table_rows(app)] == [["hostile-msg", "empty[/]"]]
        await pilot.press("l")  # no container: a notification names the pod
        assert await wait_for(pilot, lambda: "has no container log files" in _words(app), 4), _words(app)
        assert "pod hostile-msg/empty[/] has no" in _words(app), repr(_words(app)[-400:])
        assert terminal_problems(app) == []

        await pilot.press("escape", "slash", *"nolog", "enter", "enter")  # its containers
        assert await wait_for(pilot, lambda: [r[0] for r in table_rows(app)] == ["c"], 10)
        await pilot.press("l")  # the log file is gone: the logs screen says so, naming the path
        assert await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LogsScreen", 5)
        await pilot.pause(0.3)
        error = str(app.screen.query_one("#log-error").render())
        assert "Cannot show logs: log file" in error and "does not exist" in error
        assert "\x1b" not in error
        assert terminal_problems(app) == []
