"""A DataTable that takes whole row sets and applies only the difference.

Rows are keyed; a refresh updates the cells that changed inside one ``batch_update()``, adds and removes rows by
key, never re-measures columns in a loop (``update_width`` stays off), and keeps the cursor on the same row key.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from n9s.render.table import Column, Row

HEALTH_STYLES = {
    "ok": "",
    "failed": "bold red",
    "oom": "bold magenta",
    "throttled": "yellow",
    "pending": "cyan",
    "done": "dim",
    "orphan": "bold yellow",
}


class ResourceTable(DataTable):
    DEFAULT_CSS = """
    ResourceTable { height: 1fr; }
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(*args, **kwargs)
        self._columns_spec: tuple[Column, ...] = ()
        self._cells: dict[str, tuple[str, ...]] = {}
        self._health: dict[str, str] = {}
        self._order: list[str] = []
        self.marked: set[str] = set()

    @property
    def current_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except (RowDoesNotExist, Exception):
            return None

    def _cell(self, key: str, text: str, index: int, health: str) -> Text:
        style = HEALTH_STYLES.get(health, "")
        if key in self.marked:
            style = (style + " reverse").strip()
        justify = "right" if self._columns_spec[index].numeric else "left"
        return Text(text, style=style, justify=justify, no_wrap=True, overflow="ellipsis")

    def set_columns(self, columns: Sequence[Column], sort_index: int | None = None, reverse: bool = False) -> None:
        self.clear(columns=True)
        self._columns_spec = tuple(columns)
        self._cells.clear()
        self._health.clear()
        self._order = []
        for i, col in enumerate(columns):
            label = col.name
            if sort_index == i:
                label += "↓" if reverse else "↑"
            self.add_column(label, key=str(i))

    def relabel_sort(self, sort_index: int | None, reverse: bool) -> None:
        for i, col in enumerate(self._columns_spec):
            label = col.name + (("↓" if reverse else "↑") if sort_index == i else "")
            column = self.columns.get(str(i))  # type: ignore[call-overload]
            if column is not None and str(column.label) != label:
                column.label = Text(label)
        self.refresh()

    def apply(self, rows: Iterable[Row]) -> None:
        """Show exactly ``rows`` in this order, touching only what changed."""
        rows = list(rows)
        keep = self.current_key
        new_keys = [r.key for r in rows]
        new_set = set(new_keys)
        with self.app.batch_update():
            gone = [k for k in self._order if k not in new_set]
            if len(gone) > max(20, len(self._order) // 3):
                # Many removals: one rebuild beats k O(n) removals (each remove_row re-indexes every row).
                self.clear()
                self._cells.clear()
                self._health.clear()
                self._order = []
            else:
                for k in gone:
                    self.remove_row(k)
                    self._cells.pop(k, None)
                    self._health.pop(k, None)
                self._order = [k for k in self._order if k in new_set]
            for row in rows:
                old = self._cells.get(row.key)
                if old is None:
                    self.add_row(*(self._cell(row.key, t, i, row.health) for i, t in enumerate(row.cells)), key=row.key)
                    self._order.append(row.key)
                elif old != row.cells or self._health.get(row.key) != row.health:
                    for i, text in enumerate(row.cells):
                        if i >= len(old) or old[i] != text or self._health.get(row.key) != row.health:
                            self.update_cell(row.key, str(i), self._cell(row.key, text, i, row.health))
                self._cells[row.key] = row.cells
                self._health[row.key] = row.health
            self._grow_columns(rows)
            if self._order != new_keys:
                self._reorder(new_keys)
            if keep is not None and keep in new_set:
                self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _grow_columns(self, rows: list[Row]) -> None:
        """Widen a column when a cell outgrew it; never shrink (that would re-measure the whole column)."""
        widest: dict[int, int] = {}
        for row in rows:
            for i, text in enumerate(row.cells):
                if len(text) > widest.get(i, 0):
                    widest[i] = len(text)
        grew = False
        for i, width in widest.items():
            column = self.columns.get(str(i))  # type: ignore[call-overload]
            if column is not None and width > column.content_width:
                column.content_width = width
                grew = True
        if grew:
            self._require_update_dimensions = True
            self.refresh(layout=True)

    def _reorder(self, keys: list[str]) -> None:
        """Put rows in ``keys`` order with DataTable's own sort: the first cell's identity names its row."""
        rank = {id(self.get_cell(k, "0")): i for i, k in enumerate(keys)}
        last = len(rank)
        self.sort("0", key=lambda cell: rank.get(id(cell), last))
        self._order = list(keys)

    def toggle_mark(self, key: str | None) -> None:
        if key is None:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        cells = self._cells.get(key)
        if cells is not None:
            health = self._health.get(key, "ok")
            with self.app.batch_update():
                for i, text in enumerate(cells):
                    self.update_cell(key, str(i), self._cell(key, text, i, health))
