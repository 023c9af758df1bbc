"""The pure join of API pods with runtime pods: flags for every kind of disagreement."""
from __future__ import annotations

from kube_fake.manifests import container, pod_manifest

from n9s.model.api_side import ApiSnapshot
from n9s.model.kube_join import NOT_IN_RUNTIME, STATIC, UNKNOWN_TO_API, join_api
from n9s.model.picture import ContainerRow, PodRow
from n9s.sources.kube.objects import pod_from_manifest


def runtime_pod(uid, name, *, state="READY", containers=(), static=False, sid=None, attempt=0):
    rows = tuple(
        ContainerRow(id=f"{sid or uid}-{n}", sandbox_id=sid or uid, name=n, attempt=0, image="i", image_ref="i",
                     state=s, created_at_ns=1, namespace="ns", pod_name=name, pod_uid=uid, labels={}, annotations={})
        for n, s in containers
    )
    return PodRow(id=sid or uid, namespace="ns", name=name, uid=uid, attempt=attempt, state=state, created_at_ns=1,
                  labels={}, annotations={}, containers=rows, static=static)


def snapshot(*pods, state="ok", synced=True):
    api = {p.runtime_uid: p for p in (pod_from_manifest(m) for m in pods)}
    return ApiSnapshot(state=state, message="API: ok", since=None, synced=synced, pods=api)


def test_disagreements_are_flagged():
    running = pod_manifest("ns", "web", "uid-web", containers=[container("app", "x"), container("side", "x")])
    stuck = pod_manifest("ns", "stuck", "uid-stuck", phase="Pending",
                         containers=[container("app", "x", state="waiting", reason="ContainerCreating")])
    pods = [
        runtime_pod("uid-web", "web", containers=[("app", "RUNNING"), ("side", "EXITED")]),
        runtime_pod("uid-orphan", "orphan", containers=[("app", "RUNNING")]),
        runtime_pod("uid-static", "etcd", containers=[("etcd", "RUNNING")], static=True),
        runtime_pod("uid-two", "twice", sid="sb-old", state="NOTREADY"),
        runtime_pod("uid-two", "twice", sid="sb-new", attempt=1),
    ]
    joined = {(p.name, p.id): p for p in join_api(pods, snapshot(running, stuck))}
    web = joined[("web", "uid-web")]
    assert web.api is not None and web.flags == ("API says side running",)
    assert joined[("orphan", "uid-orphan")].flags == (UNKNOWN_TO_API,)
    assert joined[("etcd", "uid-static")].flags == (STATIC,)
    assert joined[("twice", "sb-new")].flags == ("2 sandboxes", UNKNOWN_TO_API)
    stuck_row = joined[("stuck", "api:uid-stuck")]
    assert stuck_row.flags == (NOT_IN_RUNTIME,) and stuck_row.status == "ContainerCreating"


def test_no_flags_while_the_api_is_down_or_not_synced():
    pods = [runtime_pod("uid-orphan", "orphan", containers=[("app", "RUNNING")])]
    stuck = pod_manifest("ns", "stuck", "uid-stuck", phase="Pending")
    for snap in (snapshot(stuck, state="unreachable"), snapshot(stuck, synced=False)):
        joined = join_api(pods, snap)
        assert [p.name for p in joined] == ["orphan"] and joined[0].flags == ()


def test_mirror_pod_joins_the_static_pod_by_its_runtime_uid():
    mirror = pod_manifest("ns", "etcd", "api-side-uid", containers=[container("etcd", "x")],
                          annotations={"kubernetes.io/config.mirror": "uid-static"})
    pods = [runtime_pod("uid-static", "etcd", containers=[("etcd", "RUNNING")], static=True)]
    joined = join_api(pods, snapshot(mirror))
    assert len(joined) == 1 and joined[0].api is not None and joined[0].flags == ()
