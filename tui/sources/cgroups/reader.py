"""cgroup statistics read straight from cgroupfs (v1, hybrid and v2; cgroupfs and systemd drivers).

Headless and blocking: plain ``os.open``/``os.read`` on small kernel files. Nothing here raises for a bad or
missing file: each figure is None when its file is missing, unreadable or garbled, and the reason (for files that
exist but cannot be used) goes into ``CgroupStats.problems``.

Typical use by a collector::

    reader = CgroupReader()
    loc = reader.resolve(container_id, cgroups_path=spec_cgroups_path, pid=task_pid)
    if loc is not None:
        stats = reader.read(loc)              # LIGHT: list views, every refresh
        detail = reader.read(loc, full=True)  # FULL: detail view
    cores = cpu_cores(previous_stats, stats)

File formats and formulas: docs/node-formats.md.
"""
from __future__ import annotations

import errno
import functools
import math
import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from n9s.sources.cgroups.paths import (
    DEFAULT_CGROUP_ROOT,
    DEFAULT_PROC_ROOT,
    UNIFIED,
    CgroupLayout,
    CgroupLocation,
    HierarchyMode,
    cgroup_path_from_spec,
    container_cgroup_names,
    detect_layout,
    find_pod_cgroup,
    location_for_path,
    location_for_proc,
    pod_location,
    read_proc_cgroup,
)

__all__ = [
    "CgroupLayout",
    "CgroupLocation",
    "CgroupReader",
    "CgroupStats",
    "HierarchyMode",
    "UNLIMITED_THRESHOLD",
    "cpu_cores",
    "parse_blkio_service_bytes",
    "parse_io_stat",
    "parse_keyed",
    "parse_limit",
    "parse_pressure",
    "parse_uint",
    "pick_keyed",
    "throttled_fraction",
]

# v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages, 9223372036854771712 on 64-bit); anything at or
# above 2^62 is treated as unlimited, as kubelet and containerd do.
UNLIMITED_THRESHOLD = 1 << 62
# Largest file read; cgroup files are a few KiB. Anything bigger is not a cgroup file and counts as garbled.
_MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CgroupStats:
    """One sample of one cgroup. Every figure is None when unknown (file missing, unreadable or garbled).

    Limits: ``memory_limit_bytes``/``pids_max`` hold a number only when a limit is set; ``memory_unlimited``/
    ``pids_unlimited`` are True when the kernel says there is none. Both None/False means the limit is unknown.
    """

    timestamp_ns: int  # time.monotonic_ns() just before the CPU counter was read
    full: bool = False  # True for a FULL read; a LIGHT read leaves the detail-only figures None
    vanished: bool = False  # the cgroup directory is gone (container removed); all figures are None

    cpu_usage_ns: int | None = None  # cumulative CPU time
    cpu_nr_periods: int | None = None  # CFS enforcement periods elapsed (only with a CPU limit)
    cpu_nr_throttled: int | None = None  # periods in which the cgroup was throttled
    cpu_throttled_ns: int | None = None  # cumulative time spent throttled

    memory_usage_bytes: int | None = None
    memory_working_set_bytes: int | None = None  # usage - inactive file cache, floored at 0
    memory_rss_bytes: int | None = None  # v1 total_rss, v2 anon
    memory_cache_bytes: int | None = None  # v1 total_cache, v2 file
    memory_limit_bytes: int | None = None
    memory_unlimited: bool = False

    pids_current: int | None = None
    pids_max: int | None = None  # FULL only
    pids_unlimited: bool = False

    oom_kills: int | None = None  # FULL only: processes killed by the OOM killer in this cgroup

    # Pressure stall information, avg10 in percent (FULL only; cgroup2 only, so None on pure v1).
    psi_cpu_some_avg10: float | None = None
    psi_cpu_full_avg10: float | None = None  # kernels before 5.13 have no "full" line for CPU
    psi_memory_some_avg10: float | None = None
    psi_memory_full_avg10: float | None = None
    psi_io_some_avg10: float | None = None
    psi_io_full_avg10: float | None = None

    io_read_bytes: int | None = None  # FULL only: cumulative, summed over devices
    io_write_bytes: int | None = None

    problems: tuple[str, ...] = field(default=())  # "<file>: <why>" for files that exist but gave no figure

    @property
    def memory_limit_known(self) -> bool:
        return self.memory_unlimited or self.memory_limit_bytes is not None

    @property
    def pids_limit_known(self) -> bool:
        return self.pids_unlimited or self.pids_max is not None


# --------------------------------------------------------------------------------------------------------------
# Parsers: text in, non-negative ints (or floats for PSI) or None out; they never raise.


_MAX_DIGITS = 20  # a 64-bit counter has at most 20 digits; int() refuses more than 4300 with ValueError


def _number(value: str) -> int | None:
    """``value`` as a non-negative integer if it is one of at most 20 ASCII digits, else None."""
    if len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None


def parse_uint(text: str) -> int | None:
    """A file holding one non-negative integer (``memory.current``, ``cpuacct.usage``, ``pids.current``)."""
    return _number(text.strip())


def parse_limit(text: str) -> tuple[int | None, bool]:
    """A limit file (``memory.max``, ``memory.limit_in_bytes``, ``pids.max``): (limit, unlimited).

    "max" and numbers >= 2^62 mean unlimited -> (None, True); garbage -> (None, False), i.e. unknown."""
    value = text.strip()
    if value == "max":
        return None, True
    number = parse_uint(value)
    if number is None:
        return None, False
    if number >= UNLIMITED_THRESHOLD:
        return None, True
    return number, False


def parse_keyed(text: str) -> dict[str, int]:
    """Flat ``key value`` files (``cpu.stat``, ``memory.stat``, ``memory.events``, ``memory.oom_control``).

    Lines that are not exactly a key and a non-negative integer are skipped; the first occurrence of a key wins."""
    result: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        key, value = parts
        number = _number(value)
        if key in result or number is None:
            continue
        result[key] = number
    return result


@functools.lru_cache(maxsize=64)
def _needles(keys: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple((key, key + " ", "\n" + key + " ") for key in keys)


def pick_keyed(text: str, keys: tuple[str, ...]) -> dict[str, int]:
    """Only ``keys`` from a flat ``key value`` file: the first line starting with ``key `` whose rest is a
    non-negative integer. Much cheaper than ``parse_keyed`` on the 40-60 line ``memory.stat`` when three keys are
    wanted."""
    result: dict[str, int] = {}
    for key, first, needle in _needles(keys):
        if text.startswith(first):
            start = len(first)
        else:
            at = text.find(needle)
            if at < 0:
                continue
            start = at + len(needle)
        end = text.find("\n", start)
        number = _number(text[start:] if end < 0 else text[start:end])
        if number is not None:
            result[key] = number
    return result


def _parse_percent(value: str) -> float | None:
    # PSI averages are printed as %lu.%02lu; accept plain decimals only (no signs, exponents, nan or inf).
    whole, dot, frac = value.partition(".")
    if not (whole.isascii() and whole.isdigit()) or (dot and not (frac.isascii() and frac.isdigit())):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_pressure(text: str) -> dict[str, float]:
    """A PSI file (``cpu.pressure``…): {"some": avg10, "full": avg10}; a missing or bad line is left out.

    Format: ``some avg10=0.12 avg60=0.05 avg300=0.01 total=123456`` and the same for ``full``."""
    result: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] not in ("some", "full") or parts[0] in result:
            continue
        for item in parts[1:]:
            key, eq, value = item.partition("=")
            if key == "avg10" and eq:
                avg10 = _parse_percent(value)
                if avg10 is not None:
                    result[parts[0]] = avg10
                break
    return result


def _is_device(token: str) -> bool:
    major, colon, minor = token.partition(":")
    return bool(colon) and major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()


def parse_io_stat(text: str) -> tuple[int | None, int | None]:
    """cgroup2 ``io.stat``: (read bytes, write bytes) summed over devices.

    Lines look like ``8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0``. An empty file means no I/O yet, so
    (0, 0); a non-empty file without a single device line is garbled, so (None, None)."""
    if not text.strip():
        return 0, 0
    read = write = 0
    seen = False
    for line in text.splitlines():
        parts = line.split()
        if not parts or not _is_device(parts[0]):
            continue
        seen = True
        for item in parts[1:]:
            key, eq, value = item.partition("=")
            number = _number(value) if eq else None
            if number is not None:
                if key == "rbytes":
                    read += number
                elif key == "wbytes":
                    write += number
    return (read, write) if seen else (None, None)


def parse_blkio_service_bytes(text: str) -> tuple[int | None, int | None]:
    """cgroup v1 ``blkio.throttle.io_service_bytes(_recursive)``: (read bytes, write bytes) summed over devices.

    Lines look like ``254:0 Read 8392704`` (also Write, Sync, Async, Discard, Total) and end with ``Total N``;
    a cgroup without I/O has only ``Total 0``."""
    read = write = 0
    seen = False
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "Total" and _number(parts[1]) is not None:
            seen = True
            continue
        number = _number(parts[2]) if len(parts) == 3 and _is_device(parts[0]) else None
        if number is None:
            continue
        seen = True
        if parts[1] == "Read":
            read += number
        elif parts[1] == "Write":
            write += number
    return (read, write) if seen else (None, None)


# --------------------------------------------------------------------------------------------------------------
# Rates


def cpu_cores(prev: CgroupStats | None, cur: CgroupStats) -> float | None:
    """CPU used between two samples of the same cgroup, in cores (1.0 = one core busy all the time).

    None on the first sample, when a counter is unknown, or when the counter went backwards (the cgroup was
    recreated): never a made-up 0."""
    if prev is None or prev.cpu_usage_ns is None or cur.cpu_usage_ns is None:
        return None
    elapsed = cur.timestamp_ns - prev.timestamp_ns
    used = cur.cpu_usage_ns - prev.cpu_usage_ns
    if elapsed <= 0 or used < 0:
        return None
    return used / elapsed


def throttled_fraction(prev: CgroupStats | None, cur: CgroupStats) -> float | None:
    """Share of CFS periods between two samples in which the cgroup was throttled (0.0–1.0).

    None on the first sample, without a CPU limit (no periods elapse), or after a counter reset."""
    if prev is None:
        return None
    counters = (prev.cpu_nr_periods, prev.cpu_nr_throttled, cur.cpu_nr_periods, cur.cpu_nr_throttled)
    if any(c is None for c in counters):
        return None
    periods = cur.cpu_nr_periods - prev.cpu_nr_periods  # type: ignore[operator]
    throttled = cur.cpu_nr_throttled - prev.cpu_nr_throttled  # type: ignore[operator]
    if periods <= 0 or throttled < 0 or throttled > periods:
        return None
    return throttled / periods


# --------------------------------------------------------------------------------------------------------------
# Reading files


_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a FIFO planted in a tree cannot hang us
_CHUNK = 65536


class _TooLarge(Exception):
    pass


def _read_fd(fd: int) -> bytes:
    """The whole file from offset 0. pread works the same on a fresh fd and on one kept open across refreshes
    (cgroupfs regenerates the text on every read at offset 0). A short read is the end: one syscall per file."""
    data = os.pread(fd, _CHUNK, 0)
    if len(data) < _CHUNK:
        return data
    chunks = [data]
    size = len(data)
    while True:
        chunk = os.pread(fd, _CHUNK, size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_FILE_BYTES:
            raise _TooLarge


def _open_file(path: str) -> int:
    return os.open(path, _OPEN_FLAGS)


def _read_path(path: str) -> bytes:
    fd = _open_file(path)
    try:
        return _read_fd(fd)
    finally:
        os.close(fd)


# A keyed file's path -> (its text, the keys wanted, what pick_keyed found): see _OpenFiles.parsed.
_Picked = dict[str, tuple[str, tuple[str, ...], dict[str, int]]]


class _OpenFiles:
    """cgroup files kept open between refreshes, per owner (a container id), within a budget of descriptors.

    pread on a kept fd costs about a seventh of open+read+close on cgroupfs. A kept fd of a removed cgroup fails
    with ENODEV; it is then closed and the path opened afresh once (the cgroup may have been recreated)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._owners: dict[str, dict[str, int]] = {}
        self._parsed: dict[str, _Picked] = {}
        self._count = 0
        self._lock = threading.Lock()

    def read(self, owner: str, path: str) -> bytes:
        with self._lock:
            files = self._owners.setdefault(owner, {})
            fd = files.get(path)
            if fd is not None:
                try:
                    return _read_fd(fd)
                except (OSError, _TooLarge):
                    del files[path]
                    self._count -= 1
                    os.close(fd)
            fd = _open_file(path)
            try:
                data = _read_fd(fd)
            except BaseException:
                os.close(fd)
                raise
            if self._count < self.budget:
                files[path] = fd
                self._count += 1
            else:
                os.close(fd)
            return data

    def parsed(self, owner: str) -> _Picked:
        """The owner's keyed files as last read and picked (path -> text, keys, values): an idle cgroup's
        ``memory.stat`` and ``cpu.stat`` read the same on every refresh and need not be picked again."""
        with self._lock:
            memo = self._parsed.get(owner)
            if memo is None:
                memo = self._parsed[owner] = {}
            return memo

    def close_owner(self, owner: str) -> None:
        with self._lock:
            self._parsed.pop(owner, None)
            for fd in self._owners.pop(owner, {}).values():
                os.close(fd)
                self._count -= 1

    def close_all(self) -> None:
        with self._lock:
            for files in self._owners.values():
                for fd in files.values():
                    os.close(fd)
            self._owners.clear()
            self._parsed.clear()
            self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def __del__(self) -> None:
        # Raw descriptors are not closed by the garbage collector: a reader dropped without close() would leak them.
        for files in getattr(self, "_owners", {}).values():
            for fd in files.values():
                try:
                    os.close(fd)
                except OSError:
                    pass


class _Sample:
    """Collects the file reads of one sample: texts, problems, and whether the cgroup seems to have vanished."""

    __slots__ = ("problems", "missing", "last_missing", "_fetch", "parsed")

    def __init__(self, fetch: Callable[[str], bytes] = _read_path,
                 parsed: _Picked | None = None) -> None:
        self.problems: list[str] = []
        self.missing = False  # some file was absent: the caller checks whether the whole cgroup vanished
        self.last_missing = False  # the latest read found no such file
        self._fetch = fetch
        self.parsed = parsed  # see _OpenFiles.parsed; None: pick every time

    def read(self, directory: str | None, name: str, optional: bool = False) -> str | None:
        """The file's text, or None. ``optional`` files (present only on some kernels) being absent does not
        hint that the cgroup vanished."""
        self.last_missing = False
        if directory is None:
            return None
        try:
            data = self._fetch(directory + "/" + name)
        except FileNotFoundError:
            self.last_missing = True
            self.missing = self.missing or not optional
            return None
        except _TooLarge:
            self.problems.append(f"{name}: larger than a cgroup file can be")
            return None
        except OSError as e:
            if e.errno == errno.ENODEV:  # the cgroup was removed while the file was open
                self.missing = self.last_missing = True
            else:
                self.problems.append(f"{name}: {e.strerror or e.__class__.__name__}")
            return None
        return data.decode("latin-1")

    def garbled(self, name: str) -> None:
        self.problems.append(f"{name}: unreadable contents")


def _uint_file(sample: _Sample, directory: str | None, name: str) -> int | None:
    text = sample.read(directory, name)
    if text is None:
        return None
    value = parse_uint(text)
    if value is None:
        sample.garbled(name)
    return value


def _limit_file(sample: _Sample, directory: str | None, name: str) -> tuple[int | None, bool]:
    text = sample.read(directory, name)
    if text is None:
        return None, False
    limit, unlimited = parse_limit(text)
    if limit is None and not unlimited:
        sample.garbled(name)
    return limit, unlimited


def _keyed_file(sample: _Sample, directory: str | None, name: str, keys: tuple[str, ...]) -> dict[str, int] | None:
    text = sample.read(directory, name)
    if text is None:
        return None
    memo = sample.parsed
    if memo is not None:
        path = f"{directory}/{name}"
        known = memo.get(path)
        if known is not None and known[0] == text and known[1] == keys:
            values = known[2]  # shared: callers only read it
        else:
            values = pick_keyed(text, keys)
            memo[path] = (text, keys, values)
    else:
        values = pick_keyed(text, keys)
    if not values and text.strip():
        sample.garbled(name)
    return values


_V1_CPU_STAT = ("nr_periods", "nr_throttled", "throttled_time")
_V1_MEMORY_STAT = ("total_inactive_file", "total_rss", "total_cache")
_V2_CPU_STAT = ("usage_usec", "nr_periods", "nr_throttled", "throttled_usec")
_V2_MEMORY_STAT = ("inactive_file", "anon", "file")


def _working_set(usage: int | None, inactive_file: int | None) -> int | None:
    if usage is None or inactive_file is None:
        return None
    return max(usage - inactive_file, 0)


def _carry_limits(earlier: CgroupStats, figures: dict[str, object]) -> None:
    figures["memory_limit_bytes"] = earlier.memory_limit_bytes
    figures["memory_unlimited"] = earlier.memory_unlimited
    figures["oom_kills"] = earlier.oom_kills


def _read_v1(location: CgroupLocation, full: bool, sample: _Sample,
             limits_from: CgroupStats | None = None) -> dict[str, object]:
    cpu_dir = location.dir("cpu")
    cpuacct_dir = location.dir("cpuacct")
    memory_dir = location.dir("memory")
    pids_dir = location.dir("pids")
    figures: dict[str, object] = {"timestamp_ns": time.monotonic_ns()}

    figures["cpu_usage_ns"] = _uint_file(sample, cpuacct_dir, "cpuacct.usage")
    cpu_stat = _keyed_file(sample, cpu_dir, "cpu.stat", _V1_CPU_STAT)
    if cpu_stat is not None:
        figures["cpu_nr_periods"] = cpu_stat.get("nr_periods")
        figures["cpu_nr_throttled"] = cpu_stat.get("nr_throttled")
        figures["cpu_throttled_ns"] = cpu_stat.get("throttled_time")

    usage = _uint_file(sample, memory_dir, "memory.usage_in_bytes")
    figures["memory_usage_bytes"] = usage
    memory_stat = _keyed_file(sample, memory_dir, "memory.stat", _V1_MEMORY_STAT)
    if memory_stat is not None:
        figures["memory_working_set_bytes"] = _working_set(usage, memory_stat.get("total_inactive_file"))
        figures["memory_rss_bytes"] = memory_stat.get("total_rss")
        figures["memory_cache_bytes"] = memory_stat.get("total_cache")
    if limits_from is not None:
        _carry_limits(limits_from, figures)
    else:
        figures["memory_limit_bytes"], figures["memory_unlimited"] = _limit_file(
            sample, memory_dir, "memory.limit_in_bytes")
    figures["pids_current"] = _uint_file(sample, pids_dir, "pids.current")

    # OOM kills belong on the list views (an OOM column), so the light read pays for this one file too.
    oom = _keyed_file(sample, memory_dir, "memory.oom_control", ("oom_kill",)) if limits_from is None else None
    if oom is not None:
        figures["oom_kills"] = oom.get("oom_kill")
    if full:
        figures["pids_max"], figures["pids_unlimited"] = _limit_file(sample, pids_dir, "pids.max")
        _read_blkio(location.dir("blkio"), sample, figures)
        # Hybrid: a container with its own cgroup2 directory still gets pressure figures from there.
        _read_pressure(location.dir(UNIFIED), sample, figures)
    return figures


def _read_blkio(blkio_dir: str | None, sample: _Sample, figures: dict[str, object]) -> None:
    name = "blkio.throttle.io_service_bytes_recursive"
    text = sample.read(blkio_dir, name, optional=True)
    if text is None and sample.last_missing:
        name = "blkio.throttle.io_service_bytes"  # kernels before the _recursive file existed
        text = sample.read(blkio_dir, name)
    if text is None:
        return
    read, write = parse_blkio_service_bytes(text)
    if read is None:
        sample.garbled(name)
    figures["io_read_bytes"], figures["io_write_bytes"] = read, write


def _read_pressure(directory: str | None, sample: _Sample, figures: dict[str, object]) -> None:
    if directory is None:
        return
    for kind in ("cpu", "memory", "io"):
        name = f"{kind}.pressure"
        text = sample.read(directory, name, optional=True)  # absent when the kernel runs without PSI
        if text is None:
            continue
        pressure = parse_pressure(text)
        if not pressure and text.strip():
            sample.garbled(name)
        figures[f"psi_{kind}_some_avg10"] = pressure.get("some")
        figures[f"psi_{kind}_full_avg10"] = pressure.get("full")


def _read_v2(location: CgroupLocation, full: bool, sample: _Sample,
             limits_from: CgroupStats | None = None) -> dict[str, object]:
    d = location.dir(UNIFIED)
    figures: dict[str, object] = {"timestamp_ns": time.monotonic_ns()}

    cpu_stat = _keyed_file(sample, d, "cpu.stat", _V2_CPU_STAT)
    if cpu_stat is not None:
        usage_usec = cpu_stat.get("usage_usec")
        throttled_usec = cpu_stat.get("throttled_usec")
        figures["cpu_usage_ns"] = None if usage_usec is None else usage_usec * 1000
        # Throttling lines exist only where the cpu controller is enabled.
        figures["cpu_nr_periods"] = cpu_stat.get("nr_periods")
        figures["cpu_nr_throttled"] = cpu_stat.get("nr_throttled")
        figures["cpu_throttled_ns"] = None if throttled_usec is None else throttled_usec * 1000

    usage = _uint_file(sample, d, "memory.current")
    figures["memory_usage_bytes"] = usage
    memory_stat = _keyed_file(sample, d, "memory.stat", _V2_MEMORY_STAT)
    if memory_stat is not None:
        figures["memory_working_set_bytes"] = _working_set(usage, memory_stat.get("inactive_file"))
        figures["memory_rss_bytes"] = memory_stat.get("anon")
        figures["memory_cache_bytes"] = memory_stat.get("file")
    if limits_from is not None:
        _carry_limits(limits_from, figures)
    else:
        figures["memory_limit_bytes"], figures["memory_unlimited"] = _limit_file(sample, d, "memory.max")
    figures["pids_current"] = _uint_file(sample, d, "pids.current")

    events = _keyed_file(sample, d, "memory.events", ("oom_kill",)) if limits_from is None else None
    if events is not None:
        figures["oom_kills"] = events.get("oom_kill")
    if full:
        figures["pids_max"], figures["pids_unlimited"] = _limit_file(sample, d, "pids.max")
        _read_pressure(d, sample, figures)
        text = sample.read(d, "io.stat")
        if text is not None:
            read, write = parse_io_stat(text)
            if read is None:
                sample.garbled("io.stat")
            figures["io_read_bytes"], figures["io_write_bytes"] = read, write
    return figures


def read_location(location: CgroupLocation, full: bool = False,
                  fetch: Callable[[str], bytes] = _read_path, limits_from: CgroupStats | None = None,
                  parsed: _Picked | None = None) -> CgroupStats:
    """One sample of the cgroup at ``location``. Never raises for file trouble (see CgroupStats).

    ``limits_from``: an earlier LIGHT sample of the same cgroup whose memory limit and OOM kill count are taken
    instead of reading their files (they change only on a resize or an OOM kill; the caller decides how old a
    sample may stand in). Ignored for a FULL read or a vanished sample."""
    if full or (limits_from is not None and limits_from.vanished):
        limits_from = None
    sample = _Sample(fetch, parsed)
    if location.mode is HierarchyMode.V2:
        figures = _read_v2(location, full, sample, limits_from)
    else:
        figures = _read_v1(location, full, sample, limits_from)
    if sample.missing and not location.exists():
        return CgroupStats(timestamp_ns=figures["timestamp_ns"], full=full, vanished=True)  # type: ignore[arg-type]
    return CgroupStats(full=full, problems=tuple(sample.problems), **figures)  # type: ignore[arg-type]


# At most this many kept files (1,000 containers and 500 pods keep 10,500), and never the last FD_RESERVE
# descriptors of the soft limit (sockets, log files, the terminal).
MAX_FD_BUDGET = 16384
FD_RESERVE = 512


def _default_fd_budget() -> int:
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 256
    if soft == resource.RLIM_INFINITY:
        return MAX_FD_BUDGET
    return max(0, min(MAX_FD_BUDGET, soft - FD_RESERVE, soft // 2 if soft < 4 * FD_RESERVE else soft))


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise this process's soft RLIMIT_NOFILE toward its hard limit (at most ``wanted``), so kept-open cgroup
    files fit: seven per container and seven per pod. Returns the soft limit in force."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        return soft
    except (OSError, ValueError):
        return 0


# --------------------------------------------------------------------------------------------------------------
# The reader: resolves each container once, then reads cheaply on every refresh.


class CgroupReader:
    """Finds container cgroups once and reads their figures on each refresh.

    ``root`` is the cgroup filesystem root and ``proc_root`` the proc filesystem, both replaceable by captured
    file trees. The hierarchy layout is detected on first use (``layout``); call ``refresh_layout`` if mounts
    change. Resolved locations are cached per container id until ``forget``."""

    def __init__(self, root: str = DEFAULT_CGROUP_ROOT, proc_root: str = DEFAULT_PROC_ROOT,
                 layout: CgroupLayout | None = None, *, keep_open: bool = False,
                 max_open_files: int | None = None) -> None:
        """``keep_open`` keeps each container's cgroup files open and re-reads them with pread (about 5x cheaper
        per file on cgroupfs) using at most ``max_open_files`` descriptors (default: the soft RLIMIT_NOFILE less
        FD_RESERVE, half of it when it is small, at most MAX_FD_BUDGET); files beyond the budget are opened and
        closed per read as without ``keep_open``."""
        self.root = root
        self.proc_root = proc_root
        self._layout = layout
        self._locations: dict[str, CgroupLocation] = {}
        self._pod_locations: dict[str, CgroupLocation | None] = {}
        self._unresolved: dict[str, str] = {}
        self._pod_paths: dict[str, str] = {}  # pod uid -> the kubelet pod cgroup path found for it
        self._open_files: _OpenFiles | None = None
        if keep_open:
            if max_open_files is None:
                max_open_files = _default_fd_budget()
            self._open_files = _OpenFiles(max(0, max_open_files))

    def close(self) -> None:
        """Close every kept file (only matters with ``keep_open``)."""
        if self._open_files is not None:
            self._open_files.close_all()

    def __enter__(self) -> CgroupReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def open_file_count(self) -> int:
        return 0 if self._open_files is None else self._open_files.count

    def _fetcher(self, owner: str) -> Callable[[str], bytes]:
        open_files = self._open_files
        if open_files is None:
            return _read_path
        return functools.partial(open_files.read, owner)

    def _parsed(self, owner: str) -> _Picked | None:
        return None if self._open_files is None else self._open_files.parsed(owner)

    @property
    def layout(self) -> CgroupLayout:
        if self._layout is None:
            self._layout = detect_layout(self.root, self.proc_root)
        return self._layout

    @property
    def mode(self) -> HierarchyMode:
        return self.layout.mode

    def refresh_layout(self) -> CgroupLayout:
        """Detect the mounts again and drop everything resolved against the old ones."""
        self.close()
        self._layout = None
        self._locations.clear()
        self._pod_locations.clear()
        self._pod_paths.clear()
        self._unresolved.clear()
        return self.layout

    def resolve(self, container_id: str, cgroups_path: str | None = None,
                pid: int | None = None, pod_uid: str | None = None) -> CgroupLocation | None:
        """The cgroup of a container, from its OCI ``linux.cgroupsPath`` (preferred), from ``/proc/<pid>/cgroup``
        of its init process, or where the kubelet puts it inside the cgroup of the pod with ``pod_uid``. Cached per
        container id; a different ``cgroups_path`` than the cached one resolves again. None when nothing names an
        existing cgroup (see ``unresolved_reason``)."""
        cached = self._locations.get(container_id)
        if cached is not None and (cgroups_path is None or cgroups_path == cached.cgroups_path
                                   or cached.source in ("proc", "kubelet")):
            return cached
        layout = self.layout
        if layout.mode is HierarchyMode.NONE:
            self._fail(container_id, f"no cgroup filesystem under {self.root}")
            return None
        reasons: list[str] = []
        if cgroups_path:
            path = cgroup_path_from_spec(cgroups_path)
            if path is None:
                reasons.append(f"cgroupsPath {cgroups_path!r} is not a path this reader understands")
            else:
                location = location_for_path(layout, container_id, path, "spec", cgroups_path)
                if location is not None and location.exists():
                    return self._remember(location)
                reasons.append(f"no cgroup directory for {path}")
        if pid is not None and pid > 0:
            try:
                proc = read_proc_cgroup(pid, self.proc_root)
            except FileNotFoundError:
                reasons.append(f"process {pid} is gone")
            except PermissionError:
                reasons.append(f"not allowed to read /proc/{pid}/cgroup")
            except OSError as e:
                reasons.append(f"cannot read /proc/{pid}/cgroup: {e.strerror}")
            else:
                location = location_for_proc(layout, container_id, proc)
                if location is not None and location.exists():
                    return self._remember(location)
                reasons.append(f"/proc/{pid}/cgroup names no cgroup directory under {self.root}")
        if pod_uid:
            location = self._in_pod_cgroup(layout, container_id, pod_uid)
            if location is not None:
                return self._remember(location)
            reasons.append(f"no cgroup for it under a kubelet pod cgroup of pod {pod_uid}")
        if not reasons:
            reasons.append("neither a cgroupsPath nor a pid was given")
        self._fail(container_id, "; ".join(reasons))
        return None

    def _in_pod_cgroup(self, layout: CgroupLayout, container_id: str, pod_uid: str) -> CgroupLocation | None:
        pod = find_pod_cgroup(layout, pod_uid, container_id, "kubelet", self._pod_paths.get(pod_uid))
        if pod is None:
            return None
        if len(self._pod_paths) > 4096:  # pods come and go; their uids are never reused
            self._pod_paths.clear()
        self._pod_paths[pod_uid] = pod.path
        for name in container_cgroup_names(pod.path, container_id):
            location = location_for_path(layout, container_id, name, "kubelet")
            if location is not None and location.exists():
                return location
        return None

    def _remember(self, location: CgroupLocation) -> CgroupLocation:
        if self._open_files is not None and location.container_id in self._locations:
            self._open_files.close_owner(location.container_id)  # files of the previous location
            self._open_files.close_owner("pod\0" + location.container_id)
        self._locations[location.container_id] = location
        self._pod_locations.pop(location.container_id, None)
        self._unresolved.pop(location.container_id, None)
        return location

    def _fail(self, container_id: str, reason: str) -> None:
        # Not cached: a container that is still starting may have its cgroup on the next refresh.
        self._unresolved[container_id] = reason
        return None

    def unresolved_reason(self, container_id: str) -> str | None:
        """Why the last ``resolve`` of this container found nothing, in words for the user."""
        return self._unresolved.get(container_id)

    def read(self, location: CgroupLocation, full: bool = False) -> CgroupStats:
        """A LIGHT sample (CPU, throttling, memory usage/working set/limit, pids current, OOM kills; 6-7 small
        files) or, with ``full=True``, every figure. A vanished cgroup gives ``vanished=True`` and no figures."""
        owner = location.container_id
        return read_location(location, full, self._fetcher(owner), parsed=self._parsed(owner))

    def pod_location(self, location: CgroupLocation) -> CgroupLocation | None:
        """The kubelet pod cgroup that holds this container's cgroup, if there is one (cached)."""
        key = location.container_id
        if key not in self._pod_locations:
            self._pod_locations[key] = pod_location(location)
        return self._pod_locations[key]

    def read_pod(self, location: CgroupLocation, full: bool = False,
                 limits_from: CgroupStats | None = None) -> CgroupStats | None:
        """A sample of the pod cgroup above a container's cgroup, or None if the container has no pod cgroup.
        ``limits_from``: as for ``read_location``."""
        pod = self.pod_location(location)
        if pod is None:
            return None
        owner = "pod\0" + location.container_id
        return read_location(pod, full, self._fetcher(owner), limits_from, self._parsed(owner))

    def forget(self, container_id: str) -> None:
        """Drop what is cached about a container (call when it is removed)."""
        self._locations.pop(container_id, None)
        self._pod_locations.pop(container_id, None)
        self._unresolved.pop(container_id, None)
        if self._open_files is not None:
            self._open_files.close_owner(container_id)
            self._open_files.close_owner("pod\0" + container_id)

    def cached_ids(self) -> list[str]:
        return list(self._locations)
