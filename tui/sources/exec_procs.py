"""The exec processes of a container: which pids containerd started as execs (Tasks.ListPids with the runc
shim's ProcessDetails), what they run and since when (/proc), whether one is still there, and ending one
(SIGHUP, then SIGKILL after a grace period). Headless.

A CRI exec (a shell, `kubectl exec`, an exec probe) is a containerd exec of the container's task: it has an exec
id, and only its first process carries it; what that process forks does not."""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil

from n9s.sources.errors import CallFailed, NotFound

HANGUP_GRACE_S = 2.0  # a shell ends on SIGHUP at once; a program that ignores it gets SIGKILL after this
KILL_WAIT_S = 5.0  # SIGKILL cannot be ignored; this only bounds the wait for containerd to see the exit
POLL_S = 0.05


@dataclass(frozen=True)
class ExecProcess:
    container_id: str
    exec_id: str
    pid: int
    argv: tuple[str, ...] = ()  # from /proc; empty when the process went before it was read
    started_at: float | None = None  # wall clock seconds

    @property
    def command(self) -> str:
        return " ".join(self.argv)


def process_facts(pid: int) -> tuple[tuple[str, ...], float | None]:
    """A process's argv and start time (wall clock), or ((), None) once it is gone."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            return tuple(proc.cmdline()), proc.create_time()
    except (psutil.Error, OSError):
        return (), None


def list_execs(containerd: Any, container_id: str) -> list[ExecProcess]:
    """The exec processes of one task, by pid. Raises SourceError when containerd cannot say."""
    out = []
    for p in containerd.processes(container_id):
        if p.exec_id:
            argv, started = process_facts(p.pid)
            out.append(ExecProcess(container_id, p.exec_id, p.pid, argv, started))
    return sorted(out, key=lambda e: (e.started_at or 0.0, e.pid))


def exec_running(containerd: Any, container_id: str, exec_id: str) -> bool:
    """Whether containerd still has the exec, running. Raises SourceError for anything but "it is gone"."""
    try:
        process = containerd.exec_process(container_id, exec_id)
    except NotFound:
        return False
    return process.status == "RUNNING"


def _signal(containerd: Any, container_id: str, exec_id: str, number: int) -> bool:
    """Send one signal; False when the exec was gone already."""
    try:
        containerd.kill(container_id, number, exec_id=exec_id)
    except NotFound:
        return False
    return True


def _gone_within(containerd: Any, container_id: str, exec_id: str, seconds: float,
                 clock: Callable[[], float], sleep: Callable[[float], None]) -> bool:
    deadline = clock() + seconds
    while exec_running(containerd, container_id, exec_id):
        if clock() >= deadline:
            return False
        sleep(POLL_S)
    return True


def end_exec_process(containerd: Any, container_id: str, exec_id: str, grace_s: float = HANGUP_GRACE_S, *,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> str:
    """SIGHUP (what a terminal that goes away sends), then SIGKILL if the process is still there after
    ``grace_s``. Returns how it ended; raises SourceError when containerd fails or the process outlives SIGKILL."""
    if not exec_running(containerd, container_id, exec_id) or not _signal(containerd, container_id, exec_id,
                                                                          signal.SIGHUP):
        return "it had ended already"
    if _gone_within(containerd, container_id, exec_id, grace_s, clock, sleep):
        return "ended by SIGHUP"
    if not _signal(containerd, container_id, exec_id, signal.SIGKILL):
        return "ended by SIGHUP"
    if _gone_within(containerd, container_id, exec_id, KILL_WAIT_S, clock, sleep):
        return f"ended by SIGKILL ({grace_s:g} s after SIGHUP)"
    raise CallFailed(f"exec {exec_id[:12]} is still running {KILL_WAIT_S:g} s after SIGKILL")
