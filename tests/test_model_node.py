"""The joined node picture on the real demo node, checked against the cgroup files and CRI directly."""
from __future__ import annotations

import queue
import threading
import time

import pytest

import cgroup_truth
from n9s.wiring import make_collector
from n9s.demo import ContainerSpec, PodSpec
from n9s.pb import cri_pb2
from n9s.render.views import CONTAINER_COLUMNS, POD_COLUMNS, container_row, pod_row
from n9s.sources.containerd import ContainerdClient

pytestmark = pytest.mark.node

MIB = 1024 * 1024
WINDOW_S = 2.5  # CPU is measured over a window of this length

@pytest.fixture
def collector(demo_node):
    return make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))


def cell(row, columns, name):
    return row.cells[[c.name for c in columns].index(name)]


def cri_containers(node) -> dict[str, cri_pb2.Container]:
    return {c.id: c for c in node.runtime.ListContainers(cri_pb2.ListContainersRequest()).containers}


def test_a_container_burning_cpu_shows_what_its_cgroup_used(demo_node, collector):
    # A shared machine gives the burner anything up to a core: n9s must show what the cgroup files say it used over
    # the same window, whatever that is, and never more than the one core a shell loop can use.
    cid = demo_node.pod("demo/burn").container("burner")
    files = cgroup_truth.of_container(demo_node, cid)
    collector.refresh()
    before = files.read()
    time.sleep(WINDOW_S)
    picture = collector.refresh()
    after = files.read()
    row = picture.container(cid)
    shown, real = row.figures.cpu_cores, cgroup_truth.cores_between(before, after)
    assert shown is not None, "no CPU figure for a running container after two refreshes"
    assert real > 0, "the burner did not run"
    assert abs(shown - real) <= 0.05 + 0.05 * real, (shown, real)  # n9s agrees with the files on the same window
    assert shown <= 1.2, (shown, real)
    millicores = cell(container_row(row, time.time()), CONTAINER_COLUMNS, "CPU")
    assert millicores.endswith("m") and abs(int(millicores[:-1]) - shown * 1000) <= 1, (millicores, shown)


def test_memory_holder_working_set_and_limit_match_the_cgroup_files(demo_node, collector):
    cid = demo_node.pod("demo/mem").container("holder")
    files = cgroup_truth.of_container(demo_node, cid)
    picture = collector.refresh()
    truth = files.read()
    f = picture.container(cid).figures
    assert truth.working_set >= 48 * MIB  # the premise: its 48 MiB of /dev/shm are charged to it
    assert abs(f.memory_working_set_bytes - truth.working_set) <= 0.10 * truth.working_set
    assert f.memory_limit_bytes == truth.limit == 256 * MIB and not f.memory_unlimited
    row = container_row(picture.container(cid), time.time())
    assert cell(row, CONTAINER_COLUMNS, "LIMIT") == "256.0 MiB"
    mem = cell(row, CONTAINER_COLUMNS, "MEM")
    assert mem.endswith(" MiB") and 48 <= float(mem.split()[0]) <= 48 * 1.1 + 2
    assert cell(row, CONTAINER_COLUMNS, "%MEM/L") in ("19%", "20%", "21%")
    # The pod: one container with a limit, so the pod shows the same share of it.
    pod = next(p for p in picture.pods if p.id == demo_node.pod("demo/mem").sandbox_id)
    assert pod.figures.memory_limit_bytes == 256 * MIB
    assert cell(pod_row(pod, time.time()), POD_COLUMNS, "%MEM/L") == cell(row, CONTAINER_COLUMNS, "%MEM/L")


def test_an_unlimited_container_says_no_limit(demo_node, collector):
    cid = demo_node.pod("demo/burn").container("burner")
    files = cgroup_truth.of_container(demo_node, cid)
    picture = collector.refresh()
    assert files.read().limit is None
    f = picture.container(cid).figures
    assert f.memory_unlimited and f.memory_limit_bytes is None
    assert cell(container_row(picture.container(cid), time.time()), CONTAINER_COLUMNS, "LIMIT") == "no limit"


def test_the_exited_container_shows_its_exit_code(demo_node, collector):
    pod = demo_node.pod("demo/crash")
    cid = pod.container("failing")
    status = demo_node.wait_for_state(cid, "EXITED")
    assert status.exit_code == 3
    picture = collector.refresh()
    row = picture.container(cid)
    assert (row.state, row.exit_code, row.reason) == ("EXITED", 3, "Error")
    assert row.pid is None and row.figures.cpu_cores is None  # nothing runs: no made-up figures
    cells = container_row(row, time.time())
    assert cell(cells, CONTAINER_COLUMNS, "STATE") == "EXITED (Error)"
    assert cell(cells, CONTAINER_COLUMNS, "EXIT") == "3"
    assert cells.health == "failed"
    pod_view = picture.pod(pod.sandbox_id)
    pod_cells = pod_row(pod_view, time.time())
    # Other tests may add containers to this pod; it is in Error whatever else runs in it.
    running = sum(1 for c in pod_view.current if c.state == "RUNNING")
    assert cell(pod_cells, POD_COLUMNS, "READY") == f"{running}/{len(pod_view.current)}"
    assert cell(pod_cells, POD_COLUMNS, "STATUS") == "Error" and pod_cells.health == "failed"


def test_every_sandbox_and_container_is_joined_into_its_pod(demo_node, collector):
    picture = collector.refresh()
    cri = cri_containers(demo_node)
    sandboxes = {s.id: s for s in demo_node.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest()).items}
    assert {p.id for p in picture.pods} == set(sandboxes)
    assert {c.id for c in picture.containers} == set(cri)
    for pod in picture.pods:
        meta = sandboxes[pod.id].metadata
        assert (pod.namespace, pod.name, pod.uid) == (meta.namespace, meta.name, meta.uid)
        assert {c.id for c in pod.containers} == {cid for cid, c in cri.items() if c.pod_sandbox_id == pod.id}
        current = pod.current
        assert pod.ready == sum(1 for c in current if cri[c.id].state == cri_pb2.CONTAINER_RUNNING)
    for cid, c in cri.items():
        row = picture.container(cid)
        assert row.state == cri_pb2.ContainerState.Name(c.state).removeprefix("CONTAINER_")
        assert (row.name, row.attempt) == (c.metadata.name, c.metadata.attempt)
    etcd = picture.pod(demo_node.pod("kube-system/etcd-n9s-demo").sandbox_id)
    assert etcd.static and not picture.pod(demo_node.pod("default/web").sandbox_id).static


def test_tasks_are_named_after_their_container_or_pod(demo_node, collector):
    picture = collector.refresh(tasks=True)  # as the tasks view asks
    tasks = {t.container_id: t for t in picture.tasks}
    web = demo_node.pod("default/web")
    server = tasks[web.container("server")]
    assert (server.kind, server.name, server.pod, server.status) == ("container", "server", "default/web", "RUNNING")
    assert server.pid == cgroup_truth.pid_of(demo_node, web.container("server"))
    sandbox = tasks[web.sandbox_id]
    assert (sandbox.kind, sandbox.pod, sandbox.status) == ("sandbox", "default/web", "RUNNING")
    for row in picture.containers:
        if row.state == "RUNNING":
            assert tasks[row.id].status == "RUNNING" and tasks[row.id].pid == row.pid


def test_a_refresh_on_the_exit_event_already_shows_the_exit(demo_node, collector):
    """CRI records an exit a moment after containerd announces it, and no later event follows; the refresh that the
    announcement triggers must already show the exit, not RUNNING."""
    events = ContainerdClient(str(demo_node.address))
    exits: queue.Queue[str] = queue.Queue()
    subscribed = threading.Event()

    def listen():
        stream = events.subscribe("/tasks/")
        subscribed.set()
        for event in stream:
            if event.topic == "/tasks/exit":
                exits.put(event.container_id)

    threading.Thread(target=listen, daemon=True).start()
    pod = None
    try:
        subscribed.wait(5)
        time.sleep(0.2)  # the generator has sent its request once it is being iterated
        pod = demo_node.run_pod(PodSpec(name="exit-event", namespace="n9s-model",
                                        containers=[ContainerSpec("quitter", ["sh", "-c", "sleep 2; exit 5"])]))
        cid = pod.container("quitter")
        assert collector.refresh().container(cid).state == "RUNNING"
        while exits.get(timeout=20) != cid:
            pass
        row = collector.refresh().container(cid)  # what the app does on the event
        assert (row.state, row.exit_code, row.reason) == ("EXITED", 5, "Error")
    finally:
        events.close()
        if pod is not None:
            demo_node.remove_pod(pod)


def test_pod_figures_come_from_the_pod_cgroup(demo_node, collector):
    pod = demo_node.pod("demo/mem")
    cid = pod.container("holder")
    container_files = cgroup_truth.of_container(demo_node, cid)
    pod_files = container_files.parent()
    assert pod_files.dirs["memory"].name == f"pod{pod.uid}"
    collector.refresh()
    time.sleep(0.5)
    picture = collector.refresh()
    truth, holder = pod_files.read(), container_files.read()
    f = picture.pod(pod.sandbox_id).figures
    assert abs(f.memory_working_set_bytes - truth.working_set) <= 0.10 * truth.working_set
    # The pod cgroup also holds the sandbox's process: more pids than the containers alone.
    assert f.pids_current == truth.pids > holder.pids
    assert f.cpu_cores is not None and 0 <= f.cpu_cores < 0.5  # the holder sleeps
    # The kernel's pod limit when the pod cgroup has one (a kubelet sets it), else the containers' limits.
    assert f.memory_limit_bytes == (truth.limit or 256 * MIB)


def test_oom_kills_show_as_oomkilled_and_in_the_oom_column(demo_node, collector):
    fill = "dd if=/dev/zero of=/dev/shm/{0} bs=1048576 count=64 2>/dev/null"
    spec = PodSpec(name="oom", namespace="n9s-model", containers=[
        # Its only process is killed: the container ends OOMKilled with 137 (128 + SIGKILL).
        ContainerSpec("victim", ["sh", "-c", "exec " + fill.format("victim")], memory_limit_bytes=16 * MIB),
        # A child is killed, the container goes on: it runs, with one OOM kill counted.
        ContainerSpec("survivor", ["sh", "-c", fill.format("survivor") + "; rm -f /dev/shm/survivor; "
                                   "echo survived; exec sleep 2147483647"], memory_limit_bytes=16 * MIB),
    ])
    pod = demo_node.run_pod(spec)
    try:
        victim, survivor = pod.container("victim"), pod.container("survivor")
        demo_node.wait_for_state(victim, "EXITED", timeout=20)
        survivor_files = cgroup_truth.of_container(demo_node, survivor)
        deadline = time.monotonic() + 20
        while cgroup_truth.oom_kills(survivor_files) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cgroup_truth.oom_kills(survivor_files) == 1
        picture = collector.refresh()
        dead = picture.container(victim)
        assert (dead.state, dead.exit_code, dead.reason, dead.health) == ("EXITED", 137, "OOMKilled", "oom")
        assert cell(container_row(dead, time.time()), CONTAINER_COLUMNS, "STATE") == "EXITED (OOMKilled)"
        alive = picture.container(survivor)
        assert alive.state == "RUNNING" and alive.figures.oom_kills == 1
        assert cell(container_row(alive, time.time()), CONTAINER_COLUMNS, "OOM") == "1"
        row = picture.pod(pod.sandbox_id)
        assert (row.status, row.health) == ("OOMKilled", "oom")
    finally:
        demo_node.remove_pod(pod)


def test_a_cpu_limited_busy_container_shows_throttling(demo_node, collector):
    pod = demo_node.run_pod(PodSpec(name="throttled", namespace="n9s-model", containers=[
        ContainerSpec("spinner", ["sh", "-c", "while :; do :; done"], cpu_quota_millicores=50)]))
    try:
        cid = pod.container("spinner")
        files = cgroup_truth.of_container(demo_node, cid)
        deadline = time.monotonic() + 15
        while cgroup_truth.throttled_periods(files) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        collector.refresh()
        time.sleep(0.5)  # several 100 ms periods, each throttled at 50m
        low = cgroup_truth.throttled_periods(files)
        picture = collector.refresh()
        high = cgroup_truth.throttled_periods(files)
        row = picture.container(cid)
        assert low <= row.figures.cpu_nr_throttled <= high and low >= 3
        assert row.figures.throttled_recently and row.health == "throttled"
        assert row.figures.cpu_cores is not None and row.figures.cpu_cores <= 0.1  # held near its 50m quota
        cells = container_row(row, time.time())
        assert int(cell(cells, CONTAINER_COLUMNS, "THROTTLED")) == row.figures.cpu_nr_throttled
        assert picture.pod(pod.sandbox_id).health == "throttled"
    finally:
        demo_node.remove_pod(pod)
