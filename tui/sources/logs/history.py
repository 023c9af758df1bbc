"""A container's log history across kubelet rotation, presented as one sequence of lines.

The kubelet renames ``N.log`` to ``N.log.<YYYYMMDD-HHMMSS>``, later gzips older ones to ``.gz`` (through a
``.tmp`` file) and has the runtime reopen ``N.log``. ``history_files`` lists the pieces oldest first;
``HistoryIndex`` indexes them as one line sequence: the live file is indexed first, from its end, so the
tail is ready at once; older files are indexed (gz ones decompressed into an unnamed temporary file, not
into memory) only when ``scan_back`` reaches them. ``poll`` follows the live file by inode: appended
lines, rotation (finish the old file, continue in the new one from byte 0), copytruncate and deletion.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
import threading
from bisect import bisect_right
from dataclasses import dataclass, field

from n9s.sources.errors import NotFound, PermissionDenied, SourceError
from n9s.sources.logs.format import LogRecord, parse_line, parse_timestamp
from n9s.sources.logs.index import FileIndex

__all__ = [
    "HistoryFile",
    "HistoryIndex",
    "PollResult",
    "history_files",
    "previous_attempt_path",
    "open_log_fd",
]

_ATTEMPT = re.compile(r"^(\d+)\.log$")


@dataclass(frozen=True)
class HistoryFile:
    path: str
    gzipped: bool = False
    live: bool = False


def open_log_fd(path: str) -> int:
    """Open a log file read-only, turning OS errors into SourceErrors that say what to do."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"log file {path} does not exist",
                       hint="the container may have been removed, or its log rotated away") from None
    except PermissionError:
        raise PermissionDenied(f"cannot read log file {path}: permission denied",
                               hint="run n9s as root to read container logs") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory, not a log file") from None
    except OSError as exc:
        raise SourceError(f"cannot open log file {path}: {exc.strerror or exc}") from None


def history_files(path: str) -> list[HistoryFile]:
    """The rotated files of ``path`` (oldest first) followed by ``path`` itself when it exists.

    ``.tmp`` files (a gzip in progress) are skipped, and so is a plain rotated file when the ``.gz`` of
    the same name exists (the kubelet is about to delete the plain one).
    """
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        raise NotFound(f"log directory {directory} does not exist") from None
    except PermissionError:
        raise PermissionDenied(f"cannot list log directory {directory}: permission denied",
                               hint="run n9s as root to read container logs") from None
    prefix = base + "."
    rotated = set()
    for name in names:
        if name.startswith(prefix) and not name.endswith(".tmp"):
            rotated.add(name)
    files: list[tuple[str, HistoryFile]] = []
    for name in rotated:
        gz = name.endswith(".gz")
        if not gz and name + ".gz" in rotated:
            continue
        stamp = name[len(prefix):]
        if gz:
            stamp = stamp[:-3]
        files.append((stamp, HistoryFile(os.path.join(directory, name), gzipped=gz)))
    files.sort(key=lambda item: item[0])
    out = [f for _, f in files]
    if base in names:
        out.append(HistoryFile(path, live=True))
    return out


def previous_attempt_path(path: str) -> str | None:
    """For ``<dir>/<container>/<n>.log``, the log of the highest earlier attempt present, or None.

    An attempt counts when its ``<k>.log`` or any rotated ``<k>.log.*`` is there.
    """
    directory, base = os.path.split(path)
    m = _ATTEMPT.match(base)
    if not m:
        return None
    current = int(m.group(1))
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return None
    best: int | None = None
    for name in names:
        head = name.split(".log", 1)[0]
        if head.isdigit() and name.startswith(head + ".log") and (name == head + ".log" or name[len(head) + 4] == "."):
            k = int(head)
            if k < current and (best is None or k > best):
                best = k
    return os.path.join(directory, f"{best}.log") if best is not None else None


def _gunzip_to_tempfile(path: str) -> int:
    """Decompress a rotated .gz into an unnamed temporary file; return a descriptor on it."""
    tmp = tempfile.TemporaryFile(prefix="n9s-log-")
    try:
        with gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, tmp, 1 << 20)
    except FileNotFoundError:
        tmp.close()
        raise NotFound(f"rotated log {path} disappeared (the kubelet deleted it)") from None
    except PermissionError:
        tmp.close()
        raise PermissionDenied(f"cannot read rotated log {path}: permission denied") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        # A gzip still being written or damaged: keep what could be decompressed.
        if not tmp.tell():
            tmp.close()
            raise SourceError(f"cannot decompress rotated log {path}: {exc}") from None
    tmp.flush()
    fd = os.dup(tmp.fileno())
    tmp.close()
    return fd


@dataclass
class PollResult:
    appended: int = 0  # lines added at the end
    prepended: int = 0  # lines added at the front (from scan_back)
    events: list[str] = field(default_factory=list)  # things to tell the user ("log rotated", ...)
    reset: bool = False  # the history must be reopened (copytruncate)
    gone: bool = False  # the live file is deleted and not replaced


@dataclass
class _Segment:
    file: HistoryFile
    index: FileIndex | None = None  # None until scan_back reaches it
    ino: tuple[int, int] | None = None
    error: str = ""


class HistoryIndex:
    """All lines of one container's log (rotated files, then the live file) as one sequence.

    Lines are addressed by stable ids: the first line known when the index was made has id 0, lines
    found later before it get negative ids, lines appended after it larger ids. ``id_range()`` gives the
    known ids; it grows at the front as ``scan_back`` goes on, and at the end as ``poll`` finds new lines.
    Safe to use from several threads.
    """

    def __init__(self, path: str, *, with_history: bool = True, initial_scan: int = 1 << 20) -> None:
        self.path = path
        self._lock = threading.RLock()
        fd = open_log_fd(path)
        try:
            st = os.fstat(fd)
            live = _Segment(HistoryFile(path, live=True), FileIndex(fd, name=path, initial_scan=initial_scan),
                            (st.st_dev, st.st_ino))
        except BaseException:
            os.close(fd)
            raise
        older: list[_Segment] = []
        if with_history:
            try:
                older = [_Segment(f) for f in history_files(path) if not f.live]
            except SourceError:
                older = []
        self._segments: list[_Segment] = older + [live]
        self._live = live
        self._front = len(older)  # segments before this one are not indexed yet
        self._base = 0  # lines before id 0 in the known window
        self._gone = False
        self.errors: list[str] = []

    # -- shape ---------------------------------------------------------------------------------------

    def _counts(self) -> list[int]:
        return [s.index.line_count if s.index else 0 for s in self._segments]

    def id_range(self) -> tuple[int, int]:
        """(first id, end id) of the known lines; end is exclusive."""
        with self._lock:
            total = sum(self._counts())
            return -self._base, total - self._base

    @property
    def line_count(self) -> int:
        lo, hi = self.id_range()
        return hi - lo

    @property
    def complete(self) -> bool:
        """True when every file of the history is indexed back to its first byte."""
        with self._lock:
            seg = self._segments[self._front]
            return self._front == 0 and (bool(seg.error) or (seg.index is not None and seg.index.complete))

    @property
    def gone(self) -> bool:
        return self._gone

    @property
    def files(self) -> list[str]:
        return [s.file.path for s in self._segments]

    def close(self) -> None:
        with self._lock:
            for s in self._segments:
                if s.index:
                    s.index.close()
                    s.index = None

    # -- growing the window ----------------------------------------------------------------------

    def scan_back(self, max_bytes: int = 4 << 20) -> int:
        """Index up to ``max_bytes`` more towards the start of the history; return lines added in front."""
        with self._lock:
            seg = self._segments[self._front]
            if seg.index is None:
                self._open_segment(seg)
            if seg.index is not None and not seg.index.complete:
                added = seg.index.scan_back(max_bytes)
            elif self._front > 0:  # this file is done (or unreadable): take in the one before it
                self._front -= 1
                older = self._segments[self._front]
                self._open_segment(older)
                added = older.index.line_count if older.index else 0
            else:
                added = 0
            self._base += added
            return added

    def scan_all(self) -> None:
        while not self.complete:
            self.scan_back(16 << 20)

    def _open_segment(self, seg: _Segment) -> None:
        try:
            if seg.file.gzipped:
                fd = _gunzip_to_tempfile(seg.file.path)
            else:
                fd = open_log_fd(seg.file.path)
            seg.index = FileIndex(fd, name=seg.file.path, final=True, initial_scan=1 << 40)
        except SourceError as exc:
            seg.error = str(exc)
            self.errors.append(seg.error)

    # -- lookup ----------------------------------------------------------------------------------------

    def _locate(self, line_id: int) -> tuple[FileIndex, int]:
        counts = self._counts()
        row = line_id + self._base
        if row < 0:
            raise IndexError(f"line id {line_id} not known")
        for seg, n in zip(self._segments, counts):
            if row < n:
                assert seg.index is not None
                return seg.index, row
            row -= n
        raise IndexError(f"line id {line_id} past the end")

    def read_line(self, line_id: int, max_bytes: int = 1 << 20) -> bytes:
        with self._lock:
            index, w = self._locate(line_id)
            return index.read_line(w, max_bytes)

    def read_lines(self, first_id: int, count: int, max_bytes: int = 1 << 20) -> list[bytes]:
        """Up to ``count`` lines from ``first_id`` (clamped to the known range)."""
        with self._lock:
            lo, hi = self.id_range()
            first_id = max(first_id, lo)
            last = min(first_id + count, hi)
            return [self.read_line(i, max_bytes) for i in range(first_id, last)]

    def record(self, line_id: int) -> LogRecord:
        return parse_line(self.read_line(line_id))

    def source_of(self, line_id: int) -> str:
        with self._lock:
            return self._locate(line_id)[0].name

    def _timestamp_near(self, line_id: int, hi: int) -> int | None:
        """Timestamp of the first parseable line at or after ``line_id`` (a few lines on), else None."""
        for i in range(line_id, min(line_id + 64, hi)):
            ts = parse_timestamp(self.read_line(i, 64).split(b" ", 1)[0])
            if ts is not None:
                return ts
        return None

    def seek_time(self, ts_ns: int) -> int:
        """Id of the first line whose timestamp is at or after ``ts_ns`` (end id if none).

        Scans further back first when the first known line is not older than ``ts_ns``.
        """
        while True:
            with self._lock:
                lo, hi = self.id_range()
                first_ts = self._timestamp_near(lo, hi) if hi > lo else None
            if self.complete or (first_ts is not None and first_ts < ts_ns):
                break
            self.scan_back(16 << 20)
        with self._lock:
            lo, hi = self.id_range()
            a, b = lo, hi
            while a < b:
                mid = (a + b) // 2
                ts = self._timestamp_near(mid, hi)
                if ts is None or ts < ts_ns:
                    a = mid + 1
                else:
                    b = mid
            return a

    def live_complete_end(self) -> int:
        """Offset just past the last complete line of the live file (where a follower should start)."""
        with self._lock:
            live = self._live.index
            if live is None or live.line_count == 0:
                return 0
            _, end = live.line_span(live.line_count - 1)
            return min(end + 1, live.end)

    # -- following -------------------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Take in what happened to the live file since the last call."""
        result = PollResult()
        with self._lock:
            live = self._live
            index = live.index
            if index is None:
                return result
            try:
                fd_size = os.fstat(index.fd).st_size
            except OSError:
                fd_size = index.end
            if fd_size < index.end:
                result.reset = True
                result.events.append(f"{self.path} was truncated (copytruncate); reloaded from the start")
                return result
            result.appended += index.extend(fd_size)
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                if not self._gone:
                    self._gone = True
                    result.events.append(f"{self.path} is gone (deleted); showing what was read")
                result.gone = True
                return result
            except OSError:
                return result
            if (st.st_dev, st.st_ino) == live.ino:
                self._gone = False
                return result
            # Rotated: finish the old file, then continue in the new one from its first byte.
            self._gone = False
            result.appended += index.mark_final()
            try:
                fd = open_log_fd(self.path)
            except SourceError as exc:
                result.events.append(str(exc))
                return result
            st = os.fstat(fd)
            new = _Segment(HistoryFile(self.path, live=True), FileIndex(fd, name=self.path, end=0),
                           (st.st_dev, st.st_ino))
            result.appended += new.index.extend() if new.index else 0
            self._segments.append(new)
            self._live = new
            result.events.append(f"{self.path} was rotated; following the new file")
            return result
