"""Demo pods described as plain data, and the CRI requests a kubelet would send for them."""
from __future__ import annotations

import hashlib
import json
import socket
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from n9s.pb import cri_pb2
from n9s.sources.logs.paths import kubelet_log_name, kubelet_pod_log_dir

QOS_CLASSES = ("guaranteed", "burstable", "besteffort")
CPU_PERIOD_US = 100_000
TERMINATION_GRACE_SECONDS = 30
FOREVER = "2147483647"  # seconds; busybox sleep has no "infinity"


@dataclass
class ContainerSpec:
    name: str
    command: list[str]
    memory_limit_bytes: int | None = None
    cpu_quota_millicores: int | None = None
    tty: bool = False
    attempt: int = 0


@dataclass
class PodSpec:
    name: str
    namespace: str
    containers: list[ContainerSpec]
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    qos: str = "burstable"
    static: bool = False
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.qos not in QOS_CLASSES:
            raise ValueError(f"pod {self.namespace}/{self.name}: qos must be one of {', '.join(QOS_CLASSES)}, "
                             f"not {self.qos!r}")
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise ValueError(f"pod {self.namespace}/{self.name}: container names repeat: {names}")

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def cgroup_parent(self) -> str:
        """The pod cgroup a kubelet with the cgroupfs driver uses for this QoS class."""
        if self.qos == "guaranteed":
            return f"/kubepods/pod{self.uid}"
        return f"/kubepods/{self.qos}/pod{self.uid}"

    def log_directory(self, pods_dir: Path) -> Path:
        return Path(kubelet_pod_log_dir(str(pods_dir), self.namespace, self.name, self.uid))


def static_pod_uid(name: str, namespace: str, manifest: str) -> str:
    """Static pods have no API-server UID; the kubelet uses a hash of the manifest (32 hex digits) instead.
    A random salt stands in for the node's own data, so two demo nodes never share a pod cgroup."""
    return hashlib.md5(f"{namespace}/{name}\n{manifest}\n{uuid.uuid4()}".encode()).hexdigest()


def _now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pod_identity_labels(spec: PodSpec) -> dict[str, str]:
    return {
        "io.kubernetes.pod.name": spec.name,
        "io.kubernetes.pod.namespace": spec.namespace,
        "io.kubernetes.pod.uid": spec.uid,
    }


def sandbox_config(spec: PodSpec, pods_dir: Path) -> cri_pb2.PodSandboxConfig:
    annotations = dict(spec.annotations)
    annotations.setdefault("kubernetes.io/config.source", "file" if spec.static else "api")
    annotations.setdefault("kubernetes.io/config.seen", _now_rfc3339())
    if spec.static:
        annotations.setdefault("kubernetes.io/config.hash", spec.uid)
    labels = {**spec.labels, **_pod_identity_labels(spec)}
    namespaces = cri_pb2.NamespaceOption(network=cri_pb2.NODE, pid=cri_pb2.CONTAINER, ipc=cri_pb2.POD)
    # No hostname: with the node's network (and so UTS) namespace, setting one is refused.
    return cri_pb2.PodSandboxConfig(
        metadata=cri_pb2.PodSandboxMetadata(name=spec.name, uid=spec.uid, namespace=spec.namespace,
                                            attempt=spec.attempt),
        log_directory=str(spec.log_directory(pods_dir)),
        labels=labels,
        annotations=annotations,
        linux=cri_pb2.LinuxPodSandboxConfig(
            cgroup_parent=spec.cgroup_parent,
            security_context=cri_pb2.LinuxSandboxSecurityContext(namespace_options=namespaces),
        ),
    )


def container_hash(container: ContainerSpec) -> str:
    """A stable hex hash of the container spec, like the kubelet's io.kubernetes.container.hash."""
    blob = json.dumps([container.name, container.command, container.memory_limit_bytes,
                       container.cpu_quota_millicores, container.tty], sort_keys=True)
    return format(zlib.crc32(blob.encode()), "x")


def container_resources(container: ContainerSpec) -> cri_pb2.LinuxContainerResources:
    resources = cri_pb2.LinuxContainerResources(cpu_shares=2)
    if container.cpu_quota_millicores is not None:
        resources.cpu_period = CPU_PERIOD_US
        resources.cpu_quota = container.cpu_quota_millicores * CPU_PERIOD_US // 1000
        resources.cpu_shares = max(2, container.cpu_quota_millicores * 1024 // 1000)
    if container.memory_limit_bytes is not None:
        resources.memory_limit_in_bytes = container.memory_limit_bytes
    return resources


def container_config(spec: PodSpec, container: ContainerSpec, image_ref: str) -> cri_pb2.ContainerConfig:
    labels = {**_pod_identity_labels(spec), "io.kubernetes.container.name": container.name}
    annotations = {
        "io.kubernetes.container.hash": container_hash(container),
        "io.kubernetes.container.restartCount": str(container.attempt),
        "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
        "io.kubernetes.container.terminationMessagePolicy": "File",
        "io.kubernetes.pod.terminationGracePeriod": str(TERMINATION_GRACE_SECONDS),
    }
    namespaces = cri_pb2.NamespaceOption(network=cri_pb2.NODE, pid=cri_pb2.CONTAINER, ipc=cri_pb2.POD)
    return cri_pb2.ContainerConfig(
        metadata=cri_pb2.ContainerMetadata(name=container.name, attempt=container.attempt),
        image=cri_pb2.ImageSpec(image=image_ref),
        command=list(container.command),
        labels=labels,
        annotations=annotations,
        log_path=kubelet_log_name(container.name, container.attempt),
        stdin=container.tty,
        tty=container.tty,
        linux=cri_pb2.LinuxContainerConfig(
            resources=container_resources(container),
            security_context=cri_pb2.LinuxContainerSecurityContext(namespace_options=namespaces),
        ),
    )


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


LOGGER_SCRIPT = (
    'i=0; while :; do i=$((i+1)); echo "request $i served"; '
    'if [ $((i % 5)) -eq 2 ]; then echo "warning: slow request $i" >&2; fi; sleep 1; done'
)
MEM_SCRIPT = (
    "dd if=/dev/zero of=/dev/shm/ballast bs=1048576 count=48 2>/dev/null; "
    f"echo holding 48 MiB in /dev/shm; exec sleep {FOREVER}"
)
GRACEFUL_SCRIPT = 'trap "echo got TERM; exit 42" TERM; echo waiting for TERM; while :; do sleep 1; done'
ETCD_SCRIPT = f"echo 'etcd (pretend) ready to serve client requests'; exec sleep {FOREVER}"

MIB = 1024 * 1024


def default_pods(http_port: int | None = None) -> list[PodSpec]:
    """The demo set: a web pod with two containers, a CPU burner, a memory holder, a crasher, a pod that exits 42
    on SIGTERM, and a static pod. The web server listens on 127.0.0.1 at `http_port` (a free port if None)."""
    port = http_port or free_tcp_port()
    etcd_manifest = "etcd: pretend control-plane member"
    return [
        PodSpec(
            name="web", namespace="default",
            labels={"app": "web", "tier": "frontend"},
            annotations={"n9s.demo/http-port": str(port)},
            containers=[
                ContainerSpec("server", ["httpd", "-f", "-v", "-p", f"127.0.0.1:{port}", "-h", "/var/www"],
                              memory_limit_bytes=64 * MIB),
                ContainerSpec("logger", _sh(LOGGER_SCRIPT)),
            ],
        ),
        PodSpec(name="burn", namespace="demo", labels={"app": "burn"}, qos="besteffort",
                containers=[ContainerSpec("burner", _sh("while :; do :; done"))]),
        PodSpec(name="mem", namespace="demo", labels={"app": "mem"}, qos="guaranteed",
                containers=[ContainerSpec("holder", _sh(MEM_SCRIPT), memory_limit_bytes=256 * MIB,
                                          cpu_quota_millicores=100)]),
        PodSpec(name="crash", namespace="demo", labels={"app": "crash"},
                containers=[ContainerSpec("failing", _sh("echo 'starting up... giving up'; exit 3"))]),
        PodSpec(name="graceful", namespace="demo", labels={"app": "graceful"},
                containers=[ContainerSpec("trapper", _sh(GRACEFUL_SCRIPT))]),
        PodSpec(
            name="etcd-n9s-demo", namespace="kube-system", static=True,
            uid=static_pod_uid("etcd-n9s-demo", "kube-system", etcd_manifest),
            labels={"component": "etcd", "tier": "control-plane"},
            annotations={"kubernetes.io/config.source": "file"},
            containers=[ContainerSpec("etcd", _sh(ETCD_SCRIPT))],
        ),
    ]
