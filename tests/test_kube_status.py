"""STATUS, READY and RESTARTS exactly as `kubectl get pods` prints them, and the typed ApiPod fields."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kube_fake import EPOCH, container, pod_manifest
from n9s.sources.kube.status import pod_status_columns
from n9s.sources.kube.objects import pod_from_manifest

LATER = EPOCH + timedelta(minutes=10)


def _crashing(name="app", restarts=5, reason="CrashLoopBackOff", finished=LATER):
    return container(name, state="waiting", reason=reason, restarts=restarts,
                     last_terminated={"reason": "Error", "exit_code": 1, "finished_at": finished})


def _terminating():
    return pod_manifest("default", "web", deletion_timestamp=LATER)


def _node_lost():
    pod = pod_manifest("default", "web", reason="NodeLost", deletion_timestamp=LATER)
    return pod


def _unscheduled():
    pod = pod_manifest("default", "pending", phase="Pending", node="",
                       containers=[{"name": "app", "image": "nginx"}], pod_ip=None)
    del pod["spec"]["nodeName"]
    pod["status"].pop("containerStatuses")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    return pod


def _gated():
    pod = _unscheduled()
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    return pod


def _evicted(container_state: dict | None):
    pod = pod_manifest("default", "evicted", phase="Failed", reason="Evicted",
                       message="The node was low on resource: memory.", pod_ip=None)
    status = pod["status"]["containerStatuses"][0]
    status["ready"] = False
    status["state"] = container_state or {}
    return pod


def _completed_with_running(ready_condition: str):
    pod = pod_manifest("default", "mixed", containers=[
        container("main", state="terminated", reason="Completed", exit_code=0),
        container("helper"),
    ])
    for c in pod["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"] = ready_condition
    return pod


CASES = [
    # id, manifest, status, ready, restarts
    ("running", lambda: pod_manifest("default", "web"), "Running", (1, 1), 0),
    ("two running", lambda: pod_manifest("default", "web", containers=[container("a"), container("b")]),
     "Running", (2, 2), 0),
    ("crashloop", lambda: pod_manifest("default", "c", containers=[_crashing()]), "CrashLoopBackOff", (0, 1), 5),
    ("oomkilled", lambda: pod_manifest("default", "oom", phase="Failed", restart_policy="Never", containers=[
        container("app", state="terminated", reason="OOMKilled", exit_code=137)]), "OOMKilled", (0, 1), 0),
    ("completed", lambda: pod_manifest("default", "job", phase="Succeeded", restart_policy="Never", containers=[
        container("app", state="terminated", reason="Completed", exit_code=0)]), "Completed", (0, 1), 0),
    ("error", lambda: pod_manifest("default", "job", phase="Failed", restart_policy="Never", containers=[
        container("app", state="terminated", reason="Error", exit_code=1)]), "Error", (0, 1), 0),
    ("exit code without reason", lambda: pod_manifest("default", "j", phase="Failed", containers=[
        container("app", state="terminated", exit_code=2)]), "ExitCode:2", (0, 1), 0),
    ("signal without reason", lambda: pod_manifest("default", "j", phase="Failed", containers=[
        container("app", state="terminated", exit_code=137, signal=9)]), "Signal:9", (0, 1), 0),
    ("image pull backoff", lambda: pod_manifest("default", "p", phase="Pending", containers=[
        container("app", state="waiting", reason="ImagePullBackOff", message="Back-off pulling image")]),
     "ImagePullBackOff", (0, 1), 0),
    ("err image pull", lambda: pod_manifest("default", "p", phase="Pending", containers=[
        container("app", state="waiting", reason="ErrImagePull")]), "ErrImagePull", (0, 1), 0),
    ("container creating", lambda: pod_manifest("default", "p", phase="Pending", containers=[
        container("app", state="waiting", reason="ContainerCreating")]), "ContainerCreating", (0, 1), 0),
    ("create container config error", lambda: pod_manifest("default", "p", phase="Pending", containers=[
        container("app", state="waiting", reason="CreateContainerConfigError")]),
     "CreateContainerConfigError", (0, 1), 0),
    ("init 1 of 2", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="terminated", reason="Completed", exit_code=0),
        container("seed", state="running", ready=False)],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "Init:1/2", (0, 1), 0),
    ("init 0 of 1 waiting PodInitializing", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="waiting", reason="PodInitializing")],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "Init:0/1", (0, 1), 0),
    ("init crashloop counts init restarts", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        _crashing("migrate", restarts=3)],
        containers=[container("app", state="waiting", reason="PodInitializing")]),
     "Init:CrashLoopBackOff", (0, 1), 3),
    ("init error", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="terminated", reason="Error", exit_code=1)],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "Init:Error", (0, 1), 0),
    ("init exit code", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="terminated", exit_code=3)],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "Init:ExitCode:3", (0, 1), 0),
    ("init signal", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="terminated", exit_code=137, signal=9)],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "Init:Signal:9", (0, 1), 0),
    ("pod initializing", lambda: pod_manifest("default", "i", phase="Pending", init_containers=[
        container("migrate", state="terminated", reason="Completed", exit_code=0, restarts=2)],
        containers=[container("app", state="waiting", reason="PodInitializing")]), "PodInitializing", (0, 1), 0),
    ("initialised pod no longer counts init restarts", lambda: pod_manifest("default", "i", init_containers=[
        container("migrate", state="terminated", reason="Completed", exit_code=0, restarts=2)],
        containers=[container("app", restarts=1)]), "Running", (1, 1), 1),
    ("terminating", _terminating, "Terminating", (1, 1), 0),
    ("terminating but finished", lambda: pod_manifest("default", "job", phase="Succeeded",
                                                      deletion_timestamp=LATER, containers=[
        container("app", state="terminated", reason="Completed", exit_code=0)]), "Completed", (0, 1), 0),
    ("node lost and deleted", _node_lost, "Unknown", (1, 1), 0),
    ("node lost", lambda: pod_manifest("default", "web", reason="NodeLost"), "NodeLost", (1, 1), 0),
    ("evicted", lambda: _evicted(None), "Evicted", (0, 1), 0),
    ("evicted with container status unknown", lambda: _evicted(
        {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}}), "ContainerStatusUnknown", (0, 1), 0),
    ("unscheduled", _unscheduled, "Pending", (0, 1), 0),
    ("scheduling gated", _gated, "SchedulingGated", (0, 1), 0),
    ("first failing container wins", lambda: pod_manifest("default", "m", containers=[
        container("a", state="waiting", reason="ErrImagePull"), _crashing("b", restarts=2)]),
     "ErrImagePull", (0, 2), 2),
    ("one crashing of two", lambda: pod_manifest("default", "m", containers=[container("a"), _crashing("b")]),
     "CrashLoopBackOff", (1, 2), 5),
    ("completed next to running, ready", lambda: _completed_with_running("True"), "Running", (1, 2), 0),
    ("completed next to running, not ready", lambda: _completed_with_running("False"), "NotReady", (1, 2), 0),
    ("running but not ready", lambda: pod_manifest("default", "r", containers=[container("a", ready=False)]),
     "Running", (0, 1), 0),
    ("sidecar counts for ready and restarts", lambda: pod_manifest("default", "s", init_containers=[
        container("proxy", restart_policy="Always", restarts=4)],
        containers=[container("app", restarts=1)]), "Running", (2, 2), 5),
    ("sidecar not started yet", lambda: pod_manifest("default", "s", phase="Pending", init_containers=[
        container("proxy", restart_policy="Always", state="waiting", reason="ContainerCreating", started=False)],
        containers=[container("app", state="waiting", reason="PodInitializing")]),
     "Init:ContainerCreating", (0, 2), 0),
]


@pytest.mark.parametrize(("manifest", "status", "ready", "restarts"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_status_columns_match_kubectl(manifest, status, ready, restarts):
    columns = pod_status_columns(manifest())
    assert (columns.status, (columns.ready, columns.total), columns.restarts) == (status, ready, restarts)


def test_last_restart_is_the_latest_termination():
    early, late = EPOCH + timedelta(minutes=1), EPOCH + timedelta(minutes=7)
    pod = pod_manifest("default", "m", containers=[_crashing("a", finished=early), _crashing("b", finished=late)])
    assert pod_status_columns(pod).last_restart == late
    assert pod_status_columns(pod_manifest("default", "fresh")).last_restart is None


def test_status_survives_garbage():
    assert pod_status_columns({}).status == ""
    odd = {"metadata": [], "spec": {"containers": "x"}, "status": {"phase": "Running", "containerStatuses": [None, 3]}}
    assert pod_status_columns(odd).status == "Running"
    pod = pod_from_manifest({"status": {"containerStatuses": [{"restartCount": "many"}]}})
    assert pod.restarts == 0 and pod.name == ""


def test_api_pod_fields():
    pod = pod_from_manifest(pod_manifest(
        "shop", "web-7d9f-abcde", uid="1111-2222", node="node-1", owner=("ReplicaSet", "web-7d9f"),
        labels={"app": "web"}, annotations={"kubernetes.io/config.source": "api"}, pod_ip="10.244.0.7",
        priority_class="high",
        init_containers=[container("migrate", state="terminated", reason="Completed", exit_code=0)],
        containers=[
            container("server", "nginx:1.25", requests={"cpu": "100m", "memory": "128Mi"},
                      limits={"cpu": "1", "memory": "256Mi"}, container_id="containerd://abc123",
                      ports=[{"name": "http", "containerPort": 8080, "protocol": "TCP"}]),
            _crashing("logger", restarts=2),
        ],
    ))
    assert (pod.namespace, pod.name, pod.uid, pod.node_name) == ("shop", "web-7d9f-abcde", "1111-2222", "node-1")
    assert pod.owner.kind == "ReplicaSet" and pod.owner.name == "web-7d9f" and pod.owner.controller
    assert pod.qos_class == "Burstable"
    assert pod.pod_ip == "10.244.0.7" and pod.priority_class == "high"
    assert pod.labels == {"app": "web"} and not pod.is_mirror
    assert pod.created == EPOCH and pod.deletion_timestamp is None
    assert [c.kind for c in pod.containers] == ["init", "app", "app"]
    migrate, server, logger = pod.containers
    assert migrate.state.kind == "terminated" and migrate.state_text == "Completed" and migrate.state.exit_code == 0
    assert server.image == "nginx:1.25" and server.runtime_id == "abc123" and server.ready
    assert (server.cpu_request_m, server.cpu_limit_m) == (100, 1000)
    assert (server.memory_request_bytes, server.memory_limit_bytes) == (128 * 2**20, 256 * 2**20)
    assert server.ports[0].port == 8080 and server.state_text == "Running"
    assert logger.state_text == "CrashLoopBackOff" and logger.restart_count == 2 and not logger.ready
    assert logger.last_state.kind == "terminated" and logger.last_state.reason == "Error"
    assert logger.last_state.finished_at == LATER
    assert pod.cpu_request_m == 100 and pod.cpu_limit_m is None  # the logger has no limit: the pod is unbounded
    assert pod.manifest["metadata"]["name"] == "web-7d9f-abcde"
    assert pod.status_text == "CrashLoopBackOff" and pod.ready == (1, 2) and pod.restarts == 2


def test_mirror_pod_and_qos_guaranteed():
    pod = pod_from_manifest(pod_manifest(
        "kube-system", "etcd-node-1", annotations={"kubernetes.io/config.mirror": "abc"},
        containers=[container("etcd", limits={"cpu": "500m", "memory": "1Gi"})]))
    assert pod.is_mirror and pod.qos_class == "Guaranteed"
    assert pod.cpu_limit_m == 500 and pod.memory_limit_bytes == 2**30 and pod.cpu_request_m == 500


def test_times_are_aware_utc():
    pod = pod_from_manifest(_terminating())
    assert pod.deletion_timestamp == LATER and pod.deletion_timestamp.tzinfo is not None
    assert pod.deletion_timestamp.utcoffset() == timedelta(0)
    raw = pod_manifest("default", "x")
    raw["metadata"]["creationTimestamp"] = "2024-05-01T12:00:00.123456+02:00"
    assert pod_from_manifest(raw).created == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    raw["metadata"]["creationTimestamp"] = "yesterday"
    assert pod_from_manifest(raw).created is None


def test_manifest_without_managed_fields_leaves_the_original_alone():
    from n9s.sources.kube.objects import without_managed_fields

    raw = pod_manifest("default", "web")
    raw["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
    shown = without_managed_fields(raw)
    assert "managedFields" not in shown["metadata"] and shown["metadata"]["name"] == "web"
    assert raw["metadata"]["managedFields"][0]["manager"] == "kubectl"
