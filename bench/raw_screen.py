"""Baseline for "first screen" and "dump": the least a fresh Python process must do to print every pod with its
memory, using raw grpc stubs and open/read (no n9s code, no Textual).

``python -m bench.raw_screen SOCK`` lists sandboxes and containers, asks ContainerStatus once per container for
its cgroup (as n9s does on first sight), reads each running container's memory usage, and prints one line per
pod. The parent times it from spawn to exit.
"""
from __future__ import annotations

import json
import os
import sys
from collections import defaultdict

import grpc

from n9s.pb import cri_pb2, cri_pb2_grpc

CGROUP_ROOT = "/sys/fs/cgroup"


def memory_file(cgroups_path: str) -> str:
    path = cgroups_path.strip("/")
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return f"{CGROUP_ROOT}/{path}/memory.current"
    return f"{CGROUP_ROOT}/memory/{path}/memory.usage_in_bytes"


def main(address: str) -> int:
    stub = cri_pb2_grpc.RuntimeServiceStub(grpc.insecure_channel(
        f"unix://{address}", options=[("grpc.max_receive_message_length", 64 << 20)]))
    sandboxes = stub.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=30).items
    containers = stub.ListContainers(cri_pb2.ListContainersRequest(), timeout=30).containers
    memory: dict[str, int] = defaultdict(int)
    ready: dict[str, int] = defaultdict(int)
    for c in containers:
        if c.state != cri_pb2.CONTAINER_RUNNING:
            continue
        ready[c.pod_sandbox_id] += 1
        status = stub.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=c.id, verbose=True), timeout=30)
        info = json.loads(status.info.get("info", "{}"))
        path = ((info.get("runtimeSpec") or {}).get("linux") or {}).get("cgroupsPath")
        if path:
            try:
                with open(memory_file(path), "rb") as f:
                    memory[c.pod_sandbox_id] += int(f.read())
            except (OSError, ValueError):
                pass
    out = [f"{s.metadata.namespace:<12} {s.metadata.name:<20} {ready[s.id]:>3} {memory[s.id] / 1024:>10.1f} KiB"
           for s in sorted(sandboxes, key=lambda s: (s.metadata.namespace, s.metadata.name))]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
