"""What the main screens show, as SVG snapshots (pytest-textual-snapshot) of the app on one fixed picture.

The picture is n9s.demo.fixed_picture's (host name, versions, paths, figures and pids are its own, not this
machine's) and the clock is held at its moment (n9s.core.clock), so a snapshot differs only when a screen does. The
reviewed SVGs are in tests/__snapshots__/test_snapshots/. After a deliberate change to a screen, regenerate them
with `pytest tests/test_snapshots.py --snapshot-update`, look at the diff (the rows are plain text in the SVG) and
commit it with the change.
"""
from __future__ import annotations

import pytest

from n9s.core import clock
from n9s.ui.app import AppConfig, N9sApp
from n9s.demo.fixed_picture import FIXED_NOW, FixedPictureSource, fixed_picture, log_path
from n9s.ui.screens.container_detail import ContainerDetailScreen
from n9s.ui.screens.help import HelpScreen
from n9s.ui.screens.logs import LogsScreen
from n9s.sources.logs.format import format_timestamp
from n9s.widgets.log_view import LogView
from n9s.widgets.resource_table import ResourceTable

from pilot_helpers import wait_for

WIDE = (160, 50)
NARROW = (80, 24)
PODS, CONTAINERS = 7, 9  # in the fixed picture

# A container's log as the kubelet writes it: a line the runtime split (P, then F), colours the view keeps and a
# title-setting and a screen-clearing sequence it must not pass on.
LOG_LINES = [
    (600, "stdout", "F", "listening on :8080"),
    (540, "stdout", "F", "GET /healthz 200 0.4ms"),
    (480, "stderr", "P", "upstream timeout after 30s; retrying request "),
    (480, "stderr", "F", "GET /api/orders (attempt 2)"),
    (420, "stdout", "F", "\x1b[31mERROR\x1b[0m payment service refused the connection"),
    (360, "stdout", "F", "user agent \x1b]0;pwned\x07curl/8.5\x1b[2J with a clear screen in it"),
    (300, "stdout", "F", "GET /healthz 200 0.3ms"),
]
LOG_ROWS = len(LOG_LINES)  # one row per line of the file; the P piece is marked as continued


@pytest.fixture(autouse=True)
def still_clock():
    with clock.frozen_at(FIXED_NOW):
        yield


def fixed_app(pods_dir: str | None = None) -> N9sApp:
    picture = fixed_picture() if pods_dir is None else fixed_picture(pods_dir)
    return N9sApp(FixedPictureSource(picture), AppConfig(refresh_s=2.0))


async def rows_shown(pilot, count: int) -> None:
    app = pilot.app
    assert await wait_for(pilot, lambda: app.picture is not None and app.screen.query_one(ResourceTable).row_count
                          == count), "the view never showed its rows"


async def on_pods(pilot) -> None:
    await rows_shown(pilot, PODS)


async def on_containers(pilot) -> None:
    await rows_shown(pilot, PODS)
    await pilot.press(":", *"co", "enter")
    await rows_shown(pilot, CONTAINERS)


async def on_detail(pilot) -> None:
    await on_containers(pilot)
    await pilot.press("enter")  # the first row: default/web's server
    app = pilot.app
    assert await wait_for(pilot, lambda: isinstance(app.screen, ContainerDetailScreen)
                          and app.screen._shown is not None), "the detail never drew"


async def on_node(pilot) -> None:
    await rows_shown(pilot, PODS)
    await pilot.press(":", *"node", "enter")
    app = pilot.app
    assert await wait_for(pilot, lambda: app.screen.frame.view.name == "node"
                          and app.screen.query_one(ResourceTable).row_count > 0), "the node view never drew"


async def on_logs(pilot) -> None:
    await on_containers(pilot)
    await pilot.press("l")  # the server's log
    app = pilot.app
    assert await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen)), "no logs screen"
    view = app.screen.query_one(LogView)
    await pilot.press("t")  # with timestamps
    last = "GET /healthz 200 0.3ms"
    assert await wait_for(pilot, lambda: view.source.complete and view.row_count == LOG_ROWS
                          and view.show_timestamps and last in "\n".join(view.visible_text())), \
        f"the log never loaded: {view.status_text()}"
    shown = "\n".join(view.visible_text())
    assert "user agent curl/8.5 with a clear screen in it" in shown  # the sequences are gone, the text is not
    assert "\x1b" not in shown and "pwned" not in shown


async def on_help(pilot) -> None:
    await rows_shown(pilot, PODS)
    await pilot.press("question_mark")
    app = pilot.app
    assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


def test_pods(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=on_pods)


def test_pods_in_a_small_terminal(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=NARROW, run_before=on_pods)


def test_containers(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=on_containers)


def test_container_detail(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=on_detail)


def test_node(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=on_node)


def test_logs(snap_compare, tmp_path, monkeypatch):
    # The header shows the log's path: relative to a fixed working directory, it is the same on every run.
    monkeypatch.chdir(tmp_path)
    pods_dir = "var/log/pods"
    path = tmp_path / log_path("default", "web", "server", pods_dir=pods_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(
        f"{format_timestamp(int((FIXED_NOW - ago) * 1e9))} {stream} {tag} {text}\n".encode()
        for ago, stream, tag, text in LOG_LINES))
    assert snap_compare(fixed_app(pods_dir), terminal_size=WIDE, run_before=on_logs)


def test_help(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=on_help)
