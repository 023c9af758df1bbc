"""The reader on the demo node's real containerd containers: found from the OCI spec and from the task pid."""
from __future__ import annotations

import json
import time

import pytest

from n9s.pb import cri_pb2
from n9s.sources.cgroups.reader import CgroupReader, cpu_cores

MIB = 1024 * 1024

pytestmark = pytest.mark.node


def spec_and_pid(node, container_id: str) -> tuple[str, int]:
    status = node.runtime.ContainerStatus(cri_pb2.ContainerStatusRequest(container_id=container_id, verbose=True))
    info = json.loads(status.info["info"])
    return info["runtimeSpec"]["linux"]["cgroupsPath"], int(info["pid"])


def test_memory_holder_limit_usage_and_pod_cgroup(demo_node):
    pod = demo_node.pod("demo/mem")
    cid = pod.container("holder")
    cgroups_path, pid = spec_and_pid(demo_node, cid)
    reader = CgroupReader()
    by_spec = reader.resolve(cid, cgroups_path=cgroups_path)
    by_pid = CgroupReader().resolve(cid, pid=pid)
    assert by_spec is not None and by_pid is not None
    assert by_spec.source == "spec" and by_pid.source == "proc"
    assert by_spec.path == f"{pod.cgroup_parent}/{cid}"
    assert by_spec.figure_dirs() == by_pid.figure_dirs()

    s = reader.read(by_spec, full=True)
    assert not s.vanished and s.problems == ()
    assert (s.memory_limit_bytes, s.memory_unlimited) == (256 * MIB, False)
    assert s.memory_working_set_bytes >= 48 * MIB  # the 48 MiB it holds in /dev/shm
    assert s.pids_current >= 1
    assert s.cpu_nr_periods is not None  # 100m CPU limit: CFS periods are counted
    assert s.oom_kills == 0

    pod_stats = reader.read_pod(by_spec)
    assert reader.pod_location(by_spec).path == pod.cgroup_parent
    assert pod_stats is not None and pod_stats.memory_usage_bytes >= s.memory_usage_bytes


def test_busy_container_uses_cpu_and_sleeping_one_does_not(demo_node):
    reader = CgroupReader()
    burner = demo_node.pod("demo/burn").container("burner")
    holder = demo_node.pod("demo/mem").container("holder")
    locs = {cid: reader.resolve(cid, cgroups_path=spec_and_pid(demo_node, cid)[0]) for cid in (burner, holder)}
    first = {cid: reader.read(loc) for cid, loc in locs.items()}
    time.sleep(0.5)
    second = {cid: reader.read(loc) for cid, loc in locs.items()}
    busy = cpu_cores(first[burner], second[burner])
    idle = cpu_cores(first[holder], second[holder])
    assert busy is not None and idle is not None
    assert busy > 0.1  # an endless shell loop: most of a core unless the machine is very loaded
    assert idle < busy
