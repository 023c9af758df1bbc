"""The demo node: a real containerd with kubelet-shaped pods, and a teardown that leaves nothing behind."""
from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import time
import tomllib
from pathlib import Path

import pytest

from n9s.demo import ContainerSpec, DemoNode, PodSpec, default_pods
from n9s.demo import node as node_module
from n9s.demo.config import NodeLayout, render_config
from n9s.demo.image import build_image, find_busybox, is_static_elf
from n9s.demo.mounts import mounts_under
from n9s.demo.pods import container_config, sandbox_config
from n9s.pb import cri_pb2

CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d) (stdout|stderr) [PF](:\S+)? .*$")
KUBELET_CONTAINER_LABELS = {"io.kubernetes.pod.name", "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid",
                            "io.kubernetes.container.name"}
DEFAULT_KEYS = {"default/web", "demo/burn", "demo/mem", "demo/crash", "demo/graceful", "kube-system/etcd-n9s-demo"}


def wait_until(check, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def cgroup_mount(controller: str) -> Path | None:
    """Where the v1 `controller` hierarchy is mounted, or the v2 root when the host is v2-only."""
    v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, _, options = post.split(" ")[:3]
            point = Path(pre.split(" ")[4])
            if fstype == "cgroup" and controller in options.strip().split(","):
                return point
            if fstype == "cgroup2" and v2 is None:
                v2 = point
    return v2


def container_pid(node: DemoNode, container_id: str) -> int:
    status = node.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=container_id, verbose=True))
    return int(json.loads(status.info["info"])["pid"])


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines()


# ---- without a node: image, config and CRI requests ----


@pytest.mark.skipif(find_busybox() is None or not is_static_elf(find_busybox()), reason="needs busybox-static")
def test_image_is_an_oci_layout_with_busybox_and_applet_links(tmp_path):
    built = build_image(tmp_path, "n9s.local/busybox:test")
    with tarfile.open(built.tar_path) as tar:
        assert json.load(tar.extractfile("oci-layout")) == {"imageLayoutVersion": "1.0.0"}
        index = json.load(tar.extractfile("index.json"))
        blobs = {m.name.rsplit("/", 1)[-1]: tar.extractfile(m).read()
                 for m in tar.getmembers() if m.name.startswith("blobs/sha256/") and m.isfile()}
    for digest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == digest
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "n9s.local/busybox:test"
    manifest = json.loads(blobs[entry["digest"].split(":")[1]])
    config = json.loads(blobs[manifest["config"]["digest"].split(":")[1]])
    assert any(e.startswith("PATH=") and "/bin" in e for e in config["config"]["Env"])
    assert built.config_digest == manifest["config"]["digest"]
    layer_blob = blobs[manifest["layers"][0]["digest"].split(":")[1]]
    tar_path = tmp_path / "layer.tar"
    tar_path.write_bytes(layer_blob)
    with tarfile.open(tar_path) as layer:
        members = {m.name: m for m in layer.getmembers()}
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode & 0o111
    for applet in ("sh", "sleep", "httpd", "dd"):
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"


def test_containerd_config_is_private_and_kubelet_ready(tmp_path):
    layout = NodeLayout(tmp_path)
    config = tomllib.loads(render_config(layout, sandbox_image="n9s.local/busybox:demo", snapshotter="native",
                                         runc_binary="/usr/sbin/runc"))
    assert config["version"] == 2
    assert config["grpc"]["address"] == str(tmp_path / "containerd.sock")
    assert config["root"].startswith(str(tmp_path)) and config["state"].startswith(str(tmp_path))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == "n9s.local/busybox:demo"
    assert (cri["stream_server_address"], cri["stream_server_port"]) == ("127.0.0.1", "0")
    assert cri["containerd"]["snapshotter"] == "native"
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc["SystemdCgroup"] is False
    assert runc["Root"].startswith(str(tmp_path))  # never /run/containerd/runc


def test_pod_spec_refuses_unknown_qos_and_repeated_container_names():
    with pytest.raises(ValueError, match="qos must be one of"):
        PodSpec("p", "ns", [ContainerSpec("c", ["true"])], qos="gold")
    with pytest.raises(ValueError, match="container names repeat"):
        PodSpec("p", "ns", [ContainerSpec("c", ["true"]), ContainerSpec("c", ["true"])])


def test_cgroup_parent_follows_the_qos_class():
    containers = [ContainerSpec("c", ["true"])]
    assert PodSpec("p", "ns", containers, uid="u1").cgroup_parent == "/kubepods/burstable/podu1"
    assert PodSpec("p", "ns", containers, uid="u2", qos="guaranteed").cgroup_parent == "/kubepods/podu2"
    assert PodSpec("p", "ns", containers, uid="u3", qos="besteffort").cgroup_parent == "/kubepods/besteffort/podu3"


def test_requests_carry_the_kubelet_labels_and_annotations(tmp_path):
    spec = PodSpec("web", "shop", [ContainerSpec("app", ["sleep", "1"], memory_limit_bytes=1 << 26,
                                                 cpu_quota_millicores=250)],
                   uid="1234", labels={"app": "web"}, annotations={"team": "blue"})
    sandbox = sandbox_config(spec, tmp_path)
    assert sandbox.labels["app"] == "web" and sandbox.labels["io.kubernetes.pod.uid"] == "1234"
    assert sandbox.annotations["kubernetes.io/config.source"] == "api"
    assert sandbox.annotations["team"] == "blue"
    assert sandbox.log_directory == str(tmp_path / "shop_web_1234")
    assert sandbox.linux.security_context.namespace_options.network == cri_pb2.NODE
    assert sandbox.hostname == ""
    container = container_config(spec, spec.containers[0], "img")
    assert set(container.labels) == KUBELET_CONTAINER_LABELS
    assert container.log_path == "app/0.log"
    assert container.annotations["io.kubernetes.container.restartCount"] == "0"
    assert container.linux.resources.memory_limit_in_bytes == 1 << 26
    assert container.linux.resources.cpu_quota == 25_000 and container.linux.resources.cpu_period == 100_000


def test_missing_tools_are_named(monkeypatch):
    monkeypatch.setattr(node_module, "_which", lambda name: None)
    missing = " ".join(node_module.missing_prerequisites())
    for tool in ("containerd", "runc", "ctr"):
        assert f"{tool} not found" in missing


# ---- the session node ----


@pytest.mark.node
def test_every_default_pod_has_a_ready_host_network_sandbox(demo_node):
    items = demo_node.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest()).items
    by_key = {f"{s.metadata.namespace}/{s.metadata.name}": s for s in items}
    assert DEFAULT_KEYS <= set(by_key)
    for key in DEFAULT_KEYS:
        sandbox, pod = by_key[key], demo_node.pod(key)
        assert sandbox.state == cri_pb2.SANDBOX_READY, key
        assert sandbox.id == pod.sandbox_id
        assert sandbox.metadata.uid == pod.uid == sandbox.labels["io.kubernetes.pod.uid"]
        assert {k: sandbox.labels[k] for k in pod.spec.labels} == pod.spec.labels
        status = demo_node.runtime.PodSandboxStatus(cri_pb2.PodSandboxStatusRequest(pod_sandbox_id=sandbox.id))
        assert status.status.linux.namespaces.options.network == cri_pb2.NODE
    assert by_key["kube-system/etcd-n9s-demo"].annotations["kubernetes.io/config.source"] == "file"
    assert by_key["default/web"].annotations["kubernetes.io/config.source"] == "api"


@pytest.mark.node
def test_containers_run_except_the_crasher_which_exits_3(demo_node):
    for key in DEFAULT_KEYS:
        pod = demo_node.pod(key)
        for name, container_id in pod.container_ids.items():
            if key == "demo/crash":
                status = demo_node.wait_for_state(container_id, "EXITED")
                assert status.exit_code == 3
            else:
                status = demo_node.container_status(container_id)
                assert cri_pb2.ContainerState.Name(status.state) == "CONTAINER_RUNNING", f"{key} {name}"
            assert set(status.labels) == KUBELET_CONTAINER_LABELS
            assert status.labels["io.kubernetes.container.name"] == name
            assert status.annotations["io.kubernetes.container.restartCount"] == "0"
            assert status.image.image == demo_node.image_ref or status.image_ref == demo_node.image_id


@pytest.mark.node
def test_log_files_are_in_cri_format_where_the_kubelet_puts_them(demo_node):
    for key in DEFAULT_KEYS:
        pod = demo_node.pod(key)
        for name, container_id in pod.container_ids.items():
            expected = demo_node.pods_dir / f"{pod.namespace}_{pod.name}_{pod.uid}" / name / "0.log"
            assert demo_node.container_status(container_id).log_path == str(expected)
            assert pod.log_paths[name] == expected
    logger = demo_node.pod("default/web").log_paths["logger"]
    lines = wait_until(lambda: [ln for ln in read_log(logger) if " stderr " in ln] and read_log(logger),
                       what="a stderr line from the logger")
    assert all(CRI_LINE.match(line) for line in lines), lines
    numbers = [int(m.group(1)) for m in (re.search(r"stdout F request (\d+) served$", ln) for ln in lines) if m]
    assert len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1))
    crash = read_log(demo_node.pod("demo/crash").log_paths["failing"])
    assert crash and crash[0].endswith(" stdout F starting up... giving up")


@pytest.mark.node
def test_container_cgroups_sit_under_the_pod_cgroup(demo_node):
    memory_root = cgroup_mount("memory")
    for key in DEFAULT_KEYS - {"demo/crash"}:
        pod = demo_node.pod(key)
        for container_id in pod.container_ids.values():
            assert (memory_root / pod.cgroup_parent.lstrip("/") / container_id).is_dir()
            pid = container_pid(demo_node, container_id)
            assert f"{pod.cgroup_parent}/{container_id}" in Path(f"/proc/{pid}/cgroup").read_text()
    assert demo_node.pod("default/web").cgroup_parent.startswith("/kubepods/burstable/pod")
    mem = demo_node.pod("demo/mem")
    holder = memory_root / mem.cgroup_parent.lstrip("/") / mem.container("holder")
    limit_file = holder / "memory.limit_in_bytes" if (holder / "memory.limit_in_bytes").exists() else holder / "memory.max"
    assert int(limit_file.read_text()) == 256 * 1024 * 1024


@pytest.mark.node
def test_image_is_known_to_cri(demo_node):
    status = demo_node.images.ImageStatus(cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image=demo_node.image_ref)))
    assert status.image.id == demo_node.image_id
    assert demo_node.image_ref in status.image.repo_tags


# ---- short-lived nodes of their own ----


def _pod(key: str) -> PodSpec:
    return next(p for p in default_pods() if p.key == key)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


def _pod_cgroup_dirs(uid: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/kubepods/**/pod{uid}")] + \
        list(Path("/sys/fs/cgroup").glob(f"kubepods/**/pod{uid}"))


@pytest.mark.node
def test_stop_leaves_no_process_mount_cgroup_or_directory():
    node = DemoNode()
    try:
        node.start()
        pod = node.run_pod(_pod("default/web"))
        root = node.root
        pids = [container_pid(node, cid) for cid in pod.container_ids.values()]
        assert _processes_mentioning(str(root)), "containerd and shims should mention the node root"
        assert mounts_under(root), "running containers have their rootfs mounted under the node root"
        assert _pod_cgroup_dirs(pod.uid)
    finally:
        problems = node.stop()
    assert problems == []
    assert node.stop() == []  # a second stop is harmless
    assert _processes_mentioning(str(root)) == []
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists() and
            "zombie" not in Path(f"/proc/{pid}/status").read_text()] == []
    assert [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(root) in line] == []
    assert _pod_cgroup_dirs(pod.uid) == []
    assert not root.exists()
    assert node.leftovers() == []


@pytest.mark.node
def test_pods_survive_a_containerd_restart_and_teardown_after_a_crash_is_clean():
    with DemoNode() as node:
        graceful, burn = node.run_pods([_pod("demo/graceful"), _pod("demo/burn")])
        burner = burn.container("burner")
        pid = container_pid(node, burner)
        node.stop_containerd()
        assert node.containerd_pid is None
        assert Path(f"/proc/{pid}").exists(), "containers keep running under their shims"
        node.start_containerd()
        assert node.wait_for_state(burner, "RUNNING").id == burner
        trapper = graceful.container("trapper")
        node.runtime.StopContainer(cri_pb2.StopContainerRequest(container_id=trapper, timeout=10))
        status = node.wait_for_state(trapper, "EXITED")
        assert status.exit_code == 42
        assert any(line.endswith(" stdout F got TERM") for line in read_log(graceful.log_paths["trapper"]))
        # a kubelet restart: the same container name with the next attempt, logging to 1.log
        again = node.add_container(graceful, ContainerSpec("trapper", ["sh", "-c", "echo second life"], attempt=1))
        assert node.wait_for_state(again, "EXITED").annotations["io.kubernetes.container.restartCount"] == "1"
        assert graceful.log_paths["trapper"].name == "1.log"
        assert read_log(graceful.log_paths["trapper"])[0].endswith(" stdout F second life")
        assert graceful.attempts == [trapper, again]
        node.remove_pod(graceful)
        left = node.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest()).items
        assert [s.metadata.name for s in left] == ["burn"]
        assert _pod_cgroup_dirs(graceful.uid) == []
        node.stop_containerd(kill=True)
        root, uid, address = node.root, burn.uid, node.address
        task_ids = [d.name for d in (node.state_dir / "io.containerd.runtime.v2.task" / "k8s.io").iterdir()]
    assert task_ids and node.teardown_problems == []
    # shims killed during teardown cannot remove their sockets themselves (containerd 1.6 names them
    # sha256("<containerd socket>/<namespace>/<task id>") in /run/containerd/s)
    sockets = [Path("/run/containerd/s") / hashlib.sha256(f"{address}/k8s.io/{i}".encode()).hexdigest()
               for i in task_ids]
    assert [s for s in sockets if s.exists()] == []
    assert _processes_mentioning(str(root)) == []
    assert _pod_cgroup_dirs(uid) == []
    assert not root.exists()
