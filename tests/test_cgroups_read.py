"""Reading cgroup figures from fixture trees: v2 (systemd, cgroupfs), v1, hybrid; LIGHT vs FULL; broken files."""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from n9s.sources.cgroups.paths import UNIFIED
from n9s.sources.cgroups.reader import CgroupReader, CgroupStats, cpu_cores, throttled_fraction

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"
PROC = str(FIXTURES / "proc")
POD_UID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
CTR = "3f9a0c1e7b2d4a5f8e6c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4"
PAUSE = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
BURSTABLE_SLICE = f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
BESTEFFORT_SLICE = f"kubepods-besteffort-pod{POD_UID.replace('-', '_')}.slice"

DETAIL_ONLY = ("pids_max", "io_read_bytes", "io_write_bytes", "psi_cpu_some_avg10",
               "psi_cpu_full_avg10", "psi_memory_some_avg10", "psi_memory_full_avg10", "psi_io_some_avg10",
               "psi_io_full_avg10")


def figures(stats: CgroupStats) -> dict[str, object]:
    return {f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)
            if f.name not in ("timestamp_ns", "full", "vanished", "problems")}


@pytest.fixture
def v2_systemd():
    reader = CgroupReader(root=str(FIXTURES / "v2-systemd"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}")
    assert loc is not None
    return reader, loc


def copy_tree(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    return root


# ---------------------------------------------------------------- v2


def test_v2_full_read_of_a_limited_throttled_container(v2_systemd):
    reader, loc = v2_systemd
    s = reader.read(loc, full=True)
    assert s.full and not s.vanished and s.problems == ()
    assert s.cpu_usage_ns == 84213377 * 1000  # usage_usec in ns
    assert (s.cpu_nr_periods, s.cpu_nr_throttled, s.cpu_throttled_ns) == (21077, 1311, 40716102 * 1000)
    assert s.memory_usage_bytes == 183500800
    assert s.memory_working_set_bytes == 183500800 - 41885696  # memory.current - inactive_file
    assert s.memory_rss_bytes == 121454592  # anon
    assert s.memory_cache_bytes == 58171392  # file
    assert (s.memory_limit_bytes, s.memory_unlimited) == (268435456, False)
    assert s.pids_current == 17
    assert (s.pids_max, s.pids_unlimited) == (None, True)  # pids.max "max"
    assert s.oom_kills == 1
    assert (s.psi_cpu_some_avg10, s.psi_cpu_full_avg10) == (3.25, 1.50)
    assert (s.psi_memory_some_avg10, s.psi_memory_full_avg10) == (0.31, 0.27)
    assert (s.psi_io_some_avg10, s.psi_io_full_avg10) == (0.12, 0.08)
    assert s.io_read_bytes == 10485760 + 1048576  # summed over both devices
    assert s.io_write_bytes == 4194304


def test_light_read_leaves_detail_figures_unread(v2_systemd):
    reader, loc = v2_systemd
    light = reader.read(loc)
    full = reader.read(loc, full=True)
    assert not light.full
    for name in DETAIL_ONLY:
        assert getattr(light, name) is None, name
        assert getattr(full, name) is not None or name == "pids_max", name
    shared = {k: v for k, v in figures(full).items() if k not in DETAIL_ONLY and k != "pids_unlimited"}
    assert {k: v for k, v in figures(light).items() if k in shared} == shared


def test_v2_cgroupfs_unlimited_memory_old_kernel_psi_and_no_io_yet():
    reader = CgroupReader(root=str(FIXTURES / "v2-cgroupfs"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"/kubepods/besteffort/pod{POD_UID}/{CTR}")
    s = reader.read(loc, full=True)
    assert s.problems == ()
    assert (s.memory_limit_bytes, s.memory_unlimited, s.memory_limit_known) == (None, True, True)
    assert (s.pids_max, s.pids_unlimited) == (512, False)
    assert s.psi_cpu_some_avg10 == 0.58
    assert s.psi_cpu_full_avg10 is None  # kernels before 5.13 print no "full" line for CPU
    assert s.psi_memory_full_avg10 == 0.0
    assert (s.io_read_bytes, s.io_write_bytes) == (0, 0)  # empty io.stat: no I/O yet
    assert s.oom_kills == 3
    assert s.cpu_nr_throttled == 0 and s.cpu_usage_ns == 1523311000


def test_v2_pod_read_and_pause_container(v2_systemd):
    reader, loc = v2_systemd
    pod = reader.read_pod(loc, full=True)
    assert pod is not None
    assert pod.memory_usage_bytes == 184111104
    assert pod.pids_current == 18 and pod.pids_max == 4096
    assert pod.memory_unlimited
    pause = reader.resolve(PAUSE, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{PAUSE}")
    p = reader.read(pause, full=True)
    assert p.memory_working_set_bytes == 245760  # inactive_file 0
    assert (p.io_read_bytes, p.io_write_bytes) == (0, 0)


def test_v2_without_cpu_controller_has_usage_but_no_throttling(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("")
    d = tmp_path / "ctr"
    d.mkdir()
    # What cgroup2 writes in a cgroup without the cpu controller (captured from this machine's unified tree).
    (d / "cpu.stat").write_text("usage_usec 499827\nuser_usec 499827\nsystem_usec 0\nnice_usec 0\n")
    reader = CgroupReader(root=str(tmp_path), proc_root=PROC)
    s = reader.read(reader.resolve("c", cgroups_path="/ctr"), full=True)
    assert s.cpu_usage_ns == 499827000
    assert s.cpu_nr_periods is None and s.cpu_nr_throttled is None and s.cpu_throttled_ns is None
    assert s.memory_usage_bytes is None and not s.memory_limit_known  # no memory controller: unknown
    assert not s.vanished and s.problems == ()


# ---------------------------------------------------------------- v1 and hybrid


def test_v1_full_read_of_captured_container():
    reader = CgroupReader(root=str(FIXTURES / "v1-cgroupfs"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"/kubepods/burstable/pod{POD_UID}/{CTR}")
    s = reader.read(loc, full=True)
    assert s.problems == ()
    assert s.cpu_usage_ns == 161968068  # cpuacct.usage, already ns
    assert (s.cpu_nr_periods, s.cpu_nr_throttled, s.cpu_throttled_ns) == (19, 16, 1387546517)
    assert s.memory_usage_bytes == 48459776
    assert s.memory_working_set_bytes == 48459776 - 8355840  # usage - total_inactive_file
    assert s.memory_rss_bytes == 39841792 and s.memory_cache_bytes == 8355840  # total_rss, total_cache
    assert (s.memory_limit_bytes, s.memory_unlimited) == (268435456, False)
    assert (s.pids_current, s.pids_max) == (3, 64)
    assert s.oom_kills == 2  # memory.oom_control oom_kill
    assert (s.io_read_bytes, s.io_write_bytes) == (8392704, 8396800)  # blkio Read / Write lines
    assert s.psi_cpu_some_avg10 is None  # v1 has no pressure files


def test_v1_pod_read():
    reader = CgroupReader(root=str(FIXTURES / "v1-cgroupfs"), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4444)
    pod = reader.read_pod(loc)
    assert pod is not None
    assert pod.cpu_usage_ns == 162301115
    assert pod.memory_usage_bytes == 48955392 and pod.memory_limit_bytes == 536870912
    assert pod.pids_current == 4
    # The pod cgroup's own inactive_file is 0; the hierarchical total_inactive_file is what counts.
    assert pod.memory_working_set_bytes == 48955392 - 8355840
    assert pod.memory_rss_bytes == 40337408  # total_rss, not the local rss 0


def test_v1_working_set_unknown_without_memory_stat(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    (root / "memory/kubepods/burstable" / f"pod{POD_UID}" / "memory.stat").unlink()
    reader = CgroupReader(root=str(root), proc_root=PROC)
    pod = reader.read_pod(reader.resolve(CTR, pid=4444))
    assert pod.memory_usage_bytes == 48955392
    assert pod.memory_working_set_bytes is None  # unknown, never usage passed off as working set


def test_hybrid_reads_v1_controllers_and_pressure_from_unified():
    reader = CgroupReader(root=str(FIXTURES / "hybrid-systemd"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"{BESTEFFORT_SLICE}:cri-containerd:{CTR}")
    s = reader.read(loc, full=True)
    assert s.problems == ()
    assert s.cpu_usage_ns == 2290157348  # from cpuacct.usage, not the unified cpu.stat
    assert s.memory_usage_bytes == 21229568
    assert s.memory_working_set_bytes == 21229568 - 331776
    assert (s.memory_limit_bytes, s.memory_unlimited) == (None, True)  # 9223372036854771712 is "no limit"
    assert (s.pids_current, s.pids_max, s.pids_unlimited) == (5, None, True)
    assert (s.io_read_bytes, s.io_write_bytes) == (0, 0)  # "Total 0" only
    assert s.oom_kills == 0
    assert (s.psi_cpu_some_avg10, s.psi_io_some_avg10, s.psi_io_full_avg10) == (0.42, 0.02, 0.02)


def test_hybrid_pod_slice_read():
    reader = CgroupReader(root=str(FIXTURES / "hybrid-systemd"), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4343)
    pod = reader.read_pod(loc)
    assert pod is not None
    assert pod.cpu_usage_ns == 2301448810 and pod.memory_usage_bytes == 21475328
    assert pod.pids_current is None  # the pod slice has no pids directory in this tree


def test_v1_without_pids_and_blkio_controllers(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    shutil.rmtree(root / "pids")
    shutil.rmtree(root / "blkio")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4444)
    assert set(loc.dirs) == {"cpu", "cpuacct", "memory"}
    s = reader.read(loc, full=True)
    assert s.pids_current is None and s.pids_max is None and not s.pids_limit_known
    assert s.io_read_bytes is None
    assert s.memory_usage_bytes == 48459776 and not s.vanished


def test_v1_old_kernel_without_recursive_blkio_file(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    blkio = root / "blkio/kubepods/burstable" / f"pod{POD_UID}" / CTR
    (blkio / "blkio.throttle.io_service_bytes_recursive").unlink()
    (blkio / "blkio.throttle.io_service_bytes").write_text("8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n"
                                                          "8:0 Async 0\n8:0 Total 4096\nTotal 4096\n")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4444), full=True)
    assert (s.io_read_bytes, s.io_write_bytes) == (4096, 0)
    assert not s.vanished


# ---------------------------------------------------------------- broken files


def v2_container_dir(root: Path) -> Path:
    return root / "kubepods" / "besteffort" / f"pod{POD_UID}" / CTR


def test_missing_file_blanks_only_its_figures(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    (v2_container_dir(root) / "memory.stat").unlink()
    (v2_container_dir(root) / "memory.events").unlink()
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4242), full=True)
    assert s.memory_usage_bytes == 9134080
    assert s.memory_working_set_bytes is None  # needs inactive_file from memory.stat
    assert s.memory_rss_bytes is None and s.memory_cache_bytes is None and s.oom_kills is None
    assert s.cpu_usage_ns == 1523311000 and s.pids_current == 2
    assert not s.vanished and s.problems == ()  # a missing file is not a problem to report


def test_directory_in_place_of_a_file_is_reported_and_blank(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    target = v2_container_dir(root) / "memory.current"
    target.unlink()
    target.mkdir()
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4242))
    assert s.memory_usage_bytes is None and s.memory_working_set_bytes is None
    assert s.memory_cache_bytes == 2433024  # memory.stat still read
    assert any(p.startswith("memory.current:") for p in s.problems)


def test_permission_denied_blanks_the_figure_and_is_reported(tmp_path, monkeypatch):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4242)
    real_open = os.open

    def guarded(path, flags, *args, **kwargs):
        if str(path).endswith("/cpu.stat"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    s = reader.read(loc, full=True)
    assert s.cpu_usage_ns is None and s.cpu_nr_throttled is None
    assert s.memory_usage_bytes == 9134080
    assert s.problems == ("cpu.stat: Permission denied",)


def test_garbled_files_give_none_and_a_problem(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    d = v2_container_dir(root)
    (d / "memory.max").write_text("lots\n")
    (d / "pids.current").write_text("-3\n")
    (d / "cpu.stat").write_bytes(b"\xff\xfe garbage \x00\n")
    (d / "io.stat").write_text("nothing useful here\n")
    (d / "cpu.pressure").write_text("some avg10=nan avg60=0 avg300=0 total=0\n")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4242), full=True)
    assert (s.memory_limit_bytes, s.memory_unlimited, s.memory_limit_known) == (None, False, False)
    assert s.pids_current is None and s.cpu_usage_ns is None
    assert (s.io_read_bytes, s.io_write_bytes) == (None, None)
    assert s.psi_cpu_some_avg10 is None
    assert s.memory_usage_bytes == 9134080  # untouched files still count
    bad = {p.split(":")[0] for p in s.problems}
    assert bad == {"memory.max", "pids.current", "cpu.stat", "io.stat", "cpu.pressure"}


def test_working_set_is_floored_at_zero(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    mem = root / "memory/kubepods/burstable" / f"pod{POD_UID}" / CTR
    # v1 usage_in_bytes is batched per CPU and can lag below the memory.stat sums.
    (mem / "memory.usage_in_bytes").write_text("8000000\n")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4444))
    assert s.memory_working_set_bytes == 0


def test_vanished_cgroup_gives_all_none_and_no_exception(tmp_path):
    root = copy_tree(tmp_path, "v2-systemd")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}")
    before = reader.read(loc)
    shutil.rmtree(loc.dirs[UNIFIED])
    after = reader.read(loc, full=True)
    assert after.vanished
    assert all(v in (None, False) for v in figures(after).values())
    assert cpu_cores(before, after) is None
    assert reader.read_pod(loc) is not None  # the pod slice is still there


def test_vanished_v1_cgroup(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4444)
    for controller in ("cpu,cpuacct", "memory", "pids", "blkio"):
        shutil.rmtree(root / controller / "kubepods/burstable" / f"pod{POD_UID}" / CTR)
    assert reader.read(loc).vanished
    assert reader.read(loc, full=True).vanished


def test_fifo_in_place_of_a_file_does_not_block(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    target = v2_container_dir(root) / "pids.current"
    target.unlink()
    os.mkfifo(target)
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4242))
    assert s.pids_current is None
    assert s.cpu_usage_ns == 1523311000


def test_oversized_file_is_refused(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    (v2_container_dir(root) / "memory.stat").write_text("anon 1\n" * 300_000)
    reader = CgroupReader(root=str(root), proc_root=PROC)
    s = reader.read(reader.resolve(CTR, pid=4242))
    assert s.memory_rss_bytes is None
    assert any(p.startswith("memory.stat:") for p in s.problems)


# ---------------------------------------------------------------- rates


def sample(t: int, usage: int | None, periods: int | None = None, throttled: int | None = None) -> CgroupStats:
    return CgroupStats(timestamp_ns=t, cpu_usage_ns=usage, cpu_nr_periods=periods, cpu_nr_throttled=throttled)


def test_cpu_cores_is_cpu_time_over_wall_time():
    assert cpu_cores(sample(0, 1_000_000_000), sample(2_000_000_000, 4_000_000_000)) == 1.5
    assert cpu_cores(sample(0, 5), sample(1_000_000_000, 5)) == 0.0  # idle is a real 0


def test_cpu_cores_none_without_a_usable_previous_sample():
    cur = sample(2_000_000_000, 4_000_000_000)
    assert cpu_cores(None, cur) is None  # first sample
    assert cpu_cores(sample(0, 9_000_000_000), cur) is None  # counter went backwards: cgroup recreated
    assert cpu_cores(sample(2_000_000_000, 1), cur) is None  # no time passed
    assert cpu_cores(sample(0, None), cur) is None
    assert cpu_cores(sample(0, 1), sample(1, None)) is None


def test_throttled_fraction():
    assert throttled_fraction(sample(0, 0, 100, 10), sample(1, 0, 200, 35)) == 0.25
    assert throttled_fraction(None, sample(1, 0, 200, 35)) is None
    assert throttled_fraction(sample(0, 0, 100, 10), sample(1, 0, 100, 10)) is None  # no CFS periods: no limit
    assert throttled_fraction(sample(0, 0, None, None), sample(1, 0, 200, 35)) is None
    assert throttled_fraction(sample(0, 0, 300, 40), sample(1, 0, 200, 35)) is None  # reset


def test_cpu_cores_between_two_reads_of_a_changing_tree(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4242)
    first = reader.read(loc)
    stat = v2_container_dir(root) / "cpu.stat"
    stat.write_text(stat.read_text().replace("usage_usec 1523311", "usage_usec 2523311"))
    second = reader.read(loc)
    cores = cpu_cores(first, second)
    assert cores is not None
    assert cores == pytest.approx(1e9 / (second.timestamp_ns - first.timestamp_ns))


# ---------------------------------------------------------------- keeping files open between refreshes


@pytest.mark.parametrize("tree,pid", [("v2-systemd", 4545), ("v2-cgroupfs", 4242), ("v1-cgroupfs", 4444),
                                      ("hybrid-systemd", 4343)])
def test_keep_open_reads_the_same_figures(tree, pid):
    plain = CgroupReader(root=str(FIXTURES / tree), proc_root=PROC)
    with CgroupReader(root=str(FIXTURES / tree), proc_root=PROC, keep_open=True) as kept:
        for full in (False, True):
            a = plain.read(plain.resolve(CTR, pid=pid), full=full)
            b = kept.read(kept.resolve(CTR, pid=pid), full=full)
            again = kept.read(kept.resolve(CTR, pid=pid), full=full)  # second read: from the kept files
            assert figures(a) == figures(b) == figures(again)
        assert kept.open_file_count > 0
    assert kept.open_file_count == 0  # closed on exit


def test_keep_open_sees_new_values_and_forget_closes_files(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC, keep_open=True)
    loc = reader.resolve(CTR, pid=4242)
    assert reader.read(loc).memory_usage_bytes == 9134080
    opened = reader.open_file_count
    assert opened == 6  # cpu.stat, memory.current, memory.stat, memory.max, pids.current, memory.events
    (v2_container_dir(root) / "memory.current").write_text("10000000\n")
    assert reader.read(loc).memory_usage_bytes == 10000000
    assert reader.open_file_count == opened  # nothing reopened
    reader.forget(CTR)
    assert reader.open_file_count == 0


def test_keep_open_picks_a_changed_stat_file_again_and_still_reports_garbage(tmp_path):
    root = copy_tree(tmp_path, "v2-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC, keep_open=True)
    loc = reader.resolve(CTR, pid=4242)
    stat = v2_container_dir(root) / "memory.stat"
    first = reader.read(loc)
    assert reader.read(loc).memory_working_set_bytes == first.memory_working_set_bytes  # the same text, kept
    text = stat.read_text()
    stat.write_text(text.replace("anon 6463488", "anon 7000000").replace("inactive_file 2162688", "inactive_file 1000000"))
    changed = reader.read(loc)
    assert first.memory_working_set_bytes == 9134080 - 2162688
    assert changed.memory_rss_bytes == 7000000 and changed.memory_working_set_bytes == 9134080 - 1000000
    stat.write_text("garbage without numbers\n")
    garbled = reader.read(loc)
    assert garbled.memory_rss_bytes is None and any("memory.stat" in p for p in garbled.problems)
    stat.write_text(text)
    assert figures(reader.read(loc)) == figures(first)
    reader.forget(CTR)
    assert figures(reader.read(reader.resolve(CTR, pid=4242))) == figures(first)


def test_keep_open_respects_the_descriptor_budget(tmp_path):
    root = copy_tree(tmp_path, "v2-systemd")
    reader = CgroupReader(root=str(root), proc_root=PROC, keep_open=True, max_open_files=3)
    loc = reader.resolve(CTR, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}")
    s = reader.read(loc, full=True)
    assert reader.open_file_count == 3
    assert s.io_read_bytes == 10485760 + 1048576 and s.pids_current == 17  # files past the budget still read
    reader.close()
    assert reader.open_file_count == 0


def test_a_dropped_keep_open_reader_closes_its_files(tmp_path):
    import gc

    root = copy_tree(tmp_path, "v1-cgroupfs")
    before = len(os.listdir("/proc/self/fd"))
    reader = CgroupReader(root=str(root), proc_root=PROC, keep_open=True)
    reader.read(reader.resolve(CTR, pid=4444))
    assert reader.open_file_count > 0 and len(os.listdir("/proc/self/fd")) > before
    del reader
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before


# ---------------------------------------------------------------- limits carried over from an earlier sample


@pytest.mark.parametrize("tree,pod_dir,limit_file,oom_file,usage_file", [
    ("v2-systemd", f"kubepods.slice/kubepods-burstable.slice/{BURSTABLE_SLICE}", "memory.max", "memory.events",
     "memory.current"),
    ("v1-cgroupfs", f"memory/kubepods/burstable/pod{POD_UID}", "memory.limit_in_bytes", "memory.oom_control",
     "memory.usage_in_bytes"),
])
def test_a_pod_read_with_an_earlier_sample_takes_its_limit_and_oom_count_and_reads_the_rest(
        tmp_path, tree, pod_dir, limit_file, oom_file, usage_file):
    root = copy_tree(tmp_path, tree)
    directory = root / pod_dir
    if not (directory / oom_file).exists():  # the v1 capture has none
        (directory / oom_file).write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}") if tree.startswith("v2") \
        else reader.resolve(CTR, pid=4444)
    first = reader.read_pod(loc)
    assert first.memory_limit_known and first.oom_kills is not None
    reader.close()  # kept-open files would keep reading what they opened; each read below opens afresh
    (directory / limit_file).write_text("1048576\n")
    (directory / oom_file).write_text((directory / oom_file).read_text().replace("oom_kill ", "oom_kill 9"))
    (directory / usage_file).write_text("99\n")

    carried = CgroupReader(root=str(root), proc_root=PROC).read_pod(loc, limits_from=first)
    limits = (first.memory_limit_bytes, first.memory_unlimited, first.oom_kills)
    assert (carried.memory_limit_bytes, carried.memory_unlimited, carried.oom_kills) == limits
    assert carried.memory_usage_bytes == 99  # everything else is read now
    assert carried.problems == ()

    fresh = CgroupReader(root=str(root), proc_root=PROC).read_pod(loc)
    assert fresh.memory_limit_bytes == 1048576 and fresh.oom_kills != first.oom_kills
    full = CgroupReader(root=str(root), proc_root=PROC).read_pod(loc, full=True, limits_from=first)
    assert full.memory_limit_bytes == 1048576  # a FULL read reads everything


def test_a_vanished_earlier_sample_carries_nothing(tmp_path):
    root = copy_tree(tmp_path, "v1-cgroupfs")
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4444)
    gone = CgroupStats(timestamp_ns=1, vanished=True)
    pod = reader.read_pod(loc, limits_from=gone)
    assert pod.memory_limit_bytes == 536870912  # read from its file, not the empty sample's None
