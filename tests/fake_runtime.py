"""Runtime stand-ins for collector tests that need no socket and no node: a CRI with one pod ("ns/web", one
running container "app") and a containerd client that only lists tasks."""
from __future__ import annotations

from types import SimpleNamespace

from n9s.sources.cri import Container, PodSandbox


class FakeCri:
    def __init__(self, container_id: str = "c1", pod_uid: str = "uid", *, log_path: str = "",
                 cgroups_path: str = "", uid_label: bool = True):
        self.container_id, self.pod_uid = container_id, pod_uid
        self.log_path, self.cgroups_path, self.uid_label = log_path, cgroups_path, uid_label
        self.status_calls = 0
        self.listings = 0  # ListContainers calls
        self.state = "RUNNING"  # what the container list says about "app"
        self.down: Exception | None = None  # raised by the list calls while set

    def list_pod_sandboxes(self):
        if self.down is not None:
            raise self.down
        return [PodSandbox("sb", "web", "ns", self.pod_uid, 0, "READY", 1, {}, {})]

    def list_containers(self):
        if self.down is not None:
            raise self.down
        self.listings += 1
        labels = {"io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "ns"}
        if self.uid_label:
            labels["io.kubernetes.pod.uid"] = self.pod_uid
        return [Container(self.container_id, "sb", "app", 0, "img", "img", self.state, 1, labels, {})]

    def container_status(self, cid, verbose=False):
        self.status_calls += 1
        spec = {"linux": {"cgroupsPath": self.cgroups_path}} if self.cgroups_path else {}
        return SimpleNamespace(log_path=self.log_path, runtime_spec=spec, pid=None, state="RUNNING", exit_code=0,
                               reason="", finished_at_ns=0)

    def version(self, *, timeout=None):
        return SimpleNamespace(runtime_name="fake", runtime_version="1", runtime_api_version="v1")

    def status(self, verbose=False):
        return SimpleNamespace(conditions=(), config=lambda: {})

    def close(self):
        pass

    def reconnect(self):
        pass


def running_task(container_id: str, pid: int) -> SimpleNamespace:
    return SimpleNamespace(container_id=container_id, pid=pid, status="RUNNING", exit_status=0, exited_at_ns=0)


class FakeContainerd:
    """Answers Tasks.List with ``tasks`` and counts the calls (containerd asks every shim on each)."""

    def __init__(self, tasks: list[SimpleNamespace]):
        self._tasks = tasks
        self.listings = 0

    def tasks(self):
        self.listings += 1
        return list(self._tasks)

    def processes(self, container_id: str):
        return []  # no execs

    def version(self):
        return SimpleNamespace(version="1")

    def plugins(self):
        return []

    def close(self):
        pass

    def reconnect(self):
        pass
