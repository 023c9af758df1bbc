"""The action layer against the real demo node: what stop, kill and remove do to real containers and pods, what
read-only mode refuses, and what the audit log keeps. Each test makes its own pods, so the demo pods stay."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime

import pytest

from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog
from n9s.demo.pods import ContainerSpec, PodSpec
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.errors import NotFound, ReadOnlyRefused

pytestmark = pytest.mark.node

# `trap` is set before the first line is logged, so once "ready" is in the log a SIGTERM is handled (exit 42).
# The container's PID 1 is sh, and a PID 1 ignores signals it has no handler for: SIGTERM would do nothing.
TRAPPER = 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 1; done'
SLEEPER = "echo ready; while :; do sleep 1; done"  # no handler: only SIGKILL (or a stop's SIGKILL) ends it
NAMESPACE = "n9s-actions"


def fresh_pod(node, prefix: str, **scripts: str):
    """A new pod on the demo node with one container per keyword (name=script), each logged "ready"."""
    spec = PodSpec(name=f"{prefix}-{uuid.uuid4().hex[:6]}", namespace=NAMESPACE,
                   containers=[ContainerSpec(name, ["sh", "-c", script]) for name, script in scripts.items()])
    pod = node.run_pod(spec)
    for name in scripts:
        wait_until(lambda: "ready" in _read(pod.log_paths[name]), f"{name} to log 'ready'")
    return pod


def _read(path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:g}s for {what}")
        time.sleep(0.05)


def container_target(pod, name: str) -> Target:
    return Target(id=pod.container(name), name=name, namespace=pod.namespace, pod=pod.name, kind="container")


def pod_target(pod) -> Target:
    return Target(id=pod.sandbox_id, name=pod.name, namespace=pod.namespace, pod=pod.name, kind="pod")


@pytest.fixture
def pods(demo_node):
    """Makes fresh pods; removes whatever is left of them afterwards."""
    made = []

    def make(prefix: str, **scripts: str):
        pod = fresh_pod(demo_node, prefix, **scripts)
        made.append(pod)
        return pod

    yield make
    for pod in made:
        demo_node.remove_pod(pod)


@pytest.fixture
def cri(demo_node):
    client = CriClient(str(demo_node.address))
    yield client
    client.close()


@pytest.fixture
def containerd(demo_node):
    client = ContainerdClient(str(demo_node.address))
    yield client
    client.close()


@pytest.fixture
def audit(tmp_path):
    return AuditLog(tmp_path / "state" / "audit.jsonl")


def exited(cri: CriClient, container_id: str):
    status = cri.container_status(container_id)
    return status if status.state == "EXITED" else None


def test_stop_with_grace_lets_a_trapping_container_exit_with_its_own_code(pods, cri, containerd, audit):
    pod = pods("grace", trapper=TRAPPER)
    actions = Actions(cri, containerd, audit=audit)

    result = actions.stop_container(container_target(pod, "trapper"), grace_s=20)

    assert result.ok, result.message
    status = cri.container_status(pod.container("trapper"))  # StopContainer returns once the container is gone
    assert status.state == "EXITED"
    assert status.exit_code == 42  # its own TERM handler ran: not SIGKILL's 137
    assert "got TERM" in _read(pod.log_paths["trapper"])


def test_stop_with_grace_zero_kills_at_once(pods, cri, containerd, audit):
    pod = pods("grace0", trapper=TRAPPER)
    result = Actions(cri, containerd, audit=audit).stop_container(container_target(pod, "trapper"), grace_s=0)
    assert result.ok, result.message
    status = cri.container_status(pod.container("trapper"))
    assert (status.state, status.exit_code) == ("EXITED", 137)
    assert "got TERM" not in _read(pod.log_paths["trapper"])


def test_kill_sends_the_chosen_signal_through_containerd(pods, cri, containerd, audit):
    pod = pods("kill", trapper=TRAPPER, sleeper=SLEEPER)
    actions = Actions(cri, containerd, audit=audit)

    assert actions.kill_container(container_target(pod, "trapper"), "SIGTERM").ok
    assert actions.kill_container(container_target(pod, "sleeper"), "SIGKILL").ok

    trapper = wait_until(lambda: exited(cri, pod.container("trapper")), "trapper to exit")
    sleeper = wait_until(lambda: exited(cri, pod.container("sleeper")), "sleeper to exit")
    assert trapper.exit_code == 42
    assert sleeper.exit_code == 137
    records = [(e["action"], e["targets"][0]["name"], e["params"], e["result"]) for e in audit.entries()]
    assert sorted(records) == [("kill-container", "sleeper", {"signal": "SIGKILL", "all_processes": False}, "ok"),
                               ("kill-container", "trapper", {"signal": "SIGTERM", "all_processes": False}, "ok")]


def test_kill_with_an_unsupported_signal_is_refused_before_anything_happens(pods, cri, containerd, audit):
    pod = pods("badsig", sleeper=SLEEPER)
    with pytest.raises(ValueError, match="SIGSTOP"):
        Actions(cri, containerd, audit=audit).kill_container(container_target(pod, "sleeper"), "SIGSTOP")
    assert cri.container_status(pod.container("sleeper")).state == "RUNNING"
    assert audit.entries() == []


def test_remove_a_running_container_force_stops_and_removes_it(pods, cri, containerd, audit):
    pod = pods("rm", sleeper=SLEEPER, other=SLEEPER)
    result = Actions(cri, containerd, audit=audit).remove_container(container_target(pod, "sleeper"))
    assert result.ok, result.message
    with pytest.raises(NotFound):
        cri.container_status(pod.container("sleeper"))
    assert cri.container_status(pod.container("other")).state == "RUNNING"


def test_stop_pod_then_remove_it(pods, cri, containerd, audit):
    pod = pods("podstop", a=SLEEPER, b=TRAPPER)
    actions = Actions(cri, containerd, audit=audit)

    assert actions.stop_pod(pod_target(pod)).ok
    assert cri.pod_sandbox_status(pod.sandbox_id).sandbox.state == "NOTREADY"
    for name in ("a", "b"):
        assert cri.container_status(pod.container(name)).state == "EXITED"

    assert actions.remove_pod(pod_target(pod)).ok
    assert pod.sandbox_id not in {s.id for s in cri.list_pod_sandboxes()}
    assert not {pod.container("a"), pod.container("b")} & {c.id for c in cri.list_containers()}
    assert [e["action"] for e in audit.entries()] == ["stop-pod", "remove-pod"]


def test_failed_action_is_reported_and_audited_as_failed(cri, containerd, audit, demo_node):
    ghost = Target(id="0" * 64, name="ghost", namespace=NAMESPACE, pod="none")
    result = Actions(cri, containerd, audit=audit).stop_container(ghost, grace_s=0)
    assert not result.ok
    assert "not found" in result.message.lower()
    assert audit.entries()[-1]["result"].startswith("error: ")


def test_readonly_refuses_every_change_and_the_audit_log_keeps_only_what_was_done(pods, cri, containerd, audit):
    pod = pods("ro", sleeper=SLEEPER)
    container, sandbox = container_target(pod, "sleeper"), pod_target(pod)
    readonly = Actions(cri, containerd, readonly=True, audit=audit)

    refusals = {
        "stop": lambda: readonly.stop_container(container, grace_s=0),
        "kill": lambda: readonly.kill_container(container, "SIGKILL"),
        "remove": lambda: readonly.remove_container(container),
        "stop_pod": lambda: readonly.stop_pod(sandbox),
        "remove_pod": lambda: readonly.remove_pod(sandbox),
        "delete_pod_api": lambda: readonly.delete_pod_api(sandbox, grace_s=0),
        "exec": lambda: readonly.exec_sync(container, ["true"]),
    }
    for name, call in refusals.items():
        with pytest.raises(ReadOnlyRefused, match="read-only"):
            call()
    assert cri.container_status(container.id).state == "RUNNING"
    assert cri.pod_sandbox_status(sandbox.id).sandbox.state == "READY"
    assert audit.entries() == []

    before = time.time()
    result = Actions(cri, containerd, audit=audit).kill_container(container, "SIGKILL")
    assert result.ok
    entries = audit.entries()
    assert len(entries) == 1
    entry = entries[0]
    assert set(entry) == {"id", "phase", "time", "who", "targets", "action", "params", "result", "finished"}
    assert entry["action"] == "kill-container"
    assert entry["params"] == {"signal": "SIGKILL", "all_processes": False}
    assert entry["result"] == "ok"
    assert entry["targets"] == [{"id": container.id, "name": "sleeper", "namespace": NAMESPACE, "pod": pod.name,
                                 "kind": "container"}]
    assert entry["who"]["uid"] == os.getuid() and entry["who"]["pid"] == os.getpid()
    assert datetime.fromisoformat(entry["time"]).timestamp() >= before - 1
    assert wait_until(lambda: exited(cri, container.id), "the killed container to exit").exit_code == 137


def test_remove_a_ready_pod_force_stops_it(pods, cri, containerd, audit):
    pod = pods("podrm", a=SLEEPER)
    result = Actions(cri, containerd, audit=audit).remove_pod(pod_target(pod))
    assert result.ok, result.message
    assert pod.sandbox_id not in {s.id for s in cri.list_pod_sandboxes()}
    with pytest.raises(NotFound):
        cri.container_status(pod.container("a"))
