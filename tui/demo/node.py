"""A real, private containerd node with kubelet-shaped pods, for tests, demos and benchmarks.

A DemoNode runs its own containerd (root, state, sockets and config under one temporary directory), loads a busybox
image it builds itself, and creates pods through CRI the way a kubelet does. Teardown removes everything it made:
pods, containerd, shims, container processes, mounts, pod cgroups and the directory.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psutil

from n9s.demo import cleanup, mounts
from n9s.demo.config import ROOT_PREFIX, NodeLayout, render_config
from n9s.demo.image import IMAGE_REF, ImageBuildError, build_image, find_busybox, is_static_elf
from n9s.demo.pods import ContainerSpec, PodSpec, container_config, sandbox_config
from n9s.demo.teardown import find_leftovers, sweep_stale_nodes, teardown_root
from n9s.pb import cri_pb2, cri_pb2_grpc

SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the trailing NUL
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SNAPSHOTTER_ENV = "N9S_DEMO_SNAPSHOTTER"


class DemoNodeError(RuntimeError):
    """The demo node could not do what was asked; the message says why."""


class NodeUnavailable(DemoNodeError):
    """This machine cannot run a demo node (missing tools or privileges)."""


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + TOOL_PATH)


def missing_prerequisites() -> list[str]:
    """What stops a demo node from running here, as sentences; empty when it can run."""
    missing = []
    if os.geteuid() != 0:
        missing.append("not running as root (a demo node creates mounts and cgroups)")
    for tool, package in (("containerd", "containerd"), ("containerd-shim-runc-v2", "containerd"),
                          ("runc", "runc"), ("ctr", "containerd")):
        if _which(tool) is None:
            missing.append(f"{tool} not found (install Debian package {package})")
    busybox = find_busybox()
    if busybox is None:
        missing.append("busybox not found (install Debian package busybox-static)")
    elif not is_static_elf(busybox):
        missing.append(f"{busybox} is not statically linked (install Debian package busybox-static)")
    if not cleanup.cgroup_mounts():
        missing.append("no cgroup file system is mounted")
    return missing


def choose_snapshotter(scratch: Path) -> str:
    """overlayfs when an overlay mount works under the node's root, else native (a plain copy, slower)."""
    forced = os.environ.get(SNAPSHOTTER_ENV)
    if forced:
        return forced
    return "overlayfs" if mounts.overlayfs_works(scratch) else "native"


@dataclass
class RunningPod:
    """A pod brought up on the demo node. `container_ids` and `log_paths` map container name to the newest
    attempt; `attempts` keeps every container id ever created in the pod, oldest first."""

    spec: PodSpec
    sandbox_id: str
    sandbox_config: cri_pb2.PodSandboxConfig
    log_dir: Path
    container_ids: dict[str, str] = field(default_factory=dict)
    log_paths: dict[str, Path] = field(default_factory=dict)
    attempts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str:
        return self.spec.namespace

    @property
    def uid(self) -> str:
        return self.spec.uid

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def cgroup_parent(self) -> str:
        return self.spec.cgroup_parent

    def container(self, name: str) -> str:
        try:
            return self.container_ids[name]
        except KeyError:
            raise KeyError(f"pod {self.key} has no container {name!r} (has {sorted(self.container_ids)})") from None


_live_nodes: set["DemoNode"] = set()
_live_lock = threading.Lock()


def _stop_live_nodes() -> None:
    with _live_lock:
        nodes = list(_live_nodes)
    for node in nodes:
        node.stop()


atexit.register(_stop_live_nodes)


def _state_value(state: int | str) -> int:
    if isinstance(state, int):
        return state
    name = state.upper()
    if not name.startswith("CONTAINER_"):
        name = "CONTAINER_" + name
    return cri_pb2.ContainerState.Value(name)


class DemoNode:
    """A private containerd node. Use as a context manager, or call start() and stop().

    `root`: the directory for everything (a new one under the temp dir when None). stop() deletes it, or only empties
    it when it existed before start(); with `keep` it stays as it is (containerd log, pod logs) once the processes,
    mounts and cgroups are gone. A given root must be empty or an earlier demo node's directory.
    """

    def __init__(self, root: Path | None = None, keep: bool = False, *, call_timeout: float = 30.0) -> None:
        self._root_arg = Path(root) if root is not None else None
        self.keep = keep
        self.call_timeout = call_timeout
        self.layout: NodeLayout | None = None
        self.snapshotter: str | None = None
        self.image_ref = IMAGE_REF
        self.image_id: str | None = None
        self.timings: dict[str, float] = {}
        self.pods: dict[str, RunningPod] = {}
        self.teardown_problems: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._log_handle = None
        self._channel: grpc.Channel | None = None
        self._runtime: cri_pb2_grpc.RuntimeServiceStub | None = None
        self._images: cri_pb2_grpc.ImageServiceStub | None = None
        self._cgroup_parents: list[str] = []
        self._created_ancestors: list[str] = []
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()

    # ---- where things are ----

    def _need_layout(self) -> NodeLayout:
        if self.layout is None:
            raise DemoNodeError("the demo node is not started")
        return self.layout

    @property
    def root(self) -> Path:
        return self._need_layout().root

    @property
    def address(self) -> Path:
        """The containerd socket (CRI and the native API); the grpc target is `unix://<address>`."""
        return self._need_layout().socket

    @property
    def target(self) -> str:
        return f"unix://{self.address}"

    @property
    def pods_dir(self) -> Path:
        return self._need_layout().pods_dir

    @property
    def state_dir(self) -> Path:
        return self._need_layout().state_dir

    @property
    def containerd_root(self) -> Path:
        return self._need_layout().containerd_root

    @property
    def containerd_log(self) -> Path:
        return self._need_layout().log

    @property
    def containerd_pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    @property
    def runtime(self) -> cri_pb2_grpc.RuntimeServiceStub:
        """The raw CRI RuntimeService stub on this node (for tests that want to send their own calls)."""
        if self._runtime is None:
            raise DemoNodeError("containerd of the demo node is not running")
        return self._runtime

    @property
    def images(self) -> cri_pb2_grpc.ImageServiceStub:
        if self._images is None:
            raise DemoNodeError("containerd of the demo node is not running")
        return self._images

    def pod(self, key: str) -> RunningPod:
        """A running pod by `namespace/name`."""
        try:
            return self.pods[key]
        except KeyError:
            raise KeyError(f"no pod {key!r} on the demo node (has {sorted(self.pods)})") from None

    # ---- life cycle ----

    def __enter__(self) -> "DemoNode":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "DemoNode":
        if self._stopped:
            raise DemoNodeError("this demo node was stopped; create a new DemoNode")
        if self._started:
            return self
        missing = missing_prerequisites()
        if missing:
            raise NodeUnavailable("cannot run a demo node: " + "; ".join(missing))
        sweep_stale_nodes()
        self._started = True
        with _live_lock:
            _live_nodes.add(self)
        try:
            self._prepare_root()
            self.start_containerd()
            self._load_image()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_root(self) -> None:
        preexisted = False
        if self._root_arg is None:
            root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
        else:
            root = self._root_arg.resolve()
            # teardown deletes the root, so never adopt a directory holding anything but an earlier demo node
            if root.is_dir() and any(root.iterdir()) and not NodeLayout(root).config.exists():
                raise DemoNodeError(f"{root} is not empty and is not a demo node's directory; choose another root")
            preexisted = root.is_dir()
            root.mkdir(parents=True, exist_ok=True)
        self.layout = layout = NodeLayout(root)
        if len(str(layout.ttrpc_socket)) > SOCKET_PATH_MAX:
            raise DemoNodeError(f"root {root} is too long for a unix socket path; choose a shorter one")
        owner = psutil.Process()
        layout.owner_file.write_text(json.dumps({"pid": owner.pid, "create_time": owner.create_time(),
                                                "keep": self.keep, "root_preexisted": preexisted,
                                                "shim_dir_existed": cleanup.SHIM_SOCKET_DIR.parent.exists()}))
        for d in (layout.pods_dir, layout.image_dir, layout.cni_dir / "net.d", layout.cni_dir / "bin"):
            d.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self.snapshotter = choose_snapshotter(root / "overlay-probe")
        self.timings["snapshotter_probe"] = time.monotonic() - t0
        layout.config.write_text(render_config(layout, sandbox_image=self.image_ref, snapshotter=self.snapshotter,
                                               runc_binary=_which("runc") or "runc"))

    def start_containerd(self, timeout: float = 20.0) -> None:
        """Start (or restart) containerd on the node's root, state and socket; pods of an earlier run stay."""
        layout = self._need_layout()
        if self.containerd_pid is not None:
            return
        t0 = time.monotonic()
        binary = _which("containerd")
        if binary is None:
            raise NodeUnavailable("containerd not found")
        env = {**os.environ, "PATH": TOOL_PATH + os.pathsep + os.environ.get("PATH", "")}
        if self._log_handle is None:
            self._log_handle = open(layout.log, "ab")
        if not cleanup.containerd_processes(layout.config):
            # a killed containerd leaves its socket; without it we know the new daemon listens once it reappears
            layout.socket.unlink(missing_ok=True)
        self._proc = subprocess.Popen([binary, "--config", str(layout.config)], stdin=subprocess.DEVNULL,
                                      stdout=self._log_handle, stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True, close_fds=True)
        self._channel = grpc.insecure_channel(self.target, options=[
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ("grpc.enable_retries", 0),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ])
        self._runtime = cri_pb2_grpc.RuntimeServiceStub(self._channel)
        self._images = cri_pb2_grpc.ImageServiceStub(self._channel)
        self._wait_runtime_ready(timeout)
        self.timings["containerd_start"] = time.monotonic() - t0

    def _wait_runtime_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise DemoNodeError(f"containerd exited with code {self._proc.returncode} while starting:\n"
                                    f"{self.containerd_log_tail()}")
            if self.address.exists():
                try:
                    status = self.runtime.Status(cri_pb2.StatusRequest(), timeout=2)
                    conditions = {c.type: c for c in status.status.conditions}
                    ready = conditions.get("RuntimeReady")
                    if ready is not None and ready.status:
                        return
                    last = f"RuntimeReady is {ready.status if ready else 'missing'}"
                except grpc.RpcError as e:
                    last = f"{e.code().name}: {e.details()}"
            time.sleep(0.05)
        raise DemoNodeError(f"containerd did not become ready within {timeout:.0f}s ({last}):\n"
                            f"{self.containerd_log_tail()}")

    def containerd_log_tail(self, lines: int = 20) -> str:
        try:
            text = self._need_layout().log.read_text(errors="replace")
        except OSError:
            return "(no containerd log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop_containerd(self, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop containerd (SIGTERM, or SIGKILL when `kill`), leaving shims and containers running, as a crash or
        restart of containerd does. `start_containerd()` brings it back on the same state."""
        if self._channel is not None:
            self._channel.close()
        self._channel = self._runtime = self._images = None
        procs = []
        if self._proc is not None:
            try:
                procs.append(psutil.Process(self._proc.pid))
            except psutil.NoSuchProcess:
                pass
        if self.layout is not None:
            procs.extend(p for p in cleanup.containerd_processes(self.layout.config)
                         if all(p.pid != q.pid for q in procs))
        alive = cleanup.kill_and_reap(procs, 9 if kill else 15, timeout=timeout)
        if alive:
            cleanup.kill_and_reap([psutil.Process(pid) for pid in alive if psutil.pid_exists(pid)], timeout=5)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self._proc = None

    def _load_image(self) -> None:
        layout = self._need_layout()
        t0 = time.monotonic()
        tar_path = layout.image_dir / "busybox-oci.tar"
        if not tar_path.exists():
            try:
                build_image(layout.image_dir, self.image_ref)
            except ImageBuildError as e:
                raise NodeUnavailable(str(e)) from e
        self.timings["image_build"] = time.monotonic() - t0
        t0 = time.monotonic()
        cmd = [_which("ctr") or "ctr", "-a", str(layout.socket), "-n", "k8s.io", "images", "import",
               "--snapshotter", self.snapshotter or "overlayfs", str(tar_path)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise DemoNodeError(f"ctr images import failed ({result.returncode}): {result.stderr.strip()}")
        deadline = time.monotonic() + 10
        while True:
            status = self.images.ImageStatus(
                cri_pb2.ImageStatusRequest(image=cri_pb2.ImageSpec(image=self.image_ref)), timeout=5)
            if status.image.id:
                self.image_id = status.image.id
                break
            if time.monotonic() > deadline:
                raise DemoNodeError(f"CRI does not see the imported image {self.image_ref}")
            time.sleep(0.05)
        self.timings["image_import"] = time.monotonic() - t0

    # ---- pods ----

    def _record_cgroup_parent(self, parent: str) -> None:
        layout = self._need_layout()
        with self._lock:
            # ancestors like /kubepods/burstable that do not exist yet are ours to remove later
            parts = parent.strip("/").split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                ancestor = "/" + "/".join(parts[:depth])
                if ancestor in self._created_ancestors:
                    continue
                if not any((m / ancestor.lstrip("/")).exists() for m in cleanup.cgroup_mounts()):
                    self._created_ancestors.append(ancestor)
            self._cgroup_parents.append(parent)
            layout.cgroups_file.write_text(json.dumps({"parents": self._cgroup_parents,
                                                       "created_ancestors": self._created_ancestors}))

    def run_pod(self, spec: PodSpec) -> RunningPod:
        """RunPodSandbox, then CreateContainer and StartContainer for each container, as a kubelet does."""
        if spec.key in self.pods:
            raise DemoNodeError(f"pod {spec.key} already runs on the demo node")
        config = sandbox_config(spec, self.pods_dir)
        log_dir = Path(config.log_directory)
        log_dir.mkdir(parents=True, exist_ok=True)
        self._record_cgroup_parent(spec.cgroup_parent)
        try:
            sandbox_id = self.runtime.RunPodSandbox(cri_pb2.RunPodSandboxRequest(config=config),
                                                    timeout=self.call_timeout).pod_sandbox_id
        except grpc.RpcError as e:
            raise DemoNodeError(f"RunPodSandbox {spec.key} failed: {e.details()}") from None
        pod = RunningPod(spec=spec, sandbox_id=sandbox_id, sandbox_config=config, log_dir=log_dir)
        with self._lock:
            self.pods[spec.key] = pod
        for container in spec.containers:
            self.add_container(pod, container)
        return pod

    def run_pods(self, specs: list[PodSpec], workers: int = 4) -> list[RunningPod]:
        """Bring several pods up in parallel; returns them in the order given."""
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pods = list(pool.map(self.run_pod, specs))
        self.timings["pods_up"] = time.monotonic() - t0
        return pods

    def add_container(self, pod: RunningPod, container: ContainerSpec) -> str:
        """Create and start one container in a running pod. A container name used before with a higher `attempt`
        is how a kubelet restart looks (the old container stays, exited)."""
        config = container_config(pod.spec, container, self.image_ref)
        try:
            container_id = self.runtime.CreateContainer(cri_pb2.CreateContainerRequest(
                pod_sandbox_id=pod.sandbox_id, config=config, sandbox_config=pod.sandbox_config),
                timeout=self.call_timeout).container_id
            self.runtime.StartContainer(cri_pb2.StartContainerRequest(container_id=container_id),
                                        timeout=self.call_timeout)
        except grpc.RpcError as e:
            raise DemoNodeError(f"starting container {container.name} of pod {pod.key} failed: {e.details()}") \
                from None
        pod.container_ids[container.name] = container_id
        pod.log_paths[container.name] = pod.log_dir / config.log_path
        pod.attempts.append(container_id)
        names = [c.name for c in pod.spec.containers]
        if container.name in names:
            pod.spec.containers[names.index(container.name)] = container
        else:
            pod.spec.containers.append(container)
        return container_id

    def remove_pod(self, pod: RunningPod, timeout: int = 0) -> None:
        """StopPodSandbox (containers get `timeout` seconds after SIGTERM; 0 kills at once) and RemovePodSandbox,
        then remove the pod cgroup, as the kubelet does on pod deletion. Log files stay."""
        for container_id in pod.container_ids.values():
            try:
                self.runtime.StopContainer(cri_pb2.StopContainerRequest(container_id=container_id,
                                                                        timeout=timeout),
                                           timeout=self.call_timeout + timeout)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise DemoNodeError(f"StopContainer in pod {pod.key} failed: {e.details()}") from None
        try:
            self.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=pod.sandbox_id),
                                        timeout=self.call_timeout)
            self.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=pod.sandbox_id),
                                          timeout=self.call_timeout)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise DemoNodeError(f"removing pod {pod.key} failed: {e.details()}") from None
        with self._lock:
            self.pods.pop(pod.key, None)
        cleanup.remove_pod_cgroups([pod.cgroup_parent], [], retry_for=2.0)

    def container_status(self, container_id: str) -> cri_pb2.ContainerStatus:
        return self.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=container_id),
                                            timeout=self.call_timeout).status

    def wait_for_state(self, container_id: str, state: int | str, timeout: float = 10.0) -> cri_pb2.ContainerStatus:
        """Poll ContainerStatus until the container is in `state` (CONTAINER_RUNNING, "EXITED", 2, ...)."""
        want = _state_value(state)
        deadline = time.monotonic() + timeout
        while True:
            status = self.container_status(container_id)
            if status.state == want:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"container {container_id[:13]} ({status.metadata.name}) is "
                                   f"{cri_pb2.ContainerState.Name(status.state)}, not "
                                   f"{cri_pb2.ContainerState.Name(want)}, after {timeout:g}s")
            time.sleep(0.05)

    # ---- teardown ----

    def _remove_all_sandboxes(self) -> None:
        """Stop and remove every sandbox the runtime knows (the containerd is private, so all are ours)."""
        try:
            items = self.runtime.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=10).items
        except grpc.RpcError as e:
            self.teardown_problems.append(f"ListPodSandbox failed: {e.details()}")
            return

        def remove(sandbox_id: str) -> None:
            try:
                self.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30)
                self.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id),
                                              timeout=30)
            except grpc.RpcError as e:
                self.teardown_problems.append(f"removing sandbox {sandbox_id[:13]}: {e.details()}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(remove, [s.id for s in items]))
        self.pods.clear()

    def stop(self) -> list[str]:
        """Tear everything down; safe to call more than once and after a failed start. Returns the problems met
        (empty when all went), which are also kept in `teardown_problems`."""
        with self._lock:
            if self._stopped or not self._started:
                return self.teardown_problems
            self._stopped = True
        t0 = time.monotonic()
        try:
            if self._runtime is not None and self.containerd_pid is not None:
                self._remove_all_sandboxes()
        except Exception as e:  # teardown goes on whatever happens
            self.teardown_problems.append(f"removing pods: {e}")
        finally:
            try:
                self.stop_containerd()
            except Exception as e:
                self.teardown_problems.append(f"stopping containerd: {e}")
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
            if self.layout is not None:
                self.teardown_problems.extend(teardown_root(self.layout, keep=self.keep,
                                                            cgroup_parents=self._cgroup_parents,
                                                            created_ancestors=self._created_ancestors))
            with _live_lock:
                _live_nodes.discard(self)
        self.timings["teardown"] = time.monotonic() - t0
        return self.teardown_problems

    def leftovers(self) -> list[str]:
        """What of this node is still on the machine, as sentences (empty after a clean stop)."""
        if self.layout is None:
            return []
        return find_leftovers(self.layout, self._cgroup_parents, expect_root=self.keep)
