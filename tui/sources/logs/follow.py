"""Follow a CRI log file by inode, yielding complete records in batches.

The follower is a plain class: the UI runs ``poll()`` from a thread of its own, on a timer. Each call
reads what the writer appended and returns it as parsed records, P pieces joined with their F line.

- Rotation (the path now names another inode): the old file is read to its end first, then the new file
  from byte 0; a piece still waiting for its F continues across the two files. The old descriptor is kept
  for one more poll and read again, in case the runtime wrote a last line to it after the switch.
- copytruncate (same inode, smaller than what was read): start again from byte 0, and say so.
- Deletion (no file at the path): report the "gone" state; keep what the old descriptor still gives, and
  pick up a new file if one appears at the path.

Nothing is lost or repeated in the rotation case. Backpressure: ``poll(max_records)`` returns at most that
many records; the rest stay in the file (or in a small carried buffer) and ``pending_lines()`` says how
many are waiting, so the UI can report that it skipped rendering them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from n9s.sources.errors import SourceError
from n9s.sources.logs.format import LogRecord, PartialJoiner, parse_line
from n9s.sources.logs.history import open_log_fd

__all__ = ["LogFollower", "FollowBatch", "FOLLOWING", "GONE"]

FOLLOWING = "following"
GONE = "gone"
_READ_CHUNK = 256 * 1024
_MAX_CARRY = 4 << 20
# Bytes one poll reads at most: a writer flooding faster than that is read over several polls, so a batch of
# 16 KiB P pieces never holds hundreds of megabytes at once.
_MAX_POLL_BYTES = 8 << 20


@dataclass
class FollowBatch:
    records: list[LogRecord] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # "rotated", "truncated", "gone", "back" + text
    state: str = FOLLOWING
    more: bool = False  # the batch was cut at max_records; more is waiting


@dataclass
class _Open:
    fd: int
    ino: tuple[int, int]
    offset: int = 0
    carry: bytes = b""  # bytes after the last newline read

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LogFollower:
    """Yields the records appended to a log file, following it across rotation.

    ``from_start=True`` reads the file from its first byte; otherwise only what is written after the
    follower was made is returned (give ``offset`` to start at a known position, e.g. the end an index
    reached).
    """

    def __init__(self, path: str, *, from_start: bool = False, offset: int | None = None) -> None:
        self.path = path
        fd = open_log_fd(path)
        st = os.fstat(fd)
        if offset is None:
            offset = 0 if from_start else st.st_size
        self._cur = _Open(fd, (st.st_dev, st.st_ino), offset)
        self._retired: _Open | None = None
        self._joiner = PartialJoiner()
        self._ready: list[LogRecord] = []  # parsed records not yet handed out (backpressure)
        self._lines: list[bytes] = []  # complete lines read, not yet parsed
        self.state = FOLLOWING
        self._budget_hit = False

    def close(self) -> None:
        self._cur.close()
        if self._retired:
            self._retired.close()
            self._retired = None

    # -- reading ---------------------------------------------------------------------------------------

    def _read_lines(self, f: _Open, limit: int, max_bytes: int | None = None) -> bool:
        """Read complete lines from ``f`` into the line buffer (about ``limit`` of them, and with ``max_bytes`` no
        more than that many bytes); True if data came."""
        got = False
        read = 0
        while len(self._lines) < limit:
            if max_bytes is not None and read >= max_bytes:
                self._budget_hit = True  # the rest stays in the file for the next poll
                break
            data = os.pread(f.fd, _READ_CHUNK, f.offset)
            if not data:
                break
            got = True
            read += len(data)
            f.offset += len(data)
            data = f.carry + data
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > _MAX_CARRY:  # no newline for megabytes: hand it on as a line of its own
                    self._lines.append(data)
                    data = b""
                f.carry = data
                continue
            self._lines.extend(data[:cut].split(b"\n"))
            f.carry = data[cut + 1:]
        return got

    def _finish(self, f: _Open) -> None:
        """The file ``f`` will get no more data: its trailing bytes are a last (unterminated) line."""
        self._read_lines(f, 1 << 62)
        if f.carry:
            self._lines.append(f.carry)
            f.carry = b""

    def _parse(self, limit: int) -> None:
        while self._lines and len(self._ready) < limit:
            take = self._lines[: limit - len(self._ready)]
            del self._lines[: len(take)]
            for line in take:
                self._ready.extend(self._joiner.feed(parse_line(line)))

    def poll(self, max_records: int = 5000) -> FollowBatch:
        batch = FollowBatch(state=self.state)
        if self._retired is not None:
            self._finish(self._retired)
            self._retired.close()
            self._retired = None
        cur = self._cur
        if cur.fd >= 0:
            try:
                size = os.fstat(cur.fd).st_size
            except OSError:
                size = cur.offset
            if size < cur.offset:
                batch.events.append(f"truncated: {self.path} shrank to {size} bytes (copytruncate); "
                                    "reading it again from the start")
                self._drain_carry(cur)
                cur.offset = 0
        self._budget_hit = False
        while len(self._ready) < max_records:
            self._read_lines(cur, max_records, _MAX_POLL_BYTES)
            self._parse(max_records)
            if self._lines or len(self._ready) >= max_records or self._budget_hit:
                break
            if not self._check_path(cur, batch):
                break
            cur = self._cur
        batch.records, self._ready = self._ready[:max_records], self._ready[max_records:]
        batch.more = bool(self._ready or self._lines or self._budget_hit)
        batch.state = self.state
        return batch

    def _drain_carry(self, f: _Open) -> None:
        if f.carry:
            self._lines.append(f.carry)
            f.carry = b""

    def _check_path(self, cur: _Open, batch: FollowBatch) -> bool:
        """Look at what the path names now; return True if reading should go on in a new file."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self.state != GONE:
                self.state = GONE
                batch.events.append(f"gone: {self.path} was deleted; waiting for a new file")
            return False
        except OSError:
            return False
        if (st.st_dev, st.st_ino) == cur.ino:
            if self.state == GONE:
                self.state = FOLLOWING
            return False
        try:
            fd = open_log_fd(self.path)
        except SourceError as exc:
            batch.events.append(f"error: {exc}")
            return False
        new_st = os.fstat(fd)
        # Finish the old file before anything from the new one; keep its descriptor one more poll.
        self._finish(cur)
        self._parse(1 << 62)
        self._retired = cur
        self._cur = _Open(fd, (new_st.st_dev, new_st.st_ino), 0)
        was_gone = self.state == GONE
        self.state = FOLLOWING
        batch.events.append(f"{'back' if was_gone else 'rotated'}: following the new {self.path}")
        return True

    def pending_lines(self) -> int:
        """Lines written but not yet handed out by ``poll`` (they stay in the file until asked for)."""
        waiting = len(self._ready) + len(self._lines)
        f = self._cur
        if f.fd < 0:
            return waiting
        try:
            size = os.fstat(f.fd).st_size
        except OSError:
            return waiting
        pos = f.offset
        while pos < size:
            data = os.pread(f.fd, min(4 << 20, size - pos), pos)
            if not data:
                break
            waiting += data.count(b"\n")
            pos += len(data)
        return waiting

    def flush(self) -> list[LogRecord]:
        """Records still held back waiting for more (a trailing fragment, unfinished P pieces)."""
        self._drain_carry(self._cur)
        self._parse(1 << 62)
        out = self._ready + self._joiner.flush()
        self._ready = []
        return out
