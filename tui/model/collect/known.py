"""What is learnt once about a container and kept until it disappears: where its cgroup is, its log path, its pid,
its exit. One CRI status call per container per state it reaches, and only when the lists and the kubelet's layout
do not tell: a running container is placed in the kubelet's pod cgroup (or by its task's /proc/<pid>/cgroup) and
its log found where the kubelet writes it; only when that fails does its status wait for ``fill_status`` (a
thousand status calls would hold the first picture back by a second or more)."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from n9s.sources.errors import SourceError
from n9s.sources.logs.paths import kubelet_log_name, kubelet_pod_log_dir
from n9s.model.collect.sources import Sources

# CRI records an exit only after it has deleted the task, tens of milliseconds after containerd announces the exit;
# the refresh that announcement triggers asks CRI again for up to this long, so it shows the exit, not RUNNING.
EXIT_SETTLE_S = 1.0


@dataclass
class Known:
    """What is learnt once about one container."""

    log_path: str = ""
    cgroups_path: str = ""  # the OCI cgroupsPath its status names
    exit_code: int | None = None
    reason: str = ""
    finished_at_ns: int = 0
    pid: int | None = None
    location: Any = None  # its cgroup (CgroupLocation), once placed
    status_fetched_for_state: str = ""
    exit_settle_tried: bool = False
    cgroup_status_asked: bool = False  # its status was asked for the OCI cgroupsPath (placed no other way)

    def row_facts(self) -> tuple[object, ...]:
        """What a container row shows from here (learnt after its listing); its cgroup is compared by identity."""
        return (self.log_path, self.exit_code, self.reason, self.finished_at_ns, self.pid)


class KnownContainers:
    def __init__(self, sources: Sources, pods_dir: str) -> None:
        self._sources = sources
        self.pods_dir = pods_dir
        self._by_id: dict[str, Known] = {}
        self._pending: set[str] = set()  # running containers whose status waits for fill_status
        self.changes = 0  # bumped whenever a container's facts are learnt from a status call

    def get(self, cid: str) -> Known | None:
        return self._by_id.get(cid)

    @property
    def status_pending(self) -> int:
        """Running containers whose CRI status (log path, cgroupsPath) has not been fetched yet."""
        return len(self._pending)

    def observe(self, c: Any, task: Any, task_ended: bool) -> tuple[Known, Any]:
        """Take in a listed container and its task (``task_ended``: the task list read now says it stopped or is
        gone); returns what is known of it and its listing, with CRI's settled state if CRI still said RUNNING."""
        known = self._by_id.get(c.id)
        if known is None:
            known = self._by_id[c.id] = Known()
        if c.state == "RUNNING" and task_ended and not known.exit_settle_tried:
            known.exit_settle_tried = True
            c = self._settle_exit(c)
        if task is not None and task.pid:
            known.pid = task.pid
        if known.status_fetched_for_state != c.state:
            if c.state == "RUNNING" and (known.pid or c.labels.get("io.kubernetes.pod.uid")):
                known.log_path = known.log_path or self._kubelet_log_path(c)
                if known.log_path:
                    known.status_fetched_for_state = c.state  # all a list needs is known without asking
                else:
                    self._pending.add(c.id)
            else:
                self._learn_status(c.id, known, c.state)
        return known, c

    def place(self, cid: str, known: Known, pod_uid: str) -> Any:
        """The container's cgroup location, found once (None while nothing names an existing cgroup). One that is
        not where the kubelet would put it waits for its status, which names its cgroup (OCI cgroupsPath)."""
        cgroups = self._sources.cgroups
        if known.location is None and cgroups is not None:
            try:
                known.location = cgroups.resolve(cid, cgroups_path=known.cgroups_path or None, pid=known.pid,
                                                 pod_uid=pod_uid)
            except OSError:
                known.location = None
        if known.location is None and not known.cgroups_path and not known.cgroup_status_asked:
            known.cgroup_status_asked = True
            self._pending.add(cid)
        return known.location

    def fill_status(self, lock: threading.Lock, *, budget_s: float = 5.0) -> int:
        """Fetch the CRI status the refreshes deferred, one container at a time under ``lock``; stops after
        ``budget_s``; returns how many containers were filled."""
        done = 0
        deadline = time.monotonic() + budget_s
        while time.monotonic() < deadline:
            with lock:
                if not self._pending:
                    break
                cid = self._pending.pop()
                known = self._by_id.get(cid)
                if known is None:
                    continue  # gone meanwhile
                self._learn_status(cid, known, "RUNNING")
                done += 1
        return done

    def forget_gone(self, present: set[str]) -> list[str]:
        """Drop the containers not in ``present``; returns their ids."""
        gone = [cid for cid in self._by_id if cid not in present]
        for cid in gone:
            del self._by_id[cid]
            self._pending.discard(cid)
        return gone

    def _kubelet_log_path(self, c: Any) -> str:
        """Where the kubelet puts a container's log (<pods dir>/<namespace>_<pod>_<uid>/<name>/<attempt>.log),
        if that file exists; "" otherwise (containers not made by a kubelet, or another pods dir)."""
        labels = c.labels
        namespace, pod, uid = (labels.get(f"io.kubernetes.pod.{k}", "") for k in ("namespace", "name", "uid"))
        parts = (namespace, pod, uid, c.name)
        if not all(parts) or any("/" in p or p in (".", "..") for p in parts):
            return ""
        path = os.path.join(kubelet_pod_log_dir(self.pods_dir, namespace, pod, uid),
                            kubelet_log_name(c.name, c.attempt))
        return path if os.path.isfile(path) else ""

    def _settle_exit(self, c: Any) -> Any:
        deadline = time.monotonic() + EXIT_SETTLE_S
        while True:
            try:
                state = self._sources.cri.container_status(c.id).state
            except SourceError:
                return c
            if state != "RUNNING" or time.monotonic() >= deadline:
                return replace(c, state=state)
            time.sleep(0.05)

    def _learn_status(self, cid: str, known: Known, state: str) -> None:
        self.changes += 1  # a container's facts may change: rows kept from before no longer hold
        try:
            status = self._sources.cri.container_status(cid, verbose=True)
        except SourceError:
            return  # vanished between list and status: the row shows what the list said
        known.status_fetched_for_state = state
        known.log_path = status.log_path or known.log_path
        linux = status.runtime_spec.get("linux")
        if isinstance(linux, dict):
            known.cgroups_path = str(linux.get("cgroupsPath") or known.cgroups_path)
        if status.pid:
            known.pid = status.pid
        if status.state == "EXITED":
            known.exit_code = status.exit_code
            known.reason = status.reason
            known.finished_at_ns = status.finished_at_ns
