"""The floor: one refresh's raw work with no UI, in plain Python, and n9s's Collector.refresh() beside it.

Raw work = ListPodSandbox + ListContainers on raw grpc stubs, then for each running container open/read/close of
its CPU usage file and two memory files (v1: cpuacct.usage, memory.usage_in_bytes, memory.stat; v2: cpu.stat,
memory.current, memory.stat). Where each container's cgroup is (one ContainerStatus each) is learned before the
clock starts, as n9s learns it once per container. Run as a subprocess so nothing else shares the CPU clock:
``python -m bench.floor --address SOCK --pods-dir DIR [--repeat 10]`` prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import grpc

from n9s.pb import cri_pb2, cri_pb2_grpc

CGROUP_ROOT = "/sys/fs/cgroup"


def cgroup_files(cgroups_path: str) -> list[str]:
    path = cgroups_path.strip("/")
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):  # v2
        base = os.path.join(CGROUP_ROOT, path)
        return [f"{base}/cpu.stat", f"{base}/memory.current", f"{base}/memory.stat"]
    return [f"{CGROUP_ROOT}/cpuacct/{path}/cpuacct.usage", f"{CGROUP_ROOT}/memory/{path}/memory.usage_in_bytes",
            f"{CGROUP_ROOT}/memory/{path}/memory.stat"]


def learn_cgroups(stub: cri_pb2_grpc.RuntimeServiceStub) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for c in stub.ListContainers(cri_pb2.ListContainersRequest(), timeout=30).containers:
        status = stub.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=c.id, verbose=True), timeout=30)
        info = json.loads(status.info.get("info", "{}"))
        path = ((info.get("runtimeSpec") or {}).get("linux") or {}).get("cgroupsPath")
        if path:
            files[c.id] = cgroup_files(path)
    return files


def raw_refresh(stub: cri_pb2_grpc.RuntimeServiceStub, files: dict[str, list[str]]) -> int:
    """One refresh's raw work; returns the number of files read."""
    stub.ListPodSandbox(cri_pb2.ListPodSandboxRequest(), timeout=30)
    containers = stub.ListContainers(cri_pb2.ListContainersRequest(), timeout=30).containers
    read = 0
    for c in containers:
        if c.state != cri_pb2.CONTAINER_RUNNING:
            continue
        for path in files.get(c.id, ()):
            try:
                with open(path, "rb") as f:
                    f.read()
                read += 1
            except OSError:
                pass
    return read


def _cpu() -> float:
    return time.process_time()  # every thread of this process (grpc polls in its own threads)


def timed(fn, repeat: int) -> dict[str, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = _cpu(), time.perf_counter()
        fn()
        cpu.append(_cpu() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_s_median": statistics.median(cpu), "cpu_s_mean": sum(cpu) / len(cpu),
            "wall_s_median": statistics.median(wall), "repeat": repeat}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floor")
    p.add_argument("--address", required=True)
    p.add_argument("--pods-dir", required=True)
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args(argv)

    channel = grpc.insecure_channel(f"unix://{args.address}",
                                    options=[("grpc.max_receive_message_length", 64 << 20)])
    stub = cri_pb2_grpc.RuntimeServiceStub(channel)
    files = learn_cgroups(stub)
    raw_refresh(stub, files)  # warm: connection, page cache of the dentries
    floor = timed(lambda: raw_refresh(stub, files), args.repeat)
    floor["files_per_refresh"] = raw_refresh(stub, files)
    # the least memory a Python process holding the CRI stubs and a grpc channel needs (before any n9s import)
    with open("/proc/self/statm", "rb") as f:
        floor["rss_bytes"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    from n9s.cli import make_collector

    collector = make_collector(args.address, "k8s.io", args.pods_dir)
    collector.refresh()  # first sight: cgroup resolution through the task pids
    collector.fill_status()  # what the app does after its first picture
    # As in the app, which reads containerd's event stream: the task list and CRI's lists are read again only
    # when an event asks (a quiet node: none does).
    collector.events_live = True
    collector.refresh()
    # As the app refreshes on the containers view (every list figure of every container, no pod cgroups) and on
    # the pods view (pod cgroups only); and on the pods view right after an event (CRI listed again).
    coll = timed(lambda: collector.refresh(pod_stats=False), args.repeat)
    pods_view = timed(lambda: collector.refresh(container_stats=False), args.repeat)
    pods_view_listed = timed(lambda: collector.refresh(container_stats=False, relist=True), args.repeat)
    picture = collector.refresh()
    coll["containers"] = len(picture.containers)
    coll["with_cpu"] = sum(1 for c in picture.containers if c.figures.cpu_cores is not None)
    coll["with_memory"] = sum(1 for c in picture.containers if c.figures.memory_working_set_bytes is not None)
    json.dump({"floor": floor, "collector": coll, "collector_pods_view": pods_view,
               "collector_pods_view_listed": pods_view_listed, "containers": len(files)},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
