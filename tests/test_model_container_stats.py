"""With no container list on screen (the pods view), containers inside a pod cgroup are read for CPU and memory
usage only; the pod's own figures still come from its pod cgroup, and a view that shows containers gets every
list figure again (a captured cgroup v2 tree, written to between refreshes)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fake_runtime import FakeContainerd, FakeCri, running_task
from n9s.model.collector import Collector
from n9s.sources.cgroups.reader import CgroupReader

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"
POD_UID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
CTR = "3f9a0c1e7b2d4a5f8e6c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4"
SLICE = f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
CGROUPS_PATH = f"{SLICE}:cri-containerd:{CTR}"


LOG_PATH = "/var/log/pods/x/app/0.log"


def fake_cri(**kwargs) -> FakeCri:
    return FakeCri(CTR, POD_UID, log_path=LOG_PATH, cgroups_path=CGROUPS_PATH, **kwargs)


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "v2-systemd"
    shutil.copytree(FIXTURES / "v2-systemd", root, symlinks=True)
    container_dir = root / "kubepods.slice" / "kubepods-burstable.slice" / SLICE / f"cri-containerd-{CTR}.scope"
    reader = CgroupReader(root=str(root), proc_root=str(FIXTURES / "proc"), keep_open=True)
    times = iter(range(100, 200, 2))
    collector = Collector(fake_cri(), None, reader, pods_dir=str(tmp_path / "pods"), clock=lambda: float(next(times)))
    yield collector, container_dir
    reader.close()


def bump(container_dir: Path, *, usage_usec: int, memory: int, pids: int) -> None:
    stat = (container_dir / "cpu.stat").read_text().splitlines()
    stat = [f"usage_usec {usage_usec}" if line.startswith("usage_usec") else line for line in stat]
    (container_dir / "cpu.stat").write_text("\n".join(stat) + "\n")
    (container_dir / "memory.current").write_text(f"{memory}\n")
    (container_dir / "pids.current").write_text(f"{pids}\n")


def test_pods_view_reads_pod_cgroups_only_and_keeps_the_container_limit(node):
    collector, container_dir = node
    first = collector.refresh()  # first sight: every list figure
    row = first.containers[0]
    assert row.figures.memory_limit_bytes == 268435456 and row.figures.pids_current == 17

    bump(container_dir, usage_usec=90_000_000, memory=200_000_000, pids=23)
    on_pods = collector.refresh(container_stats=False)
    row = on_pods.containers[0]
    assert row.figures.memory_limit_bytes == 268435456  # kept from the last read
    assert row.figures.memory_usage_bytes is None and row.figures.pids_current is None  # not read
    pod = on_pods.pods[0]
    assert pod.figures.memory_working_set_bytes is not None and pod.figures.pids_current is not None  # pod cgroup
    assert pod.figures.cpu_cores is not None  # the pod's rate goes on

    on_containers = collector.refresh(container_stats=True)
    figures = on_containers.containers[0].figures
    assert figures.pids_current == 23 and figures.memory_usage_bytes == 200_000_000  # read again
    assert figures.cpu_cores is not None  # the sample before is recent enough for a rate


def test_pods_view_opens_only_the_pod_cgroup_files(node):
    collector, _ = node
    collector.refresh()
    reader = collector.cgroups
    reader.close()  # drop the kept files: count what the next refresh opens
    collector.refresh(container_stats=False)
    # the pod cgroup's six v2 list files (cpu.stat, memory.current, memory.stat, memory.max, pids.current,
    # memory.events), none of the container's
    assert reader.open_file_count == 6
    collector.refresh(container_stats=True)
    assert reader.open_file_count == 12


def test_a_view_without_pods_or_containers_reads_no_pod_cgroup(node):
    collector, _ = node
    collector.refresh()
    reader = collector.cgroups
    reader.close()
    picture = collector.refresh(container_stats=False, pod_stats=False)  # e.g. the tasks or node view
    assert reader.open_file_count == 0
    assert picture.pods[0].figures.memory_working_set_bytes is None
    back = collector.refresh(container_stats=False, pod_stats=True)
    assert back.pods[0].figures.memory_working_set_bytes is not None and reader.open_file_count == 6


def test_a_rate_is_not_taken_over_a_long_pause(node, monkeypatch):
    from n9s.model.collect import sampling

    collector, container_dir = node
    collector.refresh()
    assert collector.resample_soon  # first sight: no rate yet, sample again soon
    collector.refresh()
    assert not collector.resample_soon and collector.refresh().containers[0].figures.cpu_cores is not None
    collector.refresh(container_stats=False)
    monkeypatch.setattr(sampling, "RATE_MAX_GAP_NS", 0)  # as if the containers were off screen for long
    back = collector.refresh(container_stats=True)
    assert back.containers[0].figures.cpu_cores is None  # no average over the whole pause
    assert back.pods[0].figures.cpu_cores is None
    assert collector.resample_soon


def test_first_sight_places_a_running_container_in_its_pod_cgroup_and_fetches_status_later(tmp_path):
    root = tmp_path / "v1-cgroupfs"  # where /proc/4444/cgroup of the captured proc tree points
    shutil.copytree(FIXTURES / "v1-cgroupfs", root, symlinks=True)
    cri = fake_cri()
    with CgroupReader(root=str(root), proc_root=str(FIXTURES / "proc")) as reader:
        collector = Collector(cri, FakeContainerd([running_task(CTR, 4444)]), reader, pods_dir=str(tmp_path / "pods"))
        first = collector.refresh()
        row = first.containers[0]
        assert cri.status_calls == 0  # no per-container RPC before the first picture
        assert row.figures.memory_working_set_bytes is not None  # kubepods/burstable/pod<uid>/<id>
        assert first.pods[0].figures.memory_working_set_bytes is not None
        assert row.log_path == "" and collector.status_pending == 1

        assert collector.fill_status() == 1 and cri.status_calls == 1
        assert collector.status_pending == 0
        assert collector.refresh().containers[0].log_path == LOG_PATH
        collector.refresh()
        assert cri.status_calls == 1  # once per container state, not per refresh


def test_a_container_outside_the_kubelet_layout_is_placed_once_its_status_is_fetched(node):
    collector, _ = node

    collector.cri = cri = fake_cri()
    cri.pod_uid = "not-this-pods-uid"  # its pod cgroup is not where the kubelet would put that pod's
    first = collector.refresh()
    assert first.containers[0].figures.memory_working_set_bytes is None and cri.status_calls == 0
    assert collector.status_pending == 1
    collector.fill_status()
    assert cri.status_calls == 1
    figures = collector.refresh().containers[0].figures  # placed by the status' OCI cgroupsPath
    assert figures.memory_working_set_bytes is not None and figures.memory_limit_bytes == 268435456


def test_a_container_placed_no_way_costs_one_status_call_not_one_per_refresh(node):
    collector, _ = node
    collector.cri = cri = fake_cri()
    cri.pod_uid, cri.cgroups_path = "not-this-pods-uid", ""  # nothing says where its cgroup is
    for _ in range(4):
        row = collector.refresh().containers[0]
        collector.fill_status()
    assert row.figures.memory_working_set_bytes is None and row.state == "RUNNING"
    assert cri.status_calls == 1


def test_a_log_file_where_the_kubelet_puts_it_spares_the_status_call(tmp_path):
    root = tmp_path / "v1-cgroupfs"
    shutil.copytree(FIXTURES / "v1-cgroupfs", root, symlinks=True)
    log = tmp_path / "pods" / f"ns_web_{POD_UID}" / "app" / "0.log"
    log.parent.mkdir(parents=True)
    log.write_text("2026-11-26T09:00:00.000000000Z stdout F hello\n")
    cri = fake_cri()
    with CgroupReader(root=str(root), proc_root=str(FIXTURES / "proc")) as reader:
        collector = Collector(cri, FakeContainerd([running_task(CTR, 4444)]), reader, pods_dir=str(tmp_path / "pods"))
        row = collector.refresh().containers[0]
        assert row.log_path == str(log)
        assert collector.status_pending == 0 and cri.status_calls == 0


def test_a_quiet_node_gives_fresh_pod_figures_and_the_same_container_rows(node):
    # With the event stream live and nothing changed, the pods view reads only the pod cgroup: its figures still
    # follow the kernel, while the container rows (nothing of theirs was read) are the last refresh's.
    collector, container_dir = node
    collector.events_live = True
    collector.refresh()
    collector.refresh(container_stats=False)
    pod_dir = container_dir.parent
    pictures = []
    for memory, pids in ((300_000_000, 30), (310_000_000, 31)):
        (pod_dir / "memory.current").write_text(f"{memory}\n")
        (pod_dir / "pids.current").write_text(f"{pids}\n")
        pictures.append(collector.refresh(container_stats=False))
    assert collector.cri.listings == 1
    first, second = (p.pods[0].figures for p in pictures)
    assert second.memory_working_set_bytes - first.memory_working_set_bytes == 10_000_000
    assert (first.pids_current, second.pids_current) == (30, 31)
    assert pictures[0].containers[0] is pictures[1].containers[0]
    assert pictures[1].pods[0].containers[0] is pictures[1].containers[0]

    bump(container_dir, usage_usec=95_000_000, memory=220_000_000, pids=29)
    shown = collector.refresh(container_stats=True).containers[0].figures  # the containers view: read again
    assert shown.pids_current == 29 and shown.memory_usage_bytes == 220_000_000


def test_a_status_learned_on_a_quiet_node_reaches_the_row(tmp_path):
    # The row kept from the last refresh must not hide what fill_status learns later (the log path here).
    cri = FakeCri(CTR, POD_UID, log_path=LOG_PATH)  # no log file where the kubelet puts it: a status call finds it
    collector = Collector(cri, FakeContainerd([running_task(CTR, 4444)]), None, pods_dir=str(tmp_path),
                          clock=lambda: 100.0)
    collector.events_live = True
    collector.refresh()
    assert collector.refresh().containers[0].log_path == ""
    collector.fill_status()
    assert collector.refresh().containers[0].log_path == LOG_PATH
    assert cri.listings == 1
