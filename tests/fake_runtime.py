"""A containerd client stand-in for collector tests that need only a task list (no socket, no node)."""
from __future__ import annotations

from types import SimpleNamespace


def running_task(container_id: str, pid: int) -> SimpleNamespace:
    return SimpleNamespace(container_id=container_id, pid=pid, status="RUNNING", exit_status=0, exited_at_ns=0)


class FakeContainerd:
    """Answers Tasks.List with ``tasks`` and counts the calls (containerd asks every shim on each)."""

    def __init__(self, tasks: list[SimpleNamespace]):
        self._tasks = tasks
        self.listings = 0

    def tasks(self):
        self.listings += 1
        return list(self._tasks)

    def version(self):
        return SimpleNamespace(version="1")

    def plugins(self):
        return []

    def close(self):
        pass
