"""The reader against this machine's real cgroupfs: a process in fresh v1 cgroups, found via /proc/<pid>/cgroup.

Needs root and a writable v1 (or hybrid) /sys/fs/cgroup; skipped with the reason otherwise."""
from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from n9s.sources.cgroups.paths import UNIFIED, HierarchyMode, detect_layout
from n9s.sources.cgroups.reader import CgroupReader, cpu_cores

ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "blkio")


@dataclass
class ScratchCgroup:
    name: str
    dirs: dict[str, str]  # controller (or "unified") -> directory we created

    def inside(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into every cgroup, so all the work is accounted there.
        (Not a preexec_fn: that makes subprocess fork() this process, grpc threads and all; see test_security_files.)"""
        procs = " ".join(shlex.quote(os.path.join(d, "cgroup.procs")) for d in self.dirs.values())
        return ["sh", "-c", f'for p in {procs}; do echo $$ > "$p" || exit 125; done; exec "$@"', "sh", *argv]

    def write(self, controller: str, name: str, value: str) -> None:
        with open(os.path.join(self.dirs[controller], name), "w") as f:
            f.write(value)


def _remove(dirs: list[str]) -> None:
    for d in dirs:
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)  # the last task may still be exiting


@pytest.fixture
def scratch_cgroup() -> Iterator[ScratchCgroup]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    layout = detect_layout(ROOT)
    if layout.mode not in (HierarchyMode.V1, HierarchyMode.HYBRID):
        pytest.skip(f"{ROOT} is {layout.mode.value}, this test needs cgroup v1 controllers")
    missing = [c for c in ("cpu", "cpuacct", "memory", "pids") if c not in layout.v1_mounts]
    if missing:
        pytest.skip(f"v1 controllers not mounted: {', '.join(missing)}")
    name = f"n9s-test-{secrets.token_hex(4)}"
    created: list[str] = []
    dirs: dict[str, str] = {}
    try:
        for controller in CONTROLLERS:
            mount = layout.v1_mounts.get(controller)
            if mount is None:
                continue
            d = os.path.join(mount, name)
            if not os.path.isdir(d):  # co-mounted controllers share one directory
                try:
                    os.mkdir(d)
                except OSError as e:
                    pytest.skip(f"cannot create a cgroup under {mount}: {e.strerror}")
                created.append(d)
            dirs[controller] = d
        if layout.mode is HierarchyMode.HYBRID and layout.unified_mount:
            d = os.path.join(layout.unified_mount, name)
            try:
                os.mkdir(d)
                created.append(d)
                dirs[UNIFIED] = d
            except OSError:
                pass  # PSI part is optional
        yield ScratchCgroup(name=name, dirs=dirs)
    finally:
        _remove(list(reversed(created)))


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _kernel_value(path: str) -> int:
    with open(path) as f:
        return int(f.read())


@pytest.mark.parametrize("keep_open", [False, True], ids=["open-per-read", "keep-open"])
def test_real_v1_cgroup_resolved_from_proc_and_read(scratch_cgroup: ScratchCgroup, keep_open: bool):
    cg = scratch_cgroup
    cg.write("memory", "memory.limit_in_bytes", str(64 * 1024 * 1024))
    cg.write("pids", "pids.max", "16")
    cg.write("cpu", "cpu.cfs_quota_us", "50000")  # half a core, so CFS periods are counted
    script = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 60"
    proc = subprocess.Popen(cg.inside(["sh", "-c", script]))
    reader = CgroupReader(keep_open=keep_open)
    try:
        _wait_for(lambda: _comm(proc.pid) == "sleep")
        loc = reader.resolve("real-ctr", pid=proc.pid)
        assert loc is not None, reader.unresolved_reason("real-ctr")
        assert loc.source == "proc"
        assert loc.dirs["memory"] == cg.dirs["memory"]
        assert loc.dirs["cpuacct"] == cg.dirs["cpuacct"]

        first = reader.read(loc, full=True)
        time.sleep(0.3)
        second = reader.read(loc, full=True)

        assert not second.vanished and second.problems == ()
        assert second.cpu_usage_ns == _kernel_value(os.path.join(cg.dirs["cpuacct"], "cpuacct.usage"))
        assert second.cpu_usage_ns > 0  # the shell loop ran in this cgroup
        assert second.cpu_nr_periods > 0
        assert second.cpu_nr_throttled <= second.cpu_nr_periods
        assert second.memory_usage_bytes > 0
        assert 0 <= second.memory_working_set_bytes <= second.memory_usage_bytes
        assert (second.memory_limit_bytes, second.memory_unlimited) == (64 * 1024 * 1024, False)
        assert second.pids_current == 1
        assert (second.pids_max, second.pids_unlimited) == (16, False)
        assert second.oom_kills == 0
        if "blkio" in cg.dirs:
            assert second.io_read_bytes is not None and second.io_write_bytes is not None
        if UNIFIED in cg.dirs:
            assert UNIFIED in loc.dirs
            assert second.psi_cpu_some_avg10 is not None and second.psi_memory_some_avg10 is not None
        cores = cpu_cores(first, second)
        assert cores is not None and cores < 0.05  # sleep uses no CPU: a real, near-zero rate

        proc.kill()
        proc.wait()
        _remove(list(dict.fromkeys(cg.dirs.values())))
        gone = reader.read(loc, full=True)  # kept files of a removed cgroup fail with ENODEV
        assert gone.vanished
        assert gone.cpu_usage_ns is None and gone.memory_usage_bytes is None
        reader.forget("real-ctr")
        assert reader.open_file_count == 0
    finally:
        reader.close()
        proc.kill()
        proc.wait()


def test_real_oom_kill_is_counted(scratch_cgroup: ScratchCgroup):
    cg = scratch_cgroup
    limit = 32 * 1024 * 1024
    cg.write("memory", "memory.limit_in_bytes", str(limit))
    memsw = os.path.join(cg.dirs["memory"], "memory.memsw.limit_in_bytes")
    if os.path.exists(memsw):
        cg.write("memory", "memory.memsw.limit_in_bytes", str(limit))  # no escaping to swap
    reader = CgroupReader()
    hog = subprocess.run(cg.inside([sys.executable, "-c", "b = bytearray(256 * 1024 * 1024); b[::4096] = b'x' * 65536"]),
                         capture_output=True, timeout=60)
    assert hog.returncode == -9  # SIGKILL from the OOM killer
    loc = reader.resolve("oom", cgroups_path="/" + cg.name)
    assert loc is not None and loc.source == "spec"
    stats = reader.read(loc, full=True)
    assert stats.oom_kills is not None and stats.oom_kills >= 1
    assert stats.pids_current == 0
