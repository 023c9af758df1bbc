"""Shared helpers for pilot tests that drive the app against the real demo node."""
from __future__ import annotations

import asyncio
import html
import re
import time

from textual.app import App

from n9s.ui.app import AppConfig, N9sApp
from n9s.wiring import make_collector
from n9s.sources.containerd import ContainerdClient
from n9s.widgets.resource_table import ResourceTable


class LogsApp(App):
    """An app that shows one logs screen (the log view's tests need no node)."""

    def __init__(self, screen) -> None:
        super().__init__()
        self._logs = screen

    def on_mount(self) -> None:
        self.push_screen(self._logs)


async def log_view_until(pilot, predicate, *, patience_s: float = 30.0) -> None:
    """Let a log view's app run until ``predicate()`` holds (the view loads lines on its own thread). The limit
    only stops a test that would otherwise hang; it is not a speed requirement."""
    from n9s.widgets.log_view import LogView

    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if predicate():
            return
    view = pilot.app.screen.query(LogView)
    state = ""
    if view:
        v = view.first()
        state = (f": follow={v.follow} rows={v.row_count} scroll_y={v.scroll_y} caches={v.cache_sizes} "
                 f"screen={v.visible_text()}")
    raise AssertionError("the view never reached the expected state" + state)


def make_app(node, **config):
    collector = make_collector(str(node.address), "k8s.io", str(node.pods_dir))
    events = ContainerdClient(str(node.address))
    actions = config.pop("actions", None)
    return N9sApp(collector, AppConfig(refresh_s=config.pop("refresh_s", 0.5), **config), events=events,
                  actions=actions)


async def wait_for(pilot, predicate, timeout=15.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.1)
        try:
            if predicate():
                return True
        except LookupError:  # a widget not mounted yet
            pass
    return False


def table_rows(app) -> list[list[str]]:
    table = app.screen.query_one(ResourceTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (from the app's own screenshot)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]*>", "", svg.split("</style>")[-1])).replace("\xa0", " ")


def record_notifications(app, into: list | None = None, tag=None) -> list:
    """Every notification the app shows from now on, appended to `into`: the message, or (*tag(), message)."""
    lines = [] if into is None else into
    notify = app.notify

    def recording(message, *args, **kwargs):
        lines.append(str(message) if tag is None else (*tag(), str(message)))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return lines
