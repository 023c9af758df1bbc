"""Finding cgroups: hierarchy mode, OCI cgroupsPath conversion, /proc/<pid>/cgroup, resolution on fixture trees."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from n9s.sources.cgroups.paths import (
    UNIFIED,
    HierarchyMode,
    cgroup_path_from_spec,
    detect_layout,
    expand_systemd_slice,
    join_cgroup_dir,
    parse_mountinfo,
    parse_proc_cgroup,
    pod_uid_from_cgroup_name,
)
from n9s.sources.cgroups.reader import CgroupReader

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"
PROC = str(FIXTURES / "proc")
POD_UID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
CTR = "3f9a0c1e7b2d4a5f8e6c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4"
BURSTABLE_SLICE = f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
BESTEFFORT_SLICE = f"kubepods-besteffort-pod{POD_UID.replace('-', '_')}.slice"
SYSTEMD_V2_PATH = (f"/kubepods.slice/kubepods-burstable.slice/{BURSTABLE_SLICE}/cri-containerd-{CTR}.scope")
SYSTEMD_HYBRID_PATH = (f"/kubepods.slice/kubepods-besteffort.slice/{BESTEFFORT_SLICE}/cri-containerd-{CTR}.scope")


# ---------------------------------------------------------------- OCI linux.cgroupsPath


def test_systemd_cgroups_path_becomes_nested_slices_and_a_scope():
    assert cgroup_path_from_spec("kubepods-burstable-pod1234.slice:cri-containerd:abcd") == (
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcd.scope")


def test_systemd_cgroups_path_for_guaranteed_pod_sits_under_kubepods_slice():
    assert cgroup_path_from_spec("kubepods-pod99.slice:cri-containerd:ef01") == (
        "/kubepods.slice/kubepods-pod99.slice/cri-containerd-ef01.scope")


def test_systemd_cgroups_path_other_runtimes_keep_their_prefix():
    assert cgroup_path_from_spec("system.slice:docker:abc") == "/system.slice/docker-abc.scope"
    assert cgroup_path_from_spec("kubepods-besteffort-podx1.slice:crio:abc") == (
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx1.slice/crio-abc.scope")


def test_systemd_cgroups_path_with_empty_slice_uses_system_slice_and_root_slice_is_root():
    assert cgroup_path_from_spec(":cri-containerd:abc") == "/system.slice/cri-containerd-abc.scope"
    assert cgroup_path_from_spec("-.slice:cri-containerd:abc") == "/cri-containerd-abc.scope"


def test_systemd_cgroups_path_naming_a_slice_uses_it_as_is():
    assert cgroup_path_from_spec("kubepods.slice:x:kubepods-pod1.slice") == "/kubepods.slice/kubepods-pod1.slice"


@pytest.mark.parametrize("bad", [
    "kubepods-burstable-pod1234:cri-containerd:abcd",  # slice without .slice
    "kubepods--x.slice:cri-containerd:abcd",  # empty level
    "-kubepods.slice:cri-containerd:abcd",
    "kubepods.slice:cri-containerd:",  # no name
    "kubepods.slice:cri/containerd:abc",
    "/kubepods/../etc",
    "",
    "a:b",
])
def test_malformed_cgroups_paths_are_refused(bad):
    assert cgroup_path_from_spec(bad) is None


def test_cgroupfs_cgroups_path_is_the_path_itself():
    assert cgroup_path_from_spec(f"/kubepods/burstable/pod{POD_UID}/{CTR}") == (
        f"/kubepods/burstable/pod{POD_UID}/{CTR}")
    assert cgroup_path_from_spec("/k8s.io/abc/") == "/k8s.io/abc"
    assert cgroup_path_from_spec("k8s.io/abc") == "/k8s.io/abc"


def test_expand_slice_levels():
    assert expand_systemd_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"
    assert expand_systemd_slice("kubepods.slice") == "/kubepods.slice"
    assert expand_systemd_slice("a.scope") is None


def test_join_cgroup_dir_strips_the_mount_root_of_a_namespaced_mount():
    assert join_cgroup_dir("/sys/fs/cgroup/memory", "/", "/kubepods/x") == "/sys/fs/cgroup/memory/kubepods/x"
    assert join_cgroup_dir("/sys/fs/cgroup", "/kubepods", "/kubepods/x") == "/sys/fs/cgroup/x"
    assert join_cgroup_dir("/sys/fs/cgroup", "/", "/") == "/sys/fs/cgroup"


# ---------------------------------------------------------------- /proc/<pid>/cgroup


def test_proc_cgroup_v2_single_line():
    proc = parse_proc_cgroup("0::/kubepods/besteffort/podabc/123\n")
    assert proc.unified == "/kubepods/besteffort/podabc/123"
    assert proc.v1 == {}


def test_proc_cgroup_v1_lines_map_each_controller_and_split_comounted_ones():
    text = ("11:pids:/a/b\n4:cpu,cpuacct:/a/b\n9:memory:/a/m\n1:name=systemd:/a/b\n"
            "3:net_cls,net_prio:/\n0::/\n")
    proc = parse_proc_cgroup(text)
    assert proc.v1 == {"pids": "/a/b", "cpu": "/a/b", "cpuacct": "/a/b", "memory": "/a/m"}
    assert proc.unified == "/"


def test_proc_cgroup_skips_garbage_and_strips_deleted_marker():
    proc = parse_proc_cgroup("nonsense\nx:memory:/a\n4:memory:relative\n0::/gone (deleted)\n")
    assert proc.v1 == {}
    assert proc.unified == "/gone"


# ---------------------------------------------------------------- layout detection


def test_layout_v2_by_probing():
    layout = detect_layout(str(FIXTURES / "v2-systemd"), proc_root=PROC)
    assert layout.mode is HierarchyMode.V2
    assert layout.unified_mount == str(FIXTURES / "v2-systemd")
    assert layout.v1_mounts == {}


def test_layout_v1_with_comounted_cpu_cpuacct_and_symlinks():
    root = FIXTURES / "v1-cgroupfs"
    layout = detect_layout(str(root), proc_root=PROC)
    assert layout.mode is HierarchyMode.V1
    assert set(layout.v1_mounts) == {"cpu", "cpuacct", "memory", "pids", "blkio"}
    assert os.path.realpath(layout.v1_mounts["cpu"]) == str(root / "cpu,cpuacct")
    assert os.path.realpath(layout.v1_mounts["cpuacct"]) == str(root / "cpu,cpuacct")
    assert layout.unified_mount is None


def test_layout_hybrid_ignores_named_systemd_hierarchy():
    root = FIXTURES / "hybrid-systemd"
    layout = detect_layout(str(root), proc_root=PROC)
    assert layout.mode is HierarchyMode.HYBRID
    assert layout.unified_mount == str(root / "unified")
    assert layout.v1_mounts == {c: str(root / c) for c in ("blkio", "cpu", "cpuacct", "memory", "pids")}


def test_layout_none_without_cgroupfs(tmp_path):
    assert detect_layout(str(tmp_path / "missing"), proc_root=PROC).mode is HierarchyMode.NONE
    assert detect_layout(str(tmp_path), proc_root=PROC).mode is HierarchyMode.NONE


MOUNTINFO_HYBRID = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / {root} rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / {root}/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / {root}/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / {root}/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""


def test_mountinfo_hybrid_finds_comounted_controllers_and_unified():
    mounts = parse_mountinfo(MOUNTINFO_HYBRID.format(root="/sys/fs/cgroup"), "/sys/fs/cgroup")
    assert mounts is not None
    unified, unified_root, v1, v1_roots = mounts
    assert unified == "/sys/fs/cgroup/unified"
    assert v1 == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                  "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}
    assert set(v1_roots.values()) == {"/"}


def test_mountinfo_ignores_mounts_outside_the_root_and_decodes_escapes():
    text = ("30 1 0:27 / /other/cgroup rw - cgroup2 cgroup2 rw\n"
            "31 1 0:28 /kubepods /my\\040root rw - cgroup2 cgroup2 rw\n")
    assert parse_mountinfo(text, "/sys/fs/cgroup") is None
    assert parse_mountinfo(text, "/my root") == ("/my root", "/kubepods", {}, {})


def test_layout_from_mountinfo_when_it_names_mounts_under_the_root(tmp_path):
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    root = tmp_path / "cg"
    (proc / "self" / "mountinfo").write_text(MOUNTINFO_HYBRID.format(root=root))
    layout = detect_layout(str(root), proc_root=str(proc))  # nothing on disk: mountinfo alone decides
    assert layout.mode is HierarchyMode.HYBRID
    assert layout.v1_mounts["memory"] == str(root / "memory")
    assert "blkio" not in layout.v1_mounts  # a controller that is not mounted is simply absent


def test_layout_of_this_machine_matches_its_mounts():
    """/sys/fs/cgroup here is hybrid: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified."""
    if not os.path.isdir("/sys/fs/cgroup"):
        pytest.skip("no /sys/fs/cgroup on this machine")
    layout = detect_layout()
    expected = (HierarchyMode.V2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else
                HierarchyMode.HYBRID if os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") else
                HierarchyMode.V1)
    assert layout.mode is expected
    if expected is not HierarchyMode.V2:
        assert layout.v1_dir("memory", "/x") == "/sys/fs/cgroup/memory/x"


# ---------------------------------------------------------------- resolution on fixture trees


def test_resolve_v2_systemd_from_spec():
    reader = CgroupReader(root=str(FIXTURES / "v2-systemd"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}")
    assert loc is not None
    assert loc.source == "spec"
    assert loc.path == SYSTEMD_V2_PATH
    assert loc.dirs == {UNIFIED: str(FIXTURES / "v2-systemd") + SYSTEMD_V2_PATH}


def test_resolve_v2_from_proc_in_both_driver_forms():
    reader = CgroupReader(root=str(FIXTURES / "v2-cgroupfs"), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4242)
    assert loc is not None and loc.source == "proc"
    assert loc.dirs[UNIFIED] == str(FIXTURES / "v2-cgroupfs" / "kubepods" / "besteffort" / f"pod{POD_UID}" / CTR)
    reader = CgroupReader(root=str(FIXTURES / "v2-systemd"), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4545)
    assert loc is not None and loc.path == SYSTEMD_V2_PATH


def test_resolve_v1_cgroupfs_from_spec_and_from_proc_agree():
    root = FIXTURES / "v1-cgroupfs"
    by_spec = CgroupReader(root=str(root), proc_root=PROC).resolve(
        CTR, cgroups_path=f"/kubepods/burstable/pod{POD_UID}/{CTR}")
    by_pid = CgroupReader(root=str(root), proc_root=PROC).resolve(CTR, pid=4444)
    assert by_spec is not None and by_pid is not None
    assert {c: os.path.realpath(d) for c, d in by_spec.dirs.items()} == \
           {c: os.path.realpath(d) for c, d in by_pid.dirs.items()}
    assert os.path.realpath(by_spec.dirs["memory"]) == str(root / "memory/kubepods/burstable" / f"pod{POD_UID}" / CTR)
    assert UNIFIED not in by_spec.dirs


def test_resolve_hybrid_keeps_the_containers_own_cgroup2_dir():
    root = FIXTURES / "hybrid-systemd"
    reader = CgroupReader(root=str(root), proc_root=PROC)
    by_spec = reader.resolve("a", cgroups_path=f"{BESTEFFORT_SLICE}:cri-containerd:{CTR}")
    by_pid = reader.resolve("b", pid=4343)
    for loc in (by_spec, by_pid):
        assert loc is not None and loc.mode is HierarchyMode.HYBRID
        assert loc.path == SYSTEMD_HYBRID_PATH
        assert loc.dirs["memory"] == str(root / "memory") + SYSTEMD_HYBRID_PATH
        assert loc.dirs[UNIFIED] == str(root / "unified") + SYSTEMD_HYBRID_PATH


def test_resolve_hybrid_process_in_cgroup2_root_gets_no_unified_dir():
    reader = CgroupReader(root=str(FIXTURES / "hybrid-systemd"), proc_root=PROC)
    loc = reader.resolve("c", pid=4646)
    assert loc is not None
    assert UNIFIED not in loc.dirs
    assert set(loc.dirs) == {"memory", "cpuacct"}


def test_resolve_falls_back_to_pid_when_spec_path_has_no_directory():
    reader = CgroupReader(root=str(FIXTURES / "v2-cgroupfs"), proc_root=PROC)
    loc = reader.resolve(CTR, cgroups_path="/kubepods/burstable/podnope/x", pid=4242)
    assert loc is not None and loc.source == "proc"


def test_resolve_nothing_found_says_why_and_is_not_cached():
    reader = CgroupReader(root=str(FIXTURES / "v2-cgroupfs"), proc_root=PROC)
    assert reader.resolve("x", cgroups_path="/kubepods/nope/x", pid=999999) is None
    reason = reader.unresolved_reason("x")
    assert "no cgroup directory for /kubepods/nope/x" in reason and "process 999999 is gone" in reason
    assert reader.resolve("x") is None
    assert reader.unresolved_reason("x") == "neither a cgroupsPath nor a pid was given"
    assert reader.cached_ids() == []


def test_resolve_without_cgroupfs(tmp_path):
    reader = CgroupReader(root=str(tmp_path), proc_root=PROC)
    assert reader.resolve(CTR, pid=4242) is None
    assert "no cgroup filesystem" in reader.unresolved_reason(CTR)


def test_resolve_unreadable_proc_entry_is_reported(monkeypatch):
    reader = CgroupReader(root=str(FIXTURES / "v2-cgroupfs"), proc_root=PROC)
    real_open = open

    def guarded_open(path, *args, **kwargs):
        if str(path).endswith("/4242/cgroup"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    assert reader.resolve(CTR, pid=4242) is None
    assert reader.unresolved_reason(CTR) == "not allowed to read /proc/4242/cgroup"


def test_resolution_is_cached_until_forgotten(tmp_path):
    root = tmp_path / "v2"
    shutil.copytree(FIXTURES / "v2-cgroupfs", root)
    reader = CgroupReader(root=str(root), proc_root=PROC)
    first = reader.resolve(CTR, pid=4242)
    # The process entry going away does not matter: the cached location is used without touching /proc.
    assert reader.resolve(CTR, pid=999999) is first
    reader.forget(CTR)
    assert reader.resolve(CTR, pid=999999) is None


def test_a_new_cgroups_path_for_the_same_id_resolves_again():
    reader = CgroupReader(root=str(FIXTURES / "v2-systemd"), proc_root=PROC)
    pause = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
    first = reader.resolve("id", cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{CTR}")
    second = reader.resolve("id", cgroups_path=f"{BURSTABLE_SLICE}:cri-containerd:{pause}")
    assert first is not None and second is not None
    assert second.path.endswith(f"cri-containerd-{pause}.scope")


# ---------------------------------------------------------------- pod cgroups


@pytest.mark.parametrize("name,uid", [
    (f"pod{POD_UID}", POD_UID),
    (f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice", POD_UID),
    (f"kubepods-pod{POD_UID.replace('-', '_')}.slice", POD_UID),
    ("k8s.io", None),
    ("burstable", None),
    ("kubepods-burstable.slice", None),
    ("podcast-app", None),
])
def test_pod_uid_from_cgroup_name(name, uid):
    assert pod_uid_from_cgroup_name(name) == uid


def test_pod_location_is_the_parent_pod_cgroup_in_every_controller():
    root = FIXTURES / "v1-cgroupfs"
    reader = CgroupReader(root=str(root), proc_root=PROC)
    loc = reader.resolve(CTR, pid=4444)
    pod = reader.pod_location(loc)
    assert pod is not None
    assert pod.path == f"/kubepods/burstable/pod{POD_UID}"
    assert os.path.realpath(pod.dirs["memory"]) == str(root / "memory/kubepods/burstable" / f"pod{POD_UID}")
    assert os.path.realpath(pod.dirs["cpuacct"]) == str(root / "cpu,cpuacct/kubepods/burstable" / f"pod{POD_UID}")


def test_container_outside_a_pod_cgroup_has_no_pod_location(tmp_path):
    d = tmp_path / "k8s.io" / "abc"
    d.mkdir(parents=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (d / "cpu.stat").write_text("usage_usec 1\n")
    reader = CgroupReader(root=str(tmp_path), proc_root=PROC)
    loc = reader.resolve("abc", cgroups_path="/k8s.io/abc")
    assert loc is not None
    assert reader.pod_location(loc) is None
    assert reader.read_pod(loc) is None
