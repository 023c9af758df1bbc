"""The benchmark node: a real demo node (private containerd) with N pods of two containers each.

Pod 0 burns CPU (one container in a busy loop, capped by a CPU quota so the 2-core machine stays usable), every
tenth pod has a container logging a line a second, and one pod has a busy logger (10 lines a second; the memory
scenario keeps its log view open). Everything else sleeps. Pods are brought up in parallel; how long that takes
is part of the report.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from n9s.demo import ContainerSpec, DemoNode, PodSpec
from n9s.demo.pods import FOREVER

BURN_MILLICORES = 300  # a quota: the burner shows real CPU without taking a whole core of the two
LOG_EVERY = 10  # every tenth pod logs a line a second
BUSY_POD = "busy-0"


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


SLEEP = ["sleep", FOREVER]
SLOW_LOGGER = _sh('i=0; while :; do i=$((i+1)); echo "bench line $i"; sleep 1; done')
BUSY_LOGGER = _sh('i=0; while :; do i=$((i+1)); echo "busy line $i: GET /api/items status=200"; '
                  'usleep 100000; done')


def bench_pods(count: int) -> list[PodSpec]:
    """`count` pods, two containers each: the names say what each does."""
    pods: list[PodSpec] = []
    for i in range(count):
        if i == 0:
            pod = PodSpec(name="burn-0", namespace="bench", labels={"app": "burn"}, containers=[
                ContainerSpec("burner", _sh("while :; do :; done"), cpu_quota_millicores=BURN_MILLICORES),
                ContainerSpec("idle", SLEEP)])
        elif i == 1:
            pod = PodSpec(name=BUSY_POD, namespace="bench", labels={"app": "busy"}, containers=[
                ContainerSpec("busy-logger", BUSY_LOGGER), ContainerSpec("idle", SLEEP)])
        elif i % LOG_EVERY == 2:
            pod = PodSpec(name=f"logger-{i}", namespace=f"team-{i % 7}", labels={"app": "logger"}, containers=[
                ContainerSpec("app", SLEEP), ContainerSpec("logger", SLOW_LOGGER)])
        else:
            pod = PodSpec(name=f"sleeper-{i}", namespace=f"team-{i % 7}", labels={"app": "sleeper"},
                          qos=("burstable", "besteffort", "guaranteed")[i % 3], containers=[
                              ContainerSpec("app", SLEEP, memory_limit_bytes=64 << 20, cpu_quota_millicores=100),
                              ContainerSpec("sidecar", SLEEP, memory_limit_bytes=32 << 20,
                                            cpu_quota_millicores=50)])
        pods.append(pod)
    return pods


@dataclass
class ScaleNode:
    """A started demo node with `pods` pods, and how long each step took."""

    pods: int
    node: DemoNode
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return str(self.node.address)

    @property
    def pods_dir(self) -> str:
        return str(self.node.pods_dir)

    @property
    def containerd_pid(self) -> int:
        pid = self.node.containerd_pid
        if pid is None:
            raise RuntimeError("containerd of the bench node is not running")
        return pid

    def stop(self) -> list[str]:
        t0 = time.monotonic()
        problems = self.node.stop()
        self.timings["teardown_s"] = time.monotonic() - t0
        return problems


def start_scale_node(pods: int, workers: int | None = None) -> ScaleNode:
    """Start a demo node and bring `pods` pods up, `workers` at a time (default: 2 per core, at least 4)."""
    workers = workers or max(4, 2 * (os.cpu_count() or 2))
    node = DemoNode()
    t0 = time.monotonic()
    node.start()
    started = time.monotonic()
    try:
        node.run_pods(bench_pods(pods), workers=workers)
    except BaseException:
        node.stop()
        raise
    done = time.monotonic()
    return ScaleNode(pods, node, {
        "node_start_s": started - t0,
        "pods_up_s": done - started,
        "pods_per_s": pods / max(done - started, 1e-9),
        "workers": float(workers),
    })
