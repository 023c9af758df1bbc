"""An exception in any worker (the refresh, a screen's worker, the log view's reader thread) gives a notification
and a line with its traceback in the log file; the app keeps running and refreshing. `--debug` makes the log
verbose (each refresh)."""
from __future__ import annotations

import logging
import os
import stat

import pytest

from pilot_helpers import make_app, table_rows, wait_for

from n9s.cli import build_parser, setup_logging
from n9s.widgets.log_view import LogView
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node


@pytest.fixture
def log_file(tmp_path, request):
    """The log file as `n9s [--debug] --log-file PATH` sets it up; the handler is removed afterwards."""
    path = tmp_path / "state" / "n9s.log"
    argv = ["--log-file", str(path)] + (["--debug"] if getattr(request, "param", False) else [])
    logger = logging.getLogger("n9s")
    before, level = list(logger.handlers), logger.level
    setup_logging(build_parser().parse_args(argv))
    yield path
    for handler in logger.handlers:
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)


def text_of(path) -> str:
    for handler in logging.getLogger("n9s").handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


class Notes:
    """Captures what the app notifies (and still shows it)."""

    def __init__(self, app, monkeypatch) -> None:
        self.messages: list[tuple[str, str]] = []
        show = app.notify

        def notify(message, **kw):
            self.messages.append((str(message), kw.get("severity", "information")))
            return show(message, **kw)

        monkeypatch.setattr(app, "notify", notify)

    def errors(self, text: str) -> list[str]:
        return [m for m, severity in self.messages if severity == "error" and text in m]


class FailingOnce:
    """A collector whose next refresh raises (a bug, not a source failure)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.armed = False

    def refresh(self, **kwargs):
        if self.armed:
            self.armed = False
            raise RuntimeError("injected refresh failure")
        return self.inner.refresh(**kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_refresh_exception_notifies_logs_and_refreshing_goes_on(demo_node, log_file, monkeypatch):
    app = make_app(demo_node)
    app.collector = FailingOnce(app.collector)
    async with app.run_test(size=(140, 30)) as pilot:
        notes = Notes(app, monkeypatch)
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        app.collector.armed = True
        # A bug's own message (here a RuntimeError's) stays in the log file: the screen says what failed, in words.
        said = "refresh failed: an internal error in n9s (details in the log file)"
        assert await wait_for(pilot, lambda: bool(notes.errors(said)), timeout=20), notes.messages
        assert not app.collector.armed
        # The loop goes on: newer pictures keep coming, and the table with them.
        taken = app.picture.taken_at
        assert await wait_for(pilot, lambda: app.picture.taken_at > taken, timeout=20)
        await pilot.press("down")
        assert app.is_running and len(table_rows(app)) >= len(demo_node.pods)
    log = text_of(log_file)
    assert "worker refresh failed" in log and "RuntimeError: injected refresh failure" in log
    assert "Traceback" in log
    assert "refresh took" not in log  # not verbose without --debug
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600


@pytest.mark.parametrize("log_file", [True], indirect=True, ids=["debug"])
async def test_debug_flag_logs_every_refresh(demo_node, log_file):
    app = make_app(demo_node)
    async with app.run_test(size=(140, 30)) as pilot:
        assert await wait_for(pilot, lambda: text_of(log_file).count("refresh took") >= 2, timeout=20)


async def test_screen_worker_exception_is_reported_and_the_app_goes_on(demo_node, log_file, monkeypatch):
    import n9s.ui.screens.container_detail as detail_screen

    def broken_detail(collector, row, facts=None):
        raise ValueError("injected detail failure")

    monkeypatch.setattr(detail_screen, "container_detail", broken_detail)
    app = make_app(demo_node)
    async with app.run_test(size=(140, 30)) as pilot:
        notes = Notes(app, monkeypatch)
        await pilot.press("colon", *"co", "enter")
        assert await wait_for(pilot, lambda: any(r[0] == "holder" for r in table_rows(app)))
        index = next(i for i, r in enumerate(table_rows(app)) if r[0] == "holder")
        app.screen.query_one(ResourceTable).move_cursor(row=index)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: bool(notes.errors("injected detail failure")), timeout=20), notes.messages
        assert type(app.screen).__name__ == "ContainerDetailScreen"
        await pilot.press("escape")
        taken = app.picture.taken_at
        assert await wait_for(pilot, lambda: app.picture.taken_at > taken, timeout=20)
        assert app.is_running and any(r[0] == "holder" for r in table_rows(app))
    log = text_of(log_file)
    assert "ValueError: injected detail failure" in log and "Traceback" in log


async def test_log_reader_thread_exception_is_reported_and_following_goes_on(demo_node, log_file, monkeypatch):
    app = make_app(demo_node)
    async with app.run_test(size=(140, 30)) as pilot:
        notes = Notes(app, monkeypatch)
        await pilot.press("colon", *"co", "enter")
        assert await wait_for(pilot, lambda: any(r[0] == "logger" for r in table_rows(app)))
        index = next(i for i, r in enumerate(table_rows(app)) if r[0] == "logger")
        app.screen.query_one(ResourceTable).move_cursor(row=index)
        await pilot.press("l")
        assert await wait_for(pilot, lambda: bool(app.screen.query(LogView)), timeout=20)
        view = app.screen.query_one(LogView)
        assert await wait_for(pilot, lambda: "served" in "\n".join(view.visible_text()), timeout=20)
        source = view.source
        real_poll = source.poll
        calls = []

        def poll_failing_once():
            calls.append(1)
            if len(calls) == 1:
                raise KeyError("injected reader failure")
            return real_poll()

        monkeypatch.setattr(source, "poll", poll_failing_once)
        assert await wait_for(pilot, lambda: bool(notes.errors("injected reader failure")), timeout=20), notes.messages
        shown = "\n".join(view.visible_text())
        # The reader goes on: the container's next lines still arrive.
        assert await wait_for(pilot, lambda: "\n".join(view.visible_text()) != shown, timeout=20)
    log = text_of(log_file)
    assert "log view worker failed" in log and "KeyError: 'injected reader failure'" in log
