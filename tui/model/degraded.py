"""The node without its runtime: what the pod log directory and the cgroup files still tell.

When the runtime socket cannot be used at all (not root, or no runtime), n9s still shows which pods are on the node
and what they use: the kubelet keeps each pod's logs in ``<pods_dir>/<namespace>_<name>_<uid>/<container>/<n>.log``
(``n`` is the container's restart count), and puts each pod's processes in a cgroup named after its UID
(``pod<uid>`` with the cgroupfs driver, ``kubepods-<qos>-pod<uid>.slice`` with systemd) under the kubepods hierarchy.
The containers' cgroups are that cgroup's child directories, but nothing there says which container is which, so
container figures stay unknown; the pod's figures are exact. Logs open as usual, from the paths found here.

Headless: plain file reads, no runtime calls.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from n9s.sources.cgroups.paths import find_pod_cgroup
from n9s.model.picture import ContainerRow, Figures, PodRow
from n9s.model.seams import CgroupSource

LOCAL_PREFIX = "local:"  # row keys of pods and containers found this way (never a runtime id)

# Pod and namespace names are DNS labels/subdomains (no "_"), a UID has no "_": the directory name splits in three.
_POD_DIR = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)_([a-z0-9]([-.a-z0-9]*[a-z0-9])?)_([0-9A-Za-z-]+)$")
_LOG_FILE = re.compile(r"^(\d+)\.log$")


@dataclass(frozen=True)
class LogContainer:
    name: str
    attempt: int  # the highest <n>.log present
    log_path: str


@dataclass(frozen=True)
class LogPod:
    """A pod as its log directory tells it."""

    namespace: str
    name: str
    uid: str
    directory: str
    containers: tuple[LogContainer, ...] = ()


def scan_pod_logs(pods_dir: str) -> list[LogPod]:
    """The pods that have a log directory under ``pods_dir``; names that are not a kubelet's are skipped.
    An unreadable or missing ``pods_dir`` gives no pods (the caller says why elsewhere)."""
    try:
        entries = sorted(os.scandir(pods_dir), key=lambda e: e.name)
    except OSError:
        return []
    pods = []
    for entry in entries:
        m = _POD_DIR.match(entry.name)
        if m is None or not entry.is_dir(follow_symlinks=False):
            continue
        pods.append(LogPod(namespace=m.group(1), name=m.group(3), uid=m.group(5), directory=entry.path,
                           containers=tuple(_containers(entry.path))))
    return pods


def _containers(pod_dir: str) -> list[LogContainer]:
    out: list[LogContainer] = []
    try:
        entries = sorted(os.scandir(pod_dir), key=lambda e: e.name)
    except OSError:
        return out
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            attempts = [int(m.group(1)) for name in os.listdir(entry.path) if (m := _LOG_FILE.match(name))]
        except OSError:
            continue
        if attempts:
            attempt = max(attempts)
            out.append(LogContainer(entry.name, attempt, os.path.join(entry.path, f"{attempt}.log")))
    return out


@dataclass
class LocalView:
    """Builds pod and container rows from the log directory and the pod cgroups; keeps the previous pod samples
    for CPU rates. ``cgroups`` is a ``CgroupReader`` (or None: no figures)."""

    pods_dir: str
    cgroups: CgroupSource | None = None
    figures_from: Callable[[Any, Any], Figures] | None = None  # (stats, previous stats) -> Figures
    _locations: dict[str, Any] = field(default_factory=dict)  # uid -> CgroupLocation (found once)
    _prev: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> tuple[list[PodRow], list[ContainerRow]]:
        pods: list[PodRow] = []
        containers: list[ContainerRow] = []
        samples: dict[str, Any] = {}
        for lp in scan_pod_logs(self.pods_dir):
            location = self._location(lp.uid)
            stats = self._read(location)
            figures = Figures()
            if stats is not None:
                samples[lp.uid] = stats
                if self.figures_from is not None:
                    figures = self.figures_from(stats, self._prev.get(lp.uid))
            running = self._running_children(location)
            pod_id = f"{LOCAL_PREFIX}{lp.uid}"
            rows = tuple(self._container(lp, pod_id, c) for c in lp.containers)
            total = len(rows)
            if location is None or stats is None:
                status = "no cgroup (logs only)"
            elif running:
                status = "Running"
            else:
                status = "Stopped"
            pods.append(PodRow(
                id=pod_id, namespace=lp.namespace, name=lp.name, uid=lp.uid, attempt=0,
                state="READY" if running else "NOTREADY", created_at_ns=self._created_ns(location),
                labels={}, annotations={}, containers=rows, status=status,
                # CRI runtimes run the pod's sandbox (pause) in a cgroup of its own beside the containers' ones;
                # which child is which is not written anywhere, so this is a count, not a per-container state.
                ready=max(0, min(total, running - 1)), total=total,
                restarts=sum(c.attempt for c in rows), figures=figures,
            ))
            containers.extend(rows)
        self._prev = samples
        seen = {p.uid for p in pods}
        for uid in [u for u in self._locations if u not in seen]:  # the pod's logs are gone: so is the pod
            del self._locations[uid]
            if self.cgroups is not None:
                self.cgroups.forget(f"pod{uid}")
        return pods, containers

    @staticmethod
    def _container(lp: LogPod, pod_id: str, c: LogContainer) -> ContainerRow:
        return ContainerRow(
            id=f"{LOCAL_PREFIX}{lp.uid}/{c.name}", sandbox_id=pod_id, name=c.name, attempt=c.attempt, image="",
            image_ref="", state="UNKNOWN", created_at_ns=0, namespace=lp.namespace, pod_name=lp.name,
            pod_uid=lp.uid, labels={}, annotations={}, restarts=c.attempt, log_path=c.log_path,
        )

    def _location(self, uid: str) -> Any:
        if self.cgroups is None:
            return None
        known = self._locations.get(uid)
        if known is not None and known.exists():
            return known
        try:
            location = find_pod_cgroup(self.cgroups.layout, uid, f"pod{uid}", "local")
        except OSError:
            location = None
        if location is None:
            self._locations.pop(uid, None)
        else:
            self._locations[uid] = location
        return location

    def _read(self, location: Any) -> Any:
        if location is None or self.cgroups is None:
            return None
        try:
            stats = self.cgroups.read(location)
        except OSError:
            return None
        return None if getattr(stats, "vanished", False) else stats

    @staticmethod
    def _running_children(location: Any) -> int:
        """Child cgroups (the containers', and the sandbox's) that hold a process."""
        if location is None:
            return 0
        directory = next(iter(location.figure_dirs()), None)
        if directory is None:
            return 0
        count = 0
        try:
            children = [e.path for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return 0
        for child in children:
            try:
                with open(os.path.join(child, "cgroup.procs"), "rb") as f:
                    if f.read(64).strip():
                        count += 1
            except OSError:
                continue
        return count

    @staticmethod
    def _created_ns(location: Any) -> int:
        """A cgroup directory is made when the pod starts; its change time is that moment."""
        if location is None:
            return 0
        for directory in location.figure_dirs():
            # The directory's own time moves when a child cgroup is made; its files keep their creation time.
            times = []
            for path in (directory, os.path.join(directory, "cgroup.procs")):
                try:
                    times.append(os.stat(path).st_ctime_ns)
                except OSError:
                    pass
            if times:
                return min(times)
        return 0
