"""The node picture: one immutable, joined snapshot of everything n9s knows about the node.

A refresh builds a new picture; views render it. Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

OK = "ok"
STALE = "stale"
UNREACHABLE = "unreachable"
UNAVAILABLE = "unavailable"  # e.g. no permission, or the runtime lacks the call
NOT_ANSWERING = "not answering"  # it takes calls but answers none in time (hung, frozen); `since`: the first one


@dataclass(frozen=True)
class SourceHealth:
    name: str
    state: str = OK
    message: str = ""
    since: float | None = None  # wall-clock seconds when this state began

    @property
    def ok(self) -> bool:
        return self.state == OK


@dataclass(frozen=True)
class Figures:
    """The cgroup figures of one container or pod; every field may be unknown (None)."""

    cpu_cores: float | None = None
    cpu_usage_ns: int | None = None
    cpu_nr_periods: int | None = None
    cpu_nr_throttled: int | None = None
    cpu_throttled_ns: int | None = None
    throttled_recently: bool = False
    memory_working_set_bytes: int | None = None
    memory_usage_bytes: int | None = None
    memory_rss_bytes: int | None = None
    memory_cache_bytes: int | None = None
    memory_limit_bytes: int | None = None
    memory_unlimited: bool = False
    pids_current: int | None = None
    pids_max: int | None = None
    pids_unlimited: bool = False
    oom_kills: int | None = None
    io_read_bytes: int | None = None
    io_write_bytes: int | None = None
    psi: dict[str, float] = field(default_factory=dict)  # e.g. {"cpu.some": 0.1, "memory.full": 0.0}

    @property
    def memory_percent_of_limit(self) -> float | None:
        if self.memory_working_set_bytes is None or self.memory_unlimited or not self.memory_limit_bytes:
            return None
        return 100.0 * self.memory_working_set_bytes / self.memory_limit_bytes


@dataclass(frozen=True)
class ContainerRow:
    id: str
    sandbox_id: str
    name: str
    attempt: int
    image: str
    image_ref: str
    state: str  # CRI: CREATED RUNNING EXITED UNKNOWN
    created_at_ns: int
    namespace: str
    pod_name: str
    pod_uid: str
    labels: dict[str, str]
    annotations: dict[str, str]
    restarts: int = 0
    pid: int | None = None
    task_status: str | None = None  # containerd task: RUNNING STOPPED PAUSED ...
    exit_code: int | None = None
    reason: str = ""  # Completed Error OOMKilled
    finished_at_ns: int = 0
    log_path: str = ""
    cgroup_path: str = ""
    figures: Figures = field(default_factory=Figures)
    cpu_history: tuple[float, ...] = ()
    memory_history: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return self.id

    @property
    def pod_key(self) -> str:
        return f"{self.namespace}/{self.pod_name}"

    @property
    def oom_killed(self) -> bool:
        return self.reason == "OOMKilled" or bool(self.figures.oom_kills)

    @property
    def health(self) -> str:
        """One word the renderers colour by: ok, failed, oom, throttled, pending, done."""
        if self.reason == "OOMKilled":
            return "oom"
        if self.state == "EXITED":
            return "done" if self.exit_code == 0 else "failed"
        if self.state in ("CREATED", "UNKNOWN"):
            return "pending"
        if self.figures.throttled_recently:
            return "throttled"
        return "ok"


def newest_attempts(containers: Iterable[ContainerRow]) -> tuple[ContainerRow, ...]:
    """The newest attempt of each container name, by name."""
    newest: dict[str, ContainerRow] = {}
    for c in containers:
        seen = newest.get(c.name)
        if seen is None or (c.attempt, c.created_at_ns) > (seen.attempt, seen.created_at_ns):
            newest[c.name] = c
    return tuple(sorted(newest.values(), key=lambda c: c.name))


@dataclass(frozen=True)
class PodRow:
    id: str  # the sandbox id; one pod may have several sandboxes
    namespace: str
    name: str
    uid: str
    attempt: int
    state: str  # sandbox: READY NOTREADY
    created_at_ns: int
    labels: dict[str, str]
    annotations: dict[str, str]
    containers: tuple[ContainerRow, ...] = ()
    status: str = ""
    ready: int = 0
    total: int = 0
    restarts: int = 0
    figures: Figures = field(default_factory=Figures)
    static: bool = False
    api: Any = None  # the API's view of the pod, when the API is reachable
    flags: tuple[str, ...] = ()  # where the API and the runtime disagree

    @property
    def key(self) -> str:
        return self.id

    @cached_property
    def current(self) -> tuple[ContainerRow, ...]:
        """The newest attempt of each container; older attempts are history and do not colour the pod."""
        return newest_attempts(self.containers)

    @cached_property
    def health(self) -> str:
        healths = {c.health for c in self.current}
        if "oom" in healths:
            return "oom"
        if "failed" in healths:
            return "failed"
        if self.state != "READY" or healths == {"done"}:
            return "done"
        for word in ("pending", "throttled"):
            if word in healths:
                return word
        return "ok"


@dataclass(frozen=True)
class TaskRow:
    container_id: str
    pid: int
    status: str
    exit_status: int
    exited_at_ns: int
    kind: str  # sandbox | container | "" (not made by CRI)
    name: str  # container name, or the pod name for a sandbox
    pod: str  # namespace/name

    @property
    def key(self) -> str:
        return self.container_id


@dataclass(frozen=True)
class SnapshotRow:
    key: str
    kind: str
    parent: str
    created_at_ns: int
    size_bytes: int | None  # None until the (costly) usage is known
    inodes: int | None
    owner: str  # container name (ns/pod/container) or image name, empty when nobody
    owner_id: str
    orphan: bool

    @property
    def row_key(self) -> str:
        return self.key


@dataclass(frozen=True)
class ImageRow:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    size: int
    pinned: bool
    used_by: tuple[str, ...]  # ns/pod/container

    @property
    def key(self) -> str:
        return self.id

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else (self.digests[0] if self.digests else self.id)


@dataclass(frozen=True)
class FilesystemRow:
    purpose: str  # "containerd root", "pod logs", "image filesystem"
    path: str
    total_bytes: int | None
    free_bytes: int | None
    inodes_total: int | None
    inodes_free: int | None


@dataclass(frozen=True)
class NodeInfo:
    hostname: str = ""
    runtime_name: str = ""
    runtime_version: str = ""
    runtime_api_version: str = ""
    containerd_version: str = ""
    conditions: tuple[tuple[str, bool, str, str], ...] = ()  # type, status, reason, message
    cpu_count: int | None = None
    cpu_percent: float | None = None
    memory_total_bytes: int | None = None
    memory_available_bytes: int | None = None
    load: tuple[float, float, float] | None = None
    uptime_s: float | None = None
    filesystems: tuple[FilesystemRow, ...] = ()
    failed_plugins: tuple[tuple[str, str], ...] = ()  # (type.id, error)
    snapshotter: str = "overlayfs"
    cgroup_mode: str = ""
    containerd_root: str = ""
    pods_dir: str = ""


@dataclass(frozen=True)
class ExecRow:
    """One exec process of a running task (a shell, `kubectl exec`, an exec probe while it runs)."""

    container_id: str
    exec_id: str
    pid: int
    command: str  # as /proc shows it; "" when it went before it was read
    started_at: float | None  # wall clock
    owner: str = ""  # "n9s", "n9s, kept", or "" when this n9s did not start it

    @property
    def key(self) -> str:
        return f"{self.container_id}/{self.exec_id}"


@dataclass(frozen=True)
class NodePicture:
    taken_at: float  # wall clock
    node: NodeInfo
    pods: tuple[PodRow, ...] = ()
    containers: tuple[ContainerRow, ...] = ()
    tasks: tuple[TaskRow, ...] = ()
    execs: tuple[ExecRow, ...] | None = None  # of the running containers' tasks; None: not read (only the tasks
    # view reads them)
    snapshots: tuple[SnapshotRow, ...] | None = None  # None: not asked for in this refresh
    images: tuple[ImageRow, ...] | None = None
    health: tuple[SourceHealth, ...] = ()
    stale: bool = False  # the runtime part is the last good data, not fresh
    api: Any = None  # ApiSnapshot: the API's pods, node and events, and its health; None without the API
    remote: bool = False  # seen through the API only: the runtime-only parts are absent
    # The runtime could not be used at all: pods and containers come from the pod log directory and the pod
    # cgroups (n9s.model.degraded); `source("runtime")` says why.
    local_only: bool = False

    def source(self, name: str) -> SourceHealth | None:
        return next((h for h in self.health if h.name == name), None)

    def pod(self, key: str) -> PodRow | None:
        return next((p for p in self.pods if p.id == key), None)

    def container(self, key: str) -> ContainerRow | None:
        return next((c for c in self.containers if c.id == key), None)
