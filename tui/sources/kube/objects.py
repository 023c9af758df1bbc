"""Typed views of the Kubernetes objects n9s reads, built from the raw JSON dicts of the API.

Converters never raise on odd input: a missing or malformed field becomes None, "" or 0, so a
strange object from the API costs one cell, not the whole table. Strings here come straight from
the cluster (names, labels, messages) and must go through `n9s.core.sanitize` before reaching a terminal.
The dataclasses are frozen; the dicts they hold (labels, manifest) must be treated as read-only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from n9s.sources.kube.quantity import QuantityError, count, cpu_millicores, memory_bytes
from n9s.sources.kube.status import is_sidecar, pod_status_columns
from n9s.sources.kube.times import parse_time


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _quantity(parse, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return parse(value)
    except QuantityError:
        return None


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _dict(value).items()}


# ---------------------------------------------------------------- pods


@dataclass(frozen=True)
class ContainerState:
    """One of a container's states: running, waiting (with reason) or terminated (reason, exit code)."""

    kind: str  # "running" | "waiting" | "terminated" | "unknown"
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def text(self) -> str:
        """What kubectl and K9s show: the reason, `Running`, or `<none>`."""
        if self.kind == "waiting":
            return self.reason or "Waiting"
        if self.kind == "terminated":
            if self.reason:
                return self.reason
            if self.signal:
                return f"Signal:{self.signal}"
            return f"ExitCode:{self.exit_code or 0}"
        if self.kind == "running":
            return "Running"
        return "<none>"


def container_state(state: Any) -> ContainerState | None:
    state = _dict(state)
    if isinstance(state.get("running"), dict):
        return ContainerState("running", started_at=parse_time(state["running"].get("startedAt")))
    if isinstance(state.get("terminated"), dict):
        t = state["terminated"]
        return ContainerState(
            "terminated",
            reason=_str(t.get("reason")),
            message=_str(t.get("message")),
            exit_code=_int_or_none(t.get("exitCode")),
            signal=_int_or_none(t.get("signal")) or None,
            started_at=parse_time(t.get("startedAt")),
            finished_at=parse_time(t.get("finishedAt")),
        )
    if isinstance(state.get("waiting"), dict):
        w = state["waiting"]
        return ContainerState("waiting", reason=_str(w.get("reason")), message=_str(w.get("message")))
    return None


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int
    protocol: str


@dataclass(frozen=True)
class ApiContainer:
    """A container of a pod, spec and status joined by name."""

    name: str
    kind: str  # "init" | "sidecar" | "app" | "ephemeral"
    image: str
    image_id: str
    container_id: str  # as the API gives it: "containerd://<id>" ("" before the container exists)
    state: ContainerState
    last_state: ContainerState | None
    ready: bool
    started: bool | None
    restart_count: int
    cpu_request_m: int | None
    cpu_limit_m: int | None
    memory_request_bytes: int | None
    memory_limit_bytes: int | None
    ports: tuple[ContainerPort, ...] = ()
    probes: tuple[str, ...] = ()  # which of "liveness", "readiness", "startup" are set

    @property
    def runtime_id(self) -> str:
        """The container id without the runtime prefix, as containerd and CRI know it."""
        return self.container_id.split("://", 1)[-1]

    @property
    def state_text(self) -> str:
        return self.state.text


@dataclass(frozen=True)
class OwnerRef:
    kind: str
    name: str
    uid: str
    controller: bool


@dataclass(frozen=True)
class PodCondition:
    type: str
    status: str
    reason: str
    message: str
    last_transition: datetime | None


@dataclass(frozen=True)
class ApiPod:
    """A pod as the API server sees it, with the kubectl columns already computed."""

    uid: str
    namespace: str
    name: str
    node_name: str
    phase: str
    status_text: str
    ready: tuple[int, int]
    restarts: int
    last_restart: datetime | None
    qos_class: str
    owner: OwnerRef | None
    pod_ip: str
    host_ip: str
    labels: dict[str, str]
    annotations: dict[str, str]
    created: datetime | None
    started: datetime | None
    deletion_timestamp: datetime | None
    deletion_grace_seconds: int | None
    containers: tuple[ApiContainer, ...]
    conditions: tuple[PodCondition, ...]
    reason: str
    message: str
    priority_class: str
    service_account: str
    restart_policy: str
    resource_version: str
    manifest: dict = field(repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def is_mirror(self) -> bool:
        """A static pod's mirror: the kubelet runs it from a file, deleting it through the API is not final."""
        return "kubernetes.io/config.mirror" in self.annotations

    @property
    def runtime_uid(self) -> str:
        """The pod uid the runtime knows (CRI label io.kubernetes.pod.uid, cgroup and log paths).

        For a mirror pod the API invents its own uid; the static pod's real one, which the kubelet
        gave the runtime, is in the kubernetes.io/config.mirror annotation.
        """
        return self.annotations.get("kubernetes.io/config.mirror") or self.uid

    def _long_running(self) -> tuple[ApiContainer, ...]:
        return tuple(c for c in self.containers if c.kind in ("app", "sidecar"))

    @property
    def cpu_request_m(self) -> int:
        return sum(c.cpu_request_m or 0 for c in self._long_running())

    @property
    def memory_request_bytes(self) -> int:
        return sum(c.memory_request_bytes or 0 for c in self._long_running())

    @property
    def cpu_limit_m(self) -> int | None:
        """Sum of the limits, or None when any container is unlimited (the pod then is too)."""
        limits = [c.cpu_limit_m for c in self._long_running()]
        known = [limit for limit in limits if limit is not None]
        return None if not limits or len(known) < len(limits) else sum(known)

    @property
    def memory_limit_bytes(self) -> int | None:
        limits = [c.memory_limit_bytes for c in self._long_running()]
        known = [limit for limit in limits if limit is not None]
        return None if not limits or len(known) < len(limits) else sum(known)


def _container(spec: dict, status: dict | None, kind: str) -> ApiContainer:
    status = status or {}
    resources = _dict(spec.get("resources"))
    requests = _dict(resources.get("requests"))
    limits = _dict(resources.get("limits"))
    state = container_state(status.get("state")) or ContainerState("unknown")
    ports = tuple(
        ContainerPort(_str(p.get("name")), _int_or_none(p.get("containerPort")) or 0, _str(p.get("protocol")) or "TCP")
        for p in map(_dict, _list(spec.get("ports")))
    )
    probes = tuple(p for p in ("liveness", "readiness", "startup") if isinstance(spec.get(p + "Probe"), dict))
    return ApiContainer(
        name=_str(spec.get("name")) or _str(status.get("name")),
        kind=kind,
        image=_str(spec.get("image")) or _str(status.get("image")),
        image_id=_str(status.get("imageID")),
        container_id=_str(status.get("containerID")),
        state=state,
        last_state=container_state(status.get("lastState")),
        ready=status.get("ready") is True,
        started=status.get("started") if isinstance(status.get("started"), bool) else None,
        restart_count=_int_or_none(status.get("restartCount")) or 0,
        cpu_request_m=_quantity(cpu_millicores, requests.get("cpu")),
        cpu_limit_m=_quantity(cpu_millicores, limits.get("cpu")),
        memory_request_bytes=_quantity(memory_bytes, requests.get("memory")),
        memory_limit_bytes=_quantity(memory_bytes, limits.get("memory")),
        ports=ports,
        probes=probes,
    )


def _containers(spec: dict, status: dict) -> tuple[ApiContainer, ...]:
    out: list[ApiContainer] = []
    groups = (
        ("initContainers", "initContainerStatuses", "init"),
        ("containers", "containerStatuses", "app"),
        ("ephemeralContainers", "ephemeralContainerStatuses", "ephemeral"),
    )
    for spec_key, status_key, kind in groups:
        statuses = {s.get("name"): s for s in map(_dict, _list(status.get(status_key)))}
        for c in map(_dict, _list(spec.get(spec_key))):
            this_kind = "sidecar" if kind == "init" and is_sidecar(c) else kind
            out.append(_container(c, statuses.get(c.get("name")), this_kind))
    return tuple(out)


def _owner(metadata: dict) -> OwnerRef | None:
    refs = [_dict(r) for r in _list(metadata.get("ownerReferences"))]
    if not refs:
        return None
    chosen = next((r for r in refs if r.get("controller") is True), refs[0])
    return OwnerRef(
        _str(chosen.get("kind")), _str(chosen.get("name")), _str(chosen.get("uid")), chosen.get("controller") is True
    )


def without_managed_fields(manifest: dict) -> dict:
    """A copy of a manifest without metadata.managedFields, the server-side-apply bookkeeping that
    makes up most of a pod's YAML and that `kubectl get -o yaml` also hides by default."""
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return manifest
    return {**manifest, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def pod_from_manifest(pod: dict) -> ApiPod:
    """An ApiPod from a v1 Pod dict (as listed, watched or read from the API)."""
    pod = _dict(pod)
    metadata = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    columns = pod_status_columns(pod)
    conditions = tuple(
        PodCondition(_str(c.get("type")), _str(c.get("status")), _str(c.get("reason")), _str(c.get("message")),
                     parse_time(c.get("lastTransitionTime")))
        for c in map(_dict, _list(status.get("conditions")))
    )
    return ApiPod(
        uid=_str(metadata.get("uid")),
        namespace=_str(metadata.get("namespace")),
        name=_str(metadata.get("name")),
        node_name=_str(spec.get("nodeName")),
        phase=_str(status.get("phase")),
        status_text=columns.status,
        ready=(columns.ready, columns.total),
        restarts=columns.restarts,
        last_restart=columns.last_restart,
        qos_class=_str(status.get("qosClass")),
        owner=_owner(metadata),
        pod_ip=_str(status.get("podIP")),
        host_ip=_str(status.get("hostIP")),
        labels=_str_map(metadata.get("labels")),
        annotations=_str_map(metadata.get("annotations")),
        created=parse_time(metadata.get("creationTimestamp")),
        started=parse_time(status.get("startTime")),
        deletion_timestamp=parse_time(metadata.get("deletionTimestamp")),
        deletion_grace_seconds=_int_or_none(metadata.get("deletionGracePeriodSeconds")),
        containers=_containers(spec, status),
        conditions=conditions,
        reason=_str(status.get("reason")),
        message=_str(status.get("message")),
        priority_class=_str(spec.get("priorityClassName")),
        service_account=_str(spec.get("serviceAccountName")),
        restart_policy=_str(spec.get("restartPolicy")),
        resource_version=_str(metadata.get("resourceVersion")),
        manifest=pod,
    )


# ---------------------------------------------------------------- nodes


@dataclass(frozen=True)
class NodeResources:
    """A node's capacity or allocatable: the usual figures parsed, everything else kept as text."""

    cpu_m: int | None
    memory_bytes: int | None
    pods: int | None
    ephemeral_storage_bytes: int | None
    raw: dict[str, str]


def _node_resources(value: Any) -> NodeResources:
    raw = _str_map(value)
    return NodeResources(
        cpu_m=_quantity(cpu_millicores, raw.get("cpu")),
        memory_bytes=_quantity(memory_bytes, raw.get("memory")),
        pods=_quantity(count, raw.get("pods")),
        ephemeral_storage_bytes=_quantity(memory_bytes, raw.get("ephemeral-storage")),
        raw=raw,
    )


@dataclass(frozen=True)
class NodeCondition:
    type: str
    status: str
    reason: str
    message: str
    last_heartbeat: datetime | None
    last_transition: datetime | None


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class ApiNode:
    name: str
    uid: str
    labels: dict[str, str]
    annotations: dict[str, str]
    created: datetime | None
    roles: tuple[str, ...]
    ready: bool | None  # None when the node has no Ready condition yet
    unschedulable: bool
    conditions: tuple[NodeCondition, ...]
    capacity: NodeResources
    allocatable: NodeResources
    taints: tuple[Taint, ...]
    addresses: tuple[tuple[str, str], ...]  # (type, address)
    pod_cidrs: tuple[str, ...]
    kubelet_version: str
    container_runtime_version: str
    kernel_version: str
    os_image: str
    architecture: str
    operating_system: str
    resource_version: str
    manifest: dict = field(repr=False, compare=False)

    @property
    def internal_ip(self) -> str:
        return next((a for t, a in self.addresses if t == "InternalIP"), "")


def node_from_manifest(node: dict) -> ApiNode:
    node = _dict(node)
    metadata = _dict(node.get("metadata"))
    spec = _dict(node.get("spec"))
    status = _dict(node.get("status"))
    info = _dict(status.get("nodeInfo"))
    labels = _str_map(metadata.get("labels"))
    roles = sorted(
        key.split("/", 1)[1]
        for key in labels
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]
    )
    if not roles and labels.get("kubernetes.io/role"):
        roles = [labels["kubernetes.io/role"]]
    conditions = tuple(
        NodeCondition(_str(c.get("type")), _str(c.get("status")), _str(c.get("reason")), _str(c.get("message")),
                      parse_time(c.get("lastHeartbeatTime")), parse_time(c.get("lastTransitionTime")))
        for c in map(_dict, _list(status.get("conditions")))
    )
    ready_condition = next((c for c in conditions if c.type == "Ready"), None)
    cidrs = [c for c in _list(spec.get("podCIDRs")) if isinstance(c, str)]
    if not cidrs and _str(spec.get("podCIDR")):
        cidrs = [spec["podCIDR"]]
    return ApiNode(
        name=_str(metadata.get("name")),
        uid=_str(metadata.get("uid")),
        labels=labels,
        annotations=_str_map(metadata.get("annotations")),
        created=parse_time(metadata.get("creationTimestamp")),
        roles=tuple(roles),
        ready=None if ready_condition is None else ready_condition.status == "True",
        unschedulable=spec.get("unschedulable") is True,
        conditions=conditions,
        capacity=_node_resources(status.get("capacity")),
        allocatable=_node_resources(status.get("allocatable")),
        taints=tuple(
            Taint(_str(t.get("key")), _str(t.get("value")), _str(t.get("effect")))
            for t in map(_dict, _list(spec.get("taints")))
        ),
        addresses=tuple(
            (_str(a.get("type")), _str(a.get("address"))) for a in map(_dict, _list(status.get("addresses")))
        ),
        pod_cidrs=tuple(cidrs),
        kubelet_version=_str(info.get("kubeletVersion")),
        container_runtime_version=_str(info.get("containerRuntimeVersion")),
        kernel_version=_str(info.get("kernelVersion")),
        os_image=_str(info.get("osImage")),
        architecture=_str(info.get("architecture")),
        operating_system=_str(info.get("operatingSystem")),
        resource_version=_str(metadata.get("resourceVersion")),
        manifest=node,
    )


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class ApiEvent:
    type: str  # Normal | Warning
    reason: str
    message: str
    object_kind: str
    object_name: str
    object_namespace: str
    object_uid: str
    count: int
    first_time: datetime | None
    last_time: datetime | None
    source: str  # reporting component (and host), e.g. "kubelet, node-1"
    namespace: str
    name: str


def event_from_manifest(event: dict) -> ApiEvent:
    """A core/v1 Event; newer producers fill eventTime/series instead of the timestamps and count."""
    event = _dict(event)
    metadata = _dict(event.get("metadata"))
    involved = _dict(event.get("involvedObject"))
    series = _dict(event.get("series"))
    source = _dict(event.get("source"))
    event_time = parse_time(event.get("eventTime"))
    first = parse_time(event.get("firstTimestamp")) or event_time or parse_time(metadata.get("creationTimestamp"))
    last = (
        parse_time(series.get("lastObservedTime"))
        or parse_time(event.get("lastTimestamp"))
        or event_time
        or first
    )
    count_value = _int_or_none(series.get("count")) or _int_or_none(event.get("count")) or 1
    component = _str(source.get("component")) or _str(event.get("reportingComponent"))
    host = _str(source.get("host")) or _str(event.get("reportingInstance"))
    return ApiEvent(
        type=_str(event.get("type")),
        reason=_str(event.get("reason")),
        message=_str(event.get("message")),
        object_kind=_str(involved.get("kind")),
        object_name=_str(involved.get("name")),
        object_namespace=_str(involved.get("namespace")),
        object_uid=_str(involved.get("uid")),
        count=count_value,
        first_time=first,
        last_time=last,
        source=", ".join(p for p in (component, host) if p),
        namespace=_str(metadata.get("namespace")),
        name=_str(metadata.get("name")),
    )


def newest_first(events: list[ApiEvent]) -> list[ApiEvent]:
    def key(e: ApiEvent) -> float:
        return e.last_time.timestamp() if e.last_time else float("-inf")

    return sorted(events, key=key, reverse=True)


# ---------------------------------------------------------------- kubelet summary


@dataclass(frozen=True)
class UsageFigures:
    """CPU in cores (from nanocores) and memory in bytes, as the kubelet sampled them at `time`."""

    cpu_cores: float | None
    cpu_seconds_total: float | None
    memory_working_set_bytes: int | None
    memory_usage_bytes: int | None
    memory_rss_bytes: int | None
    time: datetime | None


@dataclass(frozen=True)
class ContainerStats:
    name: str
    usage: UsageFigures


@dataclass(frozen=True)
class PodStats:
    namespace: str
    name: str
    uid: str
    usage: UsageFigures
    containers: tuple[ContainerStats, ...]


@dataclass(frozen=True)
class NodeSummary:
    node_name: str
    usage: UsageFigures
    memory_available_bytes: int | None
    pods: tuple[PodStats, ...]

    def pod(self, uid: str) -> PodStats | None:
        return next((p for p in self.pods if p.uid == uid), None)


def _usage(cpu: Any, memory: Any) -> UsageFigures:
    cpu, memory = _dict(cpu), _dict(memory)
    nanocores = _int_or_none(cpu.get("usageNanoCores"))
    core_ns = _int_or_none(cpu.get("usageCoreNanoSeconds"))
    return UsageFigures(
        cpu_cores=None if nanocores is None else nanocores / 1e9,
        cpu_seconds_total=None if core_ns is None else core_ns / 1e9,
        memory_working_set_bytes=_int_or_none(memory.get("workingSetBytes")),
        memory_usage_bytes=_int_or_none(memory.get("usageBytes")),
        memory_rss_bytes=_int_or_none(memory.get("rssBytes")),
        time=parse_time(cpu.get("time")) or parse_time(memory.get("time")),
    )


def _sum_or_none(values: list) -> Any:
    return None if not values or any(v is None for v in values) else sum(values)


def summary_from_json(summary: dict) -> NodeSummary:
    """The kubelet's /stats/summary. Pods without their own cpu/memory block get the sum of their containers."""
    summary = _dict(summary)
    node = _dict(summary.get("node"))
    pods = []
    for p in map(_dict, _list(summary.get("pods"))):
        ref = _dict(p.get("podRef"))
        containers = tuple(
            ContainerStats(_str(c.get("name")), _usage(c.get("cpu"), c.get("memory")))
            for c in map(_dict, _list(p.get("containers")))
        )
        usage = _usage(p.get("cpu"), p.get("memory"))
        if usage.cpu_cores is None and usage.memory_working_set_bytes is None and containers:
            figures = [c.usage for c in containers]
            usage = UsageFigures(
                cpu_cores=_sum_or_none([f.cpu_cores for f in figures]),
                cpu_seconds_total=_sum_or_none([f.cpu_seconds_total for f in figures]),
                memory_working_set_bytes=_sum_or_none([f.memory_working_set_bytes for f in figures]),
                memory_usage_bytes=_sum_or_none([f.memory_usage_bytes for f in figures]),
                memory_rss_bytes=_sum_or_none([f.memory_rss_bytes for f in figures]),
                time=max((f.time for f in figures if f.time), default=None),
            )
        pods.append(PodStats(_str(ref.get("namespace")), _str(ref.get("name")), _str(ref.get("uid")), usage, containers))
    return NodeSummary(
        node_name=_str(node.get("nodeName")),
        usage=_usage(node.get("cpu"), node.get("memory")),
        memory_available_bytes=_int_or_none(_dict(node.get("memory")).get("availableBytes")),
        pods=tuple(pods),
    )
