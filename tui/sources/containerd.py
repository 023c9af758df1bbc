"""containerd native API client: containers, tasks, snapshots, images, content, events, introspection.

Every namespaced call carries the ``containerd-namespace`` header (default ``k8s.io``, where CRI keeps its objects).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from google.protobuf import empty_pb2

from n9s.pb import cgroups_v1_pb2, cgroups_v2_pb2
from n9s.pb import ctd_containers_pb2 as containers_pb
from n9s.pb import ctd_containers_pb2_grpc as containers_grpc
from n9s.pb import ctd_content_pb2 as content_pb
from n9s.pb import ctd_content_pb2_grpc as content_grpc
from n9s.pb import ctd_event_payloads_pb2 as events_payload_pb
from n9s.pb import ctd_events_pb2 as events_pb
from n9s.pb import ctd_events_pb2_grpc as events_grpc
from n9s.pb import ctd_images_pb2 as images_pb
from n9s.pb import ctd_images_pb2_grpc as images_grpc
from n9s.pb import ctd_runc_pb2 as runc_pb
from n9s.pb import ctd_introspection_pb2 as intro_pb
from n9s.pb import ctd_introspection_pb2_grpc as intro_grpc
from n9s.pb import ctd_namespaces_pb2 as ns_pb
from n9s.pb import ctd_namespaces_pb2_grpc as ns_grpc
from n9s.pb import ctd_snapshots_pb2 as snap_pb
from n9s.pb import ctd_snapshots_pb2_grpc as snap_grpc
from n9s.pb import ctd_tasks_pb2 as tasks_pb
from n9s.pb import ctd_tasks_pb2_grpc as tasks_grpc
from n9s.pb import ctd_version_pb2_grpc as version_grpc
from n9s.sources.rpc import RpcClient

DEFAULT_NAMESPACE = "k8s.io"
TASK_STATES = {0: "UNKNOWN", 1: "CREATED", 2: "RUNNING", 3: "STOPPED", 4: "PAUSED", 5: "PAUSING"}
SNAPSHOT_KINDS = {0: "UNKNOWN", 1: "VIEW", 2: "ACTIVE", 3: "COMMITTED"}

# Event payload type URLs carry no type.googleapis.com/ prefix: containerd registers the full proto name.
EVENT_TYPES = {
    f"containerd.events.{name}": getattr(events_payload_pb, name)
    for name in (
        "TaskCreate", "TaskStart", "TaskExit", "TaskDelete", "TaskOOM", "TaskPaused", "TaskResumed",
        "TaskExecAdded", "TaskExecStarted", "ContainerCreate", "ContainerUpdate", "ContainerDelete",
        "SnapshotPrepare", "SnapshotCommit", "SnapshotRemove",
    )
}
EVENT_TYPES.update(
    {f"containerd.services.images.v1.{n}": getattr(images_pb, n) for n in ("ImageCreate", "ImageUpdate", "ImageDelete")}
)
METRICS_TYPES = {
    "io.containerd.cgroups.v1.Metrics": cgroups_v1_pb2.Metrics,
    "io.containerd.cgroups.v2.Metrics": cgroups_v2_pb2.Metrics,
}


def _json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from an Any payload; {} for nothing, garbage, or JSON that is not an object."""
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _ts_ns(ts: Any) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


@dataclass(frozen=True)
class DaemonVersion:
    version: str
    revision: str


@dataclass(frozen=True)
class CtdContainer:
    id: str
    labels: dict[str, str]
    image: str
    runtime: str
    snapshotter: str
    snapshot_key: str
    created_at_ns: int
    updated_at_ns: int
    spec_json: bytes = field(repr=False, default=b"")
    cri_metadata_json: bytes = field(repr=False, default=b"")

    @property
    def kind(self) -> str:
        """``sandbox`` or ``container`` for objects CRI made, else empty."""
        return self.labels.get("io.cri-containerd.kind", "")

    @cached_property
    def spec(self) -> dict[str, Any]:
        return _json_object(self.spec_json)

    @cached_property
    def cri_metadata(self) -> dict[str, Any]:
        """CRI's record of the container (Name, SandboxID, LogPath, Config, ...), from the containerd extension."""
        meta = _json_object(self.cri_metadata_json).get("Metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def log_path(self) -> str:
        return str(self.cri_metadata.get("LogPath") or "")

    @property
    def cgroups_path(self) -> str:
        linux = self.spec.get("linux")
        return linux.get("cgroupsPath", "") if isinstance(linux, dict) else ""


@dataclass(frozen=True)
class Task:
    container_id: str
    pid: int
    status: str
    exit_status: int
    exited_at_ns: int


@dataclass(frozen=True)
class TaskProcess:
    """One pid of a task (Tasks.ListPids). ``exec_id`` names the exec it was started as; it is empty for the
    init process and for the processes an exec's own process forked."""

    pid: int
    exec_id: str


# ListPids' info, as the runc shim fills it (containerd registers types by their full name, without a prefix).
PROCESS_DETAILS = "containerd.runc.v1.ProcessDetails"


def _exec_id(info: Any) -> str:
    if not info.type_url or info.type_url.rsplit("/", 1)[-1] != PROCESS_DETAILS:
        return ""
    details = runc_pb.ProcessDetails()
    try:
        details.ParseFromString(info.value)
    except Exception:  # noqa: BLE001 - a shim that sends garbage: the pid stays without an exec id
        return ""
    return details.exec_id


@dataclass(frozen=True)
class Snapshot:
    key: str
    parent: str
    kind: str
    created_at_ns: int
    updated_at_ns: int
    labels: dict[str, str]


@dataclass(frozen=True)
class SnapshotUsage:
    size_bytes: int
    inodes: int


@dataclass(frozen=True)
class CtdImage:
    name: str
    labels: dict[str, str]
    media_type: str
    digest: str
    size: int
    created_at_ns: int


@dataclass(frozen=True)
class ContentInfo:
    digest: str
    size: int
    labels: dict[str, str]


@dataclass(frozen=True)
class Plugin:
    type: str
    id: str
    init_error: str  # empty when the plugin loaded


@dataclass(frozen=True)
class Event:
    timestamp_ns: int
    namespace: str
    topic: str
    payload: dict[str, Any]

    @property
    def container_id(self) -> str:
        return str(self.payload.get("container_id") or self.payload.get("id") or "")


@dataclass(frozen=True)
class TaskMetrics:
    container_id: str
    timestamp_ns: int
    cgroup_version: int  # 1 or 2
    cpu_usage_ns: int
    memory_usage_bytes: int
    memory_working_set_bytes: int
    memory_limit_bytes: int
    pids_current: int


def _task(t: Any, container_id: str = "") -> Task:
    # containerd 1.6 leaves container_id empty in Tasks.List and puts the container id in the process id.
    cid = t.container_id or t.id or container_id
    return Task(cid, t.pid, TASK_STATES.get(t.status, str(t.status)), t.exit_status, _ts_ns(t.exited_at))


def _metrics(metric: Any) -> TaskMetrics | None:
    kind = METRICS_TYPES.get(metric.data.type_url)
    if kind is None:
        return None
    data = kind()
    data.ParseFromString(metric.data.value)
    if kind is cgroups_v1_pb2.Metrics:
        usage = data.memory.usage.usage
        return TaskMetrics(
            metric.id, _ts_ns(metric.timestamp), 1, data.cpu.usage.total, usage,
            max(0, usage - data.memory.total_inactive_file), data.memory.usage.limit, data.pids.current,
        )
    usage = data.memory.usage
    return TaskMetrics(
        metric.id, _ts_ns(metric.timestamp), 2, data.cpu.usage_usec * 1000, usage,
        max(0, usage - data.memory.inactive_file), data.memory.usage_limit, data.pids.current,
    )


CRI_EXTENSIONS = ("io.cri-containerd.container.metadata", "io.cri-containerd.sandbox.metadata")


def _cri_extension(extensions: Any) -> bytes:
    for key in CRI_EXTENSIONS:
        if key in extensions:
            return extensions[key].value
    return b""


def _payload(any_msg: Any) -> dict[str, Any]:
    kind = EVENT_TYPES.get(any_msg.type_url)
    if kind is None:
        return {"type_url": any_msg.type_url}
    msg = kind()
    msg.ParseFromString(any_msg.value)
    out: dict[str, Any] = {}
    for desc, value in msg.ListFields():
        if desc.message_type is not None and desc.message_type.full_name == "google.protobuf.Timestamp":
            out[desc.name] = _ts_ns(value)
        elif desc.message_type is not None:
            out[desc.name] = dict(value) if hasattr(value, "items") else str(value)
        else:
            out[desc.name] = value
    return out


class ContainerdClient(RpcClient):
    def __init__(self, path: str, *, namespace: str = DEFAULT_NAMESPACE, timeout: float = 5.0):
        super().__init__(path, timeout=timeout, metadata=(("containerd-namespace", namespace),))
        self.namespace = namespace

    def _stubs_ready(self, channel) -> None:
        self._version = version_grpc.VersionStub(channel)
        self._ns = ns_grpc.NamespacesStub(channel)
        self._containers = containers_grpc.ContainersStub(channel)
        self._tasks = tasks_grpc.TasksStub(channel)
        self._snapshots = snap_grpc.SnapshotsStub(channel)
        self._images = images_grpc.ImagesStub(channel)
        self._content = content_grpc.ContentStub(channel)
        self._events = events_grpc.EventsStub(channel)
        self._intro = intro_grpc.IntrospectionStub(channel)

    def _stub(self, name: str):
        self.channel
        return getattr(self, name)

    def version(self) -> DaemonVersion:
        r = self.call("containerd Version", self._stub("_version").Version, empty_pb2.Empty())
        return DaemonVersion(r.version, r.revision)

    def namespaces(self) -> list[str]:
        r = self.call("Namespaces.List", self._stub("_ns").List, ns_pb.ListNamespacesRequest())
        return [n.name for n in r.namespaces]

    def containers(self, *filters: str) -> list[CtdContainer]:
        r = self.call("Containers.List", self._stub("_containers").List, containers_pb.ListContainersRequest(filters=list(filters)))
        return [
            CtdContainer(
                id=c.id,
                labels=dict(c.labels),
                image=c.image,
                runtime=c.runtime.name,
                snapshotter=c.snapshotter,
                snapshot_key=c.snapshot_key,
                created_at_ns=_ts_ns(c.created_at),
                updated_at_ns=_ts_ns(c.updated_at),
                spec_json=c.spec.value,
                cri_metadata_json=_cri_extension(c.extensions),
            )
            for c in r.containers
        ]

    def tasks(self) -> list[Task]:
        r = self.call("Tasks.List", self._stub("_tasks").List, tasks_pb.ListTasksRequest())
        return [_task(t) for t in r.tasks]

    def task(self, container_id: str) -> Task:
        t = self.call("Tasks.Get", self._stub("_tasks").Get, tasks_pb.GetRequest(container_id=container_id)).process
        return _task(t, container_id)

    def exec_process(self, container_id: str, exec_id: str) -> Task:
        """One exec of a task (Tasks.Get with its exec id); raises NotFound once containerd has dropped it."""
        request = tasks_pb.GetRequest(container_id=container_id, exec_id=exec_id)
        t = self.call("Tasks.Get", self._stub("_tasks").Get, request).process
        return _task(t, container_id)

    def kill(self, container_id: str, signal: int, *, all_processes: bool = False, exec_id: str = "") -> None:
        """Signal the task's init process, every process (``all_processes``), or one exec (``exec_id``)."""
        request = tasks_pb.KillRequest(container_id=container_id, exec_id=exec_id, signal=int(signal),
                                       all=all_processes)
        self.call("Tasks.Kill", self._stub("_tasks").Kill, request)

    def list_pids(self, container_id: str) -> list[int]:
        r = self.call("Tasks.ListPids", self._stub("_tasks").ListPids, tasks_pb.ListPidsRequest(container_id=container_id))
        return [p.pid for p in r.processes]

    def processes(self, container_id: str) -> list[TaskProcess]:
        """Every pid of the task with the exec each was started as (the runc shim asks runc, so one call costs
        a runc run: ask when something changed, not on every refresh)."""
        r = self.call("Tasks.ListPids", self._stub("_tasks").ListPids, tasks_pb.ListPidsRequest(container_id=container_id))
        return [TaskProcess(p.pid, _exec_id(p.info)) for p in r.processes]

    def metrics(self, *container_ids: str) -> list[TaskMetrics]:
        request = tasks_pb.MetricsRequest(filters=[f"id=={cid}" for cid in container_ids])
        r = self.call("Tasks.Metrics", self._stub("_tasks").Metrics, request)
        return [m for m in (_metrics(x) for x in r.metrics) if m is not None]

    def snapshots(self, snapshotter: str = "overlayfs") -> list[Snapshot]:
        out: list[Snapshot] = []
        request = snap_pb.ListSnapshotsRequest(snapshotter=snapshotter)
        for batch in self.stream("Snapshots.List", self._stub("_snapshots").List, request, timeout=self.timeout * 4):
            for i in batch.info:
                out.append(
                    Snapshot(i.name, i.parent, SNAPSHOT_KINDS.get(i.kind, str(i.kind)), _ts_ns(i.created_at),
                             _ts_ns(i.updated_at), dict(i.labels))
                )
        return out

    def snapshot_usage(self, key: str, snapshotter: str = "overlayfs", timeout: float = 30.0) -> SnapshotUsage:
        request = snap_pb.UsageRequest(snapshotter=snapshotter, key=key)
        r = self.call("Snapshots.Usage", self._stub("_snapshots").Usage, request, timeout=timeout)
        return SnapshotUsage(r.size, r.inodes)

    def images(self) -> list[CtdImage]:
        r = self.call("Images.List", self._stub("_images").List, images_pb.ListImagesRequest())
        return [
            CtdImage(i.name, dict(i.labels), i.target.media_type, i.target.digest, i.target.size, _ts_ns(i.created_at))
            for i in r.images
        ]

    def content_info(self, digest: str) -> ContentInfo:
        r = self.call("Content.Info", self._stub("_content").Info, content_pb.InfoRequest(digest=digest))
        return ContentInfo(r.info.digest, r.info.size, dict(r.info.labels))

    def plugins(self) -> list[Plugin]:
        r = self.call("Introspection.Plugins", self._stub("_intro").Plugins, intro_pb.PluginsRequest())
        return [Plugin(p.type, p.id, p.init_err.message if p.HasField("init_err") else "") for p in r.plugins]

    def subscribe(self, *topics: str) -> Iterator[Event]:
        """Stream events of our namespace until the connection breaks (then the iterator raises Unreachable).

        ``topics`` are prefixes like ``/tasks/``; with none, every topic is delivered.
        """
        filters = [f'namespace=={self.namespace},topic~="^{t}"' for t in topics] or [f"namespace=={self.namespace}"]
        for env in self.stream("Events.Subscribe", self._stub("_events").Subscribe, events_pb.SubscribeRequest(filters=filters)):
            yield Event(_ts_ns(env.timestamp), env.namespace, env.topic, _payload(env.event))

    def subscribe_call(self, *topics: str):
        """Like subscribe, but returns the grpc call object too, so another thread can cancel it."""
        self.channel
        filters = [f'namespace=={self.namespace},topic~="^{t}"' for t in topics] or [f"namespace=={self.namespace}"]
        return self._events.Subscribe(events_pb.SubscribeRequest(filters=filters), metadata=self.metadata)


__all__ = [
    "ContainerdClient", "CtdContainer", "CtdImage", "ContentInfo", "DaemonVersion", "Event", "Plugin", "Snapshot",
    "SnapshotUsage", "Task", "TaskMetrics", "TaskProcess",
]
