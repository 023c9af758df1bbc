"""One fixed node picture and a picture source that serves it: the screens drawn the same on every run and every
machine (the snapshot tests, scripts/screenshots).

Seven pods that fill every column: running containers with limits and without, a throttled one, an OOM kill and
its restart, a crash loop, a finished job, a static pod and a pod the API does not know. Host name, versions and
paths are the picture's own; ages are measured against ``FIXED_NOW`` (hold ``n9s.core.clock`` there). The detail's
status facts, processes and execs come from here too, never from this machine. Headless.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from n9s.model.api_side import ApiSnapshot
from n9s.model.joins import build_pods
from n9s.model.kube_join import join_api
from n9s.model.picture import (
    ContainerRow,
    ExecRow,
    FilesystemRow,
    Figures,
    NodeInfo,
    NodePicture,
    SourceHealth,
)
from n9s.model.seams import PictureSource
from n9s.sources.cri import PodSandbox
from n9s.sources.kube.objects import event_from_manifest, node_from_manifest, pod_from_manifest
from n9s.sources.procs import ProcessRow

FIXED_NOW = 1_714_564_800.0  # 2024-05-01 12:00:00 UTC
HOSTNAME = "node-1"
PODS_DIR = "/var/log/pods"
MIB = 1024 * 1024
GIB = 1024 * MIB


def _id(*parts: str) -> str:
    """A container or sandbox id as the runtime makes them (64 hex digits), the same on every run."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _uid(*parts: str) -> str:
    h = _id("uid", *parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _ns_ago(seconds: float) -> int:
    return int((FIXED_NOW - seconds) * 1_000_000_000)


def _rfc3339(seconds_ago: float) -> str:
    moment = datetime.fromtimestamp(FIXED_NOW - seconds_ago, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# (namespace, name, age in seconds, sandbox state, static)
PODS = (
    ("default", "web", 3 * 86400 + 7200, "READY", False),
    ("demo", "burn", 5400, "READY", False),
    ("demo", "hog", 2400, "READY", False),
    ("demo", "crash", 1800, "READY", False),
    ("demo", "stray", 420, "READY", False),
    ("batch", "report-28591", 7 * 3600, "NOTREADY", False),
    ("kube-system", "etcd-node-1", 12 * 86400, "READY", True),
)


def _figures(cores: float, working_set: int, limit: int | None, *, pids: int, throttled: int = 0,
             periods: int = 0, recently: bool = False, ooms: int = 0) -> Figures:
    return Figures(
        cpu_cores=cores, cpu_usage_ns=int((cores or 0) * 3_600e9), cpu_nr_periods=periods,
        cpu_nr_throttled=throttled, cpu_throttled_ns=throttled * 4_000_000,
        throttled_recently=recently, memory_working_set_bytes=working_set,
        memory_usage_bytes=working_set + 3 * MIB, memory_limit_bytes=limit, memory_unlimited=limit is None,
        pids_current=pids, oom_kills=ooms,
    )


GONE = Figures()  # an exited container has no cgroup left to read

# (pod name, container, attempt, state, exit code, reason, age, image, figures, pid)
CONTAINERS = (
    ("web", "server", 0, "RUNNING", None, "", 3 * 86400 + 7190, "registry.example/web:2.4.1",
     _figures(0.012, 48 * MIB, 128 * MIB, pids=4), 24811),
    ("web", "logger", 0, "RUNNING", None, "", 3 * 86400 + 7190, "registry.example/fluent-bit:3.0",
     _figures(0.0009, 6 * MIB, None, pids=1), 24830),
    ("burn", "burner", 0, "RUNNING", None, "", 5390, "busybox:1.36",
     _figures(0.498, 8 * MIB, 32 * MIB, pids=2, throttled=1320, periods=2400, recently=True), 25102),
    ("hog", "hog", 0, "EXITED", 137, "OOMKilled", 2390, "busybox:1.36", GONE, None),
    ("hog", "hog", 1, "RUNNING", None, "", 600, "busybox:1.36",
     _figures(0.231, 250 * MIB, 256 * MIB, pids=3, ooms=1), 25377),
    ("crash", "failing", 3, "EXITED", 1, "Error", 95, "busybox:1.36", GONE, None),
    ("stray", "sleeper", 0, "RUNNING", None, "", 410, "busybox:1.36",
     _figures(0.0, 512 * 1024, 16 * MIB, pids=1), 25501),
    ("report-28591", "work", 0, "EXITED", 0, "Completed", 7 * 3600 - 10, "registry.example/report:1.0",
     GONE, None),
    ("etcd-node-1", "etcd", 0, "RUNNING", None, "", 12 * 86400 - 30, "registry.k8s.io/etcd:3.5.12-0",
     _figures(0.087, 96 * MIB, None, pids=14), 1288),
)

HISTORY = {  # the sparklines of the detail view
    "server": ((0.008, 0.01, 0.011, 0.016, 0.013, 0.012), (44 * MIB, 45 * MIB, 47 * MIB, 48 * MIB)),
    "burner": ((0.49, 0.5, 0.5, 0.498), (8 * MIB, 8 * MIB)),
}


def _sandboxes() -> list[PodSandbox]:
    out = []
    for namespace, name, age, state, static in PODS:
        labels = {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                  "io.kubernetes.pod.uid": _uid(namespace, name), "app": name.split("-")[0]}
        source = "file" if static else "api"
        out.append(PodSandbox(_id("sandbox", namespace, name), name, namespace, _uid(namespace, name), 0, state,
                              _ns_ago(age), labels, {"kubernetes.io/config.source": source}))
    return out


def log_path(namespace: str, pod: str, container: str, attempt: int = 0, pods_dir: str = PODS_DIR) -> str:
    """Where the kubelet keeps that container's log."""
    return f"{pods_dir}/{namespace}_{pod}_{_uid(namespace, pod)}/{container}/{attempt}.log"


def _containers(pods_dir: str) -> list[ContainerRow]:
    namespace_of = {name: namespace for namespace, name, *_ in PODS}
    rows = []
    for pod, name, attempt, state, exit_code, reason, age, image, figures, pid in CONTAINERS:
        namespace = namespace_of[pod]
        cid = _id("container", namespace, pod, name, str(attempt))
        cpu_history, memory_history = HISTORY.get(name, ((), ()))
        rows.append(ContainerRow(
            id=cid, sandbox_id=_id("sandbox", namespace, pod), name=name, attempt=attempt, image=image,
            image_ref="sha256:" + _id("image", image), state=state, created_at_ns=_ns_ago(age),
            namespace=namespace, pod_name=pod, pod_uid=_uid(namespace, pod),
            labels={"io.kubernetes.container.name": name, "io.kubernetes.pod.name": pod,
                    "io.kubernetes.pod.namespace": namespace},
            annotations={"io.kubernetes.container.restartCount": str(attempt),
                         "io.kubernetes.container.terminationMessagePath": "/dev/termination-log"},
            restarts=attempt, pid=pid, task_status="RUNNING" if state == "RUNNING" else "STOPPED",
            exit_code=exit_code, reason=reason, finished_at_ns=_ns_ago(age - 20) if state == "EXITED" else 0,
            log_path=log_path(namespace, pod, name, attempt, pods_dir),
            cgroup_path=f"/kubepods.slice/kubepods-pod{_uid(namespace, pod).replace('-', '_')}.slice/"
                        f"cri-containerd-{cid}.scope",
            figures=figures, cpu_history=cpu_history, memory_history=memory_history,
        ))
    return rows


def _api_container(name: str, image: str, state: dict, *, restarts: int = 0, ready: bool = True,
                   resources: dict | None = None) -> tuple[dict, dict]:
    spec = {"name": name, "image": image, "resources": resources or {}}
    status = {"name": name, "image": image, "ready": ready, "restartCount": restarts, "state": state,
              "started": ready}
    return spec, status


def _api_pod(namespace: str, name: str, phase: str, containers: list[tuple[dict, dict]], *, age: float,
             mirror: bool = False) -> Any:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": _uid(namespace, name),
                                "creationTimestamp": _rfc3339(age), "resourceVersion": "1",
                                "labels": {"app": name.split("-")[0]}}
    if mirror:
        metadata["annotations"] = {"kubernetes.io/config.mirror": _id("mirror", name)[:32]}
    return pod_from_manifest({
        "metadata": metadata,
        "spec": {"nodeName": HOSTNAME, "containers": [spec for spec, _ in containers]},
        "status": {"phase": phase, "containerStatuses": [status for _, status in containers],
                   "startTime": _rfc3339(age)},
    })


def _running(age: float) -> dict:
    return {"running": {"startedAt": _rfc3339(age)}}


def _api_snapshot() -> ApiSnapshot:
    small = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    pods = [
        _api_pod("default", "web", "Running", [
            _api_container("server", "registry.example/web:2.4.1", _running(3 * 86400), resources=small),
            _api_container("logger", "registry.example/fluent-bit:3.0", _running(3 * 86400),
                           resources={"requests": {"cpu": "10m", "memory": "16Mi"}}),
        ], age=3 * 86400 + 7200),
        _api_pod("demo", "burn", "Running", [
            _api_container("burner", "busybox:1.36", _running(5390),
                           resources={"requests": {"cpu": "250m", "memory": "16Mi"},
                                      "limits": {"cpu": "500m", "memory": "32Mi"}}),
        ], age=5400),
        _api_pod("demo", "hog", "Running", [
            _api_container("hog", "busybox:1.36", _running(600), restarts=1,
                           resources={"requests": {"cpu": "50m", "memory": "256Mi"},
                                      "limits": {"memory": "256Mi"}}),
        ], age=2400),
        _api_pod("demo", "crash", "Running", [
            _api_container("failing", "busybox:1.36", {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3,
                           ready=False, resources={"requests": {"cpu": "10m", "memory": "8Mi"}}),
        ], age=1800),
        _api_pod("batch", "report-28591", "Succeeded", [
            _api_container("work", "registry.example/report:1.0",
                           {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": _rfc3339(7 * 3600),
                                           "finishedAt": _rfc3339(7 * 3600 - 20)}}, ready=False),
        ], age=7 * 3600),
        _api_pod("kube-system", "etcd-node-1", "Running", [
            _api_container("etcd", "registry.k8s.io/etcd:3.5.12-0", _running(12 * 86400),
                           resources={"requests": {"cpu": "100m", "memory": "100Mi"}}),
        ], age=12 * 86400, mirror=True),
    ]
    node = node_from_manifest({
        "metadata": {"name": HOSTNAME, "uid": _uid("node", HOSTNAME), "creationTimestamp": _rfc3339(90 * 86400),
                     "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            ],
            "allocatable": {"cpu": "4", "memory": "15Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.30.2", "containerRuntimeVersion": "containerd://1.7.22"},
        },
    })
    events = tuple(event_from_manifest({
        "metadata": {"namespace": "demo", "name": f"{pod}.{reason.lower()}"}, "type": "Warning", "reason": reason,
        "message": message, "involvedObject": {"kind": "Pod", "namespace": "demo", "name": pod},
        "lastTimestamp": _rfc3339(ago), "count": count, "source": {"component": "kubelet", "host": HOSTNAME},
    }) for pod, reason, message, ago, count in (
        ("crash", "BackOff", "Back-off restarting failed container failing in pod crash_demo", 40, 12),
        ("hog", "OOMKilling", "Memory cgroup out of memory: Killed process 25301 (hog)", 610, 1),
    ))
    return ApiSnapshot(state="ok", message="", since=None, node_name=HOSTNAME, synced=True,
                       pods={p.uid: p for p in pods}, node=node, events=events)


def fixed_picture(pods_dir: str = PODS_DIR) -> NodePicture:
    """The picture; ``pods_dir`` is where its containers' log files are said to be."""
    api = _api_snapshot()
    containers = _containers(pods_dir)
    pods = join_api(build_pods(_sandboxes(), containers), api)
    node = NodeInfo(
        hostname=HOSTNAME, runtime_name="containerd", runtime_version="v1.7.22", runtime_api_version="v1",
        containerd_version="v1.7.22", conditions=(("RuntimeReady", True, "", ""), ("NetworkReady", True, "", "")),
        cpu_count=4, cpu_percent=23.5, memory_total_bytes=16 * GIB, memory_available_bytes=10 * GIB + 512 * MIB,
        load=(0.92, 0.71, 0.64), uptime_s=41 * 86400 + 5 * 3600,
        filesystems=(
            FilesystemRow("containerd root", "/var/lib/containerd", 100 * GIB, 61 * GIB, 6_553_600, 6_100_000),
            FilesystemRow("pod logs", pods_dir, 100 * GIB, 61 * GIB, 6_553_600, 6_100_000),
        ),
        snapshotter="overlayfs", cgroup_mode="v2 (systemd)", containerd_root="/var/lib/containerd",
        pods_dir=pods_dir,
    )
    health = tuple(SourceHealth(name) for name in ("runtime", "containerd", "cgroups", "api"))
    return NodePicture(taken_at=FIXED_NOW, node=node, pods=tuple(pods), containers=tuple(containers),
                       health=health, api=api)


class _FixedStatus:
    """The verbose CRI status the detail view asks for, made from the picture."""

    def __init__(self, picture: NodePicture) -> None:
        self._picture = picture

    def container_status(self, container_id: str, verbose: bool = False) -> Any:
        row = self._picture.container(container_id)
        if row is None:
            from n9s.sources.errors import NotFound

            raise NotFound(f"container {container_id[:13]} not found")
        pod_dir = f"/var/lib/kubelet/pods/{row.pod_uid}"
        mounts = (
            SimpleNamespace(container_path="/etc/hosts", host_path=f"{pod_dir}/etc-hosts", readonly=False),
            SimpleNamespace(container_path="/dev/termination-log",
                            host_path=f"{pod_dir}/containers/{row.name}/{row.id[:8]}", readonly=False),
            SimpleNamespace(container_path="/var/run/secrets/kubernetes.io/serviceaccount",
                            host_path=f"{pod_dir}/volumes/kubernetes.io~projected/kube-api-access-x7k2p",
                            readonly=True),
        )
        return SimpleNamespace(mounts=mounts, info={"snapshotKey": row.id, "snapshotter": "overlayfs"},
                               log_path=row.log_path, pid=row.pid, state=row.state, exit_code=row.exit_code or 0,
                               reason=row.reason, finished_at_ns=row.finished_at_ns, runtime_spec={})


class FixedPictureSource(PictureSource):
    """Serves ``fixed_picture()`` on every refresh, with the detail view's facts (status, processes, execs)."""

    def __init__(self, picture: NodePicture | None = None) -> None:
        self.picture = picture if picture is not None else fixed_picture()
        self._status = _FixedStatus(self.picture)

    @property
    def cri(self) -> Any:
        return self._status

    def refresh(self, *, snapshots: bool = False, images: bool = False, tasks: bool = False,
                container_stats: bool = True, pod_stats: bool = True, relist: bool = False,
                interval_s: float | None = None) -> NodePicture:
        return self.picture

    def full_figures(self, container_id: str) -> Figures | None:
        row = self.picture.container(container_id)
        if row is None or row.state != "RUNNING":
            return None
        f = row.figures
        ws = f.memory_working_set_bytes or 0
        return replace(f, memory_rss_bytes=ws * 3 // 4, memory_cache_bytes=ws // 4, pids_max=f.pids_current and 256,
                       io_read_bytes=12 * MIB, io_write_bytes=340 * 1024,
                       psi={"cpu.some": 0.42, "memory.some": 0.0, "memory.full": 0.0, "io.some": 0.05,
                            "io.full": 0.0})

    def processes(self, pid: int) -> list[ProcessRow]:
        row = next((c for c in self.picture.containers if c.pid == pid), None)
        if row is None:
            return []
        first = ProcessRow(pid=pid, ppid=pid - 20, user="root", cpu_percent=0.8, rss_bytes=9 * MIB,
                           command=f"/usr/local/bin/{row.name} --config /etc/{row.name}/config.yaml", depth=0)
        workers = [ProcessRow(pid=pid + n, ppid=pid, user="nobody", cpu_percent=0.2 * n, rss_bytes=(12 + n) * MIB,
                              command=f"{row.name}: worker process", depth=1) for n in (1, 2)]
        return [first, *workers]

    def execs_of(self, container_id: str) -> tuple[ExecRow, ...]:
        row = self.picture.container(container_id)
        if row is None or row.pid is None or row.name != "server":
            return ()
        return (ExecRow(container_id, "7f3c9a1e0b2d4c6a8e5f", row.pid + 100, "sh", FIXED_NOW - 300, "n9s"),
                ExecRow(container_id, "probe-3b1e", row.pid + 140, "wget -q -O- localhost:8080/healthz",
                        FIXED_NOW - 2, ""))
