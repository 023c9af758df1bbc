"""Find and remove what a demo node leaves on the machine: its containerd, shims, container processes and cgroups.

Everything here works from the node's root directory and the files it wrote there, never from process names, so
a system containerd (or a second demo node) is never touched.
"""
from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import psutil

CGROUP_FS_TYPES = ("cgroup", "cgroup2")


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def _arg_value(cmdline: list[str], *names: str) -> str | None:
    for i, arg in enumerate(cmdline):
        for name in names:
            if arg == name and i + 1 < len(cmdline):
                return cmdline[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def containerd_processes(config: Path) -> list[psutil.Process]:
    """containerd daemons started with `--config <config>`."""
    found = []
    for proc in psutil.process_iter():
        cmd = _cmdline(proc)
        if cmd and os.path.basename(cmd[0]) == "containerd" and _arg_value(cmd, "--config", "-c") == str(config):
            found.append(proc)
    return found


def shim_processes(socket: Path) -> list[psutil.Process]:
    """containerd-shim-runc-v2 processes that serve the containerd at `socket` (their `-address` argument)."""
    found = []
    for proc in psutil.process_iter():
        cmd = _cmdline(proc)
        if cmd and os.path.basename(cmd[0]).startswith("containerd-shim") and \
                _arg_value(cmd, "-address", "--address") == str(socket):
            found.append(proc)
    return found


def pod_uids_in(cgroup_parents: list[str]) -> set[str]:
    return {p.rstrip("/").rsplit("/pod", 1)[-1] for p in cgroup_parents if "/pod" in p}


def processes_in_cgroups(cgroup_parents: list[str]) -> list[psutil.Process]:
    """Processes whose cgroup (any hierarchy) lies at or below one of `cgroup_parents`."""
    parents = [p.rstrip("/") for p in cgroup_parents]
    if not parents:
        return []
    found = []
    for pid in psutil.pids():
        try:
            with open(f"/proc/{pid}/cgroup", encoding="utf-8") as f:
                paths = [line.rstrip("\n").split(":", 2)[-1] for line in f]
        except OSError:
            continue
        if any(path == p or path.startswith(p + "/") for path in paths for p in parents):
            try:
                found.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
    return found


def kill_and_reap(procs: list[psutil.Process], sig: int = signal.SIGKILL, timeout: float = 5.0) -> list[int]:
    """Send `sig` to each process and wait for them to go. Returns the pids still alive."""
    me = os.getpid()
    procs = [p for p in procs if p.pid != me]
    for proc in procs:
        try:
            proc.send_signal(sig)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return [p.pid for p in alive]
        time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie: a zombie that is not our child waits for its parent (often init) to reap it,
    but it holds no resources any more."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            try:
                proc.wait(timeout=0)  # reaps it when it is our own child (containerd)
            except (psutil.TimeoutExpired, psutil.NoSuchProcess, ChildProcessError):
                pass
            return False
        return proc.is_running()
    except psutil.NoSuchProcess:
        return False


def kill_shims_and_children(socket: Path) -> tuple[list[int], set[str]]:
    """Kill the shims of this node, their container processes first (the shim is their subreaper).
    Returns the pids that would not die and the task ids the shims served (for their sockets)."""
    shims = shim_processes(socket)
    task_ids = {i for i in (_arg_value(_cmdline(s), "-id") for s in shims) if i}
    children: list[psutil.Process] = []
    for shim in shims:
        try:
            children.extend(shim.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    left = kill_and_reap(children, timeout=3.0)
    return left + kill_and_reap(shims, timeout=3.0), task_ids


# containerd 1.6 puts shim sockets in a fixed directory, whatever its own state dir is.
SHIM_SOCKET_DIR = Path("/run/containerd/s")


def shim_socket(socket: Path, namespace: str, task_id: str) -> Path:
    """Where containerd 1.6 puts a shim's socket: sha256 of `<containerd socket>/<namespace>/<id>`."""
    return SHIM_SOCKET_DIR / hashlib.sha256(os.path.join(str(socket), namespace, task_id).encode()).hexdigest()


def remove_shim_sockets(socket: Path, state_dir: Path, ids: set[str], remove_dirs: bool) -> None:
    """Delete the shim sockets a killed shim could not remove itself. Task ids come from the runtime's state
    directory and from `ids`. When `remove_dirs`, also remove the socket directories if they are empty."""
    tasks = state_dir / "io.containerd.runtime.v2.task"
    found = {(ns.name, t.name) for ns in tasks.iterdir() if ns.is_dir() for t in ns.iterdir()} \
        if tasks.is_dir() else set()
    found |= {("k8s.io", i) for i in ids}
    for namespace, task_id in found:
        shim_socket(socket, namespace, task_id).unlink(missing_ok=True)
    if remove_dirs:
        for d in (SHIM_SOCKET_DIR, SHIM_SOCKET_DIR.parent):
            try:
                d.rmdir()
            except OSError:
                break  # not empty: someone else uses it


def cgroup_mounts() -> list[Path]:
    """Mount points of every cgroup hierarchy (v1 controllers, named hierarchies and the v2 tree)."""
    roots = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split(" ", 1)[0] in CGROUP_FS_TYPES:
                roots.append(Path(pre.split(" ")[4]))
    return roots


def _thaw(directory: Path) -> None:
    state = directory / "freezer.state"
    if state.exists():
        try:
            state.write_text("THAWED")
        except OSError:
            pass


def remove_cgroup_tree(directory: Path) -> list[Path]:
    """rmdir `directory` and everything below it, leaf first. Returns the directories that would not go."""
    if not directory.is_dir():
        return []
    stuck = []
    subdirs = sorted((Path(dirpath) for dirpath, _, _ in os.walk(directory)),
                     key=lambda p: len(p.parts), reverse=True)
    for sub in subdirs:
        _thaw(sub)
        try:
            sub.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            stuck.append(sub)
    return stuck


def remove_pod_cgroups(cgroup_parents: list[str], created_ancestors: list[str], retry_for: float = 3.0) -> list[Path]:
    """Remove the pod cgroups of this node in every hierarchy, then the kubepods ancestors it created when they
    are empty. Processes that were just killed may take a moment to leave their cgroup, hence the retries."""
    deadline = time.monotonic() + retry_for
    while True:
        stuck = []
        for mount in cgroup_mounts():
            for parent in cgroup_parents:
                stuck.extend(remove_cgroup_tree(mount / parent.lstrip("/")))
        if not stuck or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for mount in cgroup_mounts():
        for ancestor in sorted(created_ancestors, key=lambda a: a.count("/"), reverse=True):
            try:
                (mount / ancestor.lstrip("/")).rmdir()
            except OSError:
                pass  # not there, or still used by another node or a real kubelet
    return stuck


def leftover_pod_cgroups(cgroup_parents: list[str]) -> list[Path]:
    return [mount / p.lstrip("/") for mount in cgroup_mounts() for p in cgroup_parents
            if (mount / p.lstrip("/")).exists()]
