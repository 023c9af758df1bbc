"""A line index over one log file that never holds the file in memory.

Choice of index (sparse, by block): the file is cut into fixed 64 KiB blocks and the index keeps only the
number of newlines in each block (an ``array('I')``, 4 bytes per 64 KiB: 64 KiB of index for 1 GiB, however
short the lines). To find line ``k`` the index bisects the running totals to the block holding the
newline that starts it, then reads that one block and lists its newline positions (kept in a small LRU of
blocks). Counting uses ``bytes.count`` on large ``pread`` chunks, so it runs at memory speed.

Opening scans backwards from the end: the last blocks are counted first, so the tail can be shown at
once, and ``scan_back`` extends the known window towards the start of the file in steps (a background
thread calls it). Line numbers used here are relative to the known window, which grows at the front as
the scan goes back; ``prepended`` tells callers by how much, so they can keep positions stable.
"""
from __future__ import annotations

import os
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate

__all__ = ["FileIndex", "BLOCK_SIZE"]

BLOCK_SIZE = 64 * 1024
_SCAN_CHUNK = 16 * BLOCK_SIZE  # bytes read per pread when counting
_BLOCK_CACHE = 64  # blocks whose newline positions are kept


class FileIndex:
    """Sparse line index over an open file descriptor (the index never closes a descriptor it was given
    unless ``owns_fd``).

    Lines are the pieces between newlines; the bytes after the last newline are not a line yet (a writer
    may be half way through), unless the file is ``final`` (rotated away, or read as history), in which
    case they form a last line of their own.
    """

    def __init__(self, fd: int, *, name: str = "", final: bool = False, owns_fd: bool = True,
                 initial_scan: int = _SCAN_CHUNK, end: int | None = None) -> None:
        self.fd = fd
        self.name = name
        self.owns_fd = owns_fd
        self._lock = threading.RLock()
        self._final = final
        self._end = os.fstat(fd).st_size if end is None else end  # bytes indexed so far
        nblocks = -(-self._end // BLOCK_SIZE)
        self._counts = array("I", bytes(4 * nblocks))
        self._scan_block = nblocks  # first block counted; blocks >= it are counted
        self._cum: array | None = None
        self._blocks: OrderedDict[tuple[int, int], array] = OrderedDict()
        self._last_byte_newline = True
        self._prepended = 0
        if self._end:
            self._last_byte_newline = os.pread(fd, 1, self._end - 1) == b"\n"
            self.scan_back(initial_scan)
            self._prepended = 0

    # -- state ---------------------------------------------------------------------------------------

    @property
    def end(self) -> int:
        return self._end

    @property
    def complete(self) -> bool:
        """True once the whole file from byte 0 is indexed."""
        return self._scan_block == 0

    @property
    def final(self) -> bool:
        return self._final

    @property
    def prepended(self) -> int:
        """Lines added at the front of the window since the index was made."""
        return self._prepended

    @property
    def window_start(self) -> int:
        return min(self._scan_block * BLOCK_SIZE, self._end)

    def close(self) -> None:
        if self.owns_fd and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # -- counting --------------------------------------------------------------------------------------

    def _cum_totals(self) -> array:
        if self._cum is None:
            cum = array("Q", [0])
            cum.extend(accumulate(self._counts[self._scan_block:]))
            self._cum = cum
        return self._cum

    def _newlines(self) -> int:
        return self._cum_totals()[-1]

    def _line_count_locked(self) -> int:
        c = self._newlines()
        start = self.window_start
        n = c if start == 0 else max(c - 1, 0)
        if self._final and self._end and not self._last_byte_newline and (start == 0 or c >= 1):
            n += 1
        return n

    @property
    def line_count(self) -> int:
        with self._lock:
            return self._line_count_locked()

    def scan_back(self, max_bytes: int = _SCAN_CHUNK) -> int:
        """Count newlines in up to ``max_bytes`` more of the file before the window; return lines added."""
        with self._lock:
            if self._scan_block == 0:
                return 0
            hi_block = self._scan_block
            lo_block = max(hi_block - max(max_bytes // BLOCK_SIZE, 1), 0)
            lo, hi = lo_block * BLOCK_SIZE, min(hi_block * BLOCK_SIZE, self._end)
        counts: list[int] = []
        for at in range(lo, hi, _SCAN_CHUNK):  # a chunk at a time: a 64 MiB step never holds 64 MiB
            want = min(_SCAN_CHUNK, hi - at)
            data = os.pread(self.fd, want, at)
            if len(data) < want:  # the file shrank under us; count what is there
                data = data + b"\0" * (want - len(data))
            counts.extend(data.count(b"\n", off, off + BLOCK_SIZE) for off in range(0, want, BLOCK_SIZE))
        with self._lock:
            before = self._line_count_locked()
            self._counts[lo_block:hi_block] = array("I", counts)
            self._scan_block = lo_block
            self._cum = None
            added = self._line_count_locked() - before
            self._prepended += added
            return added

    def extend(self, new_end: int | None = None) -> int:
        """Index bytes appended since the last call (up to ``new_end`` or the file's size); return lines
        added at the end of the window."""
        with self._lock:
            if new_end is None:
                new_end = os.fstat(self.fd).st_size
            if new_end <= self._end:
                return 0
            before = self._line_count_locked()
            pos = self._end
            while pos < new_end:
                data = os.pread(self.fd, min(_SCAN_CHUNK, new_end - pos), pos)
                if not data:
                    break
                self._count_appended(pos, data)
                pos += len(data)
                self._last_byte_newline = data.endswith(b"\n")
            self._end = pos
            self._cum = None
            return self._line_count_locked() - before

    def _count_appended(self, pos: int, data: bytes) -> None:
        off = 0
        while off < len(data):
            block = (pos + off) // BLOCK_SIZE
            block_end = (block + 1) * BLOCK_SIZE - pos
            piece_end = min(block_end, len(data))
            while block >= len(self._counts):
                self._counts.append(0)
            self._counts[block] += data.count(b"\n", off, piece_end)
            off = piece_end

    def mark_final(self) -> int:
        """The file will not grow any more: index its last bytes and count a trailing fragment as a line."""
        with self._lock:
            added = self.extend()
            before = self._line_count_locked()
            self._final = True
            return added + self._line_count_locked() - before

    # -- lookup ----------------------------------------------------------------------------------------

    def _block_newlines(self, block: int) -> array:
        lo = block * BLOCK_SIZE
        hi = min(lo + BLOCK_SIZE, self._end)
        key = (block, hi)
        positions = self._blocks.get(key)
        if positions is not None:
            self._blocks.move_to_end(key)
            return positions
        data = os.pread(self.fd, hi - lo, lo)
        positions = array("Q")
        find = data.find
        at = find(b"\n")
        while at >= 0:
            positions.append(lo + at)
            at = find(b"\n", at + 1)
        self._blocks[key] = positions
        if len(self._blocks) > _BLOCK_CACHE:
            self._blocks.popitem(last=False)
        return positions

    def _newline_at(self, k: int) -> int:
        """Byte position of the k-th newline (0-based) inside the window."""
        cum = self._cum_totals()
        i = bisect_right(cum, k) - 1
        positions = self._block_newlines(self._scan_block + i)
        return positions[k - cum[i]]

    def line_span(self, w: int) -> tuple[int, int]:
        """(start, end) byte offsets of window line ``w``; ``end`` is the newline's position (excluded)."""
        with self._lock:
            n = self._line_count_locked()
            if not 0 <= w < n:
                raise IndexError(f"line {w} outside 0..{n}")
            c = self._newlines()
            first_known = self.window_start == 0
            shift = 0 if first_known else 1
            start = 0 if (first_known and w == 0) else self._newline_at(w - 1 + shift) + 1
            k = w + shift
            end = self._newline_at(k) if k < c else self._end
            return start, end

    def read_line(self, w: int, max_bytes: int = 1 << 20) -> bytes:
        """The bytes of window line ``w`` without its newline, at most ``max_bytes`` of them."""
        start, end = self.line_span(w)
        return os.pread(self.fd, min(end - start, max_bytes), start)

    def line_at_offset(self, offset: int) -> int:
        """Window line containing byte ``offset`` (clamped to the window)."""
        with self._lock:
            n = self._line_count_locked()
            lo, hi = 0, n
            while lo < hi:  # first line whose end is >= offset
                mid = (lo + hi) // 2
                if self.line_span(mid)[1] < offset:
                    lo = mid + 1
                else:
                    hi = mid
            return min(lo, max(n - 1, 0))
