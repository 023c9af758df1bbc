"""A real, private containerd node with kubelet-shaped demo pods, for tests, demos and benchmarks.

    from n9s.demo import DemoNode, default_pods

    with DemoNode() as node:                      # own containerd under /tmp/n9s-demo-*, image imported
        node.run_pods(default_pods())             # CRI RunPodSandbox / CreateContainer / StartContainer
        web = node.pod("default/web")             # RunningPod: sandbox_id, container_ids, log_paths, uid
        node.wait_for_state(web.container("logger"), "RUNNING")
        client_target = node.target               # "unix://<root>/containerd.sock" (CRI and native API)
    # stop(): pods, containerd, shims, container processes, mounts, pod cgroups and the directory are gone

From a shell: `python -m n9s.demo` (Ctrl-C tears down; `--json` prints paths, pods and timings; `--sweep` removes
nodes left by killed runs). Tests use the session fixture `demo_node` from tests/conftest.py.
"""
from n9s.demo.image import IMAGE_REF
from n9s.demo.node import (DemoNode, DemoNodeError, NodeUnavailable, RunningPod, choose_snapshotter,
                           missing_prerequisites)
from n9s.demo.pods import ContainerSpec, PodSpec, default_pods
from n9s.demo.teardown import sweep_stale_nodes

__all__ = [
    "IMAGE_REF", "ContainerSpec", "DemoNode", "DemoNodeError", "NodeUnavailable", "PodSpec", "RunningPod",
    "choose_snapshotter", "default_pods", "missing_prerequisites", "sweep_stale_nodes",
]
