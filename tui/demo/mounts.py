"""Mount helpers: list and unmount everything under a directory, and probe whether overlayfs works there."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
from pathlib import Path

MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def mount_points(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    points = []
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split(" ")
            if len(fields) > 4:
                points.append(_unescape(fields[4]))
    return points


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first (the order to unmount them in)."""
    prefix = str(root).rstrip("/") + "/"
    found = [p for p in mount_points() if p == str(root) or p.startswith(prefix)]
    return sorted(found, key=lambda p: (p.count("/"), len(p)), reverse=True)


def umount(path: str) -> bool:
    """Unmount `path`; fall back to a lazy unmount when it is busy. True when it is gone."""
    target = os.fsencode(path)
    if _libc.umount2(target, 0) == 0:
        return True
    if _libc.umount2(target, MNT_DETACH) == 0:
        return True
    return ctypes.get_errno() in (22, 2)  # EINVAL: not a mount point (any more); ENOENT: gone


def unmount_all_under(root: Path, rounds: int = 5) -> list[str]:
    """Unmount everything below `root` (stacked mounts need several rounds). Returns what is still mounted."""
    for _ in range(rounds):
        left = mounts_under(root)
        if not left:
            return []
        for point in left:
            umount(point)
    return mounts_under(root)


def overlayfs_works(scratch: Path) -> bool:
    """Try a real two-lower-dir overlay mount in `scratch`, like containerd's own overlayfs check."""
    scratch.mkdir(parents=True, exist_ok=True)
    dirs = {name: scratch / name for name in ("lower1", "lower2", "upper", "work", "merged")}
    for d in dirs.values():
        d.mkdir(exist_ok=True)
    opts = (f"lowerdir={dirs['lower2']}:{dirs['lower1']},upperdir={dirs['upper']},workdir={dirs['work']}")
    merged = os.fsencode(dirs["merged"])
    try:
        if _libc.mount(b"overlay", merged, b"overlay", 0, opts.encode()) != 0:
            return False
        umount(str(dirs["merged"]))
        return True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
