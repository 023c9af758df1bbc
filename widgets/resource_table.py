"""The main list: a Line-API table that takes whole row sets and repaints only the rows that changed.

Rows are plain strings (already sanitised upstream), held in display order with a key -> index map. Each visible row
is painted into one Strip, cached per row key with everything that decides how it looks (cells, health, mark, cursor,
column widths, horizontal scroll, width); a refresh that changes three rows re-renders three rows. The header line
stays on top while the rows scroll. Column widths grow to the widest cell seen and never shrink during a view
(``set_columns`` starts over), so a ticking figure never makes the table jump.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from n9s.render.table import Column, Row
from n9s.core.sanitize import ELLIPSIS, sanitize_label

HEALTH_STYLES = {
    "ok": "",
    "failed": "bold red",
    "oom": "bold magenta",
    "throttled": "yellow",
    "pending": "cyan",
    "done": "dim",
    "orphan": "bold yellow",
}
_HEALTH_RICH = {name: Style.parse(spec) if spec else Style() for name, spec in HEALTH_STYLES.items()}
_REVERSE = Style(reverse=True)

MAX_COLUMN_WIDTH = 80  # a hostile 10,000-character name costs one wide column, not a table nobody can read
CELL_PADDING = 1  # blank cells left and right of every cell, as DataTable draws them


def _fit(text: str, width: int, right: bool) -> str:
    """``text`` set to exactly ``width`` cells: padded on the justified side, or cut with an ellipsis."""
    if not text.isprintable():
        # Upstream sanitises every cell; this is the last guard so no control byte reaches the terminal.
        text = sanitize_label(text, max_len=len(text) + 1)
    length = cell_len(text)
    if length > width:
        if width <= 0:
            return ""
        return set_cell_size(text, width - 1) + ELLIPSIS
    if length == width:
        return text
    pad = " " * (width - length)
    return pad + text if right else text + pad


class ResourceTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header, with a row cursor and marks."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="table-select", show=False, tooltip="Open the row under the cursor"),
        Binding("up", "cursor_up", "Up", id="table-up", show=False, tooltip="Cursor up one row"),
        Binding("down", "cursor_down", "Down", id="table-down", show=False, tooltip="Cursor down one row"),
        Binding("pageup", "page_up", "Page up", id="table-page-up", show=False, tooltip="Cursor up one page"),
        Binding("pagedown", "page_down", "Page down", id="table-page-down", show=False,
                tooltip="Cursor down one page"),
        Binding("home,ctrl+home", "cursor_first", "First", id="table-first", show=False, tooltip="Cursor to the first row"),
        Binding("end,ctrl+end", "cursor_last", "Last", id="table-last", show=False, tooltip="Cursor to the last row"),
        Binding("left", "scroll_left", "Scroll left", id="table-left", show=False, tooltip="Scroll the columns left"),
        Binding("right", "scroll_right", "Scroll right", id="table-right", show=False,
                tooltip="Scroll the columns right"),
    ]

    COMPONENT_CLASSES = {"resource-table--header", "resource-table--cursor"}

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus { background-tint: $foreground 5%; }
        & > .resource-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:focus > .resource-table--header { background-tint: $foreground 5%; }
        &:ansi > .resource-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .resource-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .resource-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    class RowSelected(Message):
        """Enter (or a click on the cursor row): the user chose the row ``key``."""

        def __init__(self, table: ResourceTable, key: str, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.cursor_row = cursor_row

        @property
        def control(self) -> ResourceTable:
            return self.table

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: tuple[Column, ...] = ()
        self._sort: tuple[int | None, bool] = (None, False)
        self._labels: tuple[str, ...] = ()
        self._widths: tuple[int, ...] = ()
        self._keys: list[str] = []
        self._cells: list[tuple[str, ...]] = []
        self._health: list[str] = []
        self._index: dict[str, int] = {}
        self._cursor = 0
        self._pending_key: str | None = None
        self.marked: set[str] = set()
        # row key -> (what the strip depends on, the strip, the row's cells fitted to their columns)
        self._strips: dict[str, tuple[tuple, Strip, tuple[str, ...]]] = {}
        self._base_style: Style | None = None
        self._pass: tuple[int, int, int] | None = None  # (scroll x, scroll y, width) while render_lines runs
        self._header_strip: tuple[tuple, Strip] | None = None
        self._styles: dict[tuple[str, bool, bool], Style] = {}
        self.rows_painted = 0  # rows rendered into a new Strip (cache misses): what a refresh really cost

    # ---- what the rest of n9s reads ----
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def rows(self) -> Mapping[str, int]:
        """Row key -> display index (``key in table.rows`` asks whether a row is shown)."""
        return self._index

    @property
    def keys(self) -> list[str]:
        """Row keys in display order."""
        return list(self._keys)

    @property
    def column_labels(self) -> list[str]:
        """The header's labels, the sort column with its arrow."""
        return list(self._labels)

    @property
    def cursor_row(self) -> int:
        return self._cursor  # 0 on an empty table, as DataTable had it

    @property
    def current_key(self) -> str | None:
        if not self._keys:
            return None
        return self._keys[self._cursor]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def get_row_at(self, index: int) -> list[Text]:
        """The cells of row ``index`` as styled text (str() gives the cell, .style its health)."""
        style = HEALTH_STYLES.get(self._health[index], "")
        return [Text(cell, style=style) for cell in self._cells[index]]

    # ---- columns ----
    def _label_set(self, sort_index: int | None, reverse: bool) -> tuple[str, ...]:
        arrow = "↓" if reverse else "↑"
        return tuple(col.name + (arrow if sort_index == i else "") for i, col in enumerate(self._columns))

    def set_columns(self, columns: Sequence[Column], sort_index: int | None = None, reverse: bool = False) -> None:
        """Start a new view: these columns, no rows, widths measured afresh."""
        self._columns = tuple(columns)
        self._sort = (sort_index, reverse)
        self._labels = self._label_set(sort_index, reverse)
        # Room for the arrow from the start, so sorting never widens a column.
        self._widths = tuple(col.width if col.width else min(MAX_COLUMN_WIDTH, cell_len(col.name) + 1)
                             for col in self._columns)
        # The cursor's row key survives (e.g. marks cleared, the same view again); the next apply() finds it.
        self._pending_key = self.current_key or self._pending_key
        self._keys, self._cells, self._health, self._index = [], [], [], {}
        self._strips.clear()
        self._cursor = 0
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._update_virtual_size()
        self.refresh()

    def relabel_sort(self, sort_index: int | None, reverse: bool) -> None:
        self._sort = (sort_index, reverse)
        self._labels = self._label_set(sort_index, reverse)
        self.refresh(Region(0, 0, self.size.width, 1))

    # ---- rows ----
    def apply(self, rows: Iterable[Row]) -> None:
        """Show exactly ``rows`` in this order; repaint only the lines whose look changed."""
        rows = list(rows)
        if len({r.key for r in rows}) != len(rows):
            # Two rows under one key (a source listed a thing twice): show the first, never crash the screen.
            seen: set[str] = set()
            rows = [r for r in rows if not (r.key in seen or seen.add(r.key))]
        keep = self.current_key or self._pending_key
        self._pending_key = None
        old_keys = self._keys
        old_index = self._index
        old_cells = self._cells
        old_health = self._health
        keys = [r.key for r in rows]
        self._keys = keys
        self._cells = [r.cells for r in rows]
        self._health = [r.health for r in rows]
        self._index = {k: i for i, k in enumerate(keys)}
        grew = self._grow_columns(rows)
        for gone in old_index.keys() - self._index.keys():
            self._strips.pop(gone, None)
        if keep is not None and keep in self._index:
            self._cursor = self._index[keep]
        else:
            self._cursor = min(self._cursor, max(0, len(keys) - 1))
        self._update_virtual_size()
        if grew or keys != old_keys:
            self.refresh()
        else:
            regions = self._changed_regions(old_cells, old_health)
            if regions:
                self.refresh(*regions)  # one call: each refresh() call clears the widget's caches again
        self._scroll_to_cursor()

    def _changed_regions(self, old_cells: list[tuple[str, ...]], old_health: list[str]) -> list[Region]:
        """Screen regions of the visible cells that changed: from the first changed cell of a row to its last (a
        health change is the whole row). Textual writes only these spans to the terminal."""
        top, bottom = self._visible_rows()
        width = self.size.width
        scroll_x = int(self.scroll_offset.x)
        edges = [0]
        for w in self._widths:
            edges.append(edges[-1] + w + 2 * CELL_PADDING)
        regions = []
        for i in range(top, bottom):
            old, new = old_cells[i], self._cells[i]
            if old == new and old_health[i] == self._health[i]:
                continue
            y = 1 + i - top
            if old_health[i] != self._health[i] or len(old) != len(new):
                regions.append(Region(0, y, width, 1))
                continue
            changed = [c for c in range(min(len(new), len(self._widths))) if old[c] != new[c]]
            if not changed:
                continue
            x0 = max(0, edges[changed[0]] - scroll_x)
            x1 = min(width, edges[changed[-1] + 1] - scroll_x)
            if x1 > x0:
                regions.append(Region(x0, y, x1 - x0, 1))
        return regions

    def _grow_columns(self, rows: list[Row]) -> bool:
        widths = list(self._widths)
        n = len(widths)
        cells = [row.cells[:n] for row in rows]
        if len({len(c) for c in cells}) > 1:
            cells = [c + ("",) * (n - len(c)) for c in cells]  # ragged rows: a missing cell is blank
        # Column by column, so the scans run in C: only a column with a longer or a non-ASCII cell is measured.
        for i, column in enumerate(zip(*cells)):
            if self._columns[i].width:
                continue
            if max(map(len, column)) > widths[i] or not all(map(str.isascii, column)):
                widths[i] = min(MAX_COLUMN_WIDTH, max(widths[i], max(map(cell_len, column))))
        if tuple(widths) != self._widths:
            self._widths = tuple(widths)
            return True
        return False

    def _update_virtual_size(self) -> None:
        width = sum(w + 2 * CELL_PADDING for w in self._widths)
        self.virtual_size = Size(width, len(self._keys) + 1)

    def toggle_mark(self, key: str | None) -> None:
        if key is None or key not in self._index:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self._refresh_row(self._index[key])

    # ---- cursor and scrolling ----
    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # less the header

    def _visible_rows(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        return top, min(len(self._keys), top + self._page_height())

    def _refresh_row(self, index: int) -> None:
        top, bottom = self._visible_rows()
        if top <= index < bottom:
            self.refresh(Region(0, 1 + index - top, self.size.width, 1))

    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped to the rows there are); ``column`` is accepted and ignored."""
        if row is None or not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self._cursor:
            self._refresh_row(self._cursor)
            self._cursor = row
            self._refresh_row(row)
        if scroll:
            self._scroll_to_cursor(animate)

    def _scroll_to_cursor(self, animate: bool = False) -> None:
        if not self._keys:
            return
        top = int(self.scroll_offset.y)
        page = self._page_height()
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=animate, immediate=not animate)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=animate, immediate=not animate)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + self._page_height())

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - self._page_height())

    def action_cursor_first(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_last(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.RowSelected(self, key, self._cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= index < len(self._keys):
            already = index == self._cursor
            self.move_cursor(row=index)
            if already or event.chain > 1:
                self.action_select_cursor()

    # ---- painting ----
    def notify_style_update(self) -> None:
        # Theme, focus or CSS changed: every cached style and strip may be stale.
        self._styles.clear()
        self._strips.clear()
        self._header_strip = None
        self._base_style = None
        super().notify_style_update()

    @property
    def _base(self) -> Style:
        # rich_style walks the ancestors' styles: asked once per line, it was much of a row's repaint.
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def _row_style(self, health: str, marked: bool, cursor: bool) -> Style:
        key = (health, marked, cursor)
        style = self._styles.get(key)
        if style is None:
            style = self._base + _HEALTH_RICH.get(health, Style())
            if marked:
                style += _REVERSE
            if cursor:
                style += self.get_component_rich_style("resource-table--cursor")
            self._styles[key] = style
        return style

    def _fitted(self, cells: Sequence[str], reuse: tuple[tuple[str, ...], tuple[str, ...]] | None = None
                ) -> tuple[str, ...]:
        """Each cell padded or cut to its column, with the blank cells around it. ``reuse``: (cells, fitted) of
        the same row at the same widths; unchanged cells are taken from it (a refresh changes a few cells)."""
        pad = " " * CELL_PADDING
        widths = self._widths
        if reuse is not None and len(cells) == len(reuse[0]) == len(reuse[1]) == len(widths):
            old_cells, parts_ = reuse
            parts = list(parts_)
            for i, (old, text) in enumerate(zip(old_cells, cells)):
                if old != text:
                    parts[i] = pad + _fit(text, widths[i], self._columns[i].numeric) + pad
            return tuple(parts)
        parts = []
        for i, width in enumerate(widths):
            text = cells[i] if i < len(cells) else ""
            parts.append(pad + _fit(text, width, self._columns[i].numeric) + pad)
        return tuple(parts)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Scroll offset and content width are the same for every line of one pass: look them up once, not per line.
        scroll_x, scroll_y = self.scroll_offset
        self._pass = (int(scroll_x), int(scroll_y), self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        if self._pass is not None:
            scroll_x, scroll_y, width = self._pass
        else:
            scroll_x, scroll_y = self.scroll_offset
            width = self.scrollable_content_region.width
        base = self._base
        if y == 0:
            return self._header(int(scroll_x), width, base)
        index = int(scroll_y) + y - 1
        if not 0 <= index < len(self._keys):
            return Strip.blank(width, base)
        key = self._keys[index]
        cells = self._cells[index]
        health = self._health[index]
        marked = key in self.marked
        is_cursor = index == self._cursor
        depends = (cells, health, marked, is_cursor, self._widths, int(scroll_x), width)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == depends:
            return cached[1]
        self.rows_painted += 1
        reuse = (cached[0][0], cached[2]) if cached is not None and cached[0][4] == self._widths else None
        fitted = self._fitted(cells, reuse)
        line = "".join(fitted)
        style = self._row_style(health, marked, is_cursor)
        if line.isascii():  # one cell per character: crop and pad the text itself, one Strip instead of two
            visible = line[int(scroll_x):int(scroll_x) + width]
            segments = [Segment(visible, style)] if visible else []
            if len(visible) < width:
                segments.append(Segment(" " * (width - len(visible)), base))
            strip = Strip(segments, width)
        else:
            length = sum(self._widths) + 2 * CELL_PADDING * len(self._widths)  # every fitted cell is this wide
            strip = Strip([Segment(line, style)], length).crop_extend(int(scroll_x), int(scroll_x) + width, base)
        self._strips[key] = (depends, strip, fitted)
        return strip

    def _header(self, scroll_x: int, width: int, base: Style) -> Strip:
        depends = (self._labels, self._widths, scroll_x, width)
        if self._header_strip is not None and self._header_strip[0] == depends:
            return self._header_strip[1]
        line = "".join(self._fitted(self._labels_left()))
        style = self.get_component_rich_style("resource-table--header")
        strip = Strip([Segment(line, style)], cell_len(line)).crop_extend(scroll_x, scroll_x + width, base)
        self._header_strip = (depends, strip)
        return strip

    def _labels_left(self) -> list[str]:
        # Labels sit left like DataTable's, numeric columns included: pad them to the column so _fit keeps them left.
        return [label.ljust(w) if cell_len(label) < w else label for label, w in zip(self._labels, self._widths)]
