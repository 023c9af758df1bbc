"""What is learnt once per container (n9s.model.collect.known), on the real demo node: its log where the kubelet puts
it spares the status call, otherwise the call waits for fill_status; an exit is asked for once; an exit CRI has not
recorded yet settles; a container is placed in its cgroup once, and one placed no way costs one status call."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from n9s.model.collect.known import KnownContainers
from n9s.model.collect.sources import Sources
from n9s.sources.cgroups.reader import CgroupReader
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient

pytestmark = pytest.mark.node


class CountingCri:
    """The real CRI client; counts the status calls made through it."""

    def __init__(self, cri: CriClient) -> None:
        self._cri = cri
        self.status_calls: list[str] = []

    def container_status(self, container_id, verbose=False):
        self.status_calls.append(container_id)
        return self._cri.container_status(container_id, verbose=verbose)

    def __getattr__(self, name):
        return getattr(self._cri, name)


@pytest.fixture
def runtime(demo_node):
    cri = CriClient(str(demo_node.address))
    containerd = ContainerdClient(str(demo_node.address), namespace="k8s.io")
    yield CountingCri(cri), containerd
    cri.close()
    containerd.close()


def listed(cri, cid):
    return next(c for c in cri.list_containers() if c.id == cid)


def task_of(containerd, cid):
    return next((t for t in containerd.tasks() if t.container_id == cid), None)


def test_a_log_where_the_kubelet_puts_it_spares_the_status_call(demo_node, runtime):
    cri, containerd = runtime
    pod = demo_node.pod("default/web")
    cid = pod.container("server")
    known = KnownContainers(Sources(cri, containerd), str(demo_node.pods_dir))
    task = task_of(containerd, cid)
    facts, c = known.observe(listed(cri, cid), task, task_ended=False)
    assert facts.log_path == str(pod.log_paths["server"]) and facts.pid == task.pid and c.state == "RUNNING"
    assert cri.status_calls == [] and known.status_pending == 0 and known.changes == 0


def test_elsewhere_the_status_waits_for_fill_status_and_is_asked_once(demo_node, runtime, tmp_path):
    cri, containerd = runtime
    pod = demo_node.pod("default/web")
    cid = pod.container("server")
    known = KnownContainers(Sources(cri, containerd), str(tmp_path))  # not the kubelet's pods dir
    c = listed(cri, cid)
    facts, _ = known.observe(c, task_of(containerd, cid), task_ended=False)
    assert facts.log_path == "" and known.status_pending == 1 and cri.status_calls == []
    assert known.fill_status(threading.Lock()) == 1
    assert cri.status_calls == [cid] and facts.log_path == str(pod.log_paths["server"]) and known.changes == 1
    known.observe(c, task_of(containerd, cid), task_ended=False)
    assert cri.status_calls == [cid] and known.status_pending == 0


def test_an_exit_is_asked_for_once(demo_node, runtime):
    cri, containerd = runtime
    cid = demo_node.pod("demo/crash").container("failing")
    demo_node.wait_for_state(cid, "EXITED")
    known = KnownContainers(Sources(cri, containerd), str(demo_node.pods_dir))
    c = listed(cri, cid)
    for _ in range(3):
        facts, _ = known.observe(c, None, task_ended=True)
    assert (facts.exit_code, facts.reason) == (3, "Error") and facts.finished_at_ns > 0
    assert cri.status_calls == [cid]


def test_an_exit_cri_has_not_recorded_yet_settles_once(demo_node, runtime):
    # containerd announced the exit (the task list has no running task); CRI's list still said RUNNING.
    cri, containerd = runtime
    cid = demo_node.pod("demo/crash").container("failing")
    demo_node.wait_for_state(cid, "EXITED")
    known = KnownContainers(Sources(cri, containerd), str(demo_node.pods_dir))
    stale = replace(listed(cri, cid), state="RUNNING")
    _, seen = known.observe(stale, None, task_ended=True)
    assert seen.state == "EXITED"
    _, again = known.observe(stale, None, task_ended=True)
    assert again is stale  # tried once per container


def test_a_container_is_placed_in_its_cgroup_once(demo_node, runtime):
    cri, containerd = runtime
    pod = demo_node.pod("demo/burn")
    cid = pod.container("burner")
    with CgroupReader() as reader:
        known = KnownContainers(Sources(cri, containerd, reader), str(demo_node.pods_dir))
        facts, _ = known.observe(listed(cri, cid), task_of(containerd, cid), task_ended=False)
        location = known.place(cid, facts, pod.uid)
        assert location is not None and location.path == f"{pod.cgroup_parent}/{cid}"
        assert known.place(cid, facts, pod.uid) is location and known.status_pending == 0


def test_a_container_placed_no_way_costs_one_status_call(demo_node, runtime, tmp_path):
    cri, containerd = runtime
    pod = demo_node.pod("demo/burn")
    cid = pod.container("burner")
    with CgroupReader(root=str(tmp_path)) as reader:  # no cgroup filesystem there: nothing can be placed
        known = KnownContainers(Sources(cri, containerd, reader), str(demo_node.pods_dir))
        facts, _ = known.observe(listed(cri, cid), task_of(containerd, cid), task_ended=False)
        for _ in range(3):
            assert known.place(cid, facts, pod.uid) is None
            known.fill_status(threading.Lock())
        assert cri.status_calls == [cid]


def test_containers_gone_from_the_listing_are_forgotten(demo_node, runtime, tmp_path):
    cri, containerd = runtime
    known = KnownContainers(Sources(cri, containerd), str(tmp_path))
    containers = cri.list_containers()
    for c in containers:
        known.observe(c, None, task_ended=False)
    kept = {containers[0].id}
    gone = known.forget_gone(kept)
    assert set(gone) == {c.id for c in containers[1:]}
    assert known.get(containers[0].id) is not None and all(known.get(cid) is None for cid in gone)
    assert known.status_pending == (1 if containers[0].state == "RUNNING" else 0)  # the gone ones wait no more
