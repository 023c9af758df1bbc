"""The host and its processes through /proc (psutil): node figures and a container's process tree."""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class HostStats:
    cpu_count: int | None
    cpu_percent: float | None
    memory_total_bytes: int | None
    memory_available_bytes: int | None
    load: tuple[float, float, float] | None
    uptime_s: float | None


@dataclass(frozen=True)
class DiskStats:
    path: str
    total_bytes: int | None
    free_bytes: int | None
    inodes_total: int | None
    inodes_free: int | None


@dataclass(frozen=True)
class ProcessRow:
    pid: int
    ppid: int
    user: str
    cpu_percent: float | None
    rss_bytes: int | None
    command: str
    depth: int


def _safe(fn, default=None):
    try:
        return fn()
    except (OSError, psutil.Error, AttributeError):
        return default


@functools.lru_cache(maxsize=1)
def _fixed_facts() -> tuple[int | None, float | None]:
    """CPU count and boot time: read once (psutil reads /proc/stat again for the boot time on every call)."""
    return _safe(psutil.cpu_count), _safe(psutil.boot_time)


def host_stats() -> HostStats:
    cpu_count, boot_time = _fixed_facts()
    mem = _safe(psutil.virtual_memory)
    # interval=None compares with the previous call: no sleeping on the refresh path.
    return HostStats(
        cpu_count=cpu_count,
        cpu_percent=_safe(lambda: psutil.cpu_percent(interval=None)),
        memory_total_bytes=getattr(mem, "total", None),
        memory_available_bytes=getattr(mem, "available", None),
        load=_safe(os.getloadavg),
        uptime_s=None if boot_time is None else time.time() - boot_time,
    )


def disk_stats(path: str) -> DiskStats:
    """Space and inodes of the filesystem holding ``path`` (its nearest existing ancestor)."""
    probe = path
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    try:
        st = os.statvfs(probe or "/")
    except OSError:
        return DiskStats(path, None, None, None, None)
    return DiskStats(path, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, st.f_files or None, st.f_favail or None)


def process_tree(pid: int) -> list[ProcessRow]:
    """The process ``pid`` and its descendants, depth-first, for a container's detail view."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    by_parent: dict[int, list[psutil.Process]] = {}
    for p in procs[1:]:
        try:
            by_parent.setdefault(p.ppid(), []).append(p)
        except psutil.Error:
            continue
    rows: list[ProcessRow] = []

    # Depth-first with an explicit stack: a deep chain of processes must not exhaust Python's recursion limit.
    stack: list[tuple[psutil.Process, int]] = [(root, 0)]
    while stack:
        p, depth = stack.pop()
        try:
            with p.oneshot():
                cmd = " ".join(p.cmdline()) or p.name()
                rows.append(
                    ProcessRow(p.pid, p.ppid(), p.username(), p.cpu_percent(interval=None), p.memory_info().rss, cmd, depth)
                )
        except psutil.Error:
            continue
        children = sorted(by_parent.get(p.pid, []), key=lambda c: c.pid)
        stack.extend((child, depth + 1) for child in reversed(children))
    return rows
