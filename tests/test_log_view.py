"""The log screen and view, driven with Textual's pilot on generated log files."""
from __future__ import annotations

import os
import stat
import time

import pytest

from pilot_helpers import LogsApp, log_view_until as _until
from logfile_helpers import BASE_NS, cri_line, numbered, write_lines
from n9s.ui.screens.logs import LogsScreen
from n9s.widgets.log_view import LogView

ESC = "\x1b"


def _screen_text(view: LogView) -> str:
    return "\n".join(view.visible_text())


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "pod" / "app" / "0.log"
    path.parent.mkdir(parents=True)
    write_lines(str(path), numbered(0, 5000))
    return str(path)


async def test_tail_is_shown_at_open(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "default/web/app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        text = _screen_text(view)
        assert "line 0\n" not in text and "line 4990" in text
        assert view.follow
        header = str(app.screen.query_one("#log-header").render())
        assert "default/web/app" in header and "0.log" in header and "following" in header


async def test_appended_line_appears_and_scrolling_up_stops_follow(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        write_lines(log_file, [cri_line(BASE_NS + 10**12, "a brand new line")])
        await _until(pilot, lambda: "a brand new line" in _screen_text(view))
        await pilot.press("pageup")
        await _until(pilot, lambda: not view.follow)
        write_lines(log_file, [cri_line(BASE_NS + 10**12 + 1, "arrives while paused")])
        await _until(pilot, lambda: view.row_count == 5002)
        await pilot.pause(0.1)
        assert "arrives while paused" not in _screen_text(view)  # the view stayed where the user put it
        assert "paused" in str(app.screen.query_one("#log-header").render())
        await pilot.press("G")
        await _until(pilot, lambda: view.follow and "arrives while paused" in _screen_text(view))


async def test_filter_hides_lines(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        await pilot.press("ampersand")
        await pilot.press(*"line 12[0-9]$")
        await pilot.press("enter")
        await _until(pilot, lambda: view.row_count == 10 and "line 129" in _screen_text(view))
        shown = [row.strip() for row in view.visible_text() if row.strip()]
        assert shown == [f"line 12{i}" for i in range(10)]
        await pilot.press("escape")  # clears the filter
        await _until(pilot, lambda: view.row_count == 5000)


async def test_search_moves_to_matches(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        await pilot.press("slash", *"line 7[0-9][0-9]$", "enter")
        # From the middle of the screen onwards the search wraps around to the first match, line 700,
        # which is put in the middle of the screen.
        await _until(pilot, lambda: _middle(view) == "line 700")
        assert not view.follow
        await pilot.press("n")
        await _until(pilot, lambda: _middle(view) == "line 701")
        await pilot.press("N")
        await _until(pilot, lambda: _middle(view) == "line 700")
        await pilot.press("N")
        await _until(pilot, lambda: _middle(view) == "line 799")  # wraps backwards to the last match


def _middle(view: LogView) -> str:
    rows = view.visible_text()
    return rows[len(rows) // 2].strip()


async def test_hostile_escape_sequences_render_harmlessly(tmp_path):
    path = tmp_path / "0.log"
    evil = [
        f"steal {ESC}]52;c;ZWNobyBwd25lZA=={ESC}\\ clipboard",
        f"wipe {ESC}[2J{ESC}[H screen",
        f"title {ESC}]0;you are hacked\x07 done",
        f"{ESC}[31mred text{ESC}[0m kept as colour",
        "carriage\rreturn and bell\x07",
    ]
    write_lines(str(path), [cri_line(BASE_NS + i, line, "stderr" if i == 1 else "stdout") for i, line in enumerate(evil)])
    app = LogsApp(LogsScreen(str(path), f"evil{ESC}]0;name\x07", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "kept as colour" in _screen_text(view))
        strips = [view.render_line(y) for y in range(view.scrollable_content_region.height)]
        texts = ["".join(seg.text for seg in strip) for strip in strips]
        for text in texts:
            assert ESC not in text and "\x07" not in text and "\r" not in text
            assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)
        joined = "\n".join(texts)
        assert "steal  clipboard" in joined and "ZWNobyBwd25lZA" not in joined
        assert "wipe  screen" in joined and "you are hacked" not in joined
        assert "carriage\u240dreturn" in joined
        red = [seg for strip in strips for seg in strip if seg.text == "red text"]
        assert red and red[0].style.color is not None and red[0].style.color.name in ("red", "color(1)")
        gutter = [strip for strip, text in zip(strips, texts) if "wipe" in text][0]
        assert next(iter(gutter)).text == "▌"  # stderr is marked
        header = str(app.screen.query_one("#log-header").render())
        assert ESC not in header and "\x07" not in header


async def test_save_writes_a_private_new_file(log_file, tmp_path):
    save_dir = tmp_path / "saved"
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(save_dir)))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        await pilot.press("ampersand", *"line 4[0-9]$", "enter")
        await _until(pilot, lambda: view.row_count == 10)
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: view.last_saved is not None)
        first = view.last_saved
        await _until(pilot, lambda: os.path.exists(first) and open(first).read().count("\n") == 10)
        assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
        assert open(first).read().splitlines() == [f"line 4{i}" for i in range(10)]
        view.last_saved = None
        await pilot.press("ctrl+s")  # a second save never overwrites the first
        await _until(pilot, lambda: view.last_saved is not None)
        assert view.last_saved != first and open(first).read().count("\n") == 10


async def test_since_presets_and_head(tmp_path):
    path = tmp_path / "0.log"
    now = time.time_ns()
    old = [cri_line(now - 3 * 3600 * 10**9 + i, f"old {i}") for i in range(3000)]
    recent = [cri_line(now - 120 * 10**9 + i, f"recent {i}") for i in range(5)]  # two minutes ago
    write_lines(str(path), old + recent)
    app = LogsApp(LogsScreen(str(path), "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "recent 4" in _screen_text(view))
        await pilot.press("3")  # since 5 minutes
        await _until(pilot, lambda: view.row_count == 5)
        assert "old" not in _screen_text(view)
        await pilot.press("2")  # since 1 minute: nothing
        await _until(pilot, lambda: view.row_count == 0)
        await pilot.press("0")
        await _until(pilot, lambda: view.row_count == 3005)
        await pilot.press("1")
        await _until(pilot, lambda: view.visible_text()[0].strip() == "old 0")
        assert not view.follow


async def test_flood_reports_skipped_lines(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        write_lines(log_file, numbered(5000, 20_000))
        await _until(pilot, lambda: "line 24999" in _screen_text(view))
        assert view.skipped > 19_000
        assert "skipped rendering" in str(app.screen.query_one("#log-header").render())


async def test_rotation_while_viewing_keeps_every_line(log_file, tmp_path):
    app = LogsApp(LogsScreen(log_file, "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 4999" in _screen_text(view))
        os.rename(log_file, log_file + ".20240101-000000")
        write_lines(log_file, numbered(5000, 3))
        await _until(pilot, lambda: "line 5002" in _screen_text(view))
        assert view.row_count == 5003


async def test_merged_containers_are_tagged(tmp_path):
    a = tmp_path / "pod" / "app" / "0.log"
    b = tmp_path / "pod" / "sidecar" / "0.log"
    a.parent.mkdir(parents=True)
    b.parent.mkdir(parents=True)
    write_lines(str(a), [cri_line(BASE_NS + 1, "from app"), cri_line(BASE_NS + 3, "app again")])
    write_lines(str(b), [cri_line(BASE_NS + 2, "from sidecar")])
    app = LogsApp(LogsScreen([str(a), str(b)], "pod", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "app again" in _screen_text(view))
        rows = [r.strip() for r in view.visible_text() if r.strip()]
        assert rows == ["app from app", "sidecar from sidecar", "app app again"]


async def test_missing_file_and_previous_attempt(tmp_path):
    d = tmp_path / "pod" / "app"
    d.mkdir(parents=True)
    write_lines(str(d / "1.log"), [cri_line(BASE_NS, "first attempt")])
    write_lines(str(d / "2.log"), [cri_line(BASE_NS, "second attempt")])
    app = LogsApp(LogsScreen(str(d / "2.log"), "app", previous=True, save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "first attempt" in _screen_text(view))
        assert "(previous)" in str(app.screen.query_one("#log-header").render())
    app = LogsApp(LogsScreen(str(d / "9.log"), "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        assert not app.screen.query(LogView)
        assert "does not exist" in str(app.screen.query_one("#log-error").render())


async def test_view_stays_put_while_older_lines_are_indexed(tmp_path):
    path = tmp_path / "0.log"
    write_lines(str(path), numbered(0, 80_000))  # ~5 MB: more than the first tail scan covers
    app = LogsApp(LogsScreen(str(path), "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "line 79999" in _screen_text(view))
        await pilot.press("pageup")
        await _until(pilot, lambda: not view.follow and _middle(view).startswith("line"))
        seen = _middle(view)
        await _until(pilot, lambda: view.row_count == 80_000)
        assert _middle(view) == seen  # lines found above did not move what the user looks at
        await pilot.press("g")
        await _until(pilot, lambda: view.visible_text()[0].strip() == "line 0")
        await pilot.press("end")
        await _until(pilot, lambda: view.follow and "line 79999" in _screen_text(view))


async def test_wrap_and_timestamps_toggles(tmp_path):
    path = tmp_path / "0.log"
    long_line = "start " + "x" * 400 + " END"
    write_lines(str(path), numbered(0, 50) + [cri_line(BASE_NS + 10**9, long_line)])
    app = LogsApp(LogsScreen(str(path), "app", save_dir=str(tmp_path / "saved")))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.screen.query_one(LogView)
        await _until(pilot, lambda: "start xxx" in _screen_text(view))
        assert "END" not in _screen_text(view)  # one row per line, cut at the edge
        await pilot.press("w")
        await _until(pilot, lambda: "END" in _screen_text(view))
        rows = view.visible_text()
        assert rows[-1].strip().endswith("END") and sum("xxxx" in r for r in rows) >= 4
        assert "line 49" in _screen_text(view)  # the lines above are still shown, bottom-anchored
        await pilot.press("w", "t")
        await _until(pilot, lambda: view.visible_text()[-2].strip().startswith("2023-11-14T22:13:20.049000000Z"))
        assert view.visible_text()[-2].strip().endswith("line 49")
