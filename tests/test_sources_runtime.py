"""Every CRI and containerd client call against the real demo node."""
from __future__ import annotations

import time

import pytest

from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.errors import NotFound

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def cri(demo_node):
    with CriClient(str(demo_node.address)) as client:
        yield client


@pytest.fixture(scope="module")
def ctd(demo_node):
    with ContainerdClient(str(demo_node.address)) as client:
        yield client


def test_version_and_status(cri, ctd):
    v = cri.version()
    assert v.runtime_name == "containerd" and v.runtime_api_version == "v1" and v.runtime_version
    status = cri.status(verbose=True)
    ready = status.condition("RuntimeReady")
    assert ready is not None and ready.status is True
    assert status.config().get("containerdRootDir")
    assert ctd.version().version == v.runtime_version


def test_lists_every_demo_pod_with_kubelet_identity(cri, demo_node):
    sandboxes = {f"{s.namespace}/{s.name}": s for s in cri.list_pod_sandboxes()}
    for key, pod in demo_node.pods.items():
        s = sandboxes[key]
        assert s.id == pod.sandbox_id and s.uid == pod.uid and s.state == "READY"
        assert s.labels["io.kubernetes.pod.uid"] == pod.uid


def test_lists_containers_and_their_verbose_status(cri, demo_node):
    web = demo_node.pods["default/web"]
    containers = {c.name: c for c in cri.list_containers(web.sandbox_id)}
    assert set(containers) == {"server", "logger"}
    assert all(c.state == "RUNNING" for c in containers.values())
    status = cri.container_status(web.container("logger"), verbose=True)
    assert status.log_path == str(web.log_paths["logger"])
    assert status.pid and status.runtime_spec["linux"]["cgroupsPath"].startswith(web.cgroup_parent)
    assert status.labels["io.kubernetes.container.name"] == "logger"


def test_exited_container_has_its_exit_code(cri, demo_node):
    crash = demo_node.pods["demo/crash"]
    deadline = time.monotonic() + 20
    while True:
        status = cri.container_status(crash.container("failing"))
        if status.state == "EXITED" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status.state == "EXITED" and status.exit_code == 3 and status.reason == "Error"


def test_exec_sync_returns_streams_and_code(cri, demo_node):
    cid = demo_node.pods["default/web"].container("logger")
    result = cri.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 4"], timeout_s=10)
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 4)


def test_exec_url_points_at_the_streaming_server(cri, demo_node):
    cid = demo_node.pods["default/web"].container("logger")
    url = cri.exec_url(cid, ["sh"], tty=True, stdin=True)
    assert url.startswith("http://127.0.0.1:") and "/exec/" in url


def test_images_and_image_fs(cri, demo_node):
    images = cri.list_images()
    assert any(demo_node.image_ref in i.repo_tags for i in images)
    image, info = cri.image_status(demo_node.image_ref, verbose=True)
    assert image is not None and image.size > 0
    assert cri.image_status("nothing.local/absent:1")[0] is None
    assert cri.image_fs_info()[0].mountpoint


def test_unknown_container_is_not_found(cri):
    with pytest.raises(NotFound):
        cri.container_status("0" * 64)


def test_containerd_containers_tasks_and_metrics(ctd, demo_node):
    web = demo_node.pods["default/web"]
    cid = web.container("logger")
    containers = {c.id: c for c in ctd.containers()}
    assert containers[cid].kind == "container" and containers[web.sandbox_id].kind == "sandbox"
    assert containers[cid].cgroups_path.endswith(cid)
    assert containers[cid].log_path == str(web.log_paths["logger"])
    tasks = {t.container_id: t for t in ctd.tasks()}
    assert tasks[cid].status == "RUNNING" and tasks[cid].pid > 0
    assert ctd.task(cid).pid == tasks[cid].pid
    assert tasks[cid].pid in ctd.list_pids(cid)
    metrics = ctd.metrics(cid)
    assert metrics and metrics[0].container_id == cid and metrics[0].memory_usage_bytes > 0


def test_snapshots_images_content_plugins(ctd, demo_node):
    snaps = ctd.snapshots("overlayfs") or ctd.snapshots("native")
    owners = {c.snapshot_key for c in ctd.containers()}
    active = {s.key for s in snaps if s.kind == "ACTIVE"}
    assert owners <= active
    snapshotter = next(c.snapshotter for c in ctd.containers())
    some = next(iter(owners))
    assert ctd.snapshot_usage(some, snapshotter).inodes > 0
    images = ctd.images()
    assert any(i.name == demo_node.image_ref for i in images)
    digest = next(i.digest for i in images if i.name == demo_node.image_ref)
    assert ctd.content_info(digest).size > 0
    plugins = ctd.plugins()
    assert any(p.type == "io.containerd.grpc.v1" and p.id == "cri" and not p.init_error for p in plugins)
    assert "k8s.io" in ctd.namespaces()


def test_events_stream_delivers_a_task_exit(ctd, demo_node):
    import threading

    from n9s.demo import ContainerSpec

    seen = []
    stream = ContainerdClient(str(demo_node.address))
    call = stream.subscribe_call("/tasks/")

    def read():
        for env in call:
            seen.append(env.topic)
            if env.topic == "/tasks/exit":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)
    pod = demo_node.pods["demo/crash"]
    demo_node.add_container(pod, ContainerSpec("short", ["sh", "-c", "exit 0"]))
    reader.join(timeout=20)
    call.cancel()
    stream.close()
    assert "/tasks/exit" in seen


def test_an_idle_event_stream_ends_at_once_when_the_client_closes(demo_node):
    # The app closes the client when it quits: an idle stream must end then, not hold the quit up.
    import threading

    client = ContainerdClient(str(demo_node.address))
    started, ended = threading.Event(), threading.Event()

    def listen():
        stream = client.subscribe("/tasks/")
        started.set()
        for _ in stream:
            pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert started.wait(20)
    time.sleep(1.5)  # idle
    client.close()
    assert ended.wait(20)
