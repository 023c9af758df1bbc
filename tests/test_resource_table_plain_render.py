"""The table draws its lines itself when its box is plain (no border, padding, tint or opacity), skipping Textual's
general line styling: what reaches the screen must be exactly what the general path draws, in every state a user
meets (scrolled both ways, cursor, marks, focus and blur, another theme, a repaint of a few cells), and a table that
is given a border still gets it."""
from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.scroll_view import ScrollView
from textual.widgets import Input

from n9s.render.table import Column, Row
from n9s.widgets.resource_table import ResourceTable

COLUMNS = (Column("NAMESPACE"), Column("NAME"), Column("CPU", numeric=True), Column("STATUS"), Column("IMAGE"))


def row(i: int, cpu: str = "") -> Row:
    cells = (f"team-{i % 3}", f"pod-{i:03d}", cpu or f"{i}m", "Running" if i % 4 else "CrashLoopBackOff",
             f"registry.example/app-{i}:v{i}")
    return Row(f"key-{i}", cells, (i,) * 5, health="ok" if i % 4 else "failed")


class TableApp(App):
    CSS = ""

    def __init__(self, rows: list[Row], css: str = "") -> None:
        super().__init__()
        self.initial = rows
        self.extra_css = css

    def compose(self) -> ComposeResult:
        yield ResourceTable(id="table")
        yield Input(id="prompt")

    def on_mount(self) -> None:
        if self.extra_css:
            self.stylesheet.add_source(self.extra_css, read_from=("test", "extra"))
            self.stylesheet.reparse()
            self.stylesheet.update(self)
        table = self.query_one(ResourceTable)
        table.set_columns(COLUMNS)
        table.apply(self.initial)
        table.focus()


def drawn(strips) -> list[tuple]:
    return [(strip.cell_length, [(seg.text, seg.style) for seg in strip]) for strip in strips]


def both_ways(table: ResourceTable, crop: Region) -> tuple[list, list]:
    """The fast path's lines and the general path's (Textual's StylesCache, its line cache emptied first)."""
    assert table._plain_box()  # noqa: SLF001
    plain = drawn(table.render_lines(crop))
    table._styles_cache.clear()  # noqa: SLF001
    general = drawn(ScrollView.render_lines(table, crop))
    return plain, general


def crops(table: ResourceTable) -> list[Region]:
    width, height = table.region.size
    return [Region(0, 0, width, height), Region(3, 1, 9, height - 2), Region(width - 6, 0, 6, 3)]


@pytest.mark.parametrize("size,rows", [((120, 20), 60), ((50, 12), 60), ((120, 20), 4)])
async def test_plain_lines_are_what_the_general_path_draws_in_every_state(size, rows):
    app = TableApp([row(i) for i in range(rows)])
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(ResourceTable)
        states = []

        def check(what: str) -> None:
            for crop in crops(table):
                plain, general = both_ways(table, crop)
                assert plain == general, f"{what}, crop {crop}"
            states.append(what)

        check("first screen")
        await pilot.press("down", "down", "down")
        table.marked.add("key-2")
        table.refresh()
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


async def test_a_changed_cell_on_screen_matches_a_full_repaint():
    """What the user sees after a refresh that changed a few cells is what a full repaint of the screen shows."""
    app = TableApp([row(i) for i in range(30)])
    async with app.run_test(size=(100, 16)) as pilot:
        await pilot.pause()
        table = app.query_one(ResourceTable)
        table.apply([row(i, cpu="999m" if i in (2, 5) else "") for i in range(30)])
        await pilot.pause()
        partial = [[(s.text, s.style) for s in strip] for strip in app.screen._compositor.render_strips()]  # noqa: SLF001
        assert any("999m" in "".join(text for text, _ in line) for line in partial)
        app.screen._compositor._dirty_regions.clear()  # noqa: SLF001
        table._styles_cache.clear()  # noqa: SLF001
        app.refresh(repaint=True, layout=True)
        await pilot.pause()
        full = [[(s.text, s.style) for s in strip] for strip in app.screen._compositor.render_strips()]  # noqa: SLF001
        assert ["".join(t for t, _ in line) for line in partial] == ["".join(t for t, _ in line) for line in full]


async def test_a_table_given_a_border_and_padding_still_draws_them():
    app = TableApp([row(i) for i in range(10)], css="ResourceTable { border: round red; padding: 0 1; }")
    async with app.run_test(size=(100, 16)) as pilot:
        await pilot.pause()
        table = app.query_one(ResourceTable)
        assert not table._plain_box()  # noqa: SLF001
        lines = ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]  # noqa: SLF001
        assert lines[0].startswith("╭") and lines[1].startswith("│  NAMESPACE")  # border, padding, cell padding
        assert any(line.startswith("│  team-0") for line in lines)
