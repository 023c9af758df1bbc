"""Hostile terminals: 40x12, resize storms, NO_COLOR, and a 256-colour terminal without truecolor (what an ssh
session usually gives). Every view stays usable, nothing crashes, colours degrade. The colour checks run the whole
`n9s` command on a pseudo-terminal and read the escape sequences it writes."""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
from pty_app import readable
from textual.events import Resize
from textual.geometry import Size

from pilot_helpers import make_app, table_rows, wait_for

from n9s.widgets.log_view import LogView
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node


def screen_lines(app) -> list[str]:
    """The characters on the (virtual) terminal, one string per line."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def on_screen(app, text: str) -> bool:
    return any(text in line for line in screen_lines(app))


def table_usable(app, min_rows: int = 3) -> bool:
    """The table is on screen with its header and at least `min_rows` whole rows, the first row's name readable."""
    table = app.screen.query_one(ResourceTable)
    if table.row_count == 0:
        return False
    visible = table.region.height - 1 - (1 if table.show_horizontal_scrollbar else 0)  # header, scrollbar
    first = str(table.get_row_at(0)[0])[:8]
    return table.region.width >= 30 and visible >= min(min_rows, table.row_count) and on_screen(app, first)


async def press_on_row(pilot, app, predicate, *keys) -> None:
    assert await wait_for(pilot, lambda: any(predicate(r) for r in table_rows(app)))
    index = next(i for i, r in enumerate(table_rows(app)) if predicate(r))
    app.screen.query_one(ResourceTable).move_cursor(row=index)
    await pilot.press(*keys)


async def test_every_view_is_usable_at_40x12(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(40, 12)) as pilot:
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        for view, label in (("pods", "pods"), ("co", "containers"), ("tasks", "tasks"), ("snap", "snapshots"),
                            ("img", "images"), ("node", "node")):
            await pilot.press("colon", *view, "enter")
            assert await wait_for(pilot, lambda: on_screen(app, f" {label} [") and table_usable(app)), \
                "\n".join(screen_lines(app))
            assert on_screen(app, "Command")  # the footer's keys are still there
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen" and on_screen(app, "Keys"))
        assert on_screen(app, "Switch")  # the first key's text is readable
        await pilot.press("escape")

        await pilot.press("colon", *"pods", "enter")
        await press_on_row(pilot, app, lambda r: r[1] == "web", "d")
        assert await wait_for(pilot, lambda: on_screen(app, "name: web"), timeout=10), "\n".join(screen_lines(app))
        await pilot.press("escape")

        await pilot.press("colon", *"co", "enter")
        await press_on_row(pilot, app, lambda r: r[0] == "logger", "l")
        assert await wait_for(pilot, lambda: bool(app.screen.query(LogView)) and on_screen(app, "served"),
                              timeout=10), "\n".join(screen_lines(app))
        assert app.screen.query_one(LogView).region.height >= 5
        await pilot.press("escape")

        await press_on_row(pilot, app, lambda r: r[0] == "holder", "enter")
        assert await wait_for(pilot, lambda: on_screen(app, "RUNNING") and on_screen(app, "demo/mem"), timeout=10), \
            "\n".join(screen_lines(app))
        await pilot.press("escape")
        assert app.is_running


async def test_resize_storm_then_layout_fills_the_terminal(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(demo_node.pods))
        sizes = [(40, 12), (300, 90), (20, 6), (1, 1), (80, 24), (41, 13), (200, 10), (10, 50)]
        for round_ in range(3):
            for view in ("co", "pods"):
                # A burst: many resizes queued before the app can draw even once.
                for i in range(40):
                    size = Size(*sizes[(i + round_) % len(sizes)])
                    app._driver._size = size
                    app.post_message(Resize(size, size))
                await pilot.press("colon", *view, "enter", "down", "down")
                await pilot.pause(0.05)
        # Pilot's own resize, step by step, down to nothing and back.
        for width, height in ((60, 20), (40, 12), (2, 2), (100, 30)):
            await pilot.resize_terminal(width, height)
        await pilot.pause(0.5)
        assert app.size == Size(100, 30)
        assert app.screen.query_one(ResourceTable).region.width == 100
        assert await wait_for(pilot, lambda: table_usable(app, min_rows=len(demo_node.pods)))
        taken = app.picture.taken_at
        assert await wait_for(pilot, lambda: app.picture.taken_at > taken)  # still refreshing
        assert app.is_running


# ---- the real command on a pseudo-terminal ----

CHILD = r"""
import sys
from n9s.cli import main
sys.exit(main(sys.argv[1:]))
"""
SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def run_on_pty(demo_node, tmp_path, env_changes: dict[str, str | None], seconds_after_rows: float = 2.0) -> bytes:
    """Run n9s on a 120x30 pty until the pods are painted, keep reading a little longer, then quit; all output."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    env.pop("TEXTUAL", None)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    argv = ["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "--no-api",
            "--log-file", str(tmp_path / "n9s.log")]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True, close_fds=True, env=env)
    os.close(slave)
    out = b""
    painted_at = None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if painted_at is None and b"graceful" in SGR.sub(b"", out):
                painted_at = time.monotonic()
            if painted_at is not None and time.monotonic() > painted_at + seconds_after_rows:
                break
            ready = readable(master, 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        assert painted_at is not None, f"n9s never painted the pods: {SGR.sub(b'', out)[-800:]!r}"
        os.write(master, b"q")
        end = time.monotonic() + 10
        while child.poll() is None and time.monotonic() < end:
            if readable(master, 0.2):
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        try:
            code = child.wait(timeout=max(end - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, f"n9s did not quit cleanly on q: {code}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    return out


def colours(out: bytes) -> dict[str, set[tuple[int, ...]]]:
    """The colours the output sets, by kind: truecolor (r, g, b), 256-colour (n,), 16-colour (code,)."""
    found: dict[str, set[tuple[int, ...]]] = {"truecolor": set(), "256": set(), "16": set()}
    for match in SGR.finditer(out):
        params = [int(p) if p else 0 for p in match.group(1).split(b";")]
        i = 0
        while i < len(params):
            p = params[i]
            if p in (38, 48) and i + 1 < len(params) and params[i + 1] == 2:
                found["truecolor"].add(tuple(params[i + 2:i + 5]))
                i += 5
            elif p in (38, 48) and i + 1 < len(params) and params[i + 1] == 5:
                found["256"].add((params[i + 2],))
                i += 3
            else:
                if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
                    found["16"].add((p,))
                i += 1
    return found


def test_256_colour_terminal_without_truecolor_gets_no_truecolor(demo_node, tmp_path):
    out = run_on_pty(demo_node, tmp_path, {"TERM": "xterm-256color", "COLORTERM": None})
    found = colours(out)
    assert not found["truecolor"], f"truecolor sequences on a 256-colour terminal: {sorted(found['truecolor'])[:5]}"
    assert len(found["256"]) >= 3  # still in colour, from the 256-colour palette


def test_no_color_gives_grey_only(demo_node, tmp_path):
    out = run_on_pty(demo_node, tmp_path, {"NO_COLOR": "1"})
    found = colours(out)
    hues = {c for c in found["truecolor"] if len(set(c)) > 1}
    assert not hues, f"coloured (not grey) output with NO_COLOR: {sorted(hues)[:5]}"
    assert not found["256"] and not found["16"]
    plain = SGR.sub(b"", out)
    assert b"crash" in plain and b"Error" in plain  # what colour said is still said in words


