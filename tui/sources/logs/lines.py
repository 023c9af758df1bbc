"""What a log view reads: numbered lines of one container's history, or of several containers merged.

Both kinds give lines by stable id (see ``HistoryIndex``): ``id_range()`` is the known range, which grows
at the front (``scan_back``) and at the end (``poll``); ``read(first, count)`` returns ``ShownLine``s.
Calls other than ``id_range`` may do file I/O and belong on a worker thread.

- ``IndexedLines``: one container, every line of its history through the block index; opens at the tail
  of a file of any size, and shows one physical line per row (a P piece is flagged ``partial``; the
  joined record is what ``records()`` and saving produce).
- ``MergedLines``: several containers (``l`` on a pod), merged by time and tagged with the container. It
  keeps the last ``keep`` records in memory (K9s keeps 5000), since a merged order has no file to index.
Headless: no textual or rich.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from n9s.sources.logs.follow import GONE, LogFollower
from n9s.sources.logs.format import LogRecord, parse_line
from n9s.sources.logs.history import HistoryIndex
from n9s.sources.logs.files import merge_records, tail_of_index

__all__ = ["ShownLine", "Changes", "IndexedLines", "MergedLines", "open_lines"]


@dataclass(frozen=True, slots=True)
class ShownLine:
    id: int
    record: LogRecord


@dataclass
class Changes:
    appended: int = 0
    prepended: int = 0
    dropped: int = 0  # lines removed from the front (merged view's memory bound)
    events: list[str] = field(default_factory=list)
    reset: bool = False  # everything was reloaded: ids start again
    gone: bool = False


class IndexedLines:
    """One container's log history, read through ``HistoryIndex``."""

    def __init__(self, path: str, *, name: str = "", initial_scan: int = 1 << 20) -> None:
        self.path = path
        self.name = name
        self._initial_scan = initial_scan
        self._index = HistoryIndex(path, initial_scan=initial_scan)

    @property
    def files(self) -> list[str]:
        return self._index.files

    def id_range(self) -> tuple[int, int]:
        return self._index.id_range()

    @property
    def complete(self) -> bool:
        return self._index.complete

    def read(self, first: int, count: int) -> list[ShownLine]:
        lo, hi = self._index.id_range()
        first = max(first, lo)
        raws = self._index.read_lines(first, min(count, hi - first), max_bytes=256 * 1024)
        return [ShownLine(first + i, parse_line(raw)) for i, raw in enumerate(raws)]

    def scan_back(self, max_bytes: int = 8 << 20) -> int:
        return self._index.scan_back(max_bytes)

    def seek_time(self, ts_ns: int) -> int:
        return self._index.seek_time(ts_ns)

    def poll(self) -> Changes:
        result = self._index.poll()
        changes = Changes(result.appended, 0, 0, list(result.events), False, result.gone)
        if result.reset:
            self._index.close()
            self._index = HistoryIndex(self.path, initial_scan=self._initial_scan)
            changes.reset = True
        return changes

    def tail_records(self, n: int) -> list[LogRecord]:
        return tail_of_index(self._index, n)

    def close(self) -> None:
        self._index.close()


# A merged record is held in memory, so its content is cut to this many bytes (the view draws at most 16,384
# characters of a line): a container writing megabytes without a newline costs this much per record, not the file.
MAX_KEPT_BYTES = 64 * 1024


def _cut(rec: LogRecord) -> LogRecord:
    return rec if len(rec.content) <= MAX_KEPT_BYTES else replace(rec, content=rec.content[:MAX_KEPT_BYTES])


class MergedLines:
    """Several containers' logs merged by time, the last ``keep`` records held in memory (each cut to
    ``MAX_KEPT_BYTES``)."""

    def __init__(self, paths: dict[str, str], *, keep: int = 20_000) -> None:
        self.paths = dict(paths)
        self.name = ", ".join(paths)
        self.keep = keep
        self._lock = threading.Lock()
        self._lines: deque[LogRecord] = deque()
        self._first_id = 0
        self._followers: dict[str, LogFollower] = {}
        tails: dict[str, list[LogRecord]] = {}
        try:
            for name, path in self.paths.items():
                index = HistoryIndex(path)
                try:
                    tails[name] = tail_of_index(index, keep, max_record_bytes=MAX_KEPT_BYTES)
                    # Follow from the end of the last complete line the tail included.
                    offset = index.live_complete_end()
                finally:
                    index.close()
                self._followers[name] = LogFollower(path, offset=offset)
        except BaseException:
            self.close()
            raise
        self._lines.extend(list(merge_records(tails))[-keep:])

    @property
    def files(self) -> list[str]:
        return list(self.paths.values())

    @property
    def complete(self) -> bool:
        return True

    def id_range(self) -> tuple[int, int]:
        with self._lock:
            return self._first_id, self._first_id + len(self._lines)

    def read(self, first: int, count: int) -> list[ShownLine]:
        with self._lock:
            lo = self._first_id
            first = max(first, lo)
            end = min(first + count, lo + len(self._lines))
            return [ShownLine(i, self._lines[i - lo]) for i in range(first, end)]

    def scan_back(self, max_bytes: int = 0) -> int:
        return 0

    def seek_time(self, ts_ns: int) -> int:
        with self._lock:
            for i, rec in enumerate(self._lines):
                if rec.ts_ns is not None and rec.ts_ns >= ts_ns:
                    return self._first_id + i
            return self._first_id + len(self._lines)

    def poll(self) -> Changes:
        changes = Changes()
        batches: dict[str, list[LogRecord]] = {}
        for name, follower in self._followers.items():
            batch = follower.poll(self.keep)
            batches[name] = [_cut(rec) for rec in batch.records]
            changes.events += [f"{name}: {e}" for e in batch.events]
            changes.gone = changes.gone or batch.state == GONE
        new = list(merge_records(batches))
        with self._lock:
            self._lines.extend(new)
            changes.appended = len(new)
            while len(self._lines) > self.keep:
                self._lines.popleft()
                self._first_id += 1
                changes.dropped += 1
        return changes

    def tail_records(self, n: int) -> list[LogRecord]:
        with self._lock:
            return list(self._lines)[-n:]

    def close(self) -> None:
        for follower in self._followers.values():
            follower.close()


def open_lines(path_or_paths: str | os.PathLike | dict[str, str] | list[str]) -> IndexedLines | MergedLines:
    """One path → ``IndexedLines``; several (a list, or container name → path) → ``MergedLines``."""
    if isinstance(path_or_paths, (str, os.PathLike)):
        return IndexedLines(os.fspath(path_or_paths))
    if isinstance(path_or_paths, dict):
        paths = {str(k): os.fspath(v) for k, v in path_or_paths.items()}
    else:
        paths = {_container_name(os.fspath(p)): os.fspath(p) for p in path_or_paths}
    if len(paths) == 1:
        (name, path), = paths.items()
        return IndexedLines(path, name=name)
    return MergedLines(paths)


def _container_name(path: str) -> str:
    """``<pod dir>/<container>/<n>.log`` → ``<container>``."""
    return os.path.basename(os.path.dirname(path)) or os.path.basename(path)


def iter_shown(lines: IndexedLines | MergedLines, first: int, last: int, chunk: int = 2000) -> Iterator[ShownLine]:
    """Lines ``first`` .. ``last - 1`` read in chunks."""
    at = first
    while at < last:
        got = lines.read(at, min(chunk, last - at))
        if not got:
            return
        yield from got
        at = got[-1].id + 1
