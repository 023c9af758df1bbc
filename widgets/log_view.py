"""A log viewer for files of any size: Textual's Line API over the CRI log index.

``LogView`` is a ScrollView that draws only the rows on screen: ``render_line(y)`` looks the row up in a
layout of the visible lines and returns a cached ``Strip``. Lines come from a ``LineSource``
(``n9s.sources.logs.lines``) read by one background thread of the widget: the UI thread never reads a
file, it only asks for the current id range. The same thread follows the file (poll every 200 ms), indexes
the rest of the history backwards, runs searches, filters and saves.

Follow: on while the view is at the bottom; scrolling up stops it, reaching the bottom (``G``/``end``)
resumes it. When lines arrive faster than they can be seen, the rows that scrolled past without being
drawn are counted and reported ("skipped rendering N lines", they stay in the file).

Everything from the container goes through ``n9s.core.sanitize``: SGR colours are kept and drawn, every other
escape or control character is removed or shown as a placeholder.
"""
from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from n9s.core import clock
from n9s.core.paths import open_private
from n9s.core.sanitize import sanitize_label, sanitize_text
from n9s.sources.errors import SourceError
from n9s.sources.logs.format import LogRecord, format_timestamp
from n9s.sources.logs.lines import IndexedLines, MergedLines, ShownLine, iter_shown

__all__ = ["LogView", "Shown", "save_lines", "fresh_path"]

log = logging.getLogger("n9s.log_view")

LineSource = IndexedLines | MergedLines

_CHUNK = 256  # lines loaded per read request
# Memory: prepared lines and drawn strips are kept only around what is on screen; anything else is read
# again from the file (the index finds a line with one pread). A line costs about 1 KiB prepared and 2-3 KiB
# drawn (a Strip keeps its own crop caches), so these bounds hold a few MiB and are reached within minutes of
# following: memory levels off instead of growing with every line that scrolls past.
LINES_KEPT = 1024  # prepared lines (four read chunks: a screen never spans more than two)
STRIPS_KEPT = 256  # lines' drawn strips (several screens)
_POLL_S = 0.2
_INDEX_STEP = 16 << 20  # bytes of older history indexed per step of the background thread
_MAX_DISPLAY_CHARS = 16 * 1024  # a longer line is cut on screen (the whole line is saved)
_STDERR_GUTTER = Style(color="red", dim=True)
_PARTIAL_MARK = Style(dim=True)
_TS_STYLE = Style(dim=True)
_MATCH_STYLE = Style(reverse=True)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """A map that keeps at most ``limit`` entries, dropping the least recently used; the limit can change
    (Textual's LRUCache cannot shrink, nor grow once it was full)."""

    def __init__(self, limit: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self.limit = limit

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def set(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        self._trim()

    def resize(self, limit: int) -> None:
        self.limit = limit
        self._trim()

    def _trim(self) -> None:
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key: object) -> bool:  # does not count as a use
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class Shown:
    """A line ready to draw: sanitised text (SGR applied as styles) and its plain form for search."""

    id: int
    record: LogRecord
    body: Text
    plain: str
    ts: str


def _prepare(line: ShownLine) -> Shown:
    rec = line.record
    content = rec.content[: _MAX_DISPLAY_CHARS * 4]
    safe = sanitize_text(content, keep_sgr=True, max_len=_MAX_DISPLAY_CHARS)
    body = Text.from_ansi(safe) if "\x1b" in safe else Text(safe)
    body.no_wrap = False
    ts = format_timestamp(rec.ts_ns) if rec.ts_ns is not None else ""
    # The raw bytes (up to 256 KiB a line) are not needed once the text is made: keep the record's flags only.
    return Shown(line.id, replace(rec, content=b""), body, body.plain, ts)


def _plain(line: ShownLine) -> str:
    """The sanitised text of a line without colours: what search and filter match against."""
    return sanitize_text(line.record.content[: _MAX_DISPLAY_CHARS * 4], max_len=_MAX_DISPLAY_CHARS)


def _shown_text(shown: Shown, *, timestamps: bool) -> str:
    """The text of a line as saved: what the view shows, without colours."""
    parts = []
    if shown.record.container:
        parts.append(f"[{sanitize_label(shown.record.container, 40)}]")
    if timestamps and shown.ts:
        parts.append(shown.ts)
    parts.append(shown.plain)
    return " ".join(parts)


def fresh_path(directory: str, stem: str) -> str:
    """A path in ``directory`` that does not exist yet: ``stem.log``, ``stem-1.log``, ..."""
    safe_stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "logs"
    candidate = os.path.join(directory, f"{safe_stem}.log")
    n = 1
    while os.path.lexists(candidate):
        candidate = os.path.join(directory, f"{safe_stem}-{n}.log")
        n += 1
    return candidate


def save_lines(path: str, lines, *, timestamps: bool) -> int:
    """Write lines to a new file of mode 0600 (never over an existing one, never through a link, only in a
    directory of n9s's user nobody else can write); return the count."""
    fd = open_private(path, exclusive=True)
    count = 0
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for shown in lines:
            out.write(_shown_text(shown, timestamps=timestamps) + "\n")
            count += 1
    return count


class LogView(ScrollView, can_focus=True):
    """Scrollable, followable view of a log source (one container's history, or several merged)."""

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        scrollbar-gutter: stable;
    }
    """

    follow: reactive[bool] = reactive(True, init=False)
    wrap: reactive[bool] = reactive(False, init=False)
    show_timestamps: reactive[bool] = reactive(False, init=False)

    class Status(Message):
        """Posted when what the header shows changes."""

        def __init__(self, view: "LogView", text: str) -> None:
            super().__init__()
            self.view = view
            self.text = text

    class Event(Message):
        """Something to tell the user (rotation, truncation, file gone, saved, search wrapped...)."""

        def __init__(self, text: str, severity: str = "information") -> None:
            super().__init__()
            self.text = text
            self.severity = severity

    # Messages from the worker thread to the UI thread.
    class _Loaded(Message):
        def __init__(self, gen: int, key: tuple, lines: list[Shown]) -> None:
            super().__init__()
            self.gen, self.key, self.lines = gen, key, lines

    class _Changed(Message):
        def __init__(self, gen: int, appended: int, prepended: int, dropped: int, events: list[str],
                     reset: bool, gone: bool) -> None:
            super().__init__()
            self.gen, self.appended, self.prepended, self.dropped = gen, appended, prepended, dropped
            self.events, self.reset, self.gone = events, reset, gone

    class _Matches(Message):
        def __init__(self, gen: int, filter_gen: int, ids: list[int], done: bool) -> None:
            super().__init__()
            self.gen, self.filter_gen, self.ids, self.done = gen, filter_gen, ids, done

    class _Found(Message):
        def __init__(self, search_gen: int, line_id: int | None, wrapped: bool) -> None:
            super().__init__()
            self.search_gen, self.line_id, self.wrapped = search_gen, line_id, wrapped

    class _Jump(Message):
        def __init__(self, gen: int, line_id: int | None, floor: int | None, follow: bool, note: str) -> None:
            super().__init__()
            self.gen, self.line_id, self.floor, self.follow, self.note = gen, line_id, floor, follow, note

    def __init__(self, source: LineSource, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source = source
        self._gen = 0
        self._lo, self._hi = source.id_range()
        self._floor: int | None = None  # since-time: lines before this id are hidden
        self._lines: _Recent[int, Shown] = _Recent(LINES_KEPT)
        self._strips: _Recent[tuple, list[Strip]] = _Recent(STRIPS_KEPT)
        self._requested: set[tuple] = set()  # blocks of lines being read by the worker
        self._matches: array | None = None  # ids that pass the filter, sorted (None: no filter)
        self._filter: re.Pattern[str] | None = None
        self._filter_gen = 0
        self._filter_done = True
        self._search: re.Pattern[str] | None = None
        self._search_gen = 0
        self._layout_key: tuple | None = None
        self._layout: list[tuple[int, int]] = []  # screen row -> (row, sub-row)
        self._max_width = 0
        self._skipped = 0
        self._gone = False
        self._scroll_lock = 0  # >0 while the widget itself moves the view
        self._catching_up = False
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._tail_shown = threading.Event()  # the first lines are on screen: background indexing may start
        self._thread: threading.Thread | None = None
        self._last_status = ""
        self.last_saved: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._update_virtual_size()
        self._scroll_to_end()
        self._thread = threading.Thread(target=self._worker, name="n9s-log-view", daemon=True)
        self._thread.start()
        self._post_status()

    def on_resize(self) -> None:
        self.resize_caches(self.scrollable_content_region.height)
        self._layout_key = None
        if self.follow:
            self._scroll_to_end()

    def on_unmount(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:
            self.source.close()
        except OSError:
            pass

    # -- the worker thread -------------------------------------------------------------------------------

    def _submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _worker(self) -> None:
        next_poll = 0.0
        start = time.monotonic()
        while not self._stop.is_set():
            # While older lines are still to be indexed, do that between jobs instead of waiting.
            indexing = not self.source.complete and (self._tail_shown.is_set() or time.monotonic() > start + 1)
            timeout = 0 if indexing else max(next_poll - time.monotonic(), 0)
            try:
                job = self._jobs.get(timeout=timeout)
            except queue.Empty:
                job = None
            else:
                if job is None:
                    return
            try:
                if job is not None:
                    job()
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + _POLL_S
                    self._poll_once()
                elif indexing and job is None:
                    self._index_step()
            except SourceError as exc:
                self.post_message(self.Event(str(exc), "error"))
            except Exception as exc:  # keep the view alive; say what went wrong, and log the traceback
                log.exception("log view worker failed on %s", getattr(self.source, "files", ["?"])[-1:])
                self.post_message(self.Event(f"log reader error: {exc!r} (details in the log file)", "error"))

    def _poll_once(self) -> None:
        gen = self._gen
        changes = self.source.poll()
        if changes.appended or changes.dropped or changes.events or changes.reset or changes.gone != self._gone:
            self.post_message(self._Changed(gen, changes.appended, 0, changes.dropped, changes.events,
                                            changes.reset, changes.gone))

    def _index_step(self) -> None:
        gen = self._gen
        prepended = self.source.scan_back(_INDEX_STEP)
        if prepended:
            self.post_message(self._Changed(gen, 0, prepended, 0, [], False, self._gone))

    def _load(self, gen: int, key: tuple, ids: list[int]) -> None:
        lines: list[Shown] = []
        for first, count in _runs(ids):
            lines.extend(_prepare(line) for line in self.source.read(first, count))
        self.post_message(self._Loaded(gen, key, lines))

    # -- ids and rows --------------------------------------------------------------------------------------

    @property
    def _first(self) -> int:
        return max(self._lo, self._floor) if self._floor is not None else self._lo

    @property
    def row_count(self) -> int:
        if self._matches is not None:
            return len(self._matches) - bisect_left(self._matches, self._first) if self._floor else len(self._matches)
        return max(self._hi - self._first, 0)

    def _row_offset(self) -> int:
        return bisect_left(self._matches, self._first) if (self._matches is not None and self._floor) else 0

    def id_of_row(self, row: int) -> int:
        if self._matches is not None:
            return self._matches[row + self._row_offset()]
        return self._first + row

    def row_of_id(self, line_id: int) -> int:
        if self._matches is not None:
            return bisect_left(self._matches, line_id) - self._row_offset()
        return line_id - self._first

    def line(self, line_id: int) -> Shown | None:
        """The prepared line if loaded (requests it otherwise)."""
        shown = self._lines.get(line_id)
        if shown is None:
            self._request(line_id)
        return shown

    def _request(self, line_id: int) -> None:
        """Have the worker read the block of lines around ``line_id`` that is not loaded yet: ids
        ``_CHUNK``-aligned, or with a filter the ids of a ``_CHUNK``-aligned block of rows (matches can be
        far apart: reading whole chunks around each would need more lines than are kept)."""
        if self._matches is None:
            block = line_id // _CHUNK
            key: tuple = ("ids", block)
            if key in self._requested:
                return
            candidates: Iterable[int] = range(max(block * _CHUNK, self._first), min((block + 1) * _CHUNK, self._hi))
        else:
            row, offset = self.row_of_id(line_id), self._row_offset()
            block = row // _CHUNK
            key = ("rows", self._filter_gen, offset, block)
            if key in self._requested or not 0 <= row < self.row_count:
                return
            candidates = self._matches[offset + block * _CHUNK: offset + min((block + 1) * _CHUNK, self.row_count)]
        ids = [i for i in candidates if i not in self._lines]  # following: only the lines new since last time
        if not ids:
            ids = [line_id]
        self._requested.add(key)
        gen = self._gen
        self._submit(lambda: self._load(gen, key, ids))

    def resize_caches(self, height: int) -> None:
        """Keep enough lines and strips for a screen of ``height`` rows (never fewer than the defaults)."""
        self._lines.resize(max(LINES_KEPT, (height // _CHUNK + 3) * _CHUNK))
        self._strips.resize(max(STRIPS_KEPT, 4 * height))

    @property
    def cache_sizes(self) -> dict[str, int]:
        """Prepared lines and drawn lines held in memory, and their limits (for tests and benchmarks)."""
        return {"lines": len(self._lines), "lines_limit": self._lines.limit,
                "strips": len(self._strips), "strips_limit": self._strips.limit}

    # -- drawing -------------------------------------------------------------------------------------------

    def _update_virtual_size(self) -> None:
        rows = self.row_count
        width = self._max_width if not self.wrap else 0
        self.virtual_size = Size(width, rows)
        self._layout_key = None

    def _render_rows(self, shown: Shown, width: int) -> list[Strip]:
        key = (shown.id, width if self.wrap else 0, self.wrap, self.show_timestamps,
               self._search.pattern if self._search else None)
        strips = self._strips.get(key)
        if strips is not None:
            return strips
        rec = shown.record
        prefix = Text(no_wrap=True)
        prefix.append("▌" if rec.is_stderr else " ", _STDERR_GUTTER if rec.is_stderr else Style())
        if rec.container:
            prefix.append(f"{sanitize_label(rec.container, 24)} ", Style(bold=True))
        if self.show_timestamps:
            prefix.append((shown.ts or "-").ljust(30) + " ", _TS_STYLE)
        body = shown.body.copy()
        if self._search is not None:
            body.highlight_regex(self._search, _MATCH_STYLE)
        if rec.partial:
            body.append(" ⏎", _PARTIAL_MARK)  # a piece continued on the next line (P tag)
        text = prefix + body
        console = self.app.console
        if self.wrap and width > 0:
            text.no_wrap = False
            lines = text.wrap(console, max(width, 8))
            strips = [Strip(line.render(console)) for line in lines] or [Strip.blank(0)]
        else:
            text.no_wrap = True
            text.end = ""
            strips = [Strip(text.render(console))]
        self._strips.set(key, strips)
        return strips

    def _line_height(self, row: int, width: int) -> int:
        if not self.wrap:
            return 1
        shown = self.line(self.id_of_row(row))
        return len(self._render_rows(shown, width)) if shown is not None else 1

    def _compute_layout(self) -> list[tuple[int, int]]:
        if self.follow and self.scroll_y < self.max_scroll_y and not self._catching_up:
            # The viewport shrank (a scrollbar appeared) or grew since the last scroll to the end.
            self._catching_up = True
            self.call_after_refresh(self._catch_up)
        height = self.scrollable_content_region.height
        width = self.scrollable_content_region.width
        rows = self.row_count
        top = int(self.scroll_y)
        key = (top, height, width, rows, self.wrap, self.is_vertical_scroll_end, self._gen, self._lo, self._hi,
               len(self._lines), self.show_timestamps)
        if key == self._layout_key:
            return self._layout
        layout: list[tuple[int, int]] = []
        if rows and height > 0:
            if self.wrap and top >= self.max_scroll_y:
                # At the bottom, lay out upwards from the last line so the newest text is on screen.
                row = rows - 1
                while row >= 0 and len(layout) < height:
                    h = self._line_height(row, width)
                    layout[0:0] = [(row, sub) for sub in range(h)]
                    row -= 1
                layout = layout[-height:]
            else:
                row = top
                while row < rows and len(layout) < height:
                    h = self._line_height(row, width)
                    layout.extend((row, sub) for sub in range(h))
                    row += 1
                layout = layout[:height]
        self._layout_key, self._layout = key, layout
        return layout

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._compute_layout()
        if y >= len(layout):
            return Strip.blank(width, self.rich_style)
        row, sub = layout[y]
        shown = self.line(self.id_of_row(row))
        if shown is None:
            return Strip([], 0).extend_cell_length(width, self.rich_style)
        strips = self._render_rows(shown, width)
        strip = strips[min(sub, len(strips) - 1)]
        if not self.wrap:
            if strip.cell_length > self._max_width:
                self._max_width = strip.cell_length
                self.call_after_refresh(self._update_virtual_size)
            scroll_x = int(self.scroll_x)
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def visible_text(self) -> list[str]:
        """The text of the rows on screen (for tests and for copying)."""
        height = self.scrollable_content_region.height
        return ["".join(seg.text for seg in self.render_line(y)) for y in range(height)]

    # -- messages from the worker ------------------------------------------------------------------------

    def on_log_view__loaded(self, message: _Loaded) -> None:
        message.stop()
        if message.gen != self._gen:
            return
        self._requested.discard(message.key)
        for shown in message.lines:
            self._lines.set(shown.id, shown)
        self._layout_key = None
        self.refresh()
        if not self._tail_shown.is_set():
            self.call_after_refresh(self._tail_shown.set)

    def on_log_view__changed(self, message: _Changed) -> None:
        message.stop()
        if message.gen != self._gen:
            return
        for event in message.events:
            self.post_message(self.Event(event, "warning"))
        if message.reset:
            self._reset()
            return
        self._gone = message.gone
        old_lo, old_hi = self._lo, self._hi
        self._lo, self._hi = self.source.id_range()
        added_front = old_lo - self._lo  # negative when lines were dropped at the front
        added_end = self._hi - old_hi
        if self._filter is not None and added_end > 0:
            self._run_filter_range(old_hi, self._hi, front=False)
        if self._filter is not None and added_front > 0:
            self._run_filter_range(self._lo, old_lo, front=True)
        height = max(self.scrollable_content_region.height, 1)
        self._scroll_lock += 1
        try:
            self._update_virtual_size()
            if self.follow:
                if added_end > height:
                    self._skipped += added_end - height
                self._scroll_to_end()
            elif self._matches is None and (added_front or message.dropped) and self._floor is None:
                # Keep the same lines on screen: finish any scroll animation (its target is in the old
                # numbering), then shift by the lines added above.
                self.app.animator.force_stop_animation(self, "scroll_y")
                self.scroll_to(y=max(self.scroll_y + added_front, 0), animate=False, immediate=True)
        finally:
            self._scroll_lock -= 1
        self.refresh()
        self._post_status()

    def on_log_view__matches(self, message: _Matches) -> None:
        message.stop()
        if message.gen != self._gen or message.filter_gen != self._filter_gen or self._matches is None:
            return
        if message.ids:
            self._matches = _merge_ids(self._matches, message.ids)
        self._filter_done = message.done
        self._scroll_lock += 1
        try:
            self._update_virtual_size()
            if self.follow:
                self._scroll_to_end()
        finally:
            self._scroll_lock -= 1
        self.refresh()
        self._post_status()

    def on_log_view__found(self, message: _Found) -> None:
        message.stop()
        if message.search_gen != self._search_gen:
            return
        if message.line_id is None:
            self.post_message(self.Event(f"no match for /{self._search.pattern if self._search else ''}/"))
            return
        if message.wrapped:
            self.post_message(self.Event("search wrapped around"))
        self.scroll_to_id(message.line_id)

    def on_log_view__jump(self, message: _Jump) -> None:
        message.stop()
        if message.gen != self._gen:
            return
        self._lo, self._hi = self.source.id_range()
        self._floor = message.floor
        self._strips.clear()
        self._update_virtual_size()
        if message.note:
            self.post_message(self.Event(message.note))
        if message.follow:
            self.follow = True
            self._scroll_to_end()
        elif message.line_id is not None:
            self.scroll_to_id(message.line_id, top=True)
        self.refresh()
        self._post_status()

    def _reset(self) -> None:
        self._gen += 1
        self._lines.clear()
        self._strips.clear()
        self._requested.clear()
        self._lo, self._hi = self.source.id_range()
        self._floor = None
        if self._filter is not None:
            self.set_filter(self._filter.pattern)
        self._update_virtual_size()
        self._scroll_to_end()
        self.refresh()
        self._post_status()

    # -- scrolling and follow --------------------------------------------------------------------------

    def _scroll_to_end(self) -> None:
        self._scroll_lock += 1
        try:
            self.scroll_to(y=max(self.row_count - self.scrollable_content_region.height, 0), animate=False,
                           immediate=True, force=True)
            self._layout_key = None
        finally:
            self._scroll_lock -= 1

    def scroll_to(self, x: float | None = None, y: float | None = None, **kwargs) -> None:
        # A scroll the user asked for (keys, wheel, scrollbar) that does not aim at the bottom stops
        # following at once, before any animation frame: a line arriving meanwhile must not undo it.
        if not self._scroll_lock and y is not None and y < self.max_scroll_y and self.follow:
            self._scroll_lock += 1
            try:
                self.follow = False
            finally:
                self._scroll_lock -= 1
        super().scroll_to(x, y, **kwargs)

    def _catch_up(self) -> None:
        self._catching_up = False
        if self.follow:
            self._scroll_to_end()
            self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._layout_key = None
        if self._scroll_lock:
            return
        at_bottom = new_value >= self.max_scroll_y
        if self.follow != at_bottom:
            self.follow = at_bottom

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._scroll_to_end()
        self._post_status()

    def watch_wrap(self) -> None:
        self._strips.clear()
        self._update_virtual_size()
        if self.follow:
            self._scroll_to_end()
        self.refresh()
        self._post_status()

    def watch_show_timestamps(self) -> None:
        self._strips.clear()
        self._max_width = 0
        self._update_virtual_size()
        self.refresh()
        self._post_status()

    def scroll_to_id(self, line_id: int, *, top: bool = False) -> None:
        row = self.row_of_id(line_id)
        height = self.scrollable_content_region.height
        target = row if top else max(row - height // 2, 0)
        self.scroll_to(y=min(target, self.max_scroll_y), animate=False, immediate=True)
        if not top:
            self.follow = False
        self._layout_key = None
        self.refresh()

    def action_scroll_home(self) -> None:
        self.go_top()

    def action_scroll_end(self) -> None:
        self.go_bottom()

    def go_top(self) -> None:
        """Jump to the first line (indexing the whole history first if needed)."""
        self.follow = False
        self.scroll_to(y=0, animate=False, immediate=True)
        if not self.source.complete:
            gen = self._gen

            def index_all() -> None:
                while not self.source.complete and not self._stop.is_set():
                    self.source.scan_back(64 << 20)
                self.post_message(self._Jump(gen, self.source.id_range()[0], self._floor, False, ""))

            self._submit(index_all)

    def go_bottom(self) -> None:
        self.follow = True
        self._scroll_to_end()

    # -- features -------------------------------------------------------------------------------------

    def toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def toggle_timestamps(self) -> None:
        self.show_timestamps = not self.show_timestamps

    def toggle_follow(self) -> None:
        self.follow = not self.follow

    def tail(self) -> None:
        """Preset 0: no time bound, follow the end."""
        self._floor = None
        self._update_virtual_size()
        self.go_bottom()
        self._post_status()

    def head(self) -> None:
        """Preset 1: from the first line of the history, not following."""
        self._floor = None
        self._update_virtual_size()
        self.go_top()
        self._post_status()

    def since(self, seconds: float, *, now_ns: int | None = None) -> None:
        """Presets 2-6: only lines written in the last ``seconds`` (and follow)."""
        target = (now_ns if now_ns is not None else clock.now_ns()) - int(seconds * 1e9)
        gen = self._gen

        def seek() -> None:
            line_id = self.source.seek_time(target)
            lo, hi = self.source.id_range()
            note = "" if line_id < hi else f"no lines in the last {_span(seconds)}"
            self.post_message(self._Jump(gen, line_id, line_id, True, note))

        self._submit(seek)

    @property
    def since_active(self) -> bool:
        return self._floor is not None

    def set_filter(self, pattern: str) -> bool:
        """Show only lines matching ``pattern`` (a regex, or plain text if it is not a valid regex);
        an empty pattern shows everything. Returns False when the pattern was not a valid regex."""
        self._filter_gen += 1
        valid = True
        if not pattern:
            self._filter = None
            self._matches = None
        else:
            try:
                self._filter = re.compile(pattern, re.IGNORECASE)
            except re.error:
                self._filter = re.compile(re.escape(pattern), re.IGNORECASE)
                valid = False
            self._matches = array("q")
            self._filter_done = False
            self._run_filter_range(self._lo, self._hi, front=True)
        self._scroll_lock += 1
        try:
            self._update_virtual_size()
            self._scroll_to_end() if self.follow else self.scroll_to(y=0, animate=False, immediate=True)
        finally:
            self._scroll_lock -= 1
        self.refresh()
        self._post_status()
        return valid

    @property
    def filter_pattern(self) -> str:
        return self._filter.pattern if self._filter else ""

    def _run_filter_range(self, first: int, last: int, *, front: bool) -> None:
        """Find matches among ids ``first``..``last``-1 on the worker, newest first, in batches."""
        regex, gen, fgen = self._filter, self._gen, self._filter_gen
        if regex is None:
            return

        def scan() -> None:
            hi = last
            while hi > first and fgen == self._filter_gen and not self._stop.is_set():
                lo = max(first, hi - 4096)
                ids = [line.id for line in self.source.read(lo, hi - lo) if regex.search(_plain(line))]
                hi = lo
                self.post_message(self._Matches(gen, fgen, ids, hi <= first))

        self._submit(scan)

    def search(self, pattern: str, *, forward: bool = True) -> bool:
        """Highlight ``pattern`` and move to the next match after (or before) the screen's middle line."""
        try:
            self._search = re.compile(pattern, re.IGNORECASE) if pattern else None
            valid = True
        except re.error:
            self._search = re.compile(re.escape(pattern), re.IGNORECASE)
            valid = False
        self._strips.clear()
        self.refresh()
        if self._search is not None:
            self.search_next(forward=forward, from_current=True)
        return valid

    def search_next(self, *, forward: bool = True, from_current: bool = False) -> None:
        """Move to the next (or previous) line matching the search, wrapping around the ends."""
        if self._search is None or not self.row_count:
            return
        self._search_gen += 1
        sgen, regex = self._search_gen, self._search
        layout = self._compute_layout()
        middle_row = layout[len(layout) // 2][0] if layout else self.row_count - 1
        start_id = self.id_of_row(middle_row)
        if not from_current:
            start_id += 1 if forward else -1
        matches = list(self._matches) if self._matches is not None else None
        first, last = self._first, self._hi

        def candidates():
            """(line, wrapped) in search order: from start_id towards one end, then from the other end."""
            if matches is not None:
                ids = [m for m in matches if m >= first]
                k = bisect_left(ids, start_id)
                order = (ids[k:] + ids[:k]) if forward else (ids[k - 1::-1] + ids[:k - 1:-1] if k else ids[::-1])
                for line_id in order:
                    for line in self.source.read(line_id, 1):
                        yield line, (line_id < start_id) if forward else (line_id > start_id)
                return
            spans = [(start_id, last, False), (first, start_id, True)] if forward else \
                [(first, start_id + 1, False), (start_id + 1, last, True)]
            for a, b, wrapped in spans:
                a, b = max(a, first), min(b, last)
                if forward:
                    at = a
                    while at < b:
                        got = self.source.read(at, min(2048, b - at))
                        if not got:
                            break
                        for line in got:
                            yield line, wrapped
                        at = got[-1].id + 1
                else:
                    at = b
                    while at > a:
                        lo = max(a, at - 2048)
                        got = self.source.read(lo, at - lo)
                        for line in reversed(got):
                            yield line, wrapped
                        at = lo

        def find() -> None:
            for n, (line, wrapped) in enumerate(candidates()):
                if n % 512 == 0 and (sgen != self._search_gen or self._stop.is_set()):
                    return
                if regex.search(_plain(line)):
                    self.post_message(self._Found(sgen, line.id, wrapped))
                    return
            self.post_message(self._Found(sgen, None, False))

        self._submit(find)

    def save(self, directory: str, stem: str) -> None:
        """Write the lines shown (filter and since bound applied) to a fresh 0600 file in ``directory``."""
        gen = self._gen
        matches = list(self._matches) if self._matches is not None else None
        first, last = self._first, self._hi
        timestamps = self.show_timestamps

        def write() -> None:
            path = fresh_path(directory, stem)
            if matches is not None:
                wanted = [m for m in matches if m >= first]
                lines = (_prepare(s) for m in wanted for s in self.source.read(m, 1))
            else:
                lines = (_prepare(s) for s in iter_shown(self.source, first, last))
            try:
                count = save_lines(path, lines, timestamps=timestamps)
            except OSError as exc:
                self.post_message(self.Event(f"could not save logs to {path}: {exc.strerror or exc}", "error"))
                return
            self.last_saved = path
            if gen == self._gen:
                self.post_message(self.Event(f"saved {count} lines to {path}"))

        self._submit(write)

    # -- status ------------------------------------------------------------------------------------------

    @property
    def skipped(self) -> int:
        return self._skipped

    def status_text(self) -> str:
        parts = ["following" if self.follow else "paused (G/end to follow)"]
        if self._gone:
            parts.append("file is gone")
        rows = self.row_count
        if self._matches is not None:
            parts.append(f"filter /{self._filter.pattern if self._filter else ''}/: {rows} lines"
                         + ("" if self._filter_done else " so far"))
        else:
            parts.append(f"{rows} lines" + ("" if self.source.complete else " (indexing older lines...)"))
        if self._floor is not None:
            parts.append("since-time bound (0 for all)")
        if self.wrap:
            parts.append("wrap")
        if self._skipped:
            parts.append(f"skipped rendering {self._skipped} lines (kept in the file)")
        return " · ".join(parts)

    def _post_status(self) -> None:
        if not self.is_attached:
            return
        text = self.status_text()
        if text != self._last_status:
            self._last_status = text
            self.post_message(self.Status(self, text))


def _merge_ids(matches: array, ids: list[int]) -> array:
    """``matches`` with the sorted ``ids`` added. A batch from the filter's scan lies between two existing
    matches (new lines at the end, older lines at the front): it is spliced in without rebuilding the
    whole list (which would cost a set of every match, per batch, while following)."""
    k = bisect_left(matches, ids[0])
    if (k == len(matches) or ids[-1] < matches[k]) and (k == 0 or matches[k - 1] < ids[0]):
        matches[k:k] = array("q", ids)
        return matches
    return array("q", sorted(set(matches).union(ids)))


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, count) runs of consecutive ids."""
    runs: list[tuple[int, int]] = []
    for i in ids:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def _span(seconds: float) -> str:
    return f"{int(seconds // 3600)}h" if seconds >= 3600 else f"{int(seconds // 60)}m"
