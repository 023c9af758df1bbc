"""The shape every renderer returns: a header spec and rows of plain-text cells."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False  # right-aligned, sorted by value
    width: int | None = None  # a fixed width, else as wide as the content


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    sort_values: tuple[Any, ...]  # one per column: what sorting by that column compares
    health: str = "ok"  # ok failed oom throttled pending done orphan
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What the / filter matches against."""
        return " ".join(self.cells)


def sort_rows(rows: list[Row], column: int, reverse: bool) -> list[Row]:
    def key(row: Row) -> tuple[int, Any]:
        value = row.sort_values[column] if column < len(row.sort_values) else None
        # Unknown values sort last whatever the direction.
        if value is None:
            return (1, 0) if not reverse else (-1, 0)
        return (0, value)

    known = [r for r in rows if column < len(r.sort_values) and r.sort_values[column] is not None]
    unknown = [r for r in rows if not (column < len(r.sort_values) and r.sort_values[column] is not None)]
    return sorted(known, key=key, reverse=reverse) + unknown
