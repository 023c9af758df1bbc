"""Keystroke latency on the containers view: from a key sent to the first frame that shows its effect.

Headless Textual app in its own process (``python -m bench.keys --address SOCK --pods-dir DIR``, prints JSON).
``App._display`` is wrapped: each frame the compositor produces is also turned into terminal output
(``render_segments``, what a real terminal run does before writing) and time-stamped; a key's latency ends at
the first frame taken after the key's effect is in the widgets (cursor row moved, filter applied, prompt opened).
The refresh loop runs as usual (2 s), so keys that land during a refresh wait for it, as a user's would.

Baseline in the same process: a bare Textual app with one DataTable holding the same rows and one Input, where
typing filters by substring with clear() + add_rows(): what Textual itself costs for the same keys.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Callable

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input

FILTER = "sleeper-1"
GAP_S = 0.12  # between keys: a fast typist


class FrameClock:
    """Wraps app._display: renders each frame to terminal bytes and notes when a wanted condition first shows."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.frames = 0
        self._want: Callable[[], bool] | None = None
        self._seen: asyncio.Event = asyncio.Event()
        self.seen_at = 0.0
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            render = getattr(renderable, "render_segments", None)
            if render is not None:
                render(app.console)
            self.frames += 1
            if self._want is not None and self._want():
                self.seen_at = time.perf_counter()
                self._want = None
                self._seen.set()

        app._display = display  # type: ignore[method-assign]

    async def press(self, key: str, want: Callable[[], bool], timeout: float = 10.0) -> float:
        """Seconds from sending `key` to the first frame where `want()` holds."""
        self._seen = asyncio.Event()
        self._want = want
        sent = time.perf_counter()
        press = asyncio.create_task(self.app._press_keys([key]))
        try:
            await asyncio.wait_for(self._seen.wait(), timeout)
        except asyncio.TimeoutError:
            self._want = None
            raise RuntimeError(f"key {key!r}: no frame showed its effect within {timeout:g}s "
                               f"(focus {self.app.focused!r}, {self.frames} frames)") from None
        finally:
            await press
        return self.seen_at - sent


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_s": statistics.median(ordered), "p95_s": ordered[max(0, int(len(ordered) * 0.95) - 1)],
            "max_s": ordered[-1], "min_s": ordered[0], "n": len(ordered)}


def _current_key(table: DataTable) -> object:
    if not isinstance(table, DataTable):  # n9s's ResourceTable names its row itself
        return table.current_key
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # noqa: BLE001 - an empty table has no cursor row
        return None


async def cursor_keys(clock: FrameClock, table: DataTable, jumps: list[str]) -> tuple[list[float], int]:
    """Latencies of cursor keys, and how many samples were dropped because a refresh moved the cursor while the
    key was on its way (then the frame seen may be the refresh's, not the key's)."""
    out, dropped = [], 0
    plan = ["down"] * 25 + ["up"] * 10 + ["pagedown"] * 3 + ["pageup"] * 2
    for key in plan:
        before = (table.cursor_row, _current_key(table))
        at_end = before[0] >= table.row_count - 1
        if (key in ("down", "pagedown") and at_end) or (key in ("up", "pageup") and before[0] <= 0):
            continue  # nowhere to go: no frame would come
        jumped = len(jumps)
        latency = await clock.press(key, lambda b=before: (table.cursor_row, _current_key(table)) != b)
        if len(jumps) != jumped:
            dropped += 1
        else:
            out.append(latency)
        await asyncio.sleep(GAP_S)
    return out, dropped


async def filter_keys(clock: FrameClock, typed: Callable[[], str | None], prompt_open: Callable[[], bool],
                      count: Callable[[], int]) -> tuple[list[float], int]:
    """Latencies of `/`, each character of FILTER and two backspaces; and the rows left by the whole FILTER."""
    out = [await clock.press("slash", prompt_open)]
    await asyncio.sleep(GAP_S)
    text = ""
    for ch in FILTER:
        text += ch
        out.append(await clock.press(ch, lambda t=text: typed() == t))
        await asyncio.sleep(GAP_S)
    rows = count()
    for _ in range(2):
        text = text[:-1]
        out.append(await clock.press("backspace", lambda t=text: typed() == t))
        await asyncio.sleep(GAP_S)
    return out, rows


# ---- n9s ----

async def run_n9s(address: str, pods_dir: str, size: tuple[int, int], refresh_s: float) -> dict:
    from n9s.ui.app import AppConfig, N9sApp
    from n9s.cli import make_collector
    from n9s.sources.containerd import ContainerdClient
    from n9s.widgets.resource_table import ResourceTable

    jumps: list[str] = []

    class TracedApp(N9sApp):
        def on_picture_ready(self, message) -> None:  # a refresh must leave the cursor where the user put it
            table = self.screen.query_one(ResourceTable)
            before = (table.cursor_row, table.current_key)
            super().on_picture_ready(message)
            after = (table.cursor_row, table.current_key)
            if before[1] is not None and before != after:
                jumps.append(f"refresh moved the cursor from row {before[0]} ({before[1][:12]}) "
                             f"to {after[0]} ({(after[1] or '')[:12]})")

    collector = make_collector(address, "k8s.io", pods_dir)
    app = TracedApp(collector, AppConfig(refresh_s=refresh_s, start_view="containers"),
                 events=ContainerdClient(address))
    async with app.run_test(size=size) as pilot:
        clock = FrameClock(app)
        deadline = time.monotonic() + 120
        # all rows in, and a second refresh done (CPU figures need two samples)
        while time.monotonic() < deadline:
            await pilot.pause(0.2)
            p = app.picture
            if p is not None and any(c.figures.cpu_cores is not None for c in p.containers):
                break
        table = app.screen.query_one(ResourceTable)
        rows = table.row_count
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(rows)]
        columns = table.column_labels
        cursor, dropped = await cursor_keys(clock, table, jumps)
        screen = app.screen
        prompt = screen.query_one("#prompt", Input)
        filt, filtered_rows = await filter_keys(
            clock, lambda: screen.frame.filter if prompt.has_class("visible") else None,
            lambda: prompt.has_class("visible") and prompt.has_focus, lambda: table.row_count)
        clear = [await clock.press("escape", lambda: not prompt.has_class("visible"))]
        await asyncio.sleep(GAP_S)
        clear.append(await clock.press("escape", lambda: screen.frame.filter == "" and table.row_count == rows))
        refresh_wall = app.last_refresh_s
        await pilot.press("q")
    return {"rows": rows, "filtered_rows": filtered_rows, "cursor_jumps": jumps, "dropped": dropped, "cursor": cursor, "filter": filt, "clear": clear,
            "frames": clock.frames, "refresh_wall_s": refresh_wall, "cells": cells, "columns": columns}


# ---- baseline: bare DataTable + Input ----

class BareApp(App):
    BINDINGS = [Binding("slash", "filter", "Filter"), Binding("escape", "back", "Back")]
    CSS = "DataTable { height: 1fr; }"

    def __init__(self, columns: list[str], cells: list[list[str]]) -> None:
        super().__init__()
        self.column_names = columns
        self.cells = cells
        self.filter_text: str | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")
        yield Input(id="prompt")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.column_names)
        table.add_rows(self.cells)
        table.focus()

    def action_filter(self) -> None:
        self.filter_text = ""
        self.query_one(Input).focus()

    def action_back(self) -> None:
        if self.query_one(Input).has_focus:
            self.query_one(DataTable).focus()
            return
        self.filter_text = None
        self._show("")

    def _show(self, text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([r for r in self.cells if text in " ".join(r)])

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._show(event.value)


async def run_bare(columns: list[str], cells: list[list[str]], size: tuple[int, int]) -> dict:
    app = BareApp(columns, cells)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        clock = FrameClock(app)
        table = app.query_one(DataTable)
        prompt = app.query_one(Input)
        cursor, _ = await cursor_keys(clock, table, [])
        filt, _ = await filter_keys(clock, lambda: app.filter_text, lambda: prompt.has_focus, lambda: table.row_count)
        clear = [await clock.press("escape", lambda: table.has_focus)]
        await asyncio.sleep(GAP_S)
        clear.append(await clock.press("escape", lambda: app.filter_text is None and table.row_count == len(cells)))
    return {"rows": len(cells), "cursor": cursor, "filter": filt, "clear": clear}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.keys")
    p.add_argument("--address", required=True)
    p.add_argument("--pods-dir", required=True)
    p.add_argument("--refresh", type=float, default=2.0)
    p.add_argument("--cols", type=int, default=160)
    p.add_argument("--rows", type=int, default=50)
    args = p.parse_args(argv)
    size = (args.cols, args.rows)
    n9s = asyncio.run(run_n9s(args.address, args.pods_dir, size, args.refresh))
    bare = asyncio.run(run_bare(n9s.pop("columns"), n9s.pop("cells"), size))
    out = {"rows": n9s["rows"], "filtered_rows": n9s["filtered_rows"], "refresh_wall_s": n9s["refresh_wall_s"],
           "cursor_jumps": n9s["cursor_jumps"], "dropped": n9s["dropped"]}
    for name in ("cursor", "filter", "clear"):
        out[name] = {"n9s": _summary(n9s[name]), "bare": _summary(bare[name])}
    out["all"] = {"n9s": _summary(n9s["cursor"] + n9s["filter"] + n9s["clear"]),
                  "bare": _summary(bare["cursor"] + bare["filter"] + bare["clear"])}
    out["raw"] = {"n9s": {k: n9s[k] for k in ("cursor", "filter", "clear")},
                  "bare": {k: bare[k] for k in ("cursor", "filter", "clear")}}
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
