"""Builders for realistic v1 objects (Pod with status, Node, Event, kubelet stats summary) as plain dicts.

They produce what an API server would return, so the same dicts can seed the fake server and
feed pure tests. Containers are given either with `container(...)` (spec and status together)
or as a plain v1 Container spec dict, whose status is then derived from the pod phase.
"""
from __future__ import annotations

import copy
import hashlib
import uuid as uuidlib
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_uid(*parts: str) -> str:
    """A uid derived from names, so fixtures are reproducible."""
    return str(uuidlib.UUID(hashlib.sha1("/".join(parts).encode()).hexdigest()[:32]))


def container(
    name: str,
    image: str = "registry.k8s.io/pause:3.9",
    *,
    state: str = "running",
    reason: str | None = None,
    message: str | None = None,
    exit_code: int = 0,
    signal: int | None = None,
    ready: bool | None = None,
    started: bool | None = None,
    restarts: int = 0,
    last_terminated: dict | None = None,
    requests: dict | None = None,
    limits: dict | None = None,
    restart_policy: str | None = None,
    container_id: str | None = None,
    ports: list[dict] | None = None,
    started_at: datetime = EPOCH,
    finished_at: datetime | None = None,
) -> dict:
    """One container, spec and status. state: running | waiting | terminated.

    last_terminated: {"reason": "OOMKilled", "exit_code": 137, "finished_at": datetime} becomes lastState.
    """
    spec: dict[str, Any] = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if requests or limits:
        spec["resources"] = {}
        if requests:
            spec["resources"]["requests"] = dict(requests)
        if limits:
            spec["resources"]["limits"] = dict(limits)
            spec["resources"].setdefault("requests", dict(limits))  # the API defaults requests to limits
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if ports:
        spec["ports"] = list(ports)
    if state == "running":
        state_dict: dict[str, Any] = {"running": {"startedAt": ts(started_at)}}
    elif state == "waiting":
        state_dict = {"waiting": {"reason": reason or "ContainerCreating"}}
        if message:
            state_dict["waiting"]["message"] = message
    elif state == "terminated":
        term: dict[str, Any] = {
            "exitCode": exit_code,
            "startedAt": ts(started_at),
            "finishedAt": ts(finished_at or started_at + timedelta(seconds=30)),
        }
        if reason is not None:
            term["reason"] = reason
        if signal is not None:
            term["signal"] = signal
        if message:
            term["message"] = message
        state_dict = {"terminated": term}
    else:
        raise ValueError(f"unknown container state {state!r}")
    status: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
        "ready": (state == "running") if ready is None else ready,
        "restartCount": restarts,
        "state": state_dict,
        "lastState": {},
        "started": (state == "running") if started is None else started,
    }
    if state != "waiting" or restarts:
        status["containerID"] = container_id or "containerd://" + hashlib.sha256(f"{name}/{restarts}".encode()).hexdigest()
    if last_terminated:
        status["lastState"] = {
            "terminated": {
                "exitCode": last_terminated.get("exit_code", 1),
                "reason": last_terminated.get("reason", "Error"),
                "startedAt": ts(last_terminated.get("started_at", EPOCH)),
                "finishedAt": ts(last_terminated.get("finished_at", EPOCH + timedelta(minutes=1))),
            }
        }
    return {"spec": spec, "status": status}


def _derived(spec: dict, phase: str, init: bool, has_init: bool = False) -> dict:
    """A container() for a plain spec, consistent with the pod phase."""
    name, image = spec["name"], spec.get("image", "")
    res = spec.get("resources") or {}
    common = dict(requests=res.get("requests"), limits=res.get("limits"), restart_policy=spec.get("restartPolicy"),
                  ports=spec.get("ports"))
    if init and spec.get("restartPolicy") != "Always" and phase != "Pending":
        made = container(name, image, state="terminated", reason="Completed", exit_code=0, **common)
    elif phase == "Running":
        made = container(name, image, **common)
    elif phase == "Succeeded":
        made = container(name, image, state="terminated", reason="Completed", exit_code=0, **common)
    elif phase == "Failed":
        made = container(name, image, state="terminated", reason="Error", exit_code=1, **common)
    else:
        waiting = "PodInitializing" if init or has_init else "ContainerCreating"
        made = container(name, image, state="waiting", reason=waiting, **common)
    made["spec"] = {**copy.deepcopy(spec), **{k: v for k, v in made["spec"].items() if k not in spec}}
    return made


def _qos(containers: list[dict]) -> str:
    specs = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in specs):
        return "BestEffort"
    for r in specs:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for res in ("cpu", "memory"):
            if res not in limits or requests.get(res, limits[res]) != limits[res]:
                return "Burstable"
    return "Guaranteed"


def pod_manifest(
    namespace: str,
    name: str,
    uid: str | None = None,
    node: str = "node-1",
    containers: list[dict] | None = None,
    *,
    init_containers: list[dict] | None = None,
    phase: str = "Running",
    reason: str | None = None,
    message: str | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
    owner: tuple[str, str] | None = None,
    pod_ip: str | None = "10.244.0.10",
    host_ip: str = "192.168.1.10",
    created: datetime = EPOCH,
    deletion_timestamp: datetime | None = None,
    deletion_grace_seconds: int | None = None,
    conditions: list[dict] | None = None,
    restart_policy: str = "Always",
    termination_grace_seconds: int = 30,
    priority_class: str | None = None,
    service_account: str = "default",
) -> dict:
    """A v1 Pod as the API returns it. owner: ("ReplicaSet", "web-7d9f") for instance."""
    uid = uid or stable_uid(namespace, name)
    made = [c if "spec" in c and "status" in c else _derived(c, phase, False, bool(init_containers))
            for c in (containers or [container("app")])]
    made_init = [c if "spec" in c and "status" in c else _derived(c, phase, True) for c in (init_containers or [])]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "resourceVersion": "1",
        "creationTimestamp": ts(created),
        "labels": dict(labels or {"app": name}),
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner:
        metadata["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": stable_uid(namespace, *owner),
            "controller": True, "blockOwnerDeletion": True,
        }]
    if deletion_timestamp:
        metadata["deletionTimestamp"] = ts(deletion_timestamp)
        metadata["deletionGracePeriodSeconds"] = deletion_grace_seconds if deletion_grace_seconds is not None else 30
    spec: dict[str, Any] = {
        "containers": [c["spec"] for c in made],
        "nodeName": node,
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": termination_grace_seconds,
        "serviceAccountName": service_account,
        "schedulerName": "default-scheduler",
        "dnsPolicy": "ClusterFirst",
    }
    if made_init:
        spec["initContainers"] = [c["spec"] for c in made_init]
    if priority_class:
        spec["priorityClassName"] = priority_class
    all_ready = all(c["status"]["ready"] for c in made)
    init_done = all(
        c["status"]["state"].get("terminated", {}).get("exitCode", 1) == 0
        or (c["spec"].get("restartPolicy") == "Always" and c["status"].get("started"))
        for c in made_init
    )
    if conditions is None:
        when = ts(created + timedelta(seconds=5))
        conditions = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": when},
            {"type": "Initialized", "status": "True" if init_done else "False", "lastTransitionTime": when},
            {"type": "Ready", "status": "True" if all_ready else "False", "lastTransitionTime": when},
            {"type": "ContainersReady", "status": "True" if all_ready else "False", "lastTransitionTime": when},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(created)},
        ]
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": ts(created + timedelta(seconds=1)),
        "containerStatuses": [c["status"] for c in made],
        "qosClass": _qos([c["spec"] for c in made + made_init]),
    }
    if made_init:
        status["initContainerStatuses"] = [c["status"] for c in made_init]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def node_manifest(
    name: str = "node-1",
    *,
    ready: bool = True,
    cpu: str = "2",
    memory: str = "4026532Ki",
    pods: str = "110",
    ephemeral_storage: str = "61255492Ki",
    allocatable_cpu: str | None = None,
    allocatable_memory: str | None = None,
    taints: list[dict] | None = None,
    labels: dict | None = None,
    roles: tuple[str, ...] = ("control-plane",),
    unschedulable: bool = False,
    internal_ip: str = "192.168.1.10",
    hostname_label: str | None = None,
    kubelet_version: str = "v1.30.2",
    runtime_version: str = "containerd://1.7.20",
    kernel_version: str = "6.1.0-21-amd64",
    os_image: str = "Debian GNU/Linux 12 (bookworm)",
    architecture: str = "amd64",
    created: datetime = EPOCH - timedelta(days=3),
) -> dict:
    all_labels = {
        "kubernetes.io/hostname": hostname_label or name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": architecture,
        **{f"node-role.kubernetes.io/{r}": "" for r in roles},
        **(labels or {}),
    }
    heartbeat = ts(EPOCH)
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m,
         "lastHeartbeatTime": heartbeat, "lastTransitionTime": ts(created)}
        for t, r, m in (
            ("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append({
        "type": "Ready", "status": "True" if ready else "Unknown",
        "reason": "KubeletReady" if ready else "NodeStatusUnknown",
        "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
        "lastHeartbeatTime": heartbeat, "lastTransitionTime": ts(created),
    })
    spec: dict[str, Any] = {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}
    if taints:
        spec["taints"] = list(taints)
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name, "uid": stable_uid("node", name), "resourceVersion": "1",
            "creationTimestamp": ts(created), "labels": all_labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": spec,
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": ephemeral_storage},
            "allocatable": {
                "cpu": allocatable_cpu or cpu, "memory": allocatable_memory or memory, "pods": pods,
                "ephemeral-storage": ephemeral_storage,
            },
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "kubeletVersion": kubelet_version, "kubeProxyVersion": kubelet_version,
                "containerRuntimeVersion": runtime_version, "kernelVersion": kernel_version,
                "osImage": os_image, "architecture": architecture, "operatingSystem": "linux",
                "machineID": stable_uid("machine", name).replace("-", ""),
            },
        },
    }


def event_manifest(
    involved: dict,
    reason: str,
    message: str,
    *,
    type: str = "Normal",
    count: int = 1,
    first: datetime = EPOCH,
    last: datetime | None = None,
    component: str = "kubelet",
    host: str = "node-1",
    name: str | None = None,
) -> dict:
    """A core/v1 Event about `involved` ({"kind", "name", "namespace", "uid"})."""
    namespace = involved.get("namespace") or "default"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name or f"{involved.get('name', 'x')}.{stable_uid(reason, message, ts(first))[:16]}",
            "namespace": namespace,
            "uid": stable_uid("event", reason, message, ts(first)),
            "resourceVersion": "1",
            "creationTimestamp": ts(first),
        },
        "involvedObject": {"apiVersion": "v1", **involved},
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(last or first),
        "source": {"component": component, "host": host},
        "reportingComponent": component,
        "reportingInstance": host,
    }


def pod_ref(pod: dict) -> dict:
    """The involvedObject of an event about `pod`."""
    md = pod["metadata"]
    return {"kind": "Pod", "name": md["name"], "namespace": md["namespace"], "uid": md["uid"]}


def summary_manifest(node: str, pods: list[dict], *, node_nanocores: int = 250_000_000,
                     node_working_set: int = 1_500_000_000, node_available: int = 2_000_000_000,
                     sample_time: datetime = EPOCH) -> dict:
    """A kubelet /stats/summary. pods: [{"namespace", "name", "uid", "containers": [
    {"name", "nanocores", "working_set", "usage", "rss"}]}]; pod figures are the containers' sums."""
    when = ts(sample_time)
    out_pods = []
    for p in pods:
        containers = []
        for c in p.get("containers", []):
            containers.append({
                "name": c["name"],
                "startTime": ts(EPOCH),
                "cpu": {"time": when, "usageNanoCores": c["nanocores"],
                        "usageCoreNanoSeconds": c.get("core_ns", c["nanocores"] * 100)},
                "memory": {"time": when, "workingSetBytes": c["working_set"],
                           "usageBytes": c.get("usage", c["working_set"]),
                           "rssBytes": c.get("rss", c["working_set"] // 2), "pageFaults": 10, "majorPageFaults": 0},
            })
        entry = {
            "podRef": {"name": p["name"], "namespace": p["namespace"], "uid": p["uid"]},
            "startTime": ts(EPOCH),
            "containers": containers,
        }
        if not p.get("omit_pod_totals"):
            entry["cpu"] = {"time": when, "usageNanoCores": sum(c["cpu"]["usageNanoCores"] for c in containers),
                            "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"] for c in containers)}
            entry["memory"] = {"time": when, "workingSetBytes": sum(c["memory"]["workingSetBytes"] for c in containers),
                               "usageBytes": sum(c["memory"]["usageBytes"] for c in containers)}
        out_pods.append(entry)
    return {
        "node": {
            "nodeName": node,
            "startTime": ts(EPOCH - timedelta(days=3)),
            "cpu": {"time": when, "usageNanoCores": node_nanocores, "usageCoreNanoSeconds": node_nanocores * 1000},
            "memory": {"time": when, "availableBytes": node_available, "usageBytes": node_working_set + 200_000_000,
                       "workingSetBytes": node_working_set, "rssBytes": node_working_set // 2},
        },
        "pods": out_pods,
    }


def pods_from_specs(specs, node: str = "node-1", *, created: datetime = EPOCH) -> list[dict]:
    """API pods for plain pod descriptions such as the demo node's (duck-typed, nothing imported).

    Each spec needs name, namespace and containers (each with a name); it may have uid, labels,
    annotations, static (a static pod: the API shows a mirror pod whose own uid differs and whose
    kubernetes.io/config.mirror annotation holds the runtime's uid), and per container
    memory_limit_bytes and cpu_quota_millicores (turned into limits, requests equal).
    """
    pods = []
    for spec in specs:
        containers = []
        for c in spec.containers:
            limits = {}
            if getattr(c, "cpu_quota_millicores", None):
                limits["cpu"] = f"{c.cpu_quota_millicores}m"
            if getattr(c, "memory_limit_bytes", None):
                limits["memory"] = str(c.memory_limit_bytes)
            image = getattr(c, "image", None) or "docker.io/library/busybox:1.36"
            containers.append(container(c.name, image, limits=limits or None))
        uid = getattr(spec, "uid", None) or stable_uid(spec.namespace, spec.name)
        annotations = dict(getattr(spec, "annotations", None) or {})
        owner = None
        if getattr(spec, "static", False):
            annotations.update({"kubernetes.io/config.mirror": uid, "kubernetes.io/config.hash": uid,
                                "kubernetes.io/config.source": "file"})
            uid = stable_uid("mirror", spec.namespace, spec.name)
            owner = ("Node", node)
        pod = pod_manifest(spec.namespace, spec.name, uid, node, containers,
                           labels=dict(getattr(spec, "labels", None) or {}), annotations=annotations or None,
                           created=created)
        if owner:
            pod["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node,
                                                   "uid": stable_uid("node", node), "controller": True}]
        pods.append(pod)
    return pods
