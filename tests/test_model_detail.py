"""The container detail (Enter on a container) on the real demo node: process tree, full figures, PSI, files."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import cgroup_truth
from n9s.wiring import make_collector
from n9s.model.detail import container_detail
from n9s.render.detail import detail_sections

pytestmark = pytest.mark.node


@pytest.fixture
def collector(demo_node):
    c = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))
    c.refresh()
    return c


def unified_dir(pid: int) -> Path | None:
    path = cgroup_truth.cgroup_paths(pid).get("")
    if path is None:
        return None
    root = cgroup_truth.ROOT if cgroup_truth.unified_only() else cgroup_truth.ROOT / "unified"
    d = root / path.lstrip("/")
    return d if d.is_dir() else None


def test_detail_of_a_running_container(demo_node, collector):
    pod = demo_node.pod("demo/burn")
    cid = pod.container("burner")
    time.sleep(0.3)
    row = collector.refresh().container(cid)
    d = container_detail(collector, row)
    assert d.error == ""
    pid = cgroup_truth.pid_of(demo_node, cid)
    assert d.processes and d.processes[0].pid == pid and d.processes[0].depth == 0
    assert "while :; do :; done" in d.processes[0].command
    assert d.snapshot_key == cid and d.snapshotter == demo_node.snapshotter
    assert d.log_path == str(pod.log_paths["burner"])
    assert d.cgroup_path == f"{pod.cgroup_parent}/{cid}"
    # The full read adds what the list views leave out.
    assert d.figures.pids_current >= 1 and (d.figures.pids_unlimited or d.figures.pids_max)
    assert d.figures.cpu_cores == row.figures.cpu_cores  # the refresh's rate, not a second, shorter one
    unified = unified_dir(pid)
    if unified is not None and (unified / "cpu.pressure").exists():
        assert {"cpu.some", "memory.some", "memory.full", "io.some", "io.full"} <= set(d.figures.psi)
        assert all(0.0 <= v <= 100.0 for v in d.figures.psi.values())
        shown = dict(detail_sections(d, time.time()))["Figures"]
        assert any(what == "pressure (avg10)" and "cpu.some" in value for what, value in shown)


def test_detail_of_an_exited_container_has_no_processes_and_says_so(demo_node, collector):
    cid = demo_node.pod("demo/crash").container("failing")
    demo_node.wait_for_state(cid, "EXITED")
    row = collector.refresh().container(cid)
    d = container_detail(collector, row)
    assert d.processes == () and d.error == ""
    sections = dict(detail_sections(d, time.time()))
    assert sections["Processes"] == [("-", "no running task")]
    assert sections["Figures"][0] == ("state", "EXITED exit 3 Error")


def test_status_facts_are_fetched_once_while_the_state_holds():
    from types import SimpleNamespace

    from n9s.model.detail import container_detail
    from n9s.model.picture import ContainerRow

    calls = []

    def container_status(cid, verbose=False):
        calls.append(cid)
        mount = SimpleNamespace(container_path="/data", host_path="/srv/data", readonly=True)
        return SimpleNamespace(mounts=(mount,), info={"snapshotKey": "k", "snapshotter": "overlayfs"},
                               log_path="/var/log/pods/x/0.log")

    collector = SimpleNamespace(cri=SimpleNamespace(container_status=container_status), full_figures=lambda cid: None)
    row = ContainerRow(id="c1", sandbox_id="s", name="app", attempt=0, image="i", image_ref="i", state="RUNNING",
                       created_at_ns=1, namespace="ns", pod_name="p", pod_uid="u", labels={}, annotations={})
    first = container_detail(collector, row)
    second = container_detail(collector, row, first.facts)
    assert calls == ["c1"]
    assert second.mounts == (("/data", "/srv/data", True),) and second.log_path == "/var/log/pods/x/0.log"
    from dataclasses import replace

    container_detail(collector, replace(row, state="EXITED"), second.facts)  # a new state asks again
    assert calls == ["c1", "c1"]
