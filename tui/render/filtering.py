"""The K9s `/` filter: a case-insensitive regex over the row, `!` inverts, `-l key=value` matches labels."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from n9s.render.table import Row


@dataclass(frozen=True)
class RowFilter:
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.text.strip())

    def _labels(self, spec: str) -> dict[str, str]:
        wanted = {}
        for part in spec.split(","):
            key, sep, value = part.strip().partition("=")
            if key:
                wanted[key.strip()] = value.strip() if sep else ""
        return wanted

    def apply(self, rows: Iterable[Row]) -> list[Row]:
        text = self.text.strip()
        if not text:
            return list(rows)
        if text.startswith("-l ") or text.startswith("-l="):
            wanted = self._labels(text[3:])
            return [r for r in rows if all(r.labels.get(k) == v if v else k in r.labels for k, v in wanted.items())]
        invert = text.startswith("!")
        if invert:
            text = text[1:].strip()
            if not text:
                return list(rows)  # a lone "!" (typing has just begun) hides nothing
        try:
            pattern = re.compile(text, re.IGNORECASE)
        except re.error:
            pattern = re.compile(re.escape(text), re.IGNORECASE)
        return [r for r in rows if bool(pattern.search(r.text)) != invert]
