"""What a container's cgroup files say, read the plain way (no n9s code): the reference n9s's figures are checked
against. The cgroup is found from /proc/<pid>/cgroup of the container's process; the files are read directly."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from n9s.pb import cri_pb2

ROOT = Path("/sys/fs/cgroup")
UNLIMITED = 1 << 62


def unified_only() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def cgroup_paths(pid: int) -> dict[str, str]:
    """controller -> path in its hierarchy ("" for the cgroup2 line)."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _keyed(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}


@dataclass(frozen=True)
class Truth:
    cpu_usage_ns: int
    at_ns: int
    working_set: int
    usage: int
    limit: int | None  # None: no limit
    pids: int


class ContainerCgroup:
    def __init__(self, pid: int | None = None, dirs: dict[str, Path] | None = None):
        if dirs is not None:
            self.dirs = dirs
            return
        paths = cgroup_paths(pid)
        if unified_only():
            d = ROOT / paths[""].lstrip("/")
            self.dirs = {"cpu": d, "memory": d, "pids": d, "cfs": d}
        else:
            self.dirs = {"cpu": ROOT / "cpuacct" / paths["cpuacct"].lstrip("/"),
                         "memory": ROOT / "memory" / paths["memory"].lstrip("/"),
                         "pids": ROOT / "pids" / paths["pids"].lstrip("/"),
                         "cfs": ROOT / "cpu" / paths["cpu"].lstrip("/")}

    def parent(self) -> ContainerCgroup:
        """The cgroup one level up: for a kubelet container, its pod cgroup."""
        return ContainerCgroup(dirs={k: d.parent for k, d in self.dirs.items()})

    def _read(self, controller: str, name: str) -> str:
        return (self.dirs[controller] / name).read_text()

    def cpu_usage_ns(self) -> int:
        if unified_only():
            return _keyed(self._read("cpu", "cpu.stat"))["usage_usec"] * 1000
        return int(self._read("cpu", "cpuacct.usage"))

    def read(self) -> Truth:
        at = time.monotonic_ns()
        cpu = self.cpu_usage_ns()
        if unified_only():
            usage = int(self._read("memory", "memory.current"))
            inactive = _keyed(self._read("memory", "memory.stat"))["inactive_file"]
            raw = self._read("memory", "memory.max").strip()
            limit = None if raw == "max" else int(raw)
        else:
            usage = int(self._read("memory", "memory.usage_in_bytes"))
            inactive = _keyed(self._read("memory", "memory.stat"))["total_inactive_file"]
            raw_limit = int(self._read("memory", "memory.limit_in_bytes"))
            limit = None if raw_limit >= UNLIMITED else raw_limit
        pids = int(self._read("pids", "pids.current"))
        return Truth(cpu, at, max(0, usage - inactive), usage, limit, pids)


def cores_between(a: Truth, b: Truth) -> float:
    return (b.cpu_usage_ns - a.cpu_usage_ns) / (b.at_ns - a.at_ns)


def pid_of(node, container_id: str) -> int:
    """The container's init pid from the raw CRI verbose status (not through n9s)."""
    status = node.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=container_id, verbose=True))
    return int(json.loads(status.info["info"])["pid"])


def of_container(node, container_id: str) -> ContainerCgroup:
    return ContainerCgroup(pid_of(node, container_id))


def oom_kills(cgroup: ContainerCgroup) -> int:
    """Processes the OOM killer took in this cgroup (v1 memory.oom_control, v2 memory.events)."""
    name = "memory.events" if unified_only() else "memory.oom_control"
    return _keyed(cgroup._read("memory", name))["oom_kill"]


def throttled_periods(cgroup: ContainerCgroup) -> int:
    """CFS periods in which the cgroup was throttled (cpu.stat nr_throttled, v1 and v2 alike)."""
    return _keyed(cgroup._read("cfs", "cpu.stat"))["nr_throttled"]
