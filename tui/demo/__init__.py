"""A real, private containerd node with kubelet-shaped demo pods (for tests, demos and benchmarks)."""
from n9s.demo.image import IMAGE_REF
from n9s.demo.node import (DemoNode, DemoNodeError, NodeUnavailable, RunningPod, missing_prerequisites,
                           sweep_stale_nodes)
from n9s.demo.pods import ContainerSpec, PodSpec, default_pods

__all__ = [
    "IMAGE_REF", "ContainerSpec", "DemoNode", "DemoNodeError", "NodeUnavailable", "PodSpec", "RunningPod",
    "default_pods", "missing_prerequisites", "sweep_stale_nodes",
]
