"""CRI v1 client (RuntimeService and ImageService): typed results, deadlines, user-facing errors."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from n9s.pb import cri_pb2 as pb
from n9s.pb import cri_pb2_grpc as pb_grpc
from n9s.sources.rpc import RpcClient

SANDBOX_STATES = {0: "READY", 1: "NOTREADY"}
CONTAINER_STATES = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}


@dataclass(frozen=True)
class RuntimeVersion:
    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass(frozen=True)
class RuntimeCondition:
    type: str
    status: bool
    reason: str
    message: str


@dataclass(frozen=True)
class RuntimeStatus:
    conditions: tuple[RuntimeCondition, ...]
    info: dict[str, str] = field(default_factory=dict)

    def condition(self, kind: str) -> RuntimeCondition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    def config(self) -> dict[str, Any]:
        """The CRI plugin config from the verbose status (empty when not verbose or not JSON)."""
        return _json(self.info.get("config"))


@dataclass(frozen=True)
class PodSandbox:
    id: str
    name: str
    namespace: str
    uid: str
    attempt: int
    state: str
    created_at_ns: int
    labels: dict[str, str]
    annotations: dict[str, str]
    runtime_handler: str = ""


@dataclass(frozen=True)
class PodSandboxStatus:
    sandbox: PodSandbox
    ip: str
    additional_ips: tuple[str, ...]
    network_mode: str
    info: dict[str, Any]


@dataclass(frozen=True)
class Container:
    id: str
    pod_sandbox_id: str
    name: str
    attempt: int
    image: str
    image_ref: str
    state: str
    created_at_ns: int
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    readonly: bool


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    name: str
    attempt: int
    state: str
    created_at_ns: int
    started_at_ns: int
    finished_at_ns: int
    exit_code: int
    image: str
    image_ref: str
    reason: str
    message: str
    labels: dict[str, str]
    annotations: dict[str, str]
    mounts: tuple[Mount, ...]
    log_path: str
    memory_limit_bytes: int
    cpu_quota: int
    cpu_period: int
    info: dict[str, Any]

    @property
    def pid(self) -> int | None:
        pid = self.info.get("pid")
        return int(pid) if isinstance(pid, int) and pid > 0 else None

    @property
    def runtime_spec(self) -> dict[str, Any]:
        spec = self.info.get("runtimeSpec")
        return spec if isinstance(spec, dict) else {}


@dataclass(frozen=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int


@dataclass(frozen=True)
class Image:
    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int
    pinned: bool
    username: str


@dataclass(frozen=True)
class FilesystemUsage:
    mountpoint: str
    used_bytes: int | None
    inodes_used: int | None
    timestamp_ns: int


@dataclass(frozen=True)
class ContainerStats:
    id: str
    name: str
    timestamp_ns: int
    cpu_usage_ns: int | None
    memory_working_set_bytes: int | None
    memory_usage_bytes: int | None
    writable_layer_bytes: int | None


def _json(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _opt(msg: Any, name: str) -> int | None:
    return getattr(msg, name).value if msg.HasField(name) else None


def _sandbox(item: Any) -> PodSandbox:
    meta = item.metadata
    return PodSandbox(
        id=item.id,
        name=meta.name,
        namespace=meta.namespace,
        uid=meta.uid,
        attempt=meta.attempt,
        state=SANDBOX_STATES.get(item.state, str(item.state)),
        created_at_ns=item.created_at,
        labels=dict(item.labels),
        annotations=dict(item.annotations),
        runtime_handler=item.runtime_handler,
    )


def _container(item: Any) -> Container:
    return Container(
        id=item.id,
        pod_sandbox_id=item.pod_sandbox_id,
        name=item.metadata.name,
        attempt=item.metadata.attempt,
        image=item.image.image,
        image_ref=item.image_ref,
        state=CONTAINER_STATES.get(item.state, str(item.state)),
        created_at_ns=item.created_at,
        labels=dict(item.labels),
        annotations=dict(item.annotations),
    )


def _fs(usage: Any) -> FilesystemUsage:
    return FilesystemUsage(
        mountpoint=usage.fs_id.mountpoint,
        used_bytes=_opt(usage, "used_bytes"),
        inodes_used=_opt(usage, "inodes_used"),
        timestamp_ns=usage.timestamp,
    )


class CriClient(RpcClient):
    """The node's CRI endpoint. CRI calls need no containerd namespace header."""

    def _stubs_ready(self, channel) -> None:
        self._rt = pb_grpc.RuntimeServiceStub(channel)
        self._img = pb_grpc.ImageServiceStub(channel)

    @property
    def rt(self) -> pb_grpc.RuntimeServiceStub:
        self.channel
        return self._rt

    @property
    def img(self) -> pb_grpc.ImageServiceStub:
        self.channel
        return self._img

    # ---- runtime ----
    def version(self, *, timeout: float | None = None) -> RuntimeVersion:
        r = self.call("CRI Version", self.rt.Version, pb.VersionRequest(version="v1"), timeout=timeout)
        return RuntimeVersion(r.version, r.runtime_name, r.runtime_version, r.runtime_api_version)

    def status(self, verbose: bool = False) -> RuntimeStatus:
        r = self.call("CRI Status", self.rt.Status, pb.StatusRequest(verbose=verbose))
        conditions = tuple(RuntimeCondition(c.type, c.status, c.reason, c.message) for c in r.status.conditions)
        return RuntimeStatus(conditions, dict(r.info))

    # ---- sandboxes ----
    def list_pod_sandboxes(self) -> list[PodSandbox]:
        r = self.call("ListPodSandbox", self.rt.ListPodSandbox, pb.ListPodSandboxRequest())
        return [_sandbox(item) for item in r.items]

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = False) -> PodSandboxStatus:
        r = self.call(
            "PodSandboxStatus", self.rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        )
        s = r.status
        sandbox = PodSandbox(
            id=s.id,
            name=s.metadata.name,
            namespace=s.metadata.namespace,
            uid=s.metadata.uid,
            attempt=s.metadata.attempt,
            state=SANDBOX_STATES.get(s.state, str(s.state)),
            created_at_ns=s.created_at,
            labels=dict(s.labels),
            annotations=dict(s.annotations),
            runtime_handler=s.runtime_handler,
        )
        mode = pb.NamespaceMode.Name(s.linux.namespaces.options.network) if s.HasField("linux") else ""
        return PodSandboxStatus(
            sandbox=sandbox,
            ip=s.network.ip,
            additional_ips=tuple(ip.ip for ip in s.network.additional_ips),
            network_mode=mode,
            info=_json(r.info.get("info")),
        )

    def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self.call("StopPodSandbox", self.rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=60)

    def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self.call(
            "RemovePodSandbox", self.rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=60
        )

    # ---- containers ----
    def list_containers(self, pod_sandbox_id: str = "") -> list[Container]:
        request = pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=pod_sandbox_id))
        r = self.call("ListContainers", self.rt.ListContainers, request)
        return [_container(item) for item in r.containers]

    def container_status(self, container_id: str, verbose: bool = False) -> ContainerStatus:
        r = self.call(
            "ContainerStatus", self.rt.ContainerStatus, pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        )
        s = r.status
        res = s.resources.linux
        return ContainerStatus(
            id=s.id,
            name=s.metadata.name,
            attempt=s.metadata.attempt,
            state=CONTAINER_STATES.get(s.state, str(s.state)),
            created_at_ns=s.created_at,
            started_at_ns=s.started_at,
            finished_at_ns=s.finished_at,
            exit_code=s.exit_code,
            image=s.image.image,
            image_ref=s.image_ref,
            reason=s.reason,
            message=s.message,
            labels=dict(s.labels),
            annotations=dict(s.annotations),
            mounts=tuple(Mount(m.container_path, m.host_path, m.readonly) for m in s.mounts),
            log_path=s.log_path,
            memory_limit_bytes=res.memory_limit_in_bytes,
            cpu_quota=res.cpu_quota,
            cpu_period=res.cpu_period,
            info=_json(r.info.get("info")),
        )

    def stop_container(self, container_id: str, timeout_s: int) -> None:
        # The call blocks until the container is gone: allow the grace period plus a margin.
        self.call(
            "StopContainer",
            self.rt.StopContainer,
            pb.StopContainerRequest(container_id=container_id, timeout=max(0, int(timeout_s))),
            timeout=max(0, int(timeout_s)) + 15,
        )

    def remove_container(self, container_id: str) -> None:
        self.call("RemoveContainer", self.rt.RemoveContainer, pb.RemoveContainerRequest(container_id=container_id), timeout=60)

    def reopen_container_log(self, container_id: str) -> None:
        self.call("ReopenContainerLog", self.rt.ReopenContainerLog, pb.ReopenContainerLogRequest(container_id=container_id))

    # ---- exec ----
    def exec_sync(self, container_id: str, argv: list[str], timeout_s: int = 10) -> ExecResult:
        if isinstance(argv, str):  # a shell string built from user text is never accepted
            raise TypeError("exec_sync takes an argv list, not a string")
        r = self.call(
            "ExecSync",
            self.rt.ExecSync,
            pb.ExecSyncRequest(container_id=container_id, cmd=list(argv), timeout=int(timeout_s)),
            timeout=int(timeout_s) + 5 if timeout_s else None,
        )
        return ExecResult(r.stdout, r.stderr, r.exit_code)

    def exec_url(self, container_id: str, argv: list[str], *, tty: bool, stdin: bool) -> str:
        if isinstance(argv, str):
            raise TypeError("exec takes an argv list, not a string")
        request = pb.ExecRequest(
            container_id=container_id, cmd=list(argv), tty=tty, stdin=stdin, stdout=True, stderr=not tty
        )
        return self.call("Exec", self.rt.Exec, request).url

    def attach_url(self, container_id: str, *, tty: bool, stdin: bool) -> str:
        request = pb.AttachRequest(container_id=container_id, stdin=stdin, tty=tty, stdout=True, stderr=not tty)
        return self.call("Attach", self.rt.Attach, request).url

    # ---- stats ----
    def list_container_stats(self) -> list[ContainerStats]:
        r = self.call("ListContainerStats", self.rt.ListContainerStats, pb.ListContainerStatsRequest())
        out = []
        for s in r.stats:
            out.append(
                ContainerStats(
                    id=s.attributes.id,
                    name=s.attributes.metadata.name,
                    timestamp_ns=s.cpu.timestamp,
                    cpu_usage_ns=_opt(s.cpu, "usage_core_nano_seconds"),
                    memory_working_set_bytes=_opt(s.memory, "working_set_bytes"),
                    memory_usage_bytes=_opt(s.memory, "usage_bytes"),
                    writable_layer_bytes=_opt(s.writable_layer, "used_bytes"),
                )
            )
        return out

    # ---- images ----
    def list_images(self) -> list[Image]:
        r = self.call("ListImages", self.img.ListImages, pb.ListImagesRequest())
        return [
            Image(i.id, tuple(i.repo_tags), tuple(i.repo_digests), i.size, i.pinned, i.username) for i in r.images
        ]

    def image_status(self, ref: str, verbose: bool = False) -> tuple[Image | None, dict[str, Any]]:
        r = self.call("ImageStatus", self.img.ImageStatus, pb.ImageStatusRequest(image=pb.ImageSpec(image=ref), verbose=verbose))
        if not r.HasField("image") or not r.image.id:
            return None, {}
        i = r.image
        return Image(i.id, tuple(i.repo_tags), tuple(i.repo_digests), i.size, i.pinned, i.username), _json(r.info.get("info"))

    def image_fs_info(self) -> list[FilesystemUsage]:
        r = self.call("ImageFsInfo", self.img.ImageFsInfo, pb.ImageFsInfoRequest())
        return [_fs(u) for u in r.image_filesystems]
