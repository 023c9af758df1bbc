"""Where cgroups live: hierarchy mode, controller mounts, and a container's cgroup directories.

Headless and blocking (plain file reads). Everything takes a cgroup root (default /sys/fs/cgroup) and a proc root
(default /proc) so tests can run on captured file trees.

A container's cgroup is found from facts, never from its name:
- the OCI spec's ``linux.cgroupsPath`` (systemd form ``slice:prefix:name`` or a cgroupfs path), or
- ``/proc/<pid>/cgroup`` of one of its processes.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup"
DEFAULT_PROC_ROOT = "/proc"

# The v1 controllers whose files n9s reads. Others (cpuset, devices, freezer, named hierarchies) are ignored.
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "blkio")
# Key used in CgroupLocation.dirs for the cgroup2 (unified) directory.
UNIFIED = "unified"


class HierarchyMode(StrEnum):
    V2 = "v2"  # cgroup2 mounted at the root: every controller in one tree
    V1 = "v1"  # one cgroup v1 mount per controller (or co-mounted group), no cgroup2
    HYBRID = "hybrid"  # v1 controllers plus a controller-less cgroup2 tree (usually <root>/unified)
    NONE = "none"  # no cgroup filesystem found under the root


@dataclass(frozen=True)
class CgroupLayout:
    """The cgroup mounts under one root, as found once at start-up."""

    root: str
    mode: HierarchyMode
    unified_mount: str | None = None  # directory of the cgroup2 mount, if any
    unified_mount_root: str = "/"  # the mount's root inside the hierarchy (not "/" inside a cgroup namespace)
    v1_mounts: dict[str, str] = field(default_factory=dict)  # controller -> mount directory
    v1_mount_roots: dict[str, str] = field(default_factory=dict)  # controller -> mount's root in its hierarchy

    def v1_dir(self, controller: str, cgroup_path: str) -> str | None:
        mount = self.v1_mounts.get(controller)
        if mount is None:
            return None
        return join_cgroup_dir(mount, self.v1_mount_roots.get(controller, "/"), cgroup_path)

    def unified_dir(self, cgroup_path: str) -> str | None:
        if self.unified_mount is None:
            return None
        return join_cgroup_dir(self.unified_mount, self.unified_mount_root, cgroup_path)


def join_cgroup_dir(mount: str, mount_root: str, cgroup_path: str) -> str:
    """The directory of ``cgroup_path`` (a path in the hierarchy) under a mount whose root is ``mount_root``."""
    path = "/" + cgroup_path.strip("/")
    root = "/" + mount_root.strip("/")
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root):] or "/"
    return mount.rstrip("/") + ("" if path == "/" else path)


# --------------------------------------------------------------------------------------------------------------
# Layout detection


def detect_layout(root: str = DEFAULT_CGROUP_ROOT, proc_root: str = DEFAULT_PROC_ROOT) -> CgroupLayout:
    """Find the cgroup mounts under ``root``: from ``<proc_root>/self/mountinfo`` when it names mounts under
    ``root``, otherwise by probing the directories (which is what captured file trees need)."""
    root = os.path.normpath(root)
    mounts = _mounts_from_mountinfo(root, proc_root)
    if mounts is None:
        mounts = _mounts_from_probing(root)
    unified_mount, unified_root, v1_mounts, v1_roots = mounts
    if v1_mounts:
        mode = HierarchyMode.HYBRID if unified_mount is not None else HierarchyMode.V1
    elif unified_mount is not None:
        mode = HierarchyMode.V2
    else:
        mode = HierarchyMode.NONE
    return CgroupLayout(
        root=root,
        mode=mode,
        unified_mount=unified_mount,
        unified_mount_root=unified_root,
        v1_mounts=v1_mounts,
        v1_mount_roots=v1_roots,
    )


_Mounts = tuple[str | None, str, dict[str, str], dict[str, str]]


def _unescape_mountinfo(text: str) -> str:
    # mountinfo writes space, tab, newline and backslash in paths as \040, \011, \012, \134
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str, root: str) -> _Mounts | None:
    """cgroup and cgroup2 mounts at or under ``root`` listed in a mountinfo text, or None if there are none.

    Returns (unified mount, its root, {controller: v1 mount}, {controller: v1 mount root})."""
    root = os.path.normpath(root)
    unified: str | None = None
    unified_root = "/"
    v1: dict[str, str] = {}
    v1_roots: dict[str, str] = {}
    found = False
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        after = right.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        fstype = after[0]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        mount_root = _unescape_mountinfo(fields[3])
        mount_point = os.path.normpath(_unescape_mountinfo(fields[4]))
        if mount_point != root and not mount_point.startswith(root + "/"):
            continue
        found = True
        if fstype == "cgroup2":
            # Prefer the mount at the root itself (pure v2) over a nested one.
            if unified is None or mount_point == root:
                unified, unified_root = mount_point, mount_root
            continue
        for option in after[2].split(","):
            if option in V1_CONTROLLERS and option not in v1:
                v1[option] = mount_point
                v1_roots[option] = mount_root
    if not found:
        return None
    return unified, unified_root, v1, v1_roots


def _mounts_from_mountinfo(root: str, proc_root: str) -> _Mounts | None:
    try:
        with open(os.path.join(proc_root, "self", "mountinfo"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    return parse_mountinfo(text, root)


def _mounts_from_probing(root: str) -> _Mounts:
    """Guess mounts from the directory shape: cgroup.controllers at the root means cgroup2; a directory named
    after controllers (``memory``, ``cpu,cpuacct``) that holds cgroup.procs is a v1 mount."""
    if os.path.isfile(os.path.join(root, "cgroup.controllers")):
        return root, "/", {}, {}
    v1: dict[str, str] = {}
    unified: str | None = None
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return None, "/", {}, {}
    for name in entries:
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            continue
        if os.path.isfile(os.path.join(path, "cgroup.controllers")):
            if unified is None or name == "unified":
                unified = path
            continue
        if not os.path.isfile(os.path.join(path, "cgroup.procs")):
            continue
        for controller in name.split(","):
            # A real directory wins over a symlink to it (cpu -> cpu,cpuacct); both give the same files.
            if controller in V1_CONTROLLERS and (controller not in v1 or not os.path.islink(path)):
                v1[controller] = path
    return unified, "/", v1, {c: "/" for c in v1}


# --------------------------------------------------------------------------------------------------------------
# OCI cgroupsPath


def expand_systemd_slice(slice_name: str) -> str | None:
    """The cgroup path of a systemd slice: ``a-b-c.slice`` -> ``/a.slice/a-b.slice/a-b-c.slice``.

    ``-.slice`` is the root slice ("/"). Returns None for a name systemd would reject."""
    if slice_name == "-.slice":
        return "/"
    if not slice_name.endswith(".slice") or "/" in slice_name:
        return None
    stem = slice_name[: -len(".slice")]
    parts = stem.split("-")
    if not stem or any(not part for part in parts):
        return None
    levels = ["-".join(parts[: i + 1]) + ".slice" for i in range(len(parts))]
    return "/" + "/".join(levels)


def is_systemd_cgroups_path(cgroups_path: str) -> bool:
    """The systemd cgroup driver's form ``slice:prefix:name`` (no leading slash, exactly two colons)."""
    return not cgroups_path.startswith("/") and cgroups_path.count(":") == 2


def cgroup_path_from_spec(cgroups_path: str) -> str | None:
    """The cgroup path (inside the hierarchy) that an OCI ``linux.cgroupsPath`` names, or None if malformed.

    - systemd form ``kubepods-burstable-pod1234.slice:cri-containerd:abcd`` ->
      ``/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcd.scope``
      (an empty slice means ``system.slice``, as runc does; a name ending in ``.slice`` is used as is);
    - cgroupfs form ``/kubepods/burstable/pod<uid>/<id>`` is the path itself (a relative path is taken from the
      hierarchy's root).
    """
    text = cgroups_path.strip()
    if not text or "\x00" in text:
        return None
    if is_systemd_cgroups_path(text):
        slice_name, prefix, name = text.split(":")
        if not name or "/" in name or "/" in prefix:
            return None
        parent = expand_systemd_slice(slice_name or "system.slice")
        if parent is None:
            return None
        if name.endswith(".slice"):
            unit = name
        else:
            unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
        return parent.rstrip("/") + "/" + unit
    if ":" in text:
        return None
    parts = [part for part in text.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return None
    return "/" + "/".join(parts)


# --------------------------------------------------------------------------------------------------------------
# /proc/<pid>/cgroup


@dataclass(frozen=True)
class ProcCgroups:
    """One process's cgroup membership as /proc/<pid>/cgroup lists it."""

    unified: str | None = None  # the ``0::/path`` line (cgroup2)
    v1: dict[str, str] = field(default_factory=dict)  # controller -> path, from lines like ``4:memory:/path``


def parse_proc_cgroup(text: str) -> ProcCgroups:
    """Parse /proc/<pid>/cgroup: ``hierarchy-id:controller,list:/path`` per line. Bad lines are skipped."""
    unified: str | None = None
    v1: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy_id, controllers, path = parts
        if not hierarchy_id.isascii() or not hierarchy_id.isdigit():
            continue
        if path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
        if not path.startswith("/"):
            continue
        if hierarchy_id == "0" and controllers == "":
            unified = path
            continue
        for controller in controllers.split(","):
            if controller in V1_CONTROLLERS:
                v1[controller] = path
    return ProcCgroups(unified=unified, v1=v1)


def read_proc_cgroup(pid: int, proc_root: str = DEFAULT_PROC_ROOT) -> ProcCgroups:
    """Read /proc/<pid>/cgroup. Raises OSError (FileNotFoundError when the process is gone,
    PermissionError when /proc hides it)."""
    with open(os.path.join(proc_root, str(int(pid)), "cgroup"), encoding="utf-8", errors="replace") as f:
        return parse_proc_cgroup(f.read())


# --------------------------------------------------------------------------------------------------------------
# Container and pod locations


@dataclass(frozen=True)
class CgroupLocation:
    """Where one container's (or pod's) cgroup files are.

    ``dirs`` maps a controller name (``cpu``, ``cpuacct``, ``memory``, ``pids``, ``blkio``) to its v1 directory,
    and ``unified`` to the cgroup2 directory. On v2 only ``unified`` is present; on hybrid the v1 controllers carry
    the figures and ``unified`` (when the container has its own cgroup2 directory) only adds pressure (PSI)."""

    container_id: str
    mode: HierarchyMode
    path: str  # the cgroup path inside the hierarchy (v1: the memory controller's, else any controller's)
    dirs: dict[str, str]
    source: str  # "spec" (linux.cgroupsPath) or "proc" (/proc/<pid>/cgroup)
    cgroups_path: str | None = None  # the OCI cgroupsPath it was resolved from, if any

    def dir(self, controller: str) -> str | None:
        return self.dirs.get(controller)

    def figure_dirs(self) -> list[str]:
        """The directories that carry the figures: the v1 controllers' on v1 and hybrid, the cgroup2 one on v2."""
        if self.mode is HierarchyMode.V2:
            return [d for c, d in self.dirs.items() if c == UNIFIED]
        return [d for c, d in self.dirs.items() if c != UNIFIED]

    def exists(self) -> bool:
        """Whether any directory that carries figures is there (the cgroup has not been removed)."""
        return any(os.path.isdir(d) for d in self.figure_dirs())


def location_for_path(layout: CgroupLayout, container_id: str, cgroup_path: str, source: str,
                      cgroups_path: str | None = None) -> CgroupLocation | None:
    """The directories of one cgroup path in every mounted controller we read, or None without cgroupfs."""
    dirs: dict[str, str] = {}
    if layout.mode in (HierarchyMode.V1, HierarchyMode.HYBRID):
        for controller in V1_CONTROLLERS:
            d = layout.v1_dir(controller, cgroup_path)
            if d is not None:
                dirs[controller] = d
    if layout.mode is HierarchyMode.V2:
        d = layout.unified_dir(cgroup_path)
        if d is not None:
            dirs[UNIFIED] = d
    elif layout.mode is HierarchyMode.HYBRID and cgroup_path.strip("/"):
        # Only the systemd driver gives containers their own cgroup2 directory in hybrid mode; keep it if present.
        d = layout.unified_dir(cgroup_path)
        if d is not None and os.path.isdir(d):
            dirs[UNIFIED] = d
    if not dirs:
        return None
    return CgroupLocation(container_id=container_id, mode=layout.mode, path="/" + cgroup_path.strip("/"),
                          dirs=dirs, source=source, cgroups_path=cgroups_path)


def location_for_proc(layout: CgroupLayout, container_id: str, proc: ProcCgroups) -> CgroupLocation | None:
    """The directories named by a process's /proc/<pid>/cgroup, or None if it lists nothing usable here.

    In hybrid mode the cgroup2 directory is kept only when it is the same path as the v1 one: a process left in
    the cgroup2 root ("/") would otherwise report the whole machine's pressure as the container's."""
    dirs: dict[str, str] = {}
    path: str | None = None
    if layout.mode in (HierarchyMode.V1, HierarchyMode.HYBRID):
        for controller in V1_CONTROLLERS:
            cpath = proc.v1.get(controller)
            if cpath is None:
                continue
            d = layout.v1_dir(controller, cpath)
            if d is not None:
                dirs[controller] = d
        path = proc.v1.get("memory") or next(iter(proc.v1.values()), None)
        if layout.mode is HierarchyMode.HYBRID and proc.unified is not None and path is not None:
            if proc.unified == path and path != "/":
                d = layout.unified_dir(proc.unified)
                if d is not None:
                    dirs[UNIFIED] = d
    elif layout.mode is HierarchyMode.V2 and proc.unified is not None:
        d = layout.unified_dir(proc.unified)
        if d is not None:
            dirs[UNIFIED] = d
            path = proc.unified
    if not dirs or path is None:
        return None
    return CgroupLocation(container_id=container_id, mode=layout.mode, path=path, dirs=dirs, source="proc")


# The kubelet's QoS classes as cgroup parents ("" = Guaranteed, directly under kubepods).
QOS_CLASSES = ("", "burstable", "besteffort")


def pod_cgroup_paths(uid: str) -> list[str]:
    """Where the kubelet puts the cgroup of the pod with this UID (cgroupfs and systemd drivers, every QoS class)."""
    underscored = uid.replace("-", "_")
    paths = []
    for qos in QOS_CLASSES:
        paths.append(f"/kubepods/{qos}/pod{uid}" if qos else f"/kubepods/pod{uid}")
        if qos:
            paths.append(f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{underscored}.slice")
        else:
            paths.append(f"/kubepods.slice/kubepods-pod{underscored}.slice")
    return paths


def find_pod_cgroup(layout: CgroupLayout, uid: str, owner_id: str, source: str,
                    known_path: str | None = None) -> CgroupLocation | None:
    """The kubelet pod cgroup of the pod with ``uid`` that exists here (``known_path`` first, when one was found
    before), or None. ``owner_id`` and ``source`` label the location as ``location_for_path`` does."""
    for path in [known_path] if known_path else pod_cgroup_paths(uid):
        location = location_for_path(layout, owner_id, path, source)
        if location is not None and location.exists():
            return location
    return None


def container_cgroup_names(pod_path: str, container_id: str) -> list[str]:
    """A CRI container's cgroup inside its pod cgroup: ``<id>`` (cgroupfs driver), ``cri-containerd-<id>.scope``
    (systemd driver)."""
    if pod_path.endswith(".slice"):
        return [f"{pod_path}/cri-containerd-{container_id}.scope", f"{pod_path}/{container_id}"]
    return [f"{pod_path}/{container_id}", f"{pod_path}/cri-containerd-{container_id}.scope"]


_POD_CGROUPFS = re.compile(r"^pod[0-9A-Fa-f][0-9A-Fa-f_-]*$")
_POD_SYSTEMD = re.compile(r"^kubepods(?:-[a-z]+)?-pod([0-9A-Fa-f][0-9A-Fa-f_]*)\.slice$")


def pod_uid_from_cgroup_name(name: str) -> str | None:
    """The pod UID in a kubelet pod cgroup's name (``pod<uid>`` or ``kubepods-<qos>-pod<uid_with_underscores>.slice``),
    or None if the name is not a pod cgroup."""
    if _POD_CGROUPFS.match(name):
        return name[3:].replace("_", "-")
    m = _POD_SYSTEMD.match(name)
    if m:
        return m.group(1).replace("_", "-")
    return None


def pod_location(location: CgroupLocation) -> CgroupLocation | None:
    """The pod cgroup above a container's cgroup: its parent, if the parent is a kubelet pod cgroup.

    Containers started outside kubelet (e.g. a ``k8s.io/<id>`` parent) have no pod cgroup; their parent holds
    unrelated containers, so it is not reported as a pod."""
    parent_path = location.path.rstrip("/").rpartition("/")[0]
    if pod_uid_from_cgroup_name(parent_path.rpartition("/")[2]) is None:
        return None
    dirs = {c: os.path.dirname(d.rstrip("/")) for c, d in location.dirs.items()
            if os.path.basename(d.rstrip("/")) == location.path.rstrip("/").rpartition("/")[2]}
    if not dirs:
        return None
    return CgroupLocation(container_id=location.container_id, mode=location.mode, path=parent_path, dirs=dirs,
                          source=location.source)
