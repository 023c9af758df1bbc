"""CRI container log files: the public face of the log source.

Pieces (each in its own module):
- ``log_format``: one line → ``LogRecord``; ``PartialJoiner`` joins P pieces with their F line.
- ``log_index``: ``FileIndex``, a sparse block index over one file, built from the end backwards.
- ``log_history``: rotated files + live file as one line sequence (``HistoryIndex``), ``history_files``,
  ``previous_attempt_path``.
- ``log_follow``: ``LogFollower``, follows a file by inode and yields records in batches.

This module adds whole-history reading (``iter_records``, ``tail_records``), merging several containers
by time (``merge_records``, ``tail_merged``) and seeking by time (``first_at_or_after``).
Headless: no textual or rich.
"""
from __future__ import annotations

import gzip
import heapq
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import count

from n9s.sources.errors import NotFound, PermissionDenied, SourceError
from n9s.sources.logs.follow import FOLLOWING, GONE, FollowBatch, LogFollower
from n9s.sources.logs.format import (
    LogRecord,
    PartialJoiner,
    format_timestamp,
    parse_line,
    parse_timestamp,
)
from n9s.sources.logs.history import (
    HistoryFile,
    HistoryIndex,
    PollResult,
    history_files,
    open_log_fd,
    previous_attempt_path,
)
from n9s.sources.logs.index import FileIndex

__all__ = [
    "LogRecord", "PartialJoiner", "parse_line", "parse_timestamp", "format_timestamp",
    "FileIndex", "HistoryIndex", "HistoryFile", "PollResult", "history_files", "previous_attempt_path",
    "LogFollower", "FollowBatch", "FOLLOWING", "GONE",
    "iter_lines", "iter_records", "tail_records", "merge_records", "tail_merged", "first_at_or_after",
]

_CHUNK = 1 << 20


def _iter_file_lines(read) -> Iterator[bytes]:
    carry = b""
    while True:
        data = read(_CHUNK)
        if not data:
            break
        data = carry + data
        lines = data.split(b"\n")
        carry = lines.pop()
        yield from lines
    if carry:
        yield carry  # a finished file's last, unterminated line


def iter_lines(files: Iterable[HistoryFile]) -> Iterator[bytes]:
    """Physical lines of the given files in order (gz ones decompressed as a stream)."""
    for f in files:
        try:
            if f.gzipped:
                with gzip.open(f.path, "rb") as src:
                    yield from _iter_file_lines(src.read)
            else:
                fd = open_log_fd(f.path)
                with os.fdopen(fd, "rb", buffering=0) as src:
                    yield from _iter_file_lines(src.read)
        except FileNotFoundError:
            raise NotFound(f"log file {f.path} disappeared while reading it") from None
        except PermissionError:
            raise PermissionDenied(f"cannot read log file {f.path}: permission denied") from None
        except (EOFError, gzip.BadGzipFile) as exc:
            raise SourceError(f"rotated log {f.path} is damaged: {exc}") from None


def iter_records(path: str, *, with_history: bool = True) -> Iterator[LogRecord]:
    """Every record of a container's log, oldest first: rotated files then the live file, P pieces
    joined (also across a rotation), malformed lines kept."""
    files = history_files(path) if with_history else []
    if not any(f.live for f in files):
        os.close(open_log_fd(path))  # raises the error that says why the live file cannot be read
        files.append(HistoryFile(path, live=True))
    joiner = PartialJoiner()
    for line in iter_lines(files):
        yield from joiner.feed(parse_line(line))
    yield from joiner.flush()


def tail_records(path: str, n: int, *, with_history: bool = True) -> list[LogRecord]:
    """The last ``n`` records, read from the end of the history (a large file is not read whole)."""
    index = HistoryIndex(path, with_history=with_history)
    try:
        return tail_of_index(index, n)
    finally:
        index.close()


_READ_LINES = 64  # physical lines read at a time when joining a range (each read is capped at 1 MiB)


def _cut(rec: LogRecord, max_bytes: int | None) -> LogRecord:
    if max_bytes is None or len(rec.content) <= max_bytes:
        return rec
    return replace(rec, content=rec.content[:max_bytes])


def _joined_range(index: HistoryIndex, start: int, end: int, max_record_bytes: int | None) -> list[LogRecord]:
    """Records of lines ``start``..``end``-1, read a few lines at a time so only the records (each cut to
    ``max_record_bytes``) and one record being joined are held, not every line of the range."""
    joiner = PartialJoiner()
    records: list[LogRecord] = []
    for at in range(start, end, _READ_LINES):
        for raw in index.read_lines(at, min(_READ_LINES, end - at)):
            records.extend(_cut(r, max_record_bytes) for r in joiner.feed(parse_line(raw)))
    records.extend(_cut(r, max_record_bytes) for r in joiner.flush())
    return records


def tail_of_index(index: HistoryIndex, n: int, *, max_record_bytes: int | None = None) -> list[LogRecord]:
    """The last ``n`` joined records among the lines of ``index`` (scanning back as far as needed).

    ``max_record_bytes`` cuts each record's content to that size as it is joined, so a writer that never ends a
    line (megabytes of P pieces) costs that much memory per record, not the size of the file."""
    if n <= 0:
        return []
    want = n
    while True:
        lo, hi = index.id_range()
        while hi - lo < want and not index.complete:
            index.scan_back()
            lo, hi = index.id_range()
        start = max(lo, hi - want)
        # Step back over P pieces before the range so the first record is whole.
        while start > lo and parse_line(index.read_line(start - 1)).partial:
            start -= 1
        records = _joined_range(index, start, hi, max_record_bytes)
        if len(records) >= n or start <= lo and index.complete:
            return records[-n:]
        want *= 2


def _keyed(name: str, order: int, records: Iterable[LogRecord], seq: Iterator[int]):
    last_ts = -1 << 62
    for rec in records:
        if rec.ts_ns is not None:
            last_ts = rec.ts_ns
        # A malformed line has no time: it stays right after the record before it in its own container.
        yield (last_ts, order, next(seq), rec.with_container(name))


def merge_records(streams: Mapping[str, Iterable[LogRecord]]) -> Iterator[LogRecord]:
    """Merge several containers' record streams (each in time order) by timestamp.

    Each record is tagged with its container name. Ties keep the order of ``streams`` and of each stream.
    """
    seq = count()
    keyed = [_keyed(name, i, recs, seq) for i, (name, recs) in enumerate(streams.items())]
    for *_, rec in heapq.merge(*keyed, key=lambda item: item[:3]):
        yield rec


def tail_merged(paths: Mapping[str, str], n: int) -> list[LogRecord]:
    """The last ``n`` records of several containers merged by time (``paths``: container → log path)."""
    return list(merge_records({name: tail_records(p, n) for name, p in paths.items()}))[-n:]


def first_at_or_after(records: list[LogRecord], ts_ns: int) -> int:
    """Index of the first record at or after ``ts_ns`` in a time-ordered list (len if none)."""
    lo, hi = 0, len(records)
    while lo < hi:
        mid = (lo + hi) // 2
        ts = records[mid].ts_ns
        if ts is None or ts < ts_ns:
            lo = mid + 1
        else:
            hi = mid
    return lo
