"""pytest fixtures for the fake API server; import them by name into a test module."""
from __future__ import annotations

import pytest

from .manifests import container, node_manifest, pod_manifest
from .server import FakeKube

NODE = "node-1"


def seed_pods() -> list[dict]:
    """A small realistic node: a two-container web pod, a crash-looping pod, and a pod on another node."""
    return [
        pod_manifest("default", "web", node=NODE, owner=("ReplicaSet", "web-7d9f"), containers=[
            container("server", "nginx:1.25", requests={"cpu": "100m", "memory": "64Mi"}, limits={"memory": "128Mi"}),
            container("logger", "busybox:1.36"),
        ]),
        pod_manifest("demo", "crash", node=NODE, containers=[
            container("failing", "busybox:1.36", state="waiting", reason="CrashLoopBackOff", restarts=4,
                      last_terminated={"reason": "Error", "exit_code": 3}),
        ]),
        pod_manifest("default", "elsewhere", node="node-2"),
    ]


@pytest.fixture
def fake_kube():
    with FakeKube(pods=seed_pods(), nodes=[node_manifest(NODE), node_manifest("node-2")],
                  bookmark_interval=0.2, deletion_delay=0.2) as fake:
        yield fake


@pytest.fixture
def kubeconfig(fake_kube, tmp_path):
    return fake_kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kube(kubeconfig):
    from n9s.sources.kube.client import KubeClient

    client = KubeClient.from_config(str(kubeconfig), connect_timeout=1.0, read_timeout=5.0)
    yield client
    client.close()
