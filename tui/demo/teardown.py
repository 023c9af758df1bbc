"""Teardown of a demo node from its root directory alone, so it also works for a node whose owner died."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import psutil

from n9s.demo import cleanup, mounts
from n9s.demo.config import ROOT_PREFIX, NodeLayout


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def teardown_root(layout: NodeLayout, *, keep: bool, cgroup_parents: list[str],
                  created_ancestors: list[str]) -> list[str]:
    """Remove what a node left under `layout` once its containerd is down: shims and their containers, stray
    container processes, mounts, pod cgroups, and (unless `keep`) the directory. Returns the problems."""
    problems = []
    for proc in cleanup.containerd_processes(layout.config):
        problems.extend(f"containerd {pid} would not die" for pid in cleanup.kill_and_reap([proc]))
    stuck, task_ids = cleanup.kill_shims_and_children(layout.socket)
    problems.extend(f"shim or container process {pid} would not die" for pid in stuck)
    shim_dir_existed = _read_json(layout.owner_file).get("shim_dir_existed", True)
    cleanup.remove_shim_sockets(layout.socket, layout.state_dir, task_ids, remove_dirs=not shim_dir_existed)
    stuck = cleanup.kill_and_reap(cleanup.processes_in_cgroups(cgroup_parents))
    problems.extend(f"container process {pid} would not die" for pid in stuck)
    still_mounted = mounts.unmount_all_under(layout.root)
    problems.extend(f"could not unmount {p}" for p in still_mounted)
    stuck_cgroups = cleanup.remove_pod_cgroups(cgroup_parents, created_ancestors)
    problems.extend(f"could not remove cgroup {p}" for p in stuck_cgroups)
    if keep:
        layout.owner_file.unlink(missing_ok=True)  # nothing left for sweep_stale_nodes() to do
    if still_mounted:
        problems.append(f"left {layout.root} in place because mounts remain under it")
    elif not keep:
        if _read_json(layout.owner_file).get("root_preexisted"):
            # a directory the caller gave us: empty it, but leave the directory itself
            for child in list(layout.root.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
            if any(layout.root.iterdir()):
                problems.append(f"could not empty {layout.root}")
        else:
            shutil.rmtree(layout.root, ignore_errors=True)
            if layout.root.exists():
                problems.append(f"could not delete {layout.root}")
    return problems


def find_leftovers(layout: NodeLayout, cgroup_parents: list[str], expect_root: bool = False) -> list[str]:
    found = [f"containerd pid {p.pid}" for p in cleanup.containerd_processes(layout.config)]
    found += [f"shim pid {p.pid}" for p in cleanup.shim_processes(layout.socket)]
    found += [f"container process pid {p.pid}" for p in cleanup.processes_in_cgroups(cgroup_parents)]
    found += [f"mount {m}" for m in mounts.mounts_under(layout.root)]
    found += [f"cgroup {p}" for p in cleanup.leftover_pod_cgroups(cgroup_parents)]
    if not expect_root and layout.root.exists():
        found.append(f"directory {layout.root}")
    return found


def _owner_alive(owner_file: Path) -> bool:
    try:
        owner = json.loads(owner_file.read_text())
        proc = psutil.Process(int(owner["pid"]))
        return abs(proc.create_time() - float(owner["create_time"])) < 1.0
    except (OSError, ValueError, KeyError, TypeError, psutil.NoSuchProcess):
        return False


def sweep_stale_nodes(tmp_dir: Path | None = None) -> list[Path]:
    """Tear down demo nodes whose owning process is gone (killed before its teardown ran). Returns their roots."""
    swept = []
    base = Path(tmp_dir or tempfile.gettempdir())
    for root in sorted(base.glob(ROOT_PREFIX + "*")):
        layout = NodeLayout(root)
        if not root.is_dir() or not layout.owner_file.exists() or _owner_alive(layout.owner_file):
            continue
        recorded = _read_json(layout.cgroups_file)
        keep = bool(_read_json(layout.owner_file).get("keep"))
        teardown_root(layout, keep=keep, cgroup_parents=list(recorded.get("parents", [])),
                      created_ancestors=list(recorded.get("created_ancestors", [])))
        swept.append(root)
    return swept
