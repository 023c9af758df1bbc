"""The main list table as a user sees it (headless pilot): rows, cursor, marks, filter subsets, truncation, the fixed
header, and that a refresh repaints only the rows that changed."""
from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from n9s.render.table import Column, Row
from n9s.widgets.resource_table import ResourceTable

COLUMNS = (Column("NAMESPACE"), Column("NAME"), Column("CPU", numeric=True), Column("STATUS"))


def pod(i: int, cpu: str | None = None, status: str = "Running", health: str = "ok", name: str | None = None) -> Row:
    cells = ("default", name or f"pod-{i:03d}", cpu if cpu is not None else f"{i}m", status)
    return Row(f"key-{i}", cells, (i,) * 4, health=health)


def pods(n: int) -> list[Row]:
    return [pod(i) for i in range(n)]


class TableApp(App):
    def __init__(self, rows: list[Row], columns=COLUMNS) -> None:
        super().__init__()
        self.initial = rows
        self.columns = columns
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield ResourceTable(id="table")

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(self.columns)
        table.apply(self.initial)
        table.focus()

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        self.selected.append(event.key)


def table_of(app: App) -> ResourceTable:
    return app.query_one(ResourceTable)


def screen_lines(app: App) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]  # noqa: SLF001


def screen_segments(app: App) -> list[list]:
    return [list(strip) for strip in app.screen._compositor.render_strips()]  # noqa: SLF001


def line_with(app: App, text: str) -> str:
    return next(line for line in screen_lines(app) if text in line)


def style_of(app: App, text: str):
    for strip in screen_segments(app):
        for seg in strip:
            if text in seg.text:
                return seg.style
    raise AssertionError(f"{text!r} is not on screen")


async def test_rows_appear_in_order_with_their_cells_under_the_header():
    app = TableApp(pods(5))
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].split() == ["NAMESPACE", "NAME", "CPU", "STATUS"]
        assert [line.split() for line in lines[1:6]] == [["default", f"pod-{i:03d}", f"{i}m", "Running"]
                                                         for i in range(5)]
        table = table_of(app)
        assert table.row_count == 5 and table.keys == [f"key-{i}" for i in range(5)]
        assert [str(c) for c in table.get_row_at(2)] == ["default", "pod-002", "2m", "Running"]
        assert "key-3" in table.rows and table.get_row_index("key-3") == 3


async def test_a_changed_cell_is_painted_and_only_its_row_is_rendered_again():
    rows = pods(8)
    app = TableApp(rows)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = table_of(app)
        painted = table.rows_painted
        assert painted >= 8
        rows[3] = pod(3, cpu="999m", status="OOMKill", health="oom")  # as wide as before: no column grows
        table.apply(list(rows))
        await pilot.pause()
        assert line_with(app, "pod-003").split() == ["default", "pod-003", "999m", "OOMKill"]
        assert table.rows_painted == painted + 1  # the one changed row, nothing else
        oom, plain = style_of(app, "OOMKill"), style_of(app, "pod-004")
        assert oom.bold and oom.color != plain.color  # the oom health colour
        # The same rows again: nothing is rendered.
        table.apply(list(rows))
        await pilot.pause()
        assert table.rows_painted == painted + 1


async def test_a_row_changed_again_and_again_always_shows_its_current_cells():
    # A repaint takes the unchanged cells from the row's last paint: no cell may come back stale.
    rows = pods(4)
    app = TableApp(rows)
    async with app.run_test(size=(70, 8)) as pilot:
        await pilot.pause()
        table = table_of(app)
        for cpu, status in (("5m", "Running"), ("7m", "Running"), ("7m", "Waiting"), ("1m", "Running"),
                            ("12345678m", "Running")):  # the last one widens CPU: every cell is fitted again
            rows[1] = pod(1, cpu=cpu, status=status)
            table.apply(list(rows))
            await pilot.pause()
            assert line_with(app, "pod-001").split() == ["default", "pod-001", cpu, status]
            assert line_with(app, "pod-002").split() == ["default", "pod-002", "2m", "Running"]


async def test_only_the_changed_cells_are_repainted_and_they_cover_the_new_text():
    # Textual sends only the repainted spans to the terminal: the span must cover every changed cell, exactly.
    rows = pods(6)
    app = TableApp(rows)
    async with app.run_test(size=(70, 10)) as pilot:
        await pilot.pause()
        table = table_of(app)
        before = line_with(app, "pod-003")
        rows[3] = pod(3, cpu="9m", status="Waiting")
        table.apply(list(rows))
        regions = list(table._repaint_regions)  # noqa: SLF001 - what goes to the terminal
        await pilot.pause()
        after = line_with(app, "pod-003")
        assert len(regions) == 1 and regions[0].y == 1 + 3
        x0, x1 = regions[0].x, regions[0].right
        changed = [x for x, (a, b) in enumerate(zip(before, after)) if a != b]
        assert changed and x0 <= changed[0] and changed[-1] < x1  # every changed character is inside
        assert after[x0:x1].split() == ["9m", "Waiting"]  # from the CPU cell to the STATUS cell, nothing more
        assert before[:x0] == after[:x0]


async def test_cursor_stays_on_its_row_when_rows_are_inserted_above_or_reordered():
    rows = pods(10)
    app = TableApp(rows)
    async with app.run_test(size=(60, 14)) as pilot:
        table = table_of(app)
        await pilot.press("down", "down", "down")
        assert table.current_key == "key-3" and table.cursor_row == 3
        table.apply([pod(100), pod(101)] + rows)
        await pilot.pause()
        assert table.current_key == "key-3" and table.cursor_row == 5
        table.apply(list(reversed(rows)))
        await pilot.pause()
        assert table.current_key == "key-3" and table.cursor_row == 6
        assert table.rows_painted > 0
        # and the highlight moved with it: the cursor row is painted with the cursor style
        cursor_bg = style_of(app, "pod-003").bgcolor
        assert cursor_bg != style_of(app, "pod-004").bgcolor


async def test_cursor_clamps_when_its_row_disappears():
    rows = pods(6)
    app = TableApp(rows)
    async with app.run_test(size=(60, 12)) as pilot:
        table = table_of(app)
        await pilot.press("end")
        assert table.current_key == "key-5"
        table.apply(rows[:3])
        await pilot.pause()
        assert table.cursor_row == 2 and table.current_key == "key-2"
        table.apply([])
        await pilot.pause()
        assert table.current_key is None and table.row_count == 0
        await pilot.press("down", "enter")  # no rows: keys do nothing, and nothing breaks
        assert app.selected == []


async def test_a_filtered_subset_shows_only_those_rows_and_back():
    rows = pods(30)
    app = TableApp(rows)
    async with app.run_test(size=(60, 40)) as pilot:
        table = table_of(app)
        subset = [r for r in rows if r.cells[1].endswith("7")]
        table.apply(subset)
        await pilot.pause()
        shown = [line.split()[1] for line in screen_lines(app)[1:] if line.strip()]
        assert shown == ["pod-007", "pod-017", "pod-027"]
        table.apply(rows)
        await pilot.pause()
        assert table.row_count == 30 and "pod-029" in line_with(app, "pod-029")


async def test_marks_show_reversed_and_enter_selects_the_cursor_row():
    app = TableApp(pods(5))
    async with app.run_test(size=(60, 10)) as pilot:
        table = table_of(app)
        table.toggle_mark("key-1")
        await pilot.pause()
        assert table.marked == {"key-1"}
        assert style_of(app, "pod-001").reverse and not style_of(app, "pod-002").reverse
        table.toggle_mark("key-1")
        await pilot.pause()
        assert not style_of(app, "pod-001").reverse
        await pilot.press("down", "enter")
        assert app.selected == ["key-1"]


async def test_a_click_moves_the_cursor_to_the_row_and_a_second_click_opens_it():
    app = TableApp(pods(5))
    async with app.run_test(size=(60, 10)) as pilot:
        table = table_of(app)
        await pilot.click(ResourceTable, offset=(3, 3))  # line 0 is the header: line 3 is row 2
        assert table.current_key == "key-2" and app.selected == []
        await pilot.click(ResourceTable, offset=(3, 3))
        assert app.selected == ["key-2"]
        await pilot.click(ResourceTable, offset=(3, 0))  # the header selects nothing
        assert table.current_key == "key-2"


async def test_wide_and_cjk_text_is_cut_to_the_column_with_an_ellipsis():
    columns = (Column("NAME", width=10), Column("STATUS"))
    rows = [Row("a", ("日本語の長いポッド名前", "Running"), ("", "")), Row("b", ("x" * 30, "Running"), ("", ""))]
    app = TableApp(rows, columns)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        cjk, latin = lines[1], lines[2]
        assert cjk.startswith(" 日本語の") and "…" in cjk and cell_len(cjk.split("…")[0]) <= 1 + 10
        assert latin.startswith(" " + "x" * 9 + "… ")
        # both STATUS cells start in the same terminal column
        assert cell_len(cjk[:cjk.index("Running")]) == latin.index("Running")


async def test_a_huge_cell_is_capped_and_control_characters_never_reach_the_screen():
    rows = [Row("a", ("evil\x1b[31m\x07name", "z" * 5000), ("", "")), Row("b", ("ok", "\x9b2J"), ("", ""))]
    app = TableApp(rows, (Column("NAME"), Column("NOTE")))
    async with app.run_test(size=(100, 8)) as pilot:
        await pilot.pause()
        text = "".join(screen_lines(app))
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
        assert "evil" in text and "name" in text
        assert "z" * 60 in text and "z" * 100 not in text and "…" in text
        await pilot.press("right", "right", "end")  # scrolling across the long column is fine
        assert table_of(app).current_key == "b"


async def test_header_stays_on_top_after_scrolling_down_100_rows():
    app = TableApp(pods(300))
    async with app.run_test(size=(60, 20)) as pilot:
        table = table_of(app)
        for _ in range(100):
            await pilot.press("down")
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].split()[:4] == ["NAMESPACE", "NAME", "CPU", "STATUS"]
        assert table.cursor_row == 100
        assert any("pod-100" in line for line in lines[1:])  # the cursor row is scrolled into view
        assert not any("pod-050" in line for line in lines)
        await pilot.press("pagedown")
        assert table.cursor_row == 100 + table.scrollable_content_region.height - 1
        await pilot.press("home")
        assert table.cursor_row == 0 and "pod-000" in screen_lines(app)[1]


async def test_numeric_columns_are_right_aligned_and_text_columns_left():
    rows = [pod(1, cpu="5m"), pod(2, cpu="1250m"), pod(3, cpu="-")]
    app = TableApp(rows)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        ends = {cpu: line.index(f" {cpu} ") + 1 + len(cpu) for cpu, line in zip(("5m", "1250m", "-"), lines[1:4])}
        assert len(set(ends.values())) == 1  # figures end in one column
        starts = {line.index("Running") for line in lines[1:4]}
        assert len(starts) == 1


async def test_columns_grow_for_a_wider_cell_never_shrink_and_reset_on_set_columns():
    app = TableApp([pod(1, name="a")])
    async with app.run_test(size=(80, 8)) as pilot:
        table = table_of(app)
        status_at = screen_lines(app)[1].index("Running")
        table.apply([pod(1, name="a-much-longer-pod-name")])
        await pilot.pause()
        wider = screen_lines(app)[1].index("Running")
        assert wider > status_at
        table.apply([pod(1, name="a")])
        await pilot.pause()
        assert screen_lines(app)[1].index("Running") == wider  # no jumping back
        table.set_columns(COLUMNS, sort_index=2, reverse=True)
        table.apply([pod(1, name="a")])
        await pilot.pause()
        assert screen_lines(app)[1].index("Running") == status_at
        assert table.column_labels[2] == "CPU↓" and "CPU↓" in screen_lines(app)[0]
        table.relabel_sort(1, False)
        await pilot.pause()
        assert "NAME↑" in screen_lines(app)[0] and "CPU↓" not in screen_lines(app)[0]


async def test_cursor_and_rows_follow_focus_and_the_theme():
    from textual.widgets import Input

    class WithInput(TableApp):
        def compose(self) -> ComposeResult:
            yield ResourceTable(id="table")
            yield Input(id="prompt")

    app = WithInput(pods(5))
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        focused = style_of(app, "pod-000")
        app.query_one("#prompt").focus()
        await pilot.pause()
        blurred = style_of(app, "pod-000")
        assert blurred.bgcolor != focused.bgcolor  # the cursor dims when the table is not focused
        dark_row = style_of(app, "pod-001")
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert style_of(app, "pod-001").bgcolor != dark_row.bgcolor  # cached rows were repainted in the new theme


async def test_a_row_listed_twice_is_shown_once():
    app = TableApp(pods(3))
    async with app.run_test(size=(60, 10)) as pilot:
        table = table_of(app)
        table.apply([pod(0), pod(1), pod(1, cpu="7m"), pod(2)])
        await pilot.pause()
        assert table.keys == ["key-0", "key-1", "key-2"]
        assert [line.split()[1] for line in screen_lines(app)[1:4]] == ["pod-000", "pod-001", "pod-002"]
