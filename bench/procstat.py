"""CPU time and memory of a process, read from /proc (what `top` reads), and the machine's load."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of every thread of `pid` so far (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_seconds_many(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


@dataclass
class CpuWindow:
    """CPU seconds a set of processes used over a wall-clock window."""

    cpu_s: float
    wall_s: float

    @property
    def cores(self) -> float:
        """Average share of one core over the window (0.05 = 5 %)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def measure_window(pids_of, seconds: float) -> CpuWindow:
    """CPU used by `pids_of()` (called at start and end; processes present at the start are counted) over
    `seconds` of wall time."""
    pids = list(pids_of())
    c0, t0 = cpu_seconds_many(pids), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds_many(pids), time.monotonic()
    return CpuWindow(c1 - c0, t1 - t0)
