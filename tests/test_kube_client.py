"""The API calls n9s makes, through the real kubernetes client against the fake API server."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from kube_fake import (
    EPOCH,
    container,
    event_manifest,
    fixtures,
    node_manifest,
    pod_manifest,
    pod_ref,
    summary_manifest,
)
from n9s.sources.errors import CallFailed, NotFound, PermissionDenied, Unreachable
from n9s.sources.kube.client import Conflict, KubeClient
from n9s.sources.kube.health import Forbidden, HealthTracker, Unauthorized

NODE = fixtures.NODE
fake_kube, kubeconfig, kube = fixtures.fake_kube, fixtures.kubeconfig, fixtures.kube  # pytest fixtures


def wait_for(predicate, timeout=5.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ------------------------------------------------------------------ reads


def test_lists_only_this_nodes_pods_with_a_field_selector(kube, fake_kube):
    listing = kube.list_node_pods(NODE)
    assert sorted(p.name for p in listing.pods) == ["crash", "web"]
    assert int(listing.resource_version) == fake_kube.resource_version
    request = fake_kube.requests[-1]
    assert (request.path, request.query) == ("/api/v1/pods", {"fieldSelector": f"spec.nodeName={NODE}"})
    crash = next(p for p in listing.pods if p.name == "crash")
    assert (crash.status_text, crash.ready, crash.restarts) == ("CrashLoopBackOff", (0, 1), 4)
    web = next(p for p in listing.pods if p.name == "web")
    assert web.owner.name == "web-7d9f" and web.containers[0].memory_limit_bytes == 128 * 2**20
    assert web.manifest["kind"] == "Pod"


def test_get_pod_and_not_found(kube):
    assert kube.get_pod("demo", "crash").containers[0].name == "failing"
    with pytest.raises(NotFound, match='pods "nope" not found'):
        kube.get_pod("demo", "nope")
    assert kube.health.ok  # a missing pod says nothing about the API's health


def test_node_object(kube, fake_kube):
    fake_kube.upsert_node(node_manifest(
        NODE, cpu="4", memory="16Gi", allocatable_cpu="3800m", allocatable_memory="15Gi", pods="110",
        taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                {"key": "dedicated", "value": "db", "effect": "NoExecute"}],
        kubelet_version="v1.31.1", runtime_version="containerd://2.0.0", internal_ip="10.0.0.5"))
    node = kube.get_node(NODE)
    assert node.ready is True and node.roles == ("control-plane",)
    assert (node.capacity.cpu_m, node.capacity.memory_bytes, node.capacity.pods) == (4000, 16 * 2**30, 110)
    assert (node.allocatable.cpu_m, node.allocatable.memory_bytes) == (3800, 15 * 2**30)
    assert [str(t) for t in node.taints] == ["node-role.kubernetes.io/control-plane:NoSchedule", "dedicated=db:NoExecute"]
    assert (node.kubelet_version, node.container_runtime_version) == ("v1.31.1", "containerd://2.0.0")
    assert node.internal_ip == "10.0.0.5"
    assert {c.type for c in node.conditions} == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert kube.version()["gitVersion"] == "v1.30.2-fake"


def test_node_and_pod_events_newest_first(kube, fake_kube):
    pods = {p["metadata"]["name"]: p for p in fake_kube.pods()}
    t = EPOCH
    fake_kube.add_event(event_manifest({"kind": "Node", "name": NODE, "uid": NODE}, "NodeReady",
                                       "Node node-1 status is now: NodeReady", first=t))
    fake_kube.add_event(event_manifest(pod_ref(pods["crash"]), "BackOff", "Back-off restarting failed container",
                                       type="Warning", count=12, first=t + timedelta(minutes=1),
                                       last=t + timedelta(minutes=9)))
    fake_kube.add_event(event_manifest(pod_ref(pods["web"]), "Pulled", "Container image already present",
                                       first=t + timedelta(minutes=5)))
    fake_kube.add_event(event_manifest(pod_ref(pods["elsewhere"]), "Pulled", "not on this node",
                                       first=t + timedelta(minutes=6)))
    fake_kube.add_event(event_manifest({"kind": "Node", "name": "node-2", "uid": "node-2"}, "NodeReady", "other node"))
    events = kube.node_events(NODE, kube.list_node_pods(NODE).pods)
    assert [(e.object_kind, e.object_name, e.reason) for e in events] == [
        ("Pod", "crash", "BackOff"), ("Pod", "web", "Pulled"), ("Node", NODE, "NodeReady")]
    backoff = events[0]
    assert (backoff.type, backoff.count, backoff.object_namespace) == ("Warning", 12, "demo")
    assert backoff.first_time == t + timedelta(minutes=1) and backoff.last_time == t + timedelta(minutes=9)
    assert backoff.source == "kubelet, node-1"
    assert [e.reason for e in kube.pod_events("default", "web", pods["web"]["metadata"]["uid"])] == ["Pulled"]
    selectors = [r.query.get("fieldSelector") for r in fake_kube.requests if r.path.endswith("/events")]
    assert f"involvedObject.kind=Node,involvedObject.name={NODE}" in selectors


def test_forbidden_events_raise_but_leave_the_header_alone(kube, fake_kube):
    fake_kube.forbidden.add("events")
    with pytest.raises(Forbidden) as err:
        kube.node_events(NODE)
    assert str(err.value).startswith("forbidden to list events: RBAC")
    assert 'cannot list resource "events"' in err.value.hint
    assert isinstance(err.value, PermissionDenied)
    assert kube.health.ok


# ------------------------------------------------------------------ health


def _local(h, m, s):
    return datetime(2024, 5, 1, h, m, s).astimezone()


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def test_unreachable_since_the_first_failure_then_ok(kubeconfig, fake_kube):
    clock = Clock(_local(12, 3, 55))
    client = KubeClient.from_config(str(kubeconfig), connect_timeout=1.0, read_timeout=3.0,
                                    health=HealthTracker(clock=clock))
    client.list_node_pods(NODE)
    fake_kube.set_mode("down")
    with pytest.raises(Unreachable) as err:
        client.list_node_pods(NODE)
    assert "connection refused" in str(err.value) and fake_kube.url in str(err.value)
    assert client.health.state == "unreachable"
    assert client.health.message == "API: unreachable since 12:03:55, retrying"
    clock.now = _local(12, 4, 30)
    with pytest.raises(Unreachable):
        client.get_node(NODE)
    assert client.health.message == "API: unreachable since 12:03:55, retrying"  # since the first failure
    fake_kube.set_mode("ok")
    assert len(client.list_node_pods(NODE).pods) == 2
    assert client.health.state == "ok" and client.health.since == _local(12, 4, 30)
    client.close()


def test_unauthorized(kube, fake_kube):
    fake_kube.set_mode("401")
    with pytest.raises(Unauthorized):
        kube.list_node_pods(NODE)
    assert (kube.health.state, kube.health.message) == (
        "unauthorized", "API: unauthorized (401): check the kubeconfig credentials")
    fake_kube.set_mode("ok")
    kube.list_node_pods(NODE)
    assert kube.health.ok


def test_wrong_token_is_unauthorized(fake_kube, tmp_path):
    path = fake_kube.write_kubeconfig(tmp_path / "k", token="not-the-right-token-123456")
    client = KubeClient.from_config(str(path), connect_timeout=1.0)
    with pytest.raises(Unauthorized):
        client.get_node(NODE)
    assert client.health.state == "unauthorized"
    client.close()


def test_forbidden_to_list_pods(kube, fake_kube):
    fake_kube.set_mode("403")
    with pytest.raises(Forbidden):
        kube.list_node_pods(NODE)
    assert (kube.health.state, kube.health.message) == ("forbidden", "API: forbidden to list pods: RBAC")
    assert 'User "system:serviceaccount:default:n9s" cannot list resource "pods"' in kube.health.detail


# ------------------------------------------------------------------ delete


def test_delete_gracefully_then_gone(kube, fake_kube):
    uid = fake_kube.get_pod("default", "web")["metadata"]["uid"]
    result = kube.delete_pod("default", "web", grace_period_seconds=30, uid=uid)
    assert not result.gone and result.pod.deletion_timestamp is not None
    assert result.pod.status_text == "Terminating" and result.pod.deletion_grace_seconds == 30
    request = fake_kube.requests[-1]
    assert request.method == "DELETE" and request.path == "/api/v1/namespaces/default/pods/web"
    assert request.body["gracePeriodSeconds"] == 30 and request.body["preconditions"] == {"uid": uid}
    assert wait_for(lambda: fake_kube.get_pod("default", "web") is None)
    with pytest.raises(NotFound):
        kube.get_pod("default", "web")


def test_delete_now_and_errors(kube, fake_kube):
    result = kube.delete_pod("demo", "crash", grace_period_seconds=0)
    assert result.gone and fake_kube.get_pod("demo", "crash") is None
    with pytest.raises(NotFound):
        kube.delete_pod("demo", "crash")
    with pytest.raises(Conflict, match="Precondition failed"):
        kube.delete_pod("default", "web", uid="0000-not-this-pod")
    assert fake_kube.get_pod("default", "web") is not None  # nothing lost on a refused delete
    with pytest.raises(ValueError):
        kube.delete_pod("default", "web", grace_period_seconds=-1)


# ------------------------------------------------------------------ logs


def test_logs_tail_container_and_previous(kube, fake_kube):
    fake_kube.set_logs("default", "web", "server", [f"line {i}" for i in range(10)],
                       previous=["before the crash", "panic: boom"])
    fake_kube.set_logs("default", "web", "logger", ["logger says hi", b"bad \xff\xfe bytes"])
    assert list(kube.pod_logs("default", "web", container="server", tail_lines=3)) == ["line 7", "line 8", "line 9"]
    assert list(kube.pod_logs("default", "web", container="server", previous=True)) == [
        "before the crash", "panic: boom"]
    assert list(kube.pod_logs("default", "web", container="logger"))[1] == "bad \ufffd\ufffd bytes"
    with pytest.raises(CallFailed, match="a container name must be specified"):
        kube.pod_logs("default", "web")
    with pytest.raises(CallFailed, match='previous terminated container "logger"'):
        kube.pod_logs("default", "web", container="logger", previous=True)
    query = [r.query for r in fake_kube.requests if r.path.endswith("/log")][0]
    assert query == {"container": "server", "tailLines": "3"}


def test_logs_since_seconds(kube, fake_kube):
    now = time.time()
    fake_kube.set_logs("demo", "crash", "failing", ["old", "recent"], start=now - 3600, step=3590)
    assert list(kube.pod_logs("demo", "crash", since_seconds=60)) == ["recent"]


def test_follow_gets_new_lines_and_stops_on_close(kube, fake_kube):
    fake_kube.set_logs("default", "web", "server", ["first"])
    stream = kube.pod_logs("default", "web", container="server", follow=True)
    received: list[str] = []
    done = threading.Event()

    def read():
        for line in stream:
            received.append(line)
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert wait_for(lambda: received == ["first"])
    fake_kube.append_log("default", "web", "server", "second", "third")
    assert wait_for(lambda: received == ["first", "second", "third"])
    stream.close()
    assert done.wait(5), "closing the stream must end the reader's loop"
    assert kube.health.ok


def test_follow_ends_when_the_pod_goes(kube, fake_kube):
    fake_kube.set_logs("demo", "crash", "failing", ["only line"])
    stream = kube.pod_logs("demo", "crash", follow=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    reader.start()
    assert wait_for(lambda: lines == ["only line"])
    fake_kube.delete_pod("demo", "crash")
    reader.join(5)
    assert not reader.is_alive() and lines == ["only line"]


# ------------------------------------------------------------------ kubelet stats


def test_summary_through_the_node_proxy(kube, fake_kube):
    web = fake_kube.get_pod("default", "web")["metadata"]
    crash = fake_kube.get_pod("demo", "crash")["metadata"]
    fake_kube.set_summary(NODE, summary_manifest(NODE, [
        {"namespace": "default", "name": "web", "uid": web["uid"], "containers": [
            {"name": "server", "nanocores": 150_000_000, "working_set": 50 * 2**20, "usage": 60 * 2**20},
            {"name": "logger", "nanocores": 2_500_000, "working_set": 4 * 2**20}]},
        {"namespace": "demo", "name": "crash", "uid": crash["uid"], "omit_pod_totals": True, "containers": [
            {"name": "failing", "nanocores": 1_000_000, "working_set": 2**20}]},
    ], node_nanocores=750_000_000, node_working_set=3 * 2**30))
    summary = kube.node_summary(NODE)
    assert fake_kube.requests[-1].path == f"/api/v1/nodes/{NODE}/proxy/stats/summary"
    assert summary.node_name == NODE
    assert summary.usage.cpu_cores == pytest.approx(0.75) and summary.usage.memory_working_set_bytes == 3 * 2**30
    web_stats = summary.pod(web["uid"])
    assert web_stats.usage.cpu_cores == pytest.approx(0.1525)
    assert web_stats.usage.memory_working_set_bytes == 54 * 2**20
    server = web_stats.containers[0]
    assert (server.name, server.usage.cpu_cores, server.usage.memory_usage_bytes) == ("server", 0.15, 60 * 2**20)
    crash_stats = summary.pod(crash["uid"])  # no pod-level block: the containers' sums
    assert crash_stats.usage.cpu_cores == pytest.approx(0.001) and crash_stats.usage.memory_working_set_bytes == 2**20
    with pytest.raises(NotFound):
        kube.node_summary("no-such-node")


# ------------------------------------------------------------------ which node


def test_node_name_resolution(kube, fake_kube):
    assert kube.resolve_node_name("given", env={"NODE_NAME": "env"}).how == "--node"
    assert kube.resolve_node_name(env={"NODE_NAME": "from-env"}).name == "from-env"
    assert kube.resolve_node_name(env={}, hostname="NODE-1") == kube.resolve_node_name(env={}, hostname="node-1")
    choice = kube.resolve_node_name(env={}, hostname="node-1.cluster.example.com")
    assert (choice.name, choice.how) == ("node-1", "short hostname")
    fake_kube.upsert_node(node_manifest("ip-10-0-0-7.ec2.internal", hostname_label="builder"))
    choice = kube.resolve_node_name(env={}, hostname="builder.corp")
    assert (choice.name, choice.how) == ("ip-10-0-0-7.ec2.internal", "hostname label")
    with pytest.raises(NotFound) as err:
        kube.resolve_node_name(env={}, hostname="laptop")
    assert "--node" in str(err.value)
    fake_kube.set_mode("down")
    assert kube.resolve_node_name(env={}, hostname="laptop").how == "hostname (not verified)"


def test_many_pods(kube, fake_kube):
    for i in range(200):
        fake_kube.upsert_pod(pod_manifest("load", f"pod-{i:03d}", node=NODE, containers=[
            container("c", requests={"cpu": "10m", "memory": "16Mi"})]))
    pods = kube.list_node_pods(NODE).pods
    assert len(pods) == 202 and sum(p.cpu_request_m for p in pods if p.namespace == "load") == 2000


def test_seeded_from_demo_style_specs_including_a_mirror_pod(tmp_path):
    from types import SimpleNamespace as S

    from kube_fake import FakeKube, pods_from_specs

    specs = [
        S(name="web", namespace="default", uid="uid-web", labels={"app": "web"}, annotations={}, static=False,
          containers=[S(name="server", memory_limit_bytes=64 * 2**20, cpu_quota_millicores=None),
                      S(name="logger", memory_limit_bytes=None, cpu_quota_millicores=None)]),
        S(name="mem", namespace="demo", uid="uid-mem", labels={}, annotations={}, static=False,
          containers=[S(name="holder", memory_limit_bytes=256 * 2**20, cpu_quota_millicores=100)]),
        S(name="etcd-n9s-demo", namespace="kube-system", uid="0123456789abcdef0123456789abcdef", labels={},
          annotations={"kubernetes.io/config.source": "file"}, static=True,
          containers=[S(name="etcd", memory_limit_bytes=None, cpu_quota_millicores=None)]),
    ]
    with FakeKube(pods=pods_from_specs(specs, NODE), nodes=[node_manifest(NODE)]) as fake:
        client = KubeClient.from_config(str(fake.write_kubeconfig(tmp_path / "k")), connect_timeout=1.0)
        pods = {p.name: p for p in client.list_node_pods(NODE).pods}
        client.close()
    assert (pods["web"].uid, pods["web"].runtime_uid, pods["web"].qos_class) == ("uid-web", "uid-web", "Burstable")
    assert pods["mem"].qos_class == "Guaranteed" and pods["mem"].containers[0].cpu_limit_m == 100
    etcd = pods["etcd-n9s-demo"]
    assert etcd.is_mirror and etcd.uid != etcd.runtime_uid == "0123456789abcdef0123456789abcdef"
    assert etcd.owner.kind == "Node" and etcd.owner.name == NODE


def test_node_from_the_kubelet_kubeconfig_identity(fake_kube, tmp_path):
    path = fake_kube.write_kubeconfig(tmp_path / "kubelet.conf", user=f"system:node:{NODE}")
    client = KubeClient.from_config(str(path), connect_timeout=1.0)
    choice = client.resolve_node_name(env={}, hostname="some-other-name")
    assert (choice.name, choice.how) == (NODE, "kubelet kubeconfig user")
    client.close()


def test_seeded_from_the_demo_node_pod_list(tmp_path):
    demo = pytest.importorskip("n9s.demo.pods")
    from kube_fake import FakeKube, pods_from_specs

    specs = demo.default_pods()
    with FakeKube(pods=pods_from_specs(specs, NODE), nodes=[node_manifest(NODE)]) as fake:
        client = KubeClient.from_config(str(fake.write_kubeconfig(tmp_path / "k")), connect_timeout=1.0)
        pods = client.list_node_pods(NODE).pods
        client.close()
    assert {(p.namespace, p.name) for p in pods} == {(s.namespace, s.name) for s in specs}
    assert {p.runtime_uid for p in pods} == {s.uid for s in specs}  # what the runtime's labels will carry
