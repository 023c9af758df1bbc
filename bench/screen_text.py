"""Turn what n9s wrote to its terminal into lines of plain text, and read table rows out of them by the header
painted above them (column names, not positions: the views gain columns)."""
from __future__ import annotations

import re

CURSOR_TO = re.compile(rb"\x1b\[\d+;\d+H")
ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]")
CELL = re.compile(r"\d+(?:\.\d+)? (?:B|[KMGT]iB)|\S+")  # "644.0 KiB" is one cell


def plain(data: bytes) -> str:
    """Each cursor move starts a new line; every other escape sequence goes."""
    return ESCAPES.sub(b"", CURSOR_TO.sub(b"\n", data)).decode("utf-8", "replace")


class PodRows:
    """Feed it plain text as it comes; it keeps the last row painted for each pod (namespace/name), as
    {column name: cell}. Rows whose cell count does not match the header (cut by a partial repaint) are skipped."""

    def __init__(self) -> None:
        self.header: list[str] = []
        self.rows: dict[str, dict[str, str]] = {}

    def feed(self, text: str) -> list[dict[str, str]]:
        new = []
        for line in text.splitlines():
            cells = CELL.findall(line.replace("↑", "").replace("↓", ""))
            if cells[:2] == ["NAMESPACE", "NAME"] and "MEM" in cells:
                self.header = cells
                continue
            if self.header and len(cells) == len(self.header):
                row = dict(zip(self.header, cells))
                if re.fullmatch(r"\d+/\d+", row.get("READY", "")):
                    self.rows[f"{row['NAMESPACE']}/{row['NAME']}"] = row
                    new.append(row)
        return new

    def count(self, column: str) -> int:
        """How many pods show a value (not '-') in `column`."""
        return sum(1 for r in self.rows.values() if r.get(column, "-") != "-")
