"""The log view's memory stays bounded while it follows a growing log, and what it dropped is read again.

Benchmark issue #6: following a container that writes steadily, the view kept every line it had shown
(prepared text and drawn strips) up to 8192/4096 entries, so memory grew for a quarter of an hour. These
tests follow a log far past the view's limits and check that the limits hold and nothing is lost: the last
lines are on screen, and the first line (long dropped from memory) comes back from the file when asked.
"""
from __future__ import annotations



from pilot_helpers import LogsApp, log_view_until as _until
from logfile_helpers import numbered, write_lines
from n9s.ui.screens.logs import LogsScreen
from n9s.widgets.log_view import LINES_KEPT, STRIPS_KEPT, LogView


def _rows(view: LogView) -> list[str]:
    return [row.strip() for row in view.visible_text() if row.strip()]


# What the view may keep for a normal-sized screen: about 1 KiB per prepared line and 2-3 KiB per drawn one,
# a few MiB in all (the limits used to be 8192 and 4096: 20-30 MiB, reached after 15 minutes of following).
LINES_BUDGET = 2048
STRIPS_BUDGET = 512


def _bounded(view: LogView) -> None:
    sizes = view.cache_sizes
    assert sizes["lines_limit"] == LINES_KEPT and sizes["strips_limit"] == STRIPS_KEPT  # a normal-sized screen
    assert LINES_KEPT <= LINES_BUDGET and STRIPS_KEPT <= STRIPS_BUDGET
    assert sizes["lines"] <= LINES_KEPT, sizes
    assert sizes["strips"] <= STRIPS_KEPT, sizes


async def test_following_far_past_the_limits_keeps_memory_bounded_and_loses_nothing(tmp_path):
    path = str(tmp_path / "0.log")
    write_lines(path, numbered(0, 100))
    app = LogsApp(LogsScreen(path, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 99" in _rows(view))
        total = 100
        # Batches smaller than what a screen can skip, so every line is prepared and many are drawn:
        # 6000 lines in all, about six times the prepared-line limit and, drawn, far past the strip limit.
        while total < 6100:
            write_lines(path, numbered(total, 150))
            total += 150
            last = f"line {total - 1}"
            await _until(pilot, lambda: _rows(view)[-1:] == [last])
            _bounded(view)
        assert view.follow and view.row_count == total
        height = view.scrollable_content_region.height
        await _until(pilot, lambda: _rows(view) == [f"line {i}" for i in range(total - height, total)])

        await pilot.press("g")  # the first lines were dropped from memory long ago: read again from the file
        await _until(pilot, lambda: _rows(view) == [f"line {i}" for i in range(height)])
        assert not view.follow
        view.scroll_to_id(3000, top=True)
        await _until(pilot, lambda: _rows(view) == [f"line {i}" for i in range(3000, 3000 + height)])
        _bounded(view)

        await pilot.press("G")
        await _until(pilot, lambda: _rows(view)[-1:] == [f"line {total - 1}"])
        assert view.follow
        _bounded(view)


async def test_a_sparse_filter_shows_its_matches_with_bounded_memory(tmp_path):
    """Matches far apart: each row on screen lies in a different block of the file. The view reads just
    those lines (reading the blocks around each would need more lines than it keeps, and never settle)."""
    path = str(tmp_path / "0.log")
    write_lines(path, numbered(0, 40_000))
    app = LogsApp(LogsScreen(path, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 39999" in _rows(view))
        await pilot.press("ampersand", *"line [0-9]*000$", "enter")  # lines 1000, 2000... 39000
        height = view.scrollable_content_region.height
        await _until(pilot, lambda: view.row_count == 39
                     and _rows(view) == [f"line {i * 1000}" for i in range(40 - height, 40)])
        await pilot.press("g")
        await _until(pilot, lambda: _rows(view) == [f"line {i * 1000}" for i in range(1, height + 1)])
        _bounded(view)

        # Following with the filter on: new matches are added in order, the others stay out.
        await pilot.press("G")
        write_lines(path, numbered(40_000, 3001))
        await _until(pilot, lambda: view.row_count == 43
                     and _rows(view) == [f"line {i * 1000}" for i in range(44 - height, 44)])
        _bounded(view)


async def test_a_taller_screen_gets_room_for_every_row(tmp_path):
    """A screen taller than the strip limit would otherwise redraw its own rows forever."""
    path = str(tmp_path / "0.log")
    write_lines(path, numbered(0, 3000))
    app = LogsApp(LogsScreen(path, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(80, 400)) as pilot:
        view = app.screen.query_one(LogView)
        height = view.scrollable_content_region.height
        assert height > STRIPS_KEPT
        await _until(pilot, lambda: _rows(view) == [f"line {i}" for i in range(3000 - height, 3000)])
        sizes = view.cache_sizes
        assert sizes["strips_limit"] >= 2 * height and sizes["lines_limit"] >= 2 * height
        assert sizes["strips"] <= sizes["strips_limit"] and sizes["lines"] <= sizes["lines_limit"]
