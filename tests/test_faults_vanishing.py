"""Things vanish under a live refresh on the real demo node: a container removed between the runtime's list and
the stats, its cgroup directories removed while it runs, cgroup files that cannot be read or hold garbage. The
affected row or figure disappears or shows `-`; the refresh never fails and nothing else changes."""
from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest

import n9s.sources.cgroups.reader as cgroups_module
from n9s.wiring import make_collector
from n9s.demo import ContainerSpec, PodSpec
from n9s.pb import cri_pb2
from n9s.render.views import CONTAINER_COLUMNS, container_row, render_containers
from n9s.sources.cgroups.reader import CgroupReader

pytestmark = pytest.mark.node

SLEEP = ["sh", "-c", "while :; do sleep 1; done"]
FIGURES = ("CPU", "MEM", "PIDS")


def cells(picture, cid: str) -> dict[str, str]:
    row = picture.container(cid)
    assert row is not None, f"container {cid[:13]} is not in the picture"
    rendered = container_row(row, time.time())
    return dict(zip((c.name for c in CONTAINER_COLUMNS), rendered.cells))


def shape(picture, exclude: set[str]) -> dict[str, tuple]:
    """What must not change for the other containers: name, state, and which figures are known."""
    out = {}
    for c in picture.containers:
        if c.id in exclude:
            continue
        f = c.figures
        out[c.id] = (c.name, c.pod_key, c.state, f.cpu_cores is not None, f.memory_working_set_bytes is not None,
                     f.pids_current is not None)
    return out


@pytest.fixture
def scratch_pod(demo_node, request):
    """A pod of its own per test (two sleeping containers), removed afterwards."""
    spec = PodSpec(name=f"vanish-{request.node.name[-20:].replace('_', '-').strip('-')}", namespace="faults",
                   containers=[ContainerSpec("victim", SLEEP), ContainerSpec("bystander", SLEEP)])
    pod = demo_node.run_pod(spec)
    yield pod
    demo_node.remove_pod(pod)


@pytest.fixture
def collector(demo_node):
    return make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))


def warmed_up(collector, cids: list[str]):
    """Refresh until every given container has all its figures (CPU needs two samples)."""
    deadline = time.monotonic() + 10
    while True:
        picture = collector.refresh()
        if all(cells(picture, cid)[name] != "-" for cid in cids for name in FIGURES):
            return picture
        assert time.monotonic() < deadline, {cid[:13]: cells(picture, cid) for cid in cids}
        time.sleep(0.2)


class RemovingCri:
    """The collector's CRI client, but the victim container is stopped and removed right after ListContainers
    answered: the refresh then asks for the status and reads the cgroup of a container that is gone."""

    def __init__(self, inner, node, victim: str) -> None:
        self.inner, self.node, self.victim = inner, node, victim
        self.armed = False

    def list_containers(self, *args, **kwargs):
        listed = self.inner.list_containers(*args, **kwargs)
        if self.armed:
            self.armed = False
            self.node.runtime.StopContainer(cri_pb2.StopContainerRequest(container_id=self.victim, timeout=0))
            self.node.runtime.RemoveContainer(cri_pb2.RemoveContainerRequest(container_id=self.victim))
        return listed

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_container_removed_between_list_and_stats(demo_node, scratch_pod, collector):
    victim, bystander = scratch_pod.container("victim"), scratch_pod.container("bystander")
    cri = collector.cri = RemovingCri(collector.cri, demo_node, victim)
    before = warmed_up(collector, [victim, bystander])

    cri.armed = True
    during = collector.refresh()  # must not raise
    assert not cri.armed, "the wrapper never ran"
    assert during.source("runtime").ok and not during.stale
    row = during.container(victim)
    if row is not None:  # listed before it went: shown as the list said, its figures unknown
        assert all(cells(during, victim)[name] == "-" for name in FIGURES), cells(during, victim)
    assert shape(during, {victim}) == shape(before, {victim})

    after = collector.refresh()
    assert after.container(victim) is None
    assert shape(after, {victim}) == shape(before, {victim})
    assert victim not in {r.key for r in render_containers(after, time.time())}

    # The same on a collector's very first refresh, when it asks every container's status for the first time.
    fresh = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))
    fresh.cri = RemovingCri(fresh.cri, demo_node, bystander)
    fresh.cri.armed = True
    first = fresh.refresh()
    assert not fresh.cri.armed and first.source("runtime").ok
    if first.container(bystander) is not None:
        assert all(cells(first, bystander)[name] == "-" for name in FIGURES), cells(first, bystander)
    names = lambda p: {k: v[:3] for k, v in shape(p, {victim, bystander}).items()}  # noqa: E731
    assert names(first) == names(before)
    assert fresh.refresh().container(bystander) is None


def _move_out_and_rmdir(directory: str) -> None:
    """Move the processes of a cgroup directory to its parent and remove the directory (as a cgroup is removed)."""
    parent = os.path.dirname(directory)
    for _ in range(20):
        with open(os.path.join(directory, "cgroup.procs")) as f:
            pids = f.read().split()
        for pid in pids:
            try:
                with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                    f.write(pid)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(directory)
            return
        except OSError as err:
            if err.errno != errno.EBUSY:
                raise
        time.sleep(0.05)  # a process forked meanwhile
    raise AssertionError(f"could not empty {directory}")


def test_cgroup_directories_vanish_under_a_running_container(demo_node, scratch_pod, collector):
    victim, bystander = scratch_pod.container("victim"), scratch_pod.container("bystander")
    before = warmed_up(collector, [victim, bystander])
    status = collector.cri.container_status(victim, verbose=True)
    location = CgroupReader().resolve(victim, cgroups_path=status.runtime_spec["linux"]["cgroupsPath"])
    assert location is not None and location.dir("memory")

    # First the memory controller's directory goes: memory figures become unknown, CPU stays.
    _move_out_and_rmdir(location.dir("memory"))
    picture = collector.refresh()
    shown = cells(picture, victim)
    assert shown["MEM"] == "-" and shown["LIMIT"] == "-"
    assert shown["CPU"] != "-" and shown["PIDS"] != "-"
    assert shown["STATE"] == "RUNNING"
    assert shape(picture, {victim}) == shape(before, {victim})

    # Then every directory n9s reads: all figures unknown, the row itself stays (CRI still lists it running).
    for controller, directory in location.dirs.items():
        if os.path.isdir(directory):
            _move_out_and_rmdir(directory)
    picture = collector.refresh()
    shown = cells(picture, victim)
    assert all(shown[name] == "-" for name in FIGURES), shown
    assert shown["STATE"] == "RUNNING"
    assert shape(picture, {victim}) == shape(before, {victim})
    # The pod's own figures come from the pod cgroup, which is still there (and now holds the victim's processes).
    pod = next(p for p in picture.pods if p.id == scratch_pod.sandbox_id)
    assert pod.figures.memory_working_set_bytes is not None


def test_unreadable_and_garbled_cgroup_files(demo_node, scratch_pod, collector, monkeypatch, tmp_path):
    victim, bystander = scratch_pod.container("victim"), scratch_pod.container("bystander")
    before = warmed_up(collector, [victim, bystander])
    status = collector.cri.container_status(victim, verbose=True)
    location = CgroupReader().resolve(victim, cgroups_path=status.runtime_spec["linux"]["cgroupsPath"])
    memory_dir = location.dir("memory")
    real_open = cgroups_module._open_file

    def refusing_open(path: str) -> int:
        if path.startswith(memory_dir + "/"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        if path == os.path.join(location.dir("cpuacct"), "cpuacct.usage"):
            raise OSError(errno.EIO, "Input/output error", path)
        return real_open(path)

    monkeypatch.setattr(cgroups_module, "_open_file", refusing_open)
    collector.cgroups.close()  # files kept open from earlier refreshes would still read
    picture = collector.refresh()
    shown = cells(picture, victim)
    assert shown["MEM"] == "-" and shown["CPU"] == "-", shown
    assert shown["PIDS"] != "-" and shown["STATE"] == "RUNNING"
    assert shape(picture, {victim}) == shape(before, {victim})
    stats = CgroupReader().read(location)
    assert not stats.vanished  # unreadable is not gone

    # Readable again: the figures come back (CPU after two samples again).
    monkeypatch.setattr(cgroups_module, "_open_file", real_open)
    warmed_up(collector, [victim])

    # A file that holds garbage (a file bind-mounted over the kernel's): that figure is unknown, nothing else.
    garbage = tmp_path / "garbage"
    garbage.write_text("not a number\n")
    target = os.path.join(memory_dir, "memory.usage_in_bytes")
    mounted = subprocess.run(["mount", "--bind", str(garbage), target], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount over a cgroup file here: {mounted.stderr.strip()}")
    try:
        collector.cgroups.close()  # a file kept open before the mount would still read the kernel's
        picture = collector.refresh()
        shown = cells(picture, victim)
        assert shown["MEM"] == "-" and shown["CPU"] != "-" and shown["PIDS"] != "-", shown
        assert shape(picture, {victim}) == shape(before, {victim})
    finally:
        collector.cgroups.close()  # a kept file would keep the mount busy
        subprocess.run(["umount", target], check=True)
    picture = collector.refresh()
    assert cells(picture, victim)["MEM"] != "-"
