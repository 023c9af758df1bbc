"""What the stop/kill and remove/delete dialogs say, and which rows they apply to, from a node picture (no node,
no screen). Plus the audit log's file mode and the API delete through the real client against the fake server."""
from __future__ import annotations

import json
import os
import stat

import pytest
from kube_fake import pod_manifest
from kube_fake.fixtures import NODE, fake_kube, kube, kubeconfig  # noqa: F401

from n9s.actions.plan import (
    DELETE_API,
    KILL,
    REMOVE,
    STOP,
    Choice,
    consequences,
    perform,
    subjects_for,
    title,
)
from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog
from n9s.model.picture import ContainerRow, NodeInfo, NodePicture, PodRow
from n9s.core.sanitize import is_safe_text
from n9s.sources.errors import SourceError
from n9s.sources.kube.objects import pod_from_manifest

KUBELET = {"io.kubernetes.pod.uid": "u1", "io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "default"}


def crow(cid: str, name: str, pod: str, state: str = "RUNNING", sandbox: str = "sb-web", labels=None) -> ContainerRow:
    namespace, pod_name = pod.split("/")
    return ContainerRow(id=cid, sandbox_id=sandbox, name=name, attempt=0, image="busybox", image_ref="sha256:1",
                        state=state, created_at_ns=0, namespace=namespace, pod_name=pod_name, pod_uid="u1",
                        labels=KUBELET if labels is None else labels, annotations={})


def prow(sid: str, pod: str, containers=(), state: str = "READY", static=False, labels=None, api=None) -> PodRow:
    namespace, name = pod.split("/")
    return PodRow(id=sid, namespace=namespace, name=name, uid="u1", attempt=0, state=state, created_at_ns=0,
                  labels=KUBELET if labels is None else labels, annotations={}, containers=tuple(containers),
                  static=static, api=api)


def picture(*pods: PodRow) -> NodePicture:
    return NodePicture(taken_at=0.0, node=NodeInfo(), pods=pods,
                       containers=tuple(c for p in pods for c in p.containers))


WEB = prow("sb-web", "default/web", [crow("c-server", "server", "default/web"),
                                     crow("c-logger", "logger", "default/web"),
                                     crow("c-old", "server", "default/web", state="EXITED")])
ETCD = prow("sb-etcd", "kube-system/etcd", [crow("c-etcd", "etcd", "kube-system/etcd", sandbox="sb-etcd")],
            static=True)
BARE = prow("sb-bare", "default/bare", [], labels={})  # made by crictl runp, not by a kubelet
STOPPED = prow("sb-gone", "default/gone", [], state="NOTREADY")
PICTURE = picture(WEB, ETCD, BARE, STOPPED)


def text(kind, keys, choice) -> tuple[str, str]:
    subjects = subjects_for(PICTURE, kind, keys)
    return title(kind, subjects, choice), "\n".join(consequences(kind, subjects, choice))


def test_the_title_names_one_row_and_counts_several():
    assert text("container", ["c-server"], Choice(STOP))[0] == "Stop container server (default/web)?"
    assert text("container", ["c-server", "c-logger", "c-etcd"], Choice(STOP))[0] == "Stop 3 containers?"
    assert text("container", ["c-server", "c-logger"], Choice(KILL, signal="SIGKILL"))[0] == \
        "Send SIGKILL to 2 containers?"
    assert text("container", ["c-old", "c-server"], Choice(REMOVE))[0] == "Remove 2 containers?"
    assert text("pod", ["sb-web"], Choice(STOP))[0] == "Stop pod default/web?"
    assert text("pod", ["sb-web", "sb-etcd"], Choice(DELETE_API))[0] == \
        "Delete 2 pods through the Kubernetes API?"


def test_rows_gone_from_the_picture_are_left_out():
    subjects = subjects_for(PICTURE, "container", ["c-server", "vanished", "c-logger"])
    assert [s.target.id for s in subjects] == ["c-server", "c-logger"]
    assert subjects_for(None, "container", ["c-server"]) == []
    assert subjects_for(PICTURE, "snapshot", ["c-server"]) == []


def test_targets_carry_what_the_audit_log_needs():
    (server,) = subjects_for(PICTURE, "container", ["c-server"])
    assert server.target == Target(id="c-server", name="server", namespace="default", pod="web", kind="container")
    (web,) = subjects_for(PICTURE, "pod", ["sb-web"])
    assert web.target == Target(id="sb-web", name="web", namespace="default", pod="web", kind="pod")
    assert [t.id for t in web.running_containers] == ["c-server", "c-logger"]  # not the exited attempt


def test_stop_explains_the_grace_period_and_the_kubelet_restart():
    _, said = text("container", ["c-server"], Choice(STOP, grace_s=30))
    assert "waits up to 30 s" in said and "then sends SIGKILL" in said
    assert "kubelet starts a new container" in said
    _, said = text("container", ["c-server"], Choice(STOP, grace_s=0))
    assert "SIGKILL at once" in said and "30 s" not in said


def test_kill_explains_what_the_signal_does():
    _, said = text("container", ["c-server"], Choice(KILL, signal="SIGKILL"))
    assert "ends at once" in said and "137" in said
    _, said = text("container", ["c-server"], Choice(KILL, signal="SIGUSR1"))
    assert "sends SIGUSR1 to the main process" in said and "PID 1 ignores signals" in said
    _, said = text("container", ["c-server", "c-old"], Choice(KILL, signal="SIGTERM"))
    assert "1 container is not running" in said


def test_removing_running_containers_says_they_are_force_stopped():
    _, said = text("container", ["c-server", "c-logger", "c-old"], Choice(REMOVE))
    assert "2 containers are still RUNNING: CRI force-stops them first (SIGKILL, no grace period)" in said
    _, said = text("container", ["c-old"], Choice(REMOVE))
    assert "force-stops" not in said


def test_pod_stop_says_the_kubelet_starts_a_replacement():
    _, said = text("pod", ["sb-web"], Choice(STOP, grace_s=10))
    assert "(2 in all)" in said and "up to 10 s" in said
    assert "replacement sandbox and containers as long as the pod exists in the API" in said
    _, said = text("pod", ["sb-etcd"], Choice(STOP))
    assert "1 static pod: the kubelet starts a replacement as long as the manifest stays" in said
    assert "exists in the API" not in said
    _, said = text("pod", ["sb-bare"], Choice(STOP))
    assert "not made by a kubelet: nothing brings it back" in said
    _, said = text("pod", ["sb-gone", "sb-web"], Choice(STOP, grace_s=0))
    assert "kills every container at once" in said and "1 pod is already stopped" in said


def test_pod_remove_and_api_delete():
    _, said = text("pod", ["sb-web", "sb-gone"], Choice(REMOVE))
    assert "RemovePodSandbox" in said and "1 pod is still READY: CRI force-stops it first" in said
    api = pod_from_manifest(pod_manifest("default", "web", node=NODE, owner=("ReplicaSet", "web-7d9f")))
    owned = picture(prow("sb-web", "default/web", api=api), ETCD)
    subjects = subjects_for(owned, "pod", ["sb-web", "sb-etcd"])
    said = "\n".join(consequences("pod", subjects, Choice(DELETE_API, grace_s=5)))
    assert "grace period of 5 s" in said
    assert "default/web is owned by ReplicaSet web-7d9f, which creates a replacement pod" in said
    assert "only a mirror" in said and "Remove the manifest file instead" in said


def test_names_from_containers_are_printable_in_the_dialog():
    evil = picture(prow("sb-x", "default/x", [crow("c-x", "a\x1b]0;owned\x07\x1b[31mred[/]\nname", "default/x",
                                                      sandbox="sb-x")]))
    subjects = subjects_for(evil, "container", ["c-x"])
    for line in [title("container", subjects, Choice(STOP)), subjects[0].label,
                 *consequences("container", subjects, Choice(REMOVE))]:
        assert is_safe_text(line), line
        assert "\n" not in line


class RefusingRuntime:
    """Stands in for a runtime that must never be reached: read-only mode refuses before any call."""

    def __getattr__(self, name):
        raise AssertionError(f"the runtime was called ({name}) in read-only mode")


def test_perform_in_readonly_mode_refuses_every_row_and_reaches_nothing(tmp_path):
    actions = Actions(RefusingRuntime(), RefusingRuntime(), readonly=True, audit=AuditLog(tmp_path / "a.jsonl"))
    seen = []
    for kind, keys, choices in (
        ("container", ["c-server", "c-logger"], [Choice(STOP), Choice(KILL, signal="SIGKILL"), Choice(REMOVE)]),
        ("pod", ["sb-web", "sb-etcd"], [Choice(STOP), Choice(STOP, grace_s=0), Choice(REMOVE), Choice(DELETE_API)]),
    ):
        for choice in choices:
            outcomes = perform(actions, subjects_for(PICTURE, kind, keys), choice, seen.append)
            assert len(outcomes) == 2
            assert all(o.refused and not o.ok and "read-only" in o.message for o in outcomes), outcomes
    assert len(seen) == 14
    assert not (tmp_path / "a.jsonl").exists()


def test_audit_file_is_created_private(tmp_path):
    log = AuditLog(tmp_path / "new" / "dir" / "audit.jsonl")
    old = os.umask(0)  # even with a permissive umask
    try:
        log.record("stop-container", [{"id": "abc"}], {"grace_period_s": 3, "token": "s3cret"}, "ok")
    finally:
        os.umask(old)
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    intent, result = (json.loads(line) for line in log.path.read_text().splitlines())
    assert intent["params"] == {"grace_period_s": 3, "token": "***"} and result["result"] == "ok"


def test_delete_through_the_api_marks_the_pod_for_deletion_and_is_audited(kube, fake_kube, tmp_path):  # noqa: F811
    audit = AuditLog(tmp_path / "audit.jsonl")
    actions = Actions(cri=None, kube=kube, audit=audit)
    target = Target(id="sb-web", name="web", namespace="default", pod="web", kind="pod")

    result = actions.delete_pod_api(target, grace_s=7)

    assert result.ok, result.message
    request = fake_kube.requests[-1]
    assert (request.method, request.path) == ("DELETE", "/api/v1/namespaces/default/pods/web")
    assert request.body["gracePeriodSeconds"] == 7
    (entry,) = audit.entries()
    assert (entry["action"], entry["params"]["grace_period_s"], entry["result"]) == ("delete-pod", 7, "ok")
    assert entry["params"]["api"] == kube.target.describe()  # which cluster it went to

    missing = actions.delete_pod_api(Target(id="x", name="nope", namespace="default", kind="pod"))
    assert not missing.ok and "nope" in missing.message
    assert audit.entries()[-1]["result"].startswith("error: ")


def test_api_delete_without_an_api_says_so(tmp_path):
    with pytest.raises(SourceError, match="Kubernetes API"):
        Actions(cri=None, audit=AuditLog(tmp_path / "a.jsonl")).delete_pod_api(Target(id="x", kind="pod"))
