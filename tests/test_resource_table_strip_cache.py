"""The table keeps each row's painted line (its strip cache) and repaints only the rows and cells that changed: what
the user sees must be exactly what a table painting every line afresh shows, in every state a user meets (scrolled
both ways, cursor, marks, focus and blur, another theme, a refresh that changed a few cells)."""
from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Input

from n9s.render.table import Column, Row
from n9s.widgets.resource_table import ResourceTable

COLUMNS = (Column("NAMESPACE"), Column("NAME"), Column("CPU", numeric=True), Column("STATUS"), Column("IMAGE"))


def row(i: int, cpu: str = "") -> Row:
    cells = (f"team-{i % 3}", f"pod-{i:03d}", cpu or f"{i}m", "Running" if i % 4 else "CrashLoopBackOff",
             f"registry.example/app-{i}:v{i}")
    return Row(f"key-{i}", cells, (i,) * 5, health="ok" if i % 4 else "failed")


class TableApp(App):
    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.initial = rows

    def compose(self) -> ComposeResult:
        yield ResourceTable(id="table")
        yield Input(id="prompt")

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(COLUMNS)
        table.apply(self.initial)
        table.focus()


def drawn(table: ResourceTable) -> list[tuple]:
    """The table's lines as Textual holds them for the screen (the part the scrollbars leave): text and style of every
    segment."""
    strips = table.render_lines(Region(0, 0, *table.scrollable_content_region.size))
    return [(strip.cell_length, [(seg.text, seg.style) for seg in strip]) for strip in strips]


def afresh(table: ResourceTable) -> list[tuple]:
    """The same lines painted from nothing: every cache the table keeps dropped, every line dirty."""
    table.notify_style_update()
    table.refresh()
    return drawn(table)


@pytest.mark.parametrize("size,rows", [((120, 20), 60), ((50, 12), 60), ((120, 20), 4)])
async def test_cached_lines_are_what_a_fresh_paint_draws_in_every_state(size, rows):
    app = TableApp([row(i) for i in range(rows)])
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(ResourceTable)
        states = []

        def check(what: str) -> None:
            shown = drawn(table)
            assert any("pod-0" in "".join(text for text, _ in line) for _, line in shown), what
            assert shown == afresh(table), what
            states.append(what)

        check("first screen")
        await pilot.press("down", "down", "down")
        table.toggle_mark("key-2")
        await pilot.pause()
        check("cursor moved, a row marked")
        await pilot.press("pagedown", "right", "right")
        await pilot.pause()
        check("scrolled down and right")
        table.apply([row(i, cpu=f"{i * 7}m") for i in range(rows)])
        await pilot.pause()
        check("figures changed")
        app.query_one("#prompt").focus()
        await pilot.pause()
        check("table blurred")
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        check("another theme")
        assert len(states) == 6


async def test_a_refresh_that_changed_a_few_cells_shows_them_and_matches_a_fresh_paint():
    app = TableApp([row(i) for i in range(30)])
    async with app.run_test(size=(100, 16)) as pilot:
        await pilot.pause()
        table = app.query_one(ResourceTable)
        painted = table.rows_painted
        table.apply([row(i, cpu="999m" if i in (2, 5) else "") for i in range(30)])
        await pilot.pause()
        assert table.rows_painted == painted + 2  # only the two changed rows were painted again
        shown = drawn(table)
        texts = ["".join(text for text, _ in line) for _, line in shown]
        assert sum("999m" in text for text in texts) == 2
        assert shown == afresh(table)
