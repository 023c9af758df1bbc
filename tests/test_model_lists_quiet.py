"""With containerd's event stream live, a quiet node is not listed on every refresh: CRI's sandbox and container
lists change only with a task or container event, so the collector lists again after one (for LISTS_SETTLE_S, while
CRI catches up), when the user asks, or when the lists are LISTS_MAX_AGE_S old."""
from __future__ import annotations

import time
from types import SimpleNamespace

from fake_runtime import FakeContainerd, FakeCri, running_task
from n9s.model import collector as collector_module
from n9s.model.collector import Collector
from n9s.sources.cgroups.reader import CgroupStats
from n9s.sources.cri import Container, PodSandbox
from n9s.sources.errors import Unreachable


def make(now):
    cri = FakeCri()
    return Collector(cri, FakeContainerd([running_task("c1", 42)]), None, pods_dir="/nonexistent",
                     clock=lambda: now[0]), cri


def listed_live(now):
    """A collector reading a live event stream, after its first refresh (which lists)."""
    c, cri = make(now)
    c.events_live = True
    c.refresh()
    return c, cri


def states(picture):
    return [(c.name, c.state) for c in picture.containers]


def test_without_an_event_stream_every_refresh_lists():
    now = [100.0]
    c, cri = make(now)
    for _ in range(3):
        now[0] += 2
        c.refresh()
    assert cri.listings == 3


def test_a_quiet_node_with_live_events_is_listed_once_and_still_shown():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    pictures = []
    for _ in range(5):
        now[0] += 2
        pictures.append(c.refresh())
    assert cri.listings == 1
    assert all(states(p) == [("app", "RUNNING")] for p in pictures)
    assert all(p.pods[0].name == "web" for p in pictures)
    assert pictures[-1].taken_at == now[0]  # a new picture each time, not the old one again


def test_an_event_makes_the_next_refreshes_list_until_cri_has_settled():
    now = [100.0]
    c, cri = listed_live(now)
    cri.state = "EXITED"  # the container exited; CRI's list says so
    now[0] += 2
    assert states(c.refresh()) == [("app", "RUNNING")]  # no event yet: the list is not read
    c.note_task_event()  # containerd announces it
    now[0] += 1
    assert states(c.refresh()) == [("app", "EXITED")]
    listed = cri.listings
    now[0] += collector_module.LISTS_SETTLE_S - 2
    c.refresh()
    assert cri.listings == listed + 1  # still inside the settle window: CRI may still be catching up
    now[0] += 3
    c.refresh()
    now[0] += 2
    c.refresh()
    assert cri.listings == listed + 1  # quiet again


def test_old_lists_and_a_user_refresh_are_listed_again():
    now = [100.0]
    c, cri = listed_live(now)
    now[0] += 2
    c.refresh(relist=True)  # ctrl-r
    assert cri.listings == 2
    now[0] += collector_module.LISTS_MAX_AGE_S + 1
    c.refresh()
    assert cri.listings == 3


def test_a_failed_listing_is_never_covered_by_the_old_lists():
    now = [100.0]
    c, cri = listed_live(now)
    cri.down = Unreachable("containerd is not answering")
    c.note_task_event()
    now[0] += 1
    failed = c.refresh()
    assert failed.stale
    cri.down = None
    now[0] += collector_module.LISTS_SETTLE_S + 1  # past the settle window: only the failure forces a list
    cri.state = "EXITED"
    back = c.refresh()
    assert not back.stale and states(back) == [("app", "EXITED")]


def test_the_lists_are_read_again_when_the_event_stream_goes_away():
    now = [100.0]
    c, cri = listed_live(now)
    c.events_live = False
    now[0] += 2
    c.refresh()
    assert cri.listings == 2


class ThreePodCri(FakeCri):
    """Three pods listed out of name order (the runtime lists in no stable order), one container each."""

    NAMES = ("web", "api", "db")

    def list_pod_sandboxes(self):
        return [PodSandbox(f"sb-{n}", n, "ns", f"uid-{n}", 0, "READY", 1, {}, {}) for n in self.NAMES]

    def list_containers(self):
        self.listings += 1
        return [Container(f"c-{n}", f"sb-{n}", "app", 0, "img", "img", "RUNNING", 1,
                          {"io.kubernetes.pod.name": n, "io.kubernetes.pod.namespace": "ns",
                           "io.kubernetes.pod.uid": f"uid-{n}"}, {}) for n in self.NAMES]


class PodCgroups:
    """Each pod's cgroup reports the memory set in ``memory`` for its uid."""

    mode = "v2"

    def __init__(self):
        self.memory = {f"uid-{n}": 0 for n in ThreePodCri.NAMES}

    def resolve(self, container_id, cgroups_path=None, pid=None, pod_uid=""):
        return SimpleNamespace(path=container_id, pod_uid=pod_uid)

    def read(self, location, full=False):
        return CgroupStats(timestamp_ns=time.monotonic_ns(), memory_limit_bytes=1 << 30)

    def pod_location(self, location):
        return location.pod_uid

    def forget(self, container_id):
        pass

    def read_pod(self, location, full=False, limits_from=None):
        used = self.memory[location.pod_uid]
        return CgroupStats(timestamp_ns=time.monotonic_ns(), memory_usage_bytes=used, memory_working_set_bytes=used)


def test_on_a_quiet_node_each_pod_gets_its_own_cgroup_figures():
    now = [100.0]
    cgroups = PodCgroups()
    cri = ThreePodCri()
    tasks = [running_task(f"c-{n}", 100 + i) for i, n in enumerate(ThreePodCri.NAMES)]
    c = Collector(cri, FakeContainerd(tasks), cgroups, pods_dir="/nonexistent", clock=lambda: now[0])
    c.events_live = True
    c.refresh(container_stats=False)
    for step in range(1, 4):
        cgroups.memory = {"uid-web": 1000 * step, "uid-api": 2000 * step, "uid-db": 3000 * step}
        now[0] += 2
        picture = c.refresh(container_stats=False)
        assert [p.name for p in picture.pods] == ["api", "db", "web"]
        assert {p.name: p.figures.memory_working_set_bytes for p in picture.pods} == {
            "web": 1000 * step, "api": 2000 * step, "db": 3000 * step}
        assert {p.name: [r.name for r in p.containers] for p in picture.pods} == {n: ["app"] for n in ThreePodCri.NAMES}
    assert cri.listings == 1


def test_after_an_event_the_next_refresh_comes_soon_until_cri_has_settled():
    # The refresh an event asks for may come before CRI records the change: the app samples again soon (not one
    # interval later) while the lists are still being read again.
    now = [100.0]
    c, _ = listed_live(now)
    now[0] += 2
    c.refresh()
    assert not c.resample_soon
    c.note_task_event()
    now[0] += 1
    c.refresh()
    assert c.resample_soon
    now[0] += collector_module.LISTS_SETTLE_S
    c.refresh()
    assert not c.resample_soon


class CountingPodCgroups(PodCgroups):
    """Pod cgroups on a clock: CPU used, memory limit and OOM kills per uid; counts the reads that read the limit
    and OOM files (no ``limits_from``) and those that carried them over."""

    def __init__(self, now):
        super().__init__()
        self.now = now
        self.cpu_ns = {f"uid-{n}": 0 for n in ThreePodCri.NAMES}
        self.limit = {f"uid-{n}": 1 << 30 for n in ThreePodCri.NAMES}
        self.ooms = {f"uid-{n}": 0 for n in ThreePodCri.NAMES}
        self.limit_reads = self.carried = 0

    def read_pod(self, location, full=False, limits_from=None):
        uid = location.pod_uid
        if limits_from is None:
            self.limit_reads += 1
            limit, ooms = self.limit[uid], self.ooms[uid]
        else:
            self.carried += 1
            limit, ooms = limits_from.memory_limit_bytes, limits_from.oom_kills
        return CgroupStats(timestamp_ns=int(self.now[0] * 1e9), cpu_usage_ns=self.cpu_ns[uid],
                           memory_usage_bytes=4096, memory_working_set_bytes=4096, memory_limit_bytes=limit,
                           oom_kills=ooms)


def three_pods_live(now):
    cgroups = CountingPodCgroups(now)
    tasks = [running_task(f"c-{n}", 100 + i) for i, n in enumerate(ThreePodCri.NAMES)]
    c = Collector(ThreePodCri(), FakeContainerd(tasks), cgroups, pods_dir="/nonexistent", clock=lambda: now[0])
    c.events_live = True
    c.refresh(container_stats=False)
    now[0] += 2
    c.refresh(container_stats=False)  # the rows have all they show now: the pods are built as they will stay
    return c, cgroups


def pod_named(picture, name):
    return next(p for p in picture.pods if p.name == name)


def test_a_quiet_node_reads_pod_limits_and_oom_kills_again_only_with_the_lists():
    now = [100.0]
    c, cgroups = three_pods_live(now)
    read_before, carried_before = cgroups.limit_reads, cgroups.carried
    assert read_before >= 3  # the first picture reads everything
    cgroups.limit["uid-web"] = 1 << 20  # resized in place: no event comes with that
    cgroups.ooms["uid-db"] = 1
    for _ in range(3):
        now[0] += 2
        picture = c.refresh(container_stats=False)
    assert (cgroups.limit_reads, cgroups.carried) == (read_before, carried_before + 9)
    assert pod_named(picture, "web").figures.memory_limit_bytes == 1 << 30  # not yet: carried from the lists' time
    c.note_task_event()  # e.g. the OOM kill's task event: the lists, and with them the limits, are read again
    now[0] += 1
    picture = c.refresh(container_stats=False)
    assert pod_named(picture, "web").figures.memory_limit_bytes == 1 << 20
    assert pod_named(picture, "db").figures.oom_kills == 1
    now[0] += collector_module.LISTS_MAX_AGE_S + collector_module.LISTS_SETTLE_S
    cgroups.limit["uid-api"] = 1 << 21
    picture = c.refresh(container_stats=False)  # old lists are read again, and the limits with them
    assert pod_named(picture, "api").figures.memory_limit_bytes == 1 << 21


def test_an_idle_pod_shows_no_cpu_until_its_counter_moves_and_none_again_after():
    now = [100.0]
    c, cgroups = three_pods_live(now)
    cpu = []
    for step in range(6):
        now[0] += 2
        if step == 3:
            cgroups.cpu_ns["uid-api"] += 1_000_000_000  # one CPU second in two seconds
        picture = c.refresh(container_stats=False)
        cpu.append((pod_named(picture, "api").figures.cpu_cores, pod_named(picture, "web").figures.cpu_cores))
    assert cpu == [(0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.5, 0.0), (0.0, 0.0), (0.0, 0.0)]
    assert pod_named(picture, "api").figures.memory_working_set_bytes == 4096


def test_a_quiet_node_keeps_its_rows_until_something_is_learnt_about_a_container():
    now = [100.0]
    c, cgroups = three_pods_live(now)
    c.cri.log_path = "/var/log/pods/ns_web_uid-web/app/0.log"
    first = c.refresh(container_stats=False)
    now[0] += 2
    second = c.refresh(container_stats=False)
    assert [r.id for r in second.containers] == [r.id for r in first.containers]
    assert all(r.log_path == "" for r in second.containers)  # not under the kubelet's pods dir: status pending
    assert c.status_pending == 3
    c.fill_status(budget_s=5)  # the deferred status calls tell each container's log path
    now[0] += 2
    third = c.refresh(container_stats=False)
    assert [r.log_path for r in third.containers] == ["/var/log/pods/ns_web_uid-web/app/0.log"] * 3
    now[0] += 2
    assert c.refresh(container_stats=False).containers == third.containers
